package sync

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"sportello/internal/citizen"
	"sportello/internal/desk"
	"sportello/internal/testfs"
	"sportello/store"
)

// A workstation is enrolled again when its computer is replaced, its
// replica lost, or its token with it. It keeps its identity, so what it
// writes must follow what the server holds of it: before, a new replica
// numbered its changes from 1 again and the server, which had that
// workstation's changes up to some N already, took the first N for
// replays — acknowledged and dropped.

// openReplica opens the replica in dir with its sync client.
func openReplica(t *testing.T, dir string) *replica {
	t.Helper()
	return openReplicaWith(t, dir, desk.Options{Synchronous: "NORMAL"})
}

// openReplicaWith opens the replica in dir with opts and its sync client.
func openReplicaWith(t *testing.T, dir string, opts desk.Options) *replica {
	t.Helper()
	ctx := context.Background()
	svc, err := desk.Open(ctx, dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	cfg, err := LoadConfig(ctx, svc.DB())
	if err != nil {
		t.Fatal(err)
	}
	return &replica{svc: svc, client: NewClient(svc.DB(), svc.Blobs(), cfg), dir: dir}
}

// enrolAgain gets a new enrolment code for workstation code and enrols the
// (closed) replica in dir with it.
func enrolAgain(t *testing.T, s *testServer, code, dir string) {
	t.Helper()
	ctx := context.Background()
	_, enrol, err := CreateWorkstation(ctx, s.svc.DB(), code, "Postazione "+code, "desk", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Enroll(ctx, filepath.Join(dir, "sportello.db"), s.ts.URL, s.pin, enrol, nil); err != nil {
		t.Fatal(err)
	}
}

// keptAside counts the replicas put aside by enrolments in dir.
func keptAside(t *testing.T, dir string) int {
	t.Helper()
	kept, err := filepath.Glob(filepath.Join(dir, "sportello.db.pre-enrolment-*[0-9]"))
	if err != nil {
		t.Fatal(err)
	}
	return len(kept)
}

func saveCitizen(t *testing.T, r *replica, op desk.Session, surname string) citizen.Citizen {
	t.Helper()
	c, err := r.svc.SaveCitizen(context.Background(), op, citizen.Citizen{Surname: surname, Name: "Anna", Phone: "+39 333 1000000"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func onServer(t *testing.T, s *testServer, id string) bool {
	t.Helper()
	_, err := s.svc.Citizen(context.Background(), id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

func auditHolds(t *testing.T, name string, db *store.DB) {
	t.Helper()
	if brk, err := db.VerifyAudit(context.Background()); err != nil || brk != nil {
		t.Fatalf("%s's audit chain: %v %+v", name, err, brk)
	}
}

func TestWorkstationEnrolledAgainOnANewComputer(t *testing.T) {
	ctx := context.Background()
	s := startServer(t)
	old := enroll(t, s, "DESK01", false)
	op := login(t, old.svc, "sportello")
	for _, n := range []string{"Primi", "Secondi", "Terzi"} {
		saveCitizen(t, old, op, n)
	}
	old.sync(t)
	pushed, audited, err := old.svc.DB().OwnProgress(ctx)
	if err != nil || pushed == 0 || audited == 0 {
		t.Fatalf("old computer's progress: %d %d %v", pushed, audited, err)
	}

	// The new computer: an empty data folder, the same workstation.
	dir := t.TempDir()
	enrolAgain(t, s, "DESK01", dir)
	nw := openReplica(t, dir)
	if nw.svc.DB().WorkstationID() != old.svc.DB().WorkstationID() {
		t.Fatal("the new computer is another workstation")
	}
	op = login(t, nw.svc, "sportello")
	x := saveCitizen(t, nw, op, "Quarti")
	nw.sync(t)
	if !onServer(t, s, x.ID) {
		t.Fatal("the new computer's first citizen was dropped by the server")
	}
	if st := nw.client.State(); st.Pending != 0 || st.LastError != "" || len(st.Rejected) != 0 {
		t.Fatalf("new computer after sync: %+v", st)
	}
	seq, auditSeq, err := nw.svc.DB().OwnProgress(ctx)
	if err != nil || seq <= pushed || auditSeq <= audited {
		t.Fatalf("new computer numbers from %d/%d, the old one had reached %d/%d (%v)", seq, auditSeq, pushed, audited, err)
	}
	auditHolds(t, "the server", s.svc.DB())
	auditHolds(t, "the new computer", nw.svc.DB())
	sn, ss := checksums(t, nw.svc.DB()), checksums(t, s.svc.DB())
	for table := range ss {
		if sn[table] != ss[table] {
			t.Errorf("table %s differs: new computer %s, server %s", table, sn[table], ss[table])
		}
	}

	// The old computer, still switched on, may push no more: two
	// installations would number their changes alike.
	y := saveCitizen(t, old, login(t, old.svc, "sportello"), "Quinti")
	err = old.client.SyncOnce(ctx)
	var se *ServerError
	if !errors.As(err, &se) || se.Body.Code != CodeRevoked {
		t.Fatalf("old computer's sync after the new enrolment: %v", err)
	}
	if onServer(t, s, y.ID) {
		t.Fatal("the old computer's change reached the server")
	}
}

func TestEnrolledAgainOnTheSameComputerKeepsUnsentWork(t *testing.T) {
	ctx := context.Background()
	s := startServer(t)
	a := enroll(t, s, "DESK01", false)
	op := login(t, a.svc, "sportello")
	saveCitizen(t, a, op, "Inviati")
	a.sync(t)
	// Offline, then the token is lost (or the administrator replaces it):
	// the same computer is enrolled again with a new code.
	y := saveCitizen(t, a, op, "Nonancorainviati")
	a.svc.Close()
	before := keptAside(t, a.dir) // the demo data it started on
	enrolAgain(t, s, "DESK01", a.dir)
	if keptAside(t, a.dir) != before {
		t.Fatal("the replica was replaced")
	}
	b := openReplica(t, a.dir)
	if _, err := b.svc.Citizen(ctx, y.ID); err != nil {
		t.Fatalf("unsent citizen after enrolling again: %v", err)
	}
	b.sync(t)
	if !onServer(t, s, y.ID) {
		t.Fatal("the work not sent before enrolling again never reached the server")
	}
	if st := b.client.State(); st.Pending != 0 || st.LastError != "" {
		t.Fatalf("after sync: %+v", st)
	}
	auditHolds(t, "the server", s.svc.DB())
	auditHolds(t, "the replica", b.svc.DB())
}

// olderCopy enrols DESK01, which sends a citizen; then it copies the
// computer's data folder (yesterday's copy), and the computer sends the
// citizens named later. It returns the copy's folder: older than what the
// workstation sent.
func olderCopy(t *testing.T, s *testServer, later ...string) string {
	t.Helper()
	a := enroll(t, s, "DESK01", false)
	saveCitizen(t, a, login(t, a.svc, "sportello"), "Primi")
	a.sync(t)
	a.svc.Close()
	yesterday := t.TempDir()
	testfs.CopyTree(t, a.dir, yesterday)
	a = openReplica(t, a.dir)
	op := login(t, a.svc, "sportello")
	for _, n := range later {
		saveCitizen(t, a, op, n)
	}
	a.sync(t)
	a.svc.Close()
	return yesterday
}

func TestReplicaRestoredFromAnOlderCopyStopsInsteadOfLosingWork(t *testing.T) {
	ctx := context.Background()
	s := startServer(t)
	// Yesterday's copy of the computer's data folder…
	yesterday := olderCopy(t, s, "Secondi", "Terzi")

	// …is put back after a disk failure: its next change has the number
	// the server already holds for "Secondi".
	c := openReplica(t, yesterday)
	w := saveCitizen(t, c, login(t, c.svc, "sportello"), "Quarti")
	err := c.client.SyncOnce(ctx)
	if !errors.Is(err, ErrOtherInstallation) {
		t.Fatalf("sync of the older copy: %v", err)
	}
	if st := c.client.State(); st.Pending == 0 || !strings.Contains(st.LastError, "questa copia dei dati non contiene") {
		t.Fatalf("the operator is not told: %+v", st)
	}
	if onServer(t, s, w.ID) {
		t.Fatal("the older copy's change reached the server under another's number")
	}
	if _, err := c.svc.Citizen(ctx, w.ID); err != nil {
		t.Fatalf("the older copy's change is gone: %v", err)
	}

	// Enrolled again, it is replaced by the server's copy (the old file is
	// kept aside) and goes on after what the server has.
	c.svc.Close()
	before := keptAside(t, yesterday)
	enrolAgain(t, s, "DESK01", yesterday)
	if keptAside(t, yesterday) != before+1 {
		t.Fatal("the older copy is not kept aside")
	}
	c = openReplica(t, yesterday)
	v := saveCitizen(t, c, login(t, c.svc, "sportello"), "Quinti")
	c.sync(t)
	if !onServer(t, s, v.ID) {
		t.Fatal("the change after enrolling again never reached the server")
	}
	auditHolds(t, "the server", s.svc.DB())
	auditHolds(t, "the replica", c.svc.DB())
}

func TestKeptAsideNamesNeverOverwrite(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "sportello.db")
	now := time.Date(2026, 12, 7, 14, 33, 28, 0, time.UTC)
	first := keepAsideName(db, now)
	if first != db+".pre-enrolment-20261207-143328" {
		t.Fatalf("first name %q", first)
	}
	if err := os.WriteFile(first, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if second := keepAsideName(db, now); second != first+"-2" {
		t.Fatalf("second name in the same second %q", second)
	}
}

// The same, when the copy put back has made more changes than the server
// holds from the workstation before it syncs: the server's answer no
// longer gives it away, the server itself sees that the changes numbered
// as ones it has are not those, and takes nothing of the push.
func TestOlderCopyThatWorkedLongerIsCaughtByTheServer(t *testing.T) {
	ctx := context.Background()
	s := startServer(t)
	yesterday := olderCopy(t, s, "Secondi")
	before := checksums(t, s.svc.DB())

	c := openReplica(t, yesterday)
	op := login(t, c.svc, "sportello")
	var made []citizen.Citizen
	for _, n := range []string{"Terzi", "Quarti", "Quinti", "Sesti"} {
		made = append(made, saveCitizen(t, c, op, n))
	}
	err := c.client.SyncOnce(ctx)
	if !errors.Is(err, ErrOtherInstallation) {
		t.Fatalf("sync of the older copy that worked longer: %v", err)
	}
	var se *ServerError
	if !errors.As(err, &se) || se.Status != 409 || se.Body.Code != CodeOtherInstallation {
		t.Fatalf("server's answer: %v", err)
	}
	if st := c.client.State(); st.Pending != len(made) || !strings.Contains(st.LastError, "questa copia dei dati non contiene") {
		t.Fatalf("the operator is not told, or work is taken as sent: %+v", st)
	}
	after := checksums(t, s.svc.DB())
	for table := range before {
		if before[table] != after[table] {
			t.Errorf("the refused push changed the server's %s", table)
		}
	}
	for _, m := range made {
		if onServer(t, s, m.ID) {
			t.Errorf("%s reached the server", m.Surname)
		}
	}
}

// An interview room made a desk keeps nothing confidential: the new scope
// stops its installation at once, and enrolled again, even on the same
// computer, it gets a copy made for a desk.
func TestInterviewRoomMadeADeskLosesConfidentialRecords(t *testing.T) {
	ctx := context.Background()
	s := startServer(t)
	room := enroll(t, s, "COLL01", true)
	op := login(t, room.svc, "colloqui")
	_, _, app, _ := confidentialDraft(t, room, op)
	room.sync(t)
	if _, err := room.svc.DB().Application(ctx, app.ID); err != nil {
		t.Fatal(err)
	}

	_, enrol, err := CreateWorkstation(ctx, s.svc.DB(), "COLL01", "Sportello 7", "desk", false)
	if err != nil {
		t.Fatal(err)
	}
	var se *ServerError
	if err := room.client.SyncOnce(ctx); !errors.As(err, &se) || se.Body.Code != CodeRevoked {
		t.Fatalf("sync with the old scope: %v", err)
	}
	room.svc.Close()
	before := keptAside(t, room.dir)
	if _, err := Enroll(ctx, filepath.Join(room.dir, "sportello.db"), s.ts.URL, s.pin, enrol, nil); err != nil {
		t.Fatal(err)
	}
	if keptAside(t, room.dir) != before+1 {
		t.Fatal("the interview room's replica was kept as the desk's")
	}
	d := openReplica(t, room.dir)
	if _, err := d.svc.DB().Application(ctx, app.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the desk holds the confidential application: %v", err)
	}
	d.sync(t)
	if conf, known, err := d.svc.DB().CopyScope(ctx); err != nil || !known || conf {
		t.Fatalf("scope of the desk's copy: %v %v %v", conf, known, err)
	}
}

// A new code replaces the workstation's earlier ones: used later (a code
// handed out and forgotten, an enrolment request that arrives again) an
// old one would enrol an installation nobody set up and retire the one in
// use. Found by the simulation (seed 790020): a delayed copy of a first
// enrolment attempt arrived after the second had succeeded.
func TestANewCodeRetiresTheEarlierOnes(t *testing.T) {
	ctx := context.Background()
	s := startServer(t)
	_, first, err := CreateWorkstation(ctx, s.svc.DB(), "DESK01", "Postazione DESK01", "desk", false)
	if err != nil {
		t.Fatal(err)
	}
	_, second, err := CreateWorkstation(ctx, s.svc.DB(), "DESK01", "Postazione DESK01", "desk", false)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := Enroll(ctx, filepath.Join(dir, "sportello.db"), s.ts.URL, s.pin, second, nil); err != nil {
		t.Fatal(err)
	}
	var se *ServerError
	if _, err := Enroll(ctx, filepath.Join(t.TempDir(), "sportello.db"), s.ts.URL, s.pin, first, nil); !errors.As(err, &se) || se.Body.Code != CodeEnrolment {
		t.Fatalf("the earlier code after a later one: %v", err)
	}
	r := openReplica(t, dir)
	r.sync(t) // still enrolled
}

// An enrolment from a program of another schema version is refused before
// its code is used: the code then enrols the right program, and until then
// the installation the workstation had keeps syncing. Before, the server
// used the code and retired that installation first, and the program then
// refused the answer: no installation left, and a new code needed.
func TestAnEnrolmentFromAnotherVersionKeepsTheCodeAndTheInstallation(t *testing.T) {
	ctx := context.Background()
	s := startServer(t)
	a := enroll(t, s, "DESK01", false)
	_, code, err := CreateWorkstation(ctx, s.svc.DB(), "DESK01", "Postazione DESK01", "desk", false)
	if err != nil {
		t.Fatal(err)
	}
	hc := PinnedClient(s.pin)
	for v, want := range map[string]string{
		"1":                                     "aggiornare Sportello su questa postazione",
		strconv.Itoa(store.SchemaVersion() + 1): "aggiornato il server",
	} {
		req, err := http.NewRequest(http.MethodPost, s.ts.URL+"/v1/enroll", strings.NewReader(`{"code":"`+code+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set(HeaderSchema, v)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var eb ErrorBody
		err = json_decode(resp.Body, &eb)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusConflict || eb.Code != CodeSchemaMismatch || !strings.Contains(eb.Message, want) {
			t.Errorf("enrolment from schema %s: %d %+v (%v)", v, resp.StatusCode, eb, err)
		}
	}
	op := login(t, a.svc, "sportello")
	c := saveCitizen(t, a, op, "Versioni")
	a.sync(t)
	if !onServer(t, s, c.ID) {
		t.Fatal("the installation in use stopped syncing after an enrolment from another version")
	}
	dir := t.TempDir()
	if _, err := Enroll(ctx, filepath.Join(dir, "sportello.db"), s.ts.URL, s.pin, code, nil); err != nil {
		t.Fatalf("the code was used by the refused enrolment: %v", err)
	}
}

// The server records the version of the program each workstation reaches
// it with, refused or not: after an update, the administrator sees which
// workstations still run another one (sportello-server workstation list).
func TestTheServerRecordsEachWorkstationsProgram(t *testing.T) {
	ctx := context.Background()
	s := startServer(t)
	a := enroll(t, s, "DESK01", false)
	program := func() (schema int, seen string) {
		t.Helper()
		if err := s.svc.DB().Read(ctx, func(q store.Querier) error {
			return q.QueryRow(`SELECT COALESCE(max(p.program_schema), 0), COALESCE(max(p.program_seen_at), '') FROM sync_peers p JOIN workstations w ON w.id = p.workstation_id WHERE w.code = 'DESK01'`).Scan(&schema, &seen)
		}); err != nil {
			t.Fatal(err)
		}
		return schema, seen
	}
	a.sync(t)
	if v, seen := program(); v != store.SchemaVersion() || seen == "" {
		t.Fatalf("after a sync the server records schema %d at %q, want %d", v, seen, store.SchemaVersion())
	}
	hc := PinnedClient(s.pin)
	for _, v := range []int{store.SchemaVersion() - 1, store.SchemaVersion() + 1} {
		req, err := http.NewRequest(http.MethodGet, s.ts.URL+"/v1/clock", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+a.client.cfg.Token)
		req.Header.Set(HeaderSchema, strconv.Itoa(v))
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusConflict {
			t.Fatalf("schema %d: status %d", v, resp.StatusCode)
		}
		if got, _ := program(); got != v {
			t.Fatalf("refused with schema %d, the server records %d", v, got)
		}
	}
	a.sync(t)
	if v, _ := program(); v != store.SchemaVersion() {
		t.Fatalf("back on the server's version, the server records %d", v)
	}
}
