package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"sportello/internal/ids"
)

// Reclassification: an application filed before its procedure was made
// confidential is made confidential too (docs/sync-protocol.md,
// "Reclassification"). On the server, Reclassify sets the application's
// confidential column and writes its reclassifications record; a
// workstation outside the confidential scope that receives the record
// removes the application and everything about it (Withdraw).

// MetaPushedSeq is the local_meta key of the last origin seq of this
// replica's own changes the server acknowledged: changes after it are
// still to be pushed.
const MetaPushedSeq = "sync_pushed_seq"

// metaWithdrawnFiles lists, as a JSON array, the attachment files whose
// rows a withdrawal removed: RemoveWithdrawnFiles deletes those no row
// names any more. Kept in the transaction that removed the rows, so a
// crash before the files go leaves them listed.
const metaWithdrawnFiles = "sync_withdrawn_files"

// ErrApplicationNotFound is the error of Reclassify for an application the
// database does not hold.
var ErrApplicationNotFound = errors.New("store: no such application")

// ApplicationsToReclassify lists the applications of a procedure that are
// not confidential, oldest first.
func (db *DB) ApplicationsToReclassify(ctx context.Context, procedureID string) ([]string, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id FROM applications WHERE procedure_id = ? AND confidential = 0 ORDER BY created_at, id`, procedureID)
	return collect(rows, err, "applications to reclassify", scanString)
}

// Reclassify makes an application confidential, on the server: its
// confidential column is set (a write of the server, which the interview
// rooms receive), the reclassifications record that tells the other
// workstations to remove it is written, and the server notes where its
// change log stands (ReclassificationUnseen). False when the application
// was confidential already.
func (t *Tx) Reclassify(appID, reason, operatorID string) (bool, error) {
	var conf int64
	err := t.queryRow(`SELECT confidential FROM applications WHERE id = ?`, appID).Scan(&conf)
	if errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("%w: %s", ErrApplicationNotFound, appID)
	}
	if err != nil {
		return false, fmt.Errorf("store: read application %s: %w", appID, err)
	}
	if conf != 0 {
		return false, nil
	}
	if err := t.Insert("reclassifications", ids.Derived("reclassifications", appID), Fields{"application_id": appID, "reason": reason,
		"operator_id": operatorID, "created_at": t.NowString()}); err != nil {
		return false, fmt.Errorf("store: reclassify %s: %w", appID, err)
	}
	return true, t.makeConfidential(appID)
}

// makeConfidential sets app's confidential column (a write of the server)
// and notes where the change log stands then, the reclassification's own
// entry (ReclassificationUnseen).
func (t *Tx) makeConfidential(app string) error {
	if _, err := t.Put("applications", app, Fields{"confidential": true}); err != nil {
		return fmt.Errorf("store: reclassify %s: %w", app, err)
	}
	if _, err := t.exec(`INSERT INTO reclassification_marks (application_id, log_seq)
		VALUES (?, (SELECT COALESCE(MAX(seq), 0) FROM sync_changes))
		ON CONFLICT (application_id) DO UPDATE SET log_seq = excluded.log_seq`, app); err != nil {
		return fmt.Errorf("store: note the reclassification of %s: %w", app, err)
	}
	return nil
}

// ReclassificationUnseen reports whether the row (of an application, its
// attachments or its history) belongs to an application the server made
// confidential after workstation ws last pulled: what ws sends of it was
// allowed as far as anyone at the desk could know. False for any other
// row, and for an application confidential from its filing.
func (t *Tx) ReclassificationUnseen(ws, table, rowID string, data Fields) (bool, error) {
	app := ""
	switch table {
	case "sync_conflicts", "sync_reverts":
		// A conflict resolved, or a revert, about a row of such an
		// application.
		var tbl, ref string
		err := t.queryRow(`SELECT tbl, row_id FROM `+table+` WHERE id = ?`, rowID).Scan(&tbl, &ref)
		if errors.Is(err, sql.ErrNoRows) || err == nil && (tbl == "sync_conflicts" || tbl == "sync_reverts") {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("store: read %s %s: %w", table, rowID, err)
		}
		return t.ReclassificationUnseen(ws, tbl, ref, nil)
	case "applications":
		app = rowID
	case "application_attachments", "application_history":
		if v, ok := data["application_id"].(string); ok {
			app = v
		} else if err := t.queryRow(`SELECT application_id FROM `+table+` WHERE id = ?`, rowID).Scan(&app); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return false, fmt.Errorf("store: read %s %s: %w", table, rowID, err)
		}
	}
	if app == "" {
		return false, nil
	}
	var unseen bool
	err := t.queryRow(`SELECT m.log_seq > COALESCE((SELECT pulled_seq FROM sync_peers WHERE workstation_id = ?), 0)
		FROM reclassification_marks m WHERE m.application_id = ?`, ws, app).Scan(&unseen)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: reclassification of %s seen by %s: %w", app, ws, err)
	}
	return unseen, nil
}

// holdsConfidential reports whether this replica was copied for a
// workstation that may hold confidential records (CopyScope).
func (t *Tx) holdsConfidential() (bool, error) {
	v, err := t.Meta(metaConfidentialCopy)
	if err != nil || v == "1" || v == "0" {
		return v == "1", err
	}
	// Copied before the scope was recorded: the workstation's record says.
	var conf bool
	err = t.queryRow(`SELECT confidential FROM workstations WHERE id = ?`, t.db.wsID).Scan(&conf)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("store: read this workstation's scope: %w", err)
	}
	return conf, nil
}

// queueWithdrawal notes, on a replica outside the confidential scope, an
// application the server reclassified: the client removes it right after
// the pull (WithdrawalsDue), all the applications a pull brought at once.
func (t *Tx) queueWithdrawal(appID string) error {
	if conf, err := t.holdsConfidential(); err != nil || conf {
		return err
	}
	if _, err := t.exec(`INSERT INTO sync_withdrawals (application_id) VALUES (?) ON CONFLICT DO NOTHING`, appID); err != nil {
		return fmt.Errorf("store: withdrawal of %s: %w", appID, err)
	}
	return nil
}

// metaWithdrawSweep is set when a pull brought rows of records that may be
// confidential to a replica outside the confidential scope that holds
// reclassifications: WithdrawalsDue then looks again at every application
// reclassified here. In normal operation the server forwards nothing of
// such an application; a server restored from a backup may, until a
// workstation gives the reclassification back.
const metaWithdrawSweep = "sync_withdraw_sweep"

// noteSweep sets metaWithdrawSweep, once per transaction, on a replica
// outside the confidential scope that holds reclassifications.
func (t *Tx) noteSweep() error {
	if t.sweep != 0 {
		return nil
	}
	t.sweep = 1
	conf, err := t.holdsConfidential()
	if err != nil || conf {
		return err
	}
	var some bool
	if err := t.queryRow(`SELECT EXISTS (SELECT 1 FROM reclassifications)`).Scan(&some); err != nil {
		return fmt.Errorf("store: reclassifications: %w", err)
	}
	if !some {
		return nil
	}
	t.sweep = 2
	return t.SetMeta(metaWithdrawSweep, "1")
}

// familyRow is a row that belongs to a reclassified application.
type familyRow struct {
	table, id, app, sha string
}

// withdrawOrder is the order rows of an application go in: what refers to
// a row before the row.
var withdrawOrder = []string{"sync_conflicts", "sync_reverts", "notifications", "protocol_annulments", "protocol_numbers",
	"protocol_documents", "protocol_registrations", "application_history", "application_attachments", "applications"}

// WithdrawalsDue removes, on a replica outside the confidential scope, the
// applications the server reclassified (sync_withdrawals) with their
// attachments, history, registrations and the registrations' documents,
// numbers, annulments and notifications, and the conflict and revert
// records about any of these. An application one of whose rows holds a
// change of this replica's own that the server has not acknowledged yet
// waits: the push carries it first (the server keeps what a workstation
// sent before it had the reclassification), and the next call removes it.
// A registration removed keeps its emergency number used here. Each
// application of which rows were removed gets an audit entry (and counts
// as removed); one this replica did not hold — a record given back after
// a restore arrives again — just leaves the queue; the files its rows named are
// listed for RemoveWithdrawnFiles (which deletes those no other row names),
// except the files of attachments and documents this workstation added
// itself: a server restored from a backup may lack them, and this
// workstation pushes those rows again, with their files. It returns how
// many applications it removed and how many wait.
func (t *Tx) WithdrawalsDue() (removedApps, waiting int, err error) {
	if sweep, err := t.Meta(metaWithdrawSweep); err != nil {
		return 0, 0, err
	} else if sweep != "" {
		if _, err := t.exec(`INSERT INTO sync_withdrawals (application_id) SELECT application_id FROM reclassifications WHERE true
			ON CONFLICT DO NOTHING`); err != nil {
			return 0, 0, fmt.Errorf("store: withdrawals: %w", err)
		}
		if _, err := t.exec(`DELETE FROM local_meta WHERE key = ?`, metaWithdrawSweep); err != nil {
			return 0, 0, fmt.Errorf("store: withdrawals: %w", err)
		}
	}
	rows, err := t.query(`SELECT application_id FROM sync_withdrawals ORDER BY application_id`)
	apps, err := collect(rows, err, "withdrawals", scanString)
	if err != nil || len(apps) == 0 {
		return 0, 0, err
	}
	family, err := t.familyOf(apps)
	if err != nil {
		return 0, 0, err
	}
	// An own change not acknowledged yet holds its application back.
	pushed, err := t.Meta(MetaPushedSeq)
	if err != nil {
		return 0, 0, err
	}
	acked, err := MetaNumber(MetaPushedSeq, pushed)
	if err != nil {
		return 0, 0, err
	}
	type key struct{ table, id string }
	pending := map[key]bool{}
	rows, err = t.query(`SELECT tbl, row_id FROM sync_changes WHERE workstation_id = ? AND origin_seq > ?`, t.db.wsID, acked)
	own, err := collect(rows, err, "pending changes", func(rows *sql.Rows, k *key) error { return rows.Scan(&k.table, &k.id) })
	if err != nil {
		return 0, 0, err
	}
	for _, k := range own {
		pending[k] = true
	}
	held := map[string]bool{}
	for _, f := range family {
		if pending[key{f.table, f.id}] {
			held[f.app] = true
		}
	}
	// The files of this workstation's own attachments and documents stay:
	// a server restored from a backup may have lost them, and this
	// workstation then pushes those rows again with their files.
	mine := map[key]bool{}
	if slices.ContainsFunc(family, func(f familyRow) bool { return f.sha != "" }) {
		rows, err = t.query(`SELECT tbl, row_id FROM sync_changes WHERE workstation_id = ? AND op = 'insert'
			AND tbl IN ('application_attachments', 'protocol_documents')`, t.db.wsID)
		ownFiles, err := collect(rows, err, "own files", func(rows *sql.Rows, k *key) error { return rows.Scan(&k.table, &k.id) })
		if err != nil {
			return 0, 0, err
		}
		for _, k := range ownFiles {
			mine[k] = true
		}
	}
	removed := map[string]int{}
	var files []string
	for _, table := range withdrawOrder {
		for _, f := range family {
			if f.table != table || held[f.app] {
				continue
			}
			out, err := t.removeRow(f.table, f.id)
			if err != nil {
				return 0, 0, err
			}
			switch out {
			case RepairBlocked:
				held[f.app] = true // another row still refers to it: later
			case RepairRemoved:
				removed[f.app]++
				if f.sha != "" && !mine[key{f.table, f.id}] {
					files = append(files, f.sha)
				}
			}
		}
	}
	for _, app := range apps {
		if held[app] {
			waiting++
			continue
		}
		if _, err := t.exec(`DELETE FROM sync_withdrawals WHERE application_id = ?`, app); err != nil {
			return 0, 0, fmt.Errorf("store: withdrawal of %s: %w", app, err)
		}
		if removed[app] == 0 {
			continue // not here (never was, or removed before: a record given back after a restore)
		}
		note, err := json.Marshal(map[string]any{"rows": removed[app]})
		if err != nil {
			return 0, 0, fmt.Errorf("store: encode withdrawal: %w", err)
		}
		if err := t.Audit("reclassified_withdrawn", "applications", app, string(note), ""); err != nil {
			return 0, 0, err
		}
		removedApps++
	}
	if len(files) > 0 {
		if err := t.listWithdrawnFiles(files); err != nil {
			return 0, 0, err
		}
	}
	return removedApps, waiting, nil
}

// familyOf reads the rows that belong to the applications: their
// attachments and history, their registrations with documents, numbers,
// annulments and notifications, and the conflict and revert records
// about any of these.
func (t *Tx) familyOf(apps []string) ([]familyRow, error) {
	appsJSON, err := json.Marshal(apps)
	if err != nil {
		return nil, fmt.Errorf("store: encode withdrawals: %w", err)
	}
	var out []familyRow
	read := func(table, query string, arg any) error {
		rows, err := t.query(query, arg)
		got, err := collect(rows, err, "rows of reclassified applications", func(rows *sql.Rows, f *familyRow) error {
			f.table = table
			return rows.Scan(&f.id, &f.app, &f.sha)
		})
		out = append(out, got...)
		return err
	}
	const in = `IN (SELECT value FROM json_each(?))`
	if err := read("applications", `SELECT id, id, '' FROM applications WHERE id `+in, string(appsJSON)); err != nil {
		return nil, err
	}
	if err := read("application_attachments", `SELECT id, application_id, sha256 FROM application_attachments WHERE application_id `+in, string(appsJSON)); err != nil {
		return nil, err
	}
	if err := read("application_history", `SELECT id, application_id, '' FROM application_history WHERE application_id `+in, string(appsJSON)); err != nil {
		return nil, err
	}
	if err := read("protocol_registrations", `SELECT id, application_id, '' FROM protocol_registrations WHERE application_id `+in, string(appsJSON)); err != nil {
		return nil, err
	}
	regApp := map[string]string{}
	var regs []string
	for _, f := range out {
		if f.table == "protocol_registrations" {
			regApp[f.id] = f.app
			regs = append(regs, f.id)
		}
	}
	if len(regs) > 0 {
		regsJSON, err := json.Marshal(regs)
		if err != nil {
			return nil, fmt.Errorf("store: encode withdrawals: %w", err)
		}
		byReg := func(table, query string) error {
			start := len(out)
			if err := read(table, query, string(regsJSON)); err != nil {
				return err
			}
			for i := start; i < len(out); i++ {
				out[i].app = regApp[out[i].app]
			}
			return nil
		}
		for _, q := range []struct{ table, query string }{
			{"protocol_documents", `SELECT id, registration_id, sha256 FROM protocol_documents WHERE registration_id ` + in},
			{"protocol_numbers", `SELECT id, registration_id, '' FROM protocol_numbers WHERE registration_id ` + in},
			{"protocol_annulments", `SELECT id, registration_id, '' FROM protocol_annulments WHERE registration_id ` + in},
			{"notifications", `SELECT id, ref_id, '' FROM notifications WHERE ref_table = 'protocol_registrations' AND ref_id ` + in},
		} {
			if err := byReg(q.table, q.query); err != nil {
				return nil, err
			}
		}
	}
	// Conflict and revert records about any of these rows.
	type key struct{ table, id string }
	app := make(map[key]string, len(out)+len(apps))
	for _, a := range apps {
		app[key{"applications", a}] = a // a record about it, even if it is not here
	}
	for _, f := range out {
		app[key{f.table, f.id}] = f.app
	}
	type about struct{ table, id, tbl, row string }
	var records []about
	for _, table := range []string{"sync_conflicts", "sync_reverts"} {
		// An absent revert holds no values and names a row the register
		// does not have: it is as confidential as it says (RowConfidentialQ),
		// whatever application the row was of, and stays.
		onlyValues := ""
		if table == "sync_reverts" {
			onlyValues = " AND absent = 0"
		}
		rows, err := t.query(`SELECT id, tbl, row_id FROM ` + table + ` WHERE tbl IN ('applications', 'application_attachments', 'application_history',
			'protocol_registrations', 'protocol_documents', 'protocol_numbers', 'protocol_annulments', 'notifications', 'sync_conflicts')` + onlyValues)
		list, err := collect(rows, err, "records about reclassified applications", func(rows *sql.Rows, a *about) error {
			a.table = table
			return rows.Scan(&a.id, &a.tbl, &a.row)
		})
		if err != nil {
			return nil, err
		}
		records = append(records, list...)
	}
	// A conflict about a conflict record belongs where that record does:
	// follow the chains until nothing more is found.
	taken := make([]bool, len(records))
	for found := true; found; {
		found = false
		for i, a := range records {
			if taken[i] {
				continue
			}
			if owner, ok := app[key{a.tbl, a.row}]; ok {
				out = append(out, familyRow{table: a.table, id: a.id, app: owner})
				app[key{a.table, a.id}] = owner
				taken[i], found = true, true
			}
		}
	}
	return out, nil
}

// listWithdrawnFiles adds digests to the files RemoveWithdrawnFiles looks at.
func (t *Tx) listWithdrawnFiles(shas []string) error {
	raw, err := t.Meta(metaWithdrawnFiles)
	if err != nil {
		return err
	}
	var list []string
	if raw != "" {
		if err := json.Unmarshal([]byte(raw), &list); err != nil {
			return fmt.Errorf("store: files of withdrawn applications: %w", err)
		}
	}
	for _, s := range shas {
		if !slices.Contains(list, s) {
			list = append(list, s)
		}
	}
	b, err := json.Marshal(list)
	if err != nil {
		return fmt.Errorf("store: files of withdrawn applications: %w", err)
	}
	return t.SetMeta(metaWithdrawnFiles, string(b))
}

// PendingWithdrawals counts the reclassified applications this replica
// still has to remove (WithdrawalsDue; one more when it is to look at
// them all again, metaWithdrawSweep), and reports whether files of
// removed ones are still to be deleted (RemoveWithdrawnFiles).
func (db *DB) PendingWithdrawals(ctx context.Context) (apps int, files bool, err error) {
	err = db.r.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM sync_withdrawals) + EXISTS (SELECT 1 FROM local_meta WHERE key = ?2),
		EXISTS (SELECT 1 FROM local_meta WHERE key = ?1 AND value NOT IN ('', '[]'))`, metaWithdrawnFiles, metaWithdrawSweep).Scan(&apps, &files)
	if err != nil {
		return 0, false, fmt.Errorf("store: pending withdrawals: %w", err)
	}
	return apps, files, nil
}

// WithdrawnFileIdle is how long a file must have stood untouched before
// RemoveWithdrawnFiles deletes it: a desk adding an attachment stores its
// file (Blobs.Put, which touches a file it already has) just before the
// transaction that names it, so a file touched lately may be about to be
// named again.
var WithdrawnFileIdle = time.Minute

// RemoveWithdrawnFiles deletes the files of withdrawn applications that
// no attachment or protocol document names any more, with their blobs
// entries, under the writer: no transaction that names a file runs
// meanwhile. A file touched within WithdrawnFileIdle stays listed for the
// next call. It returns how many it deleted.
func (db *DB) RemoveWithdrawnFiles(ctx context.Context, blobs *Blobs) (int, error) {
	deleted := 0
	err := db.Write(ctx, Actor{OperatorID: "sync"}, func(t *Tx) error {
		raw, err := t.Meta(metaWithdrawnFiles)
		if err != nil || raw == "" {
			return err
		}
		var list, left []string
		if err := json.Unmarshal([]byte(raw), &list); err != nil {
			return fmt.Errorf("store: files of withdrawn applications: %w", err)
		}
		for _, sha := range list {
			var named bool
			if err := t.queryRow(`SELECT EXISTS (SELECT 1 FROM application_attachments WHERE sha256 = ?1)
				OR EXISTS (SELECT 1 FROM protocol_documents WHERE sha256 = ?1)`, sha).Scan(&named); err != nil {
				return fmt.Errorf("store: readers of file %s: %w", sha, err)
			}
			if named {
				continue
			}
			gone, err := blobs.RemoveIdle(sha, WithdrawnFileIdle)
			if err != nil {
				return err
			}
			if !gone {
				left = append(left, sha)
				continue
			}
			if _, err := t.exec(`DELETE FROM blobs WHERE sha256 = ?`, sha); err != nil {
				return fmt.Errorf("store: forget file %s: %w", sha, err)
			}
			deleted++
		}
		if len(left) == 0 {
			_, err := t.exec(`DELETE FROM local_meta WHERE key = ?`, metaWithdrawnFiles)
			return err
		}
		b, err := json.Marshal(left)
		if err != nil {
			return fmt.Errorf("store: files of withdrawn applications: %w", err)
		}
		return t.SetMeta(metaWithdrawnFiles, string(b))
	})
	return deleted, err
}

// LostReclassifications lists, as RowStates to give back, the
// reclassifications this replica holds: a restored server may have lost
// those made after its backup (RecoverReclassification).
func (db *DB) LostReclassifications(ctx context.Context) ([]RowState, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id FROM reclassifications ORDER BY created_at, id`)
	ids, err := collect(rows, err, "reclassifications", scanString)
	if err != nil {
		return nil, err
	}
	return db.RowStates(ctx, "reclassifications", ids)
}

// RecoverReclassification puts back, on a restored server, a
// reclassification the lost server had made after the backup, as a
// workstation holds it, and makes its application confidential again
// (Reclassify): the workstations that removed the application stay as
// they are, the others remove it. It waits while the application has not
// come back (its workstation has not rejoined yet).
func (t *Tx) RecoverReclassification(st RowState) (RecoverOutcome, string, error) {
	restored, err := t.RestoredBackup()
	if err != nil {
		return "", "", err
	}
	if !restored {
		return RecoverRefused, "il server non è stato ripristinato da una copia di sicurezza", nil
	}
	var app string
	out, reason, err := t.putBack(st, "reclassifications", "una riclassificazione", func(f Fields) (RecoverOutcome, string, error) {
		app, _ = f["application_id"].(string)
		here, err := t.RowExists("applications", app)
		if err != nil || here {
			return "", "", err
		}
		return RecoverWaiting, "la pratica non è ancora tornata sul server", nil
	})
	if err != nil || out != RecoverRestored {
		return out, reason, err
	}
	if err := t.makeConfidential(app); err != nil {
		return "", "", err
	}
	return RecoverRestored, "", nil
}
