package server

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The server's next certificate: prepared while the server runs, it is
// announced to the workstations without a restart; switched to, it stays
// announced until the restart that presents it, the replaced one is kept,
// and a switch cut off halfway completes when run again.
func TestTheNextCertificateIsAnnouncedThenSwitchedTo(t *testing.T) {
	was := nextCheckEvery
	nextCheckEvery = 20 * time.Millisecond
	t.Cleanup(func() { nextCheckEvery = was })
	dir := t.TempDir()
	logs := newLockedBuffer()
	_, fp1, stop := startWith(t, dir, slog.New(slog.NewTextHandler(logs, nil)), nil)

	if _, _, err := SwitchCertificate(dir); err == nil {
		t.Fatal("switched with no next certificate prepared")
	}
	next, created, err := PrepareNextCertificate(dir, nil)
	if err != nil || !created || next.Fingerprint == fp1 {
		t.Fatalf("prepare: %v, created %v", err, created)
	}
	fp2 := next.Fingerprint
	waitLog := func(what string) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !strings.Contains(logs.String(), what); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the server did not log %q:\n%s", what, logs.String())
			}
		}
	}
	waitLog(`next certificate announced to the workstations" sha256=` + fp2)
	if again, created, err := PrepareNextCertificate(dir, nil); err != nil || created || again.Fingerprint != fp2 {
		t.Fatalf("prepared twice: %v, created %v", err, created)
	}
	if got, err := NextFingerprint(dir, ""); err != nil || got != fp2 {
		t.Fatalf("NextFingerprint = %s, %v", got, err)
	}

	old, fresh, err := SwitchCertificate(dir)
	if err != nil || old != fp1 || fresh != fp2 {
		t.Fatalf("switch: %s → %s, %v", old, fresh, err)
	}
	for _, name := range []string{NextCertFile, NextKeyFile} {
		if _, err := os.Stat(filepath.Join(dir, name)); !os.IsNotExist(err) {
			t.Errorf("%s still there after the switch (%v)", name, err)
		}
	}
	if prev, err := loadPair(filepath.Join(dir, PreviousCertFile), filepath.Join(dir, PreviousKeyFile), nil); err != nil || prev.Fingerprint != fp1 {
		t.Fatalf("previous certificate kept: %v", err)
	}
	// Still presenting the old one, the server goes on announcing the new.
	time.Sleep(10 * nextCheckEvery)
	if strings.Contains(logs.String(), "no longer announced") {
		t.Fatalf("the announcement stopped between the switch and the restart:\n%s", logs.String())
	}
	stop()
	_, fp, stop := startWith(t, dir, quiet, nil)
	stop()
	if fp != fp2 {
		t.Fatalf("after the restart the server presents %s, want %s", fp, fp2)
	}

	// A switch cut off after the certificate was written, before its key.
	third, _, err := PrepareNextCertificate(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, cp := range [][2]string{{KeyFile, PreviousKeyFile}, {CertFile, PreviousCertFile}, {NextCertFile, CertFile}} {
		b, err := os.ReadFile(filepath.Join(dir, cp[0]))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, cp[1]), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := LoadCertificate(dir, "", "", nil); err == nil {
		t.Fatal("a certificate with another's key loaded")
	}
	old, fresh, err = SwitchCertificate(dir)
	if err != nil || old != fp2 || fresh != third.Fingerprint {
		t.Fatalf("switch run again: %s → %s, %v", old, fresh, err)
	}
	if c, err := LoadCertificate(dir, "", "", nil); err != nil || c.Fingerprint != third.Fingerprint {
		t.Fatalf("after the switch run again: %v", err)
	}
}

// A certificate the municipality obtained is announced from its file; the
// backup carries a prepared next certificate, and drops it once switched to.
func TestNextCertificateFromAFileAndInBackups(t *testing.T) {
	dir := t.TempDir()
	_, fp1, stop := start(t, dir)
	stop()
	if got, err := NextFingerprint(dir, filepath.Join(dir, CertFile)); err != nil || got != fp1 {
		t.Fatalf("NextFingerprint of a file: %s, %v", got, err)
	}
	if _, err := NextFingerprint(dir, filepath.Join(dir, KeyFile)); err == nil {
		t.Fatal("a key file taken for a certificate")
	}
	if got, err := NextFingerprint(dir, ""); err != nil || got != "" {
		t.Fatalf("nothing prepared: %q, %v", got, err)
	}
	next, _, err := PrepareNextCertificate(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if _, err := copyCertificate(dir, out); err != nil {
		t.Fatal(err)
	}
	if got, err := NextFingerprint(out, ""); err != nil || got != next.Fingerprint {
		t.Fatalf("the copy announces %q (%v), want %s", got, err, next.Fingerprint)
	}
	if _, _, err := SwitchCertificate(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := copyCertificate(dir, out); err != nil {
		t.Fatal(err)
	}
	if got, err := NextFingerprint(out, ""); err != nil || got != "" {
		t.Fatalf("the copy still holds a next certificate switched to: %q, %v", got, err)
	}
	if c, err := LoadCertificate(out, "", "", nil); err != nil || c.Fingerprint != next.Fingerprint {
		t.Fatalf("the copy's certificate: %v", err)
	}
}
