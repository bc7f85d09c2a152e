// Package audit defines the tamper-evident audit log: every change appends an
// entry whose hash covers the entry and the hash of the previous entry of the
// same workstation, so editing, removing or reordering any entry breaks the
// chain from that point on. Storage is elsewhere; this package only hashes and
// verifies.
package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// Genesis is the prev_hash of the first entry of every chain.
const Genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// Entry is one audit record. Data is the JSON of what changed.
type Entry struct {
	ID            string `json:"id"`
	WorkstationID string `json:"workstation_id"`
	Seq           int64  `json:"seq"`
	At            string `json:"at"`
	HLC           string `json:"hlc"`
	OperatorID    string `json:"operator_id"`
	Action        string `json:"action"`
	Table         string `json:"tbl"`
	RowID         string `json:"row_id"`
	Data          string `json:"data"`
	PrevHash      string `json:"-"`
	Hash          string `json:"-"`
}

// Compute returns the hash of e chained to prev.
func Compute(prev string, e Entry) string {
	body, err := json.Marshal(e) // field order is fixed by the struct
	if err != nil {
		// Entry holds only strings and an int64: Marshal cannot fail.
		panic(fmt.Sprintf("audit: marshal entry: %v", err))
	}
	h := sha256.New()
	h.Write([]byte(prev))
	h.Write([]byte{'\n'})
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// Seal fills PrevHash and Hash of e as the successor of prev.
func Seal(prev string, e *Entry) {
	e.PrevHash = prev
	e.Hash = Compute(prev, *e)
}

// Break describes the first broken link of a chain.
type Break struct {
	WorkstationID string
	Seq           int64
	EntryID       string
	Reason        string
}

func (b *Break) Error() string {
	return fmt.Sprintf("audit chain of workstation %s broken at seq %d (entry %s): %s", b.WorkstationID, b.Seq, b.EntryID, b.Reason)
}

// Verifier checks one workstation's chain entry by entry, in seq order, so a
// caller can stream millions of entries without holding them.
type Verifier struct {
	ws      string
	prev    string
	nextSeq int64
	broken  *Break
}

// NewVerifier starts verifying the chain of workstation ws.
func NewVerifier(ws string) *Verifier {
	return &Verifier{ws: ws, prev: Genesis, nextSeq: 1}
}

// Sealed reports whether e's hash matches its content and PrevHash: the
// costly half of a link check, which a caller can run ahead (in parallel,
// outside a transaction) and hand to AddSealed.
func (e Entry) Sealed() bool { return Compute(e.PrevHash, e) == e.Hash }

// Add checks the next entry and returns the first break found so far (nil
// while the chain holds). Entries after a break are not checked.
func (v *Verifier) Add(e Entry) *Break {
	if v.broken != nil {
		return v.broken
	}
	return v.AddSealed(e, e.Sealed())
}

// AddSealed is Add for an entry whose Sealed() the caller computed already.
func (v *Verifier) AddSealed(e Entry, sealed bool) *Break {
	if v.broken != nil {
		return v.broken
	}
	fail := func(reason string) *Break {
		v.broken = &Break{WorkstationID: v.ws, Seq: e.Seq, EntryID: e.ID, Reason: reason}
		return v.broken
	}
	switch {
	case e.WorkstationID != v.ws:
		return fail(fmt.Sprintf("entry belongs to workstation %s", e.WorkstationID))
	case e.Seq != v.nextSeq:
		return fail(fmt.Sprintf("expected seq %d (an entry is missing or out of order)", v.nextSeq))
	case e.PrevHash != v.prev:
		return fail("prev_hash does not match the previous entry's hash")
	case !sealed:
		return fail("hash does not match the entry's content (the entry was altered)")
	}
	v.prev = e.Hash
	v.nextSeq++
	return nil
}

// ResumeVerifier continues verifying a chain whose entries up to lastSeq
// (with hash head) are already trusted, e.g. those the server stored before.
func ResumeVerifier(ws string, lastSeq int64, head string) *Verifier {
	return &Verifier{ws: ws, prev: head, nextSeq: lastSeq + 1}
}
