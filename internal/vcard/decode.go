package vcard

import (
	"encoding/base64"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
)

// binaryProperties carry images, sounds or keys: their base64 values are
// skipped, never decoded.
var binaryProperties = map[string]bool{
	"PHOTO": true, "LOGO": true, "SOUND": true, "KEY": true, "AGENT": true,
}

// charsets maps normalised CHARSET names (lower case, no '-', '_' or spaces)
// to single-byte decoders. UTF-8 and ASCII are handled separately.
var charsets = map[string]encoding.Encoding{
	"windows1252": charmap.Windows1252, "cp1252": charmap.Windows1252, "win1252": charmap.Windows1252,
	"xcp1252": charmap.Windows1252, "ansi": charmap.Windows1252, "ms1252": charmap.Windows1252,
	"iso88591": charmap.ISO8859_1, "iso885911987": charmap.ISO8859_1, "latin1": charmap.ISO8859_1,
	"l1": charmap.ISO8859_1, "cp819": charmap.ISO8859_1, "ibm819": charmap.ISO8859_1,
	"iso885915": charmap.ISO8859_15, "latin9": charmap.ISO8859_15, "latin0": charmap.ISO8859_15,
	"iso88592": charmap.ISO8859_2, "latin2": charmap.ISO8859_2,
	"iso88593": charmap.ISO8859_3, "iso88594": charmap.ISO8859_4, "iso88595": charmap.ISO8859_5,
	"iso88596": charmap.ISO8859_6, "iso88597": charmap.ISO8859_7, "iso88598": charmap.ISO8859_8,
	"iso88599": charmap.ISO8859_9, "iso885910": charmap.ISO8859_10, "iso885913": charmap.ISO8859_13,
	"iso885914": charmap.ISO8859_14, "iso885916": charmap.ISO8859_16,
	"windows1250": charmap.Windows1250, "cp1250": charmap.Windows1250,
	"windows1251": charmap.Windows1251, "cp1251": charmap.Windows1251,
	"windows1253": charmap.Windows1253, "cp1253": charmap.Windows1253,
	"windows1254": charmap.Windows1254, "cp1254": charmap.Windows1254,
	"windows1255": charmap.Windows1255, "windows1256": charmap.Windows1256,
	"windows1257": charmap.Windows1257, "windows1258": charmap.Windows1258,
	"ibm850": charmap.CodePage850, "cp850": charmap.CodePage850, "850": charmap.CodePage850,
	"ibm437": charmap.CodePage437, "cp437": charmap.CodePage437, "437": charmap.CodePage437,
	"macintosh": charmap.Macintosh, "macroman": charmap.Macintosh, "xmacroman": charmap.Macintosh,
	"koi8r": charmap.KOI8R, "koi8u": charmap.KOI8U,
}

func normaliseCharset(name string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '-', '_', ' ', '"':
			return -1
		}
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, name)
}

// valueError is a decoding problem of one property, turned into an
// ImportError by the caller, which knows the card.
type valueError struct {
	reason  string
	message string
	off     int // byte offset of the problem in the raw value, -1 if unknown
}

// decodeValue undoes the transfer encoding and the charset of a property
// value, returning UTF-8 text that still carries vCard escapes (\n, \, \;).
func decodeValue(p property) (string, *valueError) {
	raw := []byte(p.value)
	switch enc := strings.ToUpper(strings.TrimSpace(p.params.Get("ENCODING"))); enc {
	case "QUOTED-PRINTABLE", "QP":
		b, err := decodeQP(p.value)
		if err != nil {
			return "", err
		}
		raw = b
	case "BASE64", "B":
		if binaryProperties[p.name] {
			return "", nil
		}
		clean := strings.Map(func(r rune) rune {
			if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
				return -1
			}
			return r
		}, p.value)
		b, err := base64.StdEncoding.DecodeString(clean)
		if err != nil {
			b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(clean, "="))
		}
		if err != nil {
			return "", &valueError{ReasonBadBase64, fmt.Sprintf("valore base64 non valido nella proprietà %s", p.name), -1}
		}
		raw = b
	}
	return toUTF8(raw, p.params.Get("CHARSET"))
}

// decodeQP decodes a quoted-printable value whose soft line breaks have
// already been joined. Lower-case hex digits are accepted.
func decodeQP(s string) ([]byte, *valueError) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '=' {
			out = append(out, c)
			continue
		}
		if i+2 >= len(s) {
			return nil, &valueError{ReasonBadQP, fmt.Sprintf("codifica quoted-printable non valida: %q troncato", abbreviate(s[i:])), i}
		}
		h, okH := unhex(s[i+1])
		l, okL := unhex(s[i+2])
		if !okH || !okL {
			return nil, &valueError{ReasonBadQP, fmt.Sprintf("codifica quoted-printable non valida: %q", abbreviate(s[i:i+3])), i}
		}
		out = append(out, h<<4|l)
		i += 2
	}
	return out, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// toUTF8 converts raw bytes in the declared charset to UTF-8. Text without a
// charset (or declared UTF-8) that is not valid UTF-8 is taken as
// Windows-1252, which is what Outlook and old Windows tools write.
func toUTF8(raw []byte, charset string) (string, *valueError) {
	cs := normaliseCharset(charset)
	switch cs {
	case "", "utf8", "usascii", "ascii", "utf8mb4":
		if utf8.Valid(raw) {
			return string(raw), nil
		}
		cs = "windows1252"
	}
	enc, ok := charsets[cs]
	if !ok {
		return "", &valueError{ReasonBadCharset, fmt.Sprintf("set di caratteri non supportato: %q", abbreviate(charset)), -1}
	}
	b, err := enc.NewDecoder().Bytes(raw)
	if err != nil {
		return "", &valueError{ReasonBadCharset, fmt.Sprintf("testo non valido per il set di caratteri %q", abbreviate(charset)), -1}
	}
	return string(b), nil
}

// splitComponents splits a structured value (N, ADR, GENDER) on the
// semicolons that are not escaped; the escapes stay for unescape.
func splitComponents(s string) []string {
	var parts []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case ';':
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// unescape resolves vCard text escapes. vCard 2.1 only knows "\;". When
// listSep is not empty, unescaped commas (list separators in 3.0 and 4.0) are
// replaced by it.
func unescape(s string, v21 bool, listSep string) string {
	if !strings.ContainsAny(s, `\,`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			n := s[i+1]
			switch {
			case n == ';':
				b.WriteByte(';')
			case v21:
				b.WriteByte(c)
				continue
			case n == 'n' || n == 'N':
				b.WriteByte('\n')
			case n == ',' || n == '\\' || n == ':' || n == '"':
				b.WriteByte(n)
			default:
				// Unknown escape: keep it literally.
				b.WriteByte(c)
				continue
			}
			i++
		case c == ',' && !v21 && listSep != "":
			b.WriteString(listSep)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
