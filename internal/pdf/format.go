package pdf

import (
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // Europe/Rome without a system zoneinfo database
	"unicode/utf8"
)

// rome is the time zone every date is shown in.
var rome = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Rome")
	if err != nil { // cannot happen with time/tzdata embedded
		return time.FixedZone("CET", 3600)
	}
	return loc
}()

// dateIT formats t as dd/mm/yyyy in Europe/Rome; "" for the zero time.
func dateIT(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(rome).Format("02/01/2006")
}

// dateTimeIT formats t as dd/mm/yyyy HH:MM in Europe/Rome; "" for the zero
// time.
func dateTimeIT(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(rome).Format("02/01/2006 15:04")
}

// sizeIT formats a byte count the Italian way: "812 byte", "12,4 KB",
// "3,1 MB".
func sizeIT(n int64) string {
	const k = 1024
	switch {
	case n < 0:
		return ""
	case n < k:
		return fmt.Sprintf("%d byte", n)
	case n < k*k:
		return decimalIT(float64(n)/k) + " KB"
	case n < k*k*k:
		return decimalIT(float64(n)/(k*k)) + " MB"
	default:
		return decimalIT(float64(n)/(k*k*k)) + " GB"
	}
}

func decimalIT(f float64) string {
	return strings.Replace(fmt.Sprintf("%.1f", f), ".", ",", 1)
}

// orDash returns s, or an em dash when s is blank.
func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "—"
	}
	return s
}

// municipalityTitle is the display name of the comune: "Comune di " is
// prepended unless the name already starts with "Comune", and a two-letter
// province code is appended in brackets.
func municipalityTitle(m Municipality) string {
	name := strings.TrimSpace(m.Name)
	switch {
	case name == "":
		name = "Comune"
	case !strings.HasPrefix(strings.ToLower(name), "comune"):
		name = "Comune di " + name
	}
	if p := strings.TrimSpace(m.Province); p != "" && utf8.RuneCountInString(p) <= 2 {
		name += " (" + strings.ToUpper(p) + ")"
	}
	return name
}

// municipalityLines are the smaller lines under the municipality title:
// province (when not a code), AOO and address.
func municipalityLines(m Municipality) []string {
	var out []string
	if p := strings.TrimSpace(m.Province); utf8.RuneCountInString(p) > 2 {
		lp := strings.ToLower(p)
		if !strings.HasPrefix(lp, "provincia") && !strings.HasPrefix(lp, "città metropolitana") {
			p = "Provincia di " + p
		}
		out = append(out, p)
	}
	aoo := strings.TrimSpace(m.AOOName)
	if code := strings.TrimSpace(m.AOOCode); code != "" {
		if aoo != "" {
			aoo += " – "
		}
		aoo += "codice " + code
	}
	if aoo != "" {
		out = append(out, "Area organizzativa omogenea: "+aoo)
	}
	if a := strings.TrimSpace(m.Address); a != "" {
		out = append(out, a)
	}
	return out
}

// personRows are the label/value pairs describing p; empty values are left
// out, except the name and fiscal code.
func personRows(p Person) []FieldValue {
	rows := []FieldValue{
		{"Cognome e nome", orDash(p.FullName)},
		{"Codice fiscale", orDash(strings.ToUpper(p.CodiceFiscale))},
	}
	add := func(label, v string) {
		if strings.TrimSpace(v) != "" {
			rows = append(rows, FieldValue{label, v})
		}
	}
	add("Luogo di nascita", p.BirthPlace)
	add("Data di nascita", p.BirthDate)
	add("Indirizzo", p.Address)
	add("Telefono", p.Phone)
	add("Email", p.Email)
	add("PEC", p.PEC)
	return rows
}

// termIT describes the legal completion term.
func termIT(days int) string {
	unit := "giorni"
	if days == 1 {
		unit = "giorno"
	}
	return fmt.Sprintf("entro %d %s dal ricevimento della domanda (art. 2 L. 241/1990)", days, unit)
}
