package codicefiscale

import (
	"testing"
	"time"
)

func TestCompute(t *testing.T) {
	tests := []struct {
		name           string
		surname, given string
		birth          time.Time
		sex, place     string
		want           string
	}{
		// Check characters verified by hand (see TestParseValid).
		{"Mario Rossi", "Rossi", "Mario", date(1985, 12, 10), "M", "A562", "RSSMRA85T10A562S"},
		{"upper case input", "ROSSI", "MARIO", date(1985, 12, 10), "m", " a562 ", "RSSMRA85T10A562S"},
		{"woman, leap day", "Bianchi", "Anna", date(1992, 2, 29), "F", "F205", "BNCNNA92B69F205U"},
		{"born abroad", "Smith", "John", date(1970, 1, 1), "M", "Z404", "SMTJHN70A01Z404I"},
		{"name with six consonants", "Verdi", "Gianfranco", date(2000, 2, 29), "M", "L219", "VRDGFR00B29L219C"},
		{"time of day and location are ignored", "Rossi", "Mario", time.Date(1985, 12, 10, 23, 59, 0, 0, time.FixedZone("CET", 3600)), "M", "A562", "RSSMRA85T10A562S"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Compute(tt.surname, tt.given, tt.birth, tt.sex, tt.place)
			if err != nil {
				t.Fatalf("Compute: %v", err)
			}
			if got != tt.want {
				t.Errorf("Compute = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestComputeLetters checks the first six characters (surname and name) for
// the tricky cases of the algorithm.
func TestComputeLetters(t *testing.T) {
	tests := []struct {
		surname, given string
		want           string
	}{
		{"Fo", "Dario", "FOXDRA"},           // surname with one consonant, padded with X
		{"Ai", "Ai", "AIXAIX"},              // no consonants at all
		{"Xu", "Li", "XUXLIX"},              // X counts as a consonant
		{"O", "U", "OXXUXX"},                // a single vowel
		{"Rossi", "Maria", "RSSMRA"},        // two consonants in the name, then vowels
		{"Rossi", "Marco", "RSSMRC"},        // exactly three consonants in the name
		{"Rossi", "Alberto", "RSSLRT"},      // four consonants: 1st, 3rd, 4th (L B R T → L R T)
		{"Rossi", "Francesca", "RSSFNC"},    // F R N C S C → F N C
		{"Gianfranco", "Rossi", "GNFRSS"},   // the 4+ rule applies to names only
		{"Mattia", "Mattia", "MTTMTT"},      // three consonants, double letters kept
		{"Rossi", "Niccolò", "RSSNCL"},      // accent dropped, N C C L → N C L
		{"Niccolò", "Luca", "NCCLCU"},       // surname takes the first three consonants
		{"D'Angelo", "Àlvaro", "DNGLVR"},    // apostrophe ignored, À → A
		{"De Luca", "Anna Maria", "DLCNMR"}, // spaces ignored: N N M R → N M R
		{"Dell’Orto", "José", "DLLJSO"},     // typographic apostrophe, É → E
		{"Müller-Lüdenscheid", "Zoë", "MLLZOE"},
		{"Nuñez", "Çelik", "NNZCLK"},
		{"Strauß", "Ève", "STRVEE"},        // ß → SS
		{"  rossi  ", " mario ", "RSSMRA"}, // surrounding spaces
		{"Lo Iacono", "Ilaria", "LCNLRI"},
		{"Güell", "Oé", "GLLOEX"},
	}
	for _, tt := range tests {
		got, err := Compute(tt.surname, tt.given, date(1980, 1, 1), "M", "H501")
		if err != nil {
			t.Errorf("Compute(%q, %q): %v", tt.surname, tt.given, err)
			continue
		}
		if got[:6] != tt.want {
			t.Errorf("Compute(%q, %q) = %q, want prefix %q", tt.surname, tt.given, got, tt.want)
		}
		if _, err := ParseAt(got, today); err != nil {
			t.Errorf("ParseAt(Compute(%q, %q) = %q): %v", tt.surname, tt.given, got, err)
		}
	}
}

// TestComputeRoundTrip computes codes for many dates, both sexes and a few
// places, and checks that parsing gives the data back.
func TestComputeRoundTrip(t *testing.T) {
	places := []string{"H501", "F205", "A001", "M206", "Z100", "Z999", "I452"}
	n := 0
	for d := date(1927, 1, 1); d.Before(today); d = d.AddDate(0, 0, 97) {
		for _, sex := range []string{"M", "F"} {
			place := places[n%len(places)]
			n++
			code, err := Compute("Esposito", "Gennaro", d, sex, place)
			if err != nil {
				t.Fatal(err)
			}
			info, err := ParseAt(code, today)
			if err != nil {
				t.Fatalf("ParseAt(%q): %v", code, err)
			}
			if !info.BirthDate.Equal(d) || info.Sex != sex || info.PlaceCode != place || info.Foreign != (place[0] == 'Z') || info.Omocodia || info.Canonical != code || info.Kind != Personal {
				t.Fatalf("ParseAt(%q) = %+v, want %v %s %s", code, info, d, sex, place)
			}
		}
	}
	// Every leap day in the range.
	for y := 1928; y <= 2024; y += 4 {
		d := date(y, 2, 29)
		code, err := Compute("Esposito", "Gennaro", d, "F", "F839")
		if err != nil {
			t.Fatal(err)
		}
		info, err := ParseAt(code, today)
		if err != nil {
			t.Fatalf("ParseAt(%q): %v", code, err)
		}
		if !info.BirthDate.Equal(d) {
			t.Errorf("ParseAt(%q).BirthDate = %v, want %v", code, info.BirthDate, d)
		}
	}
}

func TestComputeErrors(t *testing.T) {
	birth := date(1985, 12, 10)
	tests := []struct {
		name            string
		surname, given  string
		birth           time.Time
		sex, place      string
		reason, message string
	}{
		{"empty surname", "", "Mario", birth, "M", "H501", ReasonSurname, "Il cognome è vuoto"},
		{"surname with only an apostrophe", " ' ", "Mario", birth, "M", "H501", ReasonSurname, "Il cognome è vuoto"},
		{"digit in surname", "Rossi2", "Mario", birth, "M", "H501", ReasonSurname, "Il cognome contiene un carattere non ammesso: «2»"},
		{"empty name", "Rossi", "", birth, "M", "H501", ReasonName, "Il nome è vuoto"},
		{"symbol in name", "Rossi", "Mario!", birth, "M", "H501", ReasonName, "Il nome contiene un carattere non ammesso: «!»"},
		{"non-Latin name", "Rossi", "Мария", birth, "F", "H501", ReasonName, "Il nome contiene un carattere non ammesso: «М»"},
		{"zero birth date", "Rossi", "Mario", time.Time{}, "M", "H501", ReasonBirth, "La data di nascita non è indicata"},
		{"empty sex", "Rossi", "Mario", birth, "", "H501", ReasonSex, "Il sesso non è indicato (ammessi M o F)"},
		{"wrong sex", "Rossi", "Mario", birth, "X", "H501", ReasonSex, "Sesso «X» non valido (ammessi M o F)"},
		{"short place", "Rossi", "Mario", birth, "M", "H50", ReasonPlace, "Codice del comune di nascita «H50» non valido: attesi una lettera e tre cifre, ad esempio H501"},
		{"place with letters", "Rossi", "Mario", birth, "M", "H5L1", ReasonPlace, "Codice del comune di nascita «H5L1» non valido: attesi una lettera e tre cifre, ad esempio H501"},
		{"place initial", "Rossi", "Mario", birth, "M", "N501", ReasonPlace, "Codice del comune di nascita «N501» non valido: la lettera iniziale deve essere tra A e M (esclusi J e K) oppure Z per i nati all'estero"},
		{"place 000", "Rossi", "Mario", birth, "M", "Z000", ReasonPlace, "Codice del comune di nascita «Z000» non valido"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, err := Compute(tt.surname, tt.given, tt.birth, tt.sex, tt.place)
			if err == nil {
				t.Fatalf("Compute = %q, want error", code)
			}
			if code != "" {
				t.Errorf("Compute returned %q with an error", code)
			}
			assertError(t, err, tt.reason, 0, tt.message)
		})
	}
}
