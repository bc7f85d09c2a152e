package vcard

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/text/encoding/charmap"
	xunicode "golang.org/x/text/encoding/unicode"

	"sportello/internal/citizen"
)

func importFile(t *testing.T, name string) ([]citizen.Citizen, error) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return Import(f)
}

func TestImportSamples(t *testing.T) {
	tests := []struct {
		file string
		want []citizen.Citizen
	}{
		{
			file: "outlook21.vcf",
			want: []citizen.Citizen{
				{
					CodiceFiscale: "DMBNCC80M12H501X",
					Surname:       "D'Àmbrosio",
					Name:          "Niccolò",
					Sex:           "M",
					BirthDate:     "1980-05-12",
					Phone:         "+39 333 1234567",
					Email:         "niccolo.dambrosio@example.it",
					Address: citizen.Address{
						Street: "Via dei Cappuccini, 12 Scala B", CAP: "06012",
						City: "Città di Castello", Province: "PG", Country: "Italia",
					},
					Notes: "Perché ha chiesto il cambio di residenza.\nCF: DMB NCC 80M12 H501 X\n" +
						"Seconda riga della nota, molto lunga, che continua anche dopo il ritorno a capo.",
				},
				{
					Surname: "Müller", Name: "Zoë", Sex: "F", Phone: "0471 123456",
					Email: "zoe.mueller@example.com", Notes: "Perché no?",
				},
			},
		},
		{
			file: "android21.vcf",
			want: []citizen.Citizen{
				{
					CodiceFiscale: "MLLZOE85T45A952Q",
					Surname:       "Müller",
					Name:          "Zoë",
					BirthDate:     "1985-12-05",
					Phone:         "+393471234567",
					Email:         "zoe@example.com",
					Address: citizen.Address{
						Street: "Via Cavour 3", CAP: "39100", City: "Bolzano", Province: "BZ", Country: "Italia",
					},
					Notes: "Codice fiscale: MLLZOE85T45A952Q\nPerché preferisce il tedesco.",
				},
				{Surname: "Bianchi", Name: "Luca", Phone: "3331234567"},
			},
		},
		{
			file: "nokia21.vcf",
			want: []citizen.Citizen{
				{
					Surname: "D'Àmbrosio", Name: "Niccolò", Phone: "+39 320 1112233", Email: "niccolo@example.net",
					Address: citizen.Address{
						Street: "Via Piè di Costa 2", CAP: "47121", City: "Forlì", Province: "FC", Country: "Italia",
					},
				},
				{Surname: "Perché", Name: "José", Notes: "Nota scritta da un programma che va a capo."},
			},
		},
		{
			file: "apple30.vcf",
			want: []citizen.Citizen{
				{
					CodiceFiscale: "DMBNCC79B28H501Z",
					Surname:       "D'Àmbrosio",
					Name:          "Niccolò",
					BirthDate:     "1979-02-28",
					Phone:         "+39 347 765 4321",
					Email:         "niccolo@example.it",
					PEC:           "niccolo.dambrosio@pec.it",
					Address: citizen.Address{
						Street: "Via della Conciliazione 44 Interno 7", CAP: "00193",
						City: "Roma", Province: "RM", Country: "Italia",
					},
					Notes: "Perché il cliente preferisce la PEC, annotato allo sportello.\nSecondo paragrafo.",
				},
				// N is empty: the name comes from FN; the birthday has no year.
				{Surname: "Sì", Name: "Perché", Email: "casa@example.it"},
				// The third card is a group and is skipped.
			},
		},
		{
			file: "v40.vcf",
			want: []citizen.Citizen{
				{
					CodiceFiscale: "MLLZNA90A41A952K",
					Surname:       "Müller",
					Name:          "Zoë Anna",
					Sex:           "F",
					BirthDate:     "1990-01-01",
					Phone:         "+39-347-5555555",
					Email:         "zoe.mueller@example.com",
					PEC:           "zoe.mueller@pec.example.it",
					Address: citizen.Address{
						Street: "Via Dante 5, int. 2", CAP: "39100", City: "Bolzano", Province: "BZ", Country: "Italia",
					},
					Notes: "Riga uno\nRiga due con virgola, punto e virgola; e barra \\ fine.",
				},
				{CodiceFiscale: "RSSMRA80A01H501U", Surname: "Rossi", Name: "Mario", Sex: "M", Notes: "CF: RSSMRA80A01H501U"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := importFile(t, tt.file)
			if err != nil {
				t.Fatalf("Import: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Import mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestImportTolerance covers the quirks of real files one at a time. Every
// input is a single card; want is the citizen it must produce.
func TestImportTolerance(t *testing.T) {
	const base = "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Rossi;Mario;;;\r\nFN:Mario Rossi\r\nEND:VCARD\r\n"
	mario := citizen.Citizen{Surname: "Rossi", Name: "Mario"}
	cp1252 := func(s string) string {
		b, err := charmap.Windows1252.NewEncoder().String(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	utf16 := func(s string, e xunicode.Endianness, bom xunicode.BOMPolicy) string {
		b, err := xunicode.UTF16(e, bom).NewEncoder().String(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name string
		in   string
		want []citizen.Citizen
	}{
		{"CRLF", base, []citizen.Citizen{mario}},
		{"LF", strings.ReplaceAll(base, "\r\n", "\n"), []citizen.Citizen{mario}},
		{"bare CR", strings.ReplaceAll(base, "\r\n", "\r"), []citizen.Citizen{mario}},
		{"no final newline", strings.TrimSuffix(base, "\r\n"), []citizen.Citizen{mario}},
		{"UTF-8 BOM", "\uFEFF" + base, []citizen.Citizen{mario}},
		{"BOM on every concatenated file", "\uFEFF" + base + "\uFEFF" + base, []citizen.Citizen{mario, mario}},
		{"UTF-16LE with BOM", utf16(base, xunicode.LittleEndian, xunicode.UseBOM), []citizen.Citizen{mario}},
		{"UTF-16BE with BOM", utf16(base, xunicode.BigEndian, xunicode.UseBOM), []citizen.Citizen{mario}},
		{"UTF-16LE without BOM", utf16(base, xunicode.LittleEndian, xunicode.IgnoreBOM), []citizen.Citizen{mario}},
		{"blank lines and DOS EOF marker", "\r\n\r\n" + base + "\r\n  \r\n" + base + "\x1a", []citizen.Citizen{mario, mario}},
		{"lower-case names and missing VERSION", "begin:vcard\nn:Rossi;Mario\nend:vcard\n", []citizen.Citizen{mario}},
		{
			"folded line with tab",
			"BEGIN:VCARD\nVERSION:3.0\nN:Rossi;Mar\n\tio;;;\nEND:VCARD\n",
			[]citizen.Citizen{mario},
		},
		{
			"folded parameters",
			"BEGIN:VCARD\nVERSION:3.0\nN:Rossi;Mario\nTEL;TY\n PE=CELL:333 1\n 234\nEND:VCARD\n",
			[]citizen.Citizen{{Surname: "Rossi", Name: "Mario", Phone: "333 1234"}},
		},
		{
			"FN only, given name first with particle",
			"BEGIN:VCARD\nVERSION:4.0\nFN:Maria Grazia De Luca\nEND:VCARD\n",
			[]citizen.Citizen{{Surname: "De Luca", Name: "Maria Grazia"}},
		},
		{
			"FN only, single word",
			"BEGIN:VCARD\nVERSION:3.0\nFN:Idraulico\nEND:VCARD\n",
			[]citizen.Citizen{{Surname: "Idraulico"}},
		},
		{
			"2.1 QP UTF-8 accents with soft break inside a multibyte sequence",
			"BEGIN:VCARD\nVERSION:2.1\nN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:D'=C3=80mbrosio;Niccol=C3=\n=B2\nEND:VCARD\n",
			[]citizen.Citizen{{Surname: "D'Àmbrosio", Name: "Niccolò"}},
		},
		{
			"2.1 bare QUOTED-PRINTABLE and lower-case hex",
			"BEGIN:VCARD\nVERSION:2.1\nN;QUOTED-PRINTABLE;CHARSET=ISO-8859-1:Perch=e9;Zo=eb\nEND:VCARD\n",
			[]citizen.Citizen{{Surname: "Perché", Name: "Zoë"}},
		},
		{
			"2.1 raw Windows-1252 without CHARSET",
			cp1252("BEGIN:VCARD\r\nVERSION:2.1\r\nN:D'Àmbrosio;Niccolò\r\nNOTE:Perché sì € 10\r\nEND:VCARD\r\n"),
			[]citizen.Citizen{{Surname: "D'Àmbrosio", Name: "Niccolò", Notes: "Perché sì € 10"}},
		},
		{
			"declared UTF-8 but Windows-1252 bytes",
			cp1252("BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=UTF-8:Müller;Zoë\r\nEND:VCARD\r\n"),
			[]citizen.Citizen{{Surname: "Müller", Name: "Zoë"}},
		},
		{
			"2.1 backslash kept, escaped semicolon honoured",
			"BEGIN:VCARD\nVERSION:2.1\nN:Rossi\\;Bianchi;Mario\nNOTE:C:\\new\\nota\nEND:VCARD\n",
			[]citizen.Citizen{{Surname: "Rossi;Bianchi", Name: "Mario", Notes: `C:\new\nota`}},
		},
		{
			"2.1 base64 photo lines without indentation",
			"BEGIN:VCARD\nVERSION:2.1\nN:Rossi;Mario\nPHOTO;ENCODING=BASE64;TYPE=JPEG:/9j/4AAQ\nSkZJRgABAQ\nEAYABgAAD+\n\nTEL;CELL:333\nEND:VCARD\n",
			[]citizen.Citizen{{Surname: "Rossi", Name: "Mario", Phone: "333"}},
		},
		{
			"base64 text value",
			"BEGIN:VCARD\nVERSION:3.0\nN;ENCODING=b:UGVyY2jDqTtab8OrOzs7\nEND:VCARD\n",
			[]citizen.Citizen{{Surname: "Perché", Name: "Zoë"}},
		},
		{
			"X-PEC, X-GENDER words, BDAY with time, mailto",
			"BEGIN:VCARD\nVERSION:3.0\nN:Rossi;Mario\nX-GENDER:Male\nBDAY:1980-05-12T00:00:00Z\n" +
				"EMAIL:mailto:mario@example.it\nX-PEC:mario@pec.it\nEND:VCARD\n",
			[]citizen.Citizen{{Surname: "Rossi", Name: "Mario", Sex: "M", BirthDate: "1980-05-12",
				Email: "mario@example.it", PEC: "mario@pec.it"}},
		},
		{
			"fax is never the phone, voice beats pager",
			"BEGIN:VCARD\nVERSION:3.0\nN:Rossi;Mario\nTEL;TYPE=FAX;TYPE=pref:06 1\nTEL;TYPE=PAGER:06 2\nTEL;TYPE=WORK:06 3\nEND:VCARD\n",
			[]citizen.Citizen{{Surname: "Rossi", Name: "Mario", Phone: "06 3"}},
		},
		{
			"N list values and comma surname in FN",
			"BEGIN:VCARD\nVERSION:3.0\nN:Rossi,Bianchi;Maria,Luisa;;;\nEND:VCARD\n",
			[]citizen.Citizen{{Surname: "Rossi Bianchi", Name: "Maria Luisa"}},
		},
		{
			"codice fiscale in a note with label variants",
			"BEGIN:VCARD\nVERSION:3.0\nN:Rossi;Mario\nNOTE:cliente storico\\nC.F. rssmra80a01h501u nato a Roma\nEND:VCARD\n",
			[]citizen.Citizen{{Surname: "Rossi", Name: "Mario", CodiceFiscale: "RSSMRA80A01H501U",
				Notes: "cliente storico\nC.F. rssmra80a01h501u nato a Roma"}},
		},
		{
			"GENDER values other than M and F are left empty",
			"BEGIN:VCARD\nVERSION:4.0\nN:Rossi;Mario;;;\nGENDER:O;non binario\nEND:VCARD\n",
			[]citizen.Citizen{mario},
		},
		{
			"quoted parameters holding semicolons and colons",
			"BEGIN:VCARD\nVERSION:4.0\nN;SORT-AS=\"Rossi,Mario\":Rossi;Mario;;;\nX-FOO;X-A=\"a;b:c\":x\nEND:VCARD\n",
			[]citizen.Citizen{mario},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Import(strings.NewReader(tt.in))
			if err != nil {
				t.Fatalf("Import: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Import mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestImportErrors(t *testing.T) {
	tests := []struct {
		name   string
		file   string // in testdata/invalid, or
		in     string // inline content
		reason string
		card   int
		line   int
		who    string // ImportError.Name
		msg    string // exact Error(), when not empty
	}{
		{name: "missing name", file: "missing_name.vcf", reason: ReasonMissingName, card: 2, line: 14,
			msg: "Scheda 2 (riga 14): manca il nome (N o FN)"},
		{name: "missing END before next BEGIN", file: "missing_end.vcf", reason: ReasonMissingEnd, card: 1, line: 5, who: "Mario Rossi"},
		{name: "missing END at end of file", file: "missing_end_eof.vcf", reason: ReasonMissingEnd, card: 2, line: 8, who: "Anna Verdi"},
		{name: "missing BEGIN", file: "missing_begin.vcf", reason: ReasonMissingBegin, card: 2, line: 6},
		{name: "bad BDAY", file: "bad_bday.vcf", reason: ReasonBadBirthday, card: 3, line: 14, who: "Zoë Müller",
			msg: `Scheda 3 «Zoë Müller» (riga 14): data di nascita (BDAY) non valida: "1980-02-30" (formati accettati: AAAAMMGG o AAAA-MM-GG)`},
		{name: "bad quoted-printable on the continuation line", file: "bad_qp.vcf", reason: ReasonBadQP, card: 1, line: 5, who: "José Perché"},
		{name: "unsupported VERSION", file: "bad_version.vcf", reason: ReasonBadVersion, card: 2, line: 6, who: "Anna Verdi"},
		{name: "line that is not a property", file: "bad_line.vcf", reason: ReasonBadLine, card: 1, line: 5, who: "Mario Rossi"},
		{name: "unknown charset", file: "bad_charset.vcf", reason: ReasonBadCharset, card: 1, line: 3},
		{name: "not a vCard", file: "not_vcard.csv", reason: ReasonNotVCard,
			msg: "Il file non è in formato vCard (manca BEGIN:VCARD)"},
		{name: "empty file", file: "empty.vcf", reason: ReasonEmpty, msg: "Il file non contiene schede vCard"},
		{name: "only BOM and blank lines", file: "blank.vcf", reason: ReasonEmpty, msg: "Il file non contiene schede vCard"},
		{name: "binary file", in: "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", reason: ReasonNotVCard},
		{name: "only a group card", in: "BEGIN:VCARD\nVERSION:4.0\nKIND:group\nFN:Famiglia\nEND:VCARD\n", reason: ReasonEmpty},
		{name: "END of something else", in: "BEGIN:VCARD\nN:Rossi;Mario\nEND:VCALENDAR\n", reason: ReasonBadLine, card: 1, line: 3, who: "Mario Rossi"},
		{name: "garbage after the last card", in: "BEGIN:VCARD\nN:Rossi;Mario\nEND:VCARD\nciao\n", reason: ReasonMissingBegin, card: 2, line: 4},
		{name: "BDAY in another format", in: "BEGIN:VCARD\nVERSION:3.0\nN:Rossi;Mario\nBDAY:12/05/1980\nEND:VCARD\n",
			reason: ReasonBadBirthday, card: 1, line: 4, who: "Mario Rossi"},
		{name: "truncated quoted-printable", in: "BEGIN:VCARD\nVERSION:2.1\nN;ENCODING=QUOTED-PRINTABLE:Rossi;Mario=C\nEND:VCARD\n",
			reason: ReasonBadQP, card: 1, line: 3},
		{name: "invalid base64 text", in: "BEGIN:VCARD\nVERSION:3.0\nN:Rossi;Mario\nNOTE;ENCODING=b:!!!!\nEND:VCARD\n",
			reason: ReasonBadBase64, card: 1, line: 4, who: "Mario Rossi"},
		{name: "empty N and FN", in: "BEGIN:VCARD\nVERSION:3.0\nN:;;;;\nFN: \nEND:VCARD\n", reason: ReasonMissingName, card: 1, line: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []citizen.Citizen
			var err error
			if tt.file != "" {
				got, err = importFile(t, filepath.Join("invalid", tt.file))
			} else {
				got, err = Import(strings.NewReader(tt.in))
			}
			if err == nil {
				t.Fatalf("Import succeeded with %d citizens, want error %s", len(got), tt.reason)
			}
			if got != nil {
				t.Errorf("Import returned %d citizens with an error, want none", len(got))
			}
			var ie *ImportError
			if !errors.As(err, &ie) {
				t.Fatalf("error %T %v is not an *ImportError", err, err)
			}
			if ie.Reason != tt.reason || ie.Card != tt.card || ie.Line != tt.line || ie.Name != tt.who {
				t.Errorf("got reason=%s card=%d line=%d name=%q, want reason=%s card=%d line=%d name=%q (%v)",
					ie.Reason, ie.Card, ie.Line, ie.Name, tt.reason, tt.card, tt.line, tt.who, err)
			}
			if tt.msg != "" && err.Error() != tt.msg {
				t.Errorf("Error() = %q, want %q", err.Error(), tt.msg)
			}
			if ie.Message == "" {
				t.Error("empty Message")
			}
		})
	}
}

func TestImportTooLarge(t *testing.T) {
	r := strings.NewReader(strings.Repeat("BEGIN:VCARD\n", MaxImportSize/12+2))
	_, err := Import(r)
	var ie *ImportError
	if !errors.As(err, &ie) || ie.Reason != ReasonTooLarge {
		t.Fatalf("err = %v, want %s", err, ReasonTooLarge)
	}
}

func TestImportReadError(t *testing.T) {
	_, err := Import(errReader{})
	var ie *ImportError
	if !errors.As(err, &ie) || ie.Reason != ReasonReadError {
		t.Fatalf("err = %v, want %s", err, ReasonReadError)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disco rimosso") }

func TestSplitFormattedName(t *testing.T) {
	tests := []struct{ fn, surname, name string }{
		{"Mario Rossi", "Rossi", "Mario"},
		{"Rossi, Mario", "Rossi", "Mario"},
		{"Niccolò D'Àmbrosio", "D'Àmbrosio", "Niccolò"},
		{"Anna Maria Della Valle", "Della Valle", "Anna Maria"},
		{"Luigi De Lo Russo", "De Lo Russo", "Luigi"},
		{"De Luca", "Luca", "De"}, // one given name is always kept
		{"Cher", "Cher", ""},
		{"Ludwig van Beethoven", "van Beethoven", "Ludwig"},
	}
	for _, tt := range tests {
		s, n := splitFormattedName(tt.fn)
		if s != tt.surname || n != tt.name {
			t.Errorf("splitFormattedName(%q) = %q, %q; want %q, %q", tt.fn, s, n, tt.surname, tt.name)
		}
	}
}

func TestCodiceFiscaleFromNotes(t *testing.T) {
	tests := []struct{ notes, want string }{
		{"CF: RSSMRA80A01H501U", "RSSMRA80A01H501U"},
		{"Codice fiscale: rss mra 80a01 h501u, residente a Roma", "RSSMRA80A01H501U"},
		{"cod. fisc. RSSMRA80A01H501U", "RSSMRA80A01H501U"},
		{"codice_fiscale=RSSMRA80A01H501U", "RSSMRA80A01H501U"},
		{"prima riga\nC.F.: RSSMRA80A01H501U", "RSSMRA80A01H501U"},
		{"CF provvisorio: 12345678901", "12345678901"},
		{"CF: 123456789012", ""},              // too many digits
		{"CF: da richiedere", ""},             // not a code
		{"cfr. pratica RSSMRA80A01H501U", ""}, // "cfr." is not a label followed by the code
		{"RSSMRA80A01H501U", ""},              // no label
		{"CF:\nRSSMRA80A01H501U", ""},         // label and code on different lines
	}
	for _, tt := range tests {
		if got := codiceFiscaleFromNotes(tt.notes); got != tt.want {
			t.Errorf("codiceFiscaleFromNotes(%q) = %q, want %q", tt.notes, got, tt.want)
		}
	}
}

func TestDecodeQPError(t *testing.T) {
	for _, in := range []string{"=G0", "abc=4", "=", "==41"} {
		if _, err := decodeQP(in); err == nil {
			t.Errorf("decodeQP(%q) succeeded, want error", in)
		}
	}
	got, err := decodeQP("Perch=E9=20s=c3=ac")
	if err != nil || !bytes.Equal(got, []byte("Perch\xe9 s\xc3\xac")) {
		t.Errorf("decodeQP = %q, %v", got, err)
	}
}
