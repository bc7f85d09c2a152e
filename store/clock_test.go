package store

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"sportello/internal/hlc"
)

// The hybrid logical clock takes the server's time from the offset sync
// measured, across restarts; legal dates keep the workstation's clock; and
// the clock never goes back when the offset or the workstation's clock
// changes.
func TestClockOffsetGivesTheHybridClockTheServersTime(t *testing.T) {
	ctx := context.Background()
	server := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	var skew atomic.Int64
	skew.Store(int64(26 * time.Hour)) // the workstation's clock: a day and two hours ahead
	now := func() time.Time { return server.Add(time.Duration(skew.Load())) }
	path := filepath.Join(t.TempDir(), "replica.db")
	db, err := Open(ctx, path, Options{Synchronous: "NORMAL", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if _, known := db.ClockOffset(); known {
		t.Fatal("offset known before any measure")
	}
	if got := db.Clock().Now().WallMillis; got != now().UnixMilli() {
		t.Fatalf("before any measure the clock is the workstation's: %d", got)
	}
	// Measured: from now on the server's time (the clock is past it
	// already, and stays there until the server's time passes it).
	if err := db.SetClockOffset(ctx, 26*time.Hour+1500*time.Microsecond); err != nil {
		t.Fatal(err)
	}
	if d, known := db.ClockOffset(); !known || d != 26*time.Hour+time.Millisecond {
		t.Fatalf("offset %v known %v", d, known)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// A fresh replica measured before its first write: its clock is the
	// server's from the start, and so after a restart.
	path = filepath.Join(t.TempDir(), "fresh.db")
	db, err = Open(ctx, path, Options{Synchronous: "NORMAL", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetClockOffset(ctx, 26*time.Hour); err != nil {
		t.Fatal(err)
	}
	if got := db.Clock().Now(); got.WallMillis != server.UnixMilli() {
		t.Fatalf("clock %s, want the server's time %d", got, server.UnixMilli())
	}
	if db.Now() != now() {
		t.Fatalf("legal dates: %v, want the workstation's %v", db.Now(), now())
	}
	before := db.Clock().Now()
	if err := db.Write(ctx, Actor{OperatorID: "op"}, func(tx *Tx) error { return nil }); err != nil { // persists the clock
		t.Fatal(err)
	}
	db.Close()
	server = server.Add(time.Minute)
	db, err = Open(ctx, path, Options{Synchronous: "NORMAL", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if d, known := db.ClockOffset(); !known || d != 26*time.Hour {
		t.Fatalf("after a restart: offset %v known %v", d, known)
	}
	got := db.Clock().Now()
	if got.WallMillis != server.UnixMilli() || hlc.Compare(got, before) <= 0 {
		t.Fatalf("after a restart: clock %s (before %s)", got, before)
	}

	// The workstation's clock set right, the offset not measured yet: the
	// clock runs 26 hours behind the server's, and never goes back.
	skew.Store(0)
	prev := db.Clock().Now()
	if got := db.Clock().Now(); hlc.Compare(got, prev) <= 0 || got.WallMillis != prev.WallMillis {
		t.Fatalf("clock went back or jumped: %s after %s", got, prev)
	}
	// Measured again: the server's time once more.
	if err := db.SetClockOffset(ctx, 0); err != nil {
		t.Fatal(err)
	}
	server = server.Add(time.Second)
	if got := db.Clock().Now(); got.WallMillis != server.UnixMilli() {
		t.Fatalf("clock %s after the new measure, want %d", got, server.UnixMilli())
	}
}
