// Package catalog describes the municipality's services and procedures: the
// knowledge-base text, the competent office, the form schema, the required
// attachments, stamp duty, fee, legal term, confidentiality and queue service.
// It is pure data plus validation; storage and UI live elsewhere.
package catalog

// FieldType is the kind of value a form field holds; each type has a format
// check in the completeness package.
type FieldType string

// The field types a procedure's form may use.
const (
	Text          FieldType = "text"
	LongText      FieldType = "longtext"
	Number        FieldType = "number"
	Date          FieldType = "date" // YYYY-MM-DD (the UI also accepts DD/MM/YYYY)
	CodiceFiscale FieldType = "codice_fiscale"
	Email         FieldType = "email"
	PEC           FieldType = "pec"
	Phone         FieldType = "phone"
	IBAN          FieldType = "iban"
	CAP           FieldType = "cap"
	Choice        FieldType = "choice"
	Checkbox      FieldType = "checkbox" // values "true" / "false" (or empty)
)

// FieldTypes lists every valid field type, in the order the docs present them.
var FieldTypes = []FieldType{Text, LongText, Number, Date, CodiceFiscale, Email, PEC, Phone, IBAN, CAP, Choice, Checkbox}

// Condition is true when the form value of Field satisfies it. Exactly one of
// Equals, In, NotEmpty, Checked should be set; an empty condition is never true.
type Condition struct {
	Field    string   `json:"field"`
	Equals   string   `json:"equals,omitempty"`
	In       []string `json:"in,omitempty"`
	NotEmpty bool     `json:"not_empty,omitempty"`
	Checked  bool     `json:"checked,omitempty"` // checkbox field is "true"
}

// Option is one choice of a Choice field.
type Option struct {
	Value string `json:"value"`
	Label string `json:"label"`
}

// Field is one input of a procedure's form.
type Field struct {
	Key         string     `json:"key"`
	Label       string     `json:"label"`
	Type        FieldType  `json:"type"`
	Required    bool       `json:"required,omitempty"`
	RequiredIf  *Condition `json:"required_if,omitempty"`
	VisibleIf   *Condition `json:"visible_if,omitempty"` // hidden fields are neither shown nor checked
	Pattern     string     `json:"pattern,omitempty"`    // extra Go regexp the whole value must match
	PatternHint string     `json:"pattern_hint,omitempty"`
	MaxLength   int        `json:"max_length,omitempty"`
	Min         *float64   `json:"min,omitempty"` // Number fields
	Max         *float64   `json:"max,omitempty"`
	Options     []Option   `json:"options,omitempty"` // Choice fields
	// Prefill names the registry value that fills the field when the form
	// opens: citizen.codice_fiscale, citizen.surname, citizen.name,
	// citizen.birth_date, citizen.birth_place, citizen.sex, citizen.phone,
	// citizen.email, citizen.pec, citizen.address.street, citizen.address.cap,
	// citizen.address.city, citizen.address.province.
	Prefill string `json:"prefill,omitempty"`
	Help    string `json:"help,omitempty"`
}

// RuleKind names a cross-field rule.
type RuleKind string

// Cross-field rules.
const (
	// RuleDateOrder: Fields[0] must not be after Fields[1] (both dates, when both present).
	RuleDateOrder RuleKind = "date_order"
	// RuleAtLeastOne: at least one of Fields must be filled.
	RuleAtLeastOne RuleKind = "at_least_one"
	// RuleAllOrNone: either all of Fields are filled or none is.
	RuleAllOrNone RuleKind = "all_or_none"
	// RuleNotEqual: Fields[0] and Fields[1] must differ (when both present).
	RuleNotEqual RuleKind = "not_equal"
	// RuleDateNotFuture / RuleDateNotPast: every date in Fields compared with today (Europe/Rome).
	RuleDateNotFuture RuleKind = "date_not_future"
	RuleDateNotPast   RuleKind = "date_not_past"
)

// Rule is a cross-field rule. Message is the Italian text shown when it fails;
// when empty a standard message is built.
type Rule struct {
	Kind    RuleKind `json:"kind"`
	Fields  []string `json:"fields"`
	Message string   `json:"message,omitempty"`
}

// Format names a file format recognised by content (see internal/filetype).
type Format string

// Recognised formats.
const (
	FormatPDF  Format = "pdf"
	FormatPDFA Format = "pdfa" // accepted wherever "pdf" is; listed when only PDF/A is acceptable
	FormatJPEG Format = "jpeg"
	FormatPNG  Format = "png"
	FormatTIFF Format = "tiff"
	FormatP7M  Format = "p7m" // CAdES signed envelope
	FormatXML  Format = "xml"
	FormatODT  Format = "odt"
	FormatDOCX Format = "docx"
	FormatDWG  Format = "dwg"
	FormatZIP  Format = "zip"
	FormatTXT  Format = "txt"
)

// AttachmentReq is one document the procedure asks for.
type AttachmentReq struct {
	Type         string     `json:"type"` // stable key, e.g. "documento_identita"
	Label        string     `json:"label"`
	Formats      []Format   `json:"formats"`
	MaxBytes     int64      `json:"max_bytes"`
	MustBeSigned bool       `json:"must_be_signed,omitempty"`
	Required     bool       `json:"required,omitempty"`
	RequiredIf   *Condition `json:"required_if,omitempty"`
	Multiple     bool       `json:"multiple,omitempty"` // more than one file of this type allowed
	Help         string     `json:"help,omitempty"`
}

// StampDuty says whether the application needs a marca da bollo and how many.
type StampDuty struct {
	Required    bool  `json:"required"`
	AmountCents int64 `json:"amount_cents,omitempty"` // 1600 = € 16,00
	Count       int   `json:"count,omitempty"`        // how many stamps; 0 means 1 when required
}

// Knowledge is the knowledge-base text the desk reads to the citizen.
type Knowledge struct {
	Summary    string `json:"summary"`
	Documents  string `json:"documents"`
	Fees       string `json:"fees"`
	Hours      string `json:"hours"`
	LegalBasis string `json:"legal_basis"`
	Notes      string `json:"notes,omitempty"`
}

// Kind distinguishes applications from reports and information requests.
type Kind string

// Procedure kinds.
const (
	KindIstanza      Kind = "istanza"
	KindSegnalazione Kind = "segnalazione"
	KindReclamo      Kind = "reclamo"
	KindInformazione Kind = "informazione"
)

// Procedure is one service the desk can file.
type Procedure struct {
	ID             string          `json:"id"` // stable slug, e.g. "cambio-residenza"
	Name           string          `json:"name"`
	Kind           Kind            `json:"kind"`
	Category       string          `json:"category"`
	Keywords       []string        `json:"keywords,omitempty"`
	Knowledge      Knowledge       `json:"knowledge"`
	OfficeID       string          `json:"office_id"`
	Classification string          `json:"classification,omitempty"` // titolario, e.g. "XI.1"
	Fields         []Field         `json:"fields"`
	Rules          []Rule          `json:"rules,omitempty"`
	Attachments    []AttachmentReq `json:"attachments"`
	StampDuty      StampDuty       `json:"stamp_duty"`
	FeeCents       int64           `json:"fee_cents"`
	FeeReason      string          `json:"fee_reason,omitempty"`
	TermDays       int             `json:"term_days"` // legal completion term; 0 = immediate
	Confidential   bool            `json:"confidential,omitempty"`
	QueueService   string          `json:"queue_service"` // QueueService.Code
	Active         bool            `json:"active"`
}

// Office is an organisational unit that receives applications.
type Office struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Email    string `json:"email,omitempty"`
	PEC      string `json:"pec,omitempty"`
	Phone    string `json:"phone,omitempty"`
	Location string `json:"location,omitempty"`
	Hours    string `json:"hours,omitempty"`
	Referent string `json:"referent,omitempty"`
}

// QueueService is a service of the queue system with its ticket letter.
type QueueService struct {
	Code   string `json:"code"`
	Prefix string `json:"prefix"` // one upper-case letter
	Name   string `json:"name"`
}

// Municipality identifies the comune and its protocol AOO.
type Municipality struct {
	Name          string `json:"name"`
	Province      string `json:"province"`
	CadastralCode string `json:"cadastral_code"`
	IPACode       string `json:"ipa_code"` // CodiceAmministrazione in the segnatura
	AOOCode       string `json:"aoo_code"`
	AOOName       string `json:"aoo_name"`
	Address       string `json:"address,omitempty"`
	PEC           string `json:"pec,omitempty"`
}

// Catalog is the whole configuration file.
type Catalog struct {
	Format        string         `json:"format"`  // always "sportello-catalog"
	Version       int            `json:"version"` // file format version, currently 1
	Municipality  Municipality   `json:"municipality"`
	Offices       []Office       `json:"offices"`
	QueueServices []QueueService `json:"queue_services"`
	Procedures    []Procedure    `json:"procedures"`
}

// FormatName and FormatVersion identify the catalog JSON file.
const (
	FormatName    = "sportello-catalog"
	FormatVersion = 1
)
