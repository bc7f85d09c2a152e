package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"sportello/internal/application"
)

// ErrNotRestorable refuses restoring a losing value the merge rules would
// never let win (an application state behind the current one).
var ErrNotRestorable = errors.New("store: the losing value cannot be restored")

// Conflict is a concurrent write the merge resolved, kept for a person.
type Conflict struct {
	ID          string
	Table       string
	RowID       string
	Column      string
	WinnerValue string // JSON
	WinnerHLC   string
	LoserValue  string // JSON
	LoserHLC    string
	LoserOrigin string
	DetectedAt  string
	Resolved    bool
	ResolvedBy  string
	Resolution  string
}

const conflictCols = `id, tbl, row_id, col, winner_value, winner_hlc, loser_value, loser_hlc, loser_origin, detected_at, resolved, resolved_by, resolution`

func scanConflict(sc interface{ Scan(...any) error }) (Conflict, error) {
	var c Conflict
	var res int64
	err := sc.Scan(&c.ID, &c.Table, &c.RowID, &c.Column, &c.WinnerValue, &c.WinnerHLC, &c.LoserValue, &c.LoserHLC, &c.LoserOrigin, &c.DetectedAt, &res, &c.ResolvedBy, &c.Resolution)
	c.Resolved = res != 0
	return c, err
}

// Conflicts lists conflicts, open ones first, newest first.
func (db *DB) Conflicts(ctx context.Context, onlyOpen bool) ([]Conflict, error) {
	q := `SELECT ` + conflictCols + ` FROM sync_conflicts`
	if onlyOpen {
		q += ` WHERE resolved = 0`
	}
	rows, err := db.r.QueryContext(ctx, q+` ORDER BY resolved, detected_at DESC`)
	if err != nil {
		return nil, fmt.Errorf("store: list conflicts: %w", err)
	}
	defer rows.Close()
	var out []Conflict
	for rows.Next() {
		c, err := scanConflict(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list conflicts: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ConflictTx reads one conflict inside a transaction.
func (t *Tx) ConflictTx(id string) (Conflict, error) {
	c, err := scanConflict(t.queryRow(`SELECT `+conflictCols+` FROM sync_conflicts WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("store: conflict %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("store: read conflict: %w", err)
	}
	return c, nil
}

// ErrConflictRowAbsent is the error of ResolveConflict asked to write again
// the losing value of a row this replica does not hold.
var ErrConflictRowAbsent = errors.New("store: the conflict's row is not on this replica")

// ResolveConflict marks a conflict resolved; when restoreLoser is true the
// losing value is written again as a new change (which then wins by clock).
func (t *Tx) ResolveConflict(id string, restoreLoser bool) error {
	c, err := t.ConflictTx(id)
	if err != nil {
		return err
	}
	if c.Resolved {
		return nil
	}
	resolution := "kept_winner"
	if restoreLoser && c.Table == "applications" && c.Column == "state" {
		// The lifecycle never goes back from protocollata: such a value
		// would lose everywhere else and leave this replica alone with it.
		var loser string
		if err := json.Unmarshal([]byte(c.LoserValue), &loser); err != nil {
			return fmt.Errorf("store: conflict value: %w", err)
		}
		cur, err := t.ApplicationState(c.RowID)
		if err != nil {
			return err
		}
		if statePhase(application.State(loser)) < statePhase(cur) {
			return ErrNotRestorable
		}
	}
	if restoreLoser {
		here, err := t.RowExists(c.Table, c.RowID)
		if err != nil {
			return err
		}
		if !here {
			return fmt.Errorf("%w: %s %s", ErrConflictRowAbsent, c.Table, c.RowID)
		}
		f, err := DecodeFields([]byte(`{"` + c.Column + `":` + c.LoserValue + `}`))
		if err != nil {
			return fmt.Errorf("store: conflict value: %w", err)
		}
		changed, err := t.Put(c.Table, c.RowID, f)
		if err != nil {
			return err
		}
		if !changed {
			// This replica holds the losing value already (the winner has
			// not reached it yet: after a server restore, a conflict
			// record can arrive before the write it names): it is written
			// again all the same, or the winner would still win everywhere.
			if err := t.putAgain(c.Table, c.RowID, f); err != nil {
				return err
			}
		}
		resolution = "restored_loser"
	}
	_, err = t.Put("sync_conflicts", id, Fields{"resolved": true, "resolved_by": t.actor.OperatorID, "resolved_at": t.NowString(), "resolution": resolution})
	return err
}
