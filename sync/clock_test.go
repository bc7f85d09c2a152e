package sync

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"sportello/internal/citizen"
	"sportello/internal/desk"
	"sportello/internal/hlc"
	"sportello/store"
)

// skewed reopens a replica's desk on a clock that runs offset (changeable)
// from the real one, as a workstation whose clock is wrong.
func skewed(t *testing.T, r *replica, offset *atomic.Int64) {
	t.Helper()
	r.svc.Close()
	*r = *openReplicaWith(t, r.dir, desk.Options{Synchronous: "NORMAL",
		Now: func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }})
}

// serverClock is what the server recorded of a workstation's clock.
func serverClock(t *testing.T, s *testServer, ws string) (time.Duration, string) {
	t.Helper()
	var ms int64
	var at string
	if err := s.svc.DB().Read(context.Background(), func(q store.Querier) error {
		return q.QueryRow(`SELECT clock_offset_ms, clock_checked_at FROM sync_peers WHERE workstation_id = ?`, ws).Scan(&ms, &at)
	}); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ms) * time.Millisecond, at
}

func near(got, want time.Duration) bool { return (got - want).Abs() < 5*time.Second }

// A desk writes the legal dates of what it does offline with its own
// clock. A clock hours off is measured at every sync, by the desk and by
// the server, kept across a restart without the server, and cleared once
// the clock is put right; the order of the desk's edits follows the
// server's time all along.
func TestAWorkstationClockOffIsMeasuredOnBothSides(t *testing.T) {
	ctx := context.Background()
	s := startServer(t)
	a := enroll(t, s, "DESK01", false)
	// Enrolled with its clock right: measured at enrolment.
	if st := a.client.State(); !st.ClockKnown || !near(st.ClockOffset, 0) {
		t.Fatalf("clock after enrolment: known %v offset %v", st.ClockKnown, st.ClockOffset)
	}
	var offset atomic.Int64
	offset.Store(int64(-(3*time.Hour + 12*time.Minute)))
	skewed(t, a, &offset)
	a.sync(t)
	st := a.client.State()
	if !st.ClockKnown || !near(st.ClockOffset, -(3*time.Hour+12*time.Minute)) || !ClockOff(st.ClockOffset) {
		t.Fatalf("desk's measure: known %v offset %v", st.ClockKnown, st.ClockOffset)
	}
	ws := a.svc.DB().WorkstationID()
	if got, at := serverClock(t, s, ws); !near(got, -(3*time.Hour+12*time.Minute)) || at == "" {
		t.Fatalf("server's measure: %v at %q", got, at)
	}
	if got := OffsetAmount(st.ClockOffset); got != "3 h 12 min" {
		t.Errorf("amount %q", got)
	}

	// Started again with the server out of reach: the desk still knows.
	cfg := a.client.cfg
	cfg.URL = "https://127.0.0.1:1"
	offline := NewClient(a.svc.DB(), a.svc.Blobs(), cfg)
	if err := offline.SyncOnce(ctx); err == nil {
		t.Fatal("sync with no server succeeded")
	}
	if st := offline.State(); !st.ClockKnown || !near(st.ClockOffset, -(3*time.Hour+12*time.Minute)) {
		t.Fatalf("after a restart offline: known %v offset %v", st.ClockKnown, st.ClockOffset)
	}

	// Put right: both sides see it at the next sync, and so does a
	// restart.
	offset.Store(0)
	a.sync(t)
	if st := a.client.State(); !st.ClockKnown || ClockOff(st.ClockOffset) || !near(st.ClockOffset, 0) {
		t.Fatalf("after the fix: known %v offset %v", st.ClockKnown, st.ClockOffset)
	}
	if got, _ := serverClock(t, s, ws); !near(got, 0) {
		t.Fatalf("server's measure after the fix: %v", got)
	}
	again := NewClient(a.svc.DB(), a.svc.Blobs(), cfg)
	again.SyncOnce(ctx)
	if st := again.State(); ClockOff(st.ClockOffset) {
		t.Fatalf("after the fix and a restart: offset %v", st.ClockOffset)
	}

	// A clock days ahead (a BIOS date typed wrong).
	offset.Store(int64(50 * time.Hour))
	a.sync(t)
	if st := a.client.State(); !near(st.ClockOffset, 50*time.Hour) || OffsetAmount(st.ClockOffset) != "2 giorni e 2 h" {
		t.Fatalf("ahead: offset %v (%s)", st.ClockOffset, OffsetAmount(st.ClockOffset))
	}
	if got, _ := serverClock(t, s, ws); !near(got, 50*time.Hour) {
		t.Fatalf("server's measure ahead: %v", got)
	}

	// The desk's edits carry the server's time in their clocks, not two
	// days ahead: a concurrent edit made elsewhere a minute later wins.
	b := enroll(t, s, "DESK02", false)
	opA, opB := login(t, a.svc, "sportello"), login(t, b.svc, "sportello")
	x, err := a.svc.SaveCitizen(ctx, opA, citizen.Citizen{Surname: "Fabbri", Name: "Elena", CodiceFiscale: cf(t, "Fabbri", "Elena", "1975-05-05"), Phone: "+39 333 0000001"})
	if err != nil {
		t.Fatal(err)
	}
	a.sync(t)
	b.sync(t)
	xa, _ := a.svc.Citizen(ctx, x.ID)
	xa.Phone = "+39 333 0000002" // A, whose clock says the day after tomorrow
	if _, err := a.svc.SaveCitizen(ctx, opA, xa); err != nil {
		t.Fatal(err)
	}
	var hlcA string
	if err := a.svc.DB().Read(ctx, func(q store.Querier) error {
		return q.QueryRow(`SELECT hlc FROM sync_changes WHERE workstation_id = ? ORDER BY origin_seq DESC LIMIT 1`, ws).Scan(&hlcA)
	}); err != nil {
		t.Fatal(err)
	}
	if ts, err := hlc.Parse(hlcA); err != nil || !near(time.Until(time.UnixMilli(ts.WallMillis)), 0) {
		t.Fatalf("the desk's clock two days ahead is in its edit's clock: %s (%v)", hlcA, err)
	}
	time.Sleep(20 * time.Millisecond)
	xb, _ := b.svc.Citizen(ctx, x.ID)
	xb.Phone = "+39 333 0000003" // B, later, without having seen A's edit
	if _, err := b.svc.SaveCitizen(ctx, opB, xb); err != nil {
		t.Fatal(err)
	}
	a.sync(t)
	b.sync(t)
	a.sync(t)
	for _, r := range []*replica{a, b} {
		if got, _ := r.svc.Citizen(ctx, x.ID); got.Phone != "+39 333 0000003" {
			t.Errorf("%s: phone %q, want the later edit", r.svc.DB().WorkstationCode(), got.Phone)
		}
	}
}

func TestOffsetAmount(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0 min"},
		{-45 * time.Minute, "45 min"},
		{3*time.Minute + 29*time.Second, "3 min"},
		{3*time.Minute + 31*time.Second, "4 min"},
		{-time.Hour, "1 h"},
		{3*time.Hour + 12*time.Minute, "3 h 12 min"},
		{24 * time.Hour, "1 giorno"},
		{25*time.Hour + 5*time.Minute, "25 h 5 min"},
		{48 * time.Hour, "2 giorni"},
		{-(9*24*time.Hour + 5*time.Hour + 59*time.Minute), "9 giorni e 5 h"},
		{26 * 365 * 24 * time.Hour, "9490 giorni"},
	} {
		if got := OffsetAmount(c.d); got != c.want {
			t.Errorf("OffsetAmount(%v) = %q, want %q", c.d, got, c.want)
		}
	}
	if ClockOff(ClockTolerance) || ClockOff(-ClockTolerance) || !ClockOff(ClockTolerance+time.Second) || !ClockOff(-ClockTolerance-time.Second) {
		t.Error("ClockOff around the tolerance")
	}
}

// The server's log names a workstation whose clock is off, once while it
// stays so, and one whose changes arrive stamped hours ahead, at most once
// an hour.
func TestTheServerLogsClocksOff(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	svc, err := desk.Open(ctx, dir, desk.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	var logged bytes.Buffer
	s, err := NewServer(svc.DB(), svc.Blobs(), dir, slog.New(slog.NewTextHandler(&logged, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ws := store.Workstation{ID: "ws-1", Code: "DESK01"}
	lines := func() []string {
		out := strings.Split(strings.TrimSpace(logged.String()), "\n")
		logged.Reset()
		if len(out) == 1 && out[0] == "" {
			return nil
		}
		return out
	}
	s.noteClock(ws, -3*time.Hour)
	s.noteClock(ws, -3*time.Hour-20*time.Second) // about as far: said already
	if l := lines(); len(l) != 1 || !strings.Contains(l[0], "workstation clock off") || !strings.Contains(l[0], "offset=-3h0m0s") {
		t.Fatalf("clock off: %q", l)
	}
	s.noteClock(ws, -5*time.Hour) // further off: said again
	s.noteClock(ws, time.Second)  // set right
	s.noteClock(ws, 2*time.Second)
	if l := lines(); len(l) != 2 || !strings.Contains(l[0], "offset=-5h0m0s") || !strings.Contains(l[1], "back within tolerance") {
		t.Fatalf("clock further off, then right: %q", l)
	}

	ahead := hlc.Timestamp{WallMillis: time.Now().Add(26 * time.Hour).UnixMilli(), Node: ws.ID}
	s.noteFutureClock(ws, ahead.String())
	ahead.WallMillis += 1000
	s.noteFutureClock(ws, ahead.String())
	s.noteFutureClock(ws, hlc.Timestamp{WallMillis: time.Now().UnixMilli(), Node: ws.ID}.String())
	if l := lines(); len(l) != 1 || !strings.Contains(l[0], "changes stamped ahead") || !strings.Contains(l[0], "ahead=26h0m0s") {
		t.Fatalf("changes ahead: %q", l)
	}
}

// A server older than the program has no clock to give: the sync goes on
// to the push, whose answer says the versions differ, in words.
func TestAnOlderServerWithoutAClockSaysTheVersionsDiffer(t *testing.T) {
	ctx := context.Background()
	s := startServer(t)
	a := enroll(t, s, "DESK01", false)
	old := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/clock" {
			http.NotFound(w, r)
			return
		}
		fail(w, http.StatusConflict, CodeSchemaMismatch, "Versione del programma non compatibile con il server (schema 99, server 16): aggiornare Sportello", nil)
	}))
	defer old.Close()
	cfg := a.client.cfg
	cfg.URL, cfg.HTTP = old.URL, old.Client()
	c := NewClient(a.svc.DB(), a.svc.Blobs(), cfg)
	err := c.SyncOnce(ctx)
	if st := c.State(); err == nil || !strings.Contains(st.LastError, "Versione del programma non compatibile") {
		t.Fatalf("sync with an older server: %v, shown %q", err, st.LastError)
	}
}
