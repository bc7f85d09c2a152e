// Package hlc implements a hybrid logical clock (Kulkarni et al., 2014).
//
// A Timestamp orders events across replicas without trusting any
// workstation's wall clock alone: it is the maximum physical time seen so far
// (milliseconds since the Unix epoch) plus a logical counter that breaks ties
// and absorbs clocks that run behind, plus the node ID as the final
// tie-breaker. Its string form sorts lexicographically in timestamp order,
// so it can be compared in SQL and in JSON without decoding.
package hlc

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Timestamp is one HLC reading.
type Timestamp struct {
	WallMillis int64  // physical component, ms since epoch
	Logical    uint32 // logical counter within the same WallMillis
	Node       string // node (workstation) ID: final tie-breaker
}

// String encodes the timestamp as "WWWWWWWWWWWWW-LLLLLLLL-node": 13 decimal
// digits of milliseconds (good until year 2286), 8 hex digits of counter,
// then the node. The encoding sorts in the same order as Compare.
func (t Timestamp) String() string {
	return fmt.Sprintf("%013d-%08x-%s", t.WallMillis, t.Logical, t.Node)
}

// IsZero reports whether t is the zero timestamp.
func (t Timestamp) IsZero() bool { return t.WallMillis == 0 && t.Logical == 0 && t.Node == "" }

// Parse decodes the String form.
func Parse(s string) (Timestamp, error) {
	parts := strings.SplitN(s, "-", 3)
	if len(parts) != 3 || len(parts[0]) != 13 || len(parts[1]) != 8 {
		return Timestamp{}, fmt.Errorf("hlc: malformed timestamp %q", s)
	}
	w, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil {
		return Timestamp{}, fmt.Errorf("hlc: malformed wall time in %q: %w", s, err)
	}
	l, err := strconv.ParseUint(parts[1], 16, 32)
	if err != nil {
		return Timestamp{}, fmt.Errorf("hlc: malformed counter in %q: %w", s, err)
	}
	return Timestamp{WallMillis: w, Logical: uint32(l), Node: parts[2]}, nil
}

// Compare returns -1, 0 or +1.
func Compare(a, b Timestamp) int {
	switch {
	case a.WallMillis != b.WallMillis:
		if a.WallMillis < b.WallMillis {
			return -1
		}
		return 1
	case a.Logical != b.Logical:
		if a.Logical < b.Logical {
			return -1
		}
		return 1
	default:
		return strings.Compare(a.Node, b.Node)
	}
}

// Clock issues monotonically increasing timestamps for one node.
type Clock struct {
	mu   sync.Mutex
	node string
	now  func() time.Time
	last Timestamp
}

// New returns a clock for node, never going below last (the highest
// timestamp this node persisted before a restart).
func New(node string, last Timestamp, now func() time.Time) *Clock {
	if now == nil {
		now = time.Now
	}
	last.Node = node
	return &Clock{node: node, now: now, last: last}
}

// Now returns a timestamp greater than every one issued or observed before.
func (c *Clock) Now() Timestamp {
	c.mu.Lock()
	defer c.mu.Unlock()
	pt := c.now().UnixMilli()
	if pt > c.last.WallMillis {
		c.last = Timestamp{WallMillis: pt, Node: c.node}
	} else {
		c.last.Logical++
	}
	return c.last
}

// Observe merges a timestamp received from another node, so that the next
// local timestamp is greater than it.
func (c *Clock) Observe(remote Timestamp) {
	c.mu.Lock()
	defer c.mu.Unlock()
	pt := c.now().UnixMilli()
	switch {
	case pt > c.last.WallMillis && pt > remote.WallMillis:
		c.last = Timestamp{WallMillis: pt, Node: c.node}
	case remote.WallMillis > c.last.WallMillis:
		c.last = Timestamp{WallMillis: remote.WallMillis, Logical: remote.Logical + 1, Node: c.node}
	case remote.WallMillis == c.last.WallMillis:
		if remote.Logical > c.last.Logical {
			c.last.Logical = remote.Logical
		}
		c.last.Logical++
	default:
		c.last.Logical++
	}
}

// Last returns the highest timestamp issued or observed.
func (c *Clock) Last() Timestamp {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}
