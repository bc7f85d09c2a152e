package sync

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"sportello/store"
)

// A server restored from a backup holds less than the workstations that
// synced with it after the backup: their changes it had acknowledged, the
// position they had pulled to, the definitive numbers it gave meanwhile.
// Such a workstation notices (ErrServerBehind) and rejoins: it asks where
// the server stands (GET /v1/rejoin), moves its push cursors back to what
// the server holds, so that its own work is pushed again, and its pull
// cursor back to a position the restored log has, and gives back the
// numbers it holds above the restored register (POST /v1/recover-numbers)
// while the server holds numbering. docs/sync-protocol.md, "Backup and
// restore".

// MetaRecoverNumbers lists, as JSON, the protocol_numbers rows this
// replica still has to give back to a restored server.
const MetaRecoverNumbers = "sync_recover_numbers"

// ErrNumbersLost: a restored server resumed definitive numbering while this
// workstation holds numbers it gave before it was lost; giving them back
// is no longer safe (the register may have given them again), so sync
// stops for the administrator (CodeNumberingResumed).
var ErrNumbersLost = errors.New("sync: the restored server resumed numbering without numbers this workstation holds")

const numbersLostMessage = "Il server è stato ripristinato da una copia di sicurezza e ha già ripreso la numerazione di protocollo, ma questa postazione ha numeri definitivi che il server non ha più: la sincronizzazione resta sospesa, rivolgersi all'amministratore; si continua a lavorare in locale"

// rejoin brings the cursors back to what a restored server holds, in one
// transaction, and lists the numbers to give back.
func (c *Client) rejoin(ctx context.Context) error {
	resp, err := c.do(ctx, http.MethodGet, "/v1/rejoin", nil, map[string]string{"Accept-Encoding": "gzip"})
	if err != nil {
		return err
	}
	var rr RejoinResponse
	if err := decodeResp(resp, &rr); err != nil {
		return err
	}
	lost, err := c.db.LostNumbers(ctx, rr.Registers)
	if err != nil {
		return err
	}
	if len(lost) > 0 && !rr.NumberingHeld {
		return fmt.Errorf("%w: %d of them", ErrNumbersLost, len(lost))
	}
	ids := make([]string, len(lost))
	for i, st := range lost {
		ids[i] = st.RowID
	}
	return c.db.Write(ctx, store.Actor{OperatorID: "sync"}, func(tx *store.Tx) error {
		lower := func(key string, to int64) error {
			v, err := tx.Meta(key)
			if err != nil {
				return err
			}
			if n, _ := strconv.ParseInt(v, 10, 64); n > to {
				return tx.SetMeta(key, strconv.FormatInt(to, 10))
			}
			return nil
		}
		if err := lower(MetaPushed, rr.AckedSeq); err != nil {
			return err
		}
		if err := lower(MetaAuditSent, rr.AckedAuditSeq); err != nil {
			return err
		}
		// The restored log is the old one up to its base: a cursor from
		// another epoch is good up to there; in the same epoch, up to the
		// log's end.
		epoch, err := tx.Meta(MetaLogEpoch)
		if err != nil {
			return err
		}
		limit := rr.Head
		if epoch != rr.Epoch {
			limit = min(rr.Base, rr.Head)
		}
		if err := lower(MetaPullCursor, limit); err != nil {
			return err
		}
		if err := tx.SetMeta(MetaLogEpoch, rr.Epoch); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		b, err := json.Marshal(ids)
		if err != nil {
			return fmt.Errorf("sync: numbers to give back: %w", err)
		}
		return tx.SetMeta(MetaRecoverNumbers, string(b))
	})
}

// recoverNumbers gives back to a restored server the numbers listed by
// rejoin, after this replica's own work is pushed again: a number whose
// registration has not reached the server yet (its workstation has not
// rejoined) waits for a later sync; one that contradicts the register is
// listed with the refused changes for the operator.
func (c *Client) recoverNumbers(ctx context.Context) error {
	raw, err := c.db.Meta(ctx, MetaRecoverNumbers)
	if err != nil || raw == "" {
		return err
	}
	var ids []string
	if err := json.Unmarshal([]byte(raw), &ids); err != nil {
		return fmt.Errorf("sync: numbers to give back: %w", err)
	}
	var left []string
	var refused []store.Rejection
	for len(ids) > 0 {
		part := ids[:min(len(ids), MaxRecoverPerRequest)]
		ids = ids[len(part):]
		rows, err := c.db.RowStates(ctx, "protocol_numbers", part)
		if err != nil {
			return err
		}
		var regs []string
		for _, st := range rows {
			if f, err := store.DecodeFields(st.Data); err == nil && st.Exists {
				if reg, ok := f["registration_id"].(string); ok {
					regs = append(regs, reg)
				}
			}
		}
		notes, err := c.db.LostNotifications(ctx, regs)
		if err != nil {
			return err
		}
		body, err := json.Marshal(RecoverRequest{Numbers: rows, Notifications: notes[:min(len(notes), MaxRecoverPerRequest)]})
		if err != nil {
			return fmt.Errorf("sync: numbers to give back: %w", err)
		}
		resp, err := c.do(ctx, http.MethodPost, "/v1/recover-numbers", bytes.NewReader(body), map[string]string{"Content-Type": "application/json", "Accept-Encoding": "gzip"})
		if err != nil {
			return err
		}
		var rr RecoverResponse
		if err := decodeResp(resp, &rr); err != nil {
			return err
		}
		answered := map[string]RecoverResult{}
		for _, res := range rr.Results {
			answered[res.RowID] = res
		}
		for _, id := range part {
			switch res, ok := answered[id]; {
			case !ok || res.Outcome == store.RecoverWaiting:
				left = append(left, id)
			case res.Outcome == store.RecoverRefused:
				refused = append(refused, store.Rejection{Table: "protocol_numbers", RowID: id, Code: "number_conflict",
					Reason: "Numero di protocollo non ripristinato sul server: " + res.Reason})
			}
		}
	}
	if len(refused) > 0 {
		if err := c.editRejected(ctx, func(rs []store.Rejection) []store.Rejection { return append(rs, refused...) }); err != nil {
			return err
		}
	}
	if len(left) == 0 {
		return c.db.SetMeta(ctx, MetaRecoverNumbers, "")
	}
	b, err := json.Marshal(slices.Compact(left))
	if err != nil {
		return fmt.Errorf("sync: numbers to give back: %w", err)
	}
	return c.db.SetMeta(ctx, MetaRecoverNumbers, string(b))
}
