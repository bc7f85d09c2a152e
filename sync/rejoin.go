package sync

import (
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
// cursor back to a position the restored log has, and gives back what the
// lost server had written that it holds (POST /v1/recover-numbers): the
// numbers above the register as the backup held it, with their
// notifications, and the conflict records detected since, while the
// server holds numbering. docs/sync-protocol.md, "Backup and restore".

// MetaRecoverNumbers lists, as JSON (recoverList), the protocol_numbers
// rows and conflict records this replica still has to give back to a
// restored server.
const MetaRecoverNumbers = "sync_recover_numbers"

// MetaRepushed is the last origin seq of this workstation when it
// rejoined: any change up to it may have reached the lost server (which
// can have applied a push whose answer never arrived), and is sent with the
// pushes that push those changes again (HeaderRepushed).
const MetaRepushed = "sync_repushed_seq"

// recoverList is what MetaRecoverNumbers holds.
type recoverList struct {
	Numbers           []string `json:"numbers,omitempty"`
	Conflicts         []string `json:"conflicts,omitempty"`
	Reclassifications []string `json:"reclassifications,omitempty"`
}

// ErrNumbersLost: this workstation holds definitive numbers the server's
// register lacks and cannot take back or leave behind (a server never
// restored from a backup, or a register that contradicts itself after
// numbering resumed), so sync stops for the administrator
// (CodeNumberingResumed). Numbers a restored register reserves, replaces
// or voids are not this error.
var ErrNumbersLost = errors.New("sync: the server's register lacks definitive numbers this workstation holds")

const numbersLostMessage = "Questa postazione ha numeri di protocollo definitivi che il registro del server non ha e non può riprendere: la sincronizzazione resta sospesa, rivolgersi all'amministratore; si continua a lavorare in locale"

// rejoin brings the cursors back to what a restored server holds, in one
// transaction, and lists what to give back.
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
		// Numbering resumed: harmless only if the register has them all
		// back (other workstations gave them), keeps them for their
		// registrations, still to be pushed again (waiting: reserved, given
		// back again by recoverNumbers), or will never have them (void,
		// replaced: dropped here, before a pull brings the register's
		// number). Any other stops here, before anything of this
		// workstation is pushed again.
		var keep []store.RowState
		var dropped []store.Rejection
		for len(lost) > 0 {
			part := lost[:min(len(lost), MaxRecoverPerRequest)]
			lost = lost[len(part):]
			var res RecoverResponse
			if err := c.postJSON(ctx, "/v1/recover-numbers", RecoverRequest{Numbers: part}, &res); err != nil {
				return err
			}
			for i, r := range res.Results {
				if i >= len(part) || part[i].RowID != r.RowID {
					return fmt.Errorf("sync: the server answered for number %s, not asked", r.RowID)
				}
				if rj, ok := lostNumber(r); ok {
					dropped = append(dropped, rj)
					continue
				}
				switch r.Outcome {
				case store.RecoverWaiting:
					keep = append(keep, part[i])
				case store.RecoverPresent:
				default:
					return fmt.Errorf("%w: number %s: %s %s", ErrNumbersLost, r.RowID, r.Outcome, r.Reason)
				}
			}
		}
		if err := c.dropLost(ctx, dropped, nil); err != nil {
			return err
		}
		lost = keep
	}
	conflicts, err := c.db.LostConflicts(ctx, rr.ConflictsSince)
	if err != nil {
		return err
	}
	var list recoverList
	for _, st := range lost {
		list.Numbers = append(list.Numbers, st.RowID)
	}
	for _, st := range conflicts {
		list.Conflicts = append(list.Conflicts, st.RowID)
	}
	reclassified, err := c.db.LostReclassifications(ctx)
	if err != nil {
		return err
	}
	for _, st := range reclassified {
		list.Reclassifications = append(list.Reclassifications, st.RowID)
	}
	return c.db.Write(ctx, store.Actor{OperatorID: "sync"}, func(tx *store.Tx) error {
		lower := func(key string, to int64) error {
			v, err := tx.Meta(key)
			if err != nil {
				return err
			}
			n, err := store.MetaNumber(key, v)
			if err != nil {
				return err
			}
			if n > to {
				return tx.SetMeta(key, strconv.FormatInt(to, 10))
			}
			return nil
		}
		last, err := tx.LastOwnSeq()
		if err != nil {
			return err
		}
		if last > rr.AckedSeq {
			if err := tx.SetMeta(MetaRepushed, strconv.FormatInt(last, 10)); err != nil {
				return err
			}
		}
		if err := lower(MetaPushed, rr.AckedSeq); err != nil {
			return err
		}
		// What is pushed again is judged again: a change a repair undid
		// is applied here again first (refused again, it is repaired
		// again).
		if _, err := tx.ReapplyRepaired(rr.AckedSeq); err != nil {
			return err
		}
		// Nor is a change the lost server refused and this workstation
		// has not repaired yet undone any more: the restored server does
		// not hold that refusal, and its own judgement of the change
		// pushed again comes back like any other.
		pending, err := repairsIn(tx)
		if err != nil {
			return err
		}
		if err := setRepairs(tx, slices.DeleteFunc(pending, func(seq int64) bool { return seq > rr.AckedSeq })); err != nil {
			return err
		}
		if err := lower(MetaAuditSent, rr.AckedAuditSeq); err != nil {
			return err
		}
		// Late refusals past the restored server's were the lost one's:
		// those it numbers again are new refusals.
		if err := lower(MetaLateRefused, rr.LateRefused); err != nil {
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
		if len(list.Numbers)+len(list.Conflicts)+len(list.Reclassifications) == 0 {
			return nil
		}
		b, err := json.Marshal(list)
		if err != nil {
			return fmt.Errorf("sync: records to give back: %w", err)
		}
		return tx.SetMeta(MetaRecoverNumbers, string(b))
	})
}

// lostNumber is the operator's notice of a number given back that the
// register will never have (void, replaced), which this replica drops.
func lostNumber(r RecoverResult) (store.Rejection, bool) {
	switch r.Outcome {
	case store.RecoverVoid:
		return store.Rejection{Table: "protocol_numbers", RowID: r.RowID, Code: "number_void",
			Reason: "Numero di protocollo senza registrazione, tolto da questa postazione: " + r.Reason}, true
	case store.RecoverReplaced:
		return store.Rejection{Table: "protocol_numbers", RowID: r.RowID, Code: "number_replaced",
			Reason: "Numero di protocollo dato dal server perduto e sostituito dal registro ripristinato: " + r.Reason}, true
	}
	return store.Rejection{}, false
}

// dropLost removes this replica's copies of numbers the register will
// never have (store.Tx.DropLostNumber), named first for the operator's
// list, and adds them and the numbers refused to that list.
func (c *Client) dropLost(ctx context.Context, dropped, refused []store.Rejection) error {
	var err error
	if len(dropped) > 0 {
		if dropped, err = c.labelled(ctx, dropped); err != nil {
			return err
		}
		if err := c.db.Write(ctx, store.Actor{OperatorID: "sync"}, func(tx *store.Tx) error {
			for _, r := range dropped {
				why := store.RecoverVoid
				if r.Code == "number_replaced" {
					why = store.RecoverReplaced
				}
				if _, err := tx.DropLostNumber(r.RowID, why); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	if len(refused) > 0 {
		if refused, err = c.labelled(ctx, refused); err != nil {
			return err
		}
	}
	if all := append(dropped, refused...); len(all) > 0 {
		return c.editRejected(ctx, func(rs []store.Rejection) []store.Rejection { return append(rs, all...) })
	}
	return nil
}

// recoverNumbers gives back to a restored server the numbers and conflict
// records listed by rejoin, after this replica's own work is pushed again
// and before the pull: a number whose registration has not reached the
// server yet (its workstation has not rejoined) waits for a later sync;
// one the register will never have (void, replaced) is dropped here, before
// the pull brings the register's; one that contradicts the register is
// listed with the refused changes for the operator.
func (c *Client) recoverNumbers(ctx context.Context) error {
	raw, err := c.db.Meta(ctx, MetaRecoverNumbers)
	if err != nil || raw == "" {
		return err
	}
	var list recoverList
	if err := json.Unmarshal([]byte(raw), &list); err != nil {
		return fmt.Errorf("sync: records to give back: %w", err)
	}
	var left recoverList
	var refused, dropped []store.Rejection
	numbers, conflicts, reclassified := list.Numbers, list.Conflicts, list.Reclassifications
	for len(numbers)+len(conflicts)+len(reclassified) > 0 {
		partN := numbers[:min(len(numbers), MaxRecoverPerRequest)]
		partC := conflicts[:min(len(conflicts), MaxRecoverPerRequest)]
		partR := reclassified[:min(len(reclassified), MaxRecoverPerRequest)]
		numbers, conflicts, reclassified = numbers[len(partN):], conflicts[len(partC):], reclassified[len(partR):]
		var req RecoverRequest
		if len(partN) > 0 {
			if req.Numbers, err = c.db.RowStates(ctx, "protocol_numbers", partN); err != nil {
				return err
			}
			var regs []string
			for _, st := range req.Numbers {
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
			req.Notifications = notes[:min(len(notes), MaxRecoverPerRequest)]
		}
		if len(partC) > 0 {
			if req.Conflicts, err = c.db.RowStates(ctx, "sync_conflicts", partC); err != nil {
				return err
			}
		}
		if len(partR) > 0 {
			if req.Reclassifications, err = c.db.RowStates(ctx, "reclassifications", partR); err != nil {
				return err
			}
		}
		var rr RecoverResponse
		if err := c.postJSON(ctx, "/v1/recover-numbers", req, &rr); err != nil {
			return err
		}
		answered := map[string]RecoverResult{}
		for _, res := range rr.Results {
			answered[res.RowID] = res
		}
		for _, id := range partN {
			res, ok := answered[id]
			if rj, lost := lostNumber(res); ok && lost {
				dropped = append(dropped, rj)
				continue
			}
			switch {
			case !ok || res.Outcome == store.RecoverWaiting:
				left.Numbers = append(left.Numbers, id)
			case res.Outcome == store.RecoverRefused:
				refused = append(refused, store.Rejection{Table: "protocol_numbers", RowID: id, Code: "number_conflict",
					Reason: "Numero di protocollo non ripristinato sul server: " + res.Reason})
			}
		}
		// A conflict record is given back once, whatever the answer: it
		// holds no legal record, and a refusal only means the server has
		// moved on. A reclassification waits for its application to come
		// back (its workstation has not rejoined yet).
		for _, res := range rr.Reclassifications {
			if res.Outcome == store.RecoverWaiting {
				left.Reclassifications = append(left.Reclassifications, res.RowID)
			}
		}
	}
	if err := c.dropLost(ctx, dropped, refused); err != nil {
		return err
	}
	if len(left.Numbers)+len(left.Reclassifications) == 0 {
		return c.db.SetMeta(ctx, MetaRecoverNumbers, "")
	}
	b, err := json.Marshal(left)
	if err != nil {
		return fmt.Errorf("sync: records to give back: %w", err)
	}
	return c.db.SetMeta(ctx, MetaRecoverNumbers, string(b))
}
