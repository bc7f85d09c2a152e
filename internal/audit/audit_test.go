package audit

import (
	"fmt"
	"strings"
	"testing"
)

func chain(n int) []Entry {
	prev := Genesis
	out := make([]Entry, n)
	for i := range out {
		e := Entry{ID: fmt.Sprintf("e%d", i+1), WorkstationID: "ws1", Seq: int64(i + 1), At: "2026-01-02T10:00:00Z",
			HLC: fmt.Sprintf("%013d-00000000-ws1", i), OperatorID: "op", Action: "update", Table: "citizens", RowID: "r", Data: `{"name":"Niccolò"}`}
		Seal(prev, &e)
		prev = e.Hash
		out[i] = e
	}
	return out
}

func verify(es []Entry) *Break {
	v := NewVerifier("ws1")
	for _, e := range es {
		if b := v.Add(e); b != nil {
			return b
		}
	}
	return nil
}

func TestVerifyFindsFirstBrokenLink(t *testing.T) {
	if b := verify(chain(10)); b != nil {
		t.Fatalf("intact chain reported broken: %v", b)
	}
	cases := []struct {
		name    string
		tamper  func([]Entry) []Entry
		wantSeq int64
		reason  string
	}{
		{"altered data", func(es []Entry) []Entry { es[4].Data = `{"name":"Mario"}`; return es }, 5, "altered"},
		{"removed entry", func(es []Entry) []Entry { return append(es[:3], es[4:]...) }, 5, "missing"},
		{"swapped entries", func(es []Entry) []Entry { es[2], es[3] = es[3], es[2]; return es }, 4, "missing or out of order"},
		{"rehashed entry without fixing successor", func(es []Entry) []Entry {
			es[6].Data = "{}"
			Seal(es[6].PrevHash, &es[6])
			return es
		}, 8, "prev_hash"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := verify(c.tamper(chain(10)))
			if b == nil || b.Seq != c.wantSeq || !strings.Contains(b.Reason, c.reason) {
				t.Fatalf("got %v, want break at seq %d (%s)", b, c.wantSeq, c.reason)
			}
		})
	}
}
