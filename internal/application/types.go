package application

import "time"

// Application is one istanza/pratica filed at the desk.
type Application struct {
	ID            string
	ProcedureID   string
	CitizenID     string
	DelegateID    string // "" when the citizen files in person
	OfficeID      string
	State         State
	Confidential  bool
	Subject       string
	Values        map[string]string // form field key -> value
	StampDutyIDs  []string
	CreatedAt     time.Time
	CreatedBy     string
	WorkstationID string
	UpdatedAt     time.Time
}

// Attachment is a document attached to an application. Its content is the
// blob with digest SHA256; Format and Signature are detected from the content.
type Attachment struct {
	ID             string
	ApplicationID  string
	DocType        string
	FileName       string
	Format         string
	MediaType      string
	Size           int64
	SHA256         string
	Signature      string
	DeclaredSigned bool
	AddedAt        time.Time
	AddedBy        string
	Withdrawn      bool
}

// HistoryEntry is one append-only lifecycle record.
type HistoryEntry struct {
	ID            string
	ApplicationID string
	From, To      State
	At            time.Time
	HLC           string
	OperatorID    string
	WorkstationID string
	Note          string
}
