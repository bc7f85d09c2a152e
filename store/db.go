// Package store is the local SQLite replica: schema and migrations, the
// write path that records every replicated change for sync and the audit log
// in the same transaction, the queries the services need, and the
// content-addressed attachment blob store.
package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"sportello/internal/hlc"
	"sportello/internal/ids"

	_ "modernc.org/sqlite" // driver "sqlite"
)

// Options tune how the database is opened. The zero value is the safe default.
type Options struct {
	// BusyTimeout is how long a connection waits for a lock; default 10 s.
	BusyTimeout time.Duration
	// Synchronous is the SQLite synchronous level; default "FULL": a commit
	// reported to the operator survives power loss. "NORMAL" is only for
	// throw-away databases (tests, benchmarks' baselines).
	Synchronous string
	// Readers is the size of the read pool; default max(4, GOMAXPROCS).
	Readers int
	// Now is the clock; default time.Now. Tests inject a fixed clock.
	Now func() time.Time
}

// DB is an open replica: one writer connection and a pool of readers.
type DB struct {
	path  string
	busy  time.Duration
	w     *sql.DB
	r     *sql.DB
	now   func() time.Time
	clock *hlc.Clock
	// offset is this replica's clock minus the server's, in nanoseconds,
	// as sync last measured it (SetClockOffset); offsetKnown is set once
	// there is one. The hybrid logical clock takes the server's time from
	// it; legal dates keep the workstation's own clock (Now).
	offset      atomic.Int64
	offsetKnown atomic.Bool
	wsID        string
	wsCode      string
	cols        map[string]map[string]bool // replicated table -> its columns
	vcols       map[string][]string        // replicated table -> its columns but id, sorted (field versions)
	rowv        map[string]*rowVersionInfo // table with a sync_hlc column -> what the in-row version needs
	refs        map[string][]reference     // replicated table -> the rows its columns refer to (foreign keys)

	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt // prepared on the writer connection
}

// ErrNotFound is returned when a record does not exist.
var ErrNotFound = errors.New("store: not found")

func dsn(path string, o Options, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", o.BusyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous("+o.Synchronous+")")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		// BEGIN IMMEDIATE: a write transaction takes the write lock at once,
		// so it never fails half-way with SQLITE_BUSY on upgrade.
		q.Add("_txlock", "immediate")
		// The one writer keeps up to 64 MiB of pages: merging a batch of
		// changes into tables keyed by random IDs touches pages all over
		// them, and the default 2 MiB made it re-read them for each row.
		q.Add("_pragma", "cache_size(-65536)")
	}
	return "file:" + filepath.ToSlash(path) + "?" + q.Encode()
}

// Open opens (creating if needed) the replica at path, applies pending
// migrations and loads this installation's identity.
func Open(ctx context.Context, path string, o Options) (*DB, error) {
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = 10 * time.Second
	}
	if o.Synchronous == "" {
		o.Synchronous = "FULL"
	}
	if o.Readers <= 0 {
		o.Readers = max(4, runtime.GOMAXPROCS(0))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: create data folder: %w", err)
	}
	w, err := sql.Open("sqlite", dsn(path, o, false))
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	db := &DB{path: path, busy: o.BusyTimeout, w: w, now: o.Now, stmts: map[string]*sql.Stmt{}}
	if err := db.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", dsn(path, o, true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open readers %s: %w", path, err)
	}
	r.SetMaxOpenConns(o.Readers)
	r.SetMaxIdleConns(o.Readers)
	db.r = r
	if err := db.loadIdentity(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.loadColumns(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Close closes all connections.
func (db *DB) Close() error {
	var errs []error
	if db.r != nil {
		errs = append(errs, db.r.Close())
	}
	db.stmtMu.Lock()
	for _, st := range db.stmts {
		errs = append(errs, st.Close())
	}
	db.stmts = nil
	db.stmtMu.Unlock()
	errs = append(errs, db.w.Close())
	return errors.Join(errs...)
}

func (db *DB) busyTimeout() time.Duration {
	if db.busy <= 0 {
		return 10 * time.Second
	}
	return db.busy
}

// Path is the database file.
func (db *DB) Path() string { return db.path }

// WorkstationID is this installation's workstation ID (also its HLC node).
func (db *DB) WorkstationID() string { return db.wsID }

// WorkstationCode is this installation's short code, used in the emergency
// register's name.
func (db *DB) WorkstationCode() string { return db.wsCode }

// Now returns the store's clock reading.
func (db *DB) Now() time.Time { return db.now() }

// Clock is the replica's hybrid logical clock.
func (db *DB) Clock() *hlc.Clock { return db.clock }

func (db *DB) loadIdentity(ctx context.Context) error {
	meta, err := db.metaAll(ctx)
	if err != nil {
		return err
	}
	db.wsID, db.wsCode = meta["workstation_id"], meta["workstation_code"]
	if db.wsID == "" {
		db.wsID = ids.New()
		db.wsCode = "WS" + strings.ToUpper(strings.ReplaceAll(db.wsID, "-", "")[20:28])
		if _, err := db.w.ExecContext(ctx, `INSERT INTO local_meta(key, value) VALUES ('workstation_id', ?), ('workstation_code', ?)`, db.wsID, db.wsCode); err != nil {
			return fmt.Errorf("store: record workstation identity: %w", err)
		}
	}
	var last hlc.Timestamp
	if s := meta["hlc"]; s != "" {
		if last, err = hlc.Parse(s); err != nil {
			return fmt.Errorf("store: stored clock: %w", err)
		}
	}
	if v := meta[MetaClockOffset]; v != "" {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("store: stored clock offset %q: %w", v, err)
		}
		db.offset.Store(int64(time.Duration(ms) * time.Millisecond))
		db.offsetKnown.Store(true)
	}
	db.clock = hlc.New(db.wsID, last, db.hlcNow)
	return nil
}

// MetaClockOffset (local_meta) is this replica's clock minus the server's,
// in milliseconds, as sync last measured it (DB.SetClockOffset).
const MetaClockOffset = "sync_clock_offset_ms"

// hlcNow is the physical time of the hybrid logical clock: the
// workstation's clock brought to the server's by the last offset measured.
// A desk whose clock runs hours ahead would otherwise give its writes
// clocks hours ahead: they would win every concurrent edit for those hours,
// and every replica that saw them would carry the clock along (a hybrid
// logical clock never goes back). A clock set right, or an offset measured
// anew, moves the physical time; the clock itself never goes back.
func (db *DB) hlcNow() time.Time { return db.now().Add(-time.Duration(db.offset.Load())) }

// ClockOffset is this replica's clock minus the server's as last recorded
// (SetClockOffset); known is false before any measure.
func (db *DB) ClockOffset() (offset time.Duration, known bool) {
	return time.Duration(db.offset.Load()), db.offsetKnown.Load()
}

// SetClockOffset records how far this replica's clock is from the
// server's (positive: ahead), to the millisecond, for the hybrid logical
// clock (hlcNow) and across restarts.
func (db *DB) SetClockOffset(ctx context.Context, offset time.Duration) error {
	offset = offset.Truncate(time.Millisecond)
	if err := db.SetMeta(ctx, MetaClockOffset, strconv.FormatInt(offset.Milliseconds(), 10)); err != nil {
		return err
	}
	db.offset.Store(int64(offset))
	db.offsetKnown.Store(true)
	return nil
}

// SetWorkstation records the identity the server gave this installation at
// enrolment. Only allowed before the replica has recorded any change, so
// that existing history keeps one identity.
func (db *DB) SetWorkstation(ctx context.Context, id, code string) error {
	var n int
	if err := db.w.QueryRowContext(ctx, `SELECT count(*) FROM sync_changes WHERE workstation_id = ?`, db.wsID).Scan(&n); err != nil {
		return fmt.Errorf("store: count changes: %w", err)
	}
	if n > 0 && id != db.wsID {
		return fmt.Errorf("store: workstation identity cannot change after %d local changes", n)
	}
	if _, err := db.w.ExecContext(ctx, `INSERT INTO local_meta(key, value) VALUES ('workstation_id', ?), ('workstation_code', ?)
		ON CONFLICT(key) DO UPDATE SET value = excluded.value`, id, code); err != nil {
		return fmt.Errorf("store: set workstation: %w", err)
	}
	db.wsID, db.wsCode = id, code
	db.clock = hlc.New(id, db.clock.Last(), db.hlcNow)
	return nil
}

func (db *DB) metaAll(ctx context.Context) (map[string]string, error) {
	rows, err := db.w.QueryContext(ctx, `SELECT key, value FROM local_meta`)
	if err != nil {
		return nil, fmt.Errorf("store: read local meta: %w", err)
	}
	defer rows.Close()
	m := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("store: read local meta: %w", err)
		}
		m[k] = v
	}
	return m, rows.Err()
}

// Meta reads a local (not replicated) setting.
func (db *DB) Meta(ctx context.Context, key string) (string, error) {
	var v string
	err := db.r.QueryRowContext(ctx, `SELECT value FROM local_meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: read meta %s: %w", key, err)
	}
	return v, nil
}

// SetMeta writes a local (not replicated) setting.
func (db *DB) SetMeta(ctx context.Context, key, value string) error {
	if _, err := db.w.ExecContext(ctx, `INSERT INTO local_meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`, key, value); err != nil {
		return fmt.Errorf("store: write meta %s: %w", key, err)
	}
	return nil
}

// localTables are not replicated and are never written through Tx.Put.
var localTables = map[string]bool{"local_meta": true, "blobs": true, "sync_changes": true, "schema_migrations": true, "audit_log": true, "sync_versions": true,
	"sync_enrolments": true, "sync_tokens": true, "sync_peers": true, "sync_rejections": true, "sync_parked": true, "sync_reassert": true, "sync_reserved_numbers": true,
	"sync_pending_reverts": true, "sync_pending_removals": true, "operator_deactivations": true,
	"reclassification_marks": true, "sync_withdrawals": true}

func (db *DB) loadColumns(ctx context.Context) error {
	rows, err := db.r.QueryContext(ctx, `SELECT m.name, p.name, p.type, p.dflt_value FROM sqlite_schema m JOIN pragma_table_info(m.name) p
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'`)
	if err != nil {
		return fmt.Errorf("store: read schema: %w", err)
	}
	defer rows.Close()
	db.cols = map[string]map[string]bool{}
	type colInfo struct{ typ, dflt string }
	info := map[string]map[string]colInfo{}
	hasRowHLC := map[string]bool{}
	for rows.Next() {
		var t, c, typ string
		var dflt sql.NullString
		if err := rows.Scan(&t, &c, &typ, &dflt); err != nil {
			return fmt.Errorf("store: read schema: %w", err)
		}
		if localTables[t] {
			continue
		}
		if c == rowHLCColumn {
			hasRowHLC[t] = true // sync bookkeeping: not a column changes write
			continue
		}
		if db.cols[t] == nil {
			db.cols[t] = map[string]bool{}
			info[t] = map[string]colInfo{}
		}
		db.cols[t][c] = true
		info[t][c] = colInfo{typ, dflt.String}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: read schema: %w", err)
	}
	db.vcols = map[string][]string{}
	for t, cs := range db.cols {
		for c := range cs {
			if c != "id" {
				db.vcols[t] = append(db.vcols[t], c)
			}
		}
		sort.Strings(db.vcols[t])
	}
	if err := db.loadReferences(ctx); err != nil {
		return err
	}
	db.rowv = map[string]*rowVersionInfo{}
	for t := range hasRowHLC {
		ri := &rowVersionInfo{class: map[string]byte{}}
		for _, c := range db.vcols[t] {
			ci := info[t][c]
			ri.class[c] = affinityClass(ci.typ)
			if !emptyDefault(ci.dflt) {
				ri.setByDefault = append(ri.setByDefault, c)
			}
		}
		ri.read = `SELECT ` + rowHLCColumn + `, ` + strings.Join(db.vcols[t], ", ") + ` FROM ` + t + ` WHERE id = ?`
		ri.clear = `UPDATE ` + t + ` SET ` + rowHLCColumn + ` = '' WHERE id = ? AND ` + rowHLCColumn + ` <> ''`
		db.rowv[t] = ri
	}
	return nil
}

// reference is a column of a replicated table that names a row of another
// by its id (a foreign key).
type reference struct{ col, table string }

// loadReferences reads the replicated tables' foreign keys to other
// replicated tables' ids.
func (db *DB) loadReferences(ctx context.Context) error {
	rows, err := db.r.QueryContext(ctx, `SELECT m.name, f."from", f."table", COALESCE(f."to", 'id') FROM sqlite_schema m JOIN pragma_foreign_key_list(m.name) f
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, f.id, f.seq`)
	if err != nil {
		return fmt.Errorf("store: read foreign keys: %w", err)
	}
	defer rows.Close()
	db.refs = map[string][]reference{}
	for rows.Next() {
		var t, from, to, toCol string
		if err := rows.Scan(&t, &from, &to, &toCol); err != nil {
			return fmt.Errorf("store: read foreign keys: %w", err)
		}
		if _, ok := db.cols[t]; !ok || db.cols[to] == nil || toCol != "id" {
			continue
		}
		db.refs[t] = append(db.refs[t], reference{from, to})
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: read foreign keys: %w", err)
	}
	return nil
}

// ReplicatedTables lists the tables whose rows travel through sync.
func (db *DB) ReplicatedTables() []string {
	out := make([]string, 0, len(db.cols))
	for t := range db.cols {
		out = append(out, t)
	}
	return out
}

// IntegrityCheck runs PRAGMA integrity_check and returns an error unless ok.
func (db *DB) IntegrityCheck(ctx context.Context) error {
	rows, err := db.w.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return fmt.Errorf("store: integrity check: %w", err)
	}
	defer rows.Close()
	var msgs []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return fmt.Errorf("store: integrity check: %w", err)
		}
		msgs = append(msgs, s)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: integrity check: %w", err)
	}
	if len(msgs) != 1 || msgs[0] != "ok" {
		return fmt.Errorf("store: integrity check failed: %s", strings.Join(msgs, "; "))
	}
	return nil
}

// TableChecksum hashes every row of a replicated table (all columns, in id
// order), so replicas can be compared for convergence.
func (db *DB) TableChecksum(ctx context.Context, table string) (string, int, error) {
	if _, ok := db.cols[table]; !ok {
		return "", 0, fmt.Errorf("store: %q is not a replicated table", table)
	}
	rows, err := db.r.QueryContext(ctx, `SELECT * FROM `+table+` ORDER BY id`)
	if err != nil {
		return "", 0, fmt.Errorf("store: checksum %s: %w", table, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", 0, err
	}
	h := sha256.New()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return "", 0, fmt.Errorf("store: checksum %s: %w", table, err)
		}
		for i, v := range vals {
			if cols[i] == rowHLCColumn {
				continue // sync bookkeeping, not data: it need not converge
			}
			nv, _ := normalize(v)
			fmt.Fprintf(h, "%s=%T:%v\x1f", cols[i], nv, nv)
		}
		h.Write([]byte{'\n'})
		n++
	}
	return hex.EncodeToString(h.Sum(nil)), n, rows.Err()
}
