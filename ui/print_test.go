package ui

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// Printed PDFs hold personal data: they go to the print folder, private to
// the user, and closing the application removes them.
func TestPrintedPDFsRemovedOnClose(t *testing.T) {
	h := newHarness(t)
	path, err := writePDF(context.Background(), h.u.opts.PrintDir, "ricevuta", func(_ context.Context, w io.Writer) error {
		_, err := io.WriteString(w, "%PDF-1.4\n")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(path) != h.u.opts.PrintDir {
		t.Fatalf("printed to %s, want the folder %s", path, h.u.opts.PrintDir)
	}
	fi, err := os.Stat(h.u.opts.PrintDir)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o700 {
		t.Errorf("print folder mode %v, want 0700", fi.Mode().Perm())
	}
	h.u.Close()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("%s still there after Close (%v)", path, err)
	}
}

// At start the PDFs a crash left behind are removed once older than
// printKeep; recent ones and other files stay.
func TestPrunePrints(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	files := map[string]time.Duration{
		"sportello-ricevuta-1.pdf": printKeep + time.Hour, // removed
		"sportello-modulo-2.pdf":   time.Hour,             // kept: may still be in the viewer
		"altro.pdf":                48 * time.Hour,        // not the desk's: kept
	}
	for name, age := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("%PDF-1.4\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, now.Add(-age), now.Add(-age)); err != nil {
			t.Fatal(err)
		}
	}
	prunePrints(dir, now.Add(-printKeep))
	for name, want := range map[string]bool{"sportello-ricevuta-1.pdf": false, "sportello-modulo-2.pdf": true, "altro.pdf": true} {
		_, err := os.Stat(filepath.Join(dir, name))
		if got := err == nil; got != want {
			t.Errorf("%s present %v, want %v", name, got, want)
		}
	}
}
