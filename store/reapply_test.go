package store

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"sportello/internal/application"
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

// The revert of a forwarded state write gives back the register's state,
// but the desk's own moves of the application, older by the clock than the
// register's write, may be further along the lifecycle: the register takes
// them when the desk pushes them again (the state further along wins
// whatever the clocks), and they never come back to the desk in a pull. So
// the desk merges its own writes with the revert's value by the same rule,
// and ends where the register does — not on the register's earlier state.
// Another replica, which had those moves from the lost server, merges them
// again when the restored server forwards them (a pull keeps no log of
// what it applies, so nothing it brings is skipped as seen before).
func TestRevertKeepsTheDesksOwnLaterState(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	clkA, clkB, clkE, clkS := &fakeClock{start}, &fakeClock{start}, &fakeClock{start}, &fakeClock{start}
	a, b, e, s := openAt(t, "a", clkA), openAt(t, "b", clkB), openAt(t, "e", clkE), openAt(t, "s", clkS)
	putDraft(t, a, "Ricci")
	ship(t, a, s, true)
	ship(t, s, b, false)
	ship(t, s, e, false)
	setState := func(db *DB, clk *fakeClock, at time.Duration, st application.State) string {
		t.Helper()
		clk.t = start.Add(at)
		return setAppState(t, db, "app1", st)
	}
	// Desk A completes and protocols the application; desk B, later by the
	// clock and not having seen that, completes it and edits it back to a
	// draft; desk E's
	// write of the state, later still, reaches A through the lost server.
	setState(a, clkA, time.Minute, application.Completa)
	setState(a, clkA, 2*time.Minute, application.Protocollata)
	setState(b, clkB, 150*time.Second, application.Completa)
	register := setState(b, clkB, 3*time.Minute, application.Bozza)
	void := setState(e, clkE, 4*time.Minute, application.Protocollata)
	// The lost server took A's moves and E's write, and forwarded them to
	// A and to replica X.
	lost, x := openAt(t, "lost", &fakeClock{start.Add(5 * time.Minute)}), openAt(t, "x", &fakeClock{start.Add(5 * time.Minute)})
	ship(t, a, lost, true)
	ship(t, e, lost, true)
	ship(t, lost, a, false)
	pull(t, lost, x)

	// The restored server has B's draft, refuses E's write and reverts it
	// to the draft; A's moves reach it after.
	ship(t, b, s, true)
	revert := draftRevert(s, void, register)
	if err := a.Write(ctx, Actor{OperatorID: "sync"}, func(tx *Tx) error {
		_, err := tx.ApplyRemote(revert, ApplyOptions{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := x.Write(ctx, Actor{OperatorID: "sync"}, func(tx *Tx) error {
		_, err := tx.ApplyRemote(revert, ApplyOptions{Unlogged: true})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	ship(t, a, s, true)
	pull(t, s, x) // A's moves again, which X had from the lost server
	onServer, err := s.Application(ctx, "app1")
	if err != nil || onServer.State != application.Protocollata {
		t.Fatalf("server: %q %v, want protocollata", onServer.State, err)
	}
	if got, err := a.Application(ctx, "app1"); err != nil || got.State != onServer.State {
		t.Fatalf("desk A after the revert: %q (%v), want the register's %q", got.State, err, onServer.State)
	}
	if got, err := x.Application(ctx, "app1"); err != nil || got.State != onServer.State {
		t.Fatalf("replica X after the revert: %q (%v), want the register's %q", got.State, err, onServer.State)
	}
}

// A desk's own move of an application, later by the clock than a refused
// write, can still lie under it: the refused write took the application
// further along the lifecycle (a registration), which wins whatever the
// clocks. When the restored server reverts the refused write, the desk
// gets its own move back, as the register has it once the desk pushes it
// again — not the register's older value (simulation, seed 850019).
func TestRevertGivesBackTheDesksOwnLaterMoveUnderTheRefusedOne(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	clkA, clkB, clkD, clkE, clkS := &fakeClock{start}, &fakeClock{start}, &fakeClock{start}, &fakeClock{start}, &fakeClock{start}
	a, b, d, e, s := openAt(t, "a", clkA), openAt(t, "b", clkB), openAt(t, "d", clkD), openAt(t, "e", clkE), openAt(t, "s", clkS)
	putDraft(t, a, "Ferrari")
	ship(t, a, s, true)
	for _, r := range []*DB{b, d, e} {
		ship(t, s, r, false)
	}
	setState := func(db *DB, clk *fakeClock, at time.Duration, st application.State) string {
		t.Helper()
		clk.t = start.Add(at)
		return setAppState(t, db, "app1", st)
	}
	// E registers the application (its operator no longer allowed to, as
	// the restored server will judge); B checks it complete and edits it
	// back to a draft, later; D, later still and not having seen either,
	// checks it complete.
	void := setState(e, clkE, 3*time.Minute, application.Protocollata)
	setState(b, clkB, 210*time.Second, application.Completa)
	register := setState(b, clkB, 4*time.Minute, application.Bozza)
	setState(d, clkD, 5*time.Minute, application.Completa)
	// The lost server forwarded E's registration to D: further along, it
	// lies over D's own later move.
	lost := openAt(t, "lost", &fakeClock{start.Add(6 * time.Minute)})
	ship(t, a, lost, true)
	ship(t, e, lost, true)
	ship(t, lost, d, false)
	if got, err := d.Application(ctx, "app1"); err != nil || got.State != application.Protocollata {
		t.Fatalf("desk D before the revert: %q (%v)", got.State, err)
	}

	// The restored server has B's draft, refuses E's write and reverts it
	// to the draft; D's own move reaches it after, and wins by the clock.
	ship(t, b, s, true)
	revert := draftRevert(s, void, register)
	if err := d.Write(ctx, Actor{OperatorID: "sync"}, func(tx *Tx) error {
		_, err := tx.ApplyRemote(revert, ApplyOptions{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	ship(t, d, s, true)
	onServer, err := s.Application(ctx, "app1")
	if err != nil || onServer.State != application.Completa {
		t.Fatalf("server: %q %v, want D's completa", onServer.State, err)
	}
	if got, err := d.Application(ctx, "app1"); err != nil || got.State != onServer.State {
		t.Fatalf("desk D after the revert: %q (%v), want the register's %q", got.State, err, onServer.State)
	}
}

// putDraft files application app1, a draft, for citizen c1 (surname).
func putDraft(t *testing.T, db *DB, surname string) {
	t.Helper()
	putCitizen(t, db, citizen.Citizen{ID: "c1", Surname: surname})
	if err := db.Write(context.Background(), Actor{OperatorID: "op"}, func(tx *Tx) error {
		_, err := tx.PutApplication(application.Application{ID: "app1", ProcedureID: "p", CitizenID: "c1", OfficeID: "o", State: application.Bozza})
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// draftRevert is the revert record a restored server writes when it
// refuses the write of app1's state at clock void: back to the draft the
// register holds, written at clock register.
func draftRevert(server *DB, void, register string) Change {
	vals, _ := json.Marshal(Fields{"state": "bozza"})
	vers, _ := json.Marshal(map[string]fieldVersion{"state": {H: register}})
	revert := Change{TxID: ids.New(), Table: "sync_reverts", RowID: ids.Derived("sync_reverts", "applications", "app1", void), Op: "insert",
		HLC: void, OperatorID: "server", WorkstationID: server.WorkstationID(), OriginSeq: 1 << 40}
	revert.Data, _ = json.Marshal(Fields{"tbl": "applications", "row_id": "app1", "void_hlc": void, "vals": string(vals), "versions": string(vers), "created_at": "2026-03-01T10:00:00Z"})
	return revert
}

// setAppState moves an application to st on db and returns the change's
// clock.
func setAppState(t *testing.T, db *DB, id string, st application.State) string {
	t.Helper()
	if err := db.Write(context.Background(), Actor{OperatorID: "op"}, func(tx *Tx) error {
		_, err := tx.Put("applications", id, Fields{"state": string(st)})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var h string
	if err := db.r.QueryRow(`SELECT hlc FROM sync_changes WHERE workstation_id = ? ORDER BY origin_seq DESC LIMIT 1`, db.WorkstationID()).Scan(&h); err != nil {
		t.Fatal(err)
	}
	return h
}

// pull applies to a desk replica the changes of from that a pull brings,
// as the sync client does: every change that did not originate on to,
// merged with no log row (a page is applied once, on top of its cursor).
func pull(t *testing.T, from, to *DB) {
	t.Helper()
	ctx := context.Background()
	cs, err := from.ChangesAfter(ctx, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if err := to.Write(ctx, Actor{OperatorID: "sync"}, func(tx *Tx) error {
		for _, c := range cs {
			if c.WorkstationID == to.WorkstationID() {
				continue
			}
			if _, err := tx.ApplyRemote(c, ApplyOptions{Unlogged: true}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
