package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"sportello/internal/application"
	"sportello/internal/citizen"
)

func TestSnapshotCopiesOnlyWhatTheWorkstationMayHold(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	if err := db.Write(ctx, Actor{OperatorID: "op"}, func(tx *Tx) error {
		if _, err := tx.PutCitizen(citizen.Citizen{ID: "c1", Surname: "Rossi"}); err != nil {
			return err
		}
		for id, conf := range map[string]bool{"public": false, "secret": true} {
			if _, err := tx.PutApplication(application.Application{ID: id, ProcedureID: "p", CitizenID: "c1", OfficeID: "o", State: application.Bozza, Confidential: conf}); err != nil {
				return err
			}
			if err := tx.AppendHistory(id, "", application.Bozza, "avviata"); err != nil {
				return err
			}
		}
		return tx.InsertToken("hash-of-a-token", "ws-x")
	}); err != nil {
		t.Fatal(err)
	}
	for _, conf := range []bool{false, true} {
		path := filepath.Join(t.TempDir(), "snap.db")
		cursor, err := db.Snapshot(ctx, path, SnapshotFor{WorkstationID: "ws-new", WorkstationCode: "NEW01", Confidential: conf})
		if err != nil {
			t.Fatal(err)
		}
		if last, _ := db.ChangesAfter(ctx, 0, 1000); cursor != last[len(last)-1].Seq {
			t.Fatalf("cursor %d", cursor)
		}
		s, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		count := func(q string) int {
			var n int
			if err := s.QueryRow(q).Scan(&n); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			return n
		}
		wantApps := 1
		if conf {
			wantApps = 2
		}
		if n := count(`SELECT count(*) FROM applications`); n != wantApps {
			t.Errorf("confidential=%v: %d applications", conf, n)
		}
		if n := count(`SELECT count(*) FROM application_history`); n != wantApps {
			t.Errorf("confidential=%v: %d history rows", conf, n)
		}
		for _, q := range []string{`SELECT count(*) FROM sync_changes`, `SELECT count(*) FROM audit_log`, `SELECT count(*) FROM sync_tokens`} {
			if n := count(q); n != 0 {
				t.Errorf("%s = %d in the snapshot", q, n)
			}
		}
		if n := count(`SELECT count(*) FROM citizens`); n != 1 {
			t.Errorf("citizens %d", n)
		}
		var ws string
		s.QueryRow(`SELECT value FROM local_meta WHERE key = 'workstation_id'`).Scan(&ws)
		s.Close()
		if ws != "ws-new" {
			t.Errorf("identity %q", ws)
		}
		reopened, err := Open(ctx, path, Options{Now: time.Now})
		if err != nil {
			t.Fatal(err)
		}
		if reopened.WorkstationCode() != "NEW01" {
			t.Errorf("code %q", reopened.WorkstationCode())
		}
		if err := reopened.IntegrityCheck(ctx); err != nil {
			t.Error(err)
		}
		if d := cmp.Diff(schemaDump(t, openTest(t)), schemaDump(t, reopened)); d != "" {
			t.Errorf("snapshot schema differs from a fresh replica (-fresh +snapshot):\n%s", d)
		}
		reopened.Close()
	}
}
