package sync

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"sportello/internal/citizen"
	"sportello/internal/desk"
	"sportello/internal/protocol"
	"sportello/store"
)

// Definitive numbers restart at 1 on 1 January in Rome (art. 57), which is
// still 31 December in UTC for an hour (two in summer). An emergency
// registration made offline on 31 December and pushed after midnight gets
// its number in the new year's register, in the order it reached the
// server, and keeps its own date and emergency number (art. 63).
func TestDefinitiveNumbersRestartOnTheFirstOfJanuaryInRome(t *testing.T) {
	ctx := context.Background()
	var shift atomic.Int64
	setClock := func(at time.Time) { shift.Store(int64(time.Until(at))) }
	now := func() time.Time { return time.Now().Add(time.Duration(shift.Load())) }
	setClock(time.Date(2026, 12, 31, 23, 40, 0, 0, protocol.Rome))

	s, serve := restorable(t)
	dir := t.TempDir()
	srv, err := desk.Open(ctx, dir, desk.Options{Synchronous: "NORMAL", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	if _, err := srv.SeedDemo(ctx); err != nil {
		t.Fatal(err)
	}
	serve(srv, dir)

	open := func(code string) (*replica, desk.Session) {
		r := enroll(t, s, code, false)
		r.svc.Close()
		*r = *openReplicaWith(t, r.dir, desk.Options{Synchronous: "NORMAL", Now: now})
		r.sync(t)
		return r, login(t, r.svc, "sportello")
	}
	a, opA := open("DESK01")
	a.svc.SetConnector(a.client) // online: numbers come from the server at once
	b, opB := open("DESK02")     // never connected: the emergency register
	x, err := a.svc.SaveCitizen(ctx, opA, citizen.Citizen{Surname: "Neri", Name: "Paola", CodiceFiscale: cf(t, "Neri", "Paola", "1980-02-02"), Email: "paola@example.it"})
	if err != nil {
		t.Fatal(err)
	}
	a.sync(t)
	b.sync(t)
	file := func(r *replica, op desk.Session) desk.ProtocolResult {
		t.Helper()
		cat, err := r.svc.Catalog(ctx)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := cat.Procedure("richiesta-informazioni")
		app, err := r.svc.NewApplication(ctx, op, p.ID, x.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := r.svc.SaveDraft(ctx, op, app.ID, fill(p, x), nil); err != nil {
			t.Fatal(err)
		}
		if probs, err := r.svc.MarkComplete(ctx, op, app.ID); err != nil || len(probs) > 0 {
			t.Fatalf("complete: %v %+v", err, probs)
		}
		res, err := r.svc.ProtocolApplication(ctx, op, app.ID)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}

	// 31 December, 23:45 in Rome: the year's first definitive number.
	setClock(time.Date(2026, 12, 31, 23, 45, 0, 0, protocol.Rome))
	if res := file(a, opA); res.Emergency || res.Pending || res.Label != protocol.NumberLabel(1, 2026) {
		t.Fatalf("online on 31 December: %+v", res)
	}
	// 23:50: B, offline, uses its emergency register.
	setClock(time.Date(2026, 12, 31, 23, 50, 0, 0, protocol.Rome))
	em := file(b, opB)
	if !em.Emergency || em.Registration.RegDate != "2026-12-31" || em.Registration.Year != 2026 {
		t.Fatalf("offline on 31 December: %+v", em)
	}

	// 1 January, 00:10 in Rome (23:10 UTC on 31 December): a new register.
	setClock(time.Date(2027, 1, 1, 0, 10, 0, 0, protocol.Rome))
	if res := file(a, opA); res.Emergency || res.Pending || res.Label != protocol.NumberLabel(1, 2027) {
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
	if res := file(a, opA); res.Label != protocol.NumberLabel(3, 2027) {
		t.Fatalf("third of the new year: %+v", res)
	}

	// The server's registers: 2026 holds 1, 2027 holds 1–3, no gaps.
	var got string
	if err := srv.DB().Read(ctx, func(q store.Querier) error {
		return q.QueryRow(`SELECT group_concat(year || '/' || number, ' ') FROM
			(SELECT year, number FROM protocol_numbers ORDER BY year, number)`).Scan(&got)
	}); err != nil {
		t.Fatal(err)
	}
	if got != "2026/1 2027/1 2027/2 2027/3" {
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
	var shift atomic.Int64
	setClock := func(at time.Time) { shift.Store(int64(time.Until(at))) }
	now := func() time.Time { return time.Now().Add(time.Duration(shift.Load())) }
	setClock(time.Date(2026, 12, 31, 21, 0, 0, 0, protocol.Rome))

	s, serve := restorable(t)
	serverOn := func(dir string, seed bool) *desk.Service {
		t.Helper()
		svc, err := desk.Open(ctx, dir, desk.Options{Synchronous: "NORMAL", Now: now})
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
	srv := serverOn(t.TempDir(), true)
	a := enroll(t, s, "DESK01", false)
	a.svc.Close()
	*a = *openReplicaWith(t, a.dir, desk.Options{Synchronous: "NORMAL", Now: now})
	opA := login(t, a.svc, "sportello")
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
	setClock(time.Date(2026, 12, 31, 22, 0, 0, 0, protocol.Rome))
	copyDir := t.TempDir()
	if err := srv.DB().BackupTo(ctx, filepath.Join(copyDir, "sportello.db")); err != nil {
		t.Fatal(err)
	}
	setClock(time.Date(2026, 12, 31, 23, 30, 0, 0, protocol.Rome))
	if got := numbered("Verdi"); got != protocol.NumberLabel(2, 2026) {
		t.Fatalf("second of 2026: %s", got)
	}
	setClock(time.Date(2027, 1, 1, 0, 20, 0, 0, protocol.Rome))
	if got := numbered("Gialli"); got != protocol.NumberLabel(1, 2027) {
		t.Fatalf("first of 2027: %s", got)
	}

	// Lost at 00:30; restored from the copy of 22:00 the next morning.
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	setClock(time.Date(2027, 1, 1, 8, 0, 0, 0, protocol.Rome))
	back := serverOn(copyDir, false)
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
	var got string
	if err := back.DB().Read(ctx, func(q store.Querier) error {
		return q.QueryRow(`SELECT group_concat(year || '/' || number, ' ') FROM
			(SELECT year, number FROM protocol_numbers ORDER BY year, number)`).Scan(&got)
	}); err != nil {
		t.Fatal(err)
	}
	if got != "2026/1 2026/2 2027/1 2027/2" {
		t.Fatalf("restored server's numbers %q", got)
	}
}
