package desk

import (
	"context"
	"errors"
	"fmt"

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
// review (open ones first).
func (s *Service) Conflicts(ctx context.Context, onlyOpen bool) ([]store.Conflict, error) {
	return s.db.Conflicts(ctx, onlyOpen)
}

// ResolveConflict closes a conflict: keep the value that won, or restore the
// one that lost (written as a new change that every replica will take).
func (s *Service) ResolveConflict(ctx context.Context, sess Session, id string, restoreLoser bool) error {
	if sess.OperatorID == "" {
		return userErr("Accesso richiesto")
	}
	err := s.db.Write(ctx, sess.actor(), func(tx *store.Tx) error { return tx.ResolveConflict(id, restoreLoser) })
	if errors.Is(err, store.ErrNotFound) {
		return userErr("Il conflitto non esiste più")
	}
	if errors.Is(err, store.ErrNotRestorable) {
		return userErr("Lo stato di una pratica già protocollata non può tornare indietro: si può solo confermare il valore attuale")
	}
	if err != nil {
		return fmt.Errorf("desk: resolve conflict: %w", err)
	}
	return nil
}
