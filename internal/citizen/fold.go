package citizen

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// Fold lower-cases s, removes accents and apostrophes and collapses spaces,
// so that "D'Àmbrosio  Niccolò" and "dambrosio niccolo" compare equal. It is
// the key the registry search uses.
func Fold(s string) string {
	out := s
	if !ascii(s) { // ASCII has no accents to remove
		t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
		var err error
		if out, _, err = transform.String(t, s); err != nil {
			out = s
		}
	}
	var b strings.Builder
	space := false
	for _, r := range strings.ToLower(out) {
		switch {
		case r == '\'' || r == '’' || r == '`':
			continue
		case unicode.IsSpace(r) || r == '-' || r == ',' || r == '.':
			space = true
		default:
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
		}
	}
	return b.String()
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// SearchName is the folded "surname name" key of a citizen.
func (c Citizen) SearchName() string { return Fold(c.Surname + " " + c.Name) }

// FoldDocument normalises an identity document number for search
// (upper case, no spaces or separators).
func FoldDocument(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}
