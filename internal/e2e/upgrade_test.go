package e2e

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sportello/internal/replica"
	"sportello/store"
	"sportello/sync"
)

// TestAnUpgradeKeepsWhatEarlierVersionsHeld opens, with the current
// binaries, the data folders that earlier versions of Sportello left: a
// server, and two desks that worked online and then offline and stopped with
// their changes pending (emergency registrations among them). This is a
// municipality installing a new version on the server and on desks that
// were offline for it. The fixtures are real: scripts/upgrade-fixture.sh
// builds each one with the binaries of its commit.
//
// Each database is brought to the current schema by the program that opens
// it; then every desk pushes what it held, everything it confirmed while on
// the old version is on the server (emergency registrations with a
// definitive number and their original label), the registers have no gap,
// the server's audit trail still verifies, and the desks and the server
// hold the same rows.
func TestAnUpgradeKeepsWhatEarlierVersionsHeld(t *testing.T) {
	if testing.Short() {
		t.Skip("real-process test: skipped with -short")
	}
	fixtures, err := filepath.Glob(filepath.Join("testdata", "upgrade", "*.tar.gz"))
	if err != nil || len(fixtures) == 0 {
		t.Fatalf("no upgrade fixtures in testdata/upgrade (%v)", err)
	}
	for _, fx := range fixtures {
		t.Run(strings.TrimSuffix(filepath.Base(fx), ".tar.gz"), func(t *testing.T) {
			root := t.TempDir()
			if err := untar(fx, root); err != nil {
				t.Fatal(err)
			}
			srvData, desks := filepath.Join(root, "server"), []string{filepath.Join(root, "desk01"), filepath.Join(root, "desk02")}
			var confirmed []string
			for _, name := range []string{"confirmed-desk01.txt", "confirmed-desk02.txt"} {
				raw, err := os.ReadFile(filepath.Join(root, name))
				if err != nil {
					t.Fatal(err)
				}
				confirmed = append(confirmed, strings.Split(strings.TrimSpace(string(raw)), "\n")...)
			}

			// The new program opens each desk's database: it is upgraded
			// and still holds the work done offline.
			ctx := context.Background()
			addr := freeAddr(t)
			pins := map[string]string{}
			for _, d := range desks {
				st := status(t, replicaBin, d)
				if !st.Enrolled || st.Pending == 0 {
					t.Fatalf("%s after the upgrade: enrolled %v, %d changes pending (the fixture left some)", st.Workstation, st.Enrolled, st.Pending)
				}
				// The server comes back on another port than the one the
				// fixture was made on.
				db, err := store.Open(ctx, filepath.Join(d, replica.DBFile), store.Options{})
				if err != nil {
					t.Fatal(err)
				}
				if pins[d], err = db.Meta(ctx, sync.MetaPin); err == nil {
					err = db.SetMeta(ctx, sync.MetaURL, "https://"+addr)
				}
				if cerr := db.Close(); err == nil {
					err = cerr
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			srv, fp := startServer(t, "server", srvData, addr)
			for d, pin := range pins {
				if pin != fp {
					t.Fatalf("%s pinned %s; the upgraded server presents %s", d, pin, fp)
				}
			}
			for _, d := range append(desks, desks...) {
				runBin(t, nil, replicaBin, "run", "-data", d, "-once", "-timeout", "30s")
			}
			srv.stop(t)

			stSrv := status(t, serverBin, srvData)
			for _, d := range desks {
				st := status(t, replicaBin, d)
				if st.Pending != 0 || st.Rejected != 0 || st.Conflicts != 0 {
					t.Errorf("%s: pending %d, rejected %d, open conflicts %d", st.Workstation, st.Pending, st.Rejected, st.Conflicts)
				}
				for _, table := range replica.Diff(stSrv, st) {
					t.Errorf("table %s of %s differs from the server: %+v vs %+v", table, st.Workstation, st.Tables[table], stSrv.Tables[table])
				}
			}

			db, err := store.Open(ctx, filepath.Join(srvData, replica.DBFile), store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var regs, registers int
			err = db.Read(ctx, func(q store.Querier) error {
				regs = checkConfirmed(t, q, confirmed)
				var err error
				registers, _, err = checkRegisters(t, q)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if regs < 5 || count(confirmed, "citizen") < 5 {
				t.Errorf("fixture too small to mean anything: %d registrations, %d citizens", regs, count(confirmed, "citizen"))
			}
			for _, name := range []string{"server", "desk01", "desk02"} {
				checkRowsKept(t, filepath.Join(root, "rows-"+name+".txt"), filepath.Join(srvData, replica.DBFile))
			}
			out := runBin(t, nil, serverBin, "backup", "-data", srvData, "-o", filepath.Join(root, "copia"))
			if !strings.Contains(out, "registro delle operazioni verificato") {
				t.Errorf("backup of the upgraded server: %s", out)
			}
			commit, _ := os.ReadFile(filepath.Join(root, "COMMIT"))
			t.Logf("fixture of %.12s: %d confirmed operations, %d registrations in %d registers, %d tables identical",
				commit, len(confirmed), regs, registers, len(stSrv.Tables))
		})
	}
}

// checkRowsKept checks that the server's database holds every row a database
// held before the upgrade (rowsFile: lines "table<TAB>row", written by
// scripts/upgrade-fixture.sh with the queries of testdata/upgrade/rows.sql),
// unchanged.
func checkRowsKept(t *testing.T, rowsFile, serverDB string) {
	t.Helper()
	raw, err := os.ReadFile(rowsFile)
	if err != nil {
		t.Fatal(err)
	}
	queries, err := os.ReadFile(filepath.Join("testdata", "upgrade", "rows.sql"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", serverDB)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	have := map[string]bool{}
	for _, q := range strings.Split(strings.TrimSpace(string(queries)), "\n") {
		table, query, _ := strings.Cut(q, "|")
		rows, err := db.Query(query)
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			have[table+"\t"+line] = true
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
	kept := 0
	for _, want := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		if have[want] {
			kept++
			continue
		}
		t.Errorf("%s: a row held before the upgrade is not on the server as it was:\n%s", filepath.Base(rowsFile), want)
	}
	if kept == 0 {
		t.Errorf("%s: no rows to compare", filepath.Base(rowsFile))
	}
}

// untar extracts a gzipped tar of regular files and folders into dir.
func untar(path, dir string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		name := filepath.Join(dir, filepath.FromSlash(h.Name))
		if !strings.HasPrefix(name, filepath.Clean(dir)+string(os.PathSeparator)) && name != filepath.Clean(dir) {
			return fmt.Errorf("%s: entry %q outside the folder", path, h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(name, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
				return err
			}
			out, err := os.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode)&0o777)
			if err != nil {
				return err
			}
			_, err = io.Copy(out, tr)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("%s: %s: %w", path, h.Name, err)
			}
		default:
			return fmt.Errorf("%s: entry %q of an unexpected kind", path, h.Name)
		}
	}
}
