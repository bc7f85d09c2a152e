package codicefiscale

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// today is the reference date used by the tests, so that century inference
// is deterministic.
var today = time.Date(2026, time.June, 15, 10, 30, 0, 0, time.UTC)

func date(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// The check characters of the codes below were computed by hand with the
// odd/even tables of DM 23/12/1976, e.g. for RSSMRA85T10A562S:
//
//	R8 S18 S12 M12 R8 A0 8:19 5:5 T14 1:1 0:1 A0 5:13 6:6 2:5 = 122; 122 mod 26 = 18 → S
func TestParseValid(t *testing.T) {
	tests := []struct {
		name     string
		code     string
		wantCode string
		omocodia bool
		canon    string
		birth    time.Time
		sex      string
		place    string
		foreign  bool
	}{
		{"Mario Rossi", "RSSMRA85T10A562S", "RSSMRA85T10A562S", false, "RSSMRA85T10A562S", date(1985, 12, 10), "M", "A562", false},
		{"lower case and spaces", "  rssmra 85t10 a562s ", "RSSMRA85T10A562S", false, "RSSMRA85T10A562S", date(1985, 12, 10), "M", "A562", false},
		{"tabs and no-break spaces", "RSS\tMRA\u00a085T10A562S\n", "RSSMRA85T10A562S", false, "RSSMRA85T10A562S", date(1985, 12, 10), "M", "A562", false},
		{"woman, 29 February of a leap year", "BNCNNA92B69F205U", "BNCNNA92B69F205U", false, "BNCNNA92B69F205U", date(1992, 2, 29), "F", "F205", false},
		{"born abroad", "SMTJHN70A01Z404I", "SMTJHN70A01Z404I", false, "SMTJHN70A01Z404I", date(1970, 1, 1), "M", "Z404", true},
		{"29 February 2000", "VRDGFR00B29L219C", "VRDGFR00B29L219C", false, "VRDGFR00B29L219C", date(2000, 2, 29), "M", "L219", false},
		{"omocodia on the last digit", "RSSMRA85T10A56NH", "RSSMRA85T10A56NH", true, "RSSMRA85T10A562S", date(1985, 12, 10), "M", "A562", false},
		{"omocodia on the last two digits", "RSSMRA85T10A5SNT", "RSSMRA85T10A5SNT", true, "RSSMRA85T10A562S", date(1985, 12, 10), "M", "A562", false},
		{"omocodia on all seven digits", "RSSMRAURTMLARSNL", "RSSMRAURTMLARSNL", true, "RSSMRA85T10A562S", date(1985, 12, 10), "M", "A562", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := ParseAt(tt.code, today)
			if err != nil {
				t.Fatalf("ParseAt(%q): %v", tt.code, err)
			}
			want := Info{
				Code:      tt.wantCode,
				Kind:      Personal,
				Omocodia:  tt.omocodia,
				Canonical: tt.canon,
				BirthDate: tt.birth,
				Sex:       tt.sex,
				PlaceCode: tt.place,
				Foreign:   tt.foreign,
			}
			if info != want {
				t.Errorf("ParseAt(%q) =\n %+v\nwant\n %+v", tt.code, info, want)
			}
			if err := Validate(tt.code); err != nil {
				t.Errorf("Validate(%q): %v", tt.code, err)
			}
		})
	}
}

func TestParseUsesCurrentDate(t *testing.T) {
	info, err := Parse("RSSMRA85T10A562S")
	if err != nil {
		t.Fatal(err)
	}
	if got := info.BirthDate; !got.Equal(date(1985, 12, 10)) {
		t.Errorf("BirthDate = %v, want 1985-12-10", got)
	}
}

func TestCentury(t *testing.T) {
	tests := []struct {
		birth time.Time // as encoded; only the two-digit year matters
		today time.Time
		want  time.Time
	}{
		{date(2025, 3, 1), today, date(2025, 3, 1)},
		{date(1930, 3, 1), today, date(1930, 3, 1)},
		{date(2026, 1, 20), today, date(2026, 1, 20)},   // earlier this year
		{date(2026, 6, 15), today, date(2026, 6, 15)},   // born today
		{date(2026, 6, 16), today, date(1926, 6, 16)},   // tomorrow: a century ago
		{date(2026, 12, 1), today, date(1926, 12, 1)},   // later this year
		{date(1999, 12, 31), today, date(1999, 12, 31)}, // "99"
		{date(2000, 1, 1), today, date(2000, 1, 1)},     // "00"
		{date(1910, 5, 5), date(2009, 1, 1), date(1910, 5, 5)},
		{date(1908, 5, 5), date(2009, 1, 1), date(2008, 5, 5)},
	}
	for _, tt := range tests {
		code, err := Compute("Rossi", "Mario", tt.birth, "M", "H501")
		if err != nil {
			t.Fatal(err)
		}
		info, err := ParseAt(code, tt.today)
		if err != nil {
			t.Fatalf("ParseAt(%q, %v): %v", code, tt.today, err)
		}
		if !info.BirthDate.Equal(tt.want) {
			t.Errorf("ParseAt(%q, %v).BirthDate = %v, want %v", code, tt.today.Format(time.DateOnly), info.BirthDate.Format(time.DateOnly), tt.want.Format(time.DateOnly))
		}
	}
}

func TestLeapDayCentury(t *testing.T) {
	// "00" + 29 February: valid when read as 2000, invalid when read as 1900.
	if _, err := ParseAt("VRDGFR00B29L219C", date(2000, 2, 29)); err != nil {
		t.Errorf("on 2000-02-29: %v", err)
	}
	_, err := ParseAt("VRDGFR00B29L219C", date(2000, 2, 28))
	assertError(t, err, ReasonDay, 10, "Il 29 febbraio 1900 non esiste (1900 non è un anno bisestile)")
}

// omocodicVariants replaces the digit positions from right to left with the
// omocodia letters, as the Agenzia delle Entrate does, recomputing the check
// character each time.
func omocodicVariants(t *testing.T, code string) []string {
	t.Helper()
	b := []byte(code)
	var out []string
	for k := len(omocodicPositions) - 1; k >= 0; k-- {
		i := omocodicPositions[k]
		b[i] = omocodia[b[i]-'0']
		c, err := CheckChar(string(b[:15]))
		if err != nil {
			t.Fatal(err)
		}
		b[15] = c
		out = append(out, string(b))
	}
	return out
}

func TestOmocodicVariants(t *testing.T) {
	bases := []string{"RSSMRA85T10A562S", "BNCNNA92B69F205U", "SMTJHN70A01Z404I", "VRDGFR00B29L219C"}
	for _, base := range bases {
		want, err := ParseAt(base, today)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range omocodicVariants(t, base) {
			info, err := ParseAt(v, today)
			if err != nil {
				t.Errorf("ParseAt(%q): %v", v, err)
				continue
			}
			if !info.Omocodia || info.Canonical != base || info.Code != v {
				t.Errorf("ParseAt(%q): Omocodia=%v Canonical=%q Code=%q, want true %q %q", v, info.Omocodia, info.Canonical, info.Code, base, v)
			}
			if !info.BirthDate.Equal(want.BirthDate) || info.Sex != want.Sex || info.PlaceCode != want.PlaceCode || info.Foreign != want.Foreign {
				t.Errorf("ParseAt(%q) = %+v, want same data as %+v", v, info, want)
			}
		}
	}
}

func TestTemporary(t *testing.T) {
	for _, code := range []string{"12345678903", "01234567897", " 0123 4567 897 "} {
		info, err := ParseAt(code, today)
		if err != nil {
			t.Errorf("ParseAt(%q): %v", code, err)
			continue
		}
		norm := strings.ReplaceAll(code, " ", "")
		want := Info{Code: norm, Kind: Temporary, Canonical: norm}
		if info != want {
			t.Errorf("ParseAt(%q) = %+v, want %+v", code, info, want)
		}
	}
}

func TestTemporaryCheckDigit(t *testing.T) {
	// 0123456789: odd positions 0+2+4+6+8 = 20, even positions doubled
	// 2+6+(10-9)+(14-9)+(18-9) = 23; 43 → (10-3) mod 10 = 7.
	tests := []struct {
		in   string
		want byte
	}{
		{"0123456789", '7'},
		{"1234567890", '3'},
		{"0000000000", '0'},
		{"9999999999", '0'}, // odd positions 5*9 = 45, even positions 5*(18-9) = 45; 90 → 0
	}
	for _, tt := range tests {
		got, err := TemporaryCheckDigit(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("TemporaryCheckDigit(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	_, err := TemporaryCheckDigit("123")
	assertError(t, err, ReasonLength, 0, "Per calcolare la cifra di controllo servono le prime 10 cifre del codice provvisorio: ne sono state indicate 3")
	_, err = TemporaryCheckDigit("12345A7890")
	assertError(t, err, ReasonChar, 6, "Carattere 6: atteso una cifra, trovato «A»")
}

func TestCheckChar(t *testing.T) {
	tests := []struct {
		in   string
		want byte
	}{
		{"RSSMRA85T10A562", 'S'},
		{"rssmra85t10a562", 'S'},
		{"RSSMRA85T10A56N", 'H'},
		{"BNCNNA92B69F205", 'U'},
		{"SMTJHN70A01Z404", 'I'},
		{"VRDGFR00B29L219", 'C'},
	}
	for _, tt := range tests {
		got, err := CheckChar(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("CheckChar(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	_, err := CheckChar("RSSMRA85T10A562S")
	assertError(t, err, ReasonLength, 0, "Per calcolare il carattere di controllo servono i primi 15 caratteri del codice fiscale: ne sono stati indicati 16")
	_, err = CheckChar("RSSMRA85T10A5_2")
	assertError(t, err, ReasonChar, 14, "Carattere 14: «_» non è ammesso (solo lettere e cifre)")
	_, err = CheckChar("RSSMRÀ85T10A562")
	assertError(t, err, ReasonChar, 6, "Carattere 6: «À» non è ammesso (solo lettere e cifre)")
}

func assertError(t *testing.T, err error, reason string, pos int, message string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s: %q", reason, message)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %v is not *Error", err, err)
	}
	if e.Reason != reason || e.Pos != pos || e.Message != message {
		t.Errorf("error = {%s %d %q}, want {%s %d %q}", e.Reason, e.Pos, e.Message, reason, pos, message)
	}
	if err.Error() != e.Message {
		t.Errorf("Error() = %q, want Message %q", err.Error(), e.Message)
	}
}

func TestParseErrors(t *testing.T) {
	const omo = "; in caso di omocodia sono ammesse solo le lettere L M N P Q R S T U V"
	tests := []struct {
		name    string
		code    string
		reason  string
		pos     int
		message string
	}{
		{"empty", "", ReasonEmpty, 0, "Il codice fiscale è vuoto"},
		{"only spaces", " \t ", ReasonEmpty, 0, "Il codice fiscale è vuoto"},
		{"too short", "RSSMRA85T10A562", ReasonLength, 0, "Il codice fiscale deve avere 16 caratteri (o 11 cifre se provvisorio): ne ha 15"},
		{"too long", "RSSMRA85T10A562SS", ReasonLength, 0, "Il codice fiscale deve avere 16 caratteri (o 11 cifre se provvisorio): ne ha 17"},
		{"one char", "R", ReasonLength, 0, "Il codice fiscale deve avere 16 caratteri (o 11 cifre se provvisorio): ne ha 1"},
		{"11 chars starting with a letter", "RSSMRA85T10", ReasonLength, 0, "Il codice fiscale deve avere 16 caratteri (o 11 cifre se provvisorio): ne ha 11"},
		{"length counts characters, not bytes", "RSSMRÀ85T10A562", ReasonLength, 0, "Il codice fiscale deve avere 16 caratteri (o 11 cifre se provvisorio): ne ha 15"},
		{"punctuation", "RSSMRA85T10A56-S", ReasonChar, 15, "Carattere 15: «-» non è ammesso (solo lettere e cifre)"},
		{"accented letter", "RSSMRÀ85T10A562S", ReasonChar, 6, "Carattere 6: «À» non è ammesso (solo lettere e cifre)"},
		{"dotless i is not folded", "RSSMRı85T10A562S", ReasonChar, 6, "Carattere 6: «ı» non è ammesso (solo lettere e cifre)"},
		{"digit in surname", "RS5MRA85T10A562S", ReasonChar, 3, "Carattere 3: atteso una lettera (cognome)"},
		{"digit in name", "RSSM4A85T10A562S", ReasonChar, 5, "Carattere 5: atteso una lettera (nome)"},
		{"letter in year", "RSSMRAA5T10A562S", ReasonChar, 7, "Carattere 7: atteso una cifra (anno di nascita), trovato «A»" + omo},
		{"letter in year, second digit", "RSSMRA8ZT10A562S", ReasonChar, 8, "Carattere 8: atteso una cifra (anno di nascita), trovato «Z»" + omo},
		{"letter in day", "RSSMRA85TB0A562S", ReasonChar, 10, "Carattere 10: atteso una cifra (giorno di nascita e sesso), trovato «B»" + omo},
		{"digit in place letter", "RSSMRA85T101562S", ReasonChar, 12, "Carattere 12: atteso una lettera (codice del comune di nascita)"},
		{"letter in place digits", "RSSMRA85T10A5K2S", ReasonChar, 14, "Carattere 14: atteso una cifra (codice del comune di nascita), trovato «K»" + omo},
		{"digit as check char", "RSSMRA85T10A5620", ReasonChar, 16, "Carattere 16: atteso una lettera (carattere di controllo)"},
		{"month letter", "RSSMRA85X10A562S", ReasonMonth, 9, "Carattere 9: «X» non è un mese valido (ammessi A B C D E H L M P R S T)"},
		{"month letter F", "RSSMRA85F10A562S", ReasonMonth, 9, "Carattere 9: «F» non è un mese valido (ammessi A B C D E H L M P R S T)"},
		{"month digit", "RSSMRA85110A562S", ReasonMonth, 9, "Carattere 9: «1» non è un mese valido (ammessi A B C D E H L M P R S T)"},
		{"day 32", "RSSMRA85T32A562S", ReasonDay, 10, "Giorno di nascita 32 non valido (ammessi 01-31 per gli uomini, 41-71 per le donne)"},
		{"day 00", "RSSMRA85T00A562S", ReasonDay, 10, "Giorno di nascita 00 non valido (ammessi 01-31 per gli uomini, 41-71 per le donne)"},
		{"day 40", "RSSMRA85T40A562S", ReasonDay, 10, "Giorno di nascita 40 non valido (ammessi 01-31 per gli uomini, 41-71 per le donne)"},
		{"day 72", "RSSMRA85T72A562S", ReasonDay, 10, "Giorno di nascita 72 non valido (ammessi 01-31 per gli uomini, 41-71 per le donne)"},
		{"omocodic day 32 (PN)", "RSSMRA85TPNA562S", ReasonDay, 10, "Giorno di nascita 32 non valido (ammessi 01-31 per gli uomini, 41-71 per le donne)"},
		{"30 February", "RSSMRA85B30A562S", ReasonDay, 10, "Il 30 febbraio non esiste"},
		{"30 February, woman", "RSSMRA85B70A562S", ReasonDay, 10, "Il 30 febbraio non esiste"},
		{"31 April", "RSSMRA85D31A562S", ReasonDay, 10, "Il 31 aprile non esiste"},
		{"31 November", "RSSMRA85S71A562S", ReasonDay, 10, "Il 31 novembre non esiste"},
		{"29 February, not a leap year", "RSSMRA85B29A562S", ReasonDay, 10, "Il 29 febbraio 1985 non esiste (1985 non è un anno bisestile)"},
		{"29 February, woman, not a leap year", "RSSMRA85B69A562S", ReasonDay, 10, "Il 29 febbraio 1985 non esiste (1985 non è un anno bisestile)"},
		{"place initial N", "RSSMRA85T10N562S", ReasonPlace, 12, "Carattere 12: «N» non può iniziare un codice del comune di nascita (ammesse le lettere da A a M, esclusi J e K, oppure Z per i nati all'estero)"},
		{"place initial J", "RSSMRA85T10J562S", ReasonPlace, 12, "Carattere 12: «J» non può iniziare un codice del comune di nascita (ammesse le lettere da A a M, esclusi J e K, oppure Z per i nati all'estero)"},
		{"place 000", "RSSMRA85T10A000S", ReasonPlace, 12, "Codice del comune di nascita «A000» non valido"},
		{"place 000, omocodic", "RSSMRA85T10ZLLLS", ReasonPlace, 12, "Codice del comune di nascita «Z000» non valido"},
		{"wrong check char", "RSSMRA85T10A562Z", ReasonCheck, 16, "Carattere di controllo errato: atteso «S», trovato «Z»"},
		{"typo in the surname", "RSSNRA85T10A562S", ReasonCheck, 16, "Carattere di controllo errato: atteso «T», trovato «S»"},
		{"omocodic code with the canonical check char", "RSSMRA85T10A56NS", ReasonCheck, 16, "Carattere di controllo errato: atteso «H», trovato «S»"},
		{"canonical code with the omocodic check char", "RSSMRA85T10A562H", ReasonCheck, 16, "Carattere di controllo errato: atteso «S», trovato «H»"},
		{"temporary: wrong check digit", "12345678904", ReasonCheck, 11, "Cifra di controllo errata: attesa «3», trovata «4»"},
		{"temporary: letter", "1234567890A", ReasonChar, 11, "Carattere 11: atteso una cifra (il codice provvisorio è composto da 11 cifre)"},
		{"temporary: punctuation", "1234567-903", ReasonChar, 8, "Carattere 8: «-» non è ammesso (il codice provvisorio è composto da 11 cifre)"},
		{"temporary: 10 digits", "1234567890", ReasonLength, 0, "Il codice fiscale deve avere 16 caratteri (o 11 cifre se provvisorio): ne ha 10"},
		{"temporary: 12 digits", "123456789031", ReasonLength, 0, "Il codice fiscale deve avere 16 caratteri (o 11 cifre se provvisorio): ne ha 12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := ParseAt(tt.code, today)
			if err == nil {
				t.Fatalf("ParseAt(%q) = %+v, want error", tt.code, info)
			}
			if info != (Info{}) {
				t.Errorf("ParseAt(%q) returned %+v with an error, want zero Info", tt.code, info)
			}
			assertError(t, err, tt.reason, tt.pos, tt.message)
			if verr := Validate(tt.code); verr == nil {
				t.Errorf("Validate(%q) = nil, want error", tt.code)
			}
		})
	}
}

func TestKindString(t *testing.T) {
	if Personal.String() != "personal" || Temporary.String() != "temporary" || Kind(0).String() != "Kind(0)" {
		t.Errorf("unexpected Kind strings: %v %v %v", Personal, Temporary, Kind(0))
	}
}
