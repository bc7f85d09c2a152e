// Package vcard imports and exports citizen records (citizen.Citizen) as
// vCard files, on top of github.com/emersion/go-vcard.
//
// Import reads the files that people actually bring to the desk: vCard 2.1
// from old phones and Outlook (CHARSET parameters, quoted-printable values
// with soft line breaks, bare type parameters such as TEL;CELL;PREF, base64
// photo blocks, Windows-1252 or ISO-8859-1 text), vCard 3.0 from Apple and
// Google (item1.EMAIL groups with X-ABLabel), and vCard 4.0. Files may start
// with a UTF-8 (or UTF-16) byte order mark, use LF or CRLF line endings, hold
// several cards and have blank lines between them.
//
// go-vcard's own Decoder cannot do this (it knows nothing of quoted-printable
// or charsets, drops lines it cannot parse and does not track line numbers),
// so Import runs a tolerant lexer of its own that unfolds lines, joins
// quoted-printable soft breaks, skips base64 blocks, decodes every value to
// UTF-8 and remembers the physical line each property started on. The result
// is fed into go-vcard's data model (vcard.Card, vcard.Field, vcard.Params),
// and the mapping to citizen.Citizen works on that.
//
// Import is all-or-nothing: the first malformed card stops it, no citizen is
// returned and the error is an *ImportError naming the card (1-based) and the
// physical line (1-based) of the problem, with an Italian message for the
// operator.
//
// Export writes vCard 4.0 (or 3.0 through ExportVersion) in UTF-8 with CRLF
// line endings, escaping and line folding at 75 octets as RFC 6350 requires;
// go-vcard's Encoder is not used because it neither folds lines nor escapes
// semicolons inside structured values such as N and ADR.
//
// The mapping between a citizen and a card is:
//
//	N                  Surname;Name (additional names are appended to Name)
//	FN                 used for Surname/Name only when N is missing or empty
//	BDAY               BirthDate (YYYYMMDD or YYYY-MM-DD on import)
//	GENDER / X-GENDER  Sex, M or F (GENDER in 4.0, X-GENDER in 3.0)
//	TEL                Phone (the mobile number is preferred, then voice)
//	EMAIL              Email (the first non-PEC address, preferred first)
//	EMAIL;TYPE=pec     PEC (also X-PEC, or an Apple item group labelled PEC)
//	ADR                Address: street;locality;region;postal code;country
//	                   become Street, City, Province, CAP, Country
//	X-CODICE-FISCALE   CodiceFiscale (also "CF: ..." or "Codice fiscale: ..."
//	                   found in NOTE)
//	NOTE               Notes
//
// Citizen.ID is left empty on import (the caller assigns IDs) and the privacy
// consent is never imported: it must be collected at the desk.
package vcard
