package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"sportello/internal/application"
	"sportello/internal/citizen"
	"sportello/internal/hlc"
)

type fakeClock struct{ t time.Time }

func (f *fakeClock) now() time.Time { return f.t }

func openAt(t *testing.T, name string, clk *fakeClock) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), name+".db"), Options{Synchronous: "NORMAL", Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// ship applies to `to` the changes of `from` that sync would carry: to the
// server (conflicts) a replica's own changes, from the server every change
// that did not originate on `to`.
func ship(t *testing.T, from, to *DB, conflicts bool) {
	t.Helper()
	ctx := context.Background()
	cs, err := from.ChangesAfter(ctx, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if err := to.Write(ctx, Actor{}, func(tx *Tx) error {
		for _, c := range cs {
			if c.WorkstationID == to.WorkstationID() || conflicts && c.WorkstationID != from.WorkstationID() {
				continue // like push (a replica's own changes) and pull (everyone else's)
			}
			if _, err := tx.ApplyRemote(c, ApplyOptions{RecordConflicts: conflicts, Forward: conflicts}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func putCitizen(t *testing.T, db *DB, c citizen.Citizen) {
	t.Helper()
	if err := db.Write(context.Background(), Actor{OperatorID: "op"}, func(tx *Tx) error { _, err := tx.PutCitizen(c); return err }); err != nil {
		t.Fatal(err)
	}
}

// citizenOnTwoReplicas opens two replicas and a server on their own clocks,
// all at the same time, with one citizen created on a and shipped to all.
func citizenOnTwoReplicas(t *testing.T) (a, b, s *DB, clkA, clkB, clkS *fakeClock, c citizen.Citizen) {
	t.Helper()
	clkA = &fakeClock{time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	clkB, clkS = &fakeClock{clkA.t}, &fakeClock{clkA.t}
	a, b, s = openAt(t, "a", clkA), openAt(t, "b", clkB), openAt(t, "s", clkS)
	c = citizen.Citizen{ID: citizen.IDForCodiceFiscale("RSSMRA85T10A562S"), CodiceFiscale: "RSSMRA85T10A562S", Surname: "Rossi", Name: "Mario"}
	putCitizen(t, a, c)
	ship(t, a, s, true)
	ship(t, s, b, false)
	return a, b, s, clkA, clkB, clkS, c
}

func TestMergeFieldsAndConflicts(t *testing.T) {
	ctx := context.Background()
	a, b, s, clkA, clkB, _, c := citizenOnTwoReplicas(t)
	id := c.ID

	// Concurrent edits of different fields both survive.
	ca, cb := c, c
	ca.Phone = "333 1111111"
	clkA.t = clkA.t.Add(time.Minute)
	putCitizen(t, a, ca)
	cb.Email = "mario@example.it"
	clkB.t = clkB.t.Add(2 * time.Minute)
	putCitizen(t, b, cb)
	// Same field on both: B writes later (higher clock) and must win everywhere.
	ca.Notes, cb.Notes = "nota di A", "nota di B"
	clkA.t = clkA.t.Add(time.Minute)
	putCitizen(t, a, ca)
	clkB.t = clkB.t.Add(time.Minute)
	putCitizen(t, b, cb)

	ship(t, b, s, true) // B first this time: order must not matter
	ship(t, a, s, true)
	ship(t, s, a, false)
	ship(t, s, b, false)
	ship(t, s, b, false) // a replay changes nothing

	for name, db := range map[string]*DB{"a": a, "b": b, "s": s} {
		got, err := db.Citizen(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got.Phone != "333 1111111" || got.Email != "mario@example.it" || got.Notes != "nota di B" {
			t.Errorf("%s: phone=%q email=%q notes=%q", name, got.Phone, got.Email, got.Notes)
		}
	}
	var n int
	var loser string
	if err := s.r.QueryRow(`SELECT count(*), COALESCE(MAX(loser_value), '') FROM sync_conflicts WHERE col = 'notes'`).Scan(&n, &loser); err != nil {
		t.Fatal(err)
	}
	if n != 1 || loser != `"nota di A"` {
		t.Fatalf("conflicts on notes: %d, loser %s", n, loser)
	}
	if err := s.r.QueryRow(`SELECT count(*) FROM sync_conflicts WHERE col <> 'notes'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("spurious conflicts: %d %v", n, err)
	}
	// The conflict record itself reaches the replicas.
	ship(t, s, a, false)
	if err := a.r.QueryRow(`SELECT count(*) FROM sync_conflicts`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("conflict not replicated: %d %v", n, err)
	}
}

func TestMergeStateNeverMovesBackwards(t *testing.T) {
	clkA := &fakeClock{time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	clkB := &fakeClock{clkA.t}
	clkS := &fakeClock{clkA.t}
	a, b, s := openAt(t, "a", clkA), openAt(t, "b", clkB), openAt(t, "s", clkS)
	putCitizen(t, a, citizen.Citizen{ID: "c1", Surname: "Neri"})
	app := application.Application{ID: "app1", ProcedureID: "p", CitizenID: "c1", OfficeID: "o", State: application.Bozza}
	put := func(db *DB, st application.State) {
		app.State = st
		if err := db.Write(context.Background(), Actor{}, func(tx *Tx) error { _, err := tx.PutApplication(app); return err }); err != nil {
			t.Fatal(err)
		}
	}
	put(a, application.Bozza)
	ship(t, a, s, true)
	ship(t, s, b, false)
	// A moves it forward; B, later by the clock but unaware, writes an older state.
	clkA.t = clkA.t.Add(time.Minute)
	put(a, application.Inoltrata)
	clkB.t = clkB.t.Add(time.Hour)
	put(b, application.Completa)
	ship(t, a, s, true)
	ship(t, b, s, true)
	ship(t, s, a, false)
	ship(t, s, b, false)
	for name, db := range map[string]*DB{"a": a, "b": b, "s": s} {
		got, err := db.Application(context.Background(), "app1")
		if err != nil {
			t.Fatal(err)
		}
		if got.State != application.Inoltrata {
			t.Errorf("%s: state %s, want inoltrata", name, got.State)
		}
	}
}

func TestApplyRejectsInvalidChanges(t *testing.T) {
	clk := &fakeClock{time.Now()}
	db := openAt(t, "x", clk)
	good := Change{WorkstationID: "w", OriginSeq: 1, Table: "citizens", RowID: "c", Op: "insert", HLC: "0000000000001-00000000-w", Data: []byte(`{"surname":"X","created_at":"t"}`)}
	cases := map[string]Change{}
	bad := good
	bad.Table = "sqlite_master"
	cases["table"] = bad
	bad = good
	bad.Data = []byte(`{"surname":"X","password":"y"}`)
	cases["column"] = bad
	bad = good
	bad.HLC = "yesterday"
	cases["clock"] = bad
	bad = good
	bad.Data = []byte(`{"surname":`)
	cases["json"] = bad
	bad = good
	bad.OriginSeq = 0
	cases["origin"] = bad
	for name, c := range cases {
		err := db.Write(context.Background(), Actor{}, func(tx *Tx) error { _, err := tx.ApplyRemote(c, ApplyOptions{}); return err })
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestResolveConflictRestoresLoser(t *testing.T) {
	ctx := context.Background()
	clkA := &fakeClock{time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	clkB := &fakeClock{clkA.t}
	clkS := &fakeClock{clkA.t}
	a, b, s := openAt(t, "a", clkA), openAt(t, "b", clkB), openAt(t, "s", clkS)
	c := citizen.Citizen{ID: "c1", Surname: "Rossi"}
	putCitizen(t, a, c)
	ship(t, a, s, true)
	ship(t, s, b, false)
	c.Notes = "A"
	clkA.t = clkA.t.Add(time.Minute)
	putCitizen(t, a, c)
	c.Notes = "B"
	clkB.t = clkB.t.Add(2 * time.Minute)
	putCitizen(t, b, c)
	ship(t, a, s, true)
	ship(t, b, s, true)
	ship(t, s, a, false)
	cs, err := a.Conflicts(ctx, true)
	if err != nil || len(cs) != 1 || cs[0].LoserValue != `"A"` {
		t.Fatalf("conflicts on A: %v %+v", err, cs)
	}
	clkA.t = clkA.t.Add(time.Hour)
	if err := a.Write(ctx, Actor{OperatorID: "op"}, func(tx *Tx) error { return tx.ResolveConflict(cs[0].ID, true) }); err != nil {
		t.Fatal(err)
	}
	ship(t, a, s, true)
	ship(t, s, b, false)
	for name, db := range map[string]*DB{"a": a, "b": b, "s": s} {
		got, _ := db.Citizen(ctx, "c1")
		open, _ := db.Conflicts(ctx, true)
		if got.Notes != "A" || len(open) != 0 {
			t.Errorf("%s: notes %q, open conflicts %d", name, got.Notes, len(open))
		}
	}
}

// A citizen created on two replicas, the second creation reaching the server
// after the stable horizon has passed the first: the second replica wrote an
// insert (it did not have the row), so it never saw the first value and the
// loser is kept in a conflict record. Only an update with no base over a
// version below the horizon comes from a replica that saw the value in its
// initial copy.
func TestIndependentCreationPastHorizonKeepsConflict(t *testing.T) {
	ctx := context.Background()
	clkA := &fakeClock{time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	clkB := &fakeClock{clkA.t.Add(time.Hour)}
	clkS := &fakeClock{clkA.t}
	a, b, s := openAt(t, "a", clkA), openAt(t, "b", clkB), openAt(t, "s", clkS)
	id := citizen.IDForCodiceFiscale("RSSMRA85T10A562S")
	putCitizen(t, a, citizen.Citizen{ID: id, CodiceFiscale: "RSSMRA85T10A562S", Surname: "Rossi", Name: "Mario", Phone: "030 111"})
	putCitizen(t, b, citizen.Citizen{ID: id, CodiceFiscale: "RSSMRA85T10A562S", Surname: "Rossi", Name: "Mario", Phone: "030 222"})
	ship(t, a, s, true)
	cs, err := b.ChangesAfter(ctx, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	stable := hlc.Timestamp{WallMillis: clkA.t.Add(30 * time.Minute).UnixMilli()}.String() // past A's write, before B's
	var conflicts int
	if err := s.Write(ctx, Actor{}, func(tx *Tx) error {
		for _, c := range cs {
			if c.WorkstationID != b.WorkstationID() {
				continue
			}
			res, err := tx.ApplyRemote(c, ApplyOptions{RecordConflicts: true, Forward: true, Stable: stable})
			if err != nil {
				return err
			}
			conflicts += res.Conflicts
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if conflicts != 1 {
		t.Fatalf("conflicts recorded: %d, want 1 (phone 030 111 lost to 030 222)", conflicts)
	}
	got, err := s.Citizen(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Phone != "030 222" {
		t.Fatalf("phone %q, want the later write 030 222", got.Phone)
	}
}

// A replica whose initial copy left out a row's stable field versions still
// keeps the lifecycle rule: a pulled earlier state (written later by the
// clock on a desk that had not seen the protocol) does not move the
// application back, as it did not on the server.
func TestStateNeverMovesBackwardsWithoutVersions(t *testing.T) {
	ctx := context.Background()
	clkA := &fakeClock{time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	clkD := &fakeClock{clkA.t}
	a, d := openAt(t, "a", clkA), openAt(t, "d", clkD)
	putCitizen(t, a, citizen.Citizen{ID: "c1", Surname: "Neri"})
	app := application.Application{ID: "app1", ProcedureID: "p", CitizenID: "c1", OfficeID: "o", State: application.Protocollata}
	if err := a.Write(ctx, Actor{}, func(tx *Tx) error { _, err := tx.PutApplication(app); return err }); err != nil {
		t.Fatal(err)
	}
	ship(t, a, d, false)
	// What an initial copy that left out the row's stable versions holds:
	// the values, no version.
	if _, err := d.w.ExecContext(ctx, `UPDATE applications SET sync_hlc = ''`); err != nil {
		t.Fatal(err)
	}
	if _, err := d.w.ExecContext(ctx, `DELETE FROM sync_versions WHERE tbl = 'applications'`); err != nil {
		t.Fatal(err)
	}
	late := Change{WorkstationID: "desk-b", OriginSeq: 1, Table: "applications", RowID: "app1", Op: "update",
		HLC: hlc.Timestamp{WallMillis: clkA.t.Add(time.Hour).UnixMilli(), Node: "desk-b"}.String(), Data: []byte(`{"state":"bozza"}`)}
	if err := d.Write(ctx, Actor{}, func(tx *Tx) error {
		_, err := tx.ApplyRemote(late, ApplyOptions{Unlogged: true})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	got, err := d.Application(ctx, "app1")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != application.Protocollata {
		t.Fatalf("state %s, want protocollata", got.State)
	}
}

// A replica can hold a conflict record before the winning write it names
// (after a server restore, records are given back while their writes are
// still to be pushed again): restoring the loser there, where the value
// already is the loser's, must still write it, or the winner wins
// everywhere although the operator restored the loser.
func TestRestoringALoserHeldAlreadyStillWins(t *testing.T) {
	ctx := context.Background()
	a, b, s, clkA, clkB, _, c := citizenOnTwoReplicas(t)
	id := c.ID
	ca, cb := c, c
	ca.Notes, cb.Notes = "nota di A", "nota di B"
	clkA.t = clkA.t.Add(time.Minute)
	putCitizen(t, a, ca)
	clkB.t = clkB.t.Add(2 * time.Minute)
	putCitizen(t, b, cb)
	ship(t, a, s, true)
	ship(t, b, s, true) // B wins; the server records the conflict

	// A receives the conflict record only.
	cs, err := s.ChangesAfter(ctx, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	var conflictID string
	if err := a.Write(ctx, Actor{}, func(tx *Tx) error {
		for _, ch := range cs {
			if ch.Table == "sync_conflicts" {
				conflictID = ch.RowID
				if _, err := tx.ApplyRemote(ch, ApplyOptions{}); err != nil {
					return err
				}
			}
		}
		return nil
	}); err != nil || conflictID == "" {
		t.Fatalf("conflict record to A: %q %v", conflictID, err)
	}
	clkA.t = clkA.t.Add(5 * time.Minute)
	if err := a.Write(ctx, Actor{OperatorID: "op"}, func(tx *Tx) error { return tx.ResolveConflict(conflictID, true) }); err != nil {
		t.Fatal(err)
	}
	ship(t, a, s, true)
	ship(t, s, a, false)
	ship(t, s, b, false)
	for name, db := range map[string]*DB{"a": a, "b": b, "s": s} {
		got, err := db.Citizen(ctx, id)
		if err != nil || got.Notes != "nota di A" {
			t.Errorf("%s: notes %q (%v), want the restored loser", name, got.Notes, err)
		}
	}
}

// A desk's edit that reaches the server after another desk edited the same
// field twice, without ever seeing it, is concurrent with the winner: its
// value is kept in a conflict record, though the winner's own base is later
// than it by the clock (the other desk overwrote its own edit).
func TestLateEditLosingToAChainOfEditsIsAConflict(t *testing.T) {
	ctx := context.Background()
	a, b, s, clkA, clkB, _, c := citizenOnTwoReplicas(t)
	ca, cb := c, c
	ca.Phone = "030 111"
	clkA.t = clkA.t.Add(time.Minute)
	putCitizen(t, a, ca)
	cb.Phone = "030 222"
	clkB.t = clkB.t.Add(2 * time.Minute)
	putCitizen(t, b, cb)
	cb.Phone = "030 333"
	clkB.t = clkB.t.Add(time.Minute)
	putCitizen(t, b, cb)
	ship(t, b, s, true)
	ship(t, a, s, true)
	cs, err := s.Conflicts(ctx, true)
	if err != nil || len(cs) != 1 || cs[0].Column != "phone" || cs[0].LoserValue != `"030 111"` || cs[0].WinnerValue != `"030 333"` {
		t.Fatalf("conflicts on the server: %v %+v", err, cs)
	}
}

// Three writes of a complete application's state on three replicas: one
// closes it, another rejects it, a third (which never saw either) protocols
// it, later by the clock. Every replica ends with the same state whatever
// the order it receives them in — a replica holding the stale state's later
// clock included — and the two outcomes are a conflict.
func TestStateMergeIsOrderIndependent(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	clk := map[string]*fakeClock{}
	dbs := map[string]*DB{}
	for _, n := range []string{"a", "b", "c", "s", "x", "y"} {
		clk[n] = &fakeClock{at}
		dbs[n] = openAt(t, n, clk[n])
	}
	putCitizen(t, dbs["a"], citizen.Citizen{ID: "c1", Surname: "Neri"})
	app := application.Application{ID: "app1", ProcedureID: "p", CitizenID: "c1", OfficeID: "o", State: application.Completa}
	if err := dbs["a"].Write(ctx, Actor{}, func(tx *Tx) error { _, err := tx.PutApplication(app); return err }); err != nil {
		t.Fatal(err)
	}
	ship(t, dbs["a"], dbs["s"], true)
	for _, n := range []string{"b", "c", "x", "y"} {
		ship(t, dbs["s"], dbs[n], false)
	}
	move := func(n string, after time.Duration, st application.State) {
		t.Helper()
		clk[n].t = at.Add(after)
		a := app
		a.State = st
		if err := dbs[n].Write(ctx, Actor{}, func(tx *Tx) error { _, err := tx.PutApplication(a); return err }); err != nil {
			t.Fatal(err)
		}
	}
	move("a", time.Minute, application.Respinta)
	move("b", 2*time.Minute, application.Conclusa)
	move("c", 3*time.Minute, application.Protocollata) // a stale desk: loses by the lifecycle
	ship(t, dbs["a"], dbs["s"], true)
	ship(t, dbs["b"], dbs["s"], true)
	ship(t, dbs["c"], dbs["s"], true)
	// x receives the three writes in another order than the server: the
	// stale one first, then the two outcomes, earliest first.
	for _, n := range []string{"c", "a", "b"} {
		ship(t, dbs[n], dbs["x"], true) // n's own changes
	}
	ship(t, dbs["s"], dbs["y"], false)
	for _, n := range []string{"s", "x", "y"} {
		got, err := dbs[n].Application(ctx, "app1")
		if err != nil || got.State != application.Conclusa {
			t.Errorf("%s: state %q (%v), want conclusa", n, got.State, err)
		}
	}
	cs, err := dbs["s"].Conflicts(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	var outcomes int
	for _, c := range cs {
		if c.Column == "state" && c.LoserValue == `"respinta"` {
			outcomes++
		}
	}
	if outcomes != 1 {
		t.Fatalf("conflicts on the server: %+v, want respinta lost to conclusa", cs)
	}
}

// A server restored from a backup dates its restore at its first push (what
// the lost server may have forwarded was written before it); a backup of
// that server, restored in its turn, dates a restore of its own.
func TestRestoredSinceIsThisRestoresOwn(t *testing.T) {
	ctx := context.Background()
	clk := &fakeClock{time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	since := func(db *DB) string {
		t.Helper()
		var v string
		if err := db.Write(ctx, Actor{}, func(tx *Tx) error { var err error; v, err = tx.RestoredSince(); return err }); err != nil {
			t.Fatal(err)
		}
		return v
	}
	db := openAt(t, "server", clk)
	if v := since(db); v != "" {
		t.Fatalf("a server never restored: %q", v)
	}
	restore := func(from *DB, name string) *DB {
		t.Helper()
		path := filepath.Join(t.TempDir(), name+".db")
		if err := from.BackupTo(ctx, path); err != nil {
			t.Fatal(err)
		}
		back, err := Open(ctx, path, Options{Synchronous: "NORMAL", Now: clk.now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { back.Close() })
		return back
	}
	first := restore(db, "first")
	clk.t = clk.t.Add(time.Hour)
	v1 := since(first)
	clk.t = clk.t.Add(time.Hour)
	if v := since(first); v1 == "" || v != v1 {
		t.Fatalf("first restore dated %q, then %q", v1, v)
	}
	second := restore(first, "second")
	clk.t = clk.t.Add(time.Hour)
	if v2 := since(second); v2 <= v1 {
		t.Fatalf("second restore dated %q, not after the first's %q", v2, v1)
	}
}
