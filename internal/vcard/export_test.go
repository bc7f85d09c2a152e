package vcard

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	govcard "github.com/emersion/go-vcard"
	"github.com/google/go-cmp/cmp"

	"sportello/internal/citizen"
)

// roundTripCitizens exercise every mapped field, accents, characters that
// need escaping and values long enough to be folded.
var roundTripCitizens = []struct {
	name string
	c    citizen.Citizen
}{
	{"complete", citizen.Citizen{
		ID:            "4fbe8971-0bc3-424c-9c26-36c3e1eff6b1",
		CodiceFiscale: "DMBNCC80M12H501X",
		Surname:       "D'Àmbrosio",
		Name:          "Niccolò",
		Sex:           "M",
		BirthDate:     "1980-05-12",
		Phone:         "+39 333 1234567",
		Email:         "niccolo.dambrosio@example.it",
		PEC:           "niccolo.dambrosio@pec.example.it",
		Address: citizen.Address{
			Street: "Via dei Cappuccini, 12; scala B", CAP: "06012", City: "Città di Castello",
			Province: "PG", Country: "Italia",
		},
		Notes: "Perché ha chiesto il cambio di residenza.\nSeconda riga: virgola, punto e virgola; barra \\ fine.",
	}},
	{"accents and landline", citizen.Citizen{
		Surname: "Müller", Name: "Zoë", Sex: "F", BirthDate: "1999-12-31", Phone: "0471 123456",
		Email: "zoe@example.com", Address: citizen.Address{City: "Bolzano", Province: "BZ"},
	}},
	{"surname only", citizen.Citizen{Surname: "Perché"}},
	{"name only", citizen.Citizen{Name: "Perché"}},
	{"compound names", citizen.Citizen{Surname: "De Luca, Bianchi", Name: "Maria Grazia; detta Mariella"}},
	{"long values folded across multibyte characters", citizen.Citizen{
		Surname: strings.Repeat("è", 60),
		Name:    "Zoë " + strings.Repeat("àéìòù", 20),
		Notes:   strings.Repeat("Perché sì, perché no; ", 30) + "€ fine",
		Address: citizen.Address{Street: strings.Repeat("Via Lunghissima Ù ", 10)},
	}},
	{"provisional codice fiscale", citizen.Citizen{Surname: "Rossi", Name: "Mario", CodiceFiscale: "12345678901"}},
}

// mapped keeps only the fields a vCard carries: ID is assigned by the caller
// and the privacy consent is collected at the desk.
func mapped(c citizen.Citizen) citizen.Citizen {
	return citizen.Citizen{
		CodiceFiscale: c.CodiceFiscale,
		Surname:       c.Surname,
		Name:          c.Name,
		Sex:           c.Sex,
		BirthDate:     c.BirthDate,
		Phone:         c.Phone,
		Email:         c.Email,
		PEC:           c.PEC,
		Address:       c.Address,
		Notes:         c.Notes,
	}
}

func TestRoundTrip(t *testing.T) {
	for _, version := range []string{"3.0", "4.0"} {
		for _, tt := range roundTripCitizens {
			t.Run(version+"/"+tt.name, func(t *testing.T) {
				var buf bytes.Buffer
				in := tt.c
				in.PrivacyConsent, in.PrivacyConsentAt = true, "2024-01-02T10:00:00Z"
				in.BirthPlace, in.Document.Number = "Roma", "CA12345AB"
				if err := ExportVersion(&buf, version, in); err != nil {
					t.Fatalf("ExportVersion: %v", err)
				}
				got, err := Import(&buf)
				if err != nil {
					t.Fatalf("Import: %v", err)
				}
				want := []citizen.Citizen{mapped(tt.c)}
				want[0].Address.Street = strings.TrimSpace(want[0].Address.Street)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("round trip mismatch (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestRoundTripSamples imports every sample file, exports the citizens and
// imports them again: nothing may change.
func TestRoundTripSamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.vcf"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	for _, file := range files {
		for _, version := range []string{"3.0", "4.0"} {
			t.Run(filepath.Base(file)+"/"+version, func(t *testing.T) {
				first, err := importFile(t, filepath.Base(file))
				if err != nil {
					t.Fatal(err)
				}
				var buf bytes.Buffer
				if err := ExportVersion(&buf, version, first...); err != nil {
					t.Fatal(err)
				}
				second, err := Import(&buf)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(first, second); diff != "" {
					t.Errorf("mismatch (-first +second):\n%s", diff)
				}
			})
		}
	}
}

func TestExportFormat(t *testing.T) {
	cs := make([]citizen.Citizen, len(roundTripCitizens))
	for i, tt := range roundTripCitizens {
		cs[i] = tt.c
	}
	for _, version := range []string{"3.0", "4.0"} {
		t.Run(version, func(t *testing.T) {
			var buf bytes.Buffer
			if err := ExportVersion(&buf, version, cs...); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			if !utf8.ValidString(out) {
				t.Error("output is not valid UTF-8")
			}
			if !strings.HasSuffix(out, "\r\n") || strings.Contains(strings.ReplaceAll(out, "\r\n", ""), "\n") ||
				strings.Contains(strings.ReplaceAll(out, "\r\n", ""), "\r") {
				t.Error("lines are not all terminated by CRLF")
			}
			lines := strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n")
			for i, l := range lines {
				if len(l) > maxLineOctets {
					t.Errorf("line %d is %d octets long: %q", i+1, len(l), l)
				}
			}
			if lines[0] != "BEGIN:VCARD" || lines[1] != "VERSION:"+version {
				t.Errorf("card starts with %q, %q", lines[0], lines[1])
			}
			if n := strings.Count(out, "BEGIN:VCARD\r\n"); n != len(cs) {
				t.Errorf("%d cards written, want %d", n, len(cs))
			}

			// go-vcard itself must read what we write.
			dec := govcard.NewDecoder(strings.NewReader(out))
			for i := 0; ; i++ {
				card, err := dec.Decode()
				if err == io.EOF {
					if i != len(cs) {
						t.Errorf("go-vcard decoded %d cards, want %d", i, len(cs))
					}
					break
				}
				if err != nil {
					t.Fatalf("go-vcard: %v", err)
				}
				if got := card.Value(govcard.FieldVersion); got != version {
					t.Errorf("card %d: VERSION %q", i+1, got)
				}
				n := card.Name()
				if n == nil {
					t.Fatalf("card %d: no N", i+1)
				}
				// go-vcard does not unescape "\;", so compare names without it.
				if !strings.ContainsAny(cs[i].Surname+cs[i].Name, ";,") &&
					(n.FamilyName != cs[i].Surname || n.GivenName != cs[i].Name) {
					t.Errorf("card %d: go-vcard N = %q;%q, want %q;%q", i+1, n.FamilyName, n.GivenName, cs[i].Surname, cs[i].Name)
				}
			}
		})
	}
}

func TestExportExactOutput(t *testing.T) {
	c := citizen.Citizen{
		ID: "4fbe8971-0bc3-424c-9c26-36c3e1eff6b1", CodiceFiscale: "dmbncc80m12h501x", Surname: "D'Àmbrosio",
		Name: "Niccolò", Sex: "M", BirthDate: "1980-05-12", Phone: "+39 333 1234567", Email: "n@example.it",
		PEC: "n@pec.it", Address: citizen.Address{Street: "Via Roma, 1", CAP: "00100", City: "Roma", Province: "RM", Country: "Italia"},
		Notes: "Perché; sì",
	}
	tests := []struct {
		version string
		want    string
	}{
		{"4.0", "BEGIN:VCARD\r\nVERSION:4.0\r\nPRODID:" + prodID + "\r\nKIND:individual\r\n" +
			"FN:Niccolò D'Àmbrosio\r\nN:D'Àmbrosio;Niccolò;;;\r\nGENDER:M\r\nBDAY:19800512\r\n" +
			"TEL;TYPE=cell:+39 333 1234567\r\nEMAIL:n@example.it\r\nEMAIL;TYPE=pec:n@pec.it\r\n" +
			"ADR;TYPE=home:;;Via Roma\\, 1;Roma;RM;00100;Italia\r\nX-CODICE-FISCALE:DMBNCC80M12H501X\r\n" +
			"NOTE:Perché\\; sì\r\nUID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1\r\nEND:VCARD\r\n"},
		{"3.0", "BEGIN:VCARD\r\nVERSION:3.0\r\nPRODID:" + prodID + "\r\n" +
			"FN:Niccolò D'Àmbrosio\r\nN:D'Àmbrosio;Niccolò;;;\r\nX-GENDER:M\r\nBDAY;VALUE=date:1980-05-12\r\n" +
			"TEL;TYPE=CELL:+39 333 1234567\r\nEMAIL;TYPE=INTERNET:n@example.it\r\nEMAIL;TYPE=INTERNET,pec:n@pec.it\r\n" +
			"ADR;TYPE=HOME:;;Via Roma\\, 1;Roma;RM;00100;Italia\r\nX-CODICE-FISCALE:DMBNCC80M12H501X\r\n" +
			"NOTE:Perché\\; sì\r\nUID:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1\r\nEND:VCARD\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			var buf bytes.Buffer
			if err := ExportVersion(&buf, tt.version, c); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, buf.String()); diff != "" {
				t.Errorf("output mismatch (-want +got):\n%s", diff)
			}
		})
	}
	var buf bytes.Buffer
	if err := Export(&buf, c); err != nil || !strings.Contains(buf.String(), "VERSION:4.0\r\n") {
		t.Errorf("Export does not write 4.0: %v\n%s", err, buf.String())
	}
}

func TestExportErrors(t *testing.T) {
	tests := []struct {
		name    string
		version string
		cs      []citizen.Citizen
		want    string
	}{
		{"version 2.1", "2.1", nil, "versione vCard non supportata"},
		{"no name", "4.0", []citizen.Citizen{{Surname: "Rossi"}, {ID: "x1", Phone: "333"}}, "cittadino 2 (x1): manca il nome"},
		{"bad birth date", "3.0", []citizen.Citizen{{Surname: "Rossi", Name: "Mario", BirthDate: "12/05/1980"}},
			"cittadino 1 (Rossi Mario): data di nascita non valida"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := ExportVersion(&buf, tt.version, tt.cs...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			if buf.Len() != 0 {
				t.Errorf("%d bytes written despite the error", buf.Len())
			}
		})
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, os.ErrClosed }

func TestExportWriteError(t *testing.T) {
	if err := Export(failWriter{}, citizen.Citizen{Surname: "Rossi"}); err == nil {
		t.Fatal("write error not reported")
	}
}

func TestExportNothing(t *testing.T) {
	var buf bytes.Buffer
	if err := Export(&buf); err != nil || buf.Len() != 0 {
		t.Fatalf("Export() = %v, %q", err, buf.String())
	}
}

func TestFold(t *testing.T) {
	tests := []string{
		"",
		"NOTE:short",
		"NOTE:" + strings.Repeat("a", 70),  // exactly 75 octets
		"NOTE:" + strings.Repeat("a", 71),  // 76 octets
		"NOTE:" + strings.Repeat("è", 100), // two-byte runes across boundaries
		"NOTE:" + strings.Repeat("€", 100), // three-byte runes
		"NOTE:" + strings.Repeat("😀", 50),  // four-byte runes
	}
	for _, in := range tests {
		out := fold(in)
		if !strings.HasSuffix(out, "\r\n") {
			t.Errorf("fold(%q) lacks CRLF", in)
		}
		parts := strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n")
		var joined strings.Builder
		for i, p := range parts {
			if len(p) > maxLineOctets {
				t.Errorf("fold(%q): part %d is %d octets", in, i, len(p))
			}
			if !utf8.ValidString(p) {
				t.Errorf("fold(%q): part %d splits a UTF-8 sequence", in, i)
			}
			if i > 0 {
				if !strings.HasPrefix(p, " ") {
					t.Errorf("fold(%q): part %d does not start with a space", in, i)
				}
				p = p[1:]
			}
			joined.WriteString(p)
		}
		if joined.String() != in {
			t.Errorf("unfolding fold(%q) gives %q", in, joined.String())
		}
	}
}

func TestIsMobile(t *testing.T) {
	tests := map[string]bool{
		"+39 333 1234567": true, "0039 347 1234567": true, "3331234567": true, "+39-347-5555555": true,
		"06 1234567": false, "+39 06 1234567": false, "0471 123456": false, "+44 20 7946 0958": false,
	}
	for tel, want := range tests {
		if got := isMobile(tel); got != want {
			t.Errorf("isMobile(%q) = %v, want %v", tel, got, want)
		}
	}
}
