package store

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"sportello/internal/citizen"
)

func versionsIn(t *testing.T, db *DB, table, id string) (v map[string]fieldVersion, entries int, rowHLC string) {
	t.Helper()
	if err := db.Write(context.Background(), Actor{}, func(tx *Tx) error {
		var err error
		if v, _, err = tx.readVersions(table, id); err != nil {
			return err
		}
		if err := tx.queryRow(`SELECT count(*) FROM sync_versions WHERE tbl = ? AND row_id = ?`, table, id).Scan(&entries); err != nil {
			return err
		}
		return tx.queryRow(`SELECT sync_hlc FROM `+table+` WHERE id = ?`, id).Scan(&rowHLC)
	}); err != nil {
		t.Fatal(err)
	}
	return v, entries, rowHLC
}

// A row inserted whole keeps its versions in the row: the same versions a
// sync_versions entry would hold, on the replica that wrote it and on the
// one that applied it. The first edit moves them to sync_versions.
func TestInRowVersions(t *testing.T) {
	ctx := context.Background()
	clk := &fakeClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	desk, server := openAt(t, "desk", clk), openAt(t, "server", clk)
	c := citizen.Citizen{ID: "c1", Surname: "Rossi", Name: "Anna", Phone: "+39 333 1111111"}
	putCitizen(t, desk, c)
	cs, err := desk.ChangesAfter(ctx, 0, 10)
	if err != nil || len(cs) != 1 {
		t.Fatalf("changes: %v %v", cs, err)
	}
	data, err := DecodeFields(cs[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]fieldVersion{}
	for k, v := range data {
		if !emptyValue(v) {
			want[k] = fieldVersion{H: cs[0].HLC}
		}
	}
	if len(want) < 4 {
		t.Fatalf("the insert wrote only %v", want)
	}
	ship(t, desk, server, true)
	for name, db := range map[string]*DB{"desk": desk, "server": server} {
		v, n, h := versionsIn(t, db, "citizens", "c1")
		if d := cmp.Diff(want, v); d != "" || n != 0 || h != cs[0].HLC {
			t.Errorf("%s: %d entries, sync_hlc %q, versions (-want +got):\n%s", name, n, h, d)
		}
	}

	clk.t = clk.t.Add(time.Minute)
	c.Phone = "+39 333 2222222"
	putCitizen(t, desk, c)
	cs, err = desk.ChangesAfter(ctx, cs[0].Seq, 10)
	if err != nil || len(cs) != 1 {
		t.Fatalf("changes: %v %v", cs, err)
	}
	h1 := want["phone"].H
	want["phone"] = fieldVersion{H: cs[0].HLC, B: h1}
	want["updated_at"] = fieldVersion{H: cs[0].HLC, B: h1}
	ship(t, desk, server, true)
	for name, db := range map[string]*DB{"desk": desk, "server": server} {
		v, n, h := versionsIn(t, db, "citizens", "c1")
		if d := cmp.Diff(want, v); d != "" || n != 1 || h != "" {
			t.Errorf("%s after an edit: %d entries, sync_hlc %q, versions (-want +got):\n%s", name, n, h, d)
		}
	}
	if a, _, _ := server.TableChecksum(ctx, "citizens"); a == "" {
		t.Fatal("no checksum")
	}
	da, _, _ := desk.TableChecksum(ctx, "citizens")
	sa, _, _ := server.TableChecksum(ctx, "citizens")
	if da != sa {
		t.Fatal("replicas differ")
	}
}

// Versions go in the row only when the row read back says exactly which
// columns the insert wrote.
func TestInRowVersionsOnlyWhenExact(t *testing.T) {
	db := openTest(t)
	app := Fields{"procedure_id": "p", "citizen_id": "c", "office_id": "o", "state": "bozza", "confidential": int64(0),
		"subject": "", "form_data": "{}", "stamp_duty_ids": "[]", "created_at": "x", "created_by": "y", "workstation_id": "w", "updated_at": "x"}
	keys := func(f Fields) []string {
		var ks []string
		for k := range f {
			ks = append(ks, k)
		}
		return ks
	}
	if !db.inRowVersions("applications", keys(app), app) {
		t.Error("an application written whole should keep its versions in the row")
	}
	partial := Fields{}
	for k, v := range app {
		if k != "form_data" {
			partial[k] = v
		}
	}
	if db.inRowVersions("applications", keys(partial), partial) {
		t.Error("form_data left to its default '{}' is stored non-empty but not written: versions must go to sync_versions")
	}
	wrongType := Fields{}
	for k, v := range app {
		wrongType[k] = v
	}
	wrongType["confidential"] = "0"
	if db.inRowVersions("applications", keys(wrongType), wrongType) {
		t.Error("a string into an INTEGER column may read back as another type")
	}
	hist := Fields{"application_id": "a"}
	if db.inRowVersions("application_history", keys(hist), hist) {
		t.Error("append-only tables have no versions")
	}
}

// An insert prepared off the writer (PrepareInsert) writes exactly what the
// same insert applied unprepared writes, and a prepared statement is used
// only for the change it was built for.
func TestPreparedInsertSameAsUnprepared(t *testing.T) {
	ctx := context.Background()
	clk := &fakeClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	desk, plain, prepared := openAt(t, "desk", clk), openAt(t, "plain", clk), openAt(t, "prepared", clk)
	putCitizen(t, desk, citizen.Citizen{ID: "c1", Surname: "Rossi", Name: "Anna", Phone: "+39 333 1111111"})
	putCitizen(t, desk, citizen.Citizen{ID: "c2", Surname: "Bianchi", Name: "Luca"})
	cs, err := desk.ChangesAfter(ctx, 0, 10)
	if err != nil || len(cs) != 2 {
		t.Fatalf("changes %d, %v", len(cs), err)
	}
	apply := func(db *DB, c Change, d Decoded) {
		t.Helper()
		if err := db.Write(ctx, Actor{}, func(tx *Tx) error {
			_, err := tx.ApplyRemoteDecoded(c, d, ApplyOptions{RecordConflicts: true, Forward: true})
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range cs {
		d, err := DecodeChange(c.Data)
		if err != nil {
			t.Fatal(err)
		}
		apply(plain, c, d)
		prepared.PrepareInsert(c, &d)
		if d.ready == nil {
			t.Fatalf("insert of %s not prepared", c.RowID)
		}
		apply(prepared, c, d)
	}
	for _, table := range []string{"citizens"} {
		a, _, err1 := plain.TableChecksum(ctx, table)
		b, _, err2 := prepared.TableChecksum(ctx, table)
		if err1 != nil || err2 != nil || a != b {
			t.Errorf("%s: unprepared %s, prepared %s (%v %v)", table, a, b, err1, err2)
		}
	}
	for _, id := range []string{"c1", "c2"} {
		va, _, ha := versionsIn(t, plain, "citizens", id)
		vb, _, hb := versionsIn(t, prepared, "citizens", id)
		if diff := cmp.Diff(va, vb); diff != "" || ha != hb {
			t.Errorf("%s versions differ (-unprepared +prepared):\n%s sync_hlc %q %q", id, diff, ha, hb)
		}
	}

	// Prepared for c1, handed over with another change: not used.
	other := openAt(t, "other", clk)
	d, err := DecodeChange(cs[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	other.PrepareInsert(cs[0], &d)
	moved := cs[0]
	moved.RowID = "c9"
	apply(other, moved, d)
	for id, want := range map[string]bool{"c1": false, "c9": true} {
		_, err := other.Citizen(ctx, id)
		if got := err == nil; got != want {
			t.Errorf("citizen %s present %v, want %v (%v)", id, got, want, err)
		}
	}
}
