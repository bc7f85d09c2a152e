package vcard

import "fmt"

// Reason codes carried by ImportError.Reason, stable for callers and tests.
const (
	ReasonReadError    = "read_error"    // the reader failed
	ReasonTooLarge     = "too_large"     // the file exceeds MaxImportSize
	ReasonEmpty        = "empty"         // no card at all
	ReasonNotVCard     = "not_vcard"     // the file is not a vCard file
	ReasonMissingBegin = "missing_begin" // a card without BEGIN:VCARD
	ReasonMissingEnd   = "missing_end"   // a card without END:VCARD
	ReasonBadLine      = "bad_line"      // a line that is not a property
	ReasonBadVersion   = "bad_version"   // VERSION other than 2.1, 3.0, 4.0
	ReasonBadQP        = "bad_qp"        // invalid quoted-printable value
	ReasonBadBase64    = "bad_base64"    // invalid base64 text value
	ReasonBadCharset   = "bad_charset"   // unknown CHARSET parameter
	ReasonMissingName  = "missing_name"  // neither N nor FN
	ReasonBadBirthday  = "bad_bday"      // BDAY that is not a calendar date
)

// ImportError describes why a vCard file was refused. Card and Line are
// 1-based; they are 0 when the problem concerns the whole file.
type ImportError struct {
	Card    int    // 1-based card index in the file, 0 for file-level errors
	Line    int    // 1-based line number in the file, 0 when not applicable
	Name    string // FN (or the name from N) of the card, when known
	Reason  string // machine code, one of the Reason constants
	Message string // Italian description of the problem, without position
}

// Error returns the message for the operator, prefixed by the position, e.g.
// "Scheda 2 (riga 14): manca il nome (N o FN)".
func (e *ImportError) Error() string {
	switch {
	case e.Card > 0 && e.Name != "" && e.Line > 0:
		return fmt.Sprintf("Scheda %d «%s» (riga %d): %s", e.Card, e.Name, e.Line, e.Message)
	case e.Card > 0 && e.Line > 0:
		return fmt.Sprintf("Scheda %d (riga %d): %s", e.Card, e.Line, e.Message)
	case e.Card > 0:
		return fmt.Sprintf("Scheda %d: %s", e.Card, e.Message)
	case e.Line > 0:
		return fmt.Sprintf("Riga %d: %s", e.Line, e.Message)
	default:
		return e.Message
	}
}
