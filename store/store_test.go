package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"sportello/internal/application"
	"sportello/internal/citizen"
)

func openTest(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "replica.db"), Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func schemaDump(t *testing.T, db *DB) string {
	t.Helper()
	rows, err := db.w.Query(`SELECT type, name, COALESCE(sql, '') FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var ty, name, sql string
		if err := rows.Scan(&ty, &name, &sql); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %s %s\n", ty, name, sql)
	}
	return b.String()
}

// TestMigrationsFromEveryVersion brings a database to each earlier version,
// puts data in it, then opens it with the current program: the result must
// have the same schema as a fresh database, keep the data, and pass the
// integrity check.
func TestMigrationsFromEveryVersion(t *testing.T) {
	ms, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	fresh := schemaDump(t, openTest(t))
	for from := 0; from <= len(ms); from++ {
		t.Run(fmt.Sprintf("from_v%d", from), func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "old.db")
			w, err := Open(ctx, path, Options{Synchronous: "NORMAL"})
			if err != nil {
				t.Fatal(err)
			}
			w.Close()
			// Rebuild the file at version `from` by hand.
			os.Remove(path)
			os.Remove(path + "-wal")
			os.Remove(path + "-shm")
			db := &DB{now: time.Now}
			if db.w, err = sqlOpenWriter(path); err != nil {
				t.Fatal(err)
			}
			if err := migrateTo(ctx, db, from); err != nil {
				t.Fatal(err)
			}
			if from >= 1 {
				if _, err := db.w.Exec(`INSERT INTO local_meta(key, value) VALUES ('marker', 'kept')`); err != nil {
					t.Fatal(err)
				}
			}
			db.w.Close()
			up, err := Open(ctx, path, Options{Synchronous: "NORMAL"})
			if err != nil {
				t.Fatalf("upgrade from v%d: %v", from, err)
			}
			defer up.Close()
			if v, _ := up.Version(ctx); v != len(ms) {
				t.Fatalf("version %d after upgrade, want %d", v, len(ms))
			}
			if d := cmp.Diff(fresh, schemaDump(t, up)); d != "" {
				t.Fatalf("schema differs from a fresh database (-fresh +upgraded):\n%s", d)
			}
			if from >= 1 {
				if v, _ := up.Meta(ctx, "marker"); v != "kept" {
					t.Fatalf("data lost in upgrade: marker=%q", v)
				}
			}
			if err := up.IntegrityCheck(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "r.db")
	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.w.Exec(`INSERT INTO schema_migrations VALUES (999, 'future', 'x')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Open(ctx, path, Options{}); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("expected refusal of a newer schema, got %v", err)
	}
}

func TestPragmas(t *testing.T) {
	db := openTest(t)
	var mode string
	var fk, busy int
	if err := db.r.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode=%s err=%v", mode, err)
	}
	if err := db.r.QueryRow(`PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
		t.Fatalf("foreign_keys=%d err=%v", fk, err)
	}
	if err := db.w.QueryRow(`PRAGMA busy_timeout`).Scan(&busy); err != nil || busy != 10000 {
		t.Fatalf("busy_timeout=%d err=%v", busy, err)
	}
	if _, err := db.r.Exec(`INSERT INTO local_meta VALUES ('x', 'y')`); err == nil {
		t.Fatal("reader pool accepted a write")
	}
	var cache int
	if err := db.w.QueryRow(`PRAGMA cache_size`).Scan(&cache); err != nil || cache != -65536 {
		t.Fatalf("writer cache_size=%d err=%v", cache, err)
	}
}

func TestPutRecordsOnlyChangedFieldsWithAudit(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	c := citizen.Citizen{ID: citizen.IDForCodiceFiscale("RSSMRA85T10A562S"), CodiceFiscale: "RSSMRA85T10A562S", Surname: "Rossi", Name: "Mario", Email: "mario@example.it"}
	put := func(c citizen.Citizen) bool {
		var changed bool
		if err := db.Write(ctx, Actor{OperatorID: "op1"}, func(tx *Tx) error {
			var err error
			changed, err = tx.PutCitizen(c)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return changed
	}
	if !put(c) {
		t.Fatal("insert reported no change")
	}
	if put(c) {
		t.Fatal("identical write reported a change")
	}
	c.Phone = "+39 333 1234567"
	if !put(c) {
		t.Fatal("edit reported no change")
	}
	changes, err := db.ChangesAfter(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 2 {
		t.Fatalf("got %d changes, want 2 (insert + one edit)", len(changes))
	}
	if changes[0].Op != "insert" || changes[1].Op != "update" {
		t.Fatalf("ops: %s %s", changes[0].Op, changes[1].Op)
	}
	var edit map[string]any
	if err := json.Unmarshal(changes[1].Data, &edit); err != nil {
		t.Fatal(err)
	}
	if len(edit) != 2 || edit["phone"] != "+39 333 1234567" || edit["updated_at"] == nil {
		t.Fatalf("edit recorded %v, want only phone and updated_at", edit)
	}
	if changes[0].HLC >= changes[1].HLC || changes[1].OperatorID != "op1" || changes[1].WorkstationID != db.WorkstationID() {
		t.Fatalf("change metadata wrong: %+v", changes[1])
	}
	var audits int
	db.r.QueryRow(`SELECT count(*) FROM audit_log`).Scan(&audits)
	if audits != 2 {
		t.Fatalf("audit entries %d, want 2", audits)
	}
	if b, err := db.VerifyAudit(ctx); err != nil || b != nil {
		t.Fatalf("audit chain: %v %v", b, err)
	}
	got, err := db.Citizen(ctx, c.ID)
	if err != nil || got.Phone != c.Phone || got.Surname != "Rossi" {
		t.Fatalf("read back %+v %v", got, err)
	}
}

func TestRolledBackWriteLeavesNothing(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	boom := errors.New("boom")
	err := db.Write(ctx, Actor{}, func(tx *Tx) error {
		if _, err := tx.PutCitizen(citizen.Citizen{ID: "c1", Surname: "Bianchi"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	for _, table := range []string{"citizens", "sync_changes", "audit_log"} {
		var n int
		db.r.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n)
		if n != 0 {
			t.Errorf("%s has %d rows after rollback", table, n)
		}
	}
}

func TestAppendOnlyTablesRefuseUpdateAndDelete(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	if err := db.Write(ctx, Actor{OperatorID: "op"}, func(tx *Tx) error {
		if _, err := tx.PutCitizen(citizen.Citizen{ID: "c1", Surname: "Verdi"}); err != nil {
			return err
		}
		if _, err := tx.PutApplication(application.Application{ID: "a1", ProcedureID: "p", CitizenID: "c1", OfficeID: "o", State: application.Bozza}); err != nil {
			return err
		}
		return tx.AppendHistory("a1", "", application.Bozza, "creata")
	}); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`UPDATE application_history SET note = 'x'`,
		`DELETE FROM application_history`,
		`UPDATE audit_log SET data = '{}'`,
		`DELETE FROM audit_log`,
	} {
		if _, err := db.w.Exec(stmt); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: got %v", stmt, err)
		}
	}
	if err := db.Write(ctx, Actor{}, func(tx *Tx) error {
		_, err := tx.Put("application_history", "whatever", Fields{"note": "x"})
		return err
	}); err == nil {
		t.Error("Put on an append-only table succeeded")
	}
}

func TestAuditTamperingDetected(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		if err := db.Write(ctx, Actor{OperatorID: "op"}, func(tx *Tx) error {
			_, err := tx.PutCitizen(citizen.Citizen{ID: fmt.Sprintf("c%d", i), Surname: "Neri"})
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	// Somebody with file access drops the trigger and edits entry 3.
	if _, err := db.w.Exec(`DROP TRIGGER audit_log_no_update`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.w.Exec(`UPDATE audit_log SET data = '{"surname":"Falsi"}' WHERE seq = 3`); err != nil {
		t.Fatal(err)
	}
	b, err := db.VerifyAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if b == nil || b.Seq != 3 {
		t.Fatalf("want a break at seq 3, got %v", b)
	}
}

func TestSearchCitizens(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	people := []citizen.Citizen{
		{ID: "1", CodiceFiscale: "RSSMRA85T10A562S", Surname: "Rossi", Name: "Mario", Document: citizen.IdentityDocument{Number: "CA 12345 AB"}},
		{ID: "2", CodiceFiscale: "DMBNCL80A01H501X", Surname: "D'Àmbrosio", Name: "Niccolò"},
		{ID: "3", Surname: "Rossini", Name: "Gioachino"},
		{ID: "4", Surname: "Bianchi", Name: "Mario"},
	}
	if err := db.Write(ctx, Actor{}, func(tx *Tx) error {
		for _, p := range people {
			if _, err := tx.PutCitizen(p); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		q    string
		want []string
	}{
		{"rossi", []string{"1", "3"}},
		{"Rossi Mario", []string{"1"}},
		{"mario rossi", []string{"1"}},
		{"dambrosio", []string{"2"}},
		{"d'ambrosio niccolo", []string{"2"}},
		{"RSSMRA85", []string{"1"}},
		{"ca12345ab", []string{"1"}},
		{"verdi", nil},
		{"", nil},
	}
	for _, c := range cases {
		got, err := db.SearchCitizens(ctx, c.q, 10)
		if err != nil {
			t.Fatalf("%q: %v", c.q, err)
		}
		var ids []string
		for _, g := range got {
			ids = append(ids, g.ID)
		}
		if d := cmp.Diff(c.want, ids); d != "" {
			t.Errorf("search %q (-want +got):\n%s", c.q, d)
		}
	}
}

func TestBlobsAtomicAndVerified(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b, err := OpenBlobs(dir)
	if err != nil {
		t.Fatal(err)
	}
	content := []byte("documento d'identità — città")
	sum := sha256.Sum256(content)
	digest, size, err := b.Put(ctx, bytes.NewReader(content), 1024)
	if err != nil || digest != hex.EncodeToString(sum[:]) || size != int64(len(content)) {
		t.Fatalf("Put: %s %d %v", digest, size, err)
	}
	again, _, err := b.Put(ctx, bytes.NewReader(content), 1024)
	if err != nil || again != digest {
		t.Fatalf("second Put: %s %v", again, err)
	}
	if err := b.Verify(ctx, digest); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Put(ctx, bytes.NewReader(make([]byte, 2000)), 1024); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversize: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "tmp"))
	if len(entries) != 0 {
		t.Fatalf("temporary files left: %d", len(entries))
	}
	// Corruption on disk is detected on demand.
	if err := os.WriteFile(b.Path(digest), []byte("altro"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := b.Verify(ctx, digest); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("corruption not detected: %v", err)
	}
	// A leftover temp file from a crash is cleaned at open; a recent one may
	// be another process's write in progress (the server's, while a command
	// opens its folder) and stays.
	old, recent := filepath.Join(dir, "tmp", "put-123"), filepath.Join(dir, "tmp", "put-456")
	os.WriteFile(old, []byte("half"), 0o600)
	os.WriteFile(recent, []byte("writing"), 0o600)
	if err := os.Chtimes(old, time.Now().Add(-2*time.Hour), time.Now().Add(-2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenBlobs(dir); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(entries) != 1 || entries[0].Name() != "put-456" {
		t.Fatalf("temp files after open: %v; want only the recent one", entries)
	}
}

func TestChangesCarryBaseVersions(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	put := func(c citizen.Citizen) {
		if err := db.Write(ctx, Actor{OperatorID: "op"}, func(tx *Tx) error { _, err := tx.PutCitizen(c); return err }); err != nil {
			t.Fatal(err)
		}
	}
	c := citizen.Citizen{ID: "c1", Surname: "Verdi", Phone: "1"}
	put(c)
	c.Phone = "2"
	put(c)
	cs, err := db.ChangesAfter(ctx, 0, 10)
	if err != nil || len(cs) != 2 {
		t.Fatalf("%v %d", err, len(cs))
	}
	var base map[string]string
	json.Unmarshal(cs[1].Base, &base)
	if base["phone"] != cs[0].HLC || cs[0].OriginSeq != 1 || cs[1].OriginSeq != 2 {
		t.Fatalf("base %v (want phone=%s), origin seqs %d/%d", base, cs[0].HLC, cs[0].OriginSeq, cs[1].OriginSeq)
	}
}

func TestSameCodiceFiscaleTwiceIsListedNotRefused(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	if err := db.Write(ctx, Actor{}, func(tx *Tx) error {
		if _, err := tx.PutCitizen(citizen.Citizen{ID: "a", Surname: "Rossi", CodiceFiscale: "RSSMRA85T10A562S"}); err != nil {
			return err
		}
		_, err := tx.PutCitizen(citizen.Citizen{ID: "b", Surname: "Rossi", CodiceFiscale: "RSSMRA85T10A562S"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	d, err := db.DuplicateCitizens(ctx)
	if err != nil || len(d["RSSMRA85T10A562S"]) != 2 {
		t.Fatalf("duplicates %v %v", d, err)
	}
	if c, err := db.CitizenByCF(ctx, "RSSMRA85T10A562S"); err != nil || c.ID != "a" {
		t.Fatalf("lookup not deterministic: %v %v", c.ID, err)
	}
}

// A counter in local_meta that is not a number is an error, never a silent
// 0: a floor read as 0 would make the replica number its changes from 1
// again, as ones the server already has.
func TestACorruptCounterInLocalMetaIsAnError(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	if f, err := db.OwnFloors(ctx); err != nil || f != (Floors{}) {
		t.Fatalf("fresh replica floors = %+v, %v; want zero, nil", f, err)
	}
	if err := db.SetMeta(ctx, metaOriginFloor, "41"); err != nil {
		t.Fatal(err)
	}
	if f, err := db.OwnFloors(ctx); err != nil || f.OriginSeq != 41 {
		t.Fatalf("floors = %+v, %v; want origin 41", f, err)
	}
	if err := db.SetMeta(ctx, metaOriginFloor, "4l"); err != nil {
		t.Fatal(err)
	}
	_, err := db.OwnFloors(ctx)
	if err == nil || !strings.Contains(err.Error(), metaOriginFloor) {
		t.Fatalf("corrupt floor read without a precise error: %v", err)
	}
	if n, err := MetaNumber("k", ""); n != 0 || err != nil {
		t.Fatalf(`MetaNumber("") = %d, %v`, n, err)
	}
}

// The year a backup copy was made in: recorded when the copy is made; for
// a copy made before that was recorded, the latest year its register
// holds; nothing on a database that is no restored copy.
func TestCopyYear(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	year := func() int {
		t.Helper()
		var y int
		if err := db.Write(ctx, Actor{OperatorID: "server"}, func(tx *Tx) error {
			var err error
			y, err = tx.CopyYear()
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return y
	}
	if y := year(); y != 0 {
		t.Fatalf("not a copy: %d", y)
	}
	for k, v := range map[string]string{metaNumberingHeld: "1",
		metaRegisterTops: `[{"aoo":"c_m999","year":2025,"number":7},{"aoo":"c_m999","year":2026,"number":3}]`} {
		if err := db.SetMeta(ctx, k, v); err != nil {
			t.Fatal(err)
		}
	}
	if y := year(); y != 2026 {
		t.Fatalf("older copy, register up to 2026: %d", y)
	}
	// 23:30 UTC on 31 December 2026 is already 2027 in Rome.
	if err := db.SetMeta(ctx, metaCopyAt, "2026-12-31T23:30:00.000Z"); err != nil {
		t.Fatal(err)
	}
	if y := year(); y != 2027 {
		t.Fatalf("copy made at 00:30 on 1 January in Rome: %d", y)
	}
}
