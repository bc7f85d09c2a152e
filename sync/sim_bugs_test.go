package sync

import (
	"testing"

	"sportello/internal/application"
	"sportello/internal/citizen"
)

// Minimal reproductions of what TestSimulation found, on a network without
// faults.

// simFiledDraft registers a citizen on r and files a filled draft of
// procedure for them.
func simFiledDraft(s *simulation, r *simReplica, procedure string) application.Application {
	p := s.people[0]
	c, err := r.svc.SaveCitizen(s.ctx, r.sess, citizen.Citizen{Surname: p.surname, Name: p.name, CodiceFiscale: p.cf, Email: "c@example.it"})
	if err != nil {
		s.fatalf("citizen: %v", err)
	}
	a, err := r.svc.NewApplication(s.ctx, r.sess, procedure, c.ID, "")
	if err != nil {
		s.fatalf("new application: %v", err)
	}
	if err := r.svc.SaveDraft(s.ctx, r.sess, a.ID, simValues(s.procedure(r, procedure), c, 1), nil); err != nil {
		s.fatalf("draft: %v", err)
	}
	return a
}

// An application checked complete, synced, then edited (which moves it back
// to bozza, a legal move of the lifecycle) stays completa on the server and
// on every other replica: the merge rule "the state never moves backwards"
// also overrides a write that saw the state it replaces. The replica that
// edited it says bozza, everybody else completa, forever.
func TestSimEditAfterCompleteReachesTheServer(t *testing.T) {
	s := newSimulation(t, 1, 2, simTemplate(t))
	defer s.close()
	a, b := s.replicas[0], s.replicas[1]
	app := simFiledDraft(s, a, "richiesta-informazioni")
	if probs, err := a.svc.MarkComplete(s.ctx, a.sess, app.ID); err != nil || len(probs) > 0 {
		t.Fatalf("complete: %v %+v", err, probs)
	}
	if err := a.sync(false); err != nil {
		t.Fatal(err)
	}
	s.clock.advance(1e9)
	c, _ := a.svc.Citizen(s.ctx, app.CitizenID)
	if err := a.svc.SaveDraft(s.ctx, a.sess, app.ID, simValues(s.procedure(a, app.ProcedureID), c, 2), nil); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*simReplica{a, b, a} {
		if err := r.sync(false); err != nil {
			t.Fatal(err)
		}
	}
	onA, _ := a.svc.DB().Application(s.ctx, app.ID)
	onServer, _ := s.server.svc.DB().Application(s.ctx, app.ID)
	onB, _ := b.svc.DB().Application(s.ctx, app.ID)
	if onA.State != application.Bozza || onServer.State != onA.State || onB.State != onA.State {
		t.Fatalf("edited after the check: %s on the replica that edited it, %s on the server, %s on another replica", onA.State, onServer.State, onB.State)
	}
}
