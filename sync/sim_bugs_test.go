package sync

import (
	"bytes"
	"fmt"
	"testing"

	"sportello/internal/application"
	"sportello/internal/auth"
	"sportello/internal/citizen"
	"sportello/internal/desk"
	"sportello/store"
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

// simCompletedOn files an application on the first replica, checks it
// complete and syncs every replica in turn, so that all of them hold it
// completa.
func simCompletedOn(s *simulation, rs ...*simReplica) application.Application {
	app := simFiledDraft(s, rs[0], "richiesta-informazioni")
	if probs, err := rs[0].svc.MarkComplete(s.ctx, rs[0].sess, app.ID); err != nil || len(probs) > 0 {
		s.fatalf("complete: %v %+v", err, probs)
	}
	for _, r := range rs {
		if err := r.sync(false); err != nil {
			s.fatalf("sync %s: %v", r.code, err)
		}
	}
	return app
}

// An application checked complete, synced, then edited (which moves it back
// to bozza, a legal move of the lifecycle) stays completa on the server and
// on every other replica: the merge rule "the state never moves backwards"
// also overrides a write that saw the state it replaces. The replica that
// edited it says bozza, everybody else completa, forever.
func TestSimEditAfterCompleteReachesTheServer(t *testing.T) {
	s := newSimulation(t, 1, 2, 0)
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

// simAttachmentOn files a reclamo with an attachment on r and returns the
// attachment's digest.
func simAttachmentOn(s *simulation, r *simReplica) string {
	app := simFiledDraft(s, r, "reclamo")
	att, err := r.svc.AddAttachment(s.ctx, r.sess, app.ID, "documentazione", "foto.png", bytes.NewReader(simPNG(1, 1)), false)
	if err != nil {
		s.fatalf("attachment: %v", err)
	}
	return att.SHA256
}

// A pulled attachment whose download fails (network error, or the desk
// closed right then) is never downloaded again: the pull cursor committed
// with the rows before the download, and downloads are only attempted for
// rows of the page just applied.
func TestSimPulledAttachmentDownloadIsRetried(t *testing.T) {
	s := newSimulation(t, 1, 2, 0)
	defer s.close()
	a, b := s.replicas[0], s.replicas[1]
	sha := simAttachmentOn(s, a)
	if err := a.sync(false); err != nil {
		t.Fatal(err)
	}
	b.net.dropMatching = "GET " + simURL + "/v1/blobs/" + sha
	if err := b.sync(false); err == nil {
		t.Fatal("sync succeeded without the attachment's download")
	}
	b.net.dropMatching = ""
	for range 3 {
		if err := b.sync(false); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.svc.Blobs().Verify(s.ctx, sha); err != nil {
		t.Fatalf("attachment never downloaded after a failed download: %v", err)
	}
}

// A workstation enrolled after attachments were filed gets their rows in
// the snapshot but never their files: downloads happen only for pulled rows.
func TestSimSnapshotAttachmentsAreDownloaded(t *testing.T) {
	s := newSimulation(t, 1, 1, 0)
	defer s.close()
	a := s.replicas[0]
	sha := simAttachmentOn(s, a)
	if err := a.sync(false); err != nil {
		t.Fatal(err)
	}
	late := s.enroll("SIM09", false, false)
	for range 2 {
		if err := late.sync(false); err != nil {
			t.Fatal(err)
		}
	}
	if err := late.svc.Blobs().Verify(s.ctx, sha); err != nil {
		t.Fatalf("attachment of the initial copy never downloaded: %v", err)
	}
}

// desk.RestoreService ends the emergency period as the "system" operator,
// which the server does not know: the change is refused (forbidden), the
// server's register keeps the period open while the workstation shows it
// ended, and the replica never converges.
func TestSimRestoreServiceReachesTheServer(t *testing.T) {
	s := newSimulation(t, 1, 1, 0)
	defer s.close()
	a := s.replicas[0]
	app := simFiledDraft(s, a, "richiesta-informazioni")
	if probs, err := a.svc.MarkComplete(s.ctx, a.sess, app.ID); err != nil || len(probs) > 0 {
		t.Fatalf("complete: %v %+v", err, probs)
	}
	if res, err := a.svc.ProtocolApplication(s.ctx, a.sess, app.ID); err != nil || !res.Emergency {
		t.Fatalf("offline protocol: %v %+v", err, res)
	}
	if err := a.sync(false); err != nil {
		t.Fatal(err)
	}
	s.clock.advance(1e9)
	if err := a.svc.RestoreService(s.ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.sync(false); err != nil {
		t.Fatal(err)
	}
	if st := a.client.State(); len(st.Rejected) > 0 {
		t.Errorf("refused: %+v", st.Rejected)
	}
	var local, server []store.Interruption
	local, _ = a.svc.Interruptions(s.ctx)
	server, _ = s.server.svc.Interruptions(s.ctx)
	if len(local) != 1 || len(server) != 1 || local[0].EndedAt.IsZero() || !server[0].EndedAt.Equal(local[0].EndedAt) {
		t.Fatalf("emergency period ended on the workstation (%+v) but not on the server (%+v)", local, server)
	}
}

// A protocolled application edited concurrently on another desk (which put
// it back to bozza) gives a conflict on its state: protocollata won, bozza
// lost. "Restore the loser" writes bozza on the protocolled application:
// the merge never lets it win anywhere else, so that replica alone shows
// the application as an editable draft, forever.
func TestSimRestoringALosingStateKeepsReplicasEqual(t *testing.T) {
	s := newSimulation(t, 1, 2, 0)
	defer s.close()
	a, b := s.replicas[0], s.replicas[1]
	app := simCompletedOn(s, a, b)
	// Offline: A protocols it, B edits it (back to bozza).
	s.clock.advance(1e9)
	if _, err := a.svc.ProtocolApplication(s.ctx, a.sess, app.ID); err != nil {
		t.Fatal(err)
	}
	s.clock.advance(1e9)
	c, _ := b.svc.Citizen(s.ctx, app.CitizenID)
	if err := b.svc.SaveDraft(s.ctx, b.sess, app.ID, simValues(s.procedure(b, app.ProcedureID), c, 2), nil); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*simReplica{a, b, a} {
		if err := r.sync(false); err != nil {
			t.Fatal(err)
		}
	}
	conflicts, _, _ := a.svc.Conflicts(s.ctx, a.sess, true)
	resolved := false
	for _, c := range conflicts {
		if c.Table == "applications" && c.Column == "state" {
			resolved = a.svc.ResolveConflict(s.ctx, a.sess, c.ID, true) == nil
		}
	}
	for _, r := range []*simReplica{a, b, a} {
		if err := r.sync(false); err != nil {
			t.Fatal(err)
		}
	}
	onA, _ := a.svc.DB().Application(s.ctx, app.ID)
	onServer, _ := s.server.svc.DB().Application(s.ctx, app.ID)
	onB, _ := b.svc.DB().Application(s.ctx, app.ID)
	if onA.State != application.Protocollata || onServer.State != onA.State || onB.State != onA.State {
		t.Fatalf("restore of the losing state accepted=%v: %s on the replica that restored it, %s on the server, %s on another replica",
			resolved, onA.State, onServer.State, onB.State)
	}
}

// A person first registered without a codice fiscale (random ID) gets it
// added on one desk while another desk registers the same person by codice
// fiscale (the ID derived from it). The citizens_cf unique index refuses
// the second row on the server (constraint) and, worse, the other desk can
// never apply the first desk's change: its pull fails on every sync, so it
// stops receiving anything from anybody.
func TestSimSameCodiceFiscaleOnTwoRecords(t *testing.T) {
	s := newSimulation(t, 1, 2, 0)
	defer s.close()
	a, b := s.replicas[0], s.replicas[1]
	p := s.people[0]
	x, err := a.svc.SaveCitizen(s.ctx, a.sess, citizen.Citizen{Surname: p.surname, Name: p.name})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.sync(false); err != nil {
		t.Fatal(err)
	}
	// Offline on both: A completes the record with the codice fiscale, B
	// registers the person again, by codice fiscale.
	s.clock.advance(1e9)
	x.CodiceFiscale = p.cf
	if _, err := a.svc.SaveCitizen(s.ctx, a.sess, x); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.SaveCitizen(s.ctx, b.sess, citizen.Citizen{Surname: p.surname, Name: p.name, CodiceFiscale: p.cf, Phone: "+39 333 1111111"}); err != nil {
		t.Fatal(err)
	}
	var errs []error
	for range 3 {
		for _, r := range []*simReplica{a, b} {
			if err := r.sync(false); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", r.code, err))
			}
		}
	}
	if len(errs) > 0 {
		t.Errorf("sync keeps failing: %v", errs[len(errs)-1])
	}
	if st := b.client.State(); len(st.Rejected) > 0 {
		t.Errorf("refused: %+v", st.Rejected)
	}
	for _, r := range []*simReplica{a, b} {
		for _, table := range []string{"citizens"} {
			want, _, _ := s.server.svc.DB().TableChecksum(s.ctx, table)
			if got, _, _ := r.svc.DB().TableChecksum(s.ctx, table); got != want {
				t.Errorf("%s differs from the server on %s", table, r.code)
			}
		}
	}
}

// The same application protocolled on two desks while both were offline
// gets two registrations, each with its own definitive number: neither is
// lost, and every replica lists the pair as repeated for the protocol
// office; annulling one ends the listing everywhere.
func TestSimSameApplicationProtocolledOnTwoOfflineDesks(t *testing.T) {
	s := newSimulation(t, 1, 2, 0)
	defer s.close()
	a, b := s.replicas[0], s.replicas[1]
	app := simCompletedOn(s, a, b)
	s.faults = true // only the link down: nothing gets through
	for _, r := range []*simReplica{a, b} {
		r.net.link = linkDown
		if err := r.sync(false); err == nil {
			t.Fatalf("%s synced with the link down", r.code)
		}
		s.clock.advance(1e9)
		res, err := r.svc.ProtocolApplication(s.ctx, r.sess, app.ID)
		if err != nil || !res.Emergency {
			t.Fatalf("offline protocol on %s: %+v %v", r.code, res, err)
		}
	}
	s.faults = false
	heal := func() {
		t.Helper()
		for _, r := range []*simReplica{a, b, a, b} {
			r.net.link = linkGood
			if err := r.sync(false); err != nil {
				t.Fatal(err)
			}
		}
	}
	heal()
	admin := desk.Session{OperatorID: "op-protocollo", Role: auth.Protocollo}
	services := map[string]*desk.Service{"server": s.server.svc, a.code: a.svc, b.code: b.svc}
	var first string
	for name, svc := range services {
		regs, err := svc.RepeatedRegistrations(s.ctx, admin)
		if err != nil {
			t.Fatal(err)
		}
		if len(regs) != 2 || regs[0].ApplicationID != app.ID || regs[1].ApplicationID != app.ID || regs[0].Number == 0 || regs[1].Number == 0 || regs[0].Number == regs[1].Number {
			t.Fatalf("%s: repeated registrations %+v", name, regs)
		}
		if first == "" {
			first = regs[0].ID
		} else if regs[0].ID != first {
			t.Fatalf("%s: order differs: %s first, elsewhere %s", name, regs[0].ID, first)
		}
	}
	if err := a.svc.Annul(s.ctx, admin, first, "Doppia registrazione della stessa pratica", "Disposizione del responsabile n. 1/2026"); err != nil {
		t.Fatal(err)
	}
	heal()
	for name, svc := range services {
		if regs, err := svc.RepeatedRegistrations(s.ctx, admin); err != nil || len(regs) != 0 {
			t.Fatalf("%s after the annulment: %+v %v", name, regs, err)
		}
	}
}
