package store

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"sportello/internal/application"
	"sportello/internal/hlc"
	"sportello/internal/ids"
)

// ApplyOptions tune how a remote change is merged.
type ApplyOptions struct {
	// RecordConflicts makes the merge write a sync_conflicts row for every
	// concurrent write of the same field with a different value. Only the
	// server records conflicts (it sees every change first), so that each
	// conflict exists once and reaches the replicas like any other row.
	RecordConflicts bool
	// Forward keeps the change's data in sync_changes, for a replica that
	// serves its log to others (the server). A desk replica keeps only the
	// change's origin, which is what makes applying it again a no-op.
	Forward bool
	// Unlogged writes no sync_changes row. Only for a caller that makes the
	// change exactly-once by other means: a desk replica's pull, which
	// applies a page only at the cursor it asked from and moves the cursor
	// in the same transaction.
	Unlogged bool
	// Stable is the stable horizon the writer's initial copy was made at
	// (Tx.StableFor). A write whose base for a field is empty, over a
	// version older than it, was made on a replica whose initial copy left
	// that version out: it saw the value, so it is not concurrent with it.
	Stable string
	// SeenBefore is, on a server restored from a backup, the clock of its
	// first push (Tx.RestoredSince): a change written before it may have
	// been forwarded by the lost server, and seen by the writer of the
	// value it now meets. Every other change reaching the server is new to
	// every other replica (a replica sees a change only through the
	// server, which has it first), so a write that loses to the current
	// value is concurrent with it.
	SeenBefore string
}

// ApplyResult says what applying a remote change did.
type ApplyResult struct {
	Duplicate bool // already applied earlier: nothing done
	Conflicts int  // conflict records written
}

// ErrInvalidChange marks a change that can never be applied (unknown table,
// column, malformed data); the caller refuses it with the message.
var ErrInvalidChange = errors.New("store: invalid change")

// ApplyRemote merges a change that originated on another replica into this
// one, inside the caller's transaction, and records it in sync_changes under
// its origin (so it is never applied twice and the server can forward it).
//
// Merge rules (docs/sync-protocol.md):
//   - append-only tables: the row is inserted if absent, never changed;
//   - other tables, per field: the write with the higher hybrid logical clock
//     wins, whatever order changes arrive in (so every replica converges);
//   - applications.state never moves backwards: the state further along the
//     lifecycle wins, the clock decides only between the two final states;
//   - protocol_interruptions.ended_at is set once: the first value stays;
//   - a write that did not see the version it competes with is concurrent:
//     with different values, the losing value is kept in sync_conflicts.
func (t *Tx) ApplyRemote(c Change, o ApplyOptions) (ApplyResult, error) {
	d, err := DecodeChange(c.Data)
	if err != nil {
		return ApplyResult{}, fmt.Errorf("%w: data: %v", ErrInvalidChange, err)
	}
	return t.ApplyRemoteDecoded(c, d, o)
}

// ApplyRemoteDecoded is ApplyRemote for a caller that decoded the change's
// data ahead, off the writer (the server to check it, a desk's pull
// fetcher); d must be DecodeChange(c.Data).
func (t *Tx) ApplyRemoteDecoded(c Change, d Decoded, o ApplyOptions) (ApplyResult, error) {
	res, err := t.applyRemoteDecoded(c, d, o)
	if err == nil && !res.Duplicate && !o.Forward && MayBeConfidential(c.Table) {
		if err := t.noteSweep(); err != nil {
			return res, err
		}
	}
	if err != nil || res.Duplicate || c.Table == "sync_reverts" || o.Forward {
		return res, err
	}
	// On a replica (the server, which forwards, never waits to remove a
	// row): a change of the row forwarded after its absent revert says the
	// register has the row now (another workstation brought it), so this
	// replica keeps it (RemovalsDue).
	return res, t.keepRemoved(c.Table, c.RowID)
}

func (t *Tx) applyRemoteDecoded(c Change, d Decoded, o ApplyOptions) (ApplyResult, error) {
	data, keys := d.Fields, d.Keys
	var res ApplyResult
	if c.WorkstationID == "" || c.OriginSeq <= 0 {
		return res, fmt.Errorf("%w: missing origin", ErrInvalidChange)
	}
	cols, ok := t.db.cols[c.Table]
	if !ok {
		return res, fmt.Errorf("%w: table %q is not replicated", ErrInvalidChange, c.Table)
	}
	if c.RowID == "" {
		return res, fmt.Errorf("%w: empty row id", ErrInvalidChange)
	}
	if c.Op != "insert" && c.Op != "update" {
		return res, fmt.Errorf("%w: op %q", ErrInvalidChange, c.Op)
	}
	remoteTS, err := hlc.Parse(c.HLC)
	if err != nil {
		return res, fmt.Errorf("%w: %v", ErrInvalidChange, err)
	}
	if len(data) == 0 {
		return res, fmt.Errorf("%w: no columns", ErrInvalidChange)
	}
	for _, k := range keys {
		if !cols[k] || k == "id" {
			return res, fmt.Errorf("%w: table %s has no column %q", ErrInvalidChange, c.Table, k)
		}
	}
	base := map[string]string{}
	if len(c.Base) > 2 {
		if err := json.Unmarshal(c.Base, &base); err != nil {
			return res, fmt.Errorf("%w: base: %v", ErrInvalidChange, err)
		}
	}
	// Recording the change first is also the duplicate check: (origin
	// workstation, origin seq) is unique, so a change seen before inserts nothing.
	if !o.Unlogged {
		r, err := t.exec(`INSERT INTO sync_changes (tx_id, tbl, row_id, op, data, hlc, operator_id, workstation_id, origin_seq, base) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (workstation_id, origin_seq) DO NOTHING`,
			c.TxID, c.Table, c.RowID, c.Op, logged(c.Data, o.Forward), c.HLC, c.OperatorID, c.WorkstationID, c.OriginSeq, logged(c.Base, o.Forward))
		if err != nil {
			return res, fmt.Errorf("store: record remote change: %w", err)
		}
		if n, err := r.RowsAffected(); err != nil {
			return res, fmt.Errorf("store: record remote change: %w", err)
		} else if n == 0 {
			res.Duplicate = true
			return res, nil
		}
	}
	t.db.clock.Observe(remoteTS)

	switch {
	case appendOnly[c.Table]:
		inserted, err := t.insertIfAbsent(c.Table, c.RowID, keys, data)
		if err != nil {
			return res, err
		}
		if inserted && c.Table == "sync_reverts" {
			if err := t.applyRevert(data); err != nil {
				return res, err
			}
		}
		if c.Table == "reclassifications" && !o.Forward {
			// An application made confidential: a replica outside that
			// scope removes it (WithdrawalsDue). Also when the record is
			// here already: a restored server that had lost it forwards
			// it again once a workstation gave it back, and may have
			// forwarded rows of the application meanwhile.
			if app, _ := data["application_id"].(string); app != "" {
				if err := t.queueWithdrawal(app); err != nil {
					return res, err
				}
			}
		}
	case c.Op == "insert":
		// Fast path: a row nobody has yet is inserted whole, with no reads,
		// its versions in the row when they fit there.
		r := d.ready
		if r == nil || r.table != c.Table || r.rowID != c.RowID || r.hlc != c.HLC || len(base) != 0 {
			r = t.db.readyInsertOf(c, keys, data, len(base) == 0)
		}
		rowHLC := ""
		if r.inRow {
			rowHLC = c.HLC
		}
		inserted, err := t.execInsertIfAbsent(c.Table, c.RowID, r.query, r.args)
		if err != nil {
			return res, err
		}
		if !inserted {
			if err := t.mergeFields(c, keys, data, base, o, &res); err != nil {
				return res, err
			}
			break
		}
		if rowHLC == "" {
			if err := t.writeInsertVersions(c, keys, data, base); err != nil {
				return res, err
			}
		}
	default:
		if err := t.mergeFields(c, keys, data, base, o, &res); err != nil {
			return res, err
		}
	}
	return res, nil
}

// writeInsertVersions records the field versions of a row just inserted
// whole: every non-empty column was written by the change.
func (t *Tx) writeInsertVersions(c Change, keys []string, data Fields, base map[string]string) error {
	if len(base) == 0 {
		// The common case: one version shared by the written columns.
		written := make([]string, 0, len(keys))
		for _, k := range keys {
			if !emptyValue(data[k]) {
				written = append(written, k)
			}
		}
		if len(written) >= 2 {
			if b, ok := encodeInserted(c.HLC, written, t.db.vcols[c.Table]); ok {
				return t.putVersions(c.Table, c.RowID, b, c.HLC)
			}
		}
	}
	versions := map[string]fieldVersion{}
	for _, k := range keys {
		if !emptyValue(data[k]) {
			versions[k] = fieldVersion{H: c.HLC, B: base[k]}
		}
	}
	return t.writeVersions(c.Table, c.RowID, versions, false)
}

// logged is what sync_changes keeps of a remote change's data or base: all
// of it when the change is forwarded, else an empty object.
func logged(b json.RawMessage, forward bool) string {
	if len(b) == 0 || !forward {
		return "{}"
	}
	return string(b)
}

// insertIfAbsent inserts the row unless its id exists; it reports whether it
// did. keys are f's columns, sorted.
func (t *Tx) insertIfAbsent(table, id string, keys []string, f Fields) (bool, error) {
	return t.insertIfAbsentAt(table, id, keys, f, "")
}

// insertIfAbsentAt is insertIfAbsent that also sets the row's sync_hlc
// (its in-row field versions) when rowHLC is not empty.
func (t *Tx) insertIfAbsentAt(table, id string, keys []string, f Fields, rowHLC string) (bool, error) {
	q, args := insertIfAbsentQuery(table, id, keys, f, rowHLC)
	return t.execInsertIfAbsent(table, id, q, args)
}

// insertIfAbsentQuery is the statement insertIfAbsentAt runs, with its
// arguments.
func insertIfAbsentQuery(table, id string, keys []string, f Fields, rowHLC string) (string, []any) {
	args := make([]any, 0, len(keys)+2)
	args = append(args, id)
	for _, k := range keys {
		args = append(args, f[k])
	}
	if rowHLC != "" {
		args = append(args, rowHLC)
	}
	return insertQuery(table, keys, rowHLC != "", ` ON CONFLICT (id) DO NOTHING`), args
}

// readyInsert is the INSERT of a remote change's row, built ahead of the
// write transaction by DB.PrepareInsert.
type readyInsert struct {
	table, rowID, hlc string // the change it was built for
	query             string
	args              []any
	inRow             bool // the row keeps its field versions (sync_hlc = the change's clock)
}

// PrepareInsert builds, outside the write transaction, the statement that
// inserts the row of a remote insert d decodes (DecodeChange(c.Data)), so
// that applying it on the writer does not build it: the column list, the
// arguments and whether the row can keep its field versions in itself.
// Nothing is checked here: ApplyRemoteDecoded checks the change as always
// and uses the statement only for the change it was built for.
func (db *DB) PrepareInsert(c Change, d *Decoded) {
	d.ready = nil
	if c.Op == "insert" && !appendOnly[c.Table] && len(c.Base) <= 2 && len(d.Fields) > 0 {
		d.ready = db.readyInsertOf(c, d.Keys, d.Fields, true)
	}
}

// readyInsertOf builds the insert of c's row (keys are f's columns,
// sorted); the row keeps its field versions in itself when inRowAllowed
// (the change has no base) and the values allow it (inRowVersions).
func (db *DB) readyInsertOf(c Change, keys []string, f Fields, inRowAllowed bool) *readyInsert {
	rowHLC := ""
	if inRowAllowed && db.inRowVersions(c.Table, keys, f) {
		rowHLC = c.HLC
	}
	q, args := insertIfAbsentQuery(c.Table, c.RowID, keys, f, rowHLC)
	return &readyInsert{table: c.Table, rowID: c.RowID, hlc: c.HLC, query: q, args: args, inRow: rowHLC != ""}
}

// execInsertIfAbsent runs an insertIfAbsentQuery and reports whether it
// inserted the row.
func (t *Tx) execInsertIfAbsent(table, id, q string, args []any) (bool, error) {
	r, err := t.exec(q, args...)
	if err != nil {
		return false, fmt.Errorf("store: apply insert into %s %s: %w", table, id, err)
	}
	affected, err := r.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: apply insert into %s %s: %w", table, id, err)
	}
	return affected == 1, nil
}

// insertQuery is the INSERT of a row's id and columns keys (with its
// sync_hlc when withRowHLC), followed by suffix.
func insertQuery(table string, keys []string, withRowHLC bool, suffix string) string {
	n := len(keys)
	if withRowHLC {
		n++
	}
	var q strings.Builder
	q.Grow(64 + len(table) + len(suffix) + n*24)
	q.WriteString(`INSERT INTO `)
	q.WriteString(table)
	q.WriteString(` (id`)
	for _, k := range keys {
		q.WriteString(`, `)
		q.WriteString(k)
	}
	if withRowHLC {
		q.WriteString(`, ` + rowHLCColumn)
	}
	q.WriteString(`) VALUES (?`)
	for range n {
		q.WriteString(`, ?`)
	}
	q.WriteString(`)`)
	q.WriteString(suffix)
	return q.String()
}

func (t *Tx) currentValues(table, id string, keys []string) (map[string]any, bool, error) {
	vals := make([]any, len(keys))
	ptrs := make([]any, len(keys))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	err := t.queryRow(`SELECT `+strings.Join(keys, ", ")+` FROM `+table+` WHERE id = ?`, id).Scan(ptrs...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("store: read %s %s: %w", table, id, err)
	}
	out := map[string]any{}
	for i, k := range keys {
		v, _ := normalize(vals[i])
		out[k] = v
	}
	return out, true, nil
}

func (t *Tx) mergeFields(c Change, keys []string, data Fields, base map[string]string, o ApplyOptions, res *ApplyResult) error {
	current, exists, err := t.currentValues(c.Table, c.RowID, keys)
	if err != nil {
		return err
	}
	versions, inRow, err := t.readVersions(c.Table, c.RowID)
	if err != nil {
		return err
	}
	win := Fields{}
	for _, k := range keys {
		remote := data[k]
		cur, has := versions[k]
		local := current[k]
		emptyInsert := c.Op == "insert" && emptyValue(remote)
		if !exists {
			win[k] = remote
			if !emptyInsert {
				versions[k] = fieldVersion{H: c.HLC, B: base[k]}
			}
			continue
		}
		if emptyInsert {
			continue // two replicas created the same row: an empty value never erases a real one
		}
		// With no version for the field (an initial copy left out the
		// row's stable versions: every write still to come is later), the
		// remote write wins by the clock; the value rules below still hold.
		remoteWins := !has || c.HLC > cur.H
		decided, wins := valueRule(c.Table, k, local, remote)
		if decided {
			remoteWins = wins
		}
		if !has {
			if remoteWins {
				win[k] = remote
				versions[k] = fieldVersion{H: c.HLC, B: base[k]}
			}
			continue
		}
		// Concurrent: the later writer did not overwrite the earlier one's version.
		// An update with no base over a version below the stable horizon
		// comes from a replica whose initial copy held the value without its
		// version: it saw it. An insert never saw it, whatever the horizon:
		// its replica did not have the row (two desks created the same
		// citizen, one of them before pulling the other's).
		sawStable := c.Op == "update" && base[k] == "" && o.Stable != "" && cur.H < o.Stable
		// A losing write is concurrent with the winner unless the winner's
		// chain of writes passed through it. The server receives a write
		// before anybody can see it, so no write already there saw the one
		// arriving now — unless a server since lost forwarded it: then
		// only the last link is known (the winner overwrote it directly,
		// or overwrote a write older than it).
		maybeSeen := o.SeenBefore != "" && c.HLC < o.SeenBefore
		concurrent := (remoteWins && base[k] != cur.H && !sawStable) ||
			(!remoteWins && cur.B != c.HLC && (cur.B < c.HLC || !maybeSeen))
		if concurrent && !sameValue(local, remote) && o.RecordConflicts && !bookkeeping[k] {
			winVal, winTS, loseVal, loseTS, loser := remote, c.HLC, local, cur.H, originOf(cur.H)
			if !remoteWins {
				winVal, winTS, loseVal, loseTS, loser = local, cur.H, remote, c.HLC, c.WorkstationID
			}
			if err := t.recordConflict(c.Table, c.RowID, k, winVal, winTS, loseVal, loseTS, loser); err != nil {
				return err
			}
			res.Conflicts++
		}
		// The field's version is its winning write's, also when a value
		// rule let an earlier write win (a state further along): a later
		// write of the same phase is then judged against the write whose
		// value the field holds, as on every replica whatever the order
		// the writes arrived in.
		if remoteWins && (c.HLC > cur.H || decided) {
			versions[k] = fieldVersion{H: c.HLC, B: base[k]}
		}
		if remoteWins && !sameValue(local, remote) {
			win[k] = remote
		}
	}
	if len(win) > 0 {
		wkeys := make([]string, 0, len(win))
		for k := range win {
			wkeys = append(wkeys, k)
		}
		sort.Strings(wkeys)
		if !exists {
			if _, err := t.insertIfAbsent(c.Table, c.RowID, wkeys, win); err != nil {
				return err
			}
		} else {
			sets := make([]string, len(wkeys))
			args := make([]any, 0, len(wkeys)+1)
			for i, k := range wkeys {
				sets[i] = k + " = ?"
				args = append(args, win[k])
			}
			args = append(args, c.RowID)
			if _, err := t.exec(`UPDATE `+c.Table+` SET `+strings.Join(sets, ", ")+` WHERE id = ?`, args...); err != nil {
				return fmt.Errorf("store: apply update to %s %s: %w", c.Table, c.RowID, err)
			}
			if err := t.refreshDerived(c.Table, c.RowID, wkeys); err != nil {
				return err
			}
		}
	}
	return t.writeVersions(c.Table, c.RowID, versions, inRow)
}

// valueRule decides a merge by the values instead of the clocks, for the
// fields whose rule says so; decided is false for every other field.
//   - applications.state: bozza and completa alternate (an edit after the
//     check goes back to bozza), so between them the later write wins like
//     any field; from protocollata on the lifecycle only moves forward: the
//     state further along wins whatever the clocks (a total order on
//     writes, so every replica ends with the same state);
//   - protocol_interruptions.ended_at/ended_by: set once, the first stays;
//   - applications.confidential: once set (Reclassify), it stays.
func valueRule(table, col string, local, remote any) (decided, remoteWins bool) {
	switch {
	case table == "applications" && col == "state":
		ls, rs := application.State(fmt.Sprint(local)), application.State(fmt.Sprint(remote))
		if lp, rp := statePhase(ls), statePhase(rs); lp != rp {
			return true, rp > lp
		}
	case table == "protocol_interruptions" && (col == "ended_at" || col == "ended_by"):
		return true, local == "" || local == nil
	case table == "applications" && col == "confidential":
		// Made confidential (Reclassify), an application stays so.
		if l, r := flagValue(local), flagValue(remote); l != r {
			return true, r
		}
	}
	return false, false
}

// flagValue reads a 0/1 column's value, as stored or as a change carries it.
func flagValue(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case int64:
		return x != 0
	case float64:
		return x != 0
	case string:
		return x == "1" || x == "true"
	}
	return false
}

func sameValue(a, b any) bool {
	na, _ := normalize(a)
	nb, _ := normalize(b)
	return fmt.Sprint(na) == fmt.Sprint(nb) && (na == nil) == (nb == nil)
}

// originOf extracts the node (workstation) from an HLC string.
func originOf(ts string) string {
	if p, err := hlc.Parse(ts); err == nil {
		return p.Node
	}
	return ""
}

func (t *Tx) recordConflict(table, rowID, col string, winVal any, winTS string, loseVal any, loseTS, loser string) error {
	wv, err := json.Marshal(winVal)
	if err != nil {
		return fmt.Errorf("store: encode conflict: %w", err)
	}
	lv, err := json.Marshal(loseVal)
	if err != nil {
		return fmt.Errorf("store: encode conflict: %w", err)
	}
	// The same two writes make the same record: a server restored from a
	// backup that merges them again finds the record the workstations
	// gave back (RecoverConflict), or gives it the same identity.
	id := ids.Derived("sync_conflicts", table, rowID, col, min(winTS, loseTS), max(winTS, loseTS))
	var exists bool
	if err := t.queryRow(`SELECT EXISTS (SELECT 1 FROM sync_conflicts WHERE id = ?)`, id).Scan(&exists); err != nil {
		return fmt.Errorf("store: read conflict: %w", err)
	}
	if exists {
		return nil
	}
	_, err = t.Put("sync_conflicts", id, Fields{"tbl": table, "row_id": rowID, "col": col, "winner_value": string(wv), "winner_hlc": winTS,
		"loser_value": string(lv), "loser_hlc": loseTS, "loser_origin": loser, "detected_at": t.NowString()})
	return err
}

// statePhase orders application states for the merge: bozza and completa
// are one phase (the clock decides between them), every later state is
// further along than both and than the states before it.
func statePhase(s application.State) int {
	if s.Rank() <= application.Completa.Rank() {
		return 0
	}
	return s.Rank()
}

// bookkeeping columns are set by the program, not typed by a person (or are
// derived from columns that are): their concurrent writes are merged by the
// clock like any other but never shown as conflicts.
var bookkeeping = map[string]bool{"updated_at": true, "created_at": true, "search_name": true, "doc_number_folded": true, "privacy_consent_at": true}
