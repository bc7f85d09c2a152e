package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"sportello/internal/audit"
)

// A workstation enrolled again — a new computer for the same desk, or a
// replica replaced by the server's copy — keeps its identity, so what it
// writes must follow what the server already holds of that workstation:
// the initial copy (DB.Snapshot) records where the server stood, and the
// replica numbers its changes and audit entries after it. Without that it
// would start again from 1, and the server would take its first changes
// for ones it already had and drop them.
const (
	// metaConfidentialCopy: "1" when the copy was made for a workstation
	// that may hold confidential records, "0" when they were left out.
	metaConfidentialCopy = "copy_confidential"

	metaOriginFloor    = "origin_seq_floor"   // the server's last origin seq of this workstation
	metaLateFloor      = "late_refused_floor" // its last late refusal for this workstation
	metaAuditFloorSeq  = "audit_floor_seq"    // the head of this workstation's audit chain on the server
	metaAuditFloorHash = "audit_floor_hash"
)

// Floors is where the server stood for this workstation when the replica
// was copied from it (all zero for a workstation enrolled the first time).
type Floors struct {
	OriginSeq   int64  // its changes up to this origin seq are on the server
	LateRefused int64  // its late refusals up to this one are settled
	AuditSeq    int64  // its audit chain on the server ends at this entry…
	AuditHash   string // …with this hash
}

// OwnFloors reads the replica's floors.
func (db *DB) OwnFloors(ctx context.Context) (Floors, error) {
	var f Floors
	err := db.Read(ctx, func(q Querier) error {
		var err error
		f, err = readFloors(q)
		return err
	})
	return f, err
}

func readFloors(q Querier) (Floors, error) {
	var f Floors
	var origin, late, seq string
	meta := `COALESCE((SELECT value FROM local_meta WHERE key = ?), '')`
	if err := q.QueryRow(`SELECT `+meta+`, `+meta+`, `+meta+`, `+meta, metaOriginFloor, metaLateFloor, metaAuditFloorSeq, metaAuditFloorHash).
		Scan(&origin, &late, &seq, &f.AuditHash); err != nil {
		return f, fmt.Errorf("store: read floors: %w", err)
	}
	var err error
	if f.OriginSeq, err = MetaNumber(metaOriginFloor, origin); err != nil {
		return f, err
	}
	if f.LateRefused, err = MetaNumber(metaLateFloor, late); err != nil {
		return f, err
	}
	if f.AuditSeq, err = MetaNumber(metaAuditFloorSeq, seq); err != nil {
		return f, err
	}
	if f.AuditSeq > 0 && f.AuditHash == "" {
		return f, fmt.Errorf("store: audit floor %d without its hash", f.AuditSeq)
	}
	return f, nil
}

// copyHorizonKey is the server's local_meta key of the stable horizon the
// latest initial copy of workstation ws was made at.
func copyHorizonKey(ws string) string { return "copy_stable:" + ws }

// SetCopyHorizon records, on the server, the stable horizon the initial
// copy of workstation ws was made at: the field versions older than it
// were left out of that copy (DB.Snapshot).
func (t *Tx) SetCopyHorizon(ws, stable string) error {
	return t.SetMeta(copyHorizonKey(ws), stable)
}

// StableFor is the horizon by which a write of workstation ws with no base
// for a field is judged (ApplyOptions.Stable): a version older than the
// horizon its replica was copied at was in that copy, without its version,
// and the writer saw it. A version that arrived after the copy was not
// seen, however old it has become since: the server's horizon now would
// take it for seen. For a workstation copied before copies recorded their
// horizon, the horizon now (current).
func (t *Tx) StableFor(ws, current string) (string, error) {
	v, err := t.Meta(copyHorizonKey(ws))
	if err != nil {
		return "", err
	}
	if v == "" {
		return current, nil
	}
	return min(v, current), nil
}

// CopyScope reports whether the replica was copied for a workstation that
// may hold confidential records; known is false for a replica copied
// before the scope was recorded, or never copied from a server.
func (db *DB) CopyScope(ctx context.Context) (confidential, known bool, err error) {
	v, err := db.Meta(ctx, metaConfidentialCopy)
	if err != nil {
		return false, false, err
	}
	return v == "1", v == "0" || v == "1", nil
}

// OwnProgress is how far this replica's own numbering goes: its latest
// change's origin seq and its latest audit entry's seq, floors included.
func (db *DB) OwnProgress(ctx context.Context) (originSeq, auditSeq int64, err error) {
	err = db.Read(ctx, func(q Querier) error {
		if originSeq, err = lastOwnSeq(q, db.wsID); err != nil {
			return err
		}
		auditSeq, _, err = auditHead(q, db.wsID)
		return err
	})
	return originSeq, auditSeq, err
}

// lastOwnSeq is the origin seq of the replica's latest own change, or its
// floor when it has made none since the copy.
func lastOwnSeq(q Querier, ws string) (int64, error) {
	var n int64
	if err := q.QueryRow(`SELECT max(COALESCE((SELECT MAX(origin_seq) FROM sync_changes WHERE workstation_id = ?1), 0),
		COALESCE((SELECT CAST(value AS INTEGER) FROM local_meta WHERE key = ?2), 0))`, ws, metaOriginFloor).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: last own change: %w", err)
	}
	return n, nil
}

// auditHead is the last entry of the replica's own audit chain: its own
// latest, else the floor, else the genesis.
func auditHead(q Querier, ws string) (int64, string, error) {
	var seq int64
	var head string
	err := q.QueryRow(`SELECT seq, hash FROM audit_log WHERE workstation_id = ? ORDER BY seq DESC LIMIT 1`, ws).Scan(&seq, &head)
	if err == nil {
		return seq, head, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, "", fmt.Errorf("store: read audit head: %w", err)
	}
	f, err := readFloors(q)
	if err != nil {
		return 0, "", err
	}
	if f.AuditSeq > 0 {
		return f.AuditSeq, f.AuditHash, nil
	}
	return 0, audit.Genesis, nil
}

// MetaNumber reads a counter kept in local_meta: absent (empty) is 0, and
// anything but a whole number is an error rather than a silent 0 — a
// counter read as 0 would make the replica number or fetch again what it
// already did.
func MetaNumber(key, v string) (int64, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("store: local_meta %s holds %q, not a number: %w", key, v, err)
	}
	return n, nil
}
