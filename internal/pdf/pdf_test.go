package pdf

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/image/font/sfnt"
)

var testMunicipality = Municipality{
	Name:     "Città di Castello",
	Province: "PG",
	AOOName:  "Protocollo generale",
	AOOCode:  "AOO_CDC",
	Address:  "Piazza Gabriotti 1, 06012 Città di Castello",
}

var testDate = time.Date(2026, 3, 5, 9, 42, 0, 0, time.UTC) // 10:42 in Rome

const (
	sha1 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	sha2 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

func testAttachments() []Attachment {
	return []Attachment{
		{Label: "Documento d’identità", FileName: "carta_identità_fronte_retro.pdf", Size: 245_760, SHA256Hex: sha1},
		{Label: "Planimetria dell’immobile", FileName: "planimetria-via-dei-laghi-12-piano-terra-e-primo-piano-definitiva.pdf.p7m", Size: 3_355_443, SHA256Hex: sha2, Signed: true},
	}
}

func testApplicant() Person {
	return Person{
		FullName:      "Niccolò Bernardi",
		CodiceFiscale: "BRNNCL80A01C745X",
		BirthDate:     "01/01/1980",
		BirthPlace:    "Città di Castello (PG)",
		Address:       "Via XI Settembre 4, 06012 Città di Castello",
		Phone:         "+39 075 1234567",
		Email:         "niccolo.bernardi@example.it",
		PEC:           "niccolo.bernardi@pec.example.it",
	}
}

func testForm(extra int) ApplicationForm {
	f := ApplicationForm{
		Municipality:  testMunicipality,
		ProcedureName: "Richiesta di occupazione di suolo pubblico «temporanea»",
		OfficeName:    "Ufficio Tributi e Attività produttive",
		ApplicationID: "APP-2026-000123",
		Applicant:     testApplicant(),
		Delegate:      &Person{FullName: "Maria Lucia D’Amico", CodiceFiscale: "dmcmlc75b41g478z", Phone: "333 1234567"},
		Fields: []FieldValue{
			{"Indirizzo dell’occupazione", "Via dei Laghi 12, frazione Trestina"},
			{"Superficie (m²)", "18,5"},
			{"Diritti di istruttoria", "€ 16,00"},
			{"Motivazione", "Installazione di un ponteggio per il rifacimento della facciata: l’intervento è già autorizzato con SCIA n. 45/2026 e durerà circa tre settimane, salvo maltempo, nel centro della città."},
		},
		Attachments: testAttachments(),
		StampDuty:   "Marca da bollo da € 16,00 n. 01234567890123",
		Declarations: []string{
			"Il/La sottoscritto/a, consapevole delle sanzioni penali previste dall’art. 76 del DPR 445/2000 per le ipotesi di falsità in atti e dichiarazioni mendaci, dichiara ai sensi degli artt. 46 e 47 del medesimo decreto che quanto riportato nella presente domanda corrisponde al vero.",
			"Dichiara di aver preso visione dell’informativa sul trattamento dei dati personali ai sensi dell’art. 13 del Regolamento (UE) 2016/679.",
		},
		Place: "Città di Castello",
		Date:  testDate,
	}
	{
		for i := 1; i <= extra; i++ {
			f.Fields = append(f.Fields, FieldValue{
				Label: "Campo aggiuntivo n. " + strconv.Itoa(i),
				Value: strings.Repeat("Testo di prova con città, perché e più. ", i%4+1),
			})
		}
	}
	return f
}

func testReceipt(emergency bool) Receipt {
	r := Receipt{
		Municipality:   testMunicipality,
		ProtocolLabel:  "0000123/2026",
		RegisteredAt:   testDate,
		Direction:      "Entrata",
		ProcedureName:  "Richiesta di occupazione di suolo pubblico",
		Subject:        "Domanda di occupazione suolo pubblico – Niccolò Bernardi – Via dei Laghi 12",
		OfficeName:     "Ufficio Tributi e Attività produttive",
		Classification: "IV.3",
		Citizen:        testApplicant(),
		Attachments:    testAttachments(),
		Operator:       "Giulia Rossi",
		Workstation:    "DESK01",
		TermDays:       30,
		Notes:          "Consegnata copia cartacea al richiedente, residente nella città.",
	}
	if emergency {
		r.Emergency = true
		r.ProtocolLabel = "EM-DESK01/2026/0000007"
	}
	return r
}

// pdfText renders with fn into a temporary file and returns the output of
// pdftotext -layout with all whitespace runs collapsed to one space, plus
// the raw layout text.
func pdfText(t *testing.T, name string, fn func(*bytes.Buffer) error) (flat, raw string) {
	t.Helper()
	var buf bytes.Buffer
	if err := fn(&buf); err != nil {
		t.Fatalf("render: %v", err)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte("%PDF-")) {
		t.Fatalf("output is not a PDF")
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Skip("pdftotext not on PATH")
	}
	out, err := exec.Command("pdftotext", "-layout", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	raw = string(out)
	return strings.Join(strings.Fields(raw), " "), raw
}

func assertContains(t *testing.T, text string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("text does not contain %q", w)
		}
	}
}

func TestApplicationForm(t *testing.T) {
	text, _ := pdfText(t, "domanda.pdf", func(b *bytes.Buffer) error {
		return RenderApplicationForm(b, testForm(0))
	})
	assertContains(t, text,
		"Comune di Città di Castello (PG)",
		"città", "Niccolò Bernardi", "è", "€ 16,00", "«temporanea»", "dell’immobile",
		"Domanda n.", "APP-2026-000123", "Ufficio competente: Ufficio Tributi e Attività produttive",
		"Dati del richiedente", "BRNNCL80A01C745X", "niccolo.bernardi@pec.example.it",
		"Dati del delegato", "Maria Lucia D’Amico", "DMCMLC75B41G478Z",
		"Dati della domanda", "Superficie (m²)", "l’intervento è già autorizzato",
		"Allegati", "carta_identità_fronte_retro.pdf", "240,0 KB", "3,2 MB",
		"Marca da bollo da € 16,00 n. 01234567890123",
		"Dichiarazioni", "artt. 46 e 47", "Regolamento (UE) 2016/679",
		"Luogo e data", "Città di Castello, 05/03/2026", "Firma del richiedente",
		"Pagina 1 di",
	)
}

func TestApplicationFormSinglePage(t *testing.T) {
	f := testForm(0)
	f.Delegate = nil
	text, raw := pdfText(t, "domanda-breve.pdf", func(b *bytes.Buffer) error {
		return RenderApplicationForm(b, f)
	})
	assertContains(t, text, "Pagina 1 di 1", "Firma del richiedente", "Domanda n. APP-2026-000123")
	for _, bad := range []string{"Pagina 2", "Dati del delegato"} {
		if strings.Contains(text, bad) {
			t.Errorf("unexpected %q:\n%s", bad, raw)
		}
	}
}

var pageRe = regexp.MustCompile(`Pagina (\d+) di (\d+)`)

// pages splits pdftotext output into pages and checks the footers: page i
// of n must read "Pagina i di n".
func pages(t *testing.T, raw string) []string {
	t.Helper()
	pp := strings.Split(strings.TrimRight(raw, "\f\n "), "\f")
	for i, p := range pp {
		m := pageRe.FindAllStringSubmatch(p, -1)
		want := []string{strconv.Itoa(i + 1), strconv.Itoa(len(pp))}
		if len(m) != 1 || m[0][1] != want[0] || m[0][2] != want[1] {
			t.Errorf("page %d footer: got %v, want Pagina %s di %s", i+1, m, want[0], want[1])
		}
	}
	return pp
}

func TestApplicationFormMultiPage(t *testing.T) {
	for _, tc := range []struct{ extra, pages int }{{12, 2}, {30, 3}} {
		f := testForm(tc.extra)
		text, raw := pdfText(t, "domanda-lunga.pdf", func(b *bytes.Buffer) error {
			return RenderApplicationForm(b, f)
		})
		pp := pages(t, raw)
		if len(pp) != tc.pages {
			t.Fatalf("%d extra fields: %d pages, want %d", tc.extra, len(pp), tc.pages)
		}
		last := fmt.Sprintf("Pagina %d di %d", tc.pages, tc.pages)
		assertContains(t, text, "Pagina 1 di "+strconv.Itoa(tc.pages), last,
			"Campo aggiuntivo n. "+strconv.Itoa(tc.extra), "Firma del richiedente")
		for i, p := range pp {
			if !strings.Contains(p, "APP-2026-000123") {
				t.Errorf("page %d has no application ID", i+1)
			}
			if i > 0 && !strings.Contains(p, "Comune di Città di Castello (PG) – Richiesta di occupazione") {
				t.Errorf("page %d has no running head", i+1)
			}
		}
		// The signature box stays with the last declaration.
		lastPage := pp[len(pp)-1]
		if !strings.Contains(lastPage, "Firma del richiedente") || !strings.Contains(lastPage, "Regolamento") {
			t.Errorf("signature not on the page of the last declaration:\n%s", lastPage)
		}
	}
}

func TestApplicationFormVeryLongValue(t *testing.T) {
	// A single value longer than a page must be split across pages, not lost.
	f := testForm(0)
	var sb strings.Builder
	for i := range 400 {
		sb.WriteString("parola" + strconv.Itoa(i) + " ")
	}
	f.Fields = append(f.Fields, FieldValue{"Descrizione dettagliata", sb.String() + "FINE"})
	f.Delegate = nil
	text, _ := pdfText(t, "domanda-valore-lungo.pdf", func(b *bytes.Buffer) error {
		return RenderApplicationForm(b, f)
	})
	assertContains(t, text, "parola0", "parola399 FINE", "Pagina 2 di", "Firma del richiedente")
	if strings.Contains(text, "Dati del delegato") {
		t.Errorf("delegate block printed without a delegate")
	}
}

func TestReceiptDefinitive(t *testing.T) {
	text, _ := pdfText(t, "ricevuta.pdf", func(b *bytes.Buffer) error {
		return RenderReceipt(b, testReceipt(false))
	})
	assertContains(t, text,
		"Ricevuta di protocollazione", "NUMERO DI PROTOCOLLO", "0000123/2026", "05/03/2026 10:42",
		"Registrazione in entrata", "città", "Niccolò Bernardi", "BRNNCL80A01C745X",
		"Oggetto", "Ufficio Tributi e Attività produttive", "IV.3",
		"entro 30 giorni", sha1, sha2, "Impronta SHA-256", "firmato digitalmente",
		"Giulia Rossi", "DESK01", "così", "nella città", "Pagina 1 di 1",
	)
	for _, bad := range []string{"registro di emergenza", "ripristino del sistema", "art. 63"} {
		if strings.Contains(text, bad) {
			t.Errorf("definitive receipt mentions %q", bad)
		}
	}
}

func TestReceiptEmergency(t *testing.T) {
	text, _ := pdfText(t, "ricevuta-emergenza.pdf", func(b *bytes.Buffer) error {
		return RenderReceipt(b, testReceipt(true))
	})
	assertContains(t, text, EmergencyNotice, "EM-DESK01/2026/0000007", sha1, sha2,
		"05/03/2026 10:42", "registro di emergenza", "sarà comunicato", "Pagina 1 di 1")
	if strings.Contains(text, "0000123/2026") {
		t.Errorf("emergency receipt shows a definitive number")
	}
}

func TestReceiptManyAttachments(t *testing.T) {
	r := testReceipt(false)
	for i := range 25 {
		a := testAttachments()[i%2]
		a.Label += " " + strconv.Itoa(i)
		r.Attachments = append(r.Attachments, a)
	}
	text, raw := pdfText(t, "ricevuta-lunga.pdf", func(b *bytes.Buffer) error {
		return RenderReceipt(b, r)
	})
	pp := pages(t, raw)
	if len(pp) < 2 {
		t.Fatalf("27 attachments fit in %d page", len(pp))
	}
	assertContains(t, text, "Documento d’identità 24", "Planimetria dell’immobile 23", "Giulia Rossi")
	if n := strings.Count(raw, "Impronta SHA-256"); n < len(pp) {
		t.Errorf("table header should repeat on every page, found %d times in %d pages", n, len(pp))
	}
	if n := strings.Count(raw, sha2); n != 13 {
		t.Errorf("found %d full impronte %s, want 13", n, sha2)
	}
}

func TestDeterministic(t *testing.T) {
	for name, fn := range map[string]func(*bytes.Buffer) error{
		"form":    func(b *bytes.Buffer) error { return RenderApplicationForm(b, testForm(30)) },
		"receipt": func(b *bytes.Buffer) error { return RenderReceipt(b, testReceipt(true)) },
	} {
		var a, b bytes.Buffer
		if err := fn(&a); err != nil {
			t.Fatal(err)
		}
		if err := fn(&b); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Errorf("%s: two renderings of the same input differ", name)
		}
		if !bytes.Contains(a.Bytes(), []byte("D:20260305104200")) {
			t.Errorf("%s: creation date not taken from the document date", name)
		}
	}
}

func TestUnusualInput(t *testing.T) {
	// Empty documents, control characters and glyphs missing from the
	// font must not fail or panic.
	var b bytes.Buffer
	if err := RenderApplicationForm(&b, ApplicationForm{}); err != nil {
		t.Fatalf("empty form: %v", err)
	}
	b.Reset()
	if err := RenderReceipt(&b, Receipt{}); err != nil {
		t.Fatalf("empty receipt: %v", err)
	}
	b.Reset()
	f := testForm(0)
	f.Fields = append(f.Fields, FieldValue{"Strano\x00\t", "emoji 😀, 漢字, tab\there\r\nnuova riga, " + strings.Repeat("x", 500)})
	if err := RenderApplicationForm(&b, f); err != nil {
		t.Fatalf("unusual text: %v", err)
	}
}

func TestDates(t *testing.T) {
	summer := time.Date(2026, 7, 31, 22, 30, 0, 0, time.UTC)
	if got := dateTimeIT(summer); got != "01/08/2026 00:30" {
		t.Errorf("dateTimeIT = %q", got)
	}
	if got := dateIT(testDate); got != "05/03/2026" {
		t.Errorf("dateIT = %q", got)
	}
	if got := sizeIT(812); got != "812 byte" {
		t.Errorf("sizeIT = %q", got)
	}
}

// TestSingleEngineImport enforces that the PDF library is imported by one
// non-test file only, so that replacing it is a one-file change.
func TestSingleEngineImport(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var importers []string
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if p == "github.com/jung-kurt/gofpdf" || strings.HasPrefix(p, "github.com/jung-kurt/gofpdf/") ||
				p == "codeberg.org/go-pdf/fpdf" || strings.HasPrefix(p, "codeberg.org/go-pdf/fpdf/") {
				importers = append(importers, name)
			}
		}
	}
	if len(importers) != 1 {
		t.Fatalf("PDF library imported by %v, want exactly one file", importers)
	}
}

func TestPrintable(t *testing.T) {
	// Every character the package itself prints, and common Italian text,
	// must be drawable.
	for _, r := range "àèéìòùÀÈÉÌÒÙ€«»’‘“”•–—…²·°ªº§ÄÖÜäöüßçÇñÑ" {
		if !covered(r) {
			t.Errorf("%q (%U) not covered by the embedded fonts", r, r)
		}
	}
	for in, want := range map[string]string{
		"Niccolò € 16,00": "Niccolò € 16,00",
		"Nguyễn":          "Nguyen",
		"emoji 😀":         "emoji ?",
		"a\x00b\u200bc":   "abc",
	} {
		if got := printable(in); got != want {
			t.Errorf("printable(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFontSourcesUntouched(t *testing.T) {
	// gofpdf writes into the font slice it is given; the shared embedded
	// fonts must never be handed to it directly.
	before := make([]string, len(fontSources))
	for i, src := range fontSources {
		before[i] = fmt.Sprintf("%x", sha256.Sum256(src))
	}
	var b bytes.Buffer
	if err := RenderReceipt(&b, testReceipt(true)); err != nil {
		t.Fatal(err)
	}
	if err := RenderApplicationForm(&b, testForm(30)); err != nil {
		t.Fatal(err)
	}
	for i, src := range fontSources {
		if got := fmt.Sprintf("%x", sha256.Sum256(src)); got != before[i] {
			t.Errorf("font %d modified by rendering", i)
		}
	}
	// fullHMetrics keeps every glyph's metrics.
	for i, src := range fontSources {
		out, err := fullHMetrics(src)
		if err != nil {
			t.Fatalf("font %d: %v", i, err)
		}
		a, err1 := sfnt.Parse(src)
		b, err2 := sfnt.Parse(out)
		if err1 != nil || err2 != nil {
			t.Fatalf("font %d: parse: %v %v", i, err1, err2)
		}
		var buf sfnt.Buffer
		for _, r := range "aW0€è" {
			ga, _ := a.GlyphIndex(&buf, r)
			gb, _ := b.GlyphIndex(&buf, r)
			wa, _ := a.GlyphAdvance(&buf, ga, 1000, 0)
			wb, _ := b.GlyphAdvance(&buf, gb, 1000, 0)
			if ga != gb || wa != wb {
				t.Errorf("font %d rune %q: glyph %d/%d advance %v/%v", i, r, ga, gb, wa, wb)
			}
		}
	}
}

func BenchmarkReceipt(b *testing.B) {
	r := testReceipt(false)
	for b.Loop() {
		if err := RenderReceipt(io.Discard, r); err != nil {
			b.Fatal(err)
		}
	}
}

func TestConcurrentRendering(t *testing.T) {
	var want bytes.Buffer
	if err := RenderReceipt(&want, testReceipt(false)); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			var b bytes.Buffer
			err := RenderReceipt(&b, testReceipt(false))
			if err == nil && !bytes.Equal(b.Bytes(), want.Bytes()) {
				err = fmt.Errorf("concurrent rendering differs")
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
