package completeness

import (
	"cmp"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"sportello/internal/catalog"
)

// The validators below return errors whose text is an Italian explanation
// meant to follow «Il campo "…" non è valido: ». They accept surrounding
// spaces.

// ValidateValue checks one value against its field's type, range, options,
// maximum length and pattern, returning "" when it is acceptable or an
// Italian message naming the field. It is meant for live validation in the
// UI: an empty value is always acceptable here, because whether a field is
// required depends on the other fields (RequiredIf, VisibleIf) and is checked
// by Check.
func ValidateValue(f catalog.Field, value string) string {
	_, msg := validateValue(f, strings.TrimSpace(value))
	return msg
}

// validateValue checks a trimmed, non-required-aware value and returns the
// problem code and message of the first failure, or two empty strings.
func validateValue(f catalog.Field, v string) (code, msg string) {
	if v == "" {
		return "", ""
	}
	label := fieldLabel(f)
	invalid := func(err error) (string, string) {
		return CodeFormat, fmt.Sprintf(`Il campo "%s" non è valido: %s`, label, err)
	}
	switch f.Type {
	case catalog.Number:
		n, err := parseNumber(v)
		if err != nil {
			return invalid(err)
		}
		if f.Min != nil && n < *f.Min {
			return CodeMin, fmt.Sprintf(`Il campo "%s" non può essere inferiore a %s`, label, formatNumber(*f.Min))
		}
		if f.Max != nil && n > *f.Max {
			return CodeMax, fmt.Sprintf(`Il campo "%s" non può essere superiore a %s`, label, formatNumber(*f.Max))
		}
	case catalog.Date:
		if _, err := ParseDate(v); err != nil {
			return invalid(err)
		}
	case catalog.CodiceFiscale:
		if err := ValidCodiceFiscale(v); err != nil {
			return invalid(err)
		}
	case catalog.Email:
		if err := ValidEmail(v); err != nil {
			return invalid(err)
		}
	case catalog.PEC:
		if err := ValidPEC(v); err != nil {
			return invalid(err)
		}
	case catalog.Phone:
		if err := ValidPhone(v); err != nil {
			return invalid(err)
		}
	case catalog.IBAN:
		if err := ValidIBAN(v); err != nil {
			return invalid(err)
		}
	case catalog.CAP:
		if err := ValidCAP(v); err != nil {
			return invalid(err)
		}
	case catalog.Choice:
		if !hasOption(f, v) {
			return CodeOption, fmt.Sprintf(`Il campo "%s" ha un valore non ammesso ("%s"): scegliere tra %s`, label, v, optionList(f))
		}
	case catalog.Checkbox:
		if v != "true" && v != "false" {
			return invalid(errors.New(`valore di spunta non riconosciuto (ammessi "true" o "false")`))
		}
	}
	if f.MaxLength > 0 {
		if n := utf8.RuneCountInString(v); n > f.MaxLength {
			return CodeMaxLength, fmt.Sprintf(`Il campo "%s" supera la lunghezza massima di %d caratteri (ne ha %d)`, label, f.MaxLength, n)
		}
	}
	if f.Pattern != "" {
		if re := compilePattern(f.Pattern); re != nil && !re.MatchString(v) {
			msg := fmt.Sprintf(`Il campo "%s" non è nel formato richiesto`, label)
			if f.PatternHint != "" {
				msg += ": " + f.PatternHint
			}
			return CodePattern, msg
		}
	}
	return "", ""
}

func hasOption(f catalog.Field, v string) bool {
	for _, o := range f.Options {
		if o.Value == v {
			return true
		}
	}
	return false
}

func optionList(f catalog.Field) string {
	names := make([]string, len(f.Options))
	for i, o := range f.Options {
		names[i] = quote(cmp.Or(o.Label, o.Value))
	}
	return joinItalian(names)
}

var patterns sync.Map // pattern string -> *regexp.Regexp (nil if invalid)

// compilePattern compiles a field pattern anchored to match the whole value.
// An invalid pattern yields nil and is ignored (catalog validation reports it).
func compilePattern(p string) *regexp.Regexp {
	if re, ok := patterns.Load(p); ok {
		return re.(*regexp.Regexp)
	}
	re, err := regexp.Compile(`^(?:` + p + `)$`)
	if err != nil {
		re = nil
	}
	patterns.Store(p, re)
	return re
}

var reNumber = regexp.MustCompile(`^[+-]?[0-9]+(?:[.,][0-9]+)?$`)

// parseNumber accepts an optional sign, digits and an optional decimal part
// after a comma or a dot. Thousands separators and exponents are rejected.
func parseNumber(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if !reNumber.MatchString(s) {
		return 0, errors.New("deve essere un numero (usare la virgola o il punto per i decimali, senza separatori delle migliaia)")
	}
	n, err := strconv.ParseFloat(strings.Replace(s, ",", ".", 1), 64)
	if err != nil {
		return 0, errors.New("numero fuori dall'intervallo ammesso")
	}
	return n, nil
}

// formatNumber writes n the Italian way: decimal comma, no exponent.
func formatNumber(n float64) string {
	return strings.Replace(strconv.FormatFloat(n, 'f', -1, 64), ".", ",", 1)
}

var (
	reISODate = regexp.MustCompile(`^([0-9]{4})-([0-9]{2})-([0-9]{2})$`)
	reITDate  = regexp.MustCompile(`^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})$`)
)

var monthNames = [...]string{"gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno",
	"luglio", "agosto", "settembre", "ottobre", "novembre", "dicembre"}

// ParseDate parses a calendar date written YYYY-MM-DD or DD/MM/YYYY (also
// D/M/YYYY). Impossible dates such as 31/04/2025 or 29/02/2023 are rejected.
// The result is midnight UTC of that day: it stands for a civil date, with no
// time zone meaning.
func ParseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	var y, m, d int
	if g := reISODate.FindStringSubmatch(s); g != nil {
		y, m, d = atoi(g[1]), atoi(g[2]), atoi(g[3])
	} else if g := reITDate.FindStringSubmatch(s); g != nil {
		d, m, y = atoi(g[1]), atoi(g[2]), atoi(g[3])
	} else {
		return time.Time{}, errors.New("data non valida: usare il formato GG/MM/AAAA")
	}
	if y < 1 {
		return time.Time{}, errors.New("anno non valido")
	}
	if m < 1 || m > 12 {
		return time.Time{}, fmt.Errorf("il mese %d non esiste", m)
	}
	if d < 1 || d > daysIn(y, time.Month(m)) {
		return time.Time{}, fmt.Errorf("il giorno %d non esiste in %s %d", d, monthNames[m-1], y)
	}
	return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC), nil
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// atoi converts a string of at most a few ASCII digits (already checked).
func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// ibanLengths is the total IBAN length per country (SWIFT IBAN registry).
var ibanLengths = map[string]int{
	"AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
	"BH": 22, "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24,
	"DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
	"FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27,
	"GT": 28, "HN": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
	"IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20,
	"LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20,
	"MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24,
	"PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24,
	"SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25,
	"SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
	"YE": 30,
}

// ValidIBAN checks an IBAN (ISO 13616): known country, the country's length,
// check digits by the mod-97 algorithm and, for Italy and San Marino, the
// national layout (CIN letter, 5-digit ABI and CAB, 12-character account).
// Spaces are tolerated and letters may be lower case.
func ValidIBAN(s string) error {
	s = strings.ToUpper(strings.Join(strings.Fields(s), ""))
	if s == "" {
		return errors.New("IBAN vuoto")
	}
	for i := 0; i < len(s); i++ {
		if !isUpperAlnum(s[i]) {
			return errors.New("contiene caratteri non ammessi (solo lettere e cifre)")
		}
	}
	if len(s) < 4 || !isLetter(s[0]) || !isLetter(s[1]) {
		return errors.New("deve iniziare con la sigla del paese (es. IT)")
	}
	cc := s[:2]
	want, ok := ibanLengths[cc]
	if !ok {
		return fmt.Errorf(`sigla del paese "%s" non riconosciuta`, cc)
	}
	if !isDigit(s[2]) || !isDigit(s[3]) {
		return errors.New("il terzo e il quarto carattere devono essere cifre di controllo")
	}
	if len(s) != want {
		return fmt.Errorf("un IBAN %s deve avere %d caratteri (ne ha %d)", cc, want, len(s))
	}
	if cc == "IT" || cc == "SM" {
		if !isLetter(s[4]) {
			return errors.New("il quinto carattere (CIN) deve essere una lettera")
		}
		if !allDigits(s[5:15]) {
			return errors.New("i codici ABI e CAB (caratteri dal 6° al 15°) devono essere cifre")
		}
	}
	if cd := atoi(s[2:4]); cd < 2 || cd > 98 {
		return errors.New("cifra di controllo errata")
	}
	rem := 0
	for _, c := range s[4:] + s[:4] {
		if c >= 'A' {
			rem = (rem*100 + int(c-'A') + 10) % 97
		} else {
			rem = (rem*10 + int(c-'0')) % 97
		}
	}
	if rem != 1 {
		return errors.New("cifra di controllo errata")
	}
	return nil
}

func isDigit(c byte) bool      { return c >= '0' && c <= '9' }
func isLetter(c byte) bool     { return c >= 'A' && c <= 'Z' }
func isUpperAlnum(c byte) bool { return isDigit(c) || isLetter(c) }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

// ValidEmail checks a bare e-mail address as parsed by net/mail: no display
// name or angle brackets, no quoted local part, and a domain of at least two
// dot-separated labels made of letters, digits and hyphens.
func ValidEmail(s string) error {
	s = strings.TrimSpace(s)
	if s == "" {
		return errors.New("indirizzo vuoto")
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return errors.New("manca il simbolo @ (es. nome@esempio.it)")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s || strings.ContainsAny(s, "\" <>") || strings.Count(s, "@") != 1 {
		return errors.New("indirizzo e-mail non valido (es. nome@esempio.it)")
	}
	domain := s[at+1:]
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return errors.New("il dominio dopo la @ deve contenere un punto (es. esempio.it)")
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return errors.New("dominio non valido")
		}
		for _, r := range l {
			if !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= 0x80) {
				return errors.New("dominio non valido")
			}
		}
	}
	if tld := labels[len(labels)-1]; utf8.RuneCountInString(tld) < 2 || allDigits(tld) {
		return errors.New("dominio non valido")
	}
	return nil
}

// ValidPEC checks a PEC (posta elettronica certificata) address. A PEC
// address is syntactically an ordinary e-mail address: whether a mailbox is
// certified cannot be told from its syntax (not even from the domain, since
// providers host PEC and ordinary mail under many names), so this is
// ValidEmail. Checking the INI-PEC / IPA registries is out of scope.
func ValidPEC(s string) error {
	return ValidEmail(s)
}

// ValidPhone checks an Italian or international telephone number. Spaces,
// dots, dashes and slashes are ignored. The Italian prefix may be given as
// +39 or 0039; an Italian number is a landline starting with 0 (6 to 11
// digits) or a mobile starting with 3 (9 or 10 digits). Any other
// international number is +CC or 00CC followed by the subscriber number,
// 6 to 15 digits in all (E.164).
func ValidPhone(s string) error {
	var b strings.Builder
	for i, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r == ' ' || r == '.' || r == '-' || r == '/':
		default:
			return errors.New("può contenere solo cifre, il prefisso + e separatori (spazi, punti, trattini)")
		}
	}
	n := b.String()
	var national string
	switch {
	case n == "" || n == "+":
		return errors.New("numero vuoto")
	case strings.HasPrefix(n, "+39"):
		national = n[3:]
	case strings.HasPrefix(n, "0039"):
		national = n[4:]
	case strings.HasPrefix(n, "+"), strings.HasPrefix(n, "00"):
		digits := strings.TrimPrefix(strings.TrimPrefix(n, "+"), "00")
		if digits == "" || digits[0] == '0' {
			return errors.New("prefisso internazionale non valido")
		}
		if len(digits) < 6 || len(digits) > 15 {
			return errors.New("un numero internazionale deve avere da 6 a 15 cifre compreso il prefisso del paese")
		}
		return nil
	default:
		national = n
	}
	switch {
	case national == "":
		return errors.New("manca il numero dopo il prefisso")
	case national[0] == '0':
		if len(national) < 6 || len(national) > 11 {
			return errors.New("un numero fisso deve avere da 6 a 11 cifre")
		}
	case national[0] == '3':
		if len(national) < 9 || len(national) > 10 {
			return errors.New("un numero di cellulare deve avere 9 o 10 cifre")
		}
	default:
		return errors.New("un numero italiano deve iniziare con 0 (fisso) o 3 (cellulare)")
	}
	return nil
}

// ValidCAP checks an Italian postal code: exactly five digits.
func ValidCAP(s string) error {
	s = strings.TrimSpace(s)
	if len(s) != 5 || !allDigits(s) {
		return errors.New("il CAP deve essere di 5 cifre")
	}
	return nil
}

// ValidStampDutyID checks the identificativo of a marca da bollo: exactly
// 14 digits. Spaces between the digits are tolerated.
func ValidStampDutyID(s string) error {
	s = normalizeStampID(s)
	if len(s) != 14 || !allDigits(s) {
		return errors.New("l'identificativo della marca da bollo deve essere di 14 cifre")
	}
	return nil
}

func normalizeStampID(s string) string {
	return strings.Join(strings.Fields(s), "")
}
