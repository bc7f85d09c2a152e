package desk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"sportello/internal/auth"
	"sportello/internal/citizen"
	"sportello/internal/codicefiscale"
	"sportello/internal/completeness"
	"sportello/internal/ids"
	"sportello/internal/vcard"
	"sportello/store"
)

// ValidateCitizen checks a registry record and fills what the codice fiscale
// determines (birth date, sex, cadastral code) when it is missing. It returns
// the completed record and the Italian problems found.
func ValidateCitizen(c citizen.Citizen) (citizen.Citizen, []string) {
	var problems []string
	c.Surname, c.Name = strings.TrimSpace(c.Surname), strings.TrimSpace(c.Name)
	if c.Surname == "" && c.Name == "" {
		problems = append(problems, "Cognome e nome sono obbligatori")
	} else if c.Surname == "" {
		problems = append(problems, "Il cognome è obbligatorio")
	}
	if c.CodiceFiscale != "" {
		c.CodiceFiscale = citizen.NormalizeCodiceFiscale(c.CodiceFiscale)
		info, err := codicefiscale.Parse(c.CodiceFiscale)
		if err != nil {
			problems = append(problems, err.Error())
		} else if info.Kind == codicefiscale.Personal {
			born := info.BirthDate.Format("2006-01-02")
			switch {
			case c.BirthDate == "":
				c.BirthDate = born
			case c.BirthDate != born:
				problems = append(problems, fmt.Sprintf("La data di nascita %s non corrisponde a quella del codice fiscale (%s)", italianDate(c.BirthDate), italianDate(born)))
			}
			switch {
			case c.Sex == "":
				c.Sex = info.Sex
			case c.Sex != info.Sex:
				problems = append(problems, fmt.Sprintf("Il sesso indicato (%s) non corrisponde a quello del codice fiscale (%s)", c.Sex, info.Sex))
			}
			switch {
			case c.BirthPlaceCode == "":
				c.BirthPlaceCode = info.PlaceCode
			case strings.ToUpper(c.BirthPlaceCode) != info.PlaceCode:
				problems = append(problems, fmt.Sprintf("Il codice catastale del luogo di nascita (%s) non corrisponde a quello del codice fiscale (%s)", c.BirthPlaceCode, info.PlaceCode))
			}
		}
	}
	if c.BirthDate != "" {
		if _, err := completeness.ParseDate(c.BirthDate); err != nil {
			problems = append(problems, "Data di nascita: "+err.Error())
		}
	}
	check := func(label, v string, fn func(string) error) {
		if strings.TrimSpace(v) == "" {
			return
		}
		if err := fn(v); err != nil {
			problems = append(problems, label+": "+err.Error())
		}
	}
	check("Telefono", c.Phone, completeness.ValidPhone)
	check("E-mail", c.Email, completeness.ValidEmail)
	check("PEC", c.PEC, completeness.ValidPEC)
	check("CAP", c.Address.CAP, completeness.ValidCAP)
	for _, d := range []struct{ label, v string }{{"Data di rilascio del documento", c.Document.IssuedOn}, {"Scadenza del documento", c.Document.ExpiresOn}} {
		if d.v != "" {
			if _, err := completeness.ParseDate(d.v); err != nil {
				problems = append(problems, d.label+": "+err.Error())
			}
		}
	}
	return c, problems
}

func italianDate(iso string) string {
	if len(iso) == 10 && iso[4] == '-' && iso[7] == '-' {
		return iso[8:10] + "/" + iso[5:7] + "/" + iso[0:4]
	}
	return iso
}

// SaveCitizen creates or updates a citizen. A citizen with a codice fiscale
// gets the ID derived from it, so the same person registered on two offline
// workstations is one record after sync.
func (s *Service) SaveCitizen(ctx context.Context, sess Session, c citizen.Citizen) (citizen.Citizen, error) {
	if err := sess.Role.Require(auth.ManageCitizens); err != nil {
		return c, err
	}
	c, problems := ValidateCitizen(c)
	if len(problems) > 0 {
		return c, userErr("I dati anagrafici non sono validi", problems...)
	}
	var old citizen.Citizen
	switch {
	case c.CodiceFiscale != "":
		existing, err := s.db.CitizenByCF(ctx, c.CodiceFiscale)
		switch {
		case err == nil:
			if c.ID != "" && c.ID != existing.ID {
				return c, userErr(fmt.Sprintf("Il codice fiscale %s appartiene già a %s", c.CodiceFiscale, existing.FullName()))
			}
			c.ID, old = existing.ID, existing
		case errors.Is(err, store.ErrNotFound):
			if c.ID != "" {
				if prev, err := s.db.Citizen(ctx, c.ID); err == nil {
					old = prev
					if prev.CodiceFiscale != "" && prev.CodiceFiscale != c.CodiceFiscale {
						return c, userErr("Il codice fiscale di un cittadino registrato non si può cambiare: registrare un nuovo cittadino")
					}
				}
			} else {
				c.ID = citizen.IDForCodiceFiscale(c.CodiceFiscale)
			}
		default:
			return c, fmt.Errorf("desk: look up codice fiscale: %w", err)
		}
	case c.ID == "":
		c.ID = ids.New()
	default:
		prev, err := s.db.Citizen(ctx, c.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return c, fmt.Errorf("desk: read citizen: %w", err)
		}
		old = prev
	}
	if c.PrivacyConsent != old.PrivacyConsent || (c.PrivacyConsent && old.PrivacyConsentAt == "") {
		c.PrivacyConsentAt = store.FormatInstant(s.db.Now())
	} else {
		c.PrivacyConsentAt = old.PrivacyConsentAt
	}
	if err := s.write(ctx, sess, func(tx *store.Tx) error {
		_, err := tx.PutCitizen(c)
		return err
	}); err != nil {
		return c, fmt.Errorf("desk: save citizen: %w", err)
	}
	return c, nil
}

// Citizen reads a citizen.
func (s *Service) Citizen(ctx context.Context, id string) (citizen.Citizen, error) {
	return s.db.Citizen(ctx, id)
}

// SearchCitizens searches the registry by codice fiscale, document or name.
func (s *Service) SearchCitizens(ctx context.Context, query string, limit int) ([]citizen.Citizen, error) {
	return s.db.SearchCitizens(ctx, query, limit)
}

// ApplicationsOfCitizen lists a citizen's applications with their protocol
// numbers. Confidential ones are listed only for roles that may read them:
// the name of the procedure alone (an economic contribution, a social
// service) is a special category of personal data.
func (s *Service) ApplicationsOfCitizen(ctx context.Context, sess Session, citizenID string) ([]store.ApplicationSummary, error) {
	all, err := s.db.ApplicationsOfCitizen(ctx, citizenID)
	if err != nil || sess.Role.Can(auth.ReadConfidential) {
		return all, err
	}
	out := all[:0]
	for _, a := range all {
		if !a.Confidential {
			out = append(out, a)
		}
	}
	return out, nil
}

// AddDelegation records that delegate may act for citizen.
func (s *Service) AddDelegation(ctx context.Context, sess Session, d citizen.Delegation) (citizen.Delegation, error) {
	if err := sess.Role.Require(auth.ManageCitizens); err != nil {
		return d, err
	}
	if d.CitizenID == "" || d.DelegateID == "" || d.CitizenID == d.DelegateID {
		return d, userErr("Indicare un delegato diverso dal delegante")
	}
	if d.ValidUntil != "" {
		if _, err := completeness.ParseDate(d.ValidUntil); err != nil {
			return d, userErr("Data di scadenza della delega non valida", err.Error())
		}
	}
	if d.ID == "" {
		d.ID = ids.New()
	}
	err := s.write(ctx, sess, func(tx *store.Tx) error {
		_, err := tx.PutDelegation(d, false)
		return err
	})
	if err != nil {
		return d, fmt.Errorf("desk: save delegation: %w", err)
	}
	return d, nil
}

// Delegations lists the delegations a citizen has given.
func (s *Service) Delegations(ctx context.Context, citizenID string) ([]citizen.Delegation, error) {
	return s.db.Delegations(ctx, citizenID)
}

// ImportResult says what a vCard import did.
type ImportResult struct {
	Created, Updated int
	Citizens         []citizen.Citizen
}

// ImportVCard imports every card of a vCard file in one transaction: a
// malformed file or an invalid card imports nothing. Cards whose codice
// fiscale is already registered update that citizen's contacts.
func (s *Service) ImportVCard(ctx context.Context, sess Session, r io.Reader) (ImportResult, error) {
	var res ImportResult
	if err := sess.Role.Require(auth.ManageCitizens); err != nil {
		return res, err
	}
	cards, err := vcard.Import(r)
	if err != nil {
		return res, &Error{Message: "Il file vCard non è valido: nessun cittadino importato", Problems: []string{err.Error()}, Err: err}
	}
	var problems []string
	prepared := make([]citizen.Citizen, 0, len(cards))
	exists := make([]bool, len(cards))
	for i, c := range cards {
		c, p := ValidateCitizen(c)
		for _, msg := range p {
			problems = append(problems, fmt.Sprintf("Scheda %d (%s): %s", i+1, c.FullName(), msg))
		}
		if c.CodiceFiscale != "" {
			if old, err := s.db.CitizenByCF(ctx, c.CodiceFiscale); err == nil {
				c = mergeContacts(old, c)
				exists[i] = true
			} else if errors.Is(err, store.ErrNotFound) {
				c.ID = citizen.IDForCodiceFiscale(c.CodiceFiscale)
			} else {
				return res, fmt.Errorf("desk: look up codice fiscale: %w", err)
			}
		} else {
			c.ID = ids.New()
		}
		prepared = append(prepared, c)
	}
	if len(problems) > 0 {
		return res, userErr("Alcune schede non sono valide: nessun cittadino importato", problems...)
	}
	err = s.write(ctx, sess, func(tx *store.Tx) error {
		for i, c := range prepared {
			if _, err := tx.PutCitizen(c); err != nil {
				return err
			}
			if exists[i] {
				res.Updated++
			} else {
				res.Created++
			}
		}
		return nil
	})
	if err != nil {
		return ImportResult{}, fmt.Errorf("desk: import vCard: %w", err)
	}
	res.Citizens = prepared
	return res, nil
}

// mergeContacts keeps the registry record and fills it with the card's
// non-empty contact data.
func mergeContacts(old, card citizen.Citizen) citizen.Citizen {
	set := func(dst *string, v string) {
		if strings.TrimSpace(v) != "" {
			*dst = v
		}
	}
	set(&old.Phone, card.Phone)
	set(&old.Email, card.Email)
	set(&old.PEC, card.PEC)
	if card.Address.Street != "" {
		old.Address = card.Address
	}
	return old
}

// ExportVCard writes the citizens as vCard 4.0.
func (s *Service) ExportVCard(ctx context.Context, w io.Writer, citizenIDs ...string) error {
	cs := make([]citizen.Citizen, 0, len(citizenIDs))
	for _, id := range citizenIDs {
		c, err := s.db.Citizen(ctx, id)
		if err != nil {
			return fmt.Errorf("desk: export vCard: %w", err)
		}
		cs = append(cs, c)
	}
	return vcard.Export(w, cs...)
}

// DuplicateCitizens lists the codici fiscali that more than one registry
// record carries (created on two desks while offline), for an operator to
// review; the records are listed oldest first.
func (s *Service) DuplicateCitizens(ctx context.Context) (map[string][]string, error) {
	return s.db.DuplicateCitizens(ctx)
}
