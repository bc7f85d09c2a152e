package sync

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"sportello/internal/application"
	"sportello/internal/citizen"
	"sportello/internal/desk"
	"sportello/internal/protocol"
	"sportello/store"
)

// restorable starts a test server (demo municipality) whose database can
// be swapped, while it serves, for one restored from a backup: serve.
func restorable(t testing.TB) (s *testServer, serve func(svc *desk.Service, dir string)) {
	t.Helper()
	return restorableWith(t, nil)
}

// restorableWith is restorable with the server's TLS configuration (nil:
// httptest's own certificate, which s.pin names).
func restorableWith(t testing.TB, tlsConfig *tls.Config) (s *testServer, serve func(svc *desk.Service, dir string)) {
	t.Helper()
	ctx := context.Background()
	var mu gosync.Mutex
	var current http.Handler
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		h := current
		mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	ts.TLS = tlsConfig
	ts.StartTLS()
	t.Cleanup(ts.Close)
	sum := sha256.Sum256(ts.Certificate().Raw)
	s = &testServer{ts: ts, pin: hex.EncodeToString(sum[:])}
	serve = func(svc *desk.Service, dir string) {
		ss, err := NewServer(svc.DB(), svc.Blobs(), dir, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		ss.Register(mux)
		mu.Lock()
		current = mux
		mu.Unlock()
		s.svc, s.sync = svc, ss
	}
	dir := t.TempDir()
	svc, err := desk.Open(ctx, dir, desk.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() }) // a second Close after a test's own does nothing
	if _, err := svc.SeedDemo(ctx); err != nil {
		t.Fatal(err)
	}
	serve(svc, dir)
	return s, serve
}

// A server brought back from a backup holds less than the workstations
// synced with it. Pulling on from their cursors would skip, silently, every
// change that takes those positions in its log again (the backup gave the
// restored log an epoch of its own); pushing would wait forever for
// acknowledgements it already had. Each workstation notices instead and
// rejoins: it pushes again what the server lost of its work and pulls from
// where the restored log is the one it knew; a workstation that synced
// only before the backup just goes on. At the end every replica equals the
// server again, the lost work included.
func TestWorkstationsRejoinARestoredServer(t *testing.T) {
	ctx := context.Background()
	s, serve := restorable(t)
	svc := s.svc
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
	back := restoreFrom(t, s, serve, restored)
	verdi := cf(t, "Verdi", "Anna", "1980-02-03")
	if _, err := back.DB().CitizenByCF(ctx, verdi); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the restored server has what came after its backup: %v", err)
	}
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

	// B only pulled, past the backup: the log has grown past its cursor
	// again; pulling on from there would skip what took those positions.
	var head int64
	if err := back.DB().Read(ctx, func(q store.Querier) error {
		return q.QueryRow(`SELECT COALESCE(MAX(seq), 0) FROM sync_changes`).Scan(&head)
	}); err != nil {
		t.Fatal(err)
	}
	if cursor, err := b.client.metaInt(ctx, MetaPullCursor); err != nil || cursor >= head {
		t.Fatalf("the restored log (%d) did not grow past B's cursor (%d): %v", head, cursor, err)
	}
	b.sync(t)
	for _, surname := range []string{"Neri", "Rizzo"} {
		if _, err := b.svc.DB().CitizenByCF(ctx, cf(t, surname, "Luca", "1975-04-05")); err != nil {
			t.Fatalf("B skipped %s, written on the restored server where it had pulled before: %v", surname, err)
		}
	}
	// A pushes something new: the server acknowledges less than before, and
	// A pushes again what it lost.
	save("Bianchi")
	a.sync(t)
	if _, err := back.DB().CitizenByCF(ctx, verdi); err != nil {
		t.Fatalf("A's work after the backup is not back on the server: %v", err)
	}
	for _, r := range []*replica{a, b, d, a, b} {
		r.sync(t)
	}
	sameAsServer(t, back.DB(), map[string]*replica{"A": a, "B": b, "D": d})
	for name, r := range map[string]*replica{"A": a, "B": b, "D": d} {
		if st := r.client.State(); st.LastError != "" || st.Pending != 0 {
			t.Errorf("%s: %+v", name, st)
		}
	}
	if brk, err := back.DB().VerifyAudit(ctx); err != nil || brk != nil {
		t.Fatalf("audit chains on the restored server: %v %+v", err, brk)
	}
}

// protocolOffline files a complaint for a new citizen on r and protocols it
// in the emergency register (no connector: offline), returning the
// registration's ID.
func protocolOffline(t *testing.T, r *replica, op desk.Session, surname string) string {
	t.Helper()
	res, err := r.svc.ProtocolApplication(context.Background(), op, completeComplaint(t, r, op, surname).ID)
	if err != nil || !res.Emergency {
		t.Fatalf("protocol: %v %+v", err, res)
	}
	return res.Registration.ID
}

// completeComplaint registers a citizen (surname, Marta, born 1982-06-07)
// on r and files a complete complaint for them.
func completeComplaint(t *testing.T, r *replica, op desk.Session, surname string) application.Application {
	t.Helper()
	ctx := context.Background()
	x, err := r.svc.SaveCitizen(ctx, op, citizen.Citizen{Surname: surname, Name: "Marta", CodiceFiscale: cf(t, surname, "Marta", "1982-06-07"), Email: "marta@example.it"})
	if err != nil {
		t.Fatal(err)
	}
	cat, _ := r.svc.Catalog(ctx)
	p, _ := cat.Procedure("reclamo")
	app, err := r.svc.NewApplication(ctx, op, "reclamo", x.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.svc.SaveDraft(ctx, op, app.ID, fill(p, x), nil); err != nil {
		t.Fatal(err)
	}
	if probs, err := r.svc.MarkComplete(ctx, op, app.ID); err != nil || len(probs) > 0 {
		t.Fatalf("complete: %v %+v", err, probs)
	}
	return app
}

// A restored server may have given, before it was lost, definitive numbers
// after its backup: it gives none until the administrator says which number
// the register reached, then numbers what arrived meanwhile in arrival
// order, from the next one. Before that, a workstation that holds a lost
// number gives it back with its notification, once the registration it
// belongs to is back (its workstation pushed it again).
func TestRestoredServerHoldsNumberingUntilResumed(t *testing.T) {
	ctx := context.Background()
	s, serve := restorable(t)
	a, d, e := enroll(t, s, "DESK01", false), enroll(t, s, "DESK02", false), enroll(t, s, "DESK03", false)
	opA, opD := login(t, a.svc, "sportello"), login(t, d.svc, "sportello")
	number := func(r *replica, op desk.Session, regID string) int64 {
		t.Helper()
		reg, err := r.svc.Registration(ctx, op, regID)
		if err != nil {
			t.Fatal(err)
		}
		return reg.Number
	}
	first := protocolOffline(t, a, opA, "Rossi")
	a.sync(t)
	a.sync(t)
	d.sync(t)
	e.sync(t)
	if n := number(a, opA, first); n != 1 {
		t.Fatalf("first registration numbered %d", n)
	}
	restored := t.TempDir()
	if err := s.svc.DB().BackupTo(ctx, filepath.Join(restored, "sportello.db")); err != nil {
		t.Fatal(err)
	}
	if held, err := s.svc.DB().NumberingHeld(ctx); err != nil || held {
		t.Fatalf("the server backed up holds its numbering: %v %v", held, err)
	}
	lost := protocolOffline(t, a, opA, "Verdi") // numbered 2, then the server is lost
	a.sync(t)
	a.sync(t)
	e.sync(t) // E holds number 2 too
	if n := number(a, opA, lost); n != 2 {
		t.Fatalf("second registration numbered %d", n)
	}

	// The server is lost; it comes back from the backup.
	back := restoreFrom(t, s, serve, restored)
	if held, err := back.DB().NumberingHeld(ctx); err != nil || !held {
		t.Fatalf("restored copy: numbering held %v %v", held, err)
	}

	// D synced only before the backup: it goes on, and its registration
	// waits for its number.
	waiting := protocolOffline(t, d, opD, "Bianchi")
	d.sync(t)
	d.sync(t)
	if n := number(d, opD, waiting); n != 0 {
		t.Fatalf("a restored server numbered a registration before numbering resumed: %d", n)
	}
	if !d.client.State().NumberingHeld {
		t.Fatal("the desk was not told that the restored server holds its numbering")
	}
	// A rejoins: its registration is pushed again, and number 2 goes back
	// into the register with it.
	a.sync(t)
	var got int64
	if err := back.DB().Read(ctx, func(q store.Querier) error {
		return q.QueryRow(`SELECT number FROM protocol_numbers WHERE registration_id = ?`, lost).Scan(&got)
	}); err != nil || got != 2 {
		t.Fatalf("number 2 not given back to the restored server: %d %v", got, err)
	}
	if raw, _ := a.svc.DB().Meta(ctx, MetaRecoverNumbers); raw != "" {
		t.Fatalf("numbers still to give back: %s", raw)
	}
	// The register now reaches 2: resuming below it is refused.
	if _, err := ResumeNumbering(ctx, back.DB(), 1, 0); !errors.Is(err, store.ErrNumberBelowRegister) {
		t.Fatalf("resume below the register: %v", err)
	}
	res, err := ResumeNumbering(ctx, back.DB(), 2, 0)
	if _, year := protocol.LegalDate(time.Now()); err != nil || res != (Resumed{Year: year, Count: 1, First: 3, Last: 3}) {
		t.Fatalf("resume: %+v, %v", res, err)
	}
	d.sync(t)
	if got := number(d, opD, waiting); got != 3 {
		t.Fatalf("the waiting registration got %d, want 3", got)
	}
	if d.client.State().NumberingHeld {
		t.Fatal("the desk still says numbering is held after the resume")
	}
	// E, which held number 2 as well, comes back after the resume: the
	// register has it, nothing is lost.
	e.sync(t)
	// And numbering goes on from there.
	next := protocolOffline(t, d, opD, "Neri")
	d.sync(t)
	d.sync(t)
	if got := number(d, opD, next); got != 4 {
		t.Fatalf("next registration numbered %d, want 4", got)
	}
	for _, r := range []*replica{a, e, d, a, e} {
		r.sync(t)
	}
	sameAsServer(t, back.DB(), map[string]*replica{"A": a, "D": d, "E": e})
}

// If the administrator resumes numbering, before a workstation that holds a
// lost number came back, at a number below it (the exports did not show
// it), the register gives that number again to the next registration to
// reach it. The workstations that hold it drop it and list it for the
// operator (the citizen holds a receipt with it); the registration, pushed
// again, gets a number of the register; syncing goes on and converges.
func TestNumberAboveTheResumePointIsReplaced(t *testing.T) {
	ctx := context.Background()
	x := newBackedUp(t)
	a, f := x.a, x.b
	reg := x.protocolledByA(t)
	numberOf := func(db *store.DB) (id string, n int64) {
		t.Helper()
		if err := db.Read(ctx, func(q store.Querier) error {
			return q.QueryRow(`SELECT id, number FROM protocol_numbers WHERE registration_id = ?`, reg).Scan(&id, &n)
		}); err != nil {
			t.Fatal(err)
		}
		return id, n
	}
	lostID, lostN := numberOf(a.svc.DB())
	if fid, _ := numberOf(f.svc.DB()); fid != lostID || lostN != 2 {
		t.Fatalf("before the loss: A holds %s (%d), F holds %s", lostID, lostN, fid)
	}
	back := restoreFrom(t, x.s, x.serve, x.dir)
	if _, err := ResumeNumbering(ctx, back.DB(), 1, 0); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*replica{f, a, f, a} {
		r.sync(t)
	}
	sameAsServer(t, back.DB(), map[string]*replica{"A": a, "F": f})
	id, n := numberOf(back.DB())
	if id == lostID || n != 2 {
		t.Fatalf("the registration's number in the register: %s (%d), the lost one was %s", id, n, lostID)
	}
	for name, r := range map[string]*replica{"A": a, "F": f} {
		st := r.client.State()
		if st.LastError != "" {
			t.Errorf("%s: %s", name, st.LastError)
		}
		var listed bool
		for _, rj := range st.Rejected {
			listed = listed || rj.RowID == lostID && rj.Code == "number_replaced" && strings.Contains(rj.Reason, "avvisare il cittadino")
		}
		if !listed {
			t.Errorf("%s does not list the replaced number: %+v", name, st.Rejected)
		}
	}
}

// The same when the number was already waiting: desk B gives back, while
// numbering is held, the number of A's registration, which waits for A;
// the administrator resumes below it before A comes back. B's next give-back
// (the number with its citizen notification) finds it replaced, and so does
// A when it rejoins.
func TestWaitingNumberAboveTheResumePointIsReplaced(t *testing.T) {
	ctx := context.Background()
	x := newBackedUp(t)
	a, b := x.a, x.b
	reg := x.protocolledByA(t)
	back := restoreFrom(t, x.s, x.serve, x.dir)
	b.sync(t)
	raw, err := b.svc.DB().Meta(ctx, MetaRecoverNumbers)
	if err != nil || !strings.Contains(raw, `"numbers"`) {
		t.Fatalf("B has nothing waiting to give back: %q %v", raw, err)
	}
	if _, err := ResumeNumbering(ctx, back.DB(), 1, 0); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*replica{b, a, b, a} {
		r.sync(t)
	}
	sameAsServer(t, back.DB(), map[string]*replica{"A": a, "B": b})
	var numbers int
	if err := back.DB().Read(ctx, func(q store.Querier) error {
		return q.QueryRow(`SELECT count(*) FROM protocol_numbers WHERE registration_id = ?`, reg).Scan(&numbers)
	}); err != nil || numbers != 1 {
		t.Fatalf("A's registration has %d numbers (%v)", numbers, err)
	}
	for name, r := range map[string]*replica{"A": a, "B": b} {
		st := r.client.State()
		var listed bool
		for _, rj := range st.Rejected {
			listed = listed || rj.Code == "number_replaced"
		}
		if st.LastError != "" || !listed {
			t.Errorf("%s: %q, listed %v: %+v", name, st.LastError, listed, st.Rejected)
		}
	}
}

// After the backup, desk A registers a citizen and files an application;
// desk B receives them and protocols the application (numbered by the
// server). The server is lost and restored. B comes back first: its
// registration refers to an application the restored server does not have
// yet, so it waits (parked) instead of being refused, and the number B
// holds waits with it. When A comes back and pushes the application again,
// the registration applies and its number goes back into the register;
// after the resume every replica equals the server.
func TestRestoredServerWaitsForWhatOthersPushAgain(t *testing.T) {
	ctx := context.Background()
	x := newBackedUp(t)
	a, b, opB := x.a, x.b, x.opB
	_, res := x.protocolledByB(t)
	if reg, _ := b.svc.Registration(ctx, opB, res.Registration.ID); reg.Number != 2 {
		t.Fatalf("B's registration numbered %d", reg.Number)
	}

	back := restoreFrom(t, x.s, x.serve, x.dir)

	b.sync(t)
	var parked int
	if err := back.DB().Read(ctx, func(q store.Querier) error {
		return q.QueryRow(`SELECT count(*) FROM sync_parked`).Scan(&parked)
	}); err != nil || parked == 0 {
		t.Fatalf("B's registration was not parked: %d %v", parked, err)
	}
	if st := b.client.State(); len(st.Rejected) != 0 {
		t.Fatalf("refused while the application is still to come back: %+v", st.Rejected)
	}
	a.sync(t)
	b.sync(t)
	var got int64
	if err := back.DB().Read(ctx, func(q store.Querier) error {
		return q.QueryRow(`SELECT number FROM protocol_numbers WHERE registration_id = ?`, res.Registration.ID).Scan(&got)
	}); err != nil || got != 2 {
		t.Fatalf("B's number not back in the register: %d %v", got, err)
	}
	if _, err := ResumeNumbering(ctx, back.DB(), 2, 0); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*replica{a, b, a, b} {
		r.sync(t)
	}
	sameAsServer(t, back.DB(), map[string]*replica{"A": a, "B": b})
	for name, r := range map[string]*replica{"A": a, "B": b} {
		if st := r.client.State(); len(st.Rejected) != 0 || st.LastError != "" {
			t.Errorf("%s: %+v", name, st)
		}
	}
}

// backedUp is the start of the restore scenarios: a restorable server and
// two desks; A protocols a complaint offline (number 1, "Rossi"), both sync,
// and the server is backed up into the folder returned.
type backedUp struct {
	s        *testServer
	serve    func(*desk.Service, string)
	a, b     *replica
	opA, opB desk.Session
	dir      string
}

func newBackedUp(t *testing.T) backedUp {
	t.Helper()
	var x backedUp
	x.s, x.serve = restorable(t)
	x.a, x.b = enroll(t, x.s, "DESK01", false), enroll(t, x.s, "DESK02", false)
	x.opA, x.opB = login(t, x.a.svc, "sportello"), login(t, x.b.svc, "sportello")
	protocolOffline(t, x.a, x.opA, "Rossi")
	x.a.sync(t)
	x.a.sync(t)
	x.b.sync(t)
	x.dir = t.TempDir()
	if err := x.s.svc.DB().BackupTo(context.Background(), filepath.Join(x.dir, "sportello.db")); err != nil {
		t.Fatal(err)
	}
	return x
}

// protocolledByB: after the backup A files a complaint ("Verdi") and B,
// which received it, protocols it online (number 2, from the server about
// to be lost). It returns the application and B's registration.
func (x backedUp) protocolledByB(t *testing.T) (application.Application, desk.ProtocolResult) {
	t.Helper()
	app := completeComplaint(t, x.a, x.opA, "Verdi")
	x.a.sync(t)
	x.b.sync(t)
	res, err := x.b.svc.ProtocolApplication(context.Background(), x.opB, app.ID)
	if err != nil {
		t.Fatal(err)
	}
	x.b.sync(t)
	x.b.sync(t)
	return app, res
}

// protocolledByA: after the backup A protocols a complaint offline
// ("Verdi"); the server about to be lost gives it number 2, and B pulls
// it. It returns the registration's ID.
func (x backedUp) protocolledByA(t *testing.T) string {
	t.Helper()
	id := protocolOffline(t, x.a, x.opA, "Verdi")
	x.a.sync(t)
	x.a.sync(t)
	x.b.sync(t)
	return id
}

// restoreFrom loses the test server's database and serves, instead, the
// backup copy in dir, as an administrator restoring it would.
func restoreFrom(t *testing.T, s *testServer, serve func(*desk.Service, string), dir string) *desk.Service {
	t.Helper()
	if err := s.svc.Close(); err != nil {
		t.Fatal(err)
	}
	back, err := desk.Open(context.Background(), dir, desk.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { back.Close() })
	serve(back, dir)
	return back
}

// sameAsServer reports every replicated table that differs between the
// server and a replica.
func sameAsServer(t *testing.T, server *store.DB, replicas map[string]*replica) {
	t.Helper()
	ss := checksums(t, server)
	for name, r := range replicas {
		sr := checksums(t, r.svc.DB())
		for table := range ss {
			if sr[table] != ss[table] {
				t.Errorf("table %s differs on %s: %s, server %s", table, name, sr[table], ss[table])
			}
		}
	}
}

// Giving numbers back is checked against the register: bad requests get a
// clear error; outside a restore window a number the register lacks is
// refused whole (numbering_resumed); inside it, a number that contradicts
// the register is refused, one it has is present; nothing else changes.
func TestGivingNumbersBackIsCheckedAgainstTheRegister(t *testing.T) {
	ctx := context.Background()
	s, serve := restorable(t)
	a := enroll(t, s, "DESK01", false)
	op := login(t, a.svc, "sportello")
	first := protocolOffline(t, a, op, "Rossi")
	second := protocolOffline(t, a, op, "Bianchi")
	a.sync(t)
	a.sync(t)
	numberRow := func(regID string) store.RowState {
		t.Helper()
		var id string
		if err := a.svc.DB().Read(ctx, func(q store.Querier) error {
			return q.QueryRow(`SELECT id FROM protocol_numbers WHERE registration_id = ?`, regID).Scan(&id)
		}); err != nil {
			t.Fatal(err)
		}
		rows, err := a.svc.DB().RowStates(ctx, "protocol_numbers", []string{id})
		if err != nil || len(rows) != 1 || !rows[0].Exists {
			t.Fatalf("number of %s: %+v %v", regID, rows, err)
		}
		return rows[0]
	}
	forged := func(st store.RowState, id string, edit func(store.Fields)) store.RowState {
		t.Helper()
		f, err := store.DecodeFields(st.Data)
		if err != nil {
			t.Fatal(err)
		}
		edit(f)
		st.RowID = id
		if st.Data, err = json.Marshal(f); err != nil {
			t.Fatal(err)
		}
		return st
	}
	give := func(rows ...store.RowState) (RecoverResponse, error) {
		var rr RecoverResponse
		err := a.client.postJSON(ctx, "/v1/recover-numbers", RecoverRequest{Numbers: rows}, &rr)
		return rr, err
	}
	n1, n2 := numberRow(first), numberRow(second)
	before := checksums(t, s.svc.DB())
	for _, body := range []any{map[string]any{"numbers": []any{}}, map[string]any{"numbers": "uno"}} {
		var se *ServerError
		if err := a.client.postJSON(ctx, "/v1/recover-numbers", body, &RecoverResponse{}); !errors.As(err, &se) || se.Status != http.StatusBadRequest || se.Body.Message == "" {
			t.Errorf("bad request %v: %v", body, err)
		}
	}
	if rr, err := give(n1); err != nil || len(rr.Results) != 1 || rr.Results[0].Outcome != store.RecoverPresent {
		t.Fatalf("a number the register has: %+v %v", rr, err)
	}
	extra := forged(n1, "01a24e00-0000-7000-8000-000000000001", func(f store.Fields) { f["number"] = int64(9) })
	if _, err := give(extra); !errors.Is(err, ErrNumbersLost) {
		t.Fatalf("a number the register lacks, outside a restore window: %v", err)
	}
	// Of an earlier year, for a registration the server does not have: a
	// server never restored keeps no number for it either.
	old := forged(n1, "01a24e00-0000-7000-8000-000000000002", func(f store.Fields) {
		f["number"], f["year"], f["registration_id"] = int64(5), int64(2020), "01a24e00-0000-7000-8000-0000000000aa"
	})
	if _, err := give(old); !errors.Is(err, ErrNumbersLost) {
		t.Fatalf("a number of 2020 given back to a server never restored: %v", err)
	}
	if after := checksums(t, s.svc.DB()); !mapsEqual(before, after) {
		t.Fatal("giving numbers back outside a restore window changed the server")
	}

	// Inside a restore window.
	restored := t.TempDir()
	if err := s.svc.DB().BackupTo(ctx, filepath.Join(restored, "sportello.db")); err != nil {
		t.Fatal(err)
	}
	back := restoreFrom(t, s, serve, restored)
	third := protocolOffline(t, a, op, "Neri") // waits for its number
	a.sync(t)
	reused := forged(n2, "01a24e00-0000-7000-8000-000000000003", func(f store.Fields) { f["registration_id"] = third; f["number"] = int64(1) })
	rr, err := give(n2, extra, reused)
	if err != nil || len(rr.Results) != 3 {
		t.Fatalf("give back: %+v %v", rr, err)
	}
	// A number the register has; a second number for a registration that
	// has one; a number another registration has.
	want := []store.RecoverOutcome{store.RecoverPresent, store.RecoverRefused, store.RecoverRefused}
	for i, res := range rr.Results {
		if res.Outcome != want[i] || (res.Outcome == store.RecoverRefused && res.Reason == "") {
			t.Errorf("number %d: %+v, want %s", i, res, want[i])
		}
	}
	var numbers int
	if err := back.DB().Read(ctx, func(q store.Querier) error {
		return q.QueryRow(`SELECT count(*) FROM protocol_numbers`).Scan(&numbers)
	}); err != nil || numbers != 2 {
		t.Fatalf("the register holds %d numbers after refusals (%v), want 2", numbers, err)
	}
}

// The restore window parks what refers to rows still to come, but checks
// it first: an edit, by an operator whose role may not make it, of a row
// the restored server does not have is refused, not parked to be applied
// unchecked later.
func TestRestoreWindowChecksWhatItParks(t *testing.T) {
	ctx := context.Background()
	s, serve := restorable(t)
	a := enroll(t, s, "DESK01", false)
	op := login(t, a.svc, "sportello")
	a.sync(t)
	restored := t.TempDir()
	if err := s.svc.DB().BackupTo(ctx, filepath.Join(restored, "sportello.db")); err != nil {
		t.Fatal(err)
	}
	back := restoreFrom(t, s, serve, restored)
	a.sync(t)
	local, err := a.svc.DB().LocalChangesAfter(ctx, 0, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	next := int64(1)
	if len(local) > 0 {
		next = local[len(local)-1].OriginSeq + 1
	}
	forged := Change{TxID: "tx-forged", Table: "operators", RowID: "op-nuovo", Op: "update", Data: json.RawMessage(`{"role":"amministratore"}`),
		HLC: a.svc.DB().Clock().Now().String(), OperatorID: op.OperatorID, WorkstationID: a.svc.DB().WorkstationID(), OriginSeq: next}
	var pr PushResponse
	if err := a.client.postJSON(ctx, "/v1/push", PushRequest{Changes: []Change{forged}}, &pr); err != nil {
		t.Fatal(err)
	}
	if pr.AckedSeq != next || len(pr.Rejected) != 1 || pr.Rejected[0].Code != CodeForbidden {
		t.Fatalf("forged edit in the restore window: %+v", pr)
	}
	var parked int
	if err := back.DB().Read(ctx, func(q store.Querier) error {
		return q.QueryRow(`SELECT count(*) FROM sync_parked`).Scan(&parked)
	}); err != nil || parked != 0 {
		t.Fatalf("%d changes parked (%v)", parked, err)
	}
}
