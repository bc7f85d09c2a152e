package protocol

import (
	"strings"
	"testing"
	"time"
)

func TestLegalDateIsRome(t *testing.T) {
	// 23:30 UTC on 31 December is already 1 January in Rome: the year restarts.
	d, y := LegalDate(time.Date(2025, 12, 31, 23, 30, 0, 0, time.UTC))
	if d != "2026-01-01" || y != 2026 {
		t.Fatalf("got %s %d", d, y)
	}
	// Summer time: 22:30 UTC on 30 June is 00:30 on 1 July in Rome.
	if d, _ := LegalDate(time.Date(2026, 6, 30, 22, 30, 0, 0, time.UTC)); d != "2026-07-01" {
		t.Fatalf("summer: got %s", d)
	}
}

func TestLabels(t *testing.T) {
	if got := NumberLabel(123, 2026); got != "0000123/2026" {
		t.Errorf("NumberLabel = %s", got)
	}
	if got := EmergencyLabel(EmergencyRegisterCode("ws01"), 2026, 7); got != "EM-WS01/2026/0000007" {
		t.Errorf("EmergencyLabel = %s", got)
	}
}

func TestInterruptionPeriods(t *testing.T) {
	start := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	in := Interruption{StartedAt: start}
	if err := in.UsableAt(start.Add(23 * time.Hour)); err != nil {
		t.Fatalf("within 24h: %v", err)
	}
	if err := in.UsableAt(start.Add(25 * time.Hour)); err == nil || !strings.Contains(err.Error(), "proroga") {
		t.Fatalf("after 24h without extension: %v", err)
	}
	if err := in.CheckExtension(start.Add(24*time.Hour + 8*24*time.Hour)); err == nil {
		t.Fatal("extension longer than a week accepted")
	}
	until := start.Add(24*time.Hour + 7*24*time.Hour)
	if err := in.CheckExtension(until); err != nil {
		t.Fatalf("one-week extension refused: %v", err)
	}
	in.Extended = append(in.Extended, until)
	if err := in.UsableAt(start.Add(5 * 24 * time.Hour)); err != nil {
		t.Fatalf("within extension: %v", err)
	}
	in.EndedAt = start.Add(6 * 24 * time.Hour)
	if err := in.UsableAt(start.Add(5 * 24 * time.Hour)); err == nil {
		t.Fatal("closed interruption still usable")
	}
}

func TestRegistrationValidate(t *testing.T) {
	ok := Registration{Direction: Incoming, Correspondent: "Rossi Mario", Subject: "Istanza", Primary: &Document{Name: "a.pdf", SHA256Hex: strings.Repeat("a", 64)}}
	if p := ok.Validate(); len(p) != 0 {
		t.Fatalf("valid registration: %v", p)
	}
	bad := Registration{Direction: Outgoing, Primary: &Document{Name: "x", SHA256Hex: "zz"}, ReceivedDocDate: "31/02/2026"}
	p := strings.Join(bad.Validate(), "|")
	for _, want := range []string{"destinatario", "oggetto", "impronta", "data del documento"} {
		if !strings.Contains(p, want) {
			t.Errorf("missing %q in %s", want, p)
		}
	}
}
