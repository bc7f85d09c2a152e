package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"sportello/internal/hlc"
	"sportello/internal/ids"
	"sportello/internal/protocol"
)

// A server restored from a backup has lost what reached it after the
// backup: changes of workstations it had acknowledged, and the definitive
// numbers it gave meanwhile, which the workstations pulled (and printed on
// receipts). A workstation that synced with it after the backup rejoins:
// it pushes again what the server no longer holds and gives back the
// numbers it holds that the server lost, while numbering is still held
// (docs/sync-protocol.md, "Backup and restore").

// RegisterTop is the highest definitive number of an AOO's register for a
// year.
type RegisterTop struct {
	AOO    string `json:"aoo"`
	Year   int    `json:"year"`
	Number int64  `json:"number"`
}

// RejoinState is what the server holds for a workstation that rejoins.
type RejoinState struct {
	Head          int64         // the change log's last change
	AckedSeq      int64         // the workstation's changes held (sync_peers)
	AckedAuditSeq int64         // its audit entries held
	NumberingHeld bool          // a restored backup not yet resumed
	Registers     []RegisterTop // the register's highest numbers
	// ConflictsSince: conflict records detected from then on may have been
	// lost with the server (the newest one its backup copy holds).
	ConflictsSince string
	// LateRefused is the workstation's latest late refusal
	// (Tx.InsertLateRejection) that the server holds.
	LateRefused int64
}

// RejoinState reads, in one snapshot, where the server stands for a
// workstation.
func (db *DB) RejoinState(ctx context.Context, workstationID string) (RejoinState, error) {
	var st RejoinState
	err := db.Read(ctx, func(q Querier) error {
		if err := q.QueryRow(`SELECT COALESCE(MAX(seq), 0) FROM sync_changes`).Scan(&st.Head); err != nil {
			return fmt.Errorf("store: rejoin: log head: %w", err)
		}
		err := q.QueryRow(`SELECT last_seq, last_audit_seq FROM sync_peers WHERE workstation_id = ?`, workstationID).Scan(&st.AckedSeq, &st.AckedAuditSeq)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: rejoin: peer: %w", err)
		}
		var held string
		err = q.QueryRow(`SELECT value FROM local_meta WHERE key = ?`, metaNumberingHeld).Scan(&held)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: rejoin: numbering: %w", err)
		}
		st.NumberingHeld = held == "1"
		if err := q.QueryRow(`SELECT COALESCE(max(late_seq), 0) FROM sync_rejections WHERE workstation_id = ? AND late_seq IS NOT NULL`,
			workstationID).Scan(&st.LateRefused); err != nil {
			return fmt.Errorf("store: rejoin: late refusals: %w", err)
		}
		err = q.QueryRow(`SELECT value FROM local_meta WHERE key = ?`, metaConflictsAt).Scan(&st.ConflictsSince)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: rejoin: conflicts: %w", err)
		}
		// The register as the backup held it: numbers above it may be
		// lost, even once others gave some of them back. A database that
		// is no backup copy has its own register.
		var tops string
		err = q.QueryRow(`SELECT value FROM local_meta WHERE key = ?`, metaRegisterTops).Scan(&tops)
		if errors.Is(err, sql.ErrNoRows) {
			err = q.QueryRow(`SELECT COALESCE(json_group_array(json_object('aoo', aoo, 'year', year, 'number', n)), '[]')
				FROM (SELECT aoo, year, MAX(number) AS n FROM protocol_numbers GROUP BY aoo, year)`).Scan(&tops)
		}
		if err != nil {
			return fmt.Errorf("store: rejoin: register: %w", err)
		}
		if err := json.Unmarshal([]byte(tops), &st.Registers); err != nil {
			return fmt.Errorf("store: rejoin: register: %w", err)
		}
		return nil
	})
	return st, err
}

// LostNumbers lists the definitive numbers this replica holds above the
// tops of a restored server's register (an AOO and year it does not list
// has top 0), as RowStates to give back.
func (db *DB) LostNumbers(ctx context.Context, tops []RegisterTop) ([]RowState, error) {
	top := map[string]int64{}
	for _, t := range tops {
		top[t.AOO+"/"+strconv.Itoa(t.Year)] = t.Number
	}
	type number struct {
		id, aoo string
		year    int
		n       int64
	}
	rows, err := db.r.QueryContext(ctx, `SELECT id, aoo, year, number FROM protocol_numbers ORDER BY aoo, year, number`)
	all, err := collect(rows, err, "lost numbers", func(rows *sql.Rows, n *number) error { return rows.Scan(&n.id, &n.aoo, &n.year, &n.n) })
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, n := range all {
		if n.n > top[n.aoo+"/"+strconv.Itoa(n.year)] {
			ids = append(ids, n.id)
		}
	}
	return db.RowStates(ctx, "protocol_numbers", ids)
}

// LostNotifications lists, as RowStates to give back, the citizens'
// notifications this replica holds about the given registrations (those
// whose numbers a restored server lost, queued when it gave them).
func (db *DB) LostNotifications(ctx context.Context, registrationIDs []string) ([]RowState, error) {
	var ids []string
	for _, reg := range registrationIDs {
		rows, err := db.r.QueryContext(ctx, `SELECT id FROM notifications WHERE ref_table = 'protocol_registrations' AND ref_id = ? ORDER BY id`, reg)
		some, err := collect(rows, err, "lost notifications", scanString)
		if err != nil {
			return nil, err
		}
		ids = append(ids, some...)
	}
	return db.RowStates(ctx, "notifications", ids)
}

// RowStates reads rows of one table as this replica holds them (absent
// ones with Exists false).
func (db *DB) RowStates(ctx context.Context, table string, ids []string) ([]RowState, error) {
	out := make([]RowState, 0, len(ids))
	err := db.Read(ctx, func(q Querier) error {
		for _, id := range ids {
			st := RowState{Table: table, RowID: id}
			if err := db.fillRowState(q, &st, false); err != nil {
				return err
			}
			out = append(out, st)
		}
		return nil
	})
	return out, err
}

// RecoverOutcome is what the server did with a number given back.
type RecoverOutcome string

const (
	RecoverRestored RecoverOutcome = "restored" // back in the register
	RecoverPresent  RecoverOutcome = "present"  // the register has it already
	RecoverWaiting  RecoverOutcome = "waiting"  // its registration has not reached the server (yet)
	RecoverRefused  RecoverOutcome = "refused"  // it contradicts the register (reason)
	// RecoverVoid: its registration was refused by the server, which does
	// not have it; the number has no registration to go back to, and the
	// workstation drops its copy (Tx.DropLostNumber).
	RecoverVoid RecoverOutcome = "void"
	// RecoverReplaced: after numbering resumed, its registration reached
	// the server first and has another number in the register, or the
	// number is above where numbering resumed (the register gives it
	// again); the workstation drops its copy too, and pulls the
	// register's number for the registration.
	RecoverReplaced RecoverOutcome = "replaced"
)

// ErrNumberingResumed: a number given back that the register cannot take:
// to a server never restored from a backup, or, after numbering resumed,
// for a registration the server has without a number. (Other numbers given
// back after the resume are reserved, replaced or void: reserveNumber.)
var ErrNumberingResumed = errors.New("store: definitive numbering already resumed")

// RecoverNumber puts back into a restored server's register a definitive
// number it gave before it was lost, as a workstation holds it: only while
// numbering is held, only for a registration the server has and that has
// no number, and only a number nobody else has. The row keeps its ID, so
// every replica that holds it already finds it present. A number whose
// registration the server refused and does not have is void, held or not.
func (t *Tx) RecoverNumber(st RowState) (RecoverOutcome, string, error) {
	if st.Table != "protocol_numbers" || !st.Exists || st.RowID == "" {
		return RecoverRefused, "non è un numero di protocollo", nil
	}
	f, err := DecodeFields(st.Data)
	if err != nil {
		return RecoverRefused, "dati non leggibili", nil
	}
	regID, _ := f["registration_id"].(string)
	aoo, _ := f["aoo"].(string)
	year, _ := f["year"].(int64)
	number, _ := f["number"].(int64)
	assigned, _ := f["assigned_at"].(string)
	if regID == "" || aoo == "" || year <= 0 || number <= 0 || assigned == "" {
		return RecoverRefused, "dati incompleti", nil
	}
	var have struct {
		reg, aoo string
		year, n  int64
	}
	err = t.queryRow(`SELECT registration_id, aoo, year, number FROM protocol_numbers WHERE id = ?`, st.RowID).Scan(&have.reg, &have.aoo, &have.year, &have.n)
	switch {
	case err == nil:
		if have.reg == regID && have.aoo == aoo && have.year == year && have.n == number {
			return RecoverPresent, "", nil
		}
		return RecoverRefused, "il registro ha un altro numero con lo stesso identificativo", nil
	case !errors.Is(err, sql.ErrNoRows):
		return "", "", fmt.Errorf("store: recover number: %w", err)
	}
	// Not in the register. A number whose registration the server refused
	// (and does not have) goes nowhere, before or after the resume.
	if void, err := t.registrationVoid(regID); err != nil || void {
		if err != nil {
			return "", "", err
		}
		// A number kept for it (reserveNumber) waits no more.
		if _, err := t.exec(`DELETE FROM sync_reserved_numbers WHERE registration_id = ? AND used_at = ''`, regID); err != nil {
			return "", "", fmt.Errorf("store: recover number: %w", err)
		}
		return RecoverVoid, fmt.Sprintf("la registrazione del numero %d è stata rifiutata dal server ripristinato", number), nil
	}
	// Only while numbering is held can it go back, or after, a number the
	// register never gives again (reserveNumber).
	held, err := t.NumberingHeld()
	if err != nil {
		return "", "", err
	}
	if !held {
		return t.reserveNumber(st.RowID, regID, aoo, year, number, assigned)
	}
	var exists bool
	if err := t.queryRow(`SELECT EXISTS (SELECT 1 FROM protocol_registrations WHERE id = ?)`, regID).Scan(&exists); err != nil {
		return "", "", fmt.Errorf("store: recover number: %w", err)
	}
	if !exists {
		return RecoverWaiting, "", nil
	}
	var other int64
	err = t.queryRow(`SELECT number FROM protocol_numbers WHERE registration_id = ?`, regID).Scan(&other)
	if err == nil {
		return RecoverRefused, fmt.Sprintf("la registrazione ha già il numero %d", other), nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", "", fmt.Errorf("store: recover number: %w", err)
	}
	var taken string
	err = t.queryRow(`SELECT registration_id FROM protocol_numbers WHERE aoo = ? AND year = ? AND number = ?`, aoo, year, number).Scan(&taken)
	if err == nil {
		return RecoverRefused, fmt.Sprintf("il numero %d è già di un'altra registrazione", number), nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", "", fmt.Errorf("store: recover number: %w", err)
	}
	if err := t.Insert("protocol_numbers", st.RowID, Fields{"registration_id": regID, "aoo": aoo, "year": year, "number": number, "assigned_at": assigned}); err != nil {
		return "", "", err
	}
	return RecoverRestored, "", nil
}

// reserveNumber handles a number given back after numbering resumed. The
// register gives new numbers past the one it resumed after, in the current
// year: a number no higher than that, or of an earlier year, is never given
// again. Such a number whose registration has not arrived yet is reserved
// for it (TakeReservedNumber), waiting. One above it (the administrator
// resumed below a number the lost server gave) the register gives, or
// gave, to the next registration to reach it: it cannot come back, and
// its registration keeps or gets a number of the register (replaced).
func (t *Tx) reserveNumber(id, regID, aoo string, year int64, number int64, assigned string) (RecoverOutcome, string, error) {
	if restored, err := t.RestoredBackup(); err != nil || !restored {
		return "", "", errors.Join(err, ErrNumberingResumed)
	}
	var other int64
	err := t.queryRow(`SELECT number FROM protocol_numbers WHERE registration_id = ?`, regID).Scan(&other)
	switch {
	case err == nil:
		// It reached the server and was numbered anew before anyone gave
		// this one back: the register's number stands.
		return RecoverReplaced, fmt.Sprintf("la registrazione ha nel registro il numero %d", other), nil
	case !errors.Is(err, sql.ErrNoRows):
		return "", "", fmt.Errorf("store: reserve number: %w", err)
	}
	var exists bool
	if err := t.queryRow(`SELECT EXISTS (SELECT 1 FROM protocol_registrations WHERE id = ?)`, regID).Scan(&exists); err != nil {
		return "", "", fmt.Errorf("store: reserve number: %w", err)
	}
	_, current := protocol.LegalDate(t.Now())
	var floor int64
	err = t.queryRow(`SELECT CAST(value AS INTEGER) FROM local_meta WHERE key = ?`, numberFloorKey(aoo, int(year))).Scan(&floor)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", "", fmt.Errorf("store: reserve number: %w", err)
	}
	if year >= int64(current) && number > floor {
		if exists {
			// Here without a number after the resume numbered every
			// registration: the register contradicts itself.
			return "", "", ErrNumberingResumed
		}
		return RecoverReplaced, fmt.Sprintf("il numero %d è oltre quello da cui è ripresa la numerazione (%d): il registro lo dà ad altre registrazioni e questa, inviata di nuovo, ne riceve uno nuovo: avvisare il cittadino", number, floor), nil
	}
	var taken bool
	if err := t.queryRow(`SELECT EXISTS (SELECT 1 FROM protocol_numbers WHERE aoo = ? AND year = ? AND number = ?)`, aoo, year, number).Scan(&taken); err != nil {
		return "", "", fmt.Errorf("store: reserve number: %w", err)
	}
	if taken {
		return RecoverRefused, fmt.Sprintf("il numero %d è già di un'altra registrazione", number), nil
	}
	var r struct{ reg, id string }
	err = t.queryRow(`SELECT registration_id, number_id FROM sync_reserved_numbers WHERE registration_id = ?1 OR number_id = ?2 OR (aoo = ?3 AND year = ?4 AND number = ?5)`,
		regID, id, aoo, year, number).Scan(&r.reg, &r.id)
	switch {
	case err == nil && r.reg == regID && r.id == id:
		return RecoverWaiting, "", nil
	case err == nil:
		return RecoverRefused, "il registro ha già riservato questo numero o questa registrazione per un altro numero", nil
	case !errors.Is(err, sql.ErrNoRows):
		return "", "", fmt.Errorf("store: reserve number: %w", err)
	}
	if exists {
		// Here without a number, after the resume numbered every one:
		// only a registration whose numbering failed; it takes this one.
		if err := t.Insert("protocol_numbers", id, Fields{"registration_id": regID, "aoo": aoo, "year": year, "number": number, "assigned_at": assigned}); err != nil {
			return "", "", err
		}
		return RecoverRestored, "", nil
	}
	if _, err := t.exec(`INSERT INTO sync_reserved_numbers (registration_id, number_id, aoo, year, number, assigned_at, reserved_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		regID, id, aoo, year, number, assigned, t.NowString()); err != nil {
		return "", "", fmt.Errorf("store: reserve number: %w", err)
	}
	return RecoverWaiting, "", nil
}

// TakeReservedNumber gives a registration that reached the server after
// numbering resumed the number reserved for it (reserveNumber), with the
// number row's ID; false when none is. The citizen's notification of that
// number is the one given back (RecoverNotification), not a new one.
func (t *Tx) TakeReservedNumber(regID string) (bool, error) {
	var r struct {
		id, aoo, assigned string
		year, number      int64
	}
	err := t.queryRow(`SELECT number_id, aoo, year, number, assigned_at FROM sync_reserved_numbers WHERE registration_id = ? AND used_at = ''`, regID).
		Scan(&r.id, &r.aoo, &r.year, &r.number, &r.assigned)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: reserved number: %w", err)
	}
	var numbered bool
	if err := t.queryRow(`SELECT EXISTS (SELECT 1 FROM protocol_numbers WHERE registration_id = ?)`, regID).Scan(&numbered); err != nil {
		return false, fmt.Errorf("store: reserved number: %w", err)
	}
	if !numbered {
		if err := t.Insert("protocol_numbers", r.id, Fields{"registration_id": regID, "aoo": r.aoo, "year": r.year, "number": r.number, "assigned_at": r.assigned}); err != nil {
			return false, err
		}
	}
	if _, err := t.exec(`UPDATE sync_reserved_numbers SET used_at = ? WHERE registration_id = ?`, t.NowString(), regID); err != nil {
		return false, fmt.Errorf("store: reserved number: %w", err)
	}
	return true, nil
}

// mergeOwnWrites merges into a column's value and version, as the
// register holds them (has: with a version), this replica's own writes of
// the column, by the merge's rules: the later write wins, unless the
// column's value rule decides (an application's state further along the
// lifecycle wins whatever the clocks). The register merges those writes
// the same way when they reach it — or has already — and, pushed again,
// they never come back here in a pull. An empty value of an insert is no
// write (it never erases a real one).
//
// Writes later by the clock than the reverted one count too: the value
// rule may have kept the reverted write over them (a registration over
// the desk's own later move back to complete), and with it gone they stand.
func (t *Tx) mergeOwnWrites(table, id, col string, val any, v fieldVersion, has bool) (any, fieldVersion, bool, error) {
	// Not one the server refused: a repair undid it (RepairRefused), unless
	// a rejoin applied it again since, for the restored server to judge it
	// afresh (ReapplyRepaired): its refusal was the lost server's.
	rows, err := t.query(`SELECT op, data, base, hlc FROM sync_changes c WHERE workstation_id = ?1 AND tbl = ?2 AND row_id = ?3
		AND NOT `+repairStands+` ORDER BY hlc`, t.db.wsID, table, id)
	if err != nil {
		return nil, fieldVersion{}, false, fmt.Errorf("store: own writes to %s %s: %w", table, id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var op, data, base, h string
		if err := rows.Scan(&op, &data, &base, &h); err != nil {
			return nil, fieldVersion{}, false, fmt.Errorf("store: own writes to %s %s: %w", table, id, err)
		}
		f, err := DecodeFields(json.RawMessage(data))
		if err != nil {
			return nil, fieldVersion{}, false, fmt.Errorf("store: own write to %s %s: %w", table, id, err)
		}
		w, ok := f[col]
		if !ok || op == "insert" && emptyValue(w) {
			continue
		}
		decided, wins := valueRule(table, col, val, w)
		if !decided {
			wins = !has || h > v.H
		}
		if !wins {
			continue
		}
		bases := map[string]string{}
		if len(base) > 2 {
			if err := json.Unmarshal([]byte(base), &bases); err != nil {
				return nil, fieldVersion{}, false, fmt.Errorf("store: own write to %s %s: %w", table, id, err)
			}
		}
		val, v, has = w, fieldVersion{H: h, B: bases[col]}, true
	}
	if err := rows.Err(); err != nil {
		return nil, fieldVersion{}, false, fmt.Errorf("store: own writes to %s %s: %w", table, id, err)
	}
	return val, v, has, nil
}

// registrationVoid reports whether the server refused a registration it
// does not have: its numbers and notifications have nowhere to go back.
func (t *Tx) registrationVoid(regID string) (bool, error) {
	var void bool
	if err := t.queryRow(`SELECT NOT EXISTS (SELECT 1 FROM protocol_registrations WHERE id = ?1)
		AND EXISTS (SELECT 1 FROM sync_rejections WHERE tbl = 'protocol_registrations' AND row_id = ?1)`, regID).Scan(&void); err != nil {
		return false, fmt.Errorf("store: refused registration %s: %w", regID, err)
	}
	return void, nil
}

// DropLostNumber removes this replica's copy of a definitive number the
// lost server gave and the restored register will not have: its
// registration was refused (RecoverVoid) or numbered anew
// (RecoverReplaced). The citizens' notifications of that number go with it
// (those of the registration written no later than the number: the server
// writes them when it numbers), and an audit entry says why. It records no
// change to push. A number it does not hold, or that rows of this replica
// still refer to, is left alone (false).
func (t *Tx) DropLostNumber(id string, why RecoverOutcome) (bool, error) {
	var reg, assigned string
	err := t.queryRow(`SELECT registration_id, assigned_at FROM protocol_numbers WHERE id = ?`, id).Scan(&reg, &assigned)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: lost number %s: %w", id, err)
	}
	switch out, err := t.removeRow("protocol_numbers", id); {
	case err != nil:
		return false, err
	case out != RepairRemoved:
		return false, nil // rows of this replica refer to it: kept
	}
	// The notifications of that number: not one of a number the register
	// gave the registration later.
	rows, err := t.query(`SELECT id FROM notifications WHERE ref_table = 'protocol_registrations' AND ref_id = ? AND created_at <= ? ORDER BY id`, reg, assigned)
	notes, err := collect(rows, err, "notifications of a lost number", scanString)
	if err != nil {
		return false, err
	}
	for _, n := range notes {
		if _, err := t.removeRow("notifications", n); err != nil {
			return false, err
		}
	}
	note, err := json.Marshal(map[string]any{"outcome": why, "registration_id": reg, "notifications": len(notes)})
	if err != nil {
		return false, fmt.Errorf("store: encode lost number: %w", err)
	}
	return true, t.Audit("sync_repair", "protocol_numbers", id, string(note), "")
}

// RecoverNotification puts back, while a restored server holds numbering,
// the citizen's notification of a definitive number given back
// (RecoverNumber), as a workstation holds it: only one about a
// registration that has its number again, and only if the server does not
// have it. It is written as a new change, so it reaches every replica. One
// about a registration the server refused and does not have is void.
func (t *Tx) RecoverNotification(st RowState) (RecoverOutcome, string, error) {
	return t.putBack(st, "notifications", "una notifica", func(f Fields) (RecoverOutcome, string, error) {
		if f["ref_table"] != "protocol_registrations" {
			return RecoverRefused, "non riguarda una registrazione di protocollo", nil
		}
		reg, _ := f["ref_id"].(string)
		if void, err := t.registrationVoid(reg); err != nil || void {
			if err != nil {
				return "", "", err
			}
			return RecoverVoid, "la registrazione è stata rifiutata dal server ripristinato", nil
		}
		held, err := t.NumberingHeld()
		if err != nil {
			return "", "", err
		}
		if !held {
			// After the resume, only the notification of a number
			// reserved for its registration (reserveNumber): once the
			// registration has it. Any other number was replaced: the
			// register queues the notification of the number it gives.
			var used string
			err := t.queryRow(`SELECT used_at FROM sync_reserved_numbers WHERE registration_id = ?`, reg).Scan(&used)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				return RecoverReplaced, "riguarda un numero che il registro non ripristina", nil
			case err != nil:
				return "", "", fmt.Errorf("store: recover notification: %w", err)
			case used == "":
				return RecoverWaiting, "", nil
			}
		}
		var numbered bool
		if err := t.queryRow(`SELECT EXISTS (SELECT 1 FROM protocol_numbers WHERE registration_id = ?)`, f["ref_id"]).Scan(&numbered); err != nil {
			return "", "", fmt.Errorf("store: recover notification: %w", err)
		}
		if !numbered {
			return RecoverWaiting, "", nil
		}
		return "", "", nil
	})
}

// putBack writes again, as a new change of the server, a row of table
// that the lost server had written, as a workstation holds it, unless the
// server has it; check decides first whether it may (an outcome stops
// there).
func (t *Tx) putBack(st RowState, table, what string, check func(Fields) (RecoverOutcome, string, error)) (RecoverOutcome, string, error) {
	if st.Table != table || !st.Exists || st.RowID == "" {
		return RecoverRefused, "non è " + what, nil
	}
	f, err := DecodeFields(st.Data)
	if err != nil {
		return RecoverRefused, "dati non leggibili", nil
	}
	var exists bool
	if err := t.queryRow(`SELECT EXISTS (SELECT 1 FROM `+table+` WHERE id = ?)`, st.RowID).Scan(&exists); err != nil {
		return "", "", fmt.Errorf("store: give back %s: %w", table, err)
	}
	if exists {
		return RecoverPresent, "", nil
	}
	if check != nil {
		if out, reason, err := check(f); err != nil || out != "" {
			return out, reason, err
		}
	}
	// Written as it was, updated_at included (Put would stamp it now).
	if err := t.Savepoint(func() error {
		keys, err := t.checkColumns(table, f)
		if err != nil {
			return err
		}
		return t.insert(table, st.RowID, keys, f, "insert")
	}); err != nil {
		return RecoverRefused, "dati non validi: " + err.Error(), nil
	}
	return RecoverRestored, "", nil
}

// LostConflicts lists, as RowStates to give back, the conflict records this
// replica holds that were detected at or after since (all when since is
// empty): those a restored server may have lost.
func (db *DB) LostConflicts(ctx context.Context, since string) ([]RowState, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id FROM sync_conflicts WHERE detected_at >= ? ORDER BY detected_at, id`, since)
	ids, err := collect(rows, err, "lost conflicts", scanString)
	if err != nil {
		return nil, err
	}
	return db.RowStates(ctx, "sync_conflicts", ids)
}

// RecoverConflict puts back, while a restored server holds numbering (the
// restore window), a conflict record the lost server had written, as a
// workstation holds it (its resolution included), unless the server has
// it. It is written as a new change, so it reaches every replica.
func (t *Tx) RecoverConflict(st RowState) (RecoverOutcome, string, error) {
	restored, err := t.RestoredBackup()
	if err != nil {
		return "", "", err
	}
	if !restored {
		return RecoverRefused, "il server non è stato ripristinato da una copia di sicurezza", nil
	}
	return t.putBack(st, "sync_conflicts", "un conflitto", nil)
}

// RefusedReference names a row that a change of table with data refers to
// and that will never reach this server: the server does not have it,
// refused the change that created it when its workstation pushed it again
// (the absent revert says so), and its identity was drawn at random where
// it was created (ids.DrawnOnce), so no other workstation brings it. A
// change that refers to it waits for nothing: a restored server refuses it
// instead of parking it. "" when there is none — a row another
// workstation may still push again (a citizen, whose identity derives from
// the codice fiscale, may be registered elsewhere too).
func (t *Tx) RefusedReference(table string, data Fields) (string, error) {
	for _, r := range t.db.refs[table] {
		id, _ := data[r.col].(string)
		refused, err := t.RowRefused(r.table, id)
		if err != nil {
			return "", err
		}
		if refused {
			return r.table + " " + id, nil
		}
	}
	return "", nil
}

// RowRefused reports whether a row will never reach this server: it does
// not have it, refused the change that created it when its workstation
// pushed it again (the absent revert), and no other workstation can write
// a row with that identity (ids.DrawnOnce). An edit of it waits for
// nothing (RefusedReference).
func (t *Tx) RowRefused(table, id string) (bool, error) {
	if _, ok := t.db.cols[table]; !ok || !ids.DrawnOnce(id) {
		return false, nil
	}
	var refused bool
	if err := t.queryRow(`SELECT NOT EXISTS (SELECT 1 FROM `+table+` WHERE id = ?1)
		AND EXISTS (SELECT 1 FROM sync_reverts WHERE tbl = ?2 AND row_id = ?1 AND absent = 1)`, id, table).Scan(&refused); err != nil {
		return false, fmt.Errorf("store: refused row %s %s: %w", table, id, err)
	}
	return refused, nil
}

// RestoredBackup reports whether this database is a restored backup copy,
// numbering held or resumed since (stampEpoch, ResumeNumbering).
func (t *Tx) RestoredBackup() (bool, error) {
	var restored bool
	if err := t.queryRow(`SELECT EXISTS (SELECT 1 FROM local_meta WHERE key = ?)`, metaNumberingHeld).Scan(&restored); err != nil {
		return false, fmt.Errorf("store: restored backup: %w", err)
	}
	return restored, nil
}

// CopyYear is, on a server restored from a backup, the register year
// (Europe/Rome) the copy was made in: from when it was made, or, for a
// copy made by a version that did not record that, the latest year its
// register holds numbers of. It is 0 on a server never restored, or when
// the copy says neither.
func (t *Tx) CopyYear() (int, error) {
	if restored, err := t.RestoredBackup(); err != nil || !restored {
		return 0, err
	}
	var at string
	err := t.queryRow(`SELECT value FROM local_meta WHERE key = ?`, metaCopyAt).Scan(&at)
	switch {
	case err == nil:
		ts, err := time.Parse(time.RFC3339, at)
		if err != nil {
			return 0, fmt.Errorf("store: backup copy's date %q: %w", at, err)
		}
		_, year := protocol.LegalDate(ts)
		return year, nil
	case !errors.Is(err, sql.ErrNoRows):
		return 0, fmt.Errorf("store: backup copy's date: %w", err)
	}
	var tops string
	err = t.queryRow(`SELECT value FROM local_meta WHERE key = ?`, metaRegisterTops).Scan(&tops)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: backup copy's register: %w", err)
	}
	var regs []RegisterTop
	if err := json.Unmarshal([]byte(tops), &regs); err != nil {
		return 0, fmt.Errorf("store: backup copy's register: %w", err)
	}
	year := 0
	for _, r := range regs {
		year = max(year, r.Year)
	}
	return year, nil
}

// metaRestoredSince is the clock of the first push a restored server
// received (RestoredSince).
const metaRestoredSince = "restored_since"

// RestoredSince is, on a server restored from a backup, the clock of the
// first push it received, set then: a change written before it may have
// been forwarded by the lost server (ApplyOptions.SeenBefore). It is ""
// on a server never restored.
func (t *Tx) RestoredSince() (string, error) {
	restored, err := t.RestoredBackup()
	if err != nil || !restored {
		return "", err
	}
	if _, err := t.exec(`INSERT INTO local_meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO NOTHING`, metaRestoredSince, t.db.clock.Now().String()); err != nil {
		return "", fmt.Errorf("store: restored since: %w", err)
	}
	var since string
	if err := t.queryRow(`SELECT value FROM local_meta WHERE key = ?`, metaRestoredSince).Scan(&since); err != nil {
		return "", fmt.Errorf("store: restored since: %w", err)
	}
	return since, nil
}

// Reassert writes again, as a change of this replica, the current values
// of the columns of a row whose versions are older than above (the clock
// of a change refused), unchanged, with a clock just past above: every
// replica that holds the refused value takes them back, and any write made
// after the refused one still wins over them. A restored server does it
// when it refuses a change pushed again that the lost server had accepted
// and forwarded.
func (t *Tx) Reassert(table, id string, cols []string, above string) error {
	if appendOnly[table] {
		return nil
	}
	ts, err := hlc.Parse(above)
	if err != nil {
		return fmt.Errorf("store: reassert %s %s: %w", table, id, err)
	}
	ts.Logical++
	ts.Node = t.db.wsID
	versions, _, err := t.readVersions(table, id)
	if err != nil {
		return err
	}
	var keys []string
	for _, c := range cols {
		if t.db.cols[table][c] && c != "id" && versions[c].H < above {
			keys = append(keys, c)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	cur, exists, err := t.currentValues(table, id, keys)
	if err != nil || !exists {
		return err
	}
	return t.record(table, id, "update", Fields(cur), ts.String(), false)
}

// RevertForwarded writes, on a restored server, a revert record
// (sync_reverts, migration 0013) for a change pushed again that it refused
// and that the lost server may have accepted and forwarded: the refused
// write's clock, and the register's value and version of each of its
// columns. Every replica whose column still holds the refused write takes
// them back (applyRevert); no other write is affected, earlier or later,
// so a workstation that comes back later still merges as it would have.
//
// A refused insert of a row the server does not have gets an absent
// revert: the register has no such record, and the replicas that hold it
// only from others remove it. Its columns' revert is written all the same
// when the row arrives (another workstation creates the same citizen):
// a replica that kept the row, holding writes of its own, then puts back
// the register's values. A row of an append-only table gets the absent
// revert only (it never changes).
//
// created is the refused change's data when it was an insert (nil
// otherwise): it says how confidential an absent row was.
func (t *Tx) RevertForwarded(table, id string, cols []string, void string, created Fields) error {
	if _, ok := t.db.cols[table]; !ok {
		return nil
	}
	if created != nil {
		here, err := t.RowExists(table, id)
		if err != nil {
			return err
		}
		if !here {
			if err := t.revertAbsent(table, id, void, created); err != nil {
				return err
			}
		}
	}
	if appendOnly[table] {
		return nil
	}
	var keys []string
	for _, c := range cols {
		if t.db.cols[table][c] && c != "id" {
			keys = append(keys, c)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	cur, exists, err := t.currentValues(table, id, keys)
	if err != nil {
		return err
	}
	if !exists {
		// Still to be pushed again by another workstation: written when
		// it arrives (RevertsDue).
		cb, err := json.Marshal(keys)
		if err != nil {
			return fmt.Errorf("store: revert %s %s: %w", table, id, err)
		}
		if _, err := t.exec(`INSERT INTO sync_pending_reverts (tbl, row_id, void_hlc, cols) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			table, id, void, string(cb)); err != nil {
			return fmt.Errorf("store: revert %s %s: %w", table, id, err)
		}
		return nil
	}
	versions, _, err := t.readVersions(table, id)
	if err != nil {
		return err
	}
	vers := map[string]fieldVersion{}
	for _, k := range keys {
		if v, ok := versions[k]; ok && v.H != "" {
			vers[k] = v
		}
	}
	vals, err := json.Marshal(Fields(cur))
	if err != nil {
		return fmt.Errorf("store: revert %s %s: %w", table, id, err)
	}
	vb, err := json.Marshal(vers)
	if err != nil {
		return fmt.Errorf("store: revert %s %s: %w", table, id, err)
	}
	rid := ids.Derived("sync_reverts", table, id, void)
	var have bool
	if err := t.queryRow(`SELECT EXISTS (SELECT 1 FROM sync_reverts WHERE id = ?)`, rid).Scan(&have); err != nil || have {
		if err != nil {
			return fmt.Errorf("store: revert %s %s: %w", table, id, err)
		}
		return nil // refused again (pushed again once more): already written
	}
	return t.Insert("sync_reverts", rid, Fields{"tbl": table, "row_id": id, "void_hlc": void, "vals": string(vals), "versions": string(vb),
		"created_at": t.NowString()})
}

// revertAbsent writes the absent revert of a refused insert of a row the
// server does not have (RevertForwarded), once, as confidential as the
// insert's data says the row was.
func (t *Tx) revertAbsent(table, id, void string, created Fields) error {
	rid := ids.Derived("sync_reverts", table, id, void, "absent")
	var have bool
	if err := t.queryRow(`SELECT EXISTS (SELECT 1 FROM sync_reverts WHERE id = ?)`, rid).Scan(&have); err != nil {
		return fmt.Errorf("store: revert %s %s: %w", table, id, err)
	}
	if have {
		return nil
	}
	conf, err := RowConfidentialQ(t, table, id, created)
	if err != nil {
		return err
	}
	return t.Insert("sync_reverts", rid, Fields{"tbl": table, "row_id": id, "void_hlc": void, "vals": "{}", "versions": "{}",
		"absent": true, "confidential": conf, "created_at": t.NowString()})
}

// RevertsDue writes the pending reverts (RevertForwarded) of rows the
// server has now, and returns how many.
func (t *Tx) RevertsDue() (int, error) {
	type pending struct{ tbl, row, void, cols string }
	rows, err := t.query(`SELECT tbl, row_id, void_hlc, cols FROM sync_pending_reverts ORDER BY void_hlc`)
	list, err := collect(rows, err, "pending reverts", func(rows *sql.Rows, p *pending) error {
		return rows.Scan(&p.tbl, &p.row, &p.void, &p.cols)
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range list {
		if _, ok := t.db.cols[p.tbl]; !ok {
			continue
		}
		_, exists, err := t.currentValues(p.tbl, p.row, []string{"id"})
		if err != nil {
			return n, err
		}
		if !exists {
			continue
		}
		var cols []string
		if err := json.Unmarshal([]byte(p.cols), &cols); err != nil {
			return n, fmt.Errorf("store: pending revert of %s %s: %w", p.tbl, p.row, err)
		}
		if _, err := t.exec(`DELETE FROM sync_pending_reverts WHERE tbl = ? AND row_id = ? AND void_hlc = ?`, p.tbl, p.row, p.void); err != nil {
			return n, fmt.Errorf("store: pending revert of %s %s: %w", p.tbl, p.row, err)
		}
		if err := t.RevertForwarded(p.tbl, p.row, cols, p.void, nil); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// applyRevert carries out a revert record a replica receives
// (RevertForwarded), unless the refused write is its own: each column that
// still holds the refused write (its version is the refused write's clock)
// takes back the register's value and version; any other column is left
// as it is. This replica's own writes of a column, which the register may
// not have had yet (pushed again later, they never come back in a pull),
// are merged into the register's value from this replica's log
// (mergeOwnWrites). It records no change.
func (t *Tx) applyRevert(r Fields) error {
	table, _ := r["tbl"].(string)
	id, _ := r["row_id"].(string)
	void, _ := r["void_hlc"].(string)
	absent := r["absent"] == int64(1) || r["absent"] == true
	cols, ok := t.db.cols[table]
	if !ok || appendOnly[table] && !absent || id == "" || void == "" || table == "sync_reverts" {
		return fmt.Errorf("%w: revert of %s %q", ErrInvalidChange, table, id)
	}
	ts, err := hlc.Parse(void)
	if err != nil {
		return fmt.Errorf("%w: revert clock: %v", ErrInvalidChange, err)
	}
	if ts.Node == t.db.wsID {
		// This replica's own write: its refusal reaches it and it repairs
		// it (RepairRefused); pushed again and accepted, it would not come
		// back in a pull.
		return nil
	}
	if absent {
		return t.removeAbsent(table, id, void)
	}
	raw, _ := r["vals"].(string)
	vals, err := DecodeFields(json.RawMessage(raw))
	if err != nil {
		return fmt.Errorf("%w: revert values: %v", ErrInvalidChange, err)
	}
	var vers map[string]fieldVersion
	raw, _ = r["versions"].(string)
	if err := json.Unmarshal([]byte(raw), &vers); err != nil {
		return fmt.Errorf("%w: revert versions: %v", ErrInvalidChange, err)
	}

	versions, inRow, err := t.readVersions(table, id)
	if err != nil {
		return err
	}
	var fix []string
	for k := range vals {
		if !cols[k] || k == "id" {
			return fmt.Errorf("%w: table %s has no column %q", ErrInvalidChange, table, k)
		}
		if versions[k].H == void {
			fix = append(fix, k)
		}
	}
	if len(fix) == 0 {
		return nil // never held it, or written again since
	}
	sort.Strings(fix)
	sets := make([]string, len(fix))
	args := make([]any, 0, len(fix)+1)
	for i, k := range fix {
		sets[i] = k + " = ?"
		// With this replica's own writes of the column that the register
		// may not have yet (they overwrote, or lost to, the refused one):
		// pushed again, they never come back here in a pull.
		val, v, has, err := t.mergeOwnWrites(table, id, k, vals[k], vers[k], vers[k].H != "")
		if err != nil {
			return err
		}
		args = append(args, val)
		if has {
			versions[k] = v
		} else {
			delete(versions, k)
		}
	}
	args = append(args, id)
	res, err := t.exec(`UPDATE `+table+` SET `+strings.Join(sets, ", ")+` WHERE id = ?`, args...)
	if err != nil {
		return fmt.Errorf("store: revert %s %s: %w", table, id, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err // the row is not here
	}
	if err := t.refreshDerived(table, id, fix); err != nil {
		return err
	}
	return t.writeVersions(table, id, versions, inRow)
}

// removeAbsent carries out an absent revert (RevertForwarded): the
// register has no such record, so this replica removes its copy — unless
// it has written the row itself (a write no repair undid): that write is,
// or was, pushed, and the server's answer to it decides (accepted, the
// register has the row; refused, the repair removes it). A row still
// referred to by other rows here waits in sync_pending_removals
// (RemovalsDue). What it removes goes to the audit log (sync_revert).
func (t *Tx) removeAbsent(table, id, void string) error {
	here, err := t.RowExists(table, id)
	if err != nil || !here {
		return err
	}
	var own bool
	if err := t.queryRow(`SELECT EXISTS (SELECT 1 FROM sync_changes c WHERE workstation_id = ?1 AND tbl = ?2 AND row_id = ?3 AND NOT `+repairStands+`)`,
		t.db.wsID, table, id).Scan(&own); err != nil {
		return fmt.Errorf("store: own writes to %s %s: %w", table, id, err)
	}
	if own {
		return nil
	}
	out, err := t.removeRow(table, id)
	if err != nil {
		return err
	}
	if out == RepairBlocked {
		if _, err := t.exec(`INSERT INTO sync_pending_removals (tbl, row_id, void_hlc) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, table, id, void); err != nil {
			return fmt.Errorf("store: pending removal of %s %s: %w", table, id, err)
		}
		t.removals = 2
		return nil
	}
	if _, err := t.exec(`DELETE FROM sync_pending_removals WHERE tbl = ? AND row_id = ?`, table, id); err != nil {
		return fmt.Errorf("store: pending removal of %s %s: %w", table, id, err)
	}
	if out != RepairRemoved {
		return nil
	}
	note, err := json.Marshal(map[string]any{"void_hlc": void, "outcome": out})
	if err != nil {
		return fmt.Errorf("store: encode revert: %w", err)
	}
	return t.Audit("sync_revert", table, id, string(note), "")
}

// keepRemoved drops the waiting removal of a row (removeAbsent), if any: a
// change of it the server forwarded after its absent revert says the
// register has it now. It costs one read per transaction when nothing
// waits.
func (t *Tx) keepRemoved(table, id string) error {
	if t.removals == 0 {
		var some bool
		if err := t.queryRow(`SELECT EXISTS (SELECT 1 FROM sync_pending_removals)`).Scan(&some); err != nil {
			return fmt.Errorf("store: pending removals: %w", err)
		}
		t.removals = 1
		if some {
			t.removals = 2
		}
	}
	if t.removals == 1 {
		return nil
	}
	if _, err := t.exec(`DELETE FROM sync_pending_removals WHERE tbl = ? AND row_id = ?`, table, id); err != nil {
		return fmt.Errorf("store: pending removal of %s %s: %w", table, id, err)
	}
	return nil
}

// RemovalsDue tries again the absent reverts whose rows were still referred
// to (removeAbsent), in passes until none is removed, and returns how many
// are left waiting.
func (t *Tx) RemovalsDue() (int, error) {
	type pending struct{ tbl, row, void string }
	for {
		rows, err := t.query(`SELECT tbl, row_id, void_hlc FROM sync_pending_removals ORDER BY void_hlc DESC`)
		list, err := collect(rows, err, "pending removals", func(rows *sql.Rows, p *pending) error {
			return rows.Scan(&p.tbl, &p.row, &p.void)
		})
		if err != nil || len(list) == 0 {
			return 0, err
		}
		for _, p := range list {
			if _, ok := t.db.cols[p.tbl]; !ok {
				return 0, fmt.Errorf("%w: pending removal of %s %s", ErrInvalidChange, p.tbl, p.row)
			}
			// Gone meanwhile, or written here since: no longer this
			// revert's to remove.
			if _, err := t.exec(`DELETE FROM sync_pending_removals WHERE tbl = ? AND row_id = ? AND void_hlc = ?`, p.tbl, p.row, p.void); err != nil {
				return 0, fmt.Errorf("store: pending removal of %s %s: %w", p.tbl, p.row, err)
			}
			if err := t.removeAbsent(p.tbl, p.row, p.void); err != nil {
				return 0, err
			}
		}
		var left int
		if err := t.queryRow(`SELECT count(*) FROM sync_pending_removals`).Scan(&left); err != nil {
			return 0, fmt.Errorf("store: pending removals: %w", err)
		}
		if left == len(list) {
			return left, nil
		}
	}
}

// PendingRemovals counts the absent reverts waiting for the rows that
// refer to theirs to go (RemovalsDue).
func (db *DB) PendingRemovals(ctx context.Context) (int, error) {
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM sync_pending_removals`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: pending removals: %w", err)
	}
	return n, nil
}

// ReassertQueued makes the queued Reasserts, in clock order, and empties
// the queue. It returns how many rows it wrote again.
func (t *Tx) ReassertQueued() (int, error) {
	type item struct{ table, id, cols, above string }
	rows, err := t.query(`SELECT tbl, row_id, cols, above FROM sync_reassert ORDER BY above`)
	items, err := collect(rows, err, "reassert", func(rows *sql.Rows, it *item) error {
		return rows.Scan(&it.table, &it.id, &it.cols, &it.above)
	})
	if err != nil {
		return 0, err
	}
	for _, it := range items {
		var cols []string
		if err := json.Unmarshal([]byte(it.cols), &cols); err != nil {
			return 0, fmt.Errorf("store: reassert: %w", err)
		}
		if err := t.Reassert(it.table, it.id, cols, it.above); err != nil {
			return 0, err
		}
	}
	if _, err := t.exec(`DELETE FROM sync_reassert`); err != nil {
		return 0, fmt.Errorf("store: reassert: %w", err)
	}
	return len(items), nil
}

// ReservedNumbersWaiting counts the numbers reserved after the resume for
// registrations that have not reached the server yet (reserveNumber).
func (db *DB) ReservedNumbersWaiting(ctx context.Context) (int, error) {
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM sync_reserved_numbers WHERE used_at = ''`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: reserved numbers: %w", err)
	}
	return n, nil
}

// ParkedCount counts the changes parked in the restore window: changes
// pushed again that wait for rows other workstations have still to push
// again. The administrator resumes numbering when none is left.
func (db *DB) ParkedCount(ctx context.Context) (int, error) {
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM sync_parked`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: parked changes: %w", err)
	}
	return n, nil
}
