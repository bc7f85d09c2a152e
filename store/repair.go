package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// A change the server refuses (sync_rejections) stays in the replica that
// made it: that replica alone shows the refused value, or a record nobody
// else has. Repair brings such a row back to the server's copy, and only
// the part of it that still holds the refused write: a field written again
// on the replica since keeps the newer value, which travels with the next
// push like any other change.

// FieldVersion is a field's version as RowState carries it: the clock of
// the write that set the value and of the value it overwrote.
type FieldVersion = fieldVersion

// RowState is one row as the server holds it, for a workstation that must
// bring its own copy back to it: its values (every column but id, encoded
// as a change's data) and field versions, or Exists false when the server
// has no such row (or none the workstation may read).
type RowState struct {
	OriginSeq int64                   `json:"origin_seq"` // the refused change it answers for
	Table     string                  `json:"table"`
	RowID     string                  `json:"row_id"`
	Exists    bool                    `json:"exists"`
	Data      json.RawMessage         `json:"data,omitempty"`
	Versions  map[string]FieldVersion `json:"versions,omitempty"`
}

// RefusedRowStates answers a workstation that asks for the server's copy of
// the rows of its refused changes (by origin seq): only changes the server
// recorded as refused for that workstation are answered (others are left
// out), and a row the workstation may not read (hideConfidential) is given
// as absent, as the pull leaves it out. One consistent snapshot.
func (db *DB) RefusedRowStates(ctx context.Context, workstationID string, originSeqs []int64, hideConfidential bool) ([]RowState, error) {
	var out []RowState
	err := db.Read(ctx, func(q Querier) error {
		for _, seq := range originSeqs {
			st := RowState{OriginSeq: seq}
			err := q.QueryRow(`SELECT tbl, row_id FROM sync_rejections WHERE workstation_id = ? AND origin_seq = ?`, workstationID, seq).Scan(&st.Table, &st.RowID)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return fmt.Errorf("store: read refused change %d: %w", seq, err)
			}
			if err := db.fillRowState(q, &st, hideConfidential); err != nil {
				return err
			}
			out = append(out, st)
		}
		return nil
	})
	return out, err
}

// fillRowState reads st's row into it.
func (db *DB) fillRowState(q Querier, st *RowState, hideConfidential bool) error {
	cols, ok := db.vcols[st.Table]
	if !ok {
		return nil // a table this schema does not replicate: nothing to give
	}
	if hideConfidential {
		conf, err := RowConfidentialQ(q, st.Table, st.RowID, nil)
		if err != nil {
			return err
		}
		if conf {
			return nil
		}
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	err := q.QueryRow(`SELECT `+strings.Join(cols, ", ")+` FROM `+st.Table+` WHERE id = ?`, st.RowID).Scan(ptrs...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: read %s %s: %w", st.Table, st.RowID, err)
	}
	f := Fields{}
	for i, c := range cols {
		v, err := normalize(vals[i])
		if err != nil {
			return fmt.Errorf("store: read %s %s: %s: %w", st.Table, st.RowID, c, err)
		}
		f[c] = v
	}
	if st.Data, err = json.Marshal(f); err != nil {
		return fmt.Errorf("store: encode %s %s: %w", st.Table, st.RowID, err)
	}
	if !appendOnly[st.Table] {
		if st.Versions, _, err = db.readVersions(q, st.Table, st.RowID); err != nil {
			return err
		}
	}
	st.Exists = true
	return nil
}

// RepairOutcome says what RepairRefused did to the replica's row.
type RepairOutcome string

const (
	RepairRestored  RepairOutcome = "restored"  // the refused fields hold the server's values again
	RepairRemoved   RepairOutcome = "removed"   // the server has no such row: the replica's is gone
	RepairUnchanged RepairOutcome = "unchanged" // nothing of the refused write is left to undo
	RepairLater     RepairOutcome = "later"     // written again since: the newer write decides
	RepairBlocked   RepairOutcome = "blocked"   // rows of this replica still refer to it (kept)
)

// repairDeleteKey is set in local_meta, inside the repair's transaction
// only, while it removes a refused row of an append-only table: the
// tables' no-delete triggers (migration 0009) let that one delete through.
// The server never sets it.
const repairDeleteKey = "sync_repair_delete"

// RepairRefused brings this replica's copy of the row of its own refused
// change originSeq back to the server's copy st, and writes an audit entry
// of what it did. It records no change to push: the server already holds
// st. Fields written again here after the refused change keep their newer
// value; a row the server does not have is removed unless a later local
// write or a row of this replica still needs it. Running it again is
// harmless.
func (t *Tx) RepairRefused(originSeq int64, st RowState) (RepairOutcome, error) {
	var c Change
	var data string
	err := t.queryRow(`SELECT tbl, row_id, op, data, hlc FROM sync_changes WHERE workstation_id = ? AND origin_seq = ?`, t.db.wsID, originSeq).
		Scan(&c.Table, &c.RowID, &c.Op, &data, &c.HLC)
	if errors.Is(err, sql.ErrNoRows) {
		return RepairUnchanged, nil
	}
	if err != nil {
		return "", fmt.Errorf("store: read refused change %d: %w", originSeq, err)
	}
	if c.Table != st.Table || c.RowID != st.RowID {
		return "", fmt.Errorf("store: refused change %d is %s %s, the server answered for %s %s", originSeq, c.Table, c.RowID, st.Table, st.RowID)
	}
	if _, ok := t.db.cols[c.Table]; !ok {
		return "", fmt.Errorf("%w: table %q is not replicated", ErrInvalidChange, c.Table)
	}
	var out RepairOutcome
	if appendOnly[c.Table] {
		out, err = t.repairAppendOnly(c, st)
	} else {
		out, err = t.repairFields(c, data, st)
	}
	if err != nil || out == RepairBlocked {
		return out, err // nothing done (yet)
	}
	note, err := json.Marshal(map[string]any{"origin_seq": originSeq, "outcome": out})
	if err != nil {
		return "", fmt.Errorf("store: encode repair: %w", err)
	}
	return out, t.Audit("sync_repair", c.Table, c.RowID, string(note), "")
}

// repairAppendOnly: a row written once is the server's or not there at all.
func (t *Tx) repairAppendOnly(c Change, st RowState) (RepairOutcome, error) {
	if st.Exists {
		return RepairUnchanged, nil
	}
	return t.removeRow(c.Table, c.RowID)
}

// removeRow deletes a row the server does not have, with its versions; a
// row still referred to by others of this replica is kept (RepairBlocked).
func (t *Tx) removeRow(table, id string) (RepairOutcome, error) {
	var exists bool
	if err := t.queryRow(`SELECT EXISTS (SELECT 1 FROM `+table+` WHERE id = ?)`, id).Scan(&exists); err != nil {
		return "", fmt.Errorf("store: read %s %s: %w", table, id, err)
	}
	if !exists {
		return RepairUnchanged, nil
	}
	blocked := false
	err := t.Savepoint(func() error {
		if table == "protocol_registrations" {
			if err := t.keepEmergencyNumber(id); err != nil {
				return err
			}
		}
		if err := t.SetMeta(repairDeleteKey, "1"); err != nil {
			return err
		}
		if _, err := t.exec(`DELETE FROM `+table+` WHERE id = ?`, id); err != nil {
			if strings.Contains(err.Error(), "FOREIGN KEY") {
				blocked = true
			}
			return fmt.Errorf("store: remove refused %s %s: %w", table, id, err)
		}
		if _, err := t.exec(`DELETE FROM sync_versions WHERE tbl = ? AND row_id = ?`, table, id); err != nil {
			return fmt.Errorf("store: remove versions of %s %s: %w", table, id, err)
		}
		if _, err := t.exec(`DELETE FROM local_meta WHERE key = ?`, repairDeleteKey); err != nil {
			return fmt.Errorf("store: write meta %s: %w", repairDeleteKey, err)
		}
		return nil
	})
	if blocked {
		return RepairBlocked, nil
	}
	if err != nil {
		return "", err
	}
	return RepairRemoved, nil
}

// repairFields puts back, field by field, the server's value and version
// of every field that still holds the refused write.
func (t *Tx) repairFields(c Change, data string, st RowState) (RepairOutcome, error) {
	d, err := DecodeChange(json.RawMessage(data))
	if err != nil {
		return "", fmt.Errorf("store: decode refused change of %s %s: %w", c.Table, c.RowID, err)
	}
	versions, inRow, err := t.readVersions(c.Table, c.RowID)
	if err != nil {
		return "", err
	}
	if !st.Exists {
		for _, v := range versions {
			if v.H > c.HLC {
				return RepairLater, nil // a later write is still to be pushed (and judged)
			}
		}
		return t.removeRow(c.Table, c.RowID)
	}
	server, err := DecodeFields(st.Data)
	if err != nil {
		return "", fmt.Errorf("store: decode server copy of %s %s: %w", c.Table, c.RowID, err)
	}
	_, exists, err := t.currentValues(c.Table, c.RowID, []string{"id"})
	if err != nil {
		return "", err
	}
	if !exists {
		keys := make([]string, 0, len(server))
		for k := range server {
			if !t.db.cols[c.Table][k] || k == "id" {
				return "", fmt.Errorf("%w: table %s has no column %q", ErrInvalidChange, c.Table, k)
			}
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if _, err := t.insertIfAbsent(c.Table, c.RowID, keys, server); err != nil {
			return "", err
		}
		return RepairRestored, t.writeVersions(c.Table, c.RowID, st.Versions, false)
	}
	var fix []string
	later := false
	for _, k := range d.Keys {
		if v, has := versions[k]; has && v.H != c.HLC {
			later = later || v.H > c.HLC
			continue // written again since, or never by this change (an empty insert value)
		}
		if !t.db.cols[c.Table][k] {
			return "", fmt.Errorf("%w: table %s has no column %q", ErrInvalidChange, c.Table, k)
		}
		fix = append(fix, k)
	}
	if len(fix) == 0 {
		if later {
			return RepairLater, nil
		}
		return RepairUnchanged, nil
	}
	sets := make([]string, len(fix))
	args := make([]any, 0, len(fix)+1)
	for i, k := range fix {
		sets[i] = k + " = ?"
		args = append(args, server[k])
		if v, ok := st.Versions[k]; ok {
			versions[k] = v
		} else {
			delete(versions, k)
		}
	}
	args = append(args, c.RowID)
	if _, err := t.exec(`UPDATE `+c.Table+` SET `+strings.Join(sets, ", ")+` WHERE id = ?`, args...); err != nil {
		return "", fmt.Errorf("store: restore %s %s: %w", c.Table, c.RowID, err)
	}
	if err := t.refreshDerived(c.Table, c.RowID, fix); err != nil {
		return "", err
	}
	return RepairRestored, t.writeVersions(c.Table, c.RowID, versions, inRow)
}

// repairStands is the condition, on a change c of this replica's log
// (sync_changes; ?1 is this workstation), that a repair undid it
// (RepairRefused) and no rejoin applied it again since (ReapplyRepaired):
// the latest of those audit entries about it is a repair.
const repairStands = `COALESCE((SELECT action FROM audit_log WHERE workstation_id = ?1 AND action IN ('sync_repair', 'sync_reapply')
	AND tbl = c.tbl AND row_id = c.row_id AND CAST(json_extract(data, '$.origin_seq') AS INTEGER) = c.origin_seq ORDER BY seq DESC LIMIT 1), '') = 'sync_repair'`

// ReapplyRepaired applies again, on this replica, its own changes with
// origin seq > after that a repair undid (RepairRefused), in their order.
// A workstation that rejoins a server restored from a backup pushes those
// changes again, and the restored server judges them afresh: accepted,
// they must be here too; refused again, they are repaired again.
func (t *Tx) ReapplyRepaired(after int64) (int, error) {
	rows, err := t.query(`SELECT origin_seq FROM sync_changes c WHERE workstation_id = ?1 AND origin_seq > ?2
		AND origin_seq IN (SELECT CAST(json_extract(data, '$.origin_seq') AS INTEGER) FROM audit_log WHERE workstation_id = ?1 AND action = 'sync_repair')
		AND `+repairStands+` ORDER BY origin_seq`, t.db.wsID, after)
	seqs, err := collect(rows, err, "repaired changes", func(rows *sql.Rows, s *int64) error { return rows.Scan(s) })
	if err != nil {
		return 0, err
	}
	for _, s := range seqs {
		var c Change
		var data, base string
		err := t.queryRow(`SELECT `+changeCols+` FROM sync_changes WHERE workstation_id = ? AND origin_seq = ?`, t.db.wsID, s).
			Scan(&c.Seq, &c.TxID, &c.Table, &c.RowID, &c.Op, &data, &c.HLC, &c.OperatorID, &c.WorkstationID, &c.OriginSeq, &base)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("store: repaired change %d: %w", s, err)
		}
		c.Data, c.Base = json.RawMessage(data), json.RawMessage(base)
		if err := t.Savepoint(func() error {
			_, err := t.ApplyRemote(c, ApplyOptions{Unlogged: true})
			return err
		}); err != nil {
			// Kept undone (a row it needs is gone): the push still carries
			// it, and a refusal repairs it again.
			continue
		}
		// The repair no longer stands (mergeOwnWrites).
		if err := t.Audit("sync_reapply", c.Table, c.RowID, fmt.Sprintf(`{"origin_seq":%d}`, s), ""); err != nil {
			return 0, err
		}
	}
	return len(seqs), nil
}

// LastOwnSeq is the origin seq of this replica's latest own change (its
// floor when it has made none since its initial copy, 0 when none).
func (t *Tx) LastOwnSeq() (int64, error) { return lastOwnSeq(t, t.db.wsID) }
