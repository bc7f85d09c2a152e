package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"sportello/internal/audit"
	"sportello/internal/ids"
)

// Workstation is an enrolled (or enrollable) workstation.
type Workstation struct {
	ID           string
	Code         string
	Name         string
	Kind         string
	Confidential bool
	Active       bool
	RevokedAt    string
}

// PutWorkstation creates or updates a workstation.
func (t *Tx) PutWorkstation(w Workstation) error {
	_, err := t.Put("workstations", w.ID, Fields{"code": w.Code, "name": w.Name, "kind": w.Kind, "confidential": w.Confidential,
		"active": w.Active, "revoked_at": w.RevokedAt})
	return err
}

// WorkstationByID reads a workstation.
func (db *DB) WorkstationByID(ctx context.Context, id string) (Workstation, error) {
	return scanWorkstation(db.r.QueryRowContext(ctx, `SELECT id, code, name, kind, confidential, active, revoked_at FROM workstations WHERE id = ?`, id))
}

// WorkstationByCode reads a workstation by its code.
func (db *DB) WorkstationByCode(ctx context.Context, code string) (Workstation, error) {
	return scanWorkstation(db.r.QueryRowContext(ctx, `SELECT id, code, name, kind, confidential, active, revoked_at FROM workstations WHERE code = ?`, code))
}

func scanWorkstation(row *sql.Row) (Workstation, error) {
	var w Workstation
	var conf, active int64
	err := row.Scan(&w.ID, &w.Code, &w.Name, &w.Kind, &conf, &active, &w.RevokedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return w, fmt.Errorf("store: workstation: %w", ErrNotFound)
	}
	if err != nil {
		return w, fmt.Errorf("store: read workstation: %w", err)
	}
	w.Confidential, w.Active = conf != 0, active != 0
	return w, nil
}

// InsertEnrolment stores a one-time enrolment code's hash.
//
// The workstation's earlier codes not used yet expire now: a new code
// replaces them. Used later — a code handed out and forgotten, a request
// sent again — an old one would enrol an installation nobody set up and
// retire the one in use.
func (t *Tx) InsertEnrolment(codeHash, workstationID string, expires time.Time) error {
	past := FormatInstant(t.now.Add(-time.Millisecond))
	if _, err := t.exec(`UPDATE sync_enrolments SET expires_at = ? WHERE workstation_id = ? AND used_at = '' AND expires_at > ?`,
		past, workstationID, past); err != nil {
		return fmt.Errorf("store: expire earlier enrolment codes: %w", err)
	}
	if _, err := t.exec(`INSERT INTO sync_enrolments (code_hash, workstation_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
		codeHash, workstationID, t.NowString(), FormatInstant(expires)); err != nil {
		return fmt.Errorf("store: insert enrolment: %w", err)
	}
	return nil
}

// ErrEnrolment is returned for an unknown, used or expired enrolment code.
var ErrEnrolment = errors.New("store: enrolment code unknown, used or expired")

// ConsumeEnrolment marks a code used and returns its workstation.
func (t *Tx) ConsumeEnrolment(codeHash string) (string, error) {
	var ws, expires, used string
	err := t.queryRow(`SELECT workstation_id, expires_at, used_at FROM sync_enrolments WHERE code_hash = ?`, codeHash).Scan(&ws, &expires, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrEnrolment
	}
	if err != nil {
		return "", fmt.Errorf("store: read enrolment: %w", err)
	}
	if used != "" || parseInstant(expires).Before(t.now) {
		return "", ErrEnrolment
	}
	if _, err := t.exec(`UPDATE sync_enrolments SET used_at = ? WHERE code_hash = ?`, t.NowString(), codeHash); err != nil {
		return "", fmt.Errorf("store: use enrolment: %w", err)
	}
	return ws, nil
}

// InsertToken stores a workstation token's hash.
func (t *Tx) InsertToken(tokenHash, workstationID string) error {
	if _, err := t.exec(`INSERT INTO sync_tokens (token_hash, workstation_id, created_at) VALUES (?, ?, ?)`, tokenHash, workstationID, t.NowString()); err != nil {
		return fmt.Errorf("store: insert token: %w", err)
	}
	return nil
}

// ErrRevoked is returned for a revoked token or workstation.
var ErrRevoked = errors.New("store: token revoked")

// TokenWorkstation returns the workstation a token belongs to.
func (db *DB) TokenWorkstation(ctx context.Context, tokenHash string) (Workstation, error) {
	var ws, revoked string
	err := db.r.QueryRowContext(ctx, `SELECT workstation_id, revoked_at FROM sync_tokens WHERE token_hash = ?`, tokenHash).Scan(&ws, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return Workstation{}, fmt.Errorf("store: token: %w", ErrNotFound)
	}
	if err != nil {
		return Workstation{}, fmt.Errorf("store: read token: %w", err)
	}
	if revoked != "" {
		return Workstation{}, ErrRevoked
	}
	w, err := db.WorkstationByID(ctx, ws)
	if err != nil {
		return w, err
	}
	if !w.Active || w.RevokedAt != "" {
		return w, ErrRevoked
	}
	return w, nil
}

// RevokeWorkstation revokes a workstation and all its tokens.
func (t *Tx) RevokeWorkstation(id string) error {
	if err := t.RevokeTokens(id); err != nil {
		return err
	}
	_, err := t.Put("workstations", id, Fields{"active": false, "revoked_at": t.NowString()})
	return err
}

// RevokeTokens revokes a workstation's tokens, leaving the workstation
// itself as it is: a new enrolment replaces the installation that held them.
func (t *Tx) RevokeTokens(id string) error {
	if _, err := t.exec(`UPDATE sync_tokens SET revoked_at = ? WHERE workstation_id = ? AND revoked_at = ''`, t.NowString(), id); err != nil {
		return fmt.Errorf("store: revoke tokens: %w", err)
	}
	return nil
}

// HeldChangeMatches reports whether change c, numbered as one the server
// already has from its workstation, is that change: the one applied (same
// row and clock), refused or parked (same row). A number the server keeps
// nothing under matches.
func (t *Tx) HeldChangeMatches(c Change) (bool, error) {
	var tbl, row, hlc string
	err := t.queryRow(`SELECT tbl, row_id, hlc FROM sync_changes WHERE workstation_id = ? AND origin_seq = ?`, c.WorkstationID, c.OriginSeq).Scan(&tbl, &row, &hlc)
	if err == nil {
		return tbl == c.Table && row == c.RowID && hlc == c.HLC, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("store: held change: %w", err)
	}
	for _, table := range []string{"sync_rejections", "sync_parked"} {
		err := t.queryRow(`SELECT tbl, row_id FROM `+table+` WHERE workstation_id = ? AND origin_seq = ?`, c.WorkstationID, c.OriginSeq).Scan(&tbl, &row)
		if err == nil {
			return tbl == c.Table && row == c.RowID, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return false, fmt.Errorf("store: held change: %w", err)
		}
	}
	return true, nil
}

// Peer returns what a workstation has pushed so far.
func (t *Tx) Peer(ws string) (lastSeq, lastAudit int64, err error) {
	err = t.queryRow(`SELECT last_seq, last_audit_seq FROM sync_peers WHERE workstation_id = ?`, ws).Scan(&lastSeq, &lastAudit)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("store: read peer: %w", err)
	}
	return lastSeq, lastAudit, nil
}

// SetPeer records what a workstation has pushed, in the same transaction as the changes.
func (t *Tx) SetPeer(ws string, lastSeq, lastAudit int64) error {
	if _, err := t.exec(`INSERT INTO sync_peers (workstation_id, last_seq, last_audit_seq, last_seen_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (workstation_id) DO UPDATE SET last_seq = excluded.last_seq, last_audit_seq = excluded.last_audit_seq, last_seen_at = excluded.last_seen_at`,
		ws, lastSeq, lastAudit, t.NowString()); err != nil {
		return fmt.Errorf("store: write peer: %w", err)
	}
	return nil
}

// TxStanding is how the server judged the operator of a workstation's
// local transaction at its first change: the rest of the transaction is
// judged the same way, in this push or a later one.
type TxStanding struct {
	TxID, OperatorID string
	Role             string
	// Allowed: the operator was active, or its deactivation had not
	// reached the workstation (Tx.DeactivationUnseen).
	Allowed bool
}

// PeerStanding reads the standing of ws's last transaction.
func (t *Tx) PeerStanding(ws string) (TxStanding, error) {
	var st TxStanding
	err := t.queryRow(`SELECT tx_id, tx_operator, tx_role, tx_allowed FROM sync_peers WHERE workstation_id = ?`, ws).Scan(&st.TxID, &st.OperatorID, &st.Role, &st.Allowed)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return st, fmt.Errorf("store: read the standing of %s: %w", ws, err)
	}
	return st, nil
}

// SetPeerStanding records the standing of ws's last transaction.
func (t *Tx) SetPeerStanding(ws string, st TxStanding) error {
	if _, err := t.exec(`INSERT INTO sync_peers (workstation_id, tx_id, tx_operator, tx_role, tx_allowed) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (workstation_id) DO UPDATE SET tx_id = excluded.tx_id, tx_operator = excluded.tx_operator, tx_role = excluded.tx_role, tx_allowed = excluded.tx_allowed`,
		ws, st.TxID, st.OperatorID, st.Role, st.Allowed); err != nil {
		return fmt.Errorf("store: write the standing of %s: %w", ws, err)
	}
	return nil
}

// RaiseFloor records that every change workstation ws will still push has
// a clock at least hlc (the floor only rises).
func (t *Tx) RaiseFloor(ws, hlc string) error {
	if _, err := t.exec(`INSERT INTO sync_peers (workstation_id, floor_hlc) VALUES (?, ?)
		ON CONFLICT (workstation_id) DO UPDATE SET floor_hlc = max(floor_hlc, excluded.floor_hlc)`, ws, hlc); err != nil {
		return fmt.Errorf("store: raise floor of %s: %w", ws, err)
	}
	return nil
}

// RecordPulled notes that ws has applied the server's change log up to
// seq: the cursor a pull starts from, committed on the workstation (the
// pages it prefetches are asked before the one in front is applied).
func (t *Tx) RecordPulled(ws string, seq int64) error {
	if _, err := t.exec(`INSERT INTO sync_peers (workstation_id, pulled_seq) VALUES (?, ?)
		ON CONFLICT (workstation_id) DO UPDATE SET pulled_seq = max(pulled_seq, excluded.pulled_seq)`, ws, seq); err != nil {
		return fmt.Errorf("store: record the pull of %s: %w", ws, err)
	}
	return nil
}

// RecordClock notes how far workstation ws's clock is from the server's:
// offsetMs is its clock minus the server's, in milliseconds, measured at
// the first request of a pull (sync.HeaderClock).
func (t *Tx) RecordClock(ws string, offsetMs int64) error {
	if _, err := t.exec(`INSERT INTO sync_peers (workstation_id, clock_offset_ms, clock_checked_at) VALUES (?, ?, ?)
		ON CONFLICT (workstation_id) DO UPDATE SET clock_offset_ms = excluded.clock_offset_ms, clock_checked_at = excluded.clock_checked_at`,
		ws, offsetMs, t.NowString()); err != nil {
		return fmt.Errorf("store: record the clock of %s: %w", ws, err)
	}
	return nil
}

// RecordNextCertificate notes that workstation ws holds fp (hex SHA-256) as
// the server's next certificate (sync.HeaderNextCertificate).
func (t *Tx) RecordNextCertificate(ws, fp string) error {
	if _, err := t.exec(`INSERT INTO sync_peers (workstation_id, next_certificate) VALUES (?, ?)
		ON CONFLICT (workstation_id) DO UPDATE SET next_certificate = excluded.next_certificate`, ws, fp); err != nil {
		return fmt.Errorf("store: record the next certificate of %s: %w", ws, err)
	}
	return nil
}

// RecordProgram notes the schema version of the program workstation ws
// reached the server with (sync.HeaderSchema).
func (t *Tx) RecordProgram(ws string, schema int) error {
	if _, err := t.exec(`INSERT INTO sync_peers (workstation_id, program_schema, program_seen_at) VALUES (?, ?, ?)
		ON CONFLICT (workstation_id) DO UPDATE SET program_schema = excluded.program_schema, program_seen_at = excluded.program_seen_at`,
		ws, schema, t.NowString()); err != nil {
		return fmt.Errorf("store: record the program of %s: %w", ws, err)
	}
	return nil
}

// DeactivationUnseen reports whether the operator's last deactivation had
// not reached ws: the server noted where its change log stood then
// (Tx.PutOperator), and ws has not pulled that far. False when the server
// has no note of it (a deactivation older than migration 0016).
func (t *Tx) DeactivationUnseen(ws, operatorID string) (bool, error) {
	var unseen bool
	err := t.queryRow(`SELECT d.log_seq > COALESCE((SELECT pulled_seq FROM sync_peers WHERE workstation_id = ?), 0)
		FROM operator_deactivations d WHERE d.operator_id = ?`, ws, operatorID).Scan(&unseen)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: deactivation of %s seen by %s: %w", operatorID, ws, err)
	}
	return unseen, nil
}

// RaiseFloorToClock raises ws's floor to this replica's clock: used when the
// server builds ws's initial copy, whose clock ws's next writes will pass.
func (t *Tx) RaiseFloorToClock(ws string) error {
	return t.RaiseFloor(ws, t.db.clock.Now().String())
}

// stableHorizonQuery: the lowest floor among the enrolled, active
// workstations ("" when one of them has not reported a floor yet).
const stableHorizonQuery = `SELECT COALESCE(min(COALESCE(p.floor_hlc, '')), '')
	FROM workstations w LEFT JOIN sync_peers p ON p.workstation_id = w.id
	WHERE w.active = 1 AND w.revoked_at = ''
	  AND EXISTS (SELECT 1 FROM sync_tokens k WHERE k.workstation_id = w.id AND k.revoked_at = '')`

// StableHorizon is the clock below which no write can still arrive: every
// change any enrolled workstation will push has a clock at least this high
// (and the server's own writes are later still). A field version older than
// it loses to every future write, so a replica that does not know it
// decides every merge as one that does. "" when unknown.
func (t *Tx) StableHorizon() (string, error) {
	var h string
	if err := t.queryRow(stableHorizonQuery).Scan(&h); err != nil {
		return "", fmt.Errorf("store: stable horizon: %w", err)
	}
	return h, nil
}

// StableHorizon is Tx.StableHorizon outside a transaction.
func (db *DB) StableHorizon(ctx context.Context) (string, error) {
	var h string
	if err := db.r.QueryRowContext(ctx, stableHorizonQuery).Scan(&h); err != nil {
		return "", fmt.Errorf("store: stable horizon: %w", err)
	}
	return h, nil
}

// Rejection is a change the server refused.
type Rejection struct {
	OriginSeq int64  `json:"origin_seq"`
	Table     string `json:"table"`
	RowID     string `json:"row_id"`
	Code      string `json:"code"`
	Reason    string `json:"reason"`
	// Label and Confidential are the record's name (RecordLabel) and
	// whether it is confidential, as the workstation that made the change
	// read them when the refusal arrived: the repair that follows may
	// remove the record. The server does not send them.
	Label        string `json:"label,omitempty"`
	Confidential bool   `json:"confidential,omitempty"`
}

// RejectionsBetween lists a workstation's refused changes with origin seq
// in (after, upTo], in order.
func (db *DB) RejectionsBetween(ctx context.Context, workstationID string, after, upTo int64) ([]Rejection, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT origin_seq, tbl, row_id, code, reason FROM sync_rejections
		WHERE workstation_id = ? AND origin_seq > ? AND origin_seq <= ? ORDER BY origin_seq`, workstationID, after, upTo)
	out, err := collect(rows, err, "list rejections", func(rows *sql.Rows, r *Rejection) error {
		return rows.Scan(&r.OriginSeq, &r.Table, &r.RowID, &r.Code, &r.Reason)
	})
	if out == nil && err == nil {
		out = []Rejection{}
	}
	return out, err
}

// RejectionRecord is a refused change as the server keeps it.
type RejectionRecord struct {
	Rejection
	WorkstationID string
	At            string // RFC 3339, UTC
}

// Rejections lists the changes the server refused, newest first: of one
// workstation, or of all when workstationID is "".
func (db *DB) Rejections(ctx context.Context, workstationID string, limit int) ([]RejectionRecord, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT workstation_id, origin_seq, tbl, row_id, code, reason, at FROM sync_rejections
		WHERE ?1 = '' OR workstation_id = ?1 ORDER BY at DESC, workstation_id, origin_seq DESC LIMIT ?2`, workstationID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: list rejections: %w", err)
	}
	defer rows.Close()
	var out []RejectionRecord
	for rows.Next() {
		var r RejectionRecord
		if err := rows.Scan(&r.WorkstationID, &r.OriginSeq, &r.Table, &r.RowID, &r.Code, &r.Reason, &r.At); err != nil {
			return nil, fmt.Errorf("store: list rejections: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ParkChange keeps a change that refers to a row the server does not have
// yet, during the restore window (migration 0010).
func (t *Tx) ParkChange(ws string, c Change) error {
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("store: park change: %w", err)
	}
	if _, err := t.exec(`INSERT INTO sync_parked (workstation_id, origin_seq, tbl, row_id, change, parked_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`, ws, c.OriginSeq, c.Table, c.RowID, string(b), t.NowString()); err != nil {
		return fmt.Errorf("store: park change: %w", err)
	}
	return nil
}

// RowExists reports whether a replicated table has a row.
func (t *Tx) RowExists(table, rowID string) (bool, error) {
	if _, ok := t.db.cols[table]; !ok {
		return false, fmt.Errorf("%w: table %q is not replicated", ErrInvalidChange, table)
	}
	var exists bool
	if err := t.queryRow(`SELECT EXISTS (SELECT 1 FROM `+table+` WHERE id = ?)`, rowID).Scan(&exists); err != nil {
		return false, fmt.Errorf("store: read %s %s: %w", table, rowID, err)
	}
	return exists, nil
}

// RowParked reports whether a change of the row is parked.
func (t *Tx) RowParked(table, rowID string) (bool, error) {
	var parked bool
	if err := t.queryRow(`SELECT EXISTS (SELECT 1 FROM sync_parked WHERE tbl = ? AND row_id = ?)`, table, rowID).Scan(&parked); err != nil {
		return false, fmt.Errorf("store: parked changes: %w", err)
	}
	return parked, nil
}

// ParkedChanges lists the parked changes, in the order they were parked.
func (t *Tx) ParkedChanges() ([]Change, error) {
	rows, err := t.query(`SELECT change FROM sync_parked ORDER BY parked_at, workstation_id, origin_seq`)
	return collect(rows, err, "parked changes", func(rows *sql.Rows, c *Change) error {
		var raw string
		if err := rows.Scan(&raw); err != nil {
			return err
		}
		return json.Unmarshal([]byte(raw), c)
	})
}

// UnparkChange removes a parked change (applied or refused).
func (t *Tx) UnparkChange(ws string, originSeq int64) error {
	if _, err := t.exec(`DELETE FROM sync_parked WHERE workstation_id = ? AND origin_seq = ?`, ws, originSeq); err != nil {
		return fmt.Errorf("store: unpark change: %w", err)
	}
	return nil
}

// InsertRejection records a refused change.
func (t *Tx) InsertRejection(ws string, r Rejection) error {
	if _, err := t.exec(`INSERT INTO sync_rejections (workstation_id, origin_seq, tbl, row_id, code, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`, ws, r.OriginSeq, r.Table, r.RowID, r.Code, r.Reason, t.NowString()); err != nil {
		return fmt.Errorf("store: record rejection: %w", err)
	}
	return nil
}

// InsertLateRejection records the refusal of a change the workstation
// already had acknowledged (a change parked on a restored server, refused
// when numbering resumed): it gets the next late number, which pulls
// announce (LastLateRejection) and LateRejections lists.
func (t *Tx) InsertLateRejection(ws string, r Rejection) error {
	if _, err := t.exec(`INSERT INTO sync_rejections (workstation_id, origin_seq, tbl, row_id, code, reason, at, late_seq)
		VALUES (?, ?, ?, ?, ?, ?, ?, (SELECT COALESCE(max(late_seq), 0) + 1 FROM sync_rejections WHERE late_seq IS NOT NULL))
		ON CONFLICT DO NOTHING`, ws, r.OriginSeq, r.Table, r.RowID, r.Code, r.Reason, t.NowString()); err != nil {
		return fmt.Errorf("store: record late rejection: %w", err)
	}
	return nil
}

// LastLateRejection is the latest late number (InsertLateRejection) of a
// workstation's refusals, 0 when it has none.
func (db *DB) LastLateRejection(ctx context.Context, workstationID string) (int64, error) {
	var n int64
	if err := db.r.QueryRowContext(ctx, `SELECT COALESCE(max(late_seq), 0) FROM sync_rejections WHERE workstation_id = ? AND late_seq IS NOT NULL`,
		workstationID).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: late rejections: %w", err)
	}
	return n, nil
}

// LateRejection is a late refusal with its late number.
type LateRejection struct {
	Rejection
	LateSeq int64 `json:"late_seq"`
}

// LateRejections lists, in order, up to limit of a workstation's late
// refusals numbered after after.
func (db *DB) LateRejections(ctx context.Context, workstationID string, after int64, limit int) ([]LateRejection, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT late_seq, origin_seq, tbl, row_id, code, reason FROM sync_rejections
		WHERE workstation_id = ? AND late_seq > ? ORDER BY late_seq LIMIT ?`, workstationID, after, limit)
	out, err := collect(rows, err, "late rejections", func(rows *sql.Rows, r *LateRejection) error {
		return rows.Scan(&r.LateSeq, &r.OriginSeq, &r.Table, &r.RowID, &r.Code, &r.Reason)
	})
	if out == nil && err == nil {
		out = []LateRejection{}
	}
	return out, err
}

// ImportAudit appends audit entries received from a workstation after
// checking that they continue its chain; a broken link is refused. sealed,
// when not nil, holds each entry's Sealed() computed ahead by the caller.
func (t *Tx) ImportAudit(ws string, entries []audit.Entry, sealed []bool) (int64, error) {
	var last int64
	head := audit.Genesis
	err := t.queryRow(`SELECT seq, hash FROM audit_log WHERE workstation_id = ? ORDER BY seq DESC LIMIT 1`, ws).Scan(&last, &head)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("store: read audit head: %w", err)
	}
	v := audit.ResumeVerifier(ws, last, head)
	for i, e := range entries {
		if e.Seq <= last {
			continue
		}
		var b *audit.Break
		if sealed != nil {
			b = v.AddSealed(e, sealed[i])
		} else {
			b = v.Add(e)
		}
		if b != nil {
			return last, b
		}
		if _, err := t.exec(`INSERT INTO audit_log (id, workstation_id, seq, at, hlc, operator_id, action, tbl, row_id, data, prev_hash, hash)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.ID, e.WorkstationID, e.Seq, e.At, e.HLC, e.OperatorID, e.Action, e.Table, e.RowID, e.Data, e.PrevHash, e.Hash); err != nil {
			return last, fmt.Errorf("store: import audit entry: %w", err)
		}
		last = e.Seq
	}
	return last, nil
}

// AuditAfter returns this workstation's audit entries with seq > after.
func (db *DB) AuditAfter(ctx context.Context, after int64, limit int) ([]audit.Entry, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id, workstation_id, seq, at, hlc, operator_id, action, tbl, row_id, data, prev_hash, hash
		FROM audit_log WHERE workstation_id = ? AND seq > ? ORDER BY seq LIMIT ?`, db.wsID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: read audit: %w", err)
	}
	defer rows.Close()
	var out []audit.Entry
	for rows.Next() {
		var e audit.Entry
		if err := rows.Scan(&e.ID, &e.WorkstationID, &e.Seq, &e.At, &e.HLC, &e.OperatorID, &e.Action, &e.Table, &e.RowID, &e.Data, &e.PrevHash, &e.Hash); err != nil {
			return nil, fmt.Errorf("store: read audit: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// AssignProtocolNumber gives a registration its definitive number: the next
// of the AOO's register for the year, in the order registrations reach the
// server. Written only by the server; a registration numbered already keeps
// its number.
func (t *Tx) AssignProtocolNumber(registrationID, aoo string, year int) (int64, bool, error) {
	var existing int64
	err := t.queryRow(`SELECT number FROM protocol_numbers WHERE registration_id = ?`, registrationID).Scan(&existing)
	if err == nil {
		return existing, false, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, false, fmt.Errorf("store: read protocol number: %w", err)
	}
	var n int64
	if err := t.queryRow(`SELECT max(COALESCE((SELECT MAX(number) FROM protocol_numbers WHERE aoo = ?1 AND year = ?2), 0),
			COALESCE((SELECT CAST(value AS INTEGER) FROM local_meta WHERE key = ?3), 0)) + 1`, aoo, year, numberFloorKey(aoo, year)).Scan(&n); err != nil {
		return 0, false, fmt.Errorf("store: next protocol number: %w", err)
	}
	if err := t.Insert("protocol_numbers", ids.New(), Fields{"registration_id": registrationID, "aoo": aoo, "year": year, "number": n, "assigned_at": t.NowString()}); err != nil {
		return 0, false, err
	}
	return n, true, nil
}

// numberFloorKey is the local_meta key of the last number of an AOO's
// register for a year given outside this database (ResumeNumbering).
func numberFloorKey(aoo string, year int) string {
	return fmt.Sprintf("protocol_number_floor/%s/%d", aoo, year)
}

// NumberingHeld reports whether definitive numbering is held: this
// database is a restored backup (stampEpoch) and the administrator has not
// yet said which number the register reached (ResumeNumbering).
func (t *Tx) NumberingHeld() (bool, error) {
	var v string
	err := t.queryRow(`SELECT value FROM local_meta WHERE key = ?`, metaNumberingHeld).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: numbering held: %w", err)
	}
	return v == "1", nil
}

// NumberingHeld is Tx.NumberingHeld outside a transaction.
func (db *DB) NumberingHeld(ctx context.Context) (bool, error) {
	v, err := db.Meta(ctx, metaNumberingHeld)
	return v == "1", err
}

// ErrNumberBelowRegister is the error of ResumeNumbering given a number
// lower than one this database already gave.
var ErrNumberBelowRegister = errors.New("store: the register already holds a higher number")

// ResumeNumbering ends the hold on definitive numbering of a restored
// backup: after is the last number of the AOO's register for the year
// given by anyone (the server before it was lost, as the daily register
// exports and the workstations show). The next number is after+1; the
// registrations that reached the server while numbering was held get
// theirs now, in the order they reached it. It returns them, numbered.
func (t *Tx) ResumeNumbering(aoo string, year int, after int64) ([]string, error) {
	var max int64
	if err := t.queryRow(`SELECT COALESCE(MAX(number), 0) FROM protocol_numbers WHERE aoo = ? AND year = ?`, aoo, year).Scan(&max); err != nil {
		return nil, fmt.Errorf("store: resume numbering: %w", err)
	}
	if after < max {
		return nil, fmt.Errorf("%w: %d, not %d", ErrNumberBelowRegister, max, after)
	}
	if _, err := t.exec(`INSERT INTO local_meta(key, value) VALUES (?1, ?2), (?3, '0') ON CONFLICT(key) DO UPDATE SET value = excluded.value`,
		numberFloorKey(aoo, year), strconv.FormatInt(after, 10), metaNumberingHeld); err != nil {
		return nil, fmt.Errorf("store: resume numbering: %w", err)
	}
	// Waiting registrations, in the order their insert reached the log.
	rows, err := t.query(`SELECT r.id FROM protocol_registrations r
		JOIN (SELECT row_id, MIN(seq) AS seq FROM sync_changes WHERE tbl = 'protocol_registrations' GROUP BY row_id) c ON c.row_id = r.id
		WHERE NOT EXISTS (SELECT 1 FROM protocol_numbers n WHERE n.registration_id = r.id)
		ORDER BY c.seq`)
	return collect(rows, err, "resume numbering", scanString)
}

// RowConfidential reports whether a replicated row belongs to a confidential
// record as it stands now (RowConfidentialQ), for the reader's side of
// the scope: what a workstation may receive, list or resolve.
func (t *Tx) RowConfidential(table, rowID string, data Fields) (bool, error) {
	return RowConfidentialQ(t, table, rowID, data)
}

// RowConfidentialAsFiled is RowConfidential with a registration, and what
// hangs on it, as confidential as it was filed, whatever its application
// became since (Reclassify): the server's check of what a workstation
// sends. A registration a desk made of an application reclassified since
// is a legal record the register must take (art. 63 DPR 445/2000 wants
// every emergency registration loaded); once in, it is forwarded only
// within the confidential scope, as RowConfidential says.
func (t *Tx) RowConfidentialAsFiled(table, rowID string, data Fields) (bool, error) {
	return rowConfidential(t, table, rowID, data, true)
}

// RowConfidential is Tx.RowConfidential on the row as stored.
func (db *DB) RowConfidential(ctx context.Context, table, rowID string) (bool, error) {
	var conf bool
	err := db.Read(ctx, func(q Querier) error {
		var err error
		conf, err = RowConfidentialQ(q, table, rowID, nil)
		return err
	})
	return conf, err
}

// BlobReadableOutsideConfidential reports whether a file is named by a row
// that is not confidential (an attachment of an application, a document of
// a registration): only then may a workstation outside the confidential
// scope download it.
func (db *DB) BlobReadableOutsideConfidential(ctx context.Context, sha string) (bool, error) {
	var ok bool
	err := db.r.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM application_attachments x JOIN applications a ON a.id = x.application_id
			WHERE x.sha256 = ?1 AND a.confidential = 0)
		OR EXISTS (SELECT 1 FROM protocol_documents d JOIN protocol_registrations r ON r.id = d.registration_id
			WHERE d.sha256 = ?1 AND r.confidential = 0
			AND NOT EXISTS (SELECT 1 FROM applications a WHERE a.id = r.application_id AND a.confidential = 1))`, sha).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("store: readers of file %s: %w", sha, err)
	}
	return ok, nil
}

// MayBeConfidential reports whether rows of table can belong to a
// confidential record (RowConfidential is false for every other table).
func MayBeConfidential(table string) bool {
	switch table {
	case "applications", "application_attachments", "application_history",
		"protocol_registrations", "protocol_documents", "protocol_numbers", "protocol_annulments", "notifications",
		"sync_conflicts", "sync_reverts":
		return true
	}
	return false
}

// RowConfidentialQ is RowConfidential on any Querier: an application is
// confidential when its column says so (its procedure's at filing, or
// made so since: Reclassify); its attachments and history with it; a
// registration when it was filed confidential or its application is
// confidential now, and its documents, numbers, annulments and the
// notifications about it with it; a conflict or revert record as its row.
func RowConfidentialQ(qr Querier, table, rowID string, data Fields) (bool, error) {
	return rowConfidential(qr, table, rowID, data, false)
}

// maxConflictChain bounds the conflicts about conflicts RowConfidentialQ
// follows to the row they are about.
const maxConflictChain = 8

// registrationNow is a registration's confidentiality as it stands now: as
// filed, or its application's since (Reclassify).
const registrationNow = `SELECT r.confidential OR COALESCE((SELECT a.confidential FROM applications a WHERE a.id = r.application_id), 0) FROM protocol_registrations r`

// rowConfidential is RowConfidentialQ; asFiled takes a registration as
// confidential as it was filed (RowConfidentialAsFiled).
func rowConfidential(qr Querier, table, rowID string, data Fields, asFiled bool) (bool, error) {
	if !MayBeConfidential(table) {
		return false, nil
	}
	flag := func(v any) bool { return v == int64(1) || v == true }
	regQ := `SELECT confidential FROM protocol_registrations r`
	if !asFiled {
		regQ = registrationNow
	}
	q := ""
	arg := rowID
	switch table {
	case "applications":
		if v, ok := data["confidential"]; ok && (flag(v) || asFiled) {
			return flag(v), nil
		}
		// An insert that says 0 may be of an application made
		// confidential since: the row as it stands decides.
		q = `SELECT confidential FROM applications WHERE id = ?`
	case "application_attachments", "application_history":
		if v, ok := data["application_id"].(string); ok {
			arg = v
			q = `SELECT confidential FROM applications WHERE id = ?`
		} else {
			q = `SELECT a.confidential FROM applications a JOIN ` + table + ` x ON x.application_id = a.id WHERE x.id = ?`
		}
	case "protocol_registrations":
		if v, ok := data["confidential"]; ok && (flag(v) || asFiled) {
			return flag(v), nil
		}
		q = regQ + ` WHERE r.id = ?`
		if !asFiled {
			if app, ok := data["application_id"].(string); ok && app != "" {
				// The registration may not be stored yet: its data
				// names the application.
				var c int64
				err := qr.QueryRow(`SELECT confidential FROM applications WHERE id = ?`, app).Scan(&c)
				if err != nil && !errors.Is(err, sql.ErrNoRows) {
					return false, fmt.Errorf("store: read confidentiality: %w", err)
				}
				if c != 0 {
					return true, nil
				}
			}
		}
	case "protocol_documents", "protocol_numbers", "protocol_annulments":
		if v, ok := data["registration_id"].(string); ok {
			arg = v
			q = regQ + ` WHERE r.id = ?`
		} else {
			q = regQ + ` JOIN ` + table + ` x ON x.registration_id = r.id WHERE x.id = ?`
		}
	case "notifications":
		// A notification about a registration tells its subject: it is as
		// confidential as the registration.
		if rt, ok := data["ref_table"].(string); ok {
			if rt != "protocol_registrations" {
				return false, nil
			}
			arg, _ = data["ref_id"].(string)
			q = regQ + ` WHERE r.id = ?`
		} else {
			q = regQ + ` JOIN notifications n ON n.ref_id = r.id AND n.ref_table = 'protocol_registrations' WHERE n.id = ?`
		}
	case "sync_conflicts", "sync_reverts":
		// A conflict record holds both values of a field of its row, a
		// revert record the register's values: as confidential as that row.
		// An absent revert's row is not here: the revert says (0015).
		if table == "sync_reverts" {
			if v, ok := data["confidential"]; ok {
				if flag(v) {
					return true, nil
				}
			} else {
				var c int64
				err := qr.QueryRow(`SELECT confidential FROM sync_reverts WHERE id = ?`, rowID).Scan(&c)
				if err != nil && !errors.Is(err, sql.ErrNoRows) {
					return false, fmt.Errorf("store: read confidentiality of revert: %w", err)
				}
				if c != 0 {
					return true, nil
				}
			}
		}
		tbl, ok1 := data["tbl"].(string)
		ref, ok2 := data["row_id"].(string)
		if !ok1 || !ok2 {
			err := qr.QueryRow(`SELECT tbl, row_id FROM `+table+` WHERE id = ?`, rowID).Scan(&tbl, &ref)
			if errors.Is(err, sql.ErrNoRows) {
				return false, nil
			}
			if err != nil {
				return false, fmt.Errorf("store: read confidentiality of conflict: %w", err)
			}
		}
		// A conflict about a conflict record (two replicas resolved it
		// differently) is as confidential as the record it is about,
		// and so on down the chain, which ends at a row of another table.
		for depth := 0; tbl == "sync_conflicts"; depth++ {
			if depth == maxConflictChain {
				return true, nil // no such chain is made: keep it in
			}
			err := qr.QueryRow(`SELECT tbl, row_id FROM sync_conflicts WHERE id = ?`, ref).Scan(&tbl, &ref)
			if errors.Is(err, sql.ErrNoRows) {
				return false, nil
			}
			if err != nil {
				return false, fmt.Errorf("store: read confidentiality of conflict: %w", err)
			}
		}
		if tbl == "sync_reverts" {
			return false, nil // never made: a revert is the server's, not a write that conflicts
		}
		return rowConfidential(qr, tbl, ref, nil, asFiled)
	default:
		return false, nil
	}
	var c int64
	err := qr.QueryRow(q, arg).Scan(&c)
	if errors.Is(err, sql.ErrNoRows) {
		if table == "applications" || table == "protocol_registrations" {
			if v, ok := data["confidential"]; ok {
				return flag(v), nil
			}
		}
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: read confidentiality: %w", err)
	}
	return c != 0, nil
}

// OperatorByID reads an operator account inside a transaction.
func (t *Tx) OperatorByID(id string) (Operator, error) {
	return scanOperator(t.queryRow(`SELECT `+operatorCols+` FROM operators WHERE id = ?`, id), id)
}

// Setting reads a replicated setting's raw JSON value inside a transaction.
func (t *Tx) Setting(key string) (string, error) {
	return t.textByKey(`SELECT value FROM settings WHERE id = ?`, key, "setting")
}

// QueueProtocolNotification queues the message that tells the citizen the
// definitive protocol number of their application (e-mail, else PEC, else
// SMS), when the registration belongs to an application and the citizen has
// an address. The server's notifier sends it.
func (t *Tx) QueueProtocolNotification(registrationID string) error {
	var appID, citizenID, email, pec, phone, subject, regDate, emRegister string
	var number, year, emNumber, emYear int64
	err := t.queryRow(`SELECT COALESCE(r.application_id, ''), COALESCE(a.citizen_id, ''), COALESCE(c.email, ''), COALESCE(c.pec, ''), COALESCE(c.phone, ''),
			r.subject, r.reg_date, r.emergency_register, COALESCE(r.emergency_number, 0), r.year, n.number, n.year
		FROM protocol_registrations r JOIN protocol_numbers n ON n.registration_id = r.id
		LEFT JOIN applications a ON a.id = r.application_id LEFT JOIN citizens c ON c.id = a.citizen_id
		WHERE r.id = ?`, registrationID).Scan(&appID, &citizenID, &email, &pec, &phone, &subject, &regDate, &emRegister, &emNumber, &emYear, &number, &year)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: read registration for notification: %w", err)
	}
	if citizenID == "" {
		return nil
	}
	channel, address := "email", email
	switch {
	case email != "":
	case pec != "":
		channel, address = "pec", pec
	case phone != "":
		channel, address = "sms", phone
	default:
		return nil
	}
	label := fmt.Sprintf("%07d/%d", number, year)
	body := fmt.Sprintf("La sua istanza «%s» è stata protocollata con il numero %s.", subject, label)
	if emNumber > 0 {
		body = fmt.Sprintf("La sua istanza «%s», registrata il %s nel registro di emergenza con il n. %s/%d/%07d, ha ricevuto il numero di protocollo definitivo %s.",
			subject, regDate, emRegister, emYear, emNumber, label)
	}
	_, err = t.Put("notifications", ids.New(), Fields{"citizen_id": citizenID, "channel": channel, "address": address, "kind": "protocollo_definitivo",
		"subject": "Numero di protocollo " + label, "body": body, "ref_table": "protocol_registrations", "ref_id": registrationID,
		"state": "in_coda", "created_at": t.NowString()})
	return err
}
