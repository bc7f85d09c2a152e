package vcard

import (
	"bytes"
	"fmt"
	"strings"
	"unicode"

	"github.com/emersion/go-vcard"
	xunicode "golang.org/x/text/encoding/unicode"
)

// property is one logical line of a card, before its value is decoded.
type property struct {
	line   int // 1-based physical line where the property starts
	group  string
	name   string // upper case
	params vcard.Params
	value  string // raw bytes after unfolding and joining soft line breaks
	segs   []segment
}

// segment records that the value bytes from off on come from physical line
// line, so that a decoding error can name the line it is on.
type segment struct {
	off  int
	line int
}

// lineAt returns the physical line holding byte off of the value.
func (p property) lineAt(off int) int {
	line := p.line
	for _, s := range p.segs {
		if s.off <= off {
			line = s.line
		}
	}
	return line
}

// rawCard is the list of properties between BEGIN:VCARD and END:VCARD.
type rawCard struct {
	index int // 1-based
	begin int // line of BEGIN:VCARD
	end   int // line of END:VCARD
	props []property
}

var (
	utf8BOM    = []byte{0xEF, 0xBB, 0xBF}
	utf16LEBOM = []byte{0xFF, 0xFE}
	utf16BEBOM = []byte{0xFE, 0xFF}
)

// toUTF8File turns UTF-16 files (with a byte order mark, or recognisable by
// the NUL bytes of "BEGIN") into UTF-8. Every other file is returned as it is:
// single-byte charsets are handled value by value, since vCard 2.1 declares
// them per property.
func toUTF8File(data []byte) ([]byte, error) {
	switch {
	case bytes.HasPrefix(data, utf16LEBOM):
		return xunicode.UTF16(xunicode.LittleEndian, xunicode.ExpectBOM).NewDecoder().Bytes(data)
	case bytes.HasPrefix(data, utf16BEBOM):
		return xunicode.UTF16(xunicode.BigEndian, xunicode.ExpectBOM).NewDecoder().Bytes(data)
	case len(data) >= 4 && data[0] != 0 && data[1] == 0 && data[2] != 0 && data[3] == 0:
		return xunicode.UTF16(xunicode.LittleEndian, xunicode.IgnoreBOM).NewDecoder().Bytes(data)
	case len(data) >= 4 && data[0] == 0 && data[1] != 0 && data[2] == 0 && data[3] != 0:
		return xunicode.UTF16(xunicode.BigEndian, xunicode.IgnoreBOM).NewDecoder().Bytes(data)
	}
	return data, nil
}

// splitLines splits the file into physical lines, accepting CRLF, LF and bare
// CR line endings, and drops a byte order mark at the start of any line (files
// concatenated with "copy /b" carry one per original file).
func splitLines(data []byte) []string {
	s := string(data)
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		for strings.HasPrefix(l, string(utf8BOM)) {
			l = l[len(utf8BOM):]
		}
		lines[i] = l
	}
	return lines
}

// isBlank reports whether a line carries nothing: only white space or control
// characters (DOS end-of-file markers, NULs left by broken exporters).
func isBlank(l string) bool {
	for _, r := range l {
		if !unicode.IsSpace(r) && !unicode.IsControl(r) {
			return false
		}
	}
	return true
}

func isFolded(l string) bool {
	return l != "" && (l[0] == ' ' || l[0] == '\t')
}

// isCardDelimiter reports whether the line is BEGIN:VCARD or END:VCARD; a
// quoted-printable soft break never swallows one of them.
func isCardDelimiter(l string) bool {
	l = strings.ToUpper(strings.TrimSpace(l))
	return l == "BEGIN:VCARD" || l == "END:VCARD"
}

// lexer turns physical lines into properties.
type lexer struct {
	lines []string
	i     int // next physical line, 0-based
}

// next returns the next property, skipping blank lines. ok is false at the end
// of the file. A non-blank line that is not a property yields bad=true with
// the line number.
func (lx *lexer) next() (p property, ok, bad bool) {
	for lx.i < len(lx.lines) && isBlank(lx.lines[lx.i]) {
		lx.i++
	}
	if lx.i >= len(lx.lines) {
		return property{}, false, false
	}
	start := lx.i
	first := lx.lines[lx.i]
	lx.i++
	// Quoted-printable values are joined on their own terms: the white space
	// at the start of a line after a soft break is part of the value.
	if p, ok := parseProperty(first); ok && isQP(p) {
		p.line = start + 1
		p.segs = []segment{{0, start + 1}}
		lx.joinQP(&p)
		return p, true, false
	}
	// Unfold: a line starting with a space or a tab continues the previous one.
	var b strings.Builder
	b.WriteString(first)
	segs := []segment{{0, start + 1}}
	for lx.i < len(lx.lines) && isFolded(lx.lines[lx.i]) {
		segs = append(segs, segment{b.Len(), lx.i + 1})
		b.WriteString(lx.lines[lx.i][1:])
		lx.i++
	}
	text := b.String()
	p, okParse := parseProperty(text)
	p.line = start + 1
	if !okParse {
		return p, true, true
	}
	valueStart := len(text) - len(p.value)
	for _, sg := range segs {
		sg.off = max(sg.off-valueStart, 0)
		p.segs = append(p.segs, sg)
	}
	switch strings.ToUpper(p.params.Get("ENCODING")) {
	case "QUOTED-PRINTABLE", "QP":
		lx.joinQP(&p)
	case "BASE64", "B":
		// vCard 2.1 base64 blocks may continue on lines without leading
		// white space and end with a blank line. Base64 text never holds a
		// colon, so the first line with one is the next property.
		var v strings.Builder
		v.WriteString(p.value)
		for lx.i < len(lx.lines) {
			l := lx.lines[lx.i]
			if isBlank(l) {
				lx.i++
				break
			}
			if strings.ContainsRune(l, ':') {
				break
			}
			v.WriteString(strings.TrimSpace(l))
			lx.i++
		}
		p.value = v.String()
	}
	return p, true, false
}

func isQP(p property) bool {
	switch strings.ToUpper(strings.TrimSpace(p.params.Get("ENCODING"))) {
	case "QUOTED-PRINTABLE", "QP":
		return true
	}
	return false
}

// joinQP appends the continuation lines of a quoted-printable value: after a
// soft line break (a trailing "=") the next line is taken as it is, and a line
// starting with white space is an ordinary fold. A soft break never swallows
// BEGIN:VCARD or END:VCARD; a dangling one is dropped.
func (lx *lexer) joinQP(p *property) {
	for lx.i < len(lx.lines) {
		next := lx.lines[lx.i]
		switch {
		case strings.HasSuffix(p.value, "=") && !isCardDelimiter(next):
			p.value = p.value[:len(p.value)-1]
			p.segs = append(p.segs, segment{len(p.value), lx.i + 1})
			p.value += next
		case !strings.HasSuffix(p.value, "=") && isFolded(next):
			p.segs = append(p.segs, segment{len(p.value), lx.i + 1})
			p.value += next[1:]
		default:
			p.value = strings.TrimSuffix(p.value, "=")
			return
		}
		lx.i++
	}
	p.value = strings.TrimSuffix(p.value, "=")
}

// parseProperty parses "group.NAME;param=value;BARE:value".
func parseProperty(s string) (property, bool) {
	var p property
	i := strings.IndexAny(s, ";:")
	if i < 0 {
		return p, false
	}
	head := strings.TrimSpace(s[:i])
	if dot := strings.LastIndexByte(head, '.'); dot >= 0 {
		p.group, head = head[:dot], head[dot+1:]
	}
	if !validName(head) || (p.group != "" && !validName(p.group)) {
		return p, false
	}
	p.name = strings.ToUpper(head)
	p.params = vcard.Params{}
	rest := s[i:]
	for rest != "" && rest[0] == ';' {
		rest = rest[1:]
		end := paramEnd(rest)
		if end < 0 {
			// Unterminated quote: fall back to the first colon.
			end = strings.IndexAny(rest, ";:")
			if end < 0 {
				return p, false
			}
		}
		addParam(p.params, rest[:end])
		rest = rest[end:]
	}
	if rest == "" || rest[0] != ':' {
		return p, false
	}
	p.value = rest[1:]
	return p, true
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// paramEnd returns the index of the ';' or ':' ending the parameter at the
// start of s, ignoring those inside double quotes, or -1.
func paramEnd(s string) int {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			quoted = !quoted
		case ';', ':':
			if !quoted {
				return i
			}
		}
	}
	return -1
}

// addParam adds one parameter. Bare vCard 2.1 parameters ("CELL", "PREF",
// "QUOTED-PRINTABLE") become TYPE or ENCODING values.
func addParam(params vcard.Params, s string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return
	}
	k, v, hasValue := strings.Cut(s, "=")
	k = strings.ToUpper(strings.TrimSpace(k))
	if !hasValue {
		switch k {
		case "QUOTED-PRINTABLE", "BASE64", "8BIT", "7BIT", "B":
			params.Add("ENCODING", k)
		default:
			params.Add(vcard.ParamType, k)
		}
		return
	}
	v = strings.TrimSpace(v)
	if k == vcard.ParamType {
		for _, t := range strings.Split(v, ",") {
			if t = strings.Trim(strings.TrimSpace(t), `"`); t != "" {
				params.Add(k, t)
			}
		}
		return
	}
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	params.Add(k, v)
}

// lex splits the file into cards, checking BEGIN/END structure.
func lex(lines []string, whole []byte) ([]rawCard, *ImportError) {
	lx := &lexer{lines: lines}
	var cards []rawCard
	var cur *rawCard
	lastLine := 0
	for {
		p, ok, bad := lx.next()
		if !ok {
			break
		}
		lastLine = p.line
		isBegin := !bad && p.name == "BEGIN" && strings.EqualFold(strings.TrimSpace(p.value), "VCARD")
		isEnd := !bad && p.name == "END"
		if cur == nil {
			if isBegin {
				cards = append(cards, rawCard{index: len(cards) + 1, begin: p.line})
				cur = &cards[len(cards)-1]
				continue
			}
			if len(cards) == 0 && !bytes.Contains(bytes.ToUpper(whole), []byte("BEGIN:VCARD")) {
				return nil, &ImportError{Reason: ReasonNotVCard,
					Message: "Il file non è in formato vCard (manca BEGIN:VCARD)"}
			}
			return nil, &ImportError{Card: len(cards) + 1, Line: p.line, Reason: ReasonMissingBegin,
				Message: "manca BEGIN:VCARD all'inizio della scheda"}
		}
		switch {
		case isBegin:
			return nil, &ImportError{Card: cur.index, Line: p.line, Name: quickName(cur), Reason: ReasonMissingEnd,
				Message: fmt.Sprintf("manca END:VCARD (la scheda inizia alla riga %d e ne comincia un'altra senza chiuderla)", cur.begin)}
		case bad:
			return nil, &ImportError{Card: cur.index, Line: p.line, Name: quickName(cur), Reason: ReasonBadLine,
				Message: fmt.Sprintf("riga non valida: %q non è una proprietà vCard (NOME:valore)", abbreviate(lines[p.line-1]))}
		case isEnd:
			if !strings.EqualFold(strings.TrimSpace(p.value), "VCARD") {
				return nil, &ImportError{Card: cur.index, Line: p.line, Name: quickName(cur), Reason: ReasonBadLine,
					Message: fmt.Sprintf("riga non valida: atteso END:VCARD, trovato END:%s", abbreviate(p.value))}
			}
			cur.end = p.line
			cur = nil
		default:
			cur.props = append(cur.props, p)
		}
	}
	if cur != nil {
		return nil, &ImportError{Card: cur.index, Line: lastLine, Name: quickName(cur), Reason: ReasonMissingEnd,
			Message: fmt.Sprintf("manca END:VCARD (la scheda inizia alla riga %d e il file finisce prima della chiusura)", cur.begin)}
	}
	if len(cards) == 0 {
		return nil, &ImportError{Reason: ReasonEmpty, Message: "Il file non contiene schede vCard"}
	}
	return cards, nil
}

// abbreviate shortens a line quoted in a message.
func abbreviate(s string) string {
	s = strings.ToValidUTF8(s, "�")
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}

// quickName is the best-effort display name of a card for structural errors.
func quickName(c *rawCard) string {
	return displayName(c.props)
}
