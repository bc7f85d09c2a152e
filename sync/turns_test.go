package sync

import (
	"context"
	"testing"
	"time"
)

// Two pushes of a workstation on the server at once are applied in origin
// order: the later one waits for the earlier one's turn to end; pushes of
// another workstation never wait.
func TestPushTurnsKeepOriginOrder(t *testing.T) {
	s := &Server{}
	ctx := context.Background()
	endFirst := s.awaitTurn(ctx, "w1", 1)
	started := make(chan int64, 2)
	go func() {
		end := s.awaitTurn(ctx, "w1", 2001)
		started <- 2001
		end()
	}()
	endOther := s.awaitTurn(ctx, "w2", 5000) // another workstation: at once
	endOther()
	select {
	case f := <-started:
		t.Fatalf("push from %d ran before the push in front of it ended", f)
	case <-time.After(100 * time.Millisecond):
	}
	endFirst()
	select {
	case f := <-started:
		if f != 2001 {
			t.Fatal(f)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the push behind never got its turn")
	}
	// A replay of an older batch does not wait for a newer one.
	endNew := s.awaitTurn(ctx, "w1", 4001)
	done := make(chan struct{})
	go func() { s.awaitTurn(ctx, "w1", 1)(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("an older batch waited for a newer one")
	}
	endNew()
	if len(s.turns) != 0 {
		t.Fatalf("turns left behind: %v", s.turns)
	}
}
