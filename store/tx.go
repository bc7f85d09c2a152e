package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"sportello/internal/audit"
	"sportello/internal/ids"
)

// Actor is who makes a change: the logged-in operator ("" for the system,
// e.g. demo seeding or migrations of data).
type Actor struct {
	OperatorID string
}

// Tx is one write transaction. Every replicated write made through Put or
// Insert is recorded in sync_changes and in the audit log inside the same
// SQLite transaction, so a change and its record commit or vanish together.
type Tx struct {
	ctx   context.Context
	tx    *sql.Tx
	db    *DB
	id    string
	actor Actor
	now   time.Time

	auditSeq  int64
	auditHead string
	auditRead bool

	unprepared []string             // queries to cache after the transaction
	local      map[string]*sql.Stmt // statements bound to this transaction
	originNext int64                // last origin seq used by this transaction (0 = not read yet)
	// removals: whether sync_pending_removals has rows, read once per
	// transaction (0 = not read yet, 1 = none, 2 = some).
	removals int8
	// sweep: whether a pulled row of a record that may be confidential
	// calls for looking again at the applications reclassified here
	// (noteSweep; 0 = not decided yet, 1 = no, 2 = noted).
	sweep int8
}

// Write runs fn in one write transaction (BEGIN IMMEDIATE on the single
// writer connection). The transaction commits only if fn returns nil; once
// Write returns nil the change is durable (synchronous=FULL) and may be
// confirmed to the operator.
func (db *DB) Write(ctx context.Context, actor Actor, fn func(*Tx) error) error {
	sqlTx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	t := &Tx{ctx: ctx, tx: sqlTx, db: db, id: ids.New(), actor: actor, now: db.now().UTC()}
	if err := fn(t); err != nil {
		if rbErr := sqlTx.Rollback(); rbErr != nil {
			return errors.Join(err, fmt.Errorf("store: rollback: %w", rbErr))
		}
		return err
	}
	if _, err := sqlTx.ExecContext(ctx, `INSERT INTO local_meta(key, value) VALUES ('hlc', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`,
		db.clock.Last().String()); err != nil {
		sqlTx.Rollback()
		return fmt.Errorf("store: persist clock: %w", err)
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	if len(t.unprepared) > 0 {
		db.cacheStatements(ctx, t.unprepared)
	}
	return nil
}

// Savepoint runs fn inside a SAVEPOINT: if fn fails, what it wrote is undone
// and the rest of the transaction goes on. The sync server uses it so that
// one refused change never affects the rest of a batch.
func (t *Tx) Savepoint(fn func() error) error {
	if _, err := t.exec(`SAVEPOINT change`); err != nil {
		return fmt.Errorf("store: savepoint: %w", err)
	}
	seq, head, read, origin := t.auditSeq, t.auditHead, t.auditRead, t.originNext
	if err := fn(); err != nil {
		t.auditSeq, t.auditHead, t.auditRead, t.originNext = seq, head, read, origin
		if _, rbErr := t.exec(`ROLLBACK TO change`); rbErr != nil {
			return errors.Join(err, fmt.Errorf("store: rollback to savepoint: %w", rbErr))
		}
		if _, rbErr := t.exec(`RELEASE change`); rbErr != nil {
			return errors.Join(err, fmt.Errorf("store: release savepoint: %w", rbErr))
		}
		return err
	}
	if _, err := t.exec(`RELEASE change`); err != nil {
		return fmt.Errorf("store: release savepoint: %w", err)
	}
	return nil
}

// Now is the transaction's timestamp (UTC), the same for every row it writes.
func (t *Tx) Now() time.Time { return t.now }

// NowString is Now formatted as stored (RFC 3339, UTC, milliseconds).
func (t *Tx) NowString() string { return FormatInstant(t.now) }

// Actor returns who is writing.
func (t *Tx) Actor() Actor { return t.actor }

// DB returns the database the transaction belongs to.
func (t *Tx) DB() *DB { return t.db }

// FormatInstant is the storage format of instants.
func FormatInstant(ts time.Time) string { return ts.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// stmt returns a prepared statement for query. Statements are cached on the
// writer pool, whose single connection is held by the running transaction:
// a statement not yet cached is prepared inside the transaction this time
// and cached on the pool once the transaction has released the connection.
//
// The transaction keeps the statements it used, so a statement run once per
// change of a large batch is looked up, bound to the transaction or
// prepared only once.
func (t *Tx) stmt(query string) (*sql.Stmt, error) {
	if st, ok := t.local[query]; ok {
		return st, nil
	}
	t.db.stmtMu.Lock()
	st, ok := t.db.stmts[query]
	t.db.stmtMu.Unlock()
	if ok {
		st = t.tx.StmtContext(t.ctx, st)
	} else {
		var err error
		if st, err = t.tx.PrepareContext(t.ctx, query); err != nil {
			return nil, err
		}
		t.unprepared = append(t.unprepared, query)
	}
	if t.local == nil {
		t.local = map[string]*sql.Stmt{}
	}
	t.local[query] = st
	return st, nil
}

// cacheStatements prepares, outside any transaction, the statements the last
// transaction used for the first time.
func (db *DB) cacheStatements(ctx context.Context, queries []string) {
	for _, q := range queries {
		db.stmtMu.Lock()
		_, ok := db.stmts[q]
		db.stmtMu.Unlock()
		if ok {
			continue
		}
		st, err := db.w.PrepareContext(ctx, q)
		if err != nil {
			continue // not cached: the next transaction prepares it again
		}
		db.stmtMu.Lock()
		if db.stmts == nil {
			st.Close()
		} else {
			db.stmts[q] = st
		}
		db.stmtMu.Unlock()
	}
}

func (t *Tx) exec(query string, args ...any) (sql.Result, error) {
	st, err := t.stmt(query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(t.ctx, args...)
}

func (t *Tx) queryRow(query string, args ...any) RowScanner {
	st, err := t.stmt(query)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(t.ctx, args...)
}

func (t *Tx) query(query string, args ...any) (*sql.Rows, error) {
	st, err := t.stmt(query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(t.ctx, args...)
}

// RowScanner is a single-row query result.
type RowScanner interface{ Scan(dest ...any) error }

// Querier runs single-row queries; both write transactions and Read's
// read-only transactions implement it.
type Querier interface {
	QueryRow(query string, args ...any) RowScanner
}

// QueryRow runs a single-row query inside the write transaction.
func (t *Tx) QueryRow(query string, args ...any) RowScanner { return t.queryRow(query, args...) }

type readTx struct {
	ctx context.Context
	tx  *sql.Tx
}

func (r readTx) QueryRow(query string, args ...any) RowScanner {
	return r.tx.QueryRowContext(r.ctx, query, args...)
}

// Read runs fn in one read-only transaction of the reader pool, so all its
// queries see the same snapshot.
func (db *DB) Read(ctx context.Context, fn func(Querier) error) error {
	tx, err := db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("store: begin read: %w", err)
	}
	defer tx.Rollback()
	return fn(readTx{ctx: ctx, tx: tx})
}

type errRow struct{ err error }

func (e errRow) Scan(...any) error { return e.err }

// Fields are column values of one row. Values are string, bool, int, int64,
// float64, nil or []byte.
type Fields map[string]any

func normalize(v any) (any, error) {
	switch x := v.(type) {
	case nil, string, int64, float64:
		return x, nil
	case bool:
		if x {
			return int64(1), nil
		}
		return int64(0), nil
	case int:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case []byte:
		return string(x), nil
	case *string:
		if x == nil {
			return nil, nil
		}
		return *x, nil
	default:
		return nil, fmt.Errorf("unsupported value type %T", v)
	}
}

func (t *Tx) checkColumns(table string, f Fields) ([]string, error) {
	cols, ok := t.db.cols[table]
	if !ok {
		return nil, fmt.Errorf("store: %q is not a replicated table", table)
	}
	keys := make([]string, 0, len(f))
	for k, v := range f {
		if !cols[k] || k == "id" {
			return nil, fmt.Errorf("store: table %s has no writable column %q", table, k)
		}
		nv, err := normalize(v)
		if err != nil {
			return nil, fmt.Errorf("store: %s.%s: %w", table, k, err)
		}
		f[k] = nv
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys, nil
}

// Put creates the row or updates the given columns of it, recording only the
// columns whose value actually changes (so that sync can merge concurrent
// edits of different fields). updated_at is maintained automatically when the
// table has it. It reports whether anything changed.
func (t *Tx) Put(table, id string, f Fields) (bool, error) {
	if id == "" {
		return false, fmt.Errorf("store: %s: empty id", table)
	}
	delete(f, "updated_at")
	keys, err := t.checkColumns(table, f)
	if err != nil {
		return false, err
	}
	hasUpdated := t.db.cols[table]["updated_at"]
	if len(keys) == 0 {
		return false, fmt.Errorf("store: %s %s: nothing to write", table, id)
	}
	old := make([]any, len(keys))
	ptrs := make([]any, len(keys))
	for i := range old {
		ptrs[i] = &old[i]
	}
	err = t.queryRow(`SELECT `+strings.Join(keys, ", ")+` FROM `+table+` WHERE id = ?`, id).Scan(ptrs...)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if hasUpdated {
			f["updated_at"] = t.NowString()
			keys = append(keys, "updated_at")
		}
		return true, t.insert(table, id, keys, f, "insert")
	case err != nil:
		return false, fmt.Errorf("store: read %s %s: %w", table, id, err)
	}
	changed := Fields{}
	var ckeys []string
	for i, k := range keys {
		ov, _ := normalize(old[i])
		if ov != f[k] {
			changed[k] = f[k]
			ckeys = append(ckeys, k)
		}
	}
	if len(ckeys) == 0 {
		return false, nil
	}
	if hasUpdated {
		changed["updated_at"] = t.NowString()
		ckeys = append(ckeys, "updated_at")
	}
	sets := make([]string, len(ckeys))
	args := make([]any, 0, len(ckeys)+1)
	for i, k := range ckeys {
		sets[i] = k + " = ?"
		args = append(args, changed[k])
	}
	args = append(args, id)
	if _, err := t.exec(`UPDATE `+table+` SET `+strings.Join(sets, ", ")+` WHERE id = ?`, args...); err != nil {
		return false, fmt.Errorf("store: update %s %s: %w", table, id, err)
	}
	if err := t.refreshDerived(table, id, ckeys); err != nil {
		return false, err
	}
	return true, t.record(table, id, "update", changed, t.db.clock.Now().String(), false)
}

// putAgain records f as a new write of a row that holds those values
// already, so that it wins over every earlier write everywhere.
func (t *Tx) putAgain(table, id string, f Fields) error {
	keys, err := t.checkColumns(table, f)
	if err != nil {
		return err
	}
	w := Fields{}
	for _, k := range keys {
		w[k] = f[k]
	}
	if t.db.cols[table]["updated_at"] {
		w["updated_at"] = t.NowString()
		if _, err := t.exec(`UPDATE `+table+` SET updated_at = ? WHERE id = ?`, w["updated_at"], id); err != nil {
			return fmt.Errorf("store: update %s %s: %w", table, id, err)
		}
	}
	return t.record(table, id, "update", w, t.db.clock.Now().String(), false)
}

// Insert adds a new row; it fails if the row exists. It is the only way to
// write append-only tables (legal records).
func (t *Tx) Insert(table, id string, f Fields) error {
	if id == "" {
		return fmt.Errorf("store: %s: empty id", table)
	}
	keys, err := t.checkColumns(table, f)
	if err != nil {
		return err
	}
	return t.insert(table, id, keys, f, "insert")
}

func (t *Tx) insert(table, id string, keys []string, f Fields, op string) error {
	ts := t.db.clock.Now().String()
	inRow := t.db.inRowVersions(table, keys, f)
	args := make([]any, 0, len(keys)+2)
	args = append(args, id)
	for _, k := range keys {
		args = append(args, f[k])
	}
	if inRow {
		args = append(args, ts)
	}
	if _, err := t.exec(insertQuery(table, keys, inRow, ""), args...); err != nil {
		return fmt.Errorf("store: insert %s %s: %w", table, id, err)
	}
	return t.record(table, id, op, f, ts, inRow)
}

// redacted columns never appear in the audit log's data.
var redacted = map[string]bool{"password_hash": true}

// fieldVersion is the current version of one field.
type fieldVersion struct {
	H string `json:"h"` // HLC of the write that set the value
	B string `json:"b"` // HLC of the value that write overwrote ("" when new)
}

// readVersions returns the per-field versions of a row, and whether they
// are the row's own (sync_hlc: no sync_versions entry yet).
func (t *Tx) readVersions(table, id string) (map[string]fieldVersion, bool, error) {
	return t.db.readVersions(t, table, id)
}

// readVersions is Tx.readVersions on any Querier.
func (db *DB) readVersions(q Querier, table, id string) (map[string]fieldVersion, bool, error) {
	var raw string
	err := q.QueryRow(`SELECT versions FROM sync_versions WHERE tbl = ? AND row_id = ?`, table, id).Scan(&raw)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return db.rowVersions(q, table, id)
	case err != nil:
		return nil, false, fmt.Errorf("store: read versions of %s %s: %w", table, id, err)
	}
	v, err := decodeVersions(raw, db.vcols[table])
	if err != nil {
		return nil, false, fmt.Errorf("store: decode versions of %s %s: %w", table, id, err)
	}
	return v, false, nil
}

// writeVersions stores a row's versions in sync_versions. inRow says that
// readVersions found them in the row: the row's own stop counting and are
// cleared, so a row keeps its versions in one place (an initial copy that
// leaves out a stable sync_versions entry then leaves no older versions
// behind in the row either).
func (t *Tx) writeVersions(table, id string, v map[string]fieldVersion, inRow bool) error {
	if ri := t.db.rowv[table]; ri != nil && inRow {
		if _, err := t.exec(ri.clear, id); err != nil {
			return fmt.Errorf("store: clear in-row versions of %s %s: %w", table, id, err)
		}
	}
	b, err := encodeVersions(v, t.db.vcols[table])
	if err != nil {
		return fmt.Errorf("store: encode versions: %w", err)
	}
	newest := ""
	for _, fv := range v {
		newest = max(newest, fv.H)
	}
	return t.putVersions(table, id, b, newest)
}

// putVersions stores a row's encoded field versions and the newest clock
// among them.
func (t *Tx) putVersions(table, id string, b []byte, newest string) error {
	if _, err := t.exec(`INSERT INTO sync_versions (tbl, row_id, versions, max_hlc) VALUES (?, ?, ?, ?)
		ON CONFLICT (tbl, row_id) DO UPDATE SET versions = excluded.versions, max_hlc = excluded.max_hlc`, table, id, string(b), newest); err != nil {
		return fmt.Errorf("store: write versions of %s %s: %w", table, id, err)
	}
	return nil
}

// record logs a local change made at clock ts: sync_changes (with the base
// version of each field, for the merge), the field versions (unless the
// insert kept them in the row: inRow), and the audit entry.
func (t *Tx) record(table, id, op string, f Fields, ts string, inRow bool) error {
	data, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("store: encode change of %s %s: %w", table, id, err)
	}
	base := map[string]string{}
	if !appendOnly[table] && !inRow {
		versions, inRowBefore, err := t.readVersions(table, id)
		if err != nil {
			return err
		}
		for k, val := range f {
			if op == "insert" && emptyValue(val) {
				continue // an empty value of a new row is not a write: any real value wins over it
			}
			if v, ok := versions[k]; ok {
				base[k] = v.H
			}
			versions[k] = fieldVersion{H: ts, B: versions[k].H}
		}
		if err := t.writeVersions(table, id, versions, inRowBefore); err != nil {
			return err
		}
	}
	baseJSON, err := json.Marshal(base)
	if err != nil {
		return fmt.Errorf("store: encode base: %w", err)
	}
	// Origin seqs of this workstation are contiguous (1, 2, 3…) whatever
	// remote changes are interleaved in the local log: the server relies on
	// it to detect a missing change.
	if t.originNext == 0 {
		if t.originNext, err = lastOwnSeq(t, t.db.wsID); err != nil {
			return err
		}
	}
	t.originNext++
	if _, err := t.exec(`INSERT INTO sync_changes (tx_id, tbl, row_id, op, data, hlc, operator_id, workstation_id, origin_seq, base) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.id, table, id, op, string(data), ts, t.actor.OperatorID, t.db.wsID, t.originNext, string(baseJSON)); err != nil {
		return fmt.Errorf("store: record change of %s %s: %w", table, id, err)
	}
	auditData := data
	for k := range f {
		if redacted[k] {
			red := Fields{}
			for k2, v := range f {
				red[k2] = v
			}
			for k2 := range redacted {
				if _, ok := red[k2]; ok {
					red[k2] = "[redatto]"
				}
			}
			if auditData, err = json.Marshal(red); err != nil {
				return fmt.Errorf("store: encode audit data: %w", err)
			}
			break
		}
	}
	return t.Audit(op, table, id, string(auditData), ts)
}

// emptyValue reports whether v is a zero value ("", NULL, 0).
func emptyValue(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case int64:
		return x == 0
	}
	return false
}

// appendOnly lists the tables whose rows are written once and never change.
var appendOnly = map[string]bool{
	"application_history": true, "protocol_registrations": true, "protocol_documents": true,
	"protocol_numbers": true, "protocol_annulments": true, "protocol_interruption_extensions": true,
	"sync_reverts": true, "reclassifications": true,
}

// AppendOnly reports whether rows of table are written once and never change.
func AppendOnly(table string) bool { return appendOnly[table] }

// Audit appends an entry to this workstation's hash-chained audit log. Put
// and Insert call it for every change; services call it directly for events
// that change no replicated row (a login, a PDF printed, a failed check).
func (t *Tx) Audit(action, table, rowID, data, hlcTS string) error {
	if !t.auditRead {
		var err error
		if t.auditSeq, t.auditHead, err = auditHead(t, t.db.wsID); err != nil {
			return err
		}
		t.auditRead = true
	}
	if hlcTS == "" {
		hlcTS = t.db.clock.Now().String()
	}
	e := audit.Entry{ID: ids.New(), WorkstationID: t.db.wsID, Seq: t.auditSeq + 1, At: t.NowString(), HLC: hlcTS,
		OperatorID: t.actor.OperatorID, Action: action, Table: table, RowID: rowID, Data: data}
	audit.Seal(t.auditHead, &e)
	if _, err := t.exec(`INSERT INTO audit_log (id, workstation_id, seq, at, hlc, operator_id, action, tbl, row_id, data, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.ID, e.WorkstationID, e.Seq, e.At, e.HLC, e.OperatorID, e.Action, e.Table, e.RowID, e.Data, e.PrevHash, e.Hash); err != nil {
		return fmt.Errorf("store: append audit entry: %w", err)
	}
	t.auditSeq, t.auditHead = e.Seq, e.Hash
	return nil
}

// VerifyAudit walks every workstation's audit chain and returns the first
// broken link found, or nil when all chains hold.
func (db *DB) VerifyAudit(ctx context.Context) (*audit.Break, error) {
	floors, err := db.OwnFloors(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := db.r.QueryContext(ctx, `SELECT id, workstation_id, seq, at, hlc, operator_id, action, tbl, row_id, data, prev_hash, hash
		FROM audit_log ORDER BY workstation_id, seq`)
	if err != nil {
		return nil, fmt.Errorf("store: read audit log: %w", err)
	}
	defer rows.Close()
	var v *audit.Verifier
	ws := ""
	for rows.Next() {
		var e audit.Entry
		if err := rows.Scan(&e.ID, &e.WorkstationID, &e.Seq, &e.At, &e.HLC, &e.OperatorID, &e.Action, &e.Table, &e.RowID, &e.Data, &e.PrevHash, &e.Hash); err != nil {
			return nil, fmt.Errorf("store: read audit log: %w", err)
		}
		if v == nil || e.WorkstationID != ws {
			ws = e.WorkstationID
			v = audit.NewVerifier(ws)
			if ws == db.wsID && floors.AuditSeq > 0 {
				// Enrolled again: the chain goes on from the server's head.
				v = audit.ResumeVerifier(ws, floors.AuditSeq, floors.AuditHash)
			}
		}
		if b := v.Add(e); b != nil {
			return b, nil
		}
	}
	return nil, rows.Err()
}

// Change is one recorded change, as sync reads it.
type Change struct {
	Seq           int64
	TxID          string
	Table         string
	RowID         string
	Op            string
	Data          json.RawMessage
	HLC           string
	OperatorID    string
	WorkstationID string // origin workstation
	OriginSeq     int64  // the change's seq on its origin
	Base          json.RawMessage
}

// ChangesAfter returns up to limit recorded changes with seq > after, in order.
func (db *DB) ChangesAfter(ctx context.Context, after int64, limit int) ([]Change, error) {
	return db.changes(ctx, `WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit)
}

const changeCols = `seq, tx_id, tbl, row_id, op, data, hlc, operator_id, workstation_id, origin_seq, base`

func (db *DB) changes(ctx context.Context, where string, args ...any) ([]Change, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+changeCols+` FROM sync_changes `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("store: read changes: %w", err)
	}
	defer rows.Close()
	var out []Change
	for rows.Next() {
		var c Change
		var data, base string
		if err := rows.Scan(&c.Seq, &c.TxID, &c.Table, &c.RowID, &c.Op, &data, &c.HLC, &c.OperatorID, &c.WorkstationID, &c.OriginSeq, &base); err != nil {
			return nil, fmt.Errorf("store: read changes: %w", err)
		}
		c.Data, c.Base = json.RawMessage(data), json.RawMessage(base)
		out = append(out, c)
	}
	return out, rows.Err()
}

// Meta reads a local (not replicated) setting inside the transaction.
func (t *Tx) Meta(key string) (string, error) {
	return t.textByKey(`SELECT value FROM local_meta WHERE key = ?`, key, "meta")
}

// textByKey runs a query that selects one text value by key inside the
// transaction: "" when there is no such row.
func (t *Tx) textByKey(query, key, what string) (string, error) {
	var v string
	err := t.queryRow(query, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: read %s %s: %w", what, key, err)
	}
	return v, nil
}

// SetMeta writes a local (not replicated) setting inside the transaction, so
// a sync cursor moves together with the changes it covers.
func (t *Tx) SetMeta(key, value string) error {
	if _, err := t.exec(`INSERT INTO local_meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`, key, value); err != nil {
		return fmt.Errorf("store: write meta %s: %w", key, err)
	}
	return nil
}

// PushFloor returns a clock that every change of this replica with origin
// seq > acked, made or still to be made, has at least: the first such
// change's, or the clock now when there is none. It runs as a write
// transaction, so no local write is half-way through while it looks.
func (db *DB) PushFloor(ctx context.Context, acked int64) (string, error) {
	var floor string
	err := db.Write(ctx, Actor{}, func(t *Tx) error {
		floor = db.clock.Now().String()
		var first string
		err := t.queryRow(`SELECT hlc FROM sync_changes WHERE workstation_id = ? AND origin_seq > ? ORDER BY origin_seq LIMIT 1`, db.wsID, acked).Scan(&first)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("store: first pending change: %w", err)
		}
		floor = min(floor, first)
		return nil
	})
	return floor, err
}

// LocalChangesAfter returns this replica's own changes with origin seq > after.
func (db *DB) LocalChangesAfter(ctx context.Context, after int64, limit int) ([]Change, error) {
	return db.changes(ctx, `WHERE workstation_id = ? AND origin_seq > ? ORDER BY origin_seq LIMIT ?`, db.wsID, after, limit)
}

// CountLocalChangesAfter counts this replica's changes not yet acknowledged.
func (db *DB) CountLocalChangesAfter(ctx context.Context, after int64) (int, error) {
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM sync_changes WHERE workstation_id = ? AND origin_seq > ?`, db.wsID, after).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count pending changes: %w", err)
	}
	return n, nil
}

// OpenConflicts counts conflicts nobody resolved yet.
func (db *DB) OpenConflicts(ctx context.Context) (int, error) {
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM sync_conflicts WHERE resolved = 0`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count conflicts: %w", err)
	}
	return n, nil
}
