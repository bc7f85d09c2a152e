package completeness

import (
	"testing"

	"sportello/internal/catalog"
)

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2025-04-30", "31/04/2025", "1/1/0001", "29/02/2024", "9999-12-31", "", "//", "0/0/0000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDate(s)
		if err != nil {
			return
		}
		// A parsed date must round-trip through both accepted layouts.
		for _, layout := range []string{"2006-01-02", "02/01/2006", "2/1/2006"} {
			back, err := ParseDate(d.Format(layout))
			if err != nil || !back.Equal(d) {
				t.Errorf("ParseDate(%q) = %v; %s round trip: %v, %v", s, d, layout, back, err)
			}
		}
	})
}

func FuzzValidIBAN(f *testing.F) {
	for _, s := range []string{"IT60X0542811101000000123456", "GB82WEST12345698765432", "DE89370400440532013000", "", "IT", "it60 x054"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_ = ValidIBAN(s)
	})
}

// FuzzCheck feeds arbitrary values to every field type of the sample
// procedure: Check and the validators must never panic.
func FuzzCheck(f *testing.F) {
	f.Add("RSSMRA85T10A562S", "10/12/1985", "+39 333 1234567", "20,5", "AB-1234", "01234567890123")
	f.Add("", "", "", "", "", "")
	f.Add("\xff\xfe", "0/0/0", "+", "-", "(", " ")
	p := sampleProcedure()
	f.Fuzz(func(t *testing.T, a, b, c, d, e, g string) {
		in := Input{
			Values: map[string]string{
				"cf": a, "nascita": b, "telefono": c, "componenti": d, "codice": e,
				"iban": a, "email": c, "pec": e, "cap": d, "titolo": e, "inizio": b, "fine": g,
				"privacy": g, "rimborso": a,
			},
			Attachments:  []Attachment{{ID: a, Type: e, FileName: b, Format: catalog.Format(c), Size: int64(len(d))}},
			StampDutyIDs: []string{g, a},
			Today:        testToday,
		}
		_ = Check(p, in)
		for _, fd := range p.Fields {
			_ = ValidateValue(fd, a)
		}
		_ = ValidCodiceFiscale(a)
		_ = ValidEmail(a)
		_ = ValidPhone(a)
	})
}
