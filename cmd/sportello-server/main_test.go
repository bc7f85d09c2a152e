package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"sportello/internal/desk"
	"sportello/internal/server"
	"sportello/store"
)

// `workstation list` names the workstation that holds the stable horizon
// back only once it has for a week, and says what to do.
func TestHorizonNote(t *testing.T) {
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		w    server.WorkstationInfo
		want string // substring; "" = no note
	}{
		{server.WorkstationInfo{Code: "DESK01", HoldsHorizon: true, SyncedUpTo: "2026-12-05T09:00:00Z", LastSeenAt: "2026-12-05T09:00:00Z"}, ""},
		{server.WorkstationInfo{Code: "DESK02", HoldsHorizon: false, SyncedUpTo: "2026-10-01T09:00:00Z", LastSeenAt: "2026-10-01T09:00:00Z"}, ""},
		{server.WorkstationInfo{Code: "LAP03", HoldsHorizon: true, SyncedUpTo: "2026-10-01T09:00:00Z", LastSeenAt: "2026-10-01T09:00:00Z"},
			"LAP03 non si sincronizza dal 01/10/2026 11:00"},
		{server.WorkstationInfo{Code: "LAP04", HoldsHorizon: true}, "LAP04 non si è mai sincronizzata"},
	}
	for _, c := range cases {
		got := horizonNote(c.w, now)
		if c.want == "" {
			if got != "" {
				t.Errorf("%s: unexpected note %q", c.w.Code, got)
			}
			continue
		}
		if !strings.Contains(got, c.want) || !strings.Contains(got, "workstation revoke -code "+c.w.Code) {
			t.Errorf("%s: note %q, want %q and the revoke command", c.w.Code, got, c.want)
		}
	}
}

// `workstation list` names a workstation whose clock was off at its last
// pull, by how much and which way; not one within the tolerance, never
// measured, or revoked.
func TestClockNote(t *testing.T) {
	at := "2026-12-07T15:30:00.000Z"
	cases := []struct {
		w    server.WorkstationInfo
		want string // "" = no note
	}{
		{server.WorkstationInfo{Code: "DESK01", ClockOffsetMs: -(3*3600 + 12*60) * 1000, ClockCheckedAt: at},
			"DESK01: all'ultima sincronizzazione (07/12/2026 16:30) il suo orologio era indietro di 3 h 12 min rispetto al server"},
		{server.WorkstationInfo{Code: "LAP02", ClockOffsetMs: 50 * 3600 * 1000, ClockCheckedAt: at}, "il suo orologio era avanti di 2 giorni e 2 h"},
		{server.WorkstationInfo{Code: "DESK03", ClockOffsetMs: 90 * 1000, ClockCheckedAt: at}, ""},
		{server.WorkstationInfo{Code: "DESK04"}, ""},
		{server.WorkstationInfo{Code: "DESK05", ClockOffsetMs: -3600 * 1000, ClockCheckedAt: at, RevokedAt: at}, ""},
	}
	for _, c := range cases {
		got := clockNote(c.w)
		if c.want == "" && got != "" || !strings.Contains(got, c.want) {
			t.Errorf("%s: note %q, want %q", c.w.Code, got, c.want)
		}
	}
}

// After an update, `workstation list` names the workstations still on
// another version of the program, and says which side to update.
func TestProgramNote(t *testing.T) {
	at := "2026-12-07T15:30:00.000Z"
	v := store.SchemaVersion()
	cases := []struct {
		w    server.WorkstationInfo
		want string // "" = no note
	}{
		{server.WorkstationInfo{Code: "DESK01", ProgramSchema: v - 1, ProgramSeenAt: at},
			fmt.Sprintf("DESK01: all'ultima richiesta (07/12/2026 16:30) aveva una versione del programma precedente a quella del server (schema %d, server %d)", v-1, v)},
		{server.WorkstationInfo{Code: "LAP02", ProgramSchema: v + 1, ProgramSeenAt: at}, "finché non si aggiorna il server"},
		{server.WorkstationInfo{Code: "DESK03", ProgramSchema: v, ProgramSeenAt: at}, ""},
		{server.WorkstationInfo{Code: "DESK04"}, ""},
		{server.WorkstationInfo{Code: "DESK05", ProgramSchema: v - 1, ProgramSeenAt: at, RevokedAt: at}, ""},
	}
	for _, c := range cases {
		got := programNote(c.w)
		if c.want == "" && got != "" || !strings.Contains(got, c.want) {
			t.Errorf("%s: note %q, want %q", c.w.Code, got, c.want)
		}
	}
}

// When every workstation measured finds its clock off the same way, the
// server's clock is the suspect.
func TestServerClockNote(t *testing.T) {
	at := "2026-12-07T15:30:00.000Z"
	ws := func(code string, offset time.Duration) server.WorkstationInfo {
		return server.WorkstationInfo{Code: code, ClockOffsetMs: offset.Milliseconds(), ClockCheckedAt: at}
	}
	cases := []struct {
		list []server.WorkstationInfo
		want string
	}{
		{[]server.WorkstationInfo{ws("DESK01", -time.Hour), ws("DESK02", -61*time.Minute)}, "Tutte le postazioni risultano indietro rispetto al server"},
		{[]server.WorkstationInfo{ws("DESK01", time.Hour), ws("DESK02", 59*time.Minute), {Code: "DESK03"}}, "Tutte le postazioni risultano avanti"},
		{[]server.WorkstationInfo{ws("DESK01", time.Hour), ws("DESK02", 0)}, ""},
		{[]server.WorkstationInfo{ws("DESK01", time.Hour), ws("DESK02", -time.Hour)}, ""},
		{[]server.WorkstationInfo{ws("DESK01", time.Hour)}, ""},
	}
	for i, c := range cases {
		got := serverClockNote(c.list)
		if c.want == "" && got != "" || !strings.Contains(got, c.want) {
			t.Errorf("case %d: note %q, want %q", i, got, c.want)
		}
	}
}

// `protocol resume` refuses, without -force, to end a restore window while
// changes still wait for what other workstations have to push again: they
// would be refused, and the administrator should wait for those
// workstations first.
func TestResumeWaitsForParkedChanges(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	svc, err := desk.Open(ctx, dir, desk.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.DB().Write(ctx, store.Actor{OperatorID: "server"}, func(tx *store.Tx) error {
		return tx.ParkChange("ws-desk", store.Change{TxID: "tx-1", Table: "applications", RowID: "app-1", Op: "update", OriginSeq: 7,
			WorkstationID: "ws-desk", OperatorID: "op-sportello", HLC: "1772440000000-00000000-ws-desk", Data: json.RawMessage(`{"state":"completa"}`)})
	}); err != nil {
		t.Fatal(err)
	}
	svc.Close()
	err = protocolResume(ctx, []string{"-data", dir, "-after", "0"})
	var de *desk.Error
	if !errors.As(err, &de) || !strings.Contains(de.Message, "-force") {
		t.Fatalf("resume with a parked change: %v", err)
	}
	// A year other than the current one is refused, in words.
	err = protocolResume(ctx, []string{"-data", dir, "-after", "0", "-year", "1999", "-force"})
	if !errors.As(err, &de) || !strings.Contains(de.Message, "anno in corso") {
		t.Fatalf("resume in the register of 1999: %v", err)
	}
	if err := protocolResume(ctx, []string{"-data", dir, "-after", "0", "-force"}); err != nil {
		t.Fatalf("resume -force: %v", err)
	}
	svc, err = desk.Open(ctx, dir, desk.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if n, err := svc.DB().ParkedCount(ctx); err != nil || n != 0 {
		t.Fatalf("%d changes still parked after the resume (%v)", n, err)
	}
}
