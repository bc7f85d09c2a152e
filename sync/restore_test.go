package sync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	gosync "sync"
	"testing"

	"sportello/internal/citizen"
	"sportello/internal/desk"
	"sportello/store"
)

// A server brought back from a backup holds less than the workstations
// synced with it. Pulling on from their cursors would skip, silently, every
// change that takes those positions in its log again (the backup gave the
// restored log an epoch of its own); pushing would wait forever for
// acknowledgements it already had. Both stop with server_behind and an
// Italian message instead, and nothing changes; a workstation that synced
// only before the backup goes on.
func TestServerRestoredFromBackupStopsSync(t *testing.T) {
	ctx := context.Background()
	var mu gosync.Mutex
	var current http.Handler
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		h := current
		mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	serve := func(svc *desk.Service, dir string) {
		ss, err := NewServer(svc.DB(), svc.Blobs(), dir, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		ss.Register(mux)
		mu.Lock()
		current = mux
		mu.Unlock()
	}
	dir := t.TempDir()
	svc, err := desk.Open(ctx, dir, desk.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SeedDemo(ctx); err != nil {
		t.Fatal(err)
	}
	serve(svc, dir)
	sum := sha256.Sum256(ts.Certificate().Raw)
	s := &testServer{svc: svc, ts: ts, pin: hex.EncodeToString(sum[:])}
	a, b, d := enroll(t, s, "DESK01", false), enroll(t, s, "DESK02", false), enroll(t, s, "DESK03", false)
	opA := login(t, a.svc, "sportello")
	save := func(surname string) {
		if _, err := a.svc.SaveCitizen(ctx, opA, citizen.Citizen{Surname: surname, Name: "Anna", CodiceFiscale: cf(t, surname, "Anna", "1980-02-03")}); err != nil {
			t.Fatal(err)
		}
	}
	save("Rossi")
	a.sync(t)
	b.sync(t)
	d.sync(t)

	// The backup, then more work synced everywhere.
	restored := t.TempDir()
	if err := svc.DB().BackupTo(ctx, filepath.Join(restored, "sportello.db")); err != nil {
		t.Fatal(err)
	}
	save("Verdi")
	a.sync(t)
	b.sync(t)

	// The server's disk is lost; it comes back from the backup.
	if err := svc.Close(); err != nil {
		t.Fatal(err)
	}
	back, err := desk.Open(ctx, restored, desk.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { back.Close() })
	serve(back, restored)
	// D synced only before the backup: nothing of it was lost, it goes on,
	// and its work makes the restored log grow past where B had pulled.
	opD := login(t, d.svc, "sportello")
	for _, surname := range []string{"Neri", "Gallo", "Conti", "Costa", "Fontana", "Rizzo"} {
		if _, err := d.svc.SaveCitizen(ctx, opD, citizen.Citizen{Surname: surname, Name: "Luca", CodiceFiscale: cf(t, surname, "Luca", "1975-04-05")}); err != nil {
			t.Fatal(err)
		}
	}
	d.sync(t)
	d.sync(t)
	before, err := back.DB().CountCitizens(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// B only pulled, past the backup: the log has grown past its cursor
	// again, and pulling on would skip what took those positions.
	var head int64
	if err := back.DB().Read(ctx, func(q store.Querier) error {
		return q.QueryRow(`SELECT COALESCE(MAX(seq), 0) FROM sync_changes`).Scan(&head)
	}); err != nil {
		t.Fatal(err)
	}
	if cursor, err := b.client.metaInt(ctx, MetaPullCursor); err != nil || cursor >= head {
		t.Fatalf("the restored log (%d) did not grow past B's cursor (%d): %v", head, cursor, err)
	}
	err = b.client.SyncOnce(ctx)
	if !errors.Is(err, ErrServerBehind) {
		t.Fatalf("pull from a restored server: %v, want ErrServerBehind", err)
	}
	if st := b.client.State(); st.LastError != serverBehindMessage {
		t.Errorf("B's status: %q", st.LastError)
	}
	// A pushes something new: the server acknowledges less than before.
	save("Bianchi")
	if err := a.client.SyncOnce(ctx); !errors.Is(err, ErrServerBehind) {
		t.Fatalf("push to a restored server: %v, want ErrServerBehind", err)
	}
	if st := a.client.State(); st.LastError != serverBehindMessage || st.Pending == 0 {
		t.Errorf("A's status: %q, %d pending", st.LastError, st.Pending)
	}
	if after, err := back.DB().CountCitizens(ctx); err != nil || after != before {
		t.Errorf("the restored server went from %d to %d citizens (%v)", before, after, err)
	}
}
