package vcard

import (
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/emersion/go-vcard"

	"sportello/internal/citizen"
)

// MaxImportSize is the largest file Import accepts (photos make vCard files
// big, but an address book beyond this is not something to load at the desk).
const MaxImportSize = 64 << 20

// Import reads every card of a vCard file (2.1, 3.0 or 4.0) and returns one
// citizen per card, in file order. Group cards (KIND:group) are skipped.
//
// Import is all-or-nothing: if any card is malformed it returns no citizens
// and an *ImportError naming the card and the line. Citizen.ID is left empty
// and the privacy consent is never set.
func Import(r io.Reader) ([]citizen.Citizen, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxImportSize+1))
	if err != nil {
		return nil, &ImportError{Reason: ReasonReadError, Message: fmt.Sprintf("Impossibile leggere il file: %v", err)}
	}
	if len(data) > MaxImportSize {
		return nil, &ImportError{Reason: ReasonTooLarge,
			Message: fmt.Sprintf("Il file è troppo grande (più di %d MB)", MaxImportSize>>20)}
	}
	data, err = toUTF8File(data)
	if err != nil {
		return nil, &ImportError{Reason: ReasonNotVCard, Message: "Il file non è in formato vCard (testo UTF-16 non valido)"}
	}
	lines := splitLines(data)
	cards, ierr := lex(lines, data)
	if ierr != nil {
		return nil, ierr
	}
	out := make([]citizen.Citizen, 0, len(cards))
	for i := range cards {
		c, skip, ierr := decodeCard(&cards[i])
		if ierr != nil {
			return nil, ierr
		}
		if !skip {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return nil, &ImportError{Reason: ReasonEmpty, Message: "Il file non contiene schede vCard di persone (solo gruppi)"}
	}
	return out, nil
}

// card is a decoded card: go-vcard's model plus the line of every field.
type card struct {
	raw     *rawCard
	version string
	v21     bool
	fields  vcard.Card
	lines   map[*vcard.Field]int
	labels  map[string]string // Apple item group -> lower-case X-ABLabel
	name    string            // display name for errors
}

func (c *card) fail(line int, reason, msg string) *ImportError {
	return &ImportError{Card: c.raw.index, Line: line, Name: c.name, Reason: reason, Message: msg}
}

// decodeCard decodes the values of a card and maps it to a citizen. skip is
// true for group cards.
func decodeCard(rc *rawCard) (citizen.Citizen, bool, *ImportError) {
	c := &card{raw: rc, fields: vcard.Card{}, lines: map[*vcard.Field]int{}, labels: map[string]string{}}
	c.name = displayName(rc.props)

	versionLine := 0
	for _, p := range rc.props {
		if p.name == vcard.FieldVersion {
			c.version, versionLine = strings.TrimSpace(p.value), p.line
			break
		}
	}
	switch c.version {
	case "2.1", "3.0", "4.0", "":
		// A missing VERSION is tolerated and read with the 3.0 rules.
	default:
		return citizen.Citizen{}, false, c.fail(versionLine, ReasonBadVersion,
			fmt.Sprintf("versione vCard non supportata: %q (sono accettate 2.1, 3.0 e 4.0)", abbreviate(c.version)))
	}
	c.v21 = c.version == "2.1"

	for _, p := range rc.props {
		if p.name == vcard.FieldVersion {
			continue
		}
		v, verr := decodeValue(p)
		if verr != nil {
			line := p.line
			if verr.off >= 0 {
				line = p.lineAt(verr.off)
			}
			return citizen.Citizen{}, false, c.fail(line, verr.reason, verr.message)
		}
		f := &vcard.Field{Value: v, Params: p.params, Group: strings.ToLower(p.group)}
		c.fields.Add(p.name, f)
		c.lines[f] = p.line
		if p.name == "X-ABLABEL" && f.Group != "" {
			c.labels[f.Group] = appleLabel(c.text(f))
		}
	}

	if strings.EqualFold(strings.TrimSpace(c.fields.Value(vcard.FieldKind)), string(vcard.KindGroup)) ||
		strings.EqualFold(strings.TrimSpace(c.fields.Value("X-ADDRESSBOOKSERVER-KIND")), "group") {
		return citizen.Citizen{}, true, nil
	}

	var z citizen.Citizen
	if err := c.mapName(&z); err != nil {
		return citizen.Citizen{}, false, err
	}
	if err := c.mapBirthday(&z); err != nil {
		return citizen.Citizen{}, false, err
	}
	z.Sex = c.sex()
	z.Phone = c.phone()
	z.Email, z.PEC = c.emails()
	z.Address = c.address()
	z.Notes = c.notes()
	z.CodiceFiscale = c.codiceFiscale(z.Notes)
	return z, false, nil
}

// text returns the unescaped single text value of a field.
func (c *card) text(f *vcard.Field) string {
	return unescape(f.Value, c.v21, "")
}

// components returns the unescaped components of a structured value; in
// 3.0 and 4.0 unescaped commas separate list items, joined with listSep.
func (c *card) components(f *vcard.Field, listSep string) []string {
	parts := splitComponents(f.Value)
	for i, p := range parts {
		parts[i] = unescape(p, c.v21, listSep)
	}
	return parts
}

func component(parts []string, i int) string {
	if i < len(parts) {
		return parts[i]
	}
	return ""
}

// cleanLine makes a single-line value: control characters dropped and runs
// of white space collapsed.
func cleanLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == utf8RuneError || (unicode.IsControl(r) && !unicode.IsSpace(r)) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
	return strings.Join(strings.Fields(s), " ")
}

const utf8RuneError = '\uFFFD'

func (c *card) mapName(z *citizen.Citizen) *ImportError {
	if f := c.fields.Get(vcard.FieldName); f != nil {
		parts := c.components(f, " ")
		z.Surname = cleanLine(component(parts, 0))
		z.Name = cleanLine(component(parts, 1) + " " + component(parts, 2))
	}
	if z.Surname == "" && z.Name == "" {
		for _, f := range c.fields[vcard.FieldFormattedName] {
			if fn := cleanLine(c.text(f)); fn != "" {
				z.Surname, z.Name = splitFormattedName(fn)
				break
			}
		}
	}
	if z.Surname == "" && z.Name == "" {
		return c.fail(c.raw.begin, ReasonMissingName, "manca il nome (N o FN)")
	}
	return nil
}

// surnameParticles start Italian (and some foreign) compound surnames.
var surnameParticles = map[string]bool{
	"de": true, "di": true, "da": true, "del": true, "della": true, "dello": true, "dei": true,
	"degli": true, "delle": true, "dal": true, "dalla": true, "dalle": true, "lo": true, "la": true,
	"li": true, "le": true, "van": true, "von": true, "der": true, "den": true, "du": true,
	"dos": true, "das": true, "do": true, "mac": true, "st.": true, "san": true, "santa": true,
}

// splitFormattedName guesses surname and name from FN, used when N is
// missing: "Rossi, Mario" is surname first; otherwise the vCard order "Mario
// De Luca" is assumed, with particles kept in the surname. A single word is
// taken as the surname.
func splitFormattedName(fn string) (surname, name string) {
	if before, after, ok := strings.Cut(fn, ","); ok && !strings.Contains(after, ",") {
		if s, n := strings.TrimSpace(before), strings.TrimSpace(after); s != "" && n != "" {
			return s, n
		}
	}
	words := strings.Fields(strings.ReplaceAll(fn, ",", " "))
	switch len(words) {
	case 0:
		return "", ""
	case 1:
		return words[0], ""
	}
	k := len(words) - 1
	for k > 1 && surnameParticles[strings.ToLower(words[k-1])] {
		k--
	}
	return strings.Join(words[k:], " "), strings.Join(words[:k], " ")
}

func (c *card) mapBirthday(z *citizen.Citizen) *ImportError {
	f := c.fields.Get(vcard.FieldBirthday)
	if f == nil {
		return nil
	}
	if f.Params.Get("X-APPLE-OMIT-YEAR") != "" || strings.EqualFold(f.Params.Get(vcard.ParamValue), "text") {
		return nil // no year (Apple) or free text (4.0): not a birth date
	}
	v := strings.TrimSpace(c.text(f))
	if v == "" || strings.HasPrefix(v, "--") {
		return nil // empty, or month and day only
	}
	d, ok := parseDate(v)
	if !ok {
		return c.fail(c.lines[f], ReasonBadBirthday,
			fmt.Sprintf("data di nascita (BDAY) non valida: %q (formati accettati: AAAAMMGG o AAAA-MM-GG)", abbreviate(v)))
	}
	z.BirthDate = d
	return nil
}

// parseDate accepts YYYYMMDD and YYYY-MM-DD, optionally followed by a time
// ("T..."), and returns the ISO date.
func parseDate(v string) (string, bool) {
	if i := strings.IndexAny(v, "Tt"); i >= 0 {
		v = v[:i]
	}
	var layout string
	switch len(v) {
	case 8:
		layout = "20060102"
	case 10:
		layout = "2006-01-02"
	default:
		return "", false
	}
	t, err := time.Parse(layout, v)
	if err != nil {
		return "", false
	}
	return t.Format("2006-01-02"), true
}

func (c *card) sex() string {
	if f := c.fields.Get(vcard.FieldGender); f != nil {
		if s := sexFrom(component(c.components(f, ""), 0)); s != "" {
			return s
		}
	}
	if f := c.fields.Get("X-GENDER"); f != nil {
		if s := sexFrom(c.text(f)); s != "" {
			return s
		}
	}
	// Outlook: X-WAB-GENDER 1 = female, 2 = male.
	switch strings.TrimSpace(c.fields.Value("X-WAB-GENDER")) {
	case "1":
		return "F"
	case "2":
		return "M"
	}
	return ""
}

func sexFrom(v string) string {
	switch strings.ToUpper(strings.TrimSpace(v)) {
	case "M", "MALE", "MASCHIO", "MASCHILE", "UOMO":
		return "M"
	case "F", "FEMALE", "FEMMINA", "FEMMINILE", "DONNA":
		return "F"
	}
	return ""
}

// best returns the field of key with the highest score (first on ties) among
// those with a non-empty value, or nil.
func (c *card) best(key string, score func(*vcard.Field) int) *vcard.Field {
	return bestOf(c.fields[key], score)
}

func bestOf(fields []*vcard.Field, score func(*vcard.Field) int) *vcard.Field {
	var best *vcard.Field
	bestScore := 0
	for _, f := range fields {
		if strings.TrimSpace(f.Value) == "" {
			continue
		}
		if s := score(f); best == nil || s > bestScore {
			best, bestScore = f, s
		}
	}
	return best
}

func isPref(f *vcard.Field) bool {
	return f.Params.HasType("pref") || f.Params.Get(vcard.ParamPreferred) != ""
}

func (c *card) phone() string {
	f := c.best(vcard.FieldTelephone, func(f *vcard.Field) int {
		s := 0
		switch {
		case f.Params.HasType(vcard.TypeCell), f.Params.HasType("mobile"), f.Params.HasType("iphone"):
			s += 8
		case f.Params.HasType(vcard.TypeVoice), len(f.Params.Types()) == 0:
			s += 4
		}
		if isPref(f) {
			s += 2
		}
		if f.Params.HasType(vcard.TypeFax) || f.Params.HasType(vcard.TypePager) {
			s -= 16
		}
		return s
	})
	if f == nil {
		return ""
	}
	v := cleanLine(c.text(f))
	if len(v) >= 4 && strings.EqualFold(v[:4], "tel:") {
		v = strings.TrimSpace(v[4:])
	}
	return v
}

// isPEC reports whether an EMAIL field is a PEC address: TYPE=pec, or an
// Apple item group whose X-ABLabel is "PEC".
func (c *card) isPEC(f *vcard.Field) bool {
	if f.Params.HasType("pec") {
		return true
	}
	return f.Group != "" && c.labels[f.Group] == "pec"
}

// appleLabel turns "_$!<Home>!$_" or "PEC" into "home" or "pec".
func appleLabel(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "_$!<")
	s = strings.TrimSuffix(s, ">!$_")
	return strings.ToLower(strings.TrimSpace(s))
}

func emailValue(v string) string {
	v = cleanLine(v)
	if len(v) >= 7 && strings.EqualFold(v[:7], "mailto:") {
		v = strings.TrimSpace(v[7:])
	}
	return v
}

func (c *card) emails() (email, pec string) {
	prefScore := func(f *vcard.Field) int {
		if isPref(f) {
			return 1
		}
		return 0
	}
	if f := c.best("X-PEC", prefScore); f != nil {
		pec = emailValue(c.text(f))
	}
	var plain, certified []*vcard.Field
	for _, f := range c.fields[vcard.FieldEmail] {
		if c.isPEC(f) {
			certified = append(certified, f)
		} else {
			plain = append(plain, f)
		}
	}
	pick := func(fs []*vcard.Field) string {
		if f := bestOf(fs, prefScore); f != nil {
			return emailValue(c.text(f))
		}
		return ""
	}
	if pec == "" {
		pec = pick(certified)
	}
	return pick(plain), pec
}

func (c *card) address() citizen.Address {
	f := c.best(vcard.FieldAddress, func(f *vcard.Field) int {
		s := 0
		if f.Params.HasType(vcard.TypeHome) {
			s += 4
		}
		if isPref(f) {
			s += 2
		}
		if f.Params.HasType(vcard.TypeWork) {
			s--
		}
		return s
	})
	if f == nil {
		return citizen.Address{}
	}
	parts := c.components(f, "")
	street := cleanLine(component(parts, 2))
	if ext := cleanLine(component(parts, 1)); ext != "" {
		street = strings.TrimPrefix(street+", "+ext, ", ")
	}
	if box := cleanLine(component(parts, 0)); box != "" && street == "" {
		street = "Casella postale " + box
	}
	return citizen.Address{
		Street:   street,
		City:     cleanLine(component(parts, 3)),
		Province: cleanLine(component(parts, 4)),
		CAP:      cleanLine(component(parts, 5)),
		Country:  cleanLine(component(parts, 6)),
	}
}

func (c *card) notes() string {
	var notes []string
	for _, f := range c.fields[vcard.FieldNote] {
		n := strings.ReplaceAll(c.text(f), "\r\n", "\n")
		n = strings.ReplaceAll(n, "\r", "\n")
		n = strings.Map(func(r rune) rune {
			if r == utf8RuneError || (unicode.IsControl(r) && r != '\n' && r != '\t') {
				return -1
			}
			return r
		}, strings.ToValidUTF8(n, ""))
		if n = strings.TrimSpace(n); n != "" {
			notes = append(notes, n)
		}
	}
	return strings.Join(notes, "\n")
}

// codiceFiscaleFields are the properties that carry the codice fiscale.
var codiceFiscaleFields = []string{"X-CODICE-FISCALE", "X-CODICEFISCALE", "X-CF", "X-FISCAL-CODE", "X-TAX-CODE"}

var (
	cfLabel   = regexp.MustCompile(`(?i)(?:codice[ \t_-]*fiscale|cod\.?[ \t]*fisc(?:ale)?\.?|\bc\.?[ \t]?f\.?)(?:[ \t]+provvisorio)?[ \t]*[:=.\-]?[ \t]*`)
	cfPattern = regexp.MustCompile(`^[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]`)
	cfNumeric = regexp.MustCompile(`^[0-9]{11}(?:[^0-9]|$)`)
)

func (c *card) codiceFiscale(notes string) string {
	for _, k := range codiceFiscaleFields {
		for _, f := range c.fields[k] {
			if v := citizen.NormalizeCodiceFiscale(cleanLine(c.text(f))); v != "" {
				return v
			}
		}
	}
	return codiceFiscaleFromNotes(notes)
}

// codiceFiscaleFromNotes finds "CF: RSSMRA80A01H501U", "Codice fiscale: ..."
// and the like in free text; the code must have the shape of a codice fiscale
// (16 characters, or 11 digits for the provisional one).
func codiceFiscaleFromNotes(notes string) string {
	for _, loc := range cfLabel.FindAllStringIndex(notes, -1) {
		rest := notes[loc[1]:]
		if nl := strings.IndexByte(rest, '\n'); nl >= 0 {
			rest = rest[:nl]
		}
		compact := strings.ToUpper(strings.Map(func(r rune) rune {
			if r == ' ' || r == '\t' {
				return -1
			}
			return r
		}, rest))
		if m := cfPattern.FindString(compact); m != "" {
			return m
		}
		if cfNumeric.MatchString(compact) {
			return compact[:11]
		}
	}
	return ""
}

// displayName is the best-effort name of a card for error messages: FN, or
// "Name Surname" from N. Values that cannot be decoded are ignored.
func displayName(props []property) string {
	v21 := false
	for _, p := range props {
		if p.name == vcard.FieldVersion {
			v21 = strings.TrimSpace(p.value) == "2.1"
			break
		}
	}
	get := func(name string) (string, bool) {
		for _, p := range props {
			if p.name != name {
				continue
			}
			if v, err := decodeValue(p); err == nil {
				return v, true
			}
		}
		return "", false
	}
	if fn, ok := get(vcard.FieldFormattedName); ok {
		if fn = cleanLine(unescape(fn, v21, "")); fn != "" {
			return abbreviate(fn)
		}
	}
	if n, ok := get(vcard.FieldName); ok {
		parts := splitComponents(n)
		s := cleanLine(unescape(component(parts, 1), v21, " ") + " " + unescape(component(parts, 0), v21, " "))
		return abbreviate(s)
	}
	return ""
}
