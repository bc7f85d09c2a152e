package ui

import (
	"context"
	"strings"
	"testing"
	"time"

	"sportello/internal/citizen"
	"sportello/internal/desk"
	"sportello/internal/protocol"
	"sportello/store"
)

// An application protocolled on two desks while offline arrives with two
// registrations: the protocol tab says so and lists them, for the office to
// annul the extra one.
func TestProtocolTabShowsRepeatedRegistrations(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	sess, err := h.svc.Login(ctx, "sportello", desk.DemoPassword)
	if err != nil {
		t.Fatal(err)
	}
	c, err := h.svc.SaveCitizen(ctx, sess, citizen.Citizen{Surname: "Moretti", Name: "Elena", CodiceFiscale: "MRTLNE80A41B157B"})
	if err != nil {
		t.Fatal(err)
	}
	app, err := h.svc.NewApplication(ctx, sess, "richiesta-informazioni", c.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	// What two offline desks' registrations of it look like once synced.
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	if err := h.svc.DB().Write(ctx, store.Actor{OperatorID: sess.OperatorID}, func(tx *store.Tx) error {
		for i, id := range []string{"reg-desk-1", "reg-desk-2"} {
			if err := tx.InsertRegistration(store.Registration{ID: id, Direction: protocol.Incoming, RegisteredAt: at.Add(time.Duration(i) * time.Minute),
				RegDate: "2026-03-02", Year: 2026, RegisterKind: "ordinario", Correspondent: "Moretti Elena", Subject: "Richiesta di informazioni - Moretti Elena",
				ApplicationID: app.ID}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	h.loginOK("protocollo")
	ps := h.u.shell.protocol
	h.u.shell.tabs.Select(ps.tab())
	h.waitFor("warning", func() bool { return ps.repeated.label.Visible() && ps.repeated.btn.Visible() })
	if !strings.Contains(ps.repeated.label.Text, "più di una registrazione") || !strings.Contains(ps.repeated.label.Text, ": 1.") {
		t.Errorf("warning %q", ps.repeated.label.Text)
	}
	h.tap(ps.repeated.btn)
	h.waitFor("listed", func() bool {
		return len(ps.results) == 2 && ps.results[0].ID == "reg-desk-1" && ps.results[1].ID == "reg-desk-2"
	})
	h.waitFor("count", func() bool { return ps.info.Text == "Registrazioni ripetute: 2" })
	if !h.shows("Registrazioni ripetute: 2") {
		t.Errorf("count not on screen; texts %q", h.texts())
	}
}

// The same person registered on two desks while offline (once without the
// codice fiscale, added later) ends up on two records: the citizens tab
// says so and lists them side by side.
func TestCitizensTabShowsDuplicateRecords(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	if err := h.svc.DB().Write(ctx, store.Actor{OperatorID: "op-sportello"}, func(tx *store.Tx) error {
		for _, id := range []string{"rec-desk-1", "rec-desk-2"} {
			if _, err := tx.PutCitizen(citizen.Citizen{ID: id, Surname: "Moretti", Name: "Elena", CodiceFiscale: "MRTLNE80A41B157B"}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	h.loginOK("sportello")
	cs := h.u.shell.citizens
	h.waitFor("warning", func() bool { return cs.dups.label.Visible() && cs.dups.btn.Visible() })
	if !strings.Contains(cs.dups.label.Text, "più schede") || !strings.Contains(cs.dups.label.Text, ": 1.") {
		t.Errorf("warning %q", cs.dups.label.Text)
	}
	h.tap(cs.dups.btn)
	h.waitFor("listed", func() bool {
		return len(cs.results) == 2 && cs.results[0].CodiceFiscale == "MRTLNE80A41B157B" && cs.results[1].CodiceFiscale == "MRTLNE80A41B157B"
	})
	h.waitFor("count", func() bool { return cs.info.Text == "Schede con lo stesso codice fiscale: 2" })
	// Correcting one record (its codice fiscale removed) and saving it ends the warning.
	if err := h.svc.DB().Write(ctx, store.Actor{OperatorID: "op-sportello"}, func(tx *store.Tx) error {
		_, err := tx.Put("citizens", "rec-desk-2", store.Fields{"codice_fiscale": nil})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	cs.shown() // within a minute of the last check: not read again
	h.drain()
	if !cs.dups.label.Visible() {
		t.Fatal("warning re-read at once on showing the tab")
	}
	cs.saved(citizen.Citizen{ID: "rec-desk-2", Surname: "Moretti", Name: "Elena"}) // what the form calls after saving
	h.waitFor("warning gone", func() bool { return !cs.dups.label.Visible() && !cs.dups.btn.Visible() })
}
