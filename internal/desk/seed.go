package desk

import (
	"context"
	"fmt"
	"time"

	"sportello/internal/auth"
	"sportello/internal/citizen"
	"sportello/internal/codicefiscale"
	"sportello/internal/demo"
	"sportello/store"
)

// DemoPassword is the password of every demo operator (README.md lists them).
const DemoPassword = "demo2026"

// DemoOperator is one of the demo accounts.
type DemoOperator struct {
	ID, Username, FullName string
	Role                   auth.Role
	OfficeID               string
}

// DemoOperators are created by SeedDemo.
var DemoOperators = []DemoOperator{
	{"op-sportello", "sportello", "Giulia Ferrari", auth.Sportellista, ""},
	{"op-colloqui", "colloqui", "Marco Esposito", auth.Colloqui, ""},
	{"op-protocollo", "protocollo", "Anna Galli", auth.Protocollo, ""},
	{"op-referente", "referente", "Luca Conti", auth.Referente, ""},
	{"op-urp", "urp", "Sara Marino", auth.Responsabile, ""},
	{"op-admin", "admin", "Paolo Greco", auth.Amministratore, ""},
}

type demoPerson struct {
	surname, name, sex string
	born               string // YYYY-MM-DD
	place, placeCode   string
	phone, email, pec  string
	street, cap, city  string
	docType, docNumber string
}

var demoPeople = []demoPerson{
	{"Rossi", "Mario", "M", "1985-12-10", "San Giuliano Terme", "A562", "+39 333 1234567", "mario.rossi@example.it", "", "Via Roma 12", "25080", "Valfiorita", "carta_identita", "CA12345AB"},
	{"Bianchi", "Laura", "F", "1992-02-29", "Milano", "F205", "+39 347 7654321", "laura.bianchi@example.it", "", "Piazza Garibaldi 3", "25080", "Valfiorita", "carta_identita", "CA98765ZX"},
	{"D'Ambrosio", "Niccolò", "M", "1978-07-04", "Napoli", "F839", "081 5551234", "n.dambrosio@example.it", "niccolo.dambrosio@pec.example.it", "Via dei Mille 45", "25080", "Valfiorita", "passaporto", "YA1234567"},
	{"Esposito", "Maria Grazia", "F", "1950-03-15", "Roma", "H501", "030 9876543", "", "", "Via Verdi 7", "25080", "Valfiorita", "carta_identita", "AY7654321"},
	{"Müller", "Zoë", "F", "1999-11-30", "Germania", "Z112", "+49 151 23456789", "zoe.mueller@example.de", "", "Via Manzoni 21", "25080", "Valfiorita", "passaporto", "C01X00T47"},
	{"Conti", "Giuseppe", "M", "2001-05-09", "Brescia", "B157", "+39 320 1122334", "giuseppe.conti@example.it", "", "Via Leopardi 2", "25080", "Valfiorita", "patente", "BS5012345K"},
	{"Fo", "Ai", "F", "1988-08-08", "Firenze", "D612", "", "ai.fo@example.it", "", "Vicolo Stretto 1", "25080", "Valfiorita", "carta_identita", "CB1122334"},
	{"Greco", "Francesca", "F", "1965-01-25", "Palermo", "G273", "+39 338 9988776", "", "francesca.greco@pec.example.it", "Corso Italia 99", "25080", "Valfiorita", "carta_identita", "AX0099887"},
}

// SeedDemo fills an empty replica with the demo municipality: catalog,
// operators and a few citizens. It does nothing when a catalog is present.
func (s *Service) SeedDemo(ctx context.Context) (bool, error) {
	cat, err := s.db.Catalog(ctx)
	if err != nil {
		return false, err
	}
	if len(cat.Procedures) > 0 {
		return false, nil
	}
	c := demo.Catalog()
	if err := c.Validate(); err != nil {
		return false, fmt.Errorf("desk: demo catalog invalid: %w", err)
	}
	ops := make([]store.Operator, len(DemoOperators))
	for i, o := range DemoOperators {
		hash, err := auth.HashPassword(DemoPassword)
		if err != nil {
			return false, fmt.Errorf("desk: hash demo password: %w", err)
		}
		ops[i] = store.Operator{ID: o.ID, Username: o.Username, FullName: o.FullName, Role: string(o.Role), OfficeID: o.OfficeID, PasswordHash: hash, Active: true}
	}
	var people []citizen.Citizen
	for _, p := range demoPeople {
		born, err := time.Parse("2006-01-02", p.born)
		if err != nil {
			return false, fmt.Errorf("desk: demo birth date: %w", err)
		}
		cf, err := codicefiscale.Compute(p.surname, p.name, born, p.sex, p.placeCode)
		if err != nil {
			return false, fmt.Errorf("desk: demo codice fiscale of %s %s: %w", p.surname, p.name, err)
		}
		cz := citizen.Citizen{ID: citizen.IDForCodiceFiscale(cf), CodiceFiscale: cf, Surname: p.surname, Name: p.name, Sex: p.sex, BirthDate: p.born,
			BirthPlace: p.place, BirthPlaceCode: p.placeCode, Phone: p.phone, Email: p.email, PEC: p.pec,
			Address:  citizen.Address{Street: p.street, CAP: p.cap, City: p.city, Province: c.Municipality.Province, Country: "Italia"},
			Document: citizen.IdentityDocument{Type: p.docType, Number: p.docNumber}, PrivacyConsent: true,
			PrivacyConsentAt: store.FormatInstant(s.now())}
		if cz, problems := ValidateCitizen(cz); len(problems) > 0 {
			return false, fmt.Errorf("desk: demo citizen %s invalid: %v", cz.FullName(), problems)
		}
		people = append(people, cz)
	}
	err = s.db.Write(ctx, store.Actor{OperatorID: System.OperatorID}, func(tx *store.Tx) error {
		if err := tx.PutCatalog(c); err != nil {
			return err
		}
		for _, o := range ops {
			if _, err := tx.PutOperator(o); err != nil {
				return err
			}
		}
		for _, p := range people {
			if _, err := tx.PutCitizen(p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("desk: seed demo: %w", err)
	}
	s.InvalidateCatalog()
	return true, nil
}
