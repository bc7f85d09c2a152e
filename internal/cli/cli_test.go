package cli

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
)

func TestCode(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var out bytes.Buffer
	if c := Code(nil, "uso", &out, log); c != 0 || out.Len() != 0 {
		t.Fatalf("nil: %d %q", c, out.String())
	}
	if c := Code(Usagef("manca %s", "-data"), "uso: x", &out, log); c != 2 || !strings.Contains(out.String(), "manca -data\nuso: x") {
		t.Fatalf("usage: %d %q", c, out.String())
	}
	out.Reset()
	if c := Code(errors.New("disco pieno"), "uso", &out, log); c != 1 || !strings.Contains(out.String(), "disco pieno") {
		t.Fatalf("failure: %d %q", c, out.String())
	}
}
