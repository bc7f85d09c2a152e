package vcard

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-vcard"
	"github.com/google/uuid"

	"sportello/internal/citizen"
)

// prodID identifies the exporter in PRODID.
const prodID = "-//Sportello//Anagrafica cittadini//IT"

// maxLineOctets is the longest line RFC 6350 allows before folding, CRLF
// excluded.
const maxLineOctets = 75

// Export writes one vCard 4.0 card per citizen, in UTF-8 with CRLF line
// endings (RFC 6350).
func Export(w io.Writer, cs ...citizen.Citizen) error {
	return ExportVersion(w, "4.0", cs...)
}

// ExportVersion writes one card per citizen in vCard version "3.0" or "4.0".
// Every citizen is checked before anything is written: a citizen without
// surname and name, or with a birth date that is not YYYY-MM-DD, makes the
// whole export fail.
func ExportVersion(w io.Writer, version string, cs ...citizen.Citizen) error {
	if version != "3.0" && version != "4.0" {
		return fmt.Errorf("versione vCard non supportata per l'esportazione: %q (usare 3.0 o 4.0)", version)
	}
	cards := make([][]line, len(cs))
	for i, c := range cs {
		lines, err := buildCard(c, version)
		if err != nil {
			who := strings.TrimSpace(c.FullName())
			if who == "" {
				who = c.ID
			}
			return fmt.Errorf("cittadino %d (%s): %w", i+1, who, err)
		}
		cards[i] = lines
	}
	bw := bufio.NewWriter(w)
	for _, lines := range cards {
		for _, l := range lines {
			if _, err := bw.WriteString(fold(l.format())); err != nil {
				return fmt.Errorf("scrittura del file vCard non riuscita: %w", err)
			}
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("scrittura del file vCard non riuscita: %w", err)
	}
	return nil
}

// line is one property to write; Field.Value is already escaped.
type line struct {
	name string
	*vcard.Field
}

func (l line) format() string {
	var b strings.Builder
	b.WriteString(l.name)
	keys := make([]string, 0, len(l.Params))
	for k := range l.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString(";" + k + "=" + strings.Join(l.Params[k], ","))
	}
	b.WriteString(":" + l.Value)
	return b.String()
}

// escapeText escapes a text value or component (RFC 6350 section 3.4).
var textEscaper = strings.NewReplacer(`\`, `\\`, "\r\n", `\n`, "\n", `\n`, "\r", `\n`, ",", `\,`, ";", `\;`)

func escapeText(s string) string { return textEscaper.Replace(s) }

func structured(parts ...string) string {
	for i, p := range parts {
		parts[i] = escapeText(p)
	}
	return strings.Join(parts, ";")
}

func buildCard(c citizen.Citizen, version string) ([]line, error) {
	v4 := version == "4.0"
	surname, name := strings.TrimSpace(c.Surname), strings.TrimSpace(c.Name)
	if surname == "" && name == "" {
		return nil, fmt.Errorf("manca il nome (cognome o nome)")
	}
	typ := func(v3, v4s string) vcard.Params {
		if v4 {
			return vcard.Params{vcard.ParamType: {v4s}}
		}
		return vcard.Params{vcard.ParamType: {v3}}
	}
	add := func(lines []line, name, value string, params vcard.Params) []line {
		return append(lines, line{name, &vcard.Field{Value: value, Params: params}})
	}

	var ls []line
	ls = add(ls, "BEGIN", "VCARD", nil)
	ls = add(ls, vcard.FieldVersion, version, nil)
	ls = add(ls, vcard.FieldProductID, prodID, nil)
	if v4 {
		ls = add(ls, vcard.FieldKind, string(vcard.KindIndividual), nil)
	}
	ls = add(ls, vcard.FieldFormattedName, escapeText(strings.TrimSpace(name+" "+surname)), nil)
	ls = add(ls, vcard.FieldName, structured(c.Surname, c.Name, "", "", ""), nil)
	if sex := strings.ToUpper(strings.TrimSpace(c.Sex)); sex == "M" || sex == "F" {
		if v4 {
			ls = add(ls, vcard.FieldGender, sex, nil)
		} else {
			ls = add(ls, "X-GENDER", sex, nil)
		}
	}
	if bd := strings.TrimSpace(c.BirthDate); bd != "" {
		t, err := time.Parse("2006-01-02", bd)
		if err != nil {
			return nil, fmt.Errorf("data di nascita non valida: %q (formato atteso AAAA-MM-GG)", bd)
		}
		if v4 {
			// RFC 6350 dates are in the basic ISO 8601 format.
			ls = add(ls, vcard.FieldBirthday, t.Format("20060102"), nil)
		} else {
			ls = add(ls, vcard.FieldBirthday, t.Format("2006-01-02"), vcard.Params{vcard.ParamValue: {"date"}})
		}
	}
	if tel := strings.TrimSpace(c.Phone); tel != "" {
		if isMobile(tel) {
			ls = add(ls, vcard.FieldTelephone, escapeText(tel), typ("CELL", vcard.TypeCell))
		} else {
			ls = add(ls, vcard.FieldTelephone, escapeText(tel), typ("VOICE", vcard.TypeVoice))
		}
	}
	if email := strings.TrimSpace(c.Email); email != "" {
		if v4 {
			ls = add(ls, vcard.FieldEmail, escapeText(email), nil)
		} else {
			ls = add(ls, vcard.FieldEmail, escapeText(email), vcard.Params{vcard.ParamType: {"INTERNET"}})
		}
	}
	if pec := strings.TrimSpace(c.PEC); pec != "" {
		if v4 {
			ls = add(ls, vcard.FieldEmail, escapeText(pec), vcard.Params{vcard.ParamType: {"pec"}})
		} else {
			ls = add(ls, vcard.FieldEmail, escapeText(pec), vcard.Params{vcard.ParamType: {"INTERNET", "pec"}})
		}
	}
	if a := c.Address; a != (citizen.Address{}) {
		ls = add(ls, vcard.FieldAddress, structured("", "", a.Street, a.City, a.Province, a.CAP, a.Country),
			typ("HOME", vcard.TypeHome))
	}
	if cf := citizen.NormalizeCodiceFiscale(c.CodiceFiscale); cf != "" {
		ls = add(ls, "X-CODICE-FISCALE", escapeText(cf), nil)
	}
	if notes := strings.TrimSpace(c.Notes); notes != "" {
		ls = add(ls, vcard.FieldNote, escapeText(notes), nil)
	}
	if id := strings.TrimSpace(c.ID); id != "" {
		if u, err := uuid.Parse(id); err == nil && v4 {
			ls = add(ls, vcard.FieldUID, u.URN(), nil)
		} else {
			ls = add(ls, vcard.FieldUID, escapeText(id), nil)
		}
	}
	ls = add(ls, "END", "VCARD", nil)
	return ls, nil
}

// isMobile reports whether an Italian number is a mobile one (3xx after the
// optional +39 / 0039 prefix).
func isMobile(tel string) bool {
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, tel)
	if strings.HasPrefix(strings.TrimSpace(tel), "+39") {
		digits = strings.TrimPrefix(digits, "39")
	} else {
		digits = strings.TrimPrefix(digits, "0039")
	}
	return strings.HasPrefix(digits, "3")
}

// fold folds a line at 75 octets without splitting UTF-8 sequences and adds
// the CRLF terminator.
func fold(l string) string {
	if len(l) <= maxLineOctets {
		return l + "\r\n"
	}
	var b strings.Builder
	limit := maxLineOctets
	for len(l) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(l[cut]) {
			cut--
		}
		b.WriteString(l[:cut])
		b.WriteString("\r\n ")
		l = l[cut:]
		limit = maxLineOctets - 1
	}
	b.WriteString(l)
	b.WriteString("\r\n")
	return b.String()
}
