package completeness

import (
	"strings"
	"testing"
	"time"

	"sportello/internal/catalog"
)

func TestValidIBAN(t *testing.T) {
	tests := []struct {
		in      string
		wantErr string // substring; "" = valid
	}{
		{"IT60X0542811101000000123456", ""},
		{"it60x0542811101000000123456", ""},
		{"IT60 X054 2811 1010 0000 0123 456", ""},
		{"  IT60X0542811101000000123456  ", ""},
		{"GB82WEST12345698765432", ""},
		{"GB82 WEST 1234 5698 7654 32", ""},
		{"DE89370400440532013000", ""},
		{"FR1420041010050500013M02606", ""},
		{"NL91ABNA0417164300", ""},
		{"BE68539007547034", ""},
		{"CH9300762011623852957", ""},
		{"NO9386011117947", ""},
		{"ES9121000418450200051332", ""},
		{"AT611904300234573201", ""},
		{"SM86U0322509800000000270100", ""},
		{"VA59001123000012345678", ""},
		{"IT60X0542811101000000123457", "cifra di controllo errata"},
		{"IT61X0542811101000000123456", "cifra di controllo errata"},
		{"GB82WEST12345698765433", "cifra di controllo errata"},
		{"DE89370400440532013001", "cifra di controllo errata"},
		{"IT60X054281110100000012345", "deve avere 27 caratteri (ne ha 26)"},
		{"IT60X05428111010000001234567", "deve avere 27 caratteri (ne ha 28)"},
		{"IT6010542811101000000123456", "CIN"},
		{"IT60XA542811101000000123456", "ABI e CAB"},
		{"XX60X0542811101000000123456", `sigla del paese "XX" non riconosciuta`},
		{"1T60X0542811101000000123456", "sigla del paese"},
		{"ITX0X0542811101000000123456", "cifre di controllo"},
		{"IT60-X054-2811-1010-0000-0123-456", "caratteri non ammessi"},
		{"IT60X054281110100000012345è", "caratteri non ammessi"},
		{"", "vuoto"},
		{"   ", "vuoto"},
		{"IT", "sigla del paese"},
		{"GB00WEST12345698765432", "cifra di controllo errata"},
		{"GB99WEST12345698765432", "cifra di controllo errata"}, // ≡ 02 mod 97, but out of range
	}
	for _, tt := range tests {
		checkErr(t, "ValidIBAN", tt.in, ValidIBAN(tt.in), tt.wantErr)
	}
}

func checkErr(t *testing.T, fn, in string, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("%s(%q) = %v, want valid", fn, in, err)
	case want != "" && err == nil:
		t.Errorf("%s(%q) valid, want error containing %q", fn, in, want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Errorf("%s(%q) = %q, want it to contain %q", fn, in, err, want)
	}
}

func TestValidEmail(t *testing.T) {
	tests := []struct{ in, wantErr string }{
		{"mario.rossi@example.it", ""},
		{"Mario.Rossi+tag@mail.comune.example.it", ""},
		{" mario@example.com ", ""},
		{"m_r-1@sub-domain.example.org", ""},
		{"anagrafe@pec.comune.esempio.it", ""},
		{"mario@società.it", ""},
		{"mario", "manca il simbolo @"},
		{"mario@localhost", "deve contenere un punto"},
		{"Mario Rossi <mario@example.it>", "non valido"},
		{"<mario@example.it>", "non valido"},
		{`"mario rossi"@example.it`, "non valido"},
		{"mario@@example.it", "non valido"},
		{"mario@exa mple.it", "non valido"},
		{"mario.@example.it", "non valido"},
		{"@example.it", "non valido"},
		{"mario@", "non valido"},
		{"mario@.example.it", "non valido"},
		{"mario@example..it", "non valido"},
		{"mario@example.it.", "non valido"},
		{"mario@-example.it", "dominio non valido"},
		{"mario@example.i", "dominio non valido"},
		{"mario@example.123", "dominio non valido"},
		{"mario@exa_mple.it", "non valido"},
		{"mario@[192.168.0.1]", "non valido"},
		{"", "vuoto"},
	}
	for _, tt := range tests {
		checkErr(t, "ValidEmail", tt.in, ValidEmail(tt.in), tt.wantErr)
		checkErr(t, "ValidPEC", tt.in, ValidPEC(tt.in), tt.wantErr)
	}
}

func TestValidPhone(t *testing.T) {
	tests := []struct{ in, wantErr string }{
		{"06 1234567", ""},
		{"061234567", ""},
		{"0612345678", ""},
		{"02-1234-5678", ""},
		{"0471/123456", ""},
		{"0.12.34.56", ""},  // 6 digits
		{"01234567890", ""}, // 11 digits
		{"3331234567", ""},  // mobile 10 digits
		{"333 123 456", ""}, // mobile 9 digits
		{"+39 333 1234567", ""},
		{"+39 06 1234567", ""},
		{"0039 333.123.4567", ""},
		{"0039061234567", ""},
		{"+44 20 7946 0958", ""},
		{"+1 202-555-0100", ""},
		{"0044 20 7946 0958", ""},
		{"+49 30 123456", ""},
		{"+123456", ""},          // 6 digits
		{"+123456789012345", ""}, // 15 digits
		{"+1234567890123456", "da 6 a 15 cifre"},
		{"+12345", "da 6 a 15 cifre"},
		{"+0 123456789", "prefisso internazionale non valido"},
		{"01234", "da 6 a 11 cifre"},
		{"012345678901", "da 6 a 11 cifre"},
		{"33312345", "9 o 10 cifre"},
		{"33312345678", "9 o 10 cifre"},
		{"+39 33312345678", "9 o 10 cifre"},
		{"5551234567", "deve iniziare con 0 (fisso) o 3 (cellulare)"},
		{"+39 5551234", "deve iniziare con 0"},
		{"+39", "manca il numero"},
		{"(06) 1234567", "solo cifre"},
		{"06 1234567 int. 3", "solo cifre"},
		{"333+1234567", "solo cifre"},
		{"", "vuoto"},
		{"+", "vuoto"},
	}
	for _, tt := range tests {
		checkErr(t, "ValidPhone", tt.in, ValidPhone(tt.in), tt.wantErr)
	}
}

func TestValidCAP(t *testing.T) {
	tests := []struct{ in, wantErr string }{
		{"00100", ""},
		{"20121", ""},
		{" 39100 ", ""},
		{"2012", "5 cifre"},
		{"201211", "5 cifre"},
		{"2012a", "5 cifre"},
		{"20 121", "5 cifre"},
		{"", "5 cifre"},
		{"２０１２１", "5 cifre"}, // full-width digits
	}
	for _, tt := range tests {
		checkErr(t, "ValidCAP", tt.in, ValidCAP(tt.in), tt.wantErr)
	}
}

func TestValidStampDutyID(t *testing.T) {
	tests := []struct{ in, wantErr string }{
		{"01234567890123", ""},
		{" 01234567890123 ", ""},
		{"0123 4567 8901 23", ""},
		{"0123456789012", "14 cifre"},
		{"012345678901234", "14 cifre"},
		{"0123456789012A", "14 cifre"},
		{"0123-4567-8901-23", "14 cifre"},
		{"", "14 cifre"},
	}
	for _, tt := range tests {
		checkErr(t, "ValidStampDutyID", tt.in, ValidStampDutyID(tt.in), tt.wantErr)
	}
}

// withCheck completes a 15-character code with its check character, to test
// one rule at a time.
func withCheck(s string) string { return s + string(cfCheckChar(s)) }

func TestValidCodiceFiscale(t *testing.T) {
	tests := []struct{ in, wantErr string }{
		{"RSSMRA85T10A562S", ""},
		{"rssmra85t10a562s", ""},
		{"RSS MRA 85T10 A562S", ""},
		{"MRTMTT91D08F205J", ""},
		{"BNCLRA70E61H501L", ""},           // woman: day 21 + 40
		{"RSSMRA85T10A56NH", ""},           // omocodia in the town code
		{"RSSMRAURTMLARNNG", ""},           // every digit replaced
		{withCheck("RSSMRA85T71A562"), ""}, // day 31 + 40
		{"12345678903", ""},                // temporary code / partita IVA
		{"00743110157", ""},
		{"RSSMRA85T10A562T", "carattere di controllo errato"},
		{"RSSMRA85T10A562", "16 caratteri"},
		{"RSSMRA85T10A562SX", "16 caratteri"},
		{"", "16 caratteri"},
		{"12345678901", "cifra di controllo errata"},
		{"1234567890A", "sole cifre"},
		{withCheck("RSSMRA85F10A562"), "mese"},
		{withCheck("RSSMRA85T32A562"), "giorno"},
		{withCheck("RSSMRA85T00A562"), "giorno"},
		{withCheck("RSSMRA85T40A562"), "giorno"},
		{withCheck("RSSMRA85T72A562"), "giorno"},
		{withCheck("RSSMR185T10A562"), "formato"},
		{withCheck("RSSMRA8AT10A562"), "formato"}, // A is not an omocodia letter
		{withCheck("RSSMRA85T10AA62"), "formato"},
		{withCheck("RSSMRA85T1085621"[:15]), "formato"},
		{"RSSMRA85T10A5621", "formato"}, // check character must be a letter
	}
	for _, tt := range tests {
		checkErr(t, "ValidCodiceFiscale", tt.in, ValidCodiceFiscale(tt.in), tt.wantErr)
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		in      string
		want    string // YYYY-MM-DD
		wantErr string
	}{
		{"2025-04-30", "2025-04-30", ""},
		{"30/04/2025", "2025-04-30", ""},
		{"1/4/2025", "2025-04-01", ""},
		{"01/4/2025", "2025-04-01", ""},
		{" 2024-02-29 ", "2024-02-29", ""},
		{"29/02/2000", "2000-02-29", ""},
		{"31/12/9999", "9999-12-31", ""},
		{"31/04/2025", "", "il giorno 31 non esiste in aprile 2025"},
		{"29/02/2023", "", "il giorno 29 non esiste in febbraio 2023"},
		{"29/02/1900", "", "non esiste"},
		{"2025-13-01", "", "il mese 13 non esiste"},
		{"2025-00-10", "", "il mese 0 non esiste"},
		{"00/01/2025", "", "il giorno 0 non esiste"},
		{"0000-01-01", "", "anno non valido"},
		{"2025-4-30", "", "GG/MM/AAAA"},
		{"30-04-2025", "", "GG/MM/AAAA"},
		{"30/04/25", "", "GG/MM/AAAA"},
		{"30.04.2025", "", "GG/MM/AAAA"},
		{"2025/04/30", "", "GG/MM/AAAA"},
		{"2025-04-30T10:00:00Z", "", "GG/MM/AAAA"},
		{"oggi", "", "GG/MM/AAAA"},
		{"", "", "GG/MM/AAAA"},
		{"١/٤/٢٠٢٥", "", "GG/MM/AAAA"}, // non-ASCII digits
	}
	for _, tt := range tests {
		got, err := ParseDate(tt.in)
		checkErr(t, "ParseDate", tt.in, err, tt.wantErr)
		if err == nil {
			if s := got.Format(time.DateOnly); s != tt.want {
				t.Errorf("ParseDate(%q) = %s, want %s", tt.in, s, tt.want)
			}
			if got.Location() != time.UTC || got.Hour() != 0 {
				t.Errorf("ParseDate(%q) = %v, want midnight UTC", tt.in, got)
			}
		}
	}
}

func ptr(f float64) *float64 { return &f }

func TestValidateValue(t *testing.T) {
	choice := catalog.Field{Key: "tipo", Label: "Titolo", Type: catalog.Choice,
		Options: []catalog.Option{{Value: "prop", Label: "Proprietario"}, {Value: "aff", Label: "Affittuario"}, {Value: "altro"}}}
	number := catalog.Field{Key: "n", Label: "Componenti", Type: catalog.Number, Min: ptr(1), Max: ptr(20.5)}
	tests := []struct {
		name  string
		field catalog.Field
		value string
		want  string
	}{
		{"empty is fine", catalog.Field{Label: "X", Type: catalog.IBAN, Required: true}, "  ", ""},
		{"text any", catalog.Field{Label: "Note", Type: catalog.Text}, "qualsiasi cosa", ""},
		{"longtext any", catalog.Field{Label: "Note", Type: catalog.LongText}, "riga\nriga", ""},
		{"number comma", number, "3,5", ""},
		{"number dot", number, "3.5", ""},
		{"number int", number, " 20 ", ""},
		{"number max edge", number, "20,5", ""},
		{"number bad", number, "tre", `Il campo "Componenti" non è valido: deve essere un numero (usare la virgola o il punto per i decimali, senza separatori delle migliaia)`},
		{"number thousands", number, "1.234,5", `Il campo "Componenti" non è valido: deve essere un numero`},
		{"number exponent", number, "1e3", `Il campo "Componenti" non è valido: deve essere un numero`},
		{"number NaN", number, "NaN", `Il campo "Componenti" non è valido: deve essere un numero`},
		{"number min", number, "0", `Il campo "Componenti" non può essere inferiore a 1`},
		{"number max", number, "20,6", `Il campo "Componenti" non può essere superiore a 20,5`},
		{"number negative", catalog.Field{Label: "Saldo", Type: catalog.Number}, "-12,30", ""},
		{"date iso", catalog.Field{Label: "Data", Type: catalog.Date}, "2025-01-31", ""},
		{"date bad", catalog.Field{Label: "Data di nascita", Type: catalog.Date}, "31/04/2025", `Il campo "Data di nascita" non è valido: il giorno 31 non esiste in aprile 2025`},
		{"cf", catalog.Field{Label: "Codice fiscale", Type: catalog.CodiceFiscale}, "RSSMRA85T10A562S", ""},
		{"cf bad", catalog.Field{Label: "Codice fiscale", Type: catalog.CodiceFiscale}, "RSSMRA85T10A562T", `Il campo "Codice fiscale" non è valido: carattere di controllo errato`},
		{"email bad", catalog.Field{Label: "E-mail", Type: catalog.Email}, "mario", `Il campo "E-mail" non è valido: manca il simbolo @ (es. nome@esempio.it)`},
		{"pec bad", catalog.Field{Label: "PEC", Type: catalog.PEC}, "mario@pec", `Il campo "PEC" non è valido: il dominio dopo la @ deve contenere un punto (es. esempio.it)`},
		{"phone bad", catalog.Field{Label: "Telefono", Type: catalog.Phone}, "12345", `Il campo "Telefono" non è valido: un numero italiano deve iniziare con 0 (fisso) o 3 (cellulare)`},
		{"iban bad", catalog.Field{Label: "IBAN", Type: catalog.IBAN}, "IT60X0542811101000000123457", `Il campo "IBAN" non è valido: cifra di controllo errata`},
		{"cap bad", catalog.Field{Label: "CAP", Type: catalog.CAP}, "123", `Il campo "CAP" non è valido: il CAP deve essere di 5 cifre`},
		{"choice ok", choice, "aff", ""},
		{"choice label is not value", choice, "Affittuario", `Il campo "Titolo" ha un valore non ammesso ("Affittuario"): scegliere tra "Proprietario", "Affittuario" e "altro"`},
		{"checkbox true", catalog.Field{Label: "Privacy", Type: catalog.Checkbox}, "true", ""},
		{"checkbox false", catalog.Field{Label: "Privacy", Type: catalog.Checkbox}, "false", ""},
		{"checkbox bad", catalog.Field{Label: "Privacy", Type: catalog.Checkbox}, "sì", `Il campo "Privacy" non è valido: valore di spunta non riconosciuto (ammessi "true" o "false")`},
		{"max length runes ok", catalog.Field{Label: "Sigla", Type: catalog.Text, MaxLength: 4}, "àèìò", ""},
		{"max length", catalog.Field{Label: "Sigla", Type: catalog.Text, MaxLength: 4}, "àèìòù", `Il campo "Sigla" supera la lunghezza massima di 4 caratteri (ne ha 5)`},
		{"pattern ok", catalog.Field{Label: "Protocollo", Type: catalog.Text, Pattern: `[A-Z]{2}-\d{4}`}, "AB-1234", ""},
		{"pattern is full match", catalog.Field{Label: "Protocollo", Type: catalog.Text, Pattern: `[A-Z]{2}-\d{4}`, PatternHint: "es. AB-1234"}, "xAB-1234x", `Il campo "Protocollo" non è nel formato richiesto: es. AB-1234`},
		{"pattern alternation anchored", catalog.Field{Label: "Sì/No", Type: catalog.Text, Pattern: `si|no`}, "sino", `Il campo "Sì/No" non è nel formato richiesto`},
		{"invalid pattern ignored", catalog.Field{Label: "X", Type: catalog.Text, Pattern: `(`}, "abc", ""},
		{"label falls back to key", catalog.Field{Key: "cap_residenza", Type: catalog.CAP}, "1", `Il campo "cap_residenza" non è valido: il CAP deve essere di 5 cifre`},
		{"format before pattern", catalog.Field{Label: "CAP", Type: catalog.CAP, Pattern: `39\d{3}`, PatternHint: "solo Alto Adige"}, "391", `Il campo "CAP" non è valido: il CAP deve essere di 5 cifre`},
		{"pattern after format", catalog.Field{Label: "CAP", Type: catalog.CAP, Pattern: `39\d{3}`, PatternHint: "solo Alto Adige"}, "20121", `Il campo "CAP" non è nel formato richiesto: solo Alto Adige`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ValidateValue(tt.field, tt.value)
			if tt.want == "" && got != "" || tt.want != "" && !strings.HasPrefix(got, tt.want) {
				t.Errorf("ValidateValue(%q) = %q, want %q", tt.value, got, tt.want)
			}
		})
	}
}

func TestHolds(t *testing.T) {
	values := map[string]string{"tipo": " aff ", "privacy": "true", "note": "  ", "nope": "false"}
	tests := []struct {
		name string
		c    *catalog.Condition
		want bool
	}{
		{"nil", nil, false},
		{"empty condition", &catalog.Condition{Field: "tipo"}, false},
		{"equals trimmed", &catalog.Condition{Field: "tipo", Equals: "aff"}, true},
		{"equals other", &catalog.Condition{Field: "tipo", Equals: "prop"}, false},
		{"equals is case sensitive", &catalog.Condition{Field: "tipo", Equals: "AFF"}, false},
		{"in", &catalog.Condition{Field: "tipo", In: []string{"prop", "aff"}}, true},
		{"not in", &catalog.Condition{Field: "tipo", In: []string{"prop"}}, false},
		{"not empty", &catalog.Condition{Field: "tipo", NotEmpty: true}, true},
		{"blank is empty", &catalog.Condition{Field: "note", NotEmpty: true}, false},
		{"missing is empty", &catalog.Condition{Field: "absent", NotEmpty: true}, false},
		{"checked", &catalog.Condition{Field: "privacy", Checked: true}, true},
		{"false not checked", &catalog.Condition{Field: "nope", Checked: true}, false},
		{"missing not checked", &catalog.Condition{Field: "absent", Checked: true}, false},
		{"several criteria all hold", &catalog.Condition{Field: "tipo", Equals: "aff", NotEmpty: true}, true},
		{"several criteria one fails", &catalog.Condition{Field: "tipo", Equals: "aff", In: []string{"prop"}}, false},
	}
	for _, tt := range tests {
		if got := holds(tt.c, values); got != tt.want {
			t.Errorf("%s: holds = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestSizeOverLimit(t *testing.T) {
	tests := []struct {
		limit, size     int64
		wantL, wantSize string
	}{
		{5 << 20, 12897485, "5 MB", "12,3 MB"},
		{5 << 20, 5<<20 + 1, "5 MB", "5,01 MB"},
		{5 << 20, 5<<20 + 60000, "5 MB", "5,1 MB"},
		{1536 << 10, 2 << 20, "1,5 MB", "2 MB"},
		{500 << 10, 501 << 10, "500 KB", "501 KB"},
		{500 << 10, 3 << 20, "500 KB", "3 MB"},
		{100, 101, "100 byte", "101 byte"},
	}
	for _, tt := range tests {
		l, s := sizeOverLimit(tt.limit, tt.size)
		if l != tt.wantL || s != tt.wantSize {
			t.Errorf("sizeOverLimit(%d, %d) = %q, %q; want %q, %q", tt.limit, tt.size, l, s, tt.wantL, tt.wantSize)
		}
	}
}

func TestRomeNowFallbackRule(t *testing.T) {
	// The fallback must agree with the time zone database when present.
	loc := romeLocation()
	if loc == nil {
		t.Skip("no tz database")
	}
	for _, s := range []string{"2025-03-30T00:59:59Z", "2025-03-30T01:00:00Z", "2025-10-26T00:59:59Z",
		"2025-10-26T01:00:00Z", "2025-06-30T22:30:00Z", "2025-12-31T23:30:00Z"} {
		u, _ := time.Parse(time.RFC3339, s)
		want := u.In(loc)
		got := romeFallback(u)
		_, wo := want.Zone()
		_, go_ := got.Zone()
		if wo != go_ || want.Format(time.DateTime) != got.Format(time.DateTime) {
			t.Errorf("%s: fallback %v, want %v", s, got, want)
		}
	}
}
