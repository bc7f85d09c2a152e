package sync

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"sportello/internal/desk"
	"sportello/internal/protocol"
	"sportello/store"
)

// movableClock is a clock that can be set to any instant and runs on from
// there, for a server and its desks around the turn of the year.
type movableClock struct{ shift atomic.Int64 }

func (c *movableClock) set(at time.Time) { c.shift.Store(int64(time.Until(at))) }
func (c *movableClock) now() time.Time   { return time.Now().Add(time.Duration(c.shift.Load())) }

// serveOn opens the server's database in dir on clk (seeded with the demo
// municipality when seed) and serves it.
func serveOn(t *testing.T, serve func(*desk.Service, string), dir string, clk *movableClock, seed bool) *desk.Service {
	t.Helper()
	ctx := context.Background()
	svc, err := desk.Open(ctx, dir, desk.Options{Synchronous: "NORMAL", Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	if seed {
		if _, err := svc.SeedDemo(ctx); err != nil {
			t.Fatal(err)
		}
	}
	serve(svc, dir)
	return svc
}

// enrollOn enrols a desk and reopens it on clk.
func enrollOn(t *testing.T, s *testServer, code string, clk *movableClock) (*replica, desk.Session) {
	t.Helper()
	r := enroll(t, s, code, false)
	r.svc.Close()
	*r = *openReplicaWith(t, r.dir, desk.Options{Synchronous: "NORMAL", Now: clk.now})
	r.sync(t)
	return r, login(t, r.svc, "sportello")
}

// registerNumbers lists a server's definitive numbers as "year/number".
func registerNumbers(t *testing.T, db *store.DB) string {
	t.Helper()
	var got string
	if err := db.Read(context.Background(), func(q store.Querier) error {
		return q.QueryRow(`SELECT COALESCE(group_concat(year || '/' || number, ' '), '') FROM
			(SELECT year, number FROM protocol_numbers ORDER BY year, number)`).Scan(&got)
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

// Definitive numbers restart at 1 on 1 January in Rome (art. 57), which is
// still 31 December in UTC for an hour (two in summer). An emergency
// registration made offline on 31 December and pushed after midnight gets
// its number in the new year's register, in the order it reached the
// server, and keeps its own date and emergency number (art. 63).
func TestDefinitiveNumbersRestartOnTheFirstOfJanuaryInRome(t *testing.T) {
	ctx := context.Background()
	var clk movableClock
	clk.set(time.Date(2026, 12, 31, 23, 40, 0, 0, protocol.Rome))
	s, serve := restorable(t)
	srv := serveOn(t, serve, t.TempDir(), &clk, true)
	a, opA := enrollOn(t, s, "DESK01", &clk)
	a.svc.SetConnector(a.client)             // online: numbers come from the server at once
	b, opB := enrollOn(t, s, "DESK02", &clk) // never connected: the emergency register
	file := func(r *replica, op desk.Session, surname string) desk.ProtocolResult {
		t.Helper()
		res, err := r.svc.ProtocolApplication(ctx, op, completeComplaint(t, r, op, surname).ID)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}

	// 31 December, 23:45 in Rome: the year's first definitive number.
	clk.set(time.Date(2026, 12, 31, 23, 45, 0, 0, protocol.Rome))
	if res := file(a, opA, "Rossi"); res.Emergency || res.Pending || res.Label != protocol.NumberLabel(1, 2026) {
		t.Fatalf("online on 31 December: %+v", res)
	}
	// 23:50: B, offline, uses its emergency register.
	clk.set(time.Date(2026, 12, 31, 23, 50, 0, 0, protocol.Rome))
	em := file(b, opB, "Verdi")
	if !em.Emergency || em.Registration.RegDate != "2026-12-31" || em.Registration.Year != 2026 {
		t.Fatalf("offline on 31 December: %+v", em)
	}

	// 1 January, 00:10 in Rome (23:10 UTC on 31 December): a new register.
	clk.set(time.Date(2027, 1, 1, 0, 10, 0, 0, protocol.Rome))
	if res := file(a, opA, "Gialli"); res.Emergency || res.Pending || res.Label != protocol.NumberLabel(1, 2027) {
		t.Fatalf("online after midnight in Rome: %+v", res)
	}
	// B reconnects: its registration of 31 December is numbered now, in
	// the new year's register, after the one that reached the server first.
	b.sync(t) // push: the server numbers it
	b.sync(t) // pull: the number comes back
	reg, err := b.svc.Registration(ctx, opB, em.Registration.ID)
	if err != nil {
		t.Fatal(err)
	}
	if reg.Number != 2 || reg.NumberYear != 2027 || reg.Label() != protocol.NumberLabel(2, 2027) {
		t.Fatalf("emergency registration numbered %d/%d (%s), want 2/2027", reg.Number, reg.NumberYear, reg.Label())
	}
	if reg.RegDate != "2026-12-31" || reg.Year != 2026 || reg.EmergencyLabel() != em.Label ||
		!reg.RegisteredAt.Equal(em.Registration.RegisteredAt.Truncate(time.Millisecond)) {
		t.Fatalf("emergency registration lost its own date or number: %+v (was %+v)", reg, em.Registration)
	}
	if res := file(a, opA, "Neri"); res.Label != protocol.NumberLabel(3, 2027) {
		t.Fatalf("third of the new year: %+v", res)
	}

	// The server's registers: 2026 holds 1, 2027 holds 1–3, no gaps.
	if got := registerNumbers(t, srv.DB()); got != "2026/1 2027/1 2027/2 2027/3" {
		t.Fatalf("server's numbers %q", got)
	}
}

// A server lost just after the year turned, restored from a copy made on
// 31 December: the number an administrator reads from the last daily
// register of the copy's year is not where the new register resumes —
// taken as such, 2027 would start at 3. The resume asks to confirm the
// year, and numbers of either year the lost server gave come back.
func TestResumeAfterTheYearTurnedConfirmsTheNewRegister(t *testing.T) {
	ctx := context.Background()
	var clk movableClock
	clk.set(time.Date(2026, 12, 31, 21, 0, 0, 0, protocol.Rome))
	s, serve := restorable(t)
	srv := serveOn(t, serve, t.TempDir(), &clk, true)
	a, opA := enrollOn(t, s, "DESK01", &clk)
	numbered := func(surname string) string {
		t.Helper()
		id := protocolOffline(t, a, opA, surname)
		a.sync(t)
		a.sync(t)
		reg, err := a.svc.Registration(ctx, opA, id)
		if err != nil {
			t.Fatal(err)
		}
		return reg.Label()
	}
	if got := numbered("Rossi"); got != protocol.NumberLabel(1, 2026) {
		t.Fatalf("first of 2026: %s", got)
	}
	clk.set(time.Date(2026, 12, 31, 22, 0, 0, 0, protocol.Rome))
	copyDir := t.TempDir()
	if err := srv.DB().BackupTo(ctx, filepath.Join(copyDir, "sportello.db")); err != nil {
		t.Fatal(err)
	}
	clk.set(time.Date(2026, 12, 31, 23, 30, 0, 0, protocol.Rome))
	if got := numbered("Verdi"); got != protocol.NumberLabel(2, 2026) {
		t.Fatalf("second of 2026: %s", got)
	}
	clk.set(time.Date(2027, 1, 1, 0, 20, 0, 0, protocol.Rome))
	if got := numbered("Gialli"); got != protocol.NumberLabel(1, 2027) {
		t.Fatalf("first of 2027: %s", got)
	}

	// Lost at 00:30; restored from the copy of 22:00 the next morning.
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	clk.set(time.Date(2027, 1, 1, 8, 0, 0, 0, protocol.Rome))
	back := serveOn(t, serve, copyDir, &clk, false)
	if at, err := back.DB().Meta(ctx, "log_epoch_at"); err != nil || !strings.HasPrefix(at, "2026-12-31T21:00") {
		t.Fatalf("the copy does not say when it was made: %q %v", at, err)
	}
	a.sync(t) // rejoins: gives back 2/2026 and 1/2027

	// The last daily register of the copy's year ends at 2: read as the
	// new year's, it would start 2027 at 3.
	var ye *ResumeYearError
	if _, err := ResumeNumbering(ctx, back.DB(), 2, 0); !errors.As(err, &ye) || ye.Copy != 2026 || ye.Current != 2027 {
		t.Fatalf("resume after the year turned, unconfirmed: %v", err)
	}
	if !strings.Contains(ye.Message(), "-year 2027") {
		t.Errorf("message does not say how to confirm: %s", ye.Message())
	}
	if _, err := ResumeNumbering(ctx, back.DB(), 2, 2026); !errors.As(err, &ye) || ye.Given != 2026 {
		t.Fatalf("resume in the copy's year: %v", err)
	}
	if held, err := back.DB().NumberingHeld(ctx); err != nil || !held {
		t.Fatalf("a refused resume ended the hold: %v %v", held, err)
	}
	res, err := ResumeNumbering(ctx, back.DB(), 1, 2027)
	if err != nil || res != (Resumed{Year: 2027}) {
		t.Fatalf("resume in 2027 after 1: %+v %v", res, err)
	}
	if got := numbered("Neri"); got != protocol.NumberLabel(2, 2027) {
		t.Fatalf("next of 2027: %s", got)
	}
	if got := registerNumbers(t, back.DB()); got != "2026/1 2026/2 2027/1 2027/2" {
		t.Fatalf("restored server's numbers %q", got)
	}
}
