package codicefiscale

import (
	"strings"
	"time"
	"unicode"
)

// foldings maps upper-case accented and special letters to their plain
// ASCII spelling, as done by the registry offices: accents are dropped.
var foldings = map[rune]string{
	'À': "A", 'Á': "A", 'Â': "A", 'Ã': "A", 'Ä': "A", 'Å': "A", 'Ā': "A", 'Ă': "A", 'Ą': "A",
	'Æ': "AE",
	'Ç': "C", 'Ć': "C", 'Č': "C", 'Ĉ': "C", 'Ċ': "C",
	'Ď': "D", 'Đ': "D", 'Ð': "D",
	'È': "E", 'É': "E", 'Ê': "E", 'Ë': "E", 'Ē': "E", 'Ė': "E", 'Ę': "E", 'Ě': "E",
	'Ğ': "G", 'Ģ': "G",
	'Ì': "I", 'Í': "I", 'Î': "I", 'Ï': "I", 'Ī': "I", 'Į': "I", 'İ': "I",
	'Ķ': "K",
	'Ĺ': "L", 'Ļ': "L", 'Ľ': "L", 'Ł': "L",
	'Ñ': "N", 'Ń': "N", 'Ņ': "N", 'Ň': "N",
	'Ò': "O", 'Ó': "O", 'Ô': "O", 'Õ': "O", 'Ö': "O", 'Ø': "O", 'Ō': "O", 'Ő': "O",
	'Œ': "OE",
	'Ŕ': "R", 'Ř': "R",
	'Ś': "S", 'Ş': "S", 'Š': "S", 'ẞ': "SS", 'ß': "SS",
	'Ţ': "T", 'Ť': "T", 'Ț': "T",
	'Ù': "U", 'Ú': "U", 'Û': "U", 'Ü': "U", 'Ū': "U", 'Ů': "U", 'Ű': "U", 'Ų': "U",
	'Ý': "Y", 'Ÿ': "Y",
	'Ź': "Z", 'Ż': "Z", 'Ž': "Z",
}

// isSeparator reports runes that are ignored in names: apostrophes, spaces,
// hyphens and dots ("D'Angelo", "De Luca", "Anna-Maria", "Sant. Elia").
func isSeparator(r rune) bool {
	switch r {
	case '\'', '’', '‘', '`', '´', 'ʼ', '-', '‐', '‑', '–', '.':
		return true
	}
	return unicode.IsSpace(r)
}

// lettersOf returns the plain upper-case ASCII letters of a surname or name,
// dropping accents and separators. what is "cognome" or "nome", for messages.
func lettersOf(s, what, reason string) (string, error) {
	var b strings.Builder
	for _, r := range s {
		if isSeparator(r) {
			continue
		}
		u := unicode.ToUpper(r)
		switch {
		case u >= 'A' && u <= 'Z':
			b.WriteRune(u)
		case foldings[u] != "":
			b.WriteString(foldings[u])
		default:
			return "", newError(reason, 0, "Il %s contiene un carattere non ammesso: «%c»", what, r)
		}
	}
	if b.Len() == 0 {
		return "", newError(reason, 0, "Il %s è vuoto", what)
	}
	return b.String(), nil
}

func isVowel(c byte) bool { return strings.IndexByte("AEIOU", c) >= 0 }

// splitLetters separates consonants and vowels, keeping their order.
func splitLetters(s string) (consonants, vowels string) {
	var c, v strings.Builder
	for i := 0; i < len(s); i++ {
		if isVowel(s[i]) {
			v.WriteByte(s[i])
		} else {
			c.WriteByte(s[i])
		}
	}
	return c.String(), v.String()
}

// pad3 takes the first three characters of consonants+vowels, padding with X.
func pad3(consonants, vowels string) string {
	return (consonants + vowels + "XXX")[:3]
}

// surnameCode returns the three surname letters: consonants, then vowels,
// then X padding.
func surnameCode(letters string) string {
	return pad3(splitLetters(letters))
}

// nameCode returns the three name letters: with four or more consonants the
// 1st, 3rd and 4th consonant; otherwise like the surname.
func nameCode(letters string) string {
	c, v := splitLetters(letters)
	if len(c) >= 4 {
		return string([]byte{c[0], c[2], c[3]})
	}
	return pad3(c, v)
}

// Compute returns the personal tax code for the given data, using the
// standard algorithm (no omocodia).
//
// Surname and name may contain accented letters (È→E, À→A, ...), apostrophes,
// hyphens and spaces, which are ignored. The birth date is read in its own
// location (only year, month and day are used). sex is "M" or "F" (case
// insensitive). placeCode is the cadastral (Belfiore) code of the place of
// birth, e.g. "H501" for Rome or "Z404" for the USA. Errors are *Error.
func Compute(surname, name string, birth time.Time, sex string, placeCode string) (string, error) {
	sl, err := lettersOf(surname, "cognome", ReasonSurname)
	if err != nil {
		return "", err
	}
	nl, err := lettersOf(name, "nome", ReasonName)
	if err != nil {
		return "", err
	}
	if birth.IsZero() {
		return "", newError(ReasonBirth, 0, "La data di nascita non è indicata")
	}
	var dayOffset int
	switch strings.ToUpper(strings.TrimSpace(sex)) {
	case "":
		return "", newError(ReasonSex, 0, "Il sesso non è indicato (ammessi M o F)")
	case "M":
	case "F":
		dayOffset = 40
	default:
		return "", newError(ReasonSex, 0, "Sesso «%s» non valido (ammessi M o F)", sex)
	}
	place := normalize(placeCode)
	if !validPlaceShape(place) {
		return "", newError(ReasonPlace, 0, "Codice del comune di nascita «%s» non valido: attesi una lettera e tre cifre, ad esempio H501", place)
	}
	if strings.IndexByte(placeInitials, place[0]) < 0 {
		return "", newError(ReasonPlace, 0, "Codice del comune di nascita «%s» non valido: la lettera iniziale deve essere tra A e M (esclusi J e K) oppure Z per i nati all'estero", place)
	}
	if place[1:] == "000" {
		return "", newError(ReasonPlace, 0, "Codice del comune di nascita «%s» non valido", place)
	}

	y, m, d := birth.Date()
	b := make([]byte, 0, 16)
	b = append(b, surnameCode(sl)...)
	b = append(b, nameCode(nl)...)
	yy := mod(y, 100)
	b = append(b, byte('0'+yy/10), byte('0'+yy%10))
	b = append(b, months[m-1])
	dd := d + dayOffset
	b = append(b, byte('0'+dd/10), byte('0'+dd%10))
	b = append(b, place...)
	b = append(b, checkChar(string(b)))
	return string(b), nil
}

// validPlaceShape reports whether s is one ASCII upper-case letter followed
// by three ASCII digits.
func validPlaceShape(s string) bool {
	return len(s) == 4 && isLetter(s[0]) && isDigit(s[1]) && isDigit(s[2]) && isDigit(s[3])
}
