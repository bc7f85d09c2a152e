// Package codicefiscale parses, validates and computes the Italian tax code
// (codice fiscale) of natural persons, following the algorithm defined by
// DM 23/12/1976.
//
// Two shapes are recognised:
//
//   - Personal: the usual 16-character code (e.g. RSSMRA85T10A562S), made of
//     3 letters for the surname, 3 letters for the name, 2 digits for the
//     year of birth, 1 letter for the month, 2 digits for the day of birth
//     (plus 40 for women), 1 letter and 3 digits for the cadastral code of the
//     place of birth (Belfiore code, Z... for foreign countries) and a final
//     check letter. Omocodic codes, where some digits are replaced by the
//     letters L M N P Q R S T U V, are supported.
//   - Temporary: the 11-digit numeric code (codice fiscale provvisorio), which
//     has the same shape and check digit as a partita IVA.
//
// Input is normalised before parsing: ASCII letters are upper-cased and all
// white space (including internal spaces) is removed. Errors are always of
// type *Error and carry a machine-readable reason plus a precise message in
// Italian meant to be shown to people.
package codicefiscale

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Kind is the shape of a tax code.
type Kind int

const (
	// Personal is the 16-character alphanumeric code of a natural person.
	Personal Kind = iota + 1
	// Temporary is the 11-digit numeric code (codice fiscale provvisorio,
	// same shape as a partita IVA).
	Temporary
)

// String returns a short English name of the kind.
func (k Kind) String() string {
	switch k {
	case Personal:
		return "personal"
	case Temporary:
		return "temporary"
	default:
		return fmt.Sprintf("Kind(%d)", int(k))
	}
}

// Info is the result of a successful Parse.
type Info struct {
	Code      string    // as given, upper-cased, spaces removed
	Kind      Kind      // Personal or Temporary
	Omocodia  bool      // some digit positions were replaced by letters
	Canonical string    // the code with omocodic letters mapped back to digits (check char recomputed); = Code when no omocodia
	BirthDate time.Time // date only (UTC midnight), Personal only
	Sex       string    // "M" or "F", Personal only
	PlaceCode string    // cadastral (Belfiore) code, e.g. "H501" (Rome), "Z404" (USA), with omocodic letters mapped back to digits
	Foreign   bool      // PlaceCode starts with 'Z' (born abroad)
}

// Reasons reported in Error.Reason.
const (
	ReasonEmpty   = "empty"   // nothing but white space was given
	ReasonLength  = "length"  // wrong number of characters
	ReasonChar    = "char"    // a character is not allowed, or not allowed at that position
	ReasonMonth   = "month"   // the month letter is not valid
	ReasonDay     = "day"     // the day is out of range or does not exist in that month/year
	ReasonPlace   = "place"   // the cadastral code of the place of birth is not valid
	ReasonCheck   = "check"   // the check character/digit does not match
	ReasonSurname = "surname" // Compute: the surname is empty or contains invalid characters
	ReasonName    = "name"    // Compute: the name is empty or contains invalid characters
	ReasonSex     = "sex"     // Compute: sex is neither "M" nor "F"
	ReasonBirth   = "birth"   // Compute: the birth date is missing
)

// Error describes why a code is not valid, or why a code cannot be computed.
type Error struct {
	// Reason is a machine-readable code, one of the Reason* constants.
	Reason string
	// Pos is the 1-based position of the offending character in the
	// normalised code (upper-cased, white space removed), or 0 when the
	// error does not concern a single character.
	Pos int
	// Message is a precise explanation in Italian, suitable for end users.
	Message string
}

// Error returns the Italian message.
func (e *Error) Error() string { return e.Message }

func newError(reason string, pos int, format string, args ...any) *Error {
	return &Error{Reason: reason, Pos: pos, Message: fmt.Sprintf(format, args...)}
}

// months maps the month letters to month numbers (index+1).
const months = "ABCDEHLMPRST"

// placeInitials are the letters a cadastral (Belfiore) code can start with:
// Italian municipalities use A-M (the Italian alphabet has no J and K), Z is
// reserved for foreign countries.
const placeInitials = "ABCDEFGHILMZ"

// omocodia holds the letters that replace the digits 0-9 in omocodic codes.
const omocodia = "LMNPQRSTUV"

// omocodicPositions are the 0-based indexes of the digit positions that may
// carry an omocodic letter (7, 8, 10, 11, 13, 14, 15 as 1-based positions).
var omocodicPositions = [...]int{6, 7, 9, 10, 12, 13, 14}

// oddValues are the values of the characters in odd (1-based) positions,
// indexed by letter (A-Z); digits 0-9 take the values of letters A-J.
var oddValues = [26]int{
	1, 0, 5, 7, 9, 13, 15, 17, 19, 21, // A-J
	2, 4, 18, 20, 11, 3, 6, 8, 12, 14, // K-T
	16, 10, 22, 25, 24, 23, // U-Z
}

// monthNames are the Italian month names used in messages.
var monthNames = [...]string{
	"gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno",
	"luglio", "agosto", "settembre", "ottobre", "novembre", "dicembre",
}

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLetter(c byte) bool { return c >= 'A' && c <= 'Z' }

// normalize upper-cases ASCII letters and removes every white-space rune.
// Non-ASCII runes are kept as they are, so that they are reported as invalid
// characters instead of being silently folded (e.g. 'ı' to 'I').
func normalize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			continue
		case r >= 'a' && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Normalize returns code upper-cased with all white space removed, as stored
// in Info.Code and as used for the positions reported in Error.Pos.
func Normalize(code string) string { return normalize(code) }

// checkChar computes the check letter of 15 upper-case alphanumeric
// characters; the caller guarantees the input shape.
func checkChar(s string) byte {
	sum := 0
	for i := 0; i < 15; i++ {
		c := s[i]
		var v int
		if isDigit(c) {
			v = int(c - '0')
		} else {
			v = int(c - 'A')
		}
		if i%2 == 0 { // odd 1-based position
			sum += oddValues[v]
		} else {
			sum += v
		}
	}
	return byte('A' + sum%26)
}

// CheckChar returns the check letter (16th character) for the first 15
// characters of a personal code. The input is normalised (upper case, no
// spaces); omocodic letters are allowed and count as written.
func CheckChar(first15 string) (byte, error) {
	s := normalize(first15)
	if n := utf8.RuneCountInString(s); n != 15 {
		return 0, newError(ReasonLength, 0, "Per calcolare il carattere di controllo servono i primi 15 caratteri del codice fiscale: ne sono stati indicati %d", n)
	}
	for i, r := range s {
		if r > unicode.MaxASCII || !(isDigit(byte(r)) || isLetter(byte(r))) {
			return 0, newError(ReasonChar, utf8.RuneCountInString(s[:i])+1, "Carattere %d: «%c» non è ammesso (solo lettere e cifre)", utf8.RuneCountInString(s[:i])+1, r)
		}
	}
	return checkChar(s), nil
}

// temporaryCheckDigit computes the check digit of 10 ASCII digits with the
// partita IVA algorithm: digits in odd (1-based) positions are added as they
// are, digits in even positions are doubled (minus 9 when above 9); the check
// digit is (10 - sum mod 10) mod 10.
func temporaryCheckDigit(s string) byte {
	sum := 0
	for i := 0; i < 10; i++ {
		d := int(s[i] - '0')
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return byte('0' + (10-sum%10)%10)
}

// TemporaryCheckDigit returns the check digit (11th character) of an 11-digit
// temporary code given its first 10 digits. The algorithm is the same as the
// one of the partita IVA.
func TemporaryCheckDigit(first10 string) (byte, error) {
	s := normalize(first10)
	if n := utf8.RuneCountInString(s); n != 10 {
		return 0, newError(ReasonLength, 0, "Per calcolare la cifra di controllo servono le prime 10 cifre del codice provvisorio: ne sono state indicate %d", n)
	}
	for i, r := range s {
		if r < '0' || r > '9' {
			return 0, newError(ReasonChar, i+1, "Carattere %d: atteso una cifra, trovato «%c»", i+1, r)
		}
	}
	return temporaryCheckDigit(s), nil
}

// Parse parses and validates a tax code, inferring the century of the birth
// year relative to the current date (see ParseAt). Errors are *Error.
func Parse(code string) (Info, error) {
	return ParseAt(code, time.Now())
}

// Validate reports whether code is a valid tax code; the error, if any, is
// an *Error.
func Validate(code string) error {
	_, err := Parse(code)
	return err
}

// ParseAt parses and validates a tax code like Parse, inferring the century
// of the birth year relative to today.
//
// Century rule: the code only carries the last two digits of the year, so the
// birth date is taken to be the latest date with those digits that is not
// after today (people are not born in the future). For example, with today in
// 2026, "25" gives 2025 and "30" gives 1930; "26" gives 2026 if the day and
// month are not after today, 1926 otherwise. People older than 100 years are
// therefore read as newborns when the digits allow it: the code alone cannot
// tell them apart.
func ParseAt(code string, today time.Time) (Info, error) {
	c := normalize(code)
	if c == "" {
		return Info{}, newError(ReasonEmpty, 0, "Il codice fiscale è vuoto")
	}
	n := utf8.RuneCountInString(c)
	switch {
	case n == 16:
		return parsePersonal(c, today)
	case n == 11 && c[0] >= '0' && c[0] <= '9':
		return parseTemporary(c)
	default:
		return Info{}, newError(ReasonLength, 0, "Il codice fiscale deve avere 16 caratteri (o 11 cifre se provvisorio): ne ha %d", n)
	}
}

func parseTemporary(c string) (Info, error) {
	pos := 0
	for _, r := range c {
		pos++
		if r >= '0' && r <= '9' {
			continue
		}
		if r > unicode.MaxASCII || !isLetter(byte(r)) {
			return Info{}, newError(ReasonChar, pos, "Carattere %d: «%c» non è ammesso (il codice provvisorio è composto da 11 cifre)", pos, r)
		}
		return Info{}, newError(ReasonChar, pos, "Carattere %d: atteso una cifra (il codice provvisorio è composto da 11 cifre)", pos)
	}
	want := temporaryCheckDigit(c)
	if c[10] != want {
		return Info{}, newError(ReasonCheck, 11, "Cifra di controllo errata: attesa «%c», trovata «%c»", want, c[10])
	}
	return Info{Code: c, Kind: Temporary, Canonical: c}, nil
}

// part names the section of the code a position belongs to, for messages.
func part(i int) string {
	switch {
	case i < 3:
		return "cognome"
	case i < 6:
		return "nome"
	case i < 8:
		return "anno di nascita"
	case i == 8:
		return "mese di nascita"
	case i < 11:
		return "giorno di nascita e sesso"
	case i < 15:
		return "codice del comune di nascita"
	default:
		return "carattere di controllo"
	}
}

// digitAt decodes a digit position, mapping omocodic letters back to digits.
// The caller guarantees the character is a digit or an omocodic letter.
func digitAt(c byte) int {
	if isDigit(c) {
		return int(c - '0')
	}
	return strings.IndexByte(omocodia, c)
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysIn(month, year int) int {
	switch month {
	case 2:
		if isLeap(year) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	default:
		return 31
	}
}

func parsePersonal(c string, today time.Time) (Info, error) {
	// Character classes, left to right. All runes must be ASCII letters or
	// digits, so afterwards c can be indexed by byte.
	pos := 0
	for _, r := range c {
		i := pos
		pos++
		if r > unicode.MaxASCII || !(isDigit(byte(r)) || isLetter(byte(r))) {
			return Info{}, newError(ReasonChar, pos, "Carattere %d: «%c» non è ammesso (solo lettere e cifre)", pos, r)
		}
		ch := byte(r)
		switch {
		case i == 8:
			if strings.IndexByte(months, ch) < 0 {
				return Info{}, newError(ReasonMonth, pos, "Carattere 9: «%c» non è un mese valido (ammessi A B C D E H L M P R S T)", ch)
			}
		case i < 6 || i == 11 || i == 15:
			if !isLetter(ch) {
				return Info{}, newError(ReasonChar, pos, "Carattere %d: atteso una lettera (%s)", pos, part(i))
			}
		default: // 6, 7, 9, 10, 12, 13, 14: digit or omocodic letter
			if !isDigit(ch) && strings.IndexByte(omocodia, ch) < 0 {
				return Info{}, newError(ReasonChar, pos, "Carattere %d: atteso una cifra (%s), trovato «%c»; in caso di omocodia sono ammesse solo le lettere L M N P Q R S T U V", pos, part(i), ch)
			}
		}
	}

	omo := false
	canon := []byte(c[:15])
	for _, i := range omocodicPositions {
		if isLetter(c[i]) {
			omo = true
			canon[i] = byte('0' + digitAt(c[i]))
		}
	}

	// Day and sex.
	rawDay := digitAt(c[9])*10 + digitAt(c[10])
	sex, day := "M", rawDay
	switch {
	case rawDay >= 1 && rawDay <= 31:
	case rawDay >= 41 && rawDay <= 71:
		sex, day = "F", rawDay-40
	default:
		return Info{}, newError(ReasonDay, 10, "Giorno di nascita %02d non valido (ammessi 01-31 per gli uomini, 41-71 per le donne)", rawDay)
	}
	month := strings.IndexByte(months, c[8]) + 1
	if day > daysIn(month, 2000) { // 2000 is a leap year: only 29 February is left for later
		return Info{}, newError(ReasonDay, 10, "Il %d %s non esiste", day, monthNames[month-1])
	}

	// Year: the latest year ending with the two digits whose date is not
	// after today (see ParseAt).
	yy := digitAt(c[6])*10 + digitAt(c[7])
	ty, tm, td := today.Date()
	year := ty - mod(ty, 100) + yy
	if year > ty || (year == ty && (month > int(tm) || (month == int(tm) && day > td))) {
		year -= 100
	}
	if month == 2 && day == 29 && !isLeap(year) {
		return Info{}, newError(ReasonDay, 10, "Il 29 febbraio %d non esiste (%d non è un anno bisestile)", year, year)
	}

	// Place of birth.
	place := string(canon[11:15])
	if strings.IndexByte(placeInitials, place[0]) < 0 {
		return Info{}, newError(ReasonPlace, 12, "Carattere 12: «%c» non può iniziare un codice del comune di nascita (ammesse le lettere da A a M, esclusi J e K, oppure Z per i nati all'estero)", place[0])
	}
	if place[1:] == "000" {
		return Info{}, newError(ReasonPlace, 12, "Codice del comune di nascita «%s» non valido", place)
	}

	// Check character, computed on the code as written.
	want := checkChar(c)
	if c[15] != want {
		return Info{}, newError(ReasonCheck, 16, "Carattere di controllo errato: atteso «%c», trovato «%c»", want, c[15])
	}

	canonical := c
	if omo {
		canonical = string(canon) + string(checkChar(string(canon)))
	}
	return Info{
		Code:      c,
		Kind:      Personal,
		Omocodia:  omo,
		Canonical: canonical,
		BirthDate: time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC),
		Sex:       sex,
		PlaceCode: place,
		Foreign:   place[0] == 'Z',
	}, nil
}

// mod is the non-negative remainder of a divided by b.
func mod(a, b int) int {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}
