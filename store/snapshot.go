package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"sort"
	"strings"
)

// SnapshotFor says whom a snapshot is for.
type SnapshotFor struct {
	WorkstationID   string
	WorkstationCode string
	Confidential    bool // the workstation may hold confidential records
	// Stable is the stable horizon (Tx.StableHorizon): the field versions
	// of rows whose every version is older are left out. "" keeps all.
	Stable string
}

// Snapshot writes a ready database for a new workstation's initial copy: an
// empty replica with the current schema into which, inside one read
// transaction of this database (a consistent view), every replicated table
// and the field versions are copied with INSERT … SELECT (SQLite copies
// whole records when it can). The server's change log, audit log, secrets
// and peers are never copied, and confidential records are left out when
// the workstation may not hold them. It returns the change-log position
// the copy corresponds to: the workstation pulls from there.
func (db *DB) Snapshot(ctx context.Context, path string, f SnapshotFor) (int64, error) {
	os.Remove(path)
	empty, err := Open(ctx, path, Options{Synchronous: "OFF"})
	if err != nil {
		return 0, fmt.Errorf("store: create snapshot: %w", err)
	}
	if err := empty.Close(); err != nil {
		return 0, fmt.Errorf("store: create snapshot: %w", err)
	}
	conn, err := sql.Open("sqlite", dsn(db.path, Options{BusyTimeout: db.busyTimeout(), Synchronous: "OFF"}, false)+"&_pragma=foreign_keys(0)")
	if err != nil {
		return 0, fmt.Errorf("store: snapshot source: %w", err)
	}
	defer conn.Close()
	conn.SetMaxOpenConns(1)
	c, err := conn.Conn(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: snapshot source: %w", err)
	}
	defer c.Close()
	exec := func(q string, args ...any) error {
		if _, err := c.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("store: snapshot (%s): %w", q, err)
		}
		return nil
	}
	if err := exec(`PRAGMA foreign_keys = OFF`); err != nil {
		return 0, err
	}
	// Read the server's database through a memory map: copying tables and
	// indexes in key order jumps around a file whose rows arrived in random
	// key order, and one read call per page cost more than the copy.
	if err := exec(`PRAGMA main.mmap_size = 68719476736`); err != nil {
		return 0, err
	}
	if err := exec(`ATTACH DATABASE ? AS snap`, path); err != nil {
		return 0, err
	}
	defer c.ExecContext(context.Background(), `DETACH DATABASE snap`)
	// One self-contained file: no WAL beside it.
	if err := exec(`PRAGMA snap.journal_mode = DELETE`); err != nil {
		return 0, err
	}
	if err := exec(`PRAGMA snap.synchronous = OFF`); err != nil {
		return 0, err
	}
	var cursor int64
	const confApps = `SELECT id FROM main.applications WHERE confidential = 1`
	// A registration is confidential as filed, or as its application is
	// now (Reclassify).
	const confRegs = `SELECT id FROM main.protocol_registrations WHERE confidential = 1 OR application_id IN (` + confApps + `)`
	filters := map[string]string{}
	if !f.Confidential {
		aboutConfidential := `NOT (tbl = 'applications' AND row_id IN (` + confApps + `))
				AND NOT (tbl IN ('application_attachments', 'application_history') AND row_id IN (
					SELECT id FROM main.application_attachments WHERE application_id IN (` + confApps + `)
					UNION ALL SELECT id FROM main.application_history WHERE application_id IN (` + confApps + `)))
				AND NOT (tbl = 'protocol_registrations' AND row_id IN (` + confRegs + `))
				AND NOT (tbl IN ('protocol_documents', 'protocol_numbers', 'protocol_annulments') AND row_id IN (
					SELECT id FROM main.protocol_documents WHERE registration_id IN (` + confRegs + `)
					UNION ALL SELECT id FROM main.protocol_numbers WHERE registration_id IN (` + confRegs + `)
					UNION ALL SELECT id FROM main.protocol_annulments WHERE registration_id IN (` + confRegs + `)))
				AND NOT (tbl = 'notifications' AND row_id IN (
					SELECT id FROM main.notifications WHERE ref_table = 'protocol_registrations' AND ref_id IN (` + confRegs + `)))`

		// A conflict about a conflict record (two replicas resolved it
		// differently) is as confidential as the record, down the chain.
		confConflicts := `WITH RECURSIVE cc(id) AS (SELECT id FROM main.sync_conflicts WHERE NOT (` + aboutConfidential + `)
				UNION SELECT c.id FROM main.sync_conflicts c JOIN cc ON c.tbl = 'sync_conflicts' AND c.row_id = cc.id)
			SELECT id FROM cc`
		aboutConfidential += `
				AND NOT (tbl = 'sync_conflicts' AND row_id IN (` + confConflicts + `))`
		filters = map[string]string{
			"applications":            `confidential = 0`,
			"application_attachments": `application_id NOT IN (` + confApps + `)`,
			"application_history":     `application_id NOT IN (` + confApps + `)`,
			"protocol_registrations":  `confidential = 0 AND COALESCE(application_id, '') NOT IN (` + confApps + `)`,
			"protocol_documents":      `registration_id NOT IN (` + confRegs + `)`,
			"protocol_numbers":        `registration_id NOT IN (` + confRegs + `)`,
			"protocol_annulments":     `registration_id NOT IN (` + confRegs + `)`,
			"notifications":           `NOT (ref_table = 'protocol_registrations' AND ref_id IN (` + confRegs + `))`,
			"sync_versions": `NOT (tbl = 'applications' AND row_id IN (` + confApps + `))
				AND NOT (tbl = 'protocol_registrations' AND row_id IN (` + confRegs + `))`,
			// A conflict or revert record is as confidential as the row it
			// is about (RowConfidentialQ).
			"sync_conflicts": aboutConfidential,
			"sync_reverts":   `confidential = 0 AND ` + aboutConfidential,
		}
	}
	if f.Stable != "" {
		// Versions every future write beats: a replica without them merges
		// exactly as one with them (Tx.StableHorizon).
		w := `(max_hlc = '' OR max_hlc >= '` + strings.ReplaceAll(f.Stable, "'", "''") + `')`
		if old, ok := filters["sync_versions"]; ok {
			w = "(" + old + ") AND " + w
		}
		filters["sync_versions"] = w
	}
	// A table copied whole goes through SQLite's transfer optimisation,
	// which copies its records and its index entries already in order: its
	// indexes stay. A filtered table is copied row by row: its secondary
	// indexes are dropped and built after the rows are in (a sorted build,
	// denser and faster than growing them row by row).
	var indexes []string
	rows, err := c.QueryContext(ctx, `SELECT name, tbl_name, sql FROM snap.sqlite_schema WHERE type = 'index' AND sql IS NOT NULL`)
	if err != nil {
		return 0, fmt.Errorf("store: snapshot indexes: %w", err)
	}
	var drops []string
	for rows.Next() {
		var name, table, q string
		if err := rows.Scan(&name, &table, &q); err != nil {
			rows.Close()
			return 0, fmt.Errorf("store: snapshot indexes: %w", err)
		}
		if _, filtered := filters[table]; !filtered {
			continue
		}
		drops = append(drops, `DROP INDEX snap.`+name)
		if strings.HasPrefix(q, "CREATE INDEX ") {
			q = strings.Replace(q, "CREATE INDEX ", "CREATE INDEX snap.", 1)
		} else {
			q = strings.Replace(q, "CREATE UNIQUE INDEX ", "CREATE UNIQUE INDEX snap.", 1)
		}
		indexes = append(indexes, q)
	}
	rows.Close()
	for _, q := range drops {
		if err := exec(q); err != nil {
			return 0, err
		}
	}
	if err := exec(`BEGIN`); err != nil {
		return 0, err
	}
	committed := false
	defer func() {
		if !committed {
			c.ExecContext(context.Background(), `ROLLBACK`)
		}
	}()
	if err := c.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM main.sync_changes`).Scan(&cursor); err != nil {
		return 0, fmt.Errorf("store: snapshot cursor: %w", err)
	}
	tables := append(db.ReplicatedTables(), "sync_versions")
	sort.Strings(tables)
	for _, t := range tables {
		q := `INSERT INTO snap.` + t + ` SELECT * FROM main.` + t
		if w, ok := filters[t]; ok {
			q += ` WHERE ` + w
		}
		if err := exec(q); err != nil {
			return 0, err
		}
	}
	if err := exec(`DELETE FROM snap.local_meta`); err != nil {
		return 0, err
	}
	scope := "0"
	if f.Confidential {
		scope = "1"
	}
	if err := exec(`INSERT INTO snap.local_meta (key, value) VALUES ('workstation_id', ?), ('workstation_code', ?), ('hlc', ?), (?, ?)`,
		f.WorkstationID, f.WorkstationCode, db.clock.Last().String(), metaConfidentialCopy, scope); err != nil {
		return 0, err
	}
	// A workstation enrolled again (a new computer for the same desk) goes
	// on from where the server has it: its changes and audit entries are
	// numbered after those the server holds, its chain continues the one
	// the server verified, and the refusals of changes it never made are
	// not its to repair (OwnFloors).
	if err := exec(`INSERT INTO snap.local_meta (key, value)
		SELECT ?2, COALESCE((SELECT last_seq FROM main.sync_peers WHERE workstation_id = ?1), 0)
		UNION ALL SELECT ?3, COALESCE((SELECT MAX(late_seq) FROM main.sync_rejections WHERE workstation_id = ?1 AND late_seq IS NOT NULL), 0)
		UNION ALL SELECT ?4, COALESCE((SELECT seq FROM main.audit_log WHERE workstation_id = ?1 ORDER BY seq DESC LIMIT 1), 0)
		UNION ALL SELECT ?5, COALESCE((SELECT hash FROM main.audit_log WHERE workstation_id = ?1 ORDER BY seq DESC LIMIT 1), '')`,
		f.WorkstationID, metaOriginFloor, metaLateFloor, metaAuditFloorSeq, metaAuditFloorHash); err != nil {
		return 0, err
	}
	for _, q := range indexes {
		if err := exec(q); err != nil {
			return 0, err
		}
	}
	if err := exec(`COMMIT`); err != nil {
		return 0, err
	}
	committed = true
	return cursor, nil
}
