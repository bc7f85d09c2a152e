package codicefiscale

import (
	"errors"
	"testing"
)

// FuzzParse checks that Parse never panics, that every error is a well-formed
// *Error, that accepted codes re-validate, and that the Canonical form of an
// accepted code is valid, not omocodic and describes the same person.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"RSSMRA85T10A562S",
		"rssmra 85t10 a562s",
		"RSSMRA85T10A56NH",
		"RSSMRAURTMLARSNL",
		"BNCNNA92B69F205U",
		"VRDGFR00B29L219C",
		"SMTJHN70A01Z404I",
		"RSSMRA85B30A562S",
		"RSSMRA85T10A562Z",
		"12345678903",
		"12345678904",
		"RSSMRÀ85T10A562S",
		"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		info, err := ParseAt(s, today)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("ParseAt(%q): error %T is not *Error", s, err)
			}
			if e.Reason == "" || e.Message == "" || e.Pos < 0 || e.Pos > 16 {
				t.Fatalf("ParseAt(%q): malformed error %+v", s, e)
			}
			if info != (Info{}) {
				t.Fatalf("ParseAt(%q): non-zero Info %+v with error", s, info)
			}
			return
		}
		if info.Code != Normalize(s) {
			t.Fatalf("ParseAt(%q).Code = %q, want %q", s, info.Code, Normalize(s))
		}
		again, err := ParseAt(info.Code, today)
		if err != nil {
			t.Fatalf("accepted %q, but its Code %q does not re-validate: %v", s, info.Code, err)
		}
		if again != info {
			t.Fatalf("ParseAt(%q) = %+v, but ParseAt(Code) = %+v", s, info, again)
		}
		switch info.Kind {
		case Temporary:
			if len(info.Code) != 11 || info.Canonical != info.Code || info.Omocodia || !info.BirthDate.IsZero() {
				t.Fatalf("ParseAt(%q): bad temporary info %+v", s, info)
			}
		case Personal:
			if len(info.Code) != 16 || (info.Sex != "M" && info.Sex != "F") || len(info.PlaceCode) != 4 || info.Foreign != (info.PlaceCode[0] == 'Z') {
				t.Fatalf("ParseAt(%q): bad personal info %+v", s, info)
			}
			if info.BirthDate.After(today) {
				t.Fatalf("ParseAt(%q): birth date %v in the future", s, info.BirthDate)
			}
			if info.Omocodia == (info.Canonical == info.Code) {
				t.Fatalf("ParseAt(%q): Omocodia=%v but Canonical=%q, Code=%q", s, info.Omocodia, info.Canonical, info.Code)
			}
			canon, err := ParseAt(info.Canonical, today)
			if err != nil {
				t.Fatalf("accepted %q, but its Canonical %q is invalid: %v", s, info.Canonical, err)
			}
			if canon.Omocodia || canon.Canonical != info.Canonical {
				t.Fatalf("Canonical %q of %q is itself omocodic: %+v", info.Canonical, s, canon)
			}
			if !canon.BirthDate.Equal(info.BirthDate) || canon.Sex != info.Sex || canon.PlaceCode != info.PlaceCode || canon.Foreign != info.Foreign {
				t.Fatalf("Canonical %q of %q describes another person: %+v vs %+v", info.Canonical, s, canon, info)
			}
			if c, err := CheckChar(info.Code[:15]); err != nil || c != info.Code[15] {
				t.Fatalf("CheckChar(%q) = %q, %v; code has %q", info.Code[:15], c, err, info.Code[15])
			}
		default:
			t.Fatalf("ParseAt(%q): unknown kind %v", s, info.Kind)
		}
	})
}
