package pdf

import "time"

// Municipality identifies the comune and its protocol AOO (area organizzativa
// omogenea). Name is printed as given when it already starts with "Comune"
// (e.g. "Comune di Città di Castello"), otherwise it is prefixed with
// "Comune di ". Province is either the two-letter code ("FI"), printed after
// the name, or a longer display text printed on its own line.
type Municipality struct {
	Name, Province, AOOName, AOOCode, Address string
}

// Person is a citizen (applicant) or a delegate as shown on the documents.
// Empty fields are omitted.
type Person struct {
	FullName      string
	CodiceFiscale string
	BirthDate     string // display text, dd/mm/yyyy
	BirthPlace    string
	Address       string
	Phone         string
	Email         string
	PEC           string
}

// FieldValue is one label/value pair of the application form. The value may
// be long and may contain newlines; it is wrapped to the column width.
type FieldValue struct {
	Label, Value string
}

// Attachment is a document attached to the application or registered with
// the protocol.
type Attachment struct {
	Label     string // document type label, e.g. "Documento d'identità"
	FileName  string
	Size      int64  // bytes
	SHA256Hex string // impronta, lower-case hex (printed in full on the receipt)
	Signed    bool   // carries a digital signature
}

// ApplicationForm is the application (istanza) printed for the citizen to
// sign.
type ApplicationForm struct {
	Municipality  Municipality
	ProcedureName string
	OfficeName    string
	ApplicationID string
	Applicant     Person
	Delegate      *Person // nil if none
	Fields        []FieldValue
	Attachments   []Attachment
	StampDuty     string   // e.g. "Marca da bollo n. 01234567890123" or ""
	Declarations  []string // privacy notice, DPR 445/2000 art. 46-47 self-certification text
	Place         string
	Date          time.Time // shown in Europe/Rome; zero leaves the date blank
}

// Receipt is the protocol registration receipt (ricevuta di protocollazione).
type Receipt struct {
	Municipality Municipality
	// Emergency is true when the document was numbered in the emergency
	// register (registro di emergenza, art. 63 DPR 445/2000) and the
	// definitive protocol number is not known yet.
	Emergency      bool
	ProtocolLabel  string    // e.g. "0000123/2026" or "EM-DESK01/2026/0000007"
	RegisteredAt   time.Time // shown in Europe/Rome as dd/mm/yyyy HH:MM
	Direction      string    // "Entrata" / "Uscita"
	ProcedureName  string
	Subject        string
	OfficeName     string
	Classification string
	Citizen        Person
	Attachments    []Attachment
	Operator       string
	Workstation    string
	TermDays       int // legal completion term, shown as "entro N giorni"; 0 = not shown
	Notes          string
}
