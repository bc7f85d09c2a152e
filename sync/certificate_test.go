package sync

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"math/big"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"sportello/store"
)

// selfSigned makes a certificate like the server's own, and its
// fingerprint.
func selfSigned(t *testing.T) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "sportello-server"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, hex.EncodeToString(sum[:])
}

// The server's certificate changes without enrolling the workstations
// again: the server announces the next one over the one they pinned, each
// workstation that syncs keeps it and says so, and when the server presents
// it the workstation pins it in place of the old one. A workstation that
// did not sync while it was announced refuses it.
func TestTheServerCertificateChangesWithoutEnrollingAgain(t *testing.T) {
	ctx := context.Background()
	certA, pinA := selfSigned(t)
	certB, pinB := selfSigned(t)
	var presented atomic.Pointer[tls.Certificate]
	presented.Store(&certA)
	s, _ := restorableWith(t, &tls.Config{GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
		return &tls.Config{Certificates: []tls.Certificate{*presented.Load()}}, nil
	}})
	s.pin = pinA
	ts, ss, svc := s.ts, s.sync, s.svc
	a := enroll(t, s, "DESK01", false)
	late := enroll(t, s, "DESK02", false)
	nextOnServer := func(code string) string {
		t.Helper()
		var fp string
		if err := svc.DB().Read(ctx, func(q store.Querier) error {
			return q.QueryRow(`SELECT COALESCE((SELECT p.next_certificate FROM sync_peers p JOIN workstations w ON w.id = p.workstation_id WHERE w.code = ?), '')`, code).Scan(&fp)
		}); err != nil {
			t.Fatal(err)
		}
		return fp
	}
	meta := func(r *replica, key string) string {
		t.Helper()
		v, err := r.svc.DB().Meta(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}

	// The administrator prepares the next certificate; DESK01 syncs.
	ss.SetNextCertificate(pinB)
	a.sync(t)
	if got := meta(a, MetaPinNext); got != pinB {
		t.Fatalf("DESK01 holds %q as the next certificate, want %s", got, pinB)
	}
	if got := nextOnServer("DESK01"); got != pinB {
		t.Fatalf("the server records %q as DESK01's next certificate, want %s", got, pinB)
	}
	if got := nextOnServer("DESK02"); got != "" {
		t.Fatalf("the server records %q for DESK02, which has not synced", got)
	}
	if a.client.Pin() != pinA || meta(a, MetaPin) != pinA {
		t.Fatalf("DESK01 pinned %s before the switch", a.client.Pin())
	}

	// The switch: the server restarts presenting the new certificate.
	presented.Store(&certB)
	ss.SetNextCertificate("")
	ts.CloseClientConnections()
	op := login(t, a.svc, "sportello")
	c := saveCitizen(t, a, op, "Certificato")
	a.sync(t)
	if !onServer(t, s, c.ID) {
		t.Fatal("DESK01 did not sync with the new certificate")
	}
	if a.client.Pin() != pinB || meta(a, MetaPin) != pinB || meta(a, MetaPinNext) != "" {
		t.Fatalf("after the switch DESK01 pins %s (stored %s, next %q), want %s", a.client.Pin(), meta(a, MetaPin), meta(a, MetaPinNext), pinB)
	}
	// The pin survives a restart of the program.
	cfg, err := LoadConfig(ctx, a.svc.DB())
	if err != nil {
		t.Fatal(err)
	}
	if err := NewClient(a.svc.DB(), a.svc.Blobs(), cfg).SyncOnce(ctx); err != nil {
		t.Fatalf("DESK01 after a restart: %v", err)
	}
	// The old certificate is no longer accepted by DESK01.
	presented.Store(&certA)
	ts.CloseClientConnections()
	if err := a.client.SyncOnce(ctx); !errors.Is(err, ErrPinMismatch) {
		t.Fatalf("DESK01 with the old certificate presented again: %v, want the pin refused", err)
	}
	presented.Store(&certB)
	ts.CloseClientConnections()

	// DESK02 was off while the next certificate was announced.
	if err := late.client.SyncOnce(ctx); !errors.Is(err, ErrPinMismatch) {
		t.Fatalf("DESK02, which never received the announcement: %v, want the pin refused", err)
	}
	if st := late.client.State(); st.LastError != pinMismatchMessage {
		t.Fatalf("DESK02's status bar says %q", st.LastError)
	}
}

// An announcement replaced or withdrawn before the switch is followed: the
// workstation holds the latest one, or none.
func TestAWithdrawnNextCertificateIsForgotten(t *testing.T) {
	ctx := context.Background()
	s := startServer(t)
	a := enroll(t, s, "DESK01", false)
	_, pinB := selfSigned(t)
	_, pinC := selfSigned(t)
	for _, next := range []string{pinB, pinC, ""} {
		s.sync.SetNextCertificate(next)
		a.sync(t)
		if got, err := a.svc.DB().Meta(ctx, MetaPinNext); err != nil || got != next {
			t.Fatalf("announced %q: the workstation holds %q (%v)", next, got, err)
		}
		if a.client.Pin() != s.pin {
			t.Fatalf("announced %q: pinned %s", next, a.client.Pin())
		}
	}
}

// A pull reporting a next certificate that is not a fingerprint is refused
// with nothing recorded.
func TestAMalformedNextCertificateIsRefused(t *testing.T) {
	ctx := context.Background()
	s := startServer(t)
	a := enroll(t, s, "DESK01", false)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.ts.URL+"/v1/pull?after=0&limit=10", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+a.client.cfg.Token)
	req.Header.Set(HeaderSchema, strconv.Itoa(store.SchemaVersion()))
	req.Header.Set(HeaderNextCertificate, "not-a-fingerprint")
	resp, err := PinnedClient(s.pin).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var eb ErrorBody
	err = json_decode(resp.Body, &eb)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusBadRequest || eb.Code != CodeBadRequest || eb.Message == "" {
		t.Fatalf("malformed next certificate: %d %+v (%v)", resp.StatusCode, eb, err)
	}
	var recorded int
	if err := s.svc.DB().Read(ctx, func(q store.Querier) error {
		return q.QueryRow(`SELECT count(*) FROM sync_peers WHERE next_certificate <> ''`).Scan(&recorded)
	}); err != nil || recorded != 0 {
		t.Fatalf("recorded %d next certificates (%v)", recorded, err)
	}
}
