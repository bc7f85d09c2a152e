package auth

import (
	"errors"
	"sportello/internal/application"
	"strings"
	"testing"
)

func TestPasswordHashing(t *testing.T) {
	h, err := HashPassword("Città-2026!")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=2$") {
		t.Fatalf("unexpected hash format %s", h)
	}
	if ok, err := CheckPassword(h, "Città-2026!"); !ok || err != nil {
		t.Fatalf("right password refused: %v", err)
	}
	if ok, _ := CheckPassword(h, "citta-2026!"); ok {
		t.Fatal("wrong password accepted")
	}
	h2, _ := HashPassword("Città-2026!")
	if h == h2 {
		t.Fatal("salt not random")
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=1,t=1,p=1$aa$bb", "$argon2id$v=19$m=x$aa$bb", "plain"} {
		if _, err := CheckPassword(bad, "x"); !errors.Is(err, ErrBadHash) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestRoles(t *testing.T) {
	if !Protocollo.Can(AnnulProtocol) || Sportellista.Can(AnnulProtocol) {
		t.Fatal("annulment grants wrong")
	}
	if !Colloqui.Can(ReadConfidential) || Sportellista.Can(ReadConfidential) {
		t.Fatal("confidentiality grants wrong")
	}
	err := Sportellista.Require(AnnulProtocol)
	if !errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), "Sportellista") {
		t.Fatalf("Require: %v", err)
	}
}

func TestMayWrite(t *testing.T) {
	for _, c := range []struct {
		role   Role
		table  string
		moveTo application.State
		want   bool
	}{
		{Sportellista, "applications", "", true},
		{Referente, "applications", "", false},
		{Referente, "applications", application.InLavorazione, true},
		{Referente, "application_history", application.Respinta, true},
		{Referente, "application_history", application.Protocollata, false},
		{Referente, "applications", application.Inoltrata, false},
		{Referente, "citizens", application.Conclusa, false},
		{Protocollo, "applications", application.Conclusa, false}, // no offices' grant
		{Protocollo, "applications", application.Protocollata, true},
		{Protocollo, "application_history", application.Protocollata, true},
		{Protocollo, "applications", "", false},
		{Protocollo, "application_attachments", application.Protocollata, false},
		{Responsabile, "applications", application.Protocollata, false}, // may not register
		{Referente, "sync_conflicts", "", true},                         // no table permission: checked elsewhere
	} {
		if got := c.role.MayWrite(c.table, c.moveTo); got != c.want {
			t.Errorf("%s writes %s (move to %q): %v, want %v", c.role, c.table, c.moveTo, got, c.want)
		}
	}
}
