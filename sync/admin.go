package sync

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"sportello/internal/ids"
	"sportello/store"
)

// EnrolmentTTL is how long a one-time enrolment code stays valid.
const EnrolmentTTL = 72 * time.Hour

// CreateWorkstation registers a workstation on the server and returns its
// one-time enrolment code (shown once; only its hash is stored).
func CreateWorkstation(ctx context.Context, db *store.DB, code, name, kind string, confidential bool) (store.Workstation, string, error) {
	code = strings.ToUpper(strings.TrimSpace(code))
	if code == "" || strings.ContainsAny(code, " /\\") || len(code) > 16 {
		return store.Workstation{}, "", fmt.Errorf("sync: workstation code %q: 1-16 characters, no spaces or slashes", code)
	}
	switch kind {
	case "desk", "interview", "protocol", "laptop":
	default:
		return store.Workstation{}, "", fmt.Errorf("sync: workstation kind %q: one of desk, interview, protocol, laptop", kind)
	}
	ws, err := db.WorkstationByCode(ctx, code)
	switch {
	case errors.Is(err, store.ErrNotFound):
		ws = store.Workstation{ID: ids.New(), Code: code}
	case err != nil:
		return ws, "", err
	case ws.RevokedAt != "":
		return ws, "", fmt.Errorf("sync: workstation %s was revoked: use a new code", code)
	}
	// A workstation whose confidentiality changes needs a copy made for
	// it: its installation stops syncing until it is enrolled again (an
	// interview room made a desk must not keep confidential records).
	rescoped := err == nil && ws.Confidential != confidential
	ws.Name, ws.Kind, ws.Confidential, ws.Active = name, kind, confidential, true
	enrol, err := NewEnrolmentCode()
	if err != nil {
		return ws, "", err
	}
	err = db.Write(ctx, store.Actor{OperatorID: "server-admin"}, func(tx *store.Tx) error {
		if rescoped {
			if err := tx.RevokeTokens(ws.ID); err != nil {
				return err
			}
		}
		if err := tx.PutWorkstation(ws); err != nil {
			return err
		}
		return tx.InsertEnrolment(HashSecret(enrol), ws.ID, tx.Now().Add(EnrolmentTTL))
	})
	return ws, enrol, err
}

// RevokeWorkstation revokes a workstation's tokens: its next request is refused.
func RevokeWorkstation(ctx context.Context, db *store.DB, code string) error {
	ws, err := db.WorkstationByCode(ctx, strings.ToUpper(strings.TrimSpace(code)))
	if err != nil {
		return err
	}
	return db.Write(ctx, store.Actor{OperatorID: "server-admin"}, func(tx *store.Tx) error { return tx.RevokeWorkstation(ws.ID) })
}

// enrolAlphabet is Crockford's base32: no I, L, O, U, so a code read out on
// the phone or typed from paper cannot be mistaken.
const enrolAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewEnrolmentCode returns a one-time code like "7K3M-9QXT-2HBW-D4RA" (80 bits).
func NewEnrolmentCode() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("sync: random code: %w", err)
	}
	var out strings.Builder
	for i, x := range b {
		if i > 0 && i%4 == 0 {
			out.WriteByte('-')
		}
		out.WriteByte(enrolAlphabet[int(x)%len(enrolAlphabet)])
	}
	return out.String(), nil
}

// NormalizeEnrolmentCode makes a typed code comparable: upper case, no
// spaces, and the letters people confuse mapped as Crockford does.
func NormalizeEnrolmentCode(s string) string {
	r := strings.NewReplacer(" ", "", "O", "0", "I", "1", "L", "1")
	return r.Replace(strings.ToUpper(strings.TrimSpace(s)))
}
