package sync

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	gosync "sync"
)

// simMsg is one HTTP request as it travelled on the simulated network: its
// body is buffered so that it can be delivered again (duplicates, replays).
type simMsg struct {
	from   string
	method string
	url    string
	header http.Header
	body   []byte
}

// simDelayed is a copy of a request that the network delivers again at a
// later step of the simulation (a delayed, reordered, stale message).
type simDelayed struct {
	due int
	msg simMsg
}

// simNet is the faulty network between one replica and the server: an
// http.RoundTripper that serves each request by calling the server's mux
// directly. While faults are on, a seeded generator decides for every
// request (more or less often, as the replica's link is good, flaky or
// down) whether it is delivered, lost on the way, answered but with the
// answer lost, delivered twice, kept for a later replay, cut off while its
// body is sent, or answered with a truncated body. It can also "crash" the replica in the middle of a sync:
// at the n-th request it cancels the context the sync runs with, before or
// after the server saw the request.
type simNet struct {
	mu   gosync.Mutex // one request of the replica on the network at a time
	sim  *simulation
	name string
	rng  *rand.Rand

	link simLink
	// cut: nothing gets through, faults or not (a workstation away until
	// the administrator resumes numbering after a restore).
	cut bool

	// dropMatching loses every request whose method and URL contain it
	// (minimal reproductions; "" = none).
	dropMatching string

	calls       int
	cancel      context.CancelFunc
	cancelAt    int
	cancelAfter bool
}

// arm makes the network cancel a sync's context at its n-th request from now.
func (n *simNet) arm(cancel context.CancelFunc, at int, after bool) {
	n.calls, n.cancel, n.cancelAt, n.cancelAfter = 0, cancel, at, after
}

func (n *simNet) disarm() { n.cancel = nil }

// simLink is the state of a replica's connection, which changes over time.
type simLink int

const (
	linkGood  simLink = iota // a fault now and then
	linkFlaky                // a fault in about a third of the requests
	linkDown                 // nothing gets through
)

func (l simLink) String() string { return [...]string{"good", "flaky", "down"}[l] }

type simNetError struct{ what string }

func (e *simNetError) Error() string { return "simulated network: " + e.what }

func (n *simNet) RoundTrip(req *http.Request) (*http.Response, error) {
	// Requests in flight together (a pipelined client) take turns: the
	// server only ever waits for a push already inside it, so this never
	// blocks one behind another.
	n.mu.Lock()
	defer n.mu.Unlock()
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	m := simMsg{from: n.name, method: req.Method, url: req.URL.String(), header: req.Header.Clone(), body: body}
	if n.dropMatching != "" && strings.Contains(m.method+" "+m.url, n.dropMatching) {
		n.sim.count("net: request lost (targeted)")
		return nil, &simNetError{"request lost"}
	}
	if n.cut {
		n.sim.count("net: request lost (workstation away)")
		return nil, &simNetError{"no route to host"}
	}
	call := n.calls
	n.calls++
	if n.cancel != nil && call == n.cancelAt {
		cancel := n.cancel
		n.cancel = nil
		what := "crash before the request left"
		if n.cancelAfter {
			n.sim.deliver(m)
			what = "crash before the response arrived"
		}
		cancel()
		n.sim.count("net: " + what)
		return nil, &simNetError{what}
	}
	if !n.sim.faults {
		return n.sim.deliver(m), nil
	}
	switch n.link {
	case linkDown:
		n.sim.count("net: request lost (link down)")
		return nil, &simNetError{"no route to host"}
	case linkGood:
		if n.rng.IntN(10) != 0 {
			return n.sim.deliver(m), nil
		}
	}
	switch p := n.rng.IntN(100); {
	case p < 7:
		n.sim.count("net: request lost")
		return nil, &simNetError{"request lost"}
	case p < 14:
		n.sim.deliver(m)
		n.sim.count("net: response lost")
		return nil, &simNetError{"response lost"}
	case p < 20:
		n.sim.deliver(m)
		n.sim.count("net: duplicated")
		return n.sim.deliver(m), nil
	case p < 27:
		// A copy stays in the network and arrives again later, out of order.
		n.sim.mu.Lock()
		n.sim.delayed = append(n.sim.delayed, simDelayed{due: n.sim.step + 1 + n.rng.IntN(30), msg: m})
		n.sim.mu.Unlock()
		n.sim.count("net: replayed later")
		if n.rng.IntN(2) == 0 {
			return nil, &simNetError{"timeout (request delayed)"}
		}
		return n.sim.deliver(m), nil
	case p < 30 && len(m.body) > 1:
		// The connection breaks while the body is on its way: the server
		// reads a short body (a partial upload, an unreadable batch).
		cut := m
		cut.body = m.body[:n.rng.IntN(len(m.body))]
		resp := n.sim.deliver(cut)
		resp.Body.Close()
		n.sim.count("net: request cut off")
		return nil, &simNetError{"connection reset while sending"}
	case p < 33:
		resp := n.sim.deliver(m)
		b, _ := io.ReadAll(resp.Body)
		if len(b) > 1 {
			cut := n.rng.IntN(len(b))
			resp.Body = io.NopCloser(io.MultiReader(bytes.NewReader(b[:cut]), errReader{io.ErrUnexpectedEOF}))
			n.sim.count("net: response truncated")
		} else {
			resp.Body = io.NopCloser(bytes.NewReader(b))
		}
		return resp, nil
	}
	return n.sim.deliver(m), nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// deliver hands a request to the server as it is now (after restarts too)
// and returns its response. The server's side of the request has its own
// context: a client that gives up does not cancel the server's work.
func (s *simulation) deliver(m simMsg) *http.Response {
	req := httptest.NewRequest(m.method, m.url, bytes.NewReader(m.body))
	req.Header = m.header.Clone()
	rec := httptest.NewRecorder()
	s.server.handler.ServeHTTP(rec, req)
	s.mu.Lock()
	s.delivered++
	s.mu.Unlock()
	return rec.Result()
}

// deliverDue delivers the delayed copies that are due at the current step,
// in the order they were kept; their responses go nowhere.
func (s *simulation) deliverDue(all bool) {
	keep := s.delayed[:0]
	var due []simDelayed
	for _, d := range s.delayed {
		if all || d.due <= s.step {
			due = append(due, d)
		} else {
			keep = append(keep, d)
		}
	}
	s.delayed = keep
	for _, d := range due {
		resp := s.deliver(d.msg)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		s.count(fmt.Sprintf("net: stale %s delivered", d.msg.method))
	}
}
