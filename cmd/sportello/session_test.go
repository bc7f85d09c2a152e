package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"sportello/internal/auth"
	"sportello/internal/citizen"
	"sportello/internal/codicefiscale"
	"sportello/internal/desk"
	"sportello/internal/protocol"
	"sportello/sync"
)

// recorder is the interface side of the session in tests.
type recorder struct {
	mu      gosync.Mutex
	states  []sync.State
	catalog int
	tables  map[string]int
}

func (r *recorder) NotifyDataChanged(tables map[string]bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tables == nil {
		r.tables = map[string]int{}
	}
	for t := range tables {
		r.tables[t]++
	}
}

func (r *recorder) sawTable(t string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tables[t] > 0
}

func (r *recorder) NotifySync(st sync.State) {
	r.mu.Lock()
	r.states = append(r.states, st)
	r.mu.Unlock()
}

func (r *recorder) NotifyCatalogChanged() {
	r.mu.Lock()
	r.catalog++
	r.mu.Unlock()
}

func (r *recorder) sawOnline() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.states {
		if s.Enrolled && s.Online {
			return true
		}
	}
	return false
}

func (r *recorder) catalogChanges() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.catalog
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// server is a sync server over a demo replica, with one operator that only
// the server has.
func server(t *testing.T) (*desk.Service, *httptest.Server, string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	svc, err := desk.Open(ctx, dir, desk.Options{Synchronous: "OFF"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	if _, err := svc.SeedDemo(ctx); err != nil {
		t.Fatal(err)
	}
	if err := svc.CreateOperator(ctx, desk.System, "op-server", "centrale", "Operatore Centrale", auth.Protocollo, "", "password-centrale"); err != nil {
		t.Fatal(err)
	}
	ss, err := sync.NewServer(svc.DB(), svc.Blobs(), dir, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	ss.Register(mux)
	ts := httptest.NewTLSServer(mux)
	t.Cleanup(ts.Close)
	sum := sha256.Sum256(ts.Certificate().Raw)
	return svc, ts, hex.EncodeToString(sum[:])
}

// TestSessionEnrolReplacesReplica: enrolment stops nothing it should not,
// replaces the replica with the server's, reopens the service and starts
// sync; a refused code leaves the replica as it was and usable.
func TestSessionEnrolReplacesReplica(t *testing.T) {
	ctx := context.Background()
	srv, ts, pin := server(t)

	// A workstation on demo data, with a citizen only it has.
	dir := t.TempDir()
	s, err := openSession(ctx, dir, desk.Options{Synchronous: "OFF"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	rec := &recorder{}
	s.setNotifier(rec)
	if _, err := s.Service().SeedDemo(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.startSync(ctx); err != nil {
		t.Fatal(err)
	}
	if st := s.State(); st.Enrolled {
		t.Fatal("a fresh replica reports enrolled")
	}
	if err := s.SyncNow(ctx); err == nil {
		t.Fatal("SyncNow without a server succeeded")
	}
	op, err := s.Service().Login(ctx, "sportello", desk.DemoPassword)
	if err != nil {
		t.Fatal(err)
	}
	born, _ := time.Parse("2006-01-02", "1970-01-01")
	cf, _ := codicefiscale.Compute("Locale", "Solo", born, "M", "H501")
	local, err := s.Service().SaveCitizen(ctx, op, citizen.Citizen{Surname: "Locale", Name: "Solo", CodiceFiscale: cf, BirthPlace: "Roma"})
	if err != nil {
		t.Fatal(err)
	}

	// A refused code: the replica is reopened as it was.
	old := s.Service()
	svc, err := s.Enrol(ctx, ts.URL, pin, "XXXX-XXXX-XXXX")
	var se *sync.ServerError
	if !errors.As(err, &se) || se.Status != http.StatusForbidden {
		t.Fatalf("enrol with a wrong code: %v", err)
	}
	if svc == nil || svc == old || s.Service() != svc {
		t.Fatal("the service was not reopened")
	}
	if _, err := svc.Citizen(ctx, local.ID); err != nil {
		t.Fatalf("the local data are gone after a failed enrolment: %v", err)
	}
	if s.State().Enrolled {
		t.Fatal("enrolled after a refused code")
	}

	// The right code: the server's data, its operators, sync running.
	_, code, err := sync.CreateWorkstation(ctx, srv.DB(), "SPORT1", "Sportello 1", "desk", false)
	if err != nil {
		t.Fatal(err)
	}
	svc, err = s.Enrol(ctx, ts.URL, pin, code)
	if err != nil {
		t.Fatal(err)
	}
	if svc.DB().WorkstationCode() != "SPORT1" {
		t.Errorf("workstation %q", svc.DB().WorkstationCode())
	}
	if _, err := svc.Login(ctx, "centrale", "password-centrale"); err != nil {
		t.Errorf("the server's operator cannot log in: %v", err)
	}
	if _, err := svc.Citizen(ctx, local.ID); err == nil {
		t.Error("the replica still holds the local citizen")
	}
	if url, p := s.Server(); url != ts.URL || p != pin {
		t.Errorf("server %q %q", url, p)
	}
	waitUntil(t, "online", rec.sawOnline)
	if !s.State().Enrolled {
		t.Error("not enrolled")
	}

	// A catalog change on the server reaches the desk's cache.
	prot, err := svc.Login(ctx, "centrale", "password-centrale")
	if err != nil {
		t.Fatal(err)
	}
	cat, err := svc.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	adm, _ := srv.Login(ctx, "admin", desk.DemoPassword)
	newCat := *cat
	newCat.Municipality.Name = "Comune di Valfiorita Nuova"
	if err := srv.ImportCatalog(ctx, adm, &newCat); err != nil {
		t.Fatal(err)
	}
	if err := s.SyncNow(ctx); err != nil {
		t.Fatal(err)
	}
	got, _ := svc.Catalog(ctx)
	if got.Municipality.Name != "Comune di Valfiorita Nuova" || rec.catalogChanges() == 0 {
		t.Errorf("catalog after sync: %q, notified %d", got.Municipality.Name, rec.catalogChanges())
	}

	// Back online after an interruption: the emergency period is closed.
	if err := svc.OpenInterruption(ctx, prot, "Linea interrotta", "Disposizione n. 1"); err != nil {
		t.Fatal(err)
	}
	restored := make(chan struct{}, 1)
	s.mu.Lock()
	s.online = false
	s.restored = func() { restored <- struct{}{} }
	s.mu.Unlock()
	if err := s.SyncNow(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-restored:
	case <-time.After(10 * time.Second):
		t.Fatal("RestoreService not called")
	}
	ins, err := svc.Interruptions(ctx)
	if err != nil || len(ins) != 1 || ins[0].EndedAt.IsZero() {
		t.Fatalf("interruption not closed: %+v %v", ins, err)
	}

	// A registration made online comes back with its definitive number, and
	// the screens are told to refresh.
	res, err := svc.RegisterDocument(ctx, prot, protocol.Registration{Direction: protocol.Incoming, Correspondent: "Ditta Alfa", Subject: "Offerta"},
		[]desk.NamedFile{{Name: "offerta.pdf", Data: strings.NewReader("%PDF-1.4 offerta")}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Emergency || res.Registration.Number == 0 || !rec.sawTable("protocol_numbers") {
		t.Fatalf("online registration %+v, refresh notified %v", res, rec.sawTable("protocol_numbers"))
	}

	// Closing stops the client.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s.State().Enrolled {
		t.Error("a closed session still has a client")
	}
}
