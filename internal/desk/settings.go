package desk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"sportello/internal/application"
	"sportello/internal/auth"
	"sportello/store"
)

// Local settings of this installation (not replicated).
const (
	SettingScannerFolder = "scanner_folder"
)

// LocalSetting reads a setting of this installation ("" when unset).
func (s *Service) LocalSetting(ctx context.Context, key string) (string, error) {
	return s.db.Meta(ctx, "setting_"+key)
}

// SetLocalSetting writes a setting of this installation.
func (s *Service) SetLocalSetting(ctx context.Context, key, value string) error {
	return s.db.SetMeta(ctx, "setting_"+key, value)
}

// Conflicts lists the concurrent edits the server resolved, for a person to
// review (open ones first). Conflicts about confidential records are left
// out for a role that may not read them (an operator of the front desk
// logged in at an interview room): hidden says how many.
func (s *Service) Conflicts(ctx context.Context, sess Session, onlyOpen bool) (visible []store.Conflict, hidden int, err error) {
	all, err := s.db.Conflicts(ctx, onlyOpen)
	if err != nil {
		return nil, 0, err
	}
	if sess.Role.Can(auth.ReadConfidential) {
		return all, 0, nil
	}
	for _, c := range all {
		conf, err := s.db.RowConfidential(ctx, c.Table, c.RowID)
		if err != nil {
			return nil, 0, fmt.Errorf("desk: conflicts: %w", err)
		}
		if conf {
			hidden++
			continue
		}
		visible = append(visible, c)
	}
	return visible, hidden, nil
}

// ResolveConflict closes a conflict: keep the value that won, or restore the
// one that lost (written as a new change that every replica will take).
func (s *Service) ResolveConflict(ctx context.Context, sess Session, id string, restoreLoser bool) error {
	if sess.OperatorID == "" {
		return userErr("Accesso richiesto")
	}
	err := s.write(ctx, sess, func(tx *store.Tx) error {
		c, err := tx.ConflictTx(id)
		if err != nil {
			return err
		}
		if !sess.Role.Can(auth.ReadConfidential) {
			conf, err := tx.RowConfidential(c.Table, c.RowID, nil)
			if err != nil {
				return err
			}
			if conf {
				return sess.Role.Require(auth.ReadConfidential)
			}
		}
		if restoreLoser {
			// Restoring the losing value writes it again: only a role that
			// may write it, or the server refuses it after the fact.
			if err := requireRestore(sess.Role, c); err != nil {
				return err
			}
		}
		return tx.ResolveConflict(id, restoreLoser)
	})
	if errors.Is(err, store.ErrNotFound) {
		return userErr("Il conflitto non esiste più")
	}
	if errors.Is(err, store.ErrConflictRowAbsent) {
		return userErr("Il dato del conflitto non è su questa postazione: si può solo confermare il valore attuale")
	}
	if errors.Is(err, store.ErrNotRestorable) {
		return userErr("Lo stato di una pratica già protocollata non può tornare indietro: si può solo confermare il valore attuale")
	}
	if err != nil {
		return fmt.Errorf("desk: resolve conflict: %w", err)
	}
	return nil
}

// requireRestore checks that role may write again a conflict's losing
// value: the table's permission, or the grant that moves applications to
// the state it restores (as the server re-checks).
func requireRestore(role auth.Role, c store.Conflict) error {
	var moveTo application.State
	var st string
	if c.Table == "applications" && c.Column == "state" && json.Unmarshal([]byte(c.LoserValue), &st) == nil {
		moveTo = application.State(st)
	}
	if role.MayWrite(c.Table, moveTo) {
		return nil
	}
	perm, _ := auth.TablePermission(c.Table)
	return role.Require(perm)
}

// RejectionLabel names the record of a refused change for the operator: as
// the workstation read it when the refusal arrived (the record may be gone
// since, undone), else as RecordLabel names it; a confidential one only
// for a role that may read it.
func (s *Service) RejectionLabel(ctx context.Context, sess Session, r store.Rejection) (string, error) {
	if r.Label == "" {
		return s.RecordLabel(ctx, sess, r.Table, r.RowID)
	}
	if r.Confidential && !sess.Role.Can(auth.ReadConfidential) {
		return "(dato riservato)", nil
	}
	return r.Label, nil
}

// RecordLabel names a replicated row for the operator (a citizen's name and
// codice fiscale, an application's subject, a registration's number…) in
// the lists of conflicts and refused changes; "" when this replica does not
// hold the row. A confidential row is not named for a role that may not
// read it.
func (s *Service) RecordLabel(ctx context.Context, sess Session, table, rowID string) (string, error) {
	if !sess.Role.Can(auth.ReadConfidential) && store.MayBeConfidential(table) {
		conf, err := s.db.RowConfidential(ctx, table, rowID)
		if err != nil {
			return "", fmt.Errorf("desk: name a record: %w", err)
		}
		if conf {
			return "(dato riservato)", nil
		}
	}
	label, err := s.db.RecordLabel(ctx, table, rowID)
	if err != nil {
		return "", fmt.Errorf("desk: name a record: %w", err)
	}
	return label, nil
}
