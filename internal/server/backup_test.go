package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sportello/internal/desk"
	"sportello/internal/replica"
	"sportello/store"
)

// A backup of the server's data folder while its database is open and
// written: the copy is a data folder with the same tables, every file its
// rows name and the certificate; a backup into the same folder again copies
// only the files it lacks;
// a file whose content no longer matches its digest stops the backup and
// leaves the previous one whole.
func TestBackupWhileServing(t *testing.T) {
	ctx := context.Background()
	dir, out := t.TempDir(), filepath.Join(t.TempDir(), "copia")
	svc, sess := openSeeded(t, dir)
	if _, err := LoadCertificate(dir, "", "", nil); err != nil {
		t.Fatal(err)
	}
	w := replica.NewWorkload(svc, sess, 7, &bytes.Buffer{})
	work := func(steps int) {
		for range steps {
			if err := w.Step(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	work(40)

	rep, err := Backup(ctx, dir, out, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	files := countFiles(t, svc.Blobs())
	if rep.FilesCopied != files || rep.FilesKept != 0 || files == 0 || !rep.Certificate || rep.Rows["applications"] == 0 {
		t.Fatalf("first backup: %+v (server holds %d files)", rep, files)
	}
	same(t, svc, out)
	var manifest BackupReport
	if b, err := os.ReadFile(filepath.Join(out, ManifestFile)); err != nil || json.Unmarshal(b, &manifest) != nil || manifest.DBSHA256 != rep.DBSHA256 {
		t.Fatalf("manifest: %+v %v", manifest, err)
	}
	for _, name := range []string{CertFile, KeyFile} {
		a, _ := os.ReadFile(filepath.Join(dir, name))
		b, _ := os.ReadFile(filepath.Join(out, name))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s not copied", name)
		}
	}

	// While the desk path writes: the copy is one consistent moment (its
	// own checks: integrity, audit chains, every named file present).
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 30 {
			if err := w.Step(ctx); err != nil {
				t.Error(err) // not Fatal: another goroutine
				return
			}
		}
	}()
	if _, err := Backup(ctx, dir, out, time.Now()); err != nil {
		t.Fatalf("backup while writing: %v", err)
	}
	<-done

	// Again, quiet: only the files it lacks travel.
	rep2, err := Backup(ctx, dir, out, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if now := countFiles(t, svc.Blobs()); rep2.FilesKept < files || rep2.FilesKept+rep2.FilesCopied != now {
		t.Fatalf("third backup copied %d and kept %d; the server went from %d to %d files", rep2.FilesCopied, rep2.FilesKept, files, now)
	}
	same(t, svc, out)

	// A damaged file on the server: refused, the last backup stays usable.
	work(20)
	named, err := svc.DB().ReferencedBlobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var victim string
	for _, sha := range named {
		if _, err := os.Stat(filepath.Join(out, "blobs", sha[:2], sha[2:4], sha)); errors.Is(err, os.ErrNotExist) {
			victim = sha
		}
	}
	if victim == "" {
		t.Fatal("the workload added no file since the last backup")
	}
	if err := os.WriteFile(svc.Blobs().Path(victim), []byte("danneggiato"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Backup(ctx, dir, out, time.Now())
	if !errors.Is(err, store.ErrCorrupt) || !bytes.Contains([]byte(desk.UserMessage(err)), []byte("non corrisponde più alla sua impronta")) {
		t.Fatalf("backup over a damaged file: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(out, ManifestFile)); err != nil || !bytes.Contains(b, []byte(rep2.DBSHA256)) {
		t.Fatalf("the previous backup's manifest changed: %v", err)
	}
	copyDB, err := store.Open(ctx, filepath.Join(out, replica.DBFile), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer copyDB.Close()
	if n, err := copyDB.RowCount(ctx, "applications"); err != nil || n != rep2.Rows["applications"] {
		t.Fatalf("the previous backup's database changed: %d applications, want %d (%v)", n, rep2.Rows["applications"], err)
	}

	// Wrong folders.
	if _, err := Backup(ctx, dir, dir, time.Now()); err == nil {
		t.Error("backup into the data folder itself accepted")
	}
	if _, err := Backup(ctx, t.TempDir(), out, time.Now()); err == nil || !bytes.Contains([]byte(desk.UserMessage(err)), []byte("Nessun database")) {
		t.Errorf("backup of an empty folder: %v", err)
	}
}

func countFiles(t *testing.T, b *store.Blobs) int64 {
	t.Helper()
	var n int64
	if err := b.Walk(func(string) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// same checks that the backup folder, opened as a data folder, holds what
// the server holds and every file its rows name.
func same(t *testing.T, svc *desk.Service, out string) {
	t.Helper()
	ctx := context.Background()
	cp, err := desk.Open(ctx, out, desk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	for _, table := range svc.DB().ReplicatedTables() {
		a, n, err1 := svc.DB().TableChecksum(ctx, table)
		b, m, err2 := cp.DB().TableChecksum(ctx, table)
		if err := errors.Join(err1, err2); err != nil {
			t.Fatal(err)
		}
		if a != b {
			t.Errorf("%s: backup %d rows, server %d rows, different content", table, m, n)
		}
	}
	named, err := cp.DB().ReferencedBlobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, sha := range named {
		if err := cp.Blobs().Verify(ctx, sha); err != nil {
			t.Errorf("file in the backup: %v", err)
		}
	}
}

// serve -backup-dir: a backup at start and then at every interval, while
// serving; the loop ends with the server.
func TestServeBacksUpPeriodically(t *testing.T) {
	dir, out := t.TempDir(), filepath.Join(t.TempDir(), "copie")
	logs := newLockedBuffer()
	_, _, stop := startWith(t, dir, slog.New(slog.NewJSONHandler(logs, nil)), func(c *Config) {
		c.BackupDir, c.BackupEvery = out, 50*time.Millisecond
	})
	backups := func() int { return strings.Count(logs.String(), `"msg":"backup"`) }
	for deadline := time.Now().Add(20 * time.Second); backups() < 2 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
	}
	if n := backups(); n < 2 {
		t.Fatalf("%d backups logged: %s", n, logs.String())
	}
	if _, err := os.Stat(filepath.Join(out, ManifestFile)); err != nil {
		t.Fatal(err)
	}
	stop() // checks the graceful shutdown, the backup loop included
}
