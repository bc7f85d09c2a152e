package replica

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"

	"sportello/internal/citizen"
	"sportello/internal/codicefiscale"
	"sportello/internal/desk"
)

// WorkloadProcedure is the demo procedure the workload files applications of.
const WorkloadProcedure = "richiesta-informazioni"

// Workload performs random desk operations and prints one line per
// confirmed operation: "citizen <id>", "application <id>" (filled and
// complete) and "registration <id> <label>" (protocolled). A line is printed
// only after the operation committed.
type Workload struct {
	svc  *desk.Service
	sess desk.Session
	rng  *rand.Rand
	out  io.Writer

	citizens []citizen.Citizen // created by this run
	complete []string          // complete applications not yet protocolled
}

// NewWorkload returns a workload of sess on svc writing lines to out.
func NewWorkload(svc *desk.Service, sess desk.Session, seed uint64, out io.Writer) *Workload {
	return &Workload{svc: svc, sess: sess, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), out: out}
}

// Step performs one random operation.
func (w *Workload) Step(ctx context.Context) error {
	r := w.rng.IntN(100)
	switch {
	case r >= 70 && len(w.complete) > 0:
		return w.protocol(ctx)
	case r >= 35 && len(w.citizens) > 0:
		return w.application(ctx)
	default:
		return w.citizen(ctx)
	}
}

var (
	surnames = []string{"Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Marino", "Greco",
		"Bruno", "Gallo", "Conti", "Mancini", "Costa", "Giordano", "Rizzo", "Lombardi", "Moretti", "Barbieri", "Fontana", "Santoro"}
	maleNames   = []string{"Marco", "Luca", "Giuseppe", "Francesco", "Alessandro", "Andrea", "Matteo", "Lorenzo", "Paolo", "Stefano"}
	femaleNames = []string{"Giulia", "Francesca", "Chiara", "Sara", "Martina", "Anna", "Elena", "Valentina", "Laura", "Silvia"}
	places      = []struct{ name, code string }{{"Roma", "H501"}, {"Milano", "F205"}, {"Napoli", "F839"}, {"Torino", "L219"},
		{"Brescia", "B157"}, {"Palermo", "G273"}, {"Firenze", "D612"}, {"Bologna", "A944"}}
	topics = []string{"anagrafe", "tributi", "edilizia", "sociale", "scuola", "polizia_locale", "altro"}
)

func (w *Workload) citizen(ctx context.Context) error {
	sex, name := "M", maleNames[w.rng.IntN(len(maleNames))]
	if w.rng.IntN(2) == 0 {
		sex, name = "F", femaleNames[w.rng.IntN(len(femaleNames))]
	}
	surname := surnames[w.rng.IntN(len(surnames))]
	born := time.Date(1940, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, w.rng.IntN(65*365))
	place := places[w.rng.IntN(len(places))]
	cf, err := codicefiscale.Compute(surname, name, born, sex, place.code)
	if err != nil {
		return fmt.Errorf("replica: workload codice fiscale: %w", err)
	}
	c := citizen.Citizen{CodiceFiscale: cf, Surname: surname, Name: name, Sex: sex, BirthDate: born.Format("2006-01-02"),
		BirthPlace: place.name, BirthPlaceCode: place.code,
		Phone:          fmt.Sprintf("+39 3%02d %07d", w.rng.IntN(100), w.rng.IntN(10_000_000)),
		Email:          fmt.Sprintf("%s.%s%d@example.it", strings.ToLower(name), strings.ToLower(surname), w.rng.IntN(1000)),
		Address:        citizen.Address{Street: fmt.Sprintf("Via Roma %d", 1+w.rng.IntN(200)), CAP: "25080", City: "Valfiorita", Province: "BS", Country: "Italia"},
		Document:       citizen.IdentityDocument{Type: "carta_identita", Number: fmt.Sprintf("CA%05d%c%c", w.rng.IntN(100000), 'A'+rune(w.rng.IntN(26)), 'A'+rune(w.rng.IntN(26)))},
		PrivacyConsent: true}
	saved, err := w.svc.SaveCitizen(ctx, w.sess, c)
	if err != nil {
		return err
	}
	w.citizens = append(w.citizens, saved)
	_, err = fmt.Fprintf(w.out, "citizen %s\n", saved.ID)
	return err
}

func (w *Workload) application(ctx context.Context) error {
	c := w.citizens[w.rng.IntN(len(w.citizens))]
	a, err := w.svc.NewApplication(ctx, w.sess, WorkloadProcedure, c.ID, "")
	if err != nil {
		return err
	}
	values := map[string]string{}
	for k, v := range a.Values {
		values[k] = v
	}
	values["argomento"] = topics[w.rng.IntN(len(topics))]
	values["domanda"] = fmt.Sprintf("Vorrei sapere gli orari e i documenti necessari (richiesta n. %d).", w.rng.IntN(1_000_000))
	values["canale_risposta"] = "sportello"
	if c.Email != "" && w.rng.IntN(2) == 0 {
		values["canale_risposta"] = "email"
	}
	if err := w.svc.SaveDraft(ctx, w.sess, a.ID, values, nil); err != nil {
		return err
	}
	problems, err := w.svc.MarkComplete(ctx, w.sess, a.ID)
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		msgs := make([]string, len(problems))
		for i, p := range problems {
			msgs[i] = p.Message
		}
		return &desk.Error{Message: "La pratica generata dal carico di prova non è completa", Problems: msgs}
	}
	w.complete = append(w.complete, a.ID)
	_, err = fmt.Fprintf(w.out, "application %s\n", a.ID)
	return err
}

func (w *Workload) protocol(ctx context.Context) error {
	i := w.rng.IntN(len(w.complete))
	id := w.complete[i]
	w.complete = append(w.complete[:i], w.complete[i+1:]...)
	res, err := w.svc.ProtocolApplication(ctx, w.sess, id)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w.out, "registration %s %s\n", res.Registration.ID, res.Label)
	return err
}
