package store

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"sportello/internal/citizen"
	"sportello/internal/ids"
)

// A desk's edit the lost server refused is repaired (undone), then applied
// again when the desk rejoins the restored server, which accepts it. Another
// desk's later edit of the same field, which the lost server had forwarded
// and the restored server refuses, is then reverted: the desk gets its own
// edit back from its log, as the register now has it, not the value from
// before both.
func TestRevertAfterReapplyKeepsTheDesksOwnWrite(t *testing.T) {
	ctx := context.Background()
	clkA := &fakeClock{time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	clkB, clkS := &fakeClock{clkA.t}, &fakeClock{clkA.t}
	a, b, s := openAt(t, "a", clkA), openAt(t, "b", clkB), openAt(t, "s", clkS)
	c := citizen.Citizen{ID: "c1", Surname: "Rossi", Name: "Mario", Phone: "000"}
	putCitizen(t, a, c)
	ship(t, a, s, true)
	ship(t, s, b, false)

	// A's edit, which the (lost) server refuses: A repairs it.
	c.Phone = "111"
	clkA.t = clkA.t.Add(time.Minute)
	putCitizen(t, a, c)
	var seq int64
	if err := a.r.QueryRow(`SELECT MAX(origin_seq) FROM sync_changes WHERE workstation_id = ?`, a.WorkstationID()).Scan(&seq); err != nil {
		t.Fatal(err)
	}
	st, err := s.RowStates(ctx, "citizens", []string{"c1"})
	if err != nil {
		t.Fatal(err)
	}
	st[0].OriginSeq = seq
	if err := a.Write(ctx, Actor{OperatorID: "sync"}, func(tx *Tx) error {
		out, err := tx.RepairRefused(seq, st[0])
		if err == nil && out != RepairRestored {
			t.Errorf("repair: %s", out)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	register := st[0].Versions["phone"]

	// B's later edit, accepted by the lost server and pulled by A.
	c.Phone = "222"
	clkB.t = clkB.t.Add(2 * time.Minute)
	putCitizen(t, b, c)
	ship(t, b, s, true)
	ship(t, s, a, false)
	var void string
	if err := b.r.QueryRow(`SELECT hlc FROM sync_changes WHERE workstation_id = ? ORDER BY origin_seq DESC LIMIT 1`, b.WorkstationID()).Scan(&void); err != nil {
		t.Fatal(err)
	}

	// A rejoins the restored server: its repaired edit is applied again
	// (it loses to B's later one here) and pushed again, and accepted.
	if err := a.Write(ctx, Actor{OperatorID: "sync"}, func(tx *Tx) error {
		n, err := tx.ReapplyRepaired(seq - 1)
		if err == nil && n != 1 {
			t.Errorf("reapplied %d changes", n)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}

	// The restored server refuses B's edit and reverts it, to the
	// register's value from before both (A's edit reaches it later).
	vals, _ := json.Marshal(Fields{"phone": "000"})
	vers, _ := json.Marshal(map[string]fieldVersion{"phone": register})
	revert := Change{TxID: ids.New(), Table: "sync_reverts", RowID: ids.Derived("sync_reverts", "citizens", "c1", void), Op: "insert",
		HLC: void, OperatorID: "server", WorkstationID: s.WorkstationID(), OriginSeq: 1 << 40}
	revert.Data, _ = json.Marshal(Fields{"tbl": "citizens", "row_id": "c1", "void_hlc": void, "vals": string(vals), "versions": string(vers), "created_at": "2026-03-01T10:00:00Z"})
	if err := a.Write(ctx, Actor{OperatorID: "sync"}, func(tx *Tx) error {
		_, err := tx.ApplyRemote(revert, ApplyOptions{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got, err := a.Citizen(ctx, "c1"); err != nil || got.Phone != "111" {
		t.Fatalf("A's phone after the revert: %q (%v), want its own edit, which the restored server accepted", got.Phone, err)
	}
}
