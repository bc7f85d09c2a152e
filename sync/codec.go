package sync

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ContentTypeBatch is the compact framing of push and pull batches
// (docs/sync-protocol.md, "Batch framing"). The server also accepts and
// answers plain JSON (Content-Type / Accept application/json), which is
// easier to read by hand; the client uses the framing because encoding and
// decoding JSON envelopes cost more than applying the changes.
const ContentTypeBatch = "application/vnd.sportello.batch"

var batchMagic = []byte("SPB1")

// Record kinds of the framing.
const (
	recChange  = 'C'
	recAudit   = 'A'
	recTrailer = 'E'
)

// batch is what a framed body carries: a push (changes and audit entries)
// or a pull answer (changes, cursor, more).
type batch struct {
	Changes []Change
	Audit   []auditWire
	Cursor  int64
	More    bool
}

type batchWriter struct {
	w   *bufio.Writer
	buf []byte
}

func (b *batchWriter) str(s string) {
	b.buf = binary.AppendUvarint(b.buf[:0], uint64(len(s)))
	b.w.Write(b.buf)
	b.w.WriteString(s)
}

func (b *batchWriter) bytes(p []byte) {
	b.buf = binary.AppendUvarint(b.buf[:0], uint64(len(p)))
	b.w.Write(b.buf)
	b.w.Write(p)
}

func (b *batchWriter) int(n int64) {
	b.buf = binary.AppendVarint(b.buf[:0], n)
	b.w.Write(b.buf)
}

// encodeBatch writes b in the framing: the magic, one record per change
// and audit entry, and a trailer that repeats the counts, so that a body
// cut short is detected.
func encodeBatch(w io.Writer, b batch) error {
	bw := &batchWriter{w: bufio.NewWriterSize(w, 64<<10)}
	bw.w.Write(batchMagic)
	for _, c := range b.Changes {
		bw.w.WriteByte(recChange)
		bw.str(c.TxID)
		bw.str(c.Table)
		bw.str(c.RowID)
		bw.str(c.Op)
		bw.bytes(c.Data)
		bw.bytes(c.Base)
		bw.str(c.HLC)
		bw.str(c.OperatorID)
		bw.str(c.WorkstationID)
		bw.int(c.OriginSeq)
	}
	for _, a := range b.Audit {
		bw.w.WriteByte(recAudit)
		bw.str(a.ID)
		bw.str(a.WorkstationID)
		bw.int(a.Seq)
		bw.str(a.At)
		bw.str(a.HLC)
		bw.str(a.OperatorID)
		bw.str(a.Action)
		bw.str(a.Table)
		bw.str(a.RowID)
		bw.str(a.Data)
		bw.str(a.PrevHash)
		bw.str(a.Hash)
	}
	bw.w.WriteByte(recTrailer)
	bw.int(int64(len(b.Changes)))
	bw.int(int64(len(b.Audit)))
	bw.int(b.Cursor)
	more := byte(0)
	if b.More {
		more = 1
	}
	bw.w.WriteByte(more)
	return bw.w.Flush()
}

// errFraming is wrapped by every decoding error of the framing.
var errFraming = errors.New("batch framing")

type batchReader struct {
	b   []byte
	i   int
	err error
}

func (r *batchReader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s at byte %d", errFraming, what, r.i)
	}
}

func (r *batchReader) int() int64 {
	if r.err != nil {
		return 0
	}
	n, k := binary.Varint(r.b[r.i:])
	if k <= 0 {
		r.fail("bad integer")
		return 0
	}
	r.i += k
	return n
}

func (r *batchReader) raw() []byte {
	if r.err != nil {
		return nil
	}
	n, k := binary.Uvarint(r.b[r.i:])
	if k <= 0 || n > uint64(len(r.b)-r.i-k) {
		r.fail("bad length")
		return nil
	}
	r.i += k
	p := r.b[r.i : r.i+int(n) : r.i+int(n)]
	r.i += int(n)
	return p
}

func (r *batchReader) str() string { return string(r.raw()) }

// decodeBatch parses a framed body held in memory. The slices of Data and
// Base share body.
func decodeBatch(body []byte) (batch, error) {
	var b batch
	if !bytes.HasPrefix(body, batchMagic) {
		return b, fmt.Errorf("%w: not a Sportello batch", errFraming)
	}
	r := &batchReader{b: body, i: len(batchMagic)}
	for r.err == nil {
		if r.i >= len(r.b) {
			r.fail("missing trailer (body cut short?)")
			break
		}
		kind := r.b[r.i]
		r.i++
		switch kind {
		case recChange:
			var c Change
			c.TxID, c.Table, c.RowID, c.Op = r.str(), r.str(), r.str(), r.str()
			c.Data, c.Base = r.raw(), r.raw()
			if len(c.Base) == 0 {
				c.Base = nil
			}
			c.HLC, c.OperatorID, c.WorkstationID = r.str(), r.str(), r.str()
			c.OriginSeq = r.int()
			b.Changes = append(b.Changes, c)
		case recAudit:
			var a auditWire
			a.ID, a.WorkstationID = r.str(), r.str()
			a.Seq = r.int()
			a.At, a.HLC, a.OperatorID, a.Action, a.Table, a.RowID, a.Data = r.str(), r.str(), r.str(), r.str(), r.str(), r.str(), r.str()
			a.PrevHash, a.Hash = r.str(), r.str()
			a.Entry.PrevHash, a.Entry.Hash = a.PrevHash, a.Hash
			b.Audit = append(b.Audit, a)
		case recTrailer:
			nc, na := r.int(), r.int()
			b.Cursor = r.int()
			if r.err == nil && r.i != len(r.b)-1 {
				r.fail("trailer length")
			}
			if r.err != nil {
				return batch{}, r.err
			}
			switch r.b[r.i] {
			case 0:
			case 1:
				b.More = true
			default:
				r.fail("bad flag")
				return batch{}, r.err
			}
			if nc != int64(len(b.Changes)) || na != int64(len(b.Audit)) {
				return batch{}, fmt.Errorf("%w: trailer counts %d/%d, body has %d/%d", errFraming, nc, na, len(b.Changes), len(b.Audit))
			}
			return b, nil
		default:
			r.fail(fmt.Sprintf("unknown record %q", kind))
		}
	}
	return batch{}, r.err
}
