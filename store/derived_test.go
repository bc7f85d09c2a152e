package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"sportello/internal/application"
	"sportello/internal/citizen"
)

// searchKeys reads a citizen's derived keys.
func searchKeys(t *testing.T, db *DB, id string) (name, doc string) {
	t.Helper()
	if err := db.r.QueryRow(`SELECT search_name, doc_number_folded FROM citizens WHERE id = ?`, id).Scan(&name, &doc); err != nil {
		t.Fatal(err)
	}
	return name, doc
}

// editedOnTwoReplicas edits, at the same time, the citizen of
// citizenOnTwoReplicas on a (editA) and, a minute later by its clock, on b
// (editB); the server merges both and a pulls the result.
func editedOnTwoReplicas(t *testing.T, editA, editB func(*citizen.Citizen)) (a, b, s *DB, c citizen.Citizen) {
	t.Helper()
	a, b, s, clkA, clkB, _, c := citizenOnTwoReplicas(t)
	ca, cb := c, c
	editA(&ca)
	clkA.t = clkA.t.Add(time.Minute)
	putCitizen(t, a, ca)
	editB(&cb)
	clkB.t = clkB.t.Add(2 * time.Minute)
	putCitizen(t, b, cb)
	ship(t, a, s, true)
	ship(t, b, s, true)
	ship(t, s, a, false)
	return a, b, s, c
}

// One desk corrects the surname, another the name, at the same time: the
// merged row has both, and its search key names both on every replica, so
// a search by the name as it now is finds the citizen.
func TestMergedNameKeepsItsSearchKey(t *testing.T) {
	ctx := context.Background()
	a, b, s, c := editedOnTwoReplicas(t, func(c *citizen.Citizen) { c.Surname = "Russo" }, func(c *citizen.Citizen) { c.Name = "Marco" })
	ship(t, s, b, false)
	for name, db := range map[string]*DB{"a": a, "b": b, "s": s} {
		got, err := db.Citizen(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Surname != "Russo" || got.Name != "Marco" {
			t.Fatalf("%s: merged %s %s", name, got.Surname, got.Name)
		}
		if key, _ := searchKeys(t, db, c.ID); key != "russo marco" {
			t.Errorf("%s: search key %q", name, key)
		}
		found, err := db.SearchCitizens(ctx, "Russo Marco", 10)
		if err != nil || len(found) != 1 {
			t.Errorf("%s: search by the merged name: %d found (%v)", name, len(found), err)
		}
	}
}

// Restoring a conflict's losing document number writes that column alone:
// its search key follows, on the replica that restores it and on those
// that receive it.
func TestRestoredDocumentKeepsItsSearchKey(t *testing.T) {
	ctx := context.Background()
	a, b, s, c := editedOnTwoReplicas(t, func(c *citizen.Citizen) { c.Document.Number = "CA 11111 AA" },
		func(c *citizen.Citizen) { c.Document.Number = "CA 22222 BB" })
	cs, err := a.Conflicts(ctx, true)
	if err != nil || len(cs) != 1 || cs[0].Column != "doc_number" {
		t.Fatalf("conflicts on A: %v %+v", err, cs)
	}
	if err := a.Write(ctx, Actor{OperatorID: "op"}, func(tx *Tx) error { return tx.ResolveConflict(cs[0].ID, true) }); err != nil {
		t.Fatal(err)
	}
	ship(t, a, s, true)
	ship(t, s, b, false)
	for name, db := range map[string]*DB{"a": a, "b": b, "s": s} {
		got, _ := db.Citizen(ctx, c.ID)
		if _, key := searchKeys(t, db, c.ID); got.Document.Number != "CA 11111 AA" || key != "CA11111AA" {
			t.Errorf("%s: document %q, search key %q", name, got.Document.Number, key)
		}
		if found, err := db.SearchCitizens(ctx, "CA11111AA", 10); err != nil || len(found) != 1 {
			t.Errorf("%s: search by the restored document: %d found (%v)", name, len(found), err)
		}
	}
}

// Migration 0014 brings in step the keys of rows written before it.
func TestMigrationRecomputesSearchKeys(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db := &DB{now: time.Now}
	var err error
	if db.w, err = sqlOpenWriter(path); err != nil {
		t.Fatal(err)
	}
	if err := migrateTo(ctx, db, 13); err != nil {
		t.Fatal(err)
	}
	for _, r := range [][]string{
		{"c1", "Russo", "Marco", "rossi marco", "CA 11111 AA", "CA22222BB"}, // out of step
		{"c2", "D'Àmbrosio", "Niccolò", "dambrosio niccolo", "", ""},        // in step
	} {
		if _, err := db.w.Exec(`INSERT INTO citizens (id, surname, name, search_name, doc_number, doc_number_folded, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')`, r[0], r[1], r[2], r[3], r[4], r[5]); err != nil {
			t.Fatal(err)
		}
	}
	db.w.Close()
	up, err := Open(ctx, path, Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	if n, d := searchKeys(t, up, "c1"); n != "russo marco" || d != "CA11111AA" {
		t.Errorf("c1: %q %q", n, d)
	}
	if n, d := searchKeys(t, up, "c2"); n != citizen.Fold("D'Àmbrosio Niccolò") || d != "" {
		t.Errorf("c2: %q %q", n, d)
	}
	var changes int
	if err := up.r.QueryRow(`SELECT count(*) FROM sync_changes`).Scan(&changes); err != nil || changes != 0 {
		t.Errorf("the migration recorded %d changes (%v): every replica recomputes on its own", changes, err)
	}
}

// A citizen the restored server refused (an absent revert) that another
// workstation registers again: a replica that could not remove it yet (an
// application pulled from a third desk still refers to it) keeps it once
// the register has it again, and nothing waits to remove it.
func TestAbsentRowBroughtBackByAnotherWorkstationStays(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	clk := map[string]*fakeClock{}
	dbs := map[string]*DB{}
	for i, n := range []string{"a", "b", "c", "d", "lost", "back"} {
		clk[n] = &fakeClock{at.Add(time.Duration(i) * time.Second)}
		dbs[n] = openAt(t, n, clk[n])
	}
	y := citizen.Citizen{ID: citizen.IDForCodiceFiscale("RSSMRA85T10A562S"), CodiceFiscale: "RSSMRA85T10A562S", Surname: "Rossi", Name: "Mario", Phone: "030 111"}
	putCitizen(t, dbs["a"], y)
	ship(t, dbs["a"], dbs["lost"], true)
	ship(t, dbs["lost"], dbs["d"], false)
	app := application.Application{ID: "app1", ProcedureID: "p", CitizenID: y.ID, OfficeID: "o", State: application.Bozza}
	if err := dbs["d"].Write(ctx, Actor{}, func(tx *Tx) error { _, err := tx.PutApplication(app); return err }); err != nil {
		t.Fatal(err)
	}
	ship(t, dbs["d"], dbs["lost"], true)
	ship(t, dbs["lost"], dbs["c"], false)

	// The restored server refuses a's insert (it does not have the row),
	// then b registers the same citizen and d pushes its application again.
	cs, err := dbs["a"].ChangesAfter(ctx, 0, 100)
	if err != nil || len(cs) == 0 {
		t.Fatalf("a's changes: %v", err)
	}
	if err := dbs["back"].Write(ctx, Actor{}, func(tx *Tx) error {
		return tx.RevertForwarded("citizens", y.ID, []string{"surname", "name", "phone"}, cs[0].HLC, Fields{"surname": "Rossi"})
	}); err != nil {
		t.Fatal(err)
	}
	yb := y
	yb.Phone = "030 222"
	putCitizen(t, dbs["b"], yb)
	ship(t, dbs["b"], dbs["back"], true)
	ship(t, dbs["d"], dbs["back"], true)
	ship(t, dbs["back"], dbs["c"], false)

	if got, err := dbs["c"].Citizen(ctx, y.ID); err != nil || got.Phone != "030 222" {
		t.Fatalf("c: %+v %v, want the citizen as b registered it", got, err)
	}
	if n, err := dbs["c"].PendingRemovals(ctx); err != nil || n != 0 {
		t.Fatalf("c: %d removals waiting (%v)", n, err)
	}
	if err := dbs["c"].Write(ctx, Actor{}, func(tx *Tx) error { _, err := tx.RemovalsDue(); return err }); err != nil {
		t.Fatal(err)
	}
	if _, err := dbs["c"].Citizen(ctx, y.ID); err != nil {
		t.Fatalf("c removed a citizen the register has: %v", err)
	}
}
