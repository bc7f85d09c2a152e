// Package protocol holds the rules of the protocol register (protocollo
// informatico, DPR 445/2000) that need no storage: numbering and labels
// (art. 57), the Europe/Rome registration date, the emergency register's
// naming and its period of validity (art. 63), and the checks a registration
// must pass to be written in one single operation (art. 53).
package protocol

import (
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // legal dates are Europe/Rome on every OS, Windows included
)

// Rome is the legal time zone of registrations.
var Rome = mustLoad("Europe/Rome")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		// time/tzdata is embedded: this cannot fail unless the binary is broken.
		panic(fmt.Sprintf("protocol: load %s: %v", name, err))
	}
	return loc
}

// Direction of a registration.
type Direction string

// Directions: incoming (Entrata) and outgoing (Uscita).
const (
	Incoming Direction = "E"
	Outgoing Direction = "U"
)

// Label is the Italian name.
func (d Direction) Label() string {
	if d == Outgoing {
		return "Uscita"
	}
	return "Entrata"
}

// LegalDate is the Europe/Rome calendar date (YYYY-MM-DD) and year of an instant.
func LegalDate(t time.Time) (string, int) {
	r := t.In(Rome)
	return r.Format("2006-01-02"), r.Year()
}

// NumberLabel formats a definitive number: at least seven digits, with the year.
func NumberLabel(number int64, year int) string {
	return fmt.Sprintf("%07d/%d", number, year)
}

// EmergencyRegisterCode names a workstation's emergency register. It contains
// the workstation code, so the numbering identifies each document uniquely
// within the AOO even across several interruptions (art. 63 c. 3).
func EmergencyRegisterCode(workstationCode string) string {
	return "EM-" + strings.ToUpper(workstationCode)
}

// EmergencyLabel formats an emergency registration number.
func EmergencyLabel(register string, year int, number int64) string {
	return fmt.Sprintf("%s/%d/%07d", register, year, number)
}

// MaxFirstPeriod is how long an emergency register may be used without a
// further authorisation; each further authorisation lasts at most MaxExtension.
const (
	MaxFirstPeriod = 24 * time.Hour
	MaxExtension   = 7 * 24 * time.Hour
)

// Interruption is an emergency period as the rules see it.
type Interruption struct {
	StartedAt time.Time
	EndedAt   time.Time   // zero while open
	Extended  []time.Time // valid-until instants of the authorised extensions
}

// UsableAt returns nil when the emergency register may take a registration at
// instant t, or an Italian error saying why not.
func (in Interruption) UsableAt(t time.Time) error {
	if !in.EndedAt.IsZero() {
		return fmt.Errorf("L'interruzione è chiusa dal %s: il registro di emergenza non è più utilizzabile", in.EndedAt.In(Rome).Format("02/01/2006 15:04"))
	}
	if t.Before(in.StartedAt) {
		return fmt.Errorf("La registrazione precede l'inizio dell'interruzione (%s)", in.StartedAt.In(Rome).Format("02/01/2006 15:04"))
	}
	limit := in.StartedAt.Add(MaxFirstPeriod)
	for _, u := range in.Extended {
		if u.After(limit) {
			limit = u
		}
	}
	if t.After(limit) {
		return fmt.Errorf("Il registro di emergenza è in uso da oltre 24 ore: serve un'autorizzazione di proroga (art. 63 DPR 445/2000) per un ulteriore periodo di al massimo una settimana")
	}
	return nil
}

// CheckExtension validates a proposed extension's end: it must come after the
// current limit and last at most one week from it.
func (in Interruption) CheckExtension(until time.Time) error {
	limit := in.StartedAt.Add(MaxFirstPeriod)
	for _, u := range in.Extended {
		if u.After(limit) {
			limit = u
		}
	}
	if !until.After(limit) {
		return fmt.Errorf("La proroga deve terminare dopo la scadenza attuale (%s)", limit.In(Rome).Format("02/01/2006 15:04"))
	}
	if until.Sub(limit) > MaxExtension {
		return fmt.Errorf("Ogni proroga può durare al massimo una settimana (art. 63 DPR 445/2000)")
	}
	return nil
}

// Document is a document of a registration with its impronta.
type Document struct {
	Name      string
	SHA256Hex string
	Size      int64
	MediaType string
}

// Registration is what art. 53 requires to be recorded in one operation.
type Registration struct {
	Direction         Direction
	Correspondent     string // sender (Entrata) or recipient (Uscita)
	CorrespondentCF   string
	Subject           string
	Classification    string
	OfficeID          string
	ReceivedDocNumber string
	ReceivedDocDate   string // YYYY-MM-DD
	Primary           *Document
	Attachments       []Document
	Confidential      bool
	ApplicationID     string
	EmergencyCause    string // used when a new interruption must be opened
	AuthorizationRef  string
}

// Validate checks a registration before it is written; the errors are Italian.
func (r Registration) Validate() []string {
	var p []string
	if r.Direction != Incoming && r.Direction != Outgoing {
		p = append(p, "Indicare se il documento è in entrata o in uscita")
	}
	if strings.TrimSpace(r.Correspondent) == "" {
		if r.Direction == Outgoing {
			p = append(p, "Il destinatario è obbligatorio")
		} else {
			p = append(p, "Il mittente è obbligatorio")
		}
	}
	if strings.TrimSpace(r.Subject) == "" {
		p = append(p, "L'oggetto è obbligatorio")
	}
	if r.Primary == nil {
		p = append(p, "Manca il documento principale: la registrazione deve riportarne l'impronta")
	}
	docs := r.Attachments
	if r.Primary != nil {
		docs = append([]Document{*r.Primary}, docs...)
	}
	for _, d := range docs {
		if !ValidDigest(d.SHA256Hex) {
			p = append(p, fmt.Sprintf("Il documento «%s» non ha un'impronta SHA-256 valida", d.Name))
		}
	}
	if r.ReceivedDocDate != "" {
		if _, err := time.Parse("2006-01-02", r.ReceivedDocDate); err != nil {
			p = append(p, "La data del documento ricevuto non è valida")
		}
	}
	return p
}

// ValidDigest reports whether s is a lower-case hex SHA-256 (an impronta).
func ValidDigest(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
