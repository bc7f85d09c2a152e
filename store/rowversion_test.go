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
