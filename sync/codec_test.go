package sync

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"sportello/internal/audit"
)

func sampleBatch() batch {
	return batch{
		Changes: []Change{
			{TxID: "t1", Table: "citizens", RowID: "c1", Op: "insert", Data: json.RawMessage(`{"surname":"Rossi","name":"Città"}`),
				HLC: "1767225600000-00000000-w", OperatorID: "op", WorkstationID: "w", OriginSeq: 1},
			{TxID: "t2", Table: "citizens", RowID: "c1", Op: "update", Data: json.RawMessage(`{"email":"a@b.it"}`),
				Base: json.RawMessage(`{"email":"1767225600000-00000000-w"}`), HLC: "1767225600001-00000000-w", OperatorID: "op", WorkstationID: "w", OriginSeq: 2},
		},
		Audit: []auditWire{{Entry: audit.Entry{ID: "a1", WorkstationID: "w", Seq: 7, At: "2026-01-01T00:00:00.000Z", HLC: "h", OperatorID: "op",
			Action: "insert", Table: "citizens", RowID: "c1", Data: `{"x":1}`, PrevHash: "p", Hash: "h2"}, PrevHash: "p", Hash: "h2"}},
		Cursor: -3,
		More:   true,
	}
}

func TestBatchFramingRoundTrip(t *testing.T) {
	for _, b := range []batch{{}, sampleBatch(), {Changes: sampleBatch().Changes[:1], Cursor: 1 << 40}} {
		var buf bytes.Buffer
		if err := encodeBatch(&buf, b); err != nil {
			t.Fatal(err)
		}
		got, err := decodeBatch(buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(b, got); d != "" {
			t.Fatalf("round trip (-want +got):\n%s", d)
		}
		// Every cut of the body is refused, never half read.
		for n := 0; n < buf.Len(); n++ {
			if _, err := decodeBatch(buf.Bytes()[:n]); !errors.Is(err, errFraming) {
				t.Fatalf("body cut at %d/%d: %v", n, buf.Len(), err)
			}
		}
	}
}

// FuzzDecodeBatch: whatever the bytes, decoding returns a batch or a framing
// error, never panics, and what it returns encodes back to a batch that
// decodes the same.
func FuzzDecodeBatch(f *testing.F) {
	var buf bytes.Buffer
	encodeBatch(&buf, sampleBatch())
	f.Add(buf.Bytes())
	f.Add([]byte("SPB1E\x00\x00\x00\x00"))
	f.Add([]byte("SPB1C\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"))
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := decodeBatch(body)
		if err != nil {
			if !errors.Is(err, errFraming) {
				t.Fatalf("error not wrapped: %v", err)
			}
			return
		}
		var out bytes.Buffer
		if err := encodeBatch(&out, b); err != nil {
			t.Fatal(err)
		}
		again, err := decodeBatch(out.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(b, again, cmp.Transformer("raw", func(r json.RawMessage) string { return string(r) })); d != "" {
			t.Fatal(d)
		}
	})
}
