package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
)

// SnapshotFor says whom a snapshot is for.
type SnapshotFor struct {
	WorkstationID   string
	WorkstationCode string
	Confidential    bool // the workstation may hold confidential records
}

// Snapshot writes a copy of the database to path for a new workstation's
// initial copy (SQLite VACUUM INTO: consistent, compact, fast), then removes
// from the copy what the workstation must not hold: the server's secrets and
// peers, the change log, other workstations' audit entries, and confidential
// records when it may not read them. It returns the change-log position the
// copy corresponds to: the workstation pulls from there.
func (db *DB) Snapshot(ctx context.Context, path string, f SnapshotFor) (int64, error) {
	os.Remove(path)
	src, err := sql.Open("sqlite", dsn(db.path, Options{BusyTimeout: 30e9, Synchronous: "NORMAL"}, false))
	if err != nil {
		return 0, fmt.Errorf("store: snapshot source: %w", err)
	}
	defer src.Close()
	src.SetMaxOpenConns(1)
	if _, err := src.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		return 0, fmt.Errorf("store: vacuum into: %w", err)
	}
	dst, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(0)&_pragma=synchronous(OFF)&_pragma=journal_mode(OFF)")
	if err != nil {
		return 0, fmt.Errorf("store: open snapshot: %w", err)
	}
	defer dst.Close()
	dst.SetMaxOpenConns(1)
	var cursor int64
	if err := dst.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM sync_changes`).Scan(&cursor); err != nil {
		return 0, fmt.Errorf("store: snapshot cursor: %w", err)
	}
	// Triggers protect legal records from deletion; the copy drops them while
	// it is trimmed and puts them back before it is handed over.
	rows, err := dst.QueryContext(ctx, `SELECT name, sql FROM sqlite_schema WHERE type = 'trigger'`)
	if err != nil {
		return 0, fmt.Errorf("store: snapshot triggers: %w", err)
	}
	type trig struct{ name, sql string }
	var trigs []trig
	for rows.Next() {
		var t trig
		if err := rows.Scan(&t.name, &t.sql); err != nil {
			rows.Close()
			return 0, fmt.Errorf("store: snapshot triggers: %w", err)
		}
		trigs = append(trigs, t)
	}
	rows.Close()
	stmts := []string{}
	for _, t := range trigs {
		stmts = append(stmts, `DROP TRIGGER `+t.name)
	}
	stmts = append(stmts,
		`DELETE FROM sync_changes`, `DELETE FROM sqlite_sequence WHERE name = 'sync_changes'`, `DELETE FROM sync_tokens`, `DELETE FROM sync_enrolments`, `DELETE FROM sync_peers`,
		`DELETE FROM sync_rejections`, `DELETE FROM local_meta`, `DELETE FROM blobs`,
		`DELETE FROM audit_log WHERE workstation_id <> '`+strings.ReplaceAll(f.WorkstationID, "'", "''")+`'`)
	if !f.Confidential {
		stmts = append(stmts,
			`DELETE FROM application_attachments WHERE application_id IN (SELECT id FROM applications WHERE confidential = 1)`,
			`DELETE FROM application_history WHERE application_id IN (SELECT id FROM applications WHERE confidential = 1)`,
			`DELETE FROM protocol_documents WHERE registration_id IN (SELECT id FROM protocol_registrations WHERE confidential = 1)`,
			`DELETE FROM protocol_numbers WHERE registration_id IN (SELECT id FROM protocol_registrations WHERE confidential = 1)`,
			`DELETE FROM protocol_annulments WHERE registration_id IN (SELECT id FROM protocol_registrations WHERE confidential = 1)`,
			`DELETE FROM protocol_registrations WHERE confidential = 1`,
			`DELETE FROM notifications WHERE ref_table = 'protocol_registrations' AND ref_id NOT IN (SELECT id FROM protocol_registrations)`,
			`DELETE FROM applications WHERE confidential = 1`,
			`DELETE FROM sync_versions WHERE tbl = 'applications' AND row_id NOT IN (SELECT id FROM applications)`,
			`DELETE FROM sync_versions WHERE tbl = 'protocol_registrations' AND row_id NOT IN (SELECT id FROM protocol_registrations)`)
	}
	for _, t := range trigs {
		stmts = append(stmts, t.sql)
	}
	stmts = append(stmts, `INSERT INTO local_meta (key, value) VALUES ('workstation_id', ?), ('workstation_code', ?), ('hlc', ?)`)
	tx, err := dst.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("store: trim snapshot: %w", err)
	}
	defer tx.Rollback()
	for _, q := range stmts {
		var args []any
		if strings.HasPrefix(q, "INSERT INTO local_meta") {
			args = []any{f.WorkstationID, f.WorkstationCode, db.clock.Last().String()}
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return 0, fmt.Errorf("store: trim snapshot (%s): %w", q, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("store: trim snapshot: %w", err)
	}
	return cursor, nil
}
