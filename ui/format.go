package ui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"sportello/internal/catalog"
	"sportello/internal/completeness"
)

// rome is the time zone dates are shown in.
var rome = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		return time.Local
	}
	return loc
}()

// displayDate turns an ISO date (YYYY-MM-DD) into DD/MM/YYYY; anything else
// is returned as it is.
func displayDate(iso string) string {
	iso = strings.TrimSpace(iso)
	if t, err := time.Parse("2006-01-02", iso); err == nil {
		return t.Format("02/01/2006")
	}
	return iso
}

// displayDay writes the Europe/Rome calendar day of t as DD/MM/YYYY.
func displayDay(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(rome).Format("02/01/2006")
}

// fullInstant writes t as "DD/MM/YYYY HH:MM" in Europe/Rome.
func fullInstant(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(rome).Format("02/01/2006 15:04")
}

// officeName is the name of an office of the catalog (its ID when unknown).
func officeName(c *catalog.Catalog, id string) string {
	if c != nil {
		if o, ok := c.Office(id); ok {
			return o.Name
		}
	}
	return id
}

// isoDate turns a date typed as DD/MM/YYYY (or YYYY-MM-DD) into YYYY-MM-DD.
// Text that is not a valid date is returned trimmed, unchanged, so that the
// service reports the problem with its own message.
func isoDate(typed string) string {
	typed = strings.TrimSpace(typed)
	if typed == "" {
		return ""
	}
	t, err := completeness.ParseDate(typed)
	if err != nil {
		return typed
	}
	return t.Format("2006-01-02")
}

// formatEuro writes cents as "€ 1.234,56".
func formatEuro(cents int64) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	euros := strconv.FormatInt(cents/100, 10)
	var b strings.Builder
	for i, r := range euros {
		if i > 0 && (len(euros)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteRune(r)
	}
	return fmt.Sprintf("€ %s%s,%02d", sign, b.String(), cents%100)
}

// formatSize writes a byte count in MB (or KB below 1 MB) with the Italian
// decimal comma.
func formatSize(n int64) string {
	const kb, mb = 1024, 1024 * 1024
	if n < mb {
		return strconv.FormatInt((n+kb-1)/kb, 10) + " KB"
	}
	s := strconv.FormatFloat(float64(n)/mb, 'f', 1, 64)
	s = strings.TrimSuffix(s, ".0")
	return strings.Replace(s, ".", ",", 1) + " MB"
}
