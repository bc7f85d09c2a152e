package sync

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"

	"sportello/store"
)

// A refused change is acknowledged (it never blocks the queue) but stays in
// the replica that made it. After each pull the client asks the server for
// its copy of those rows and brings its own back to it
// (store.Tx.RepairRefused): replicas converge even when the server refuses
// a change. Which changes still need it is kept in MetaRepair, written in
// the transaction that moved the push cursor past them, so a crash loses
// none; the repair of a whole list is one transaction, and running it again
// is harmless.

// addRepairs adds refused changes to MetaRepair inside tx.
func addRepairs(tx *store.Tx, rejected []store.Rejection) error {
	if len(rejected) == 0 {
		return nil
	}
	seqs, err := repairsIn(tx)
	if err != nil {
		return err
	}
	for _, r := range rejected {
		seqs = append(seqs, r.OriginSeq)
	}
	return setRepairs(tx, seqs)
}

func repairsIn(tx *store.Tx) ([]int64, error) {
	raw, err := tx.Meta(MetaRepair)
	if err != nil || raw == "" {
		return nil, err
	}
	var seqs []int64
	if err := json.Unmarshal([]byte(raw), &seqs); err != nil {
		return nil, fmt.Errorf("sync: refused changes to repair: %w", err)
	}
	return seqs, nil
}

func setRepairs(tx *store.Tx, seqs []int64) error {
	slices.Sort(seqs)
	seqs = slices.Compact(seqs)
	if len(seqs) == 0 {
		return tx.SetMeta(MetaRepair, "")
	}
	b, err := json.Marshal(seqs)
	if err != nil {
		return fmt.Errorf("sync: refused changes to repair: %w", err)
	}
	return tx.SetMeta(MetaRepair, string(b))
}

// repairRefused brings the rows of refused changes back to the server's
// copy, up to MaxRefusedPerRequest per request. A row the server does not
// have and that rows of this replica still refer to stays listed, and is
// tried again at the next sync: it may be a row another workstation has
// still to push again to a restored server (the refused change an edit of
// it), and once the server has it the edit is undone field by field.
func (c *Client) repairRefused(ctx context.Context) error {
	raw, err := c.db.Meta(ctx, MetaRepair)
	if err != nil || raw == "" {
		return err
	}
	var pending []int64
	if err := json.Unmarshal([]byte(raw), &pending); err != nil {
		return fmt.Errorf("sync: refused changes to repair: %w", err)
	}
	for len(pending) > 0 {
		ask := pending[:min(len(pending), MaxRefusedPerRequest)]
		pending = pending[len(ask):]
		var rr RefusedResponse
		if err := c.postJSON(ctx, "/v1/refused", RefusedRequest{OriginSeqs: ask}, &rr); err != nil {
			return err
		}
		// The latest change first: a row refused whole and refused again
		// later is judged by its latest write, and a row that refers to
		// another (an application to its citizen) goes before it.
		sort.Slice(rr.Rows, func(i, j int) bool { return rr.Rows[i].OriginSeq > rr.Rows[j].OriginSeq })
		err = c.db.Write(ctx, store.Actor{OperatorID: "sync"}, func(tx *store.Tx) error {
			for _, st := range rr.Rows {
				if !slices.Contains(ask, st.OriginSeq) {
					return fmt.Errorf("sync: the server answered for change %d, not asked", st.OriginSeq)
				}
			}
			// A row still referred to by another refused row of this list
			// (an application by its registration, updated after it) is
			// removed in a later pass, once what refers to it is gone.
			// A row the server does not have that stays here — still
			// referred to, or written again locally since — is asked for
			// again at the next sync (again).
			var maybe []store.RowState
			pass := rr.Rows
			for len(pass) > 0 {
				var blocked []store.RowState
				for _, st := range pass {
					// What was done goes to the audit log (RepairRefused).
					out, err := tx.RepairRefused(st.OriginSeq, st)
					if err != nil {
						return fmt.Errorf("sync: repair refused change %d: %w", st.OriginSeq, err)
					}
					switch {
					case out == store.RepairBlocked:
						blocked = append(blocked, st)
					case out == store.RepairLater && !st.Exists:
						maybe = append(maybe, st)
					}
				}
				if len(blocked) == len(pass) {
					break // referred to by later local work or rows the server lacks: kept
				}
				pass = blocked
			}
			var again []int64
			for _, st := range append(maybe, pass...) {
				if st.Exists {
					continue
				}
				// Still here (a later refused change of it may have removed
				// it in this very repair).
				if here, err := tx.RowExists(st.Table, st.RowID); err != nil {
					return err
				} else if here {
					again = append(again, st.OriginSeq)
				}
			}
			// Changes the server has no refusal for (answered by nobody)
			// are dropped with those answered: there is nothing to undo.
			left, err := repairsIn(tx)
			if err != nil {
				return err
			}
			left = slices.DeleteFunc(left, func(s int64) bool { return slices.Contains(ask, s) && !slices.Contains(again, s) })
			return setRepairs(tx, left)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// postJSON posts req as JSON to the server and decodes its answer into resp.
func (c *Client) postJSON(ctx context.Context, path string, req, resp any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("sync: encode %s: %w", path, err)
	}
	r, err := c.do(ctx, http.MethodPost, path, bytes.NewReader(body), map[string]string{"Content-Type": "application/json", "Accept-Encoding": "gzip"})
	if err != nil {
		return err
	}
	return decodeResp(r, resp)
}
