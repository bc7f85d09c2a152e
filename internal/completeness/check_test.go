package completeness

import (
	"maps"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"sportello/internal/catalog"
	"sportello/internal/filetype"
)

const mb = 1 << 20

// sampleProcedure is a residence-change-like procedure exercising every
// field type, condition, rule and attachment option.
func sampleProcedure() catalog.Procedure {
	return catalog.Procedure{
		ID:   "cambio-residenza",
		Name: "Cambio di residenza",
		Kind: catalog.KindIstanza,
		Fields: []catalog.Field{
			{Key: "cf", Label: "Codice fiscale del richiedente", Type: catalog.CodiceFiscale, Required: true},
			{Key: "comune", Label: "Comune di provenienza", Type: catalog.Text, Required: true, MaxLength: 40},
			{Key: "titolo", Label: "Titolo di occupazione", Type: catalog.Choice, Required: true, Options: []catalog.Option{
				{Value: "proprietario", Label: "Proprietario"}, {Value: "affittuario", Label: "Affittuario"}, {Value: "ospite", Label: "Ospite"}}},
			{Key: "estremi_contratto", Label: "Estremi del contratto", Type: catalog.Text, Required: true,
				VisibleIf: &catalog.Condition{Field: "titolo", Equals: "affittuario"}},
			{Key: "registrazione", Label: "Data di registrazione", Type: catalog.Date,
				VisibleIf:  &catalog.Condition{Field: "estremi_contratto", NotEmpty: true},
				RequiredIf: &catalog.Condition{Field: "titolo", In: []string{"affittuario"}}},
			{Key: "ospitante_cf", Label: "Codice fiscale dell'ospitante", Type: catalog.CodiceFiscale,
				RequiredIf: &catalog.Condition{Field: "titolo", Equals: "ospite"}},
			{Key: "nascita", Label: "Data di nascita", Type: catalog.Date, Required: true},
			{Key: "inizio", Label: "Data inizio", Type: catalog.Date},
			{Key: "fine", Label: "Data fine", Type: catalog.Date},
			{Key: "appuntamento", Label: "Data appuntamento", Type: catalog.Date},
			{Key: "email", Label: "E-mail", Type: catalog.Email},
			{Key: "pec", Label: "PEC", Type: catalog.PEC},
			{Key: "telefono", Label: "Telefono", Type: catalog.Phone},
			{Key: "rimborso", Label: "Richiedo il rimborso", Type: catalog.Checkbox},
			{Key: "iban", Label: "IBAN", Type: catalog.IBAN, RequiredIf: &catalog.Condition{Field: "rimborso", Checked: true}},
			{Key: "cap", Label: "CAP", Type: catalog.CAP},
			{Key: "componenti", Label: "Componenti del nucleo", Type: catalog.Number, Min: ptr(1), Max: ptr(20)},
			{Key: "codice", Label: "Codice pratica", Type: catalog.Text, Pattern: `[A-Z]{2}-[0-9]{4}`, PatternHint: "due lettere maiuscole, un trattino e quattro cifre (es. AB-1234)"},
			{Key: "via", Label: "Via", Type: catalog.Text},
			{Key: "civico", Label: "Numero civico", Type: catalog.Text},
			{Key: "privacy", Label: "Ho letto l'informativa sulla privacy", Type: catalog.Checkbox, Required: true},
		},
		Rules: []catalog.Rule{
			{Kind: catalog.RuleDateOrder, Fields: []string{"inizio", "fine"}},
			{Kind: catalog.RuleAtLeastOne, Fields: []string{"email", "pec", "telefono"}},
			{Kind: catalog.RuleAllOrNone, Fields: []string{"via", "civico"}},
			{Kind: catalog.RuleNotEqual, Fields: []string{"cf", "ospitante_cf"}},
			{Kind: catalog.RuleDateNotFuture, Fields: []string{"nascita", "registrazione"}},
			{Kind: catalog.RuleDateNotPast, Fields: []string{"appuntamento"}, Message: "L'appuntamento non può essere fissato in una data già trascorsa"},
		},
		Attachments: []catalog.AttachmentReq{
			{Type: "documento_identita", Label: "Documento d'identità", Formats: []catalog.Format{catalog.FormatPDF, catalog.FormatJPEG, catalog.FormatPNG}, MaxBytes: 5 * mb, Required: true},
			{Type: "contratto", Label: "Contratto di locazione", Formats: []catalog.Format{catalog.FormatPDF}, MaxBytes: 10 * mb,
				RequiredIf: &catalog.Condition{Field: "titolo", Equals: "affittuario"}},
			{Type: "dichiarazione", Label: "Dichiarazione", Formats: []catalog.Format{catalog.FormatPDFA, catalog.FormatP7M}, MaxBytes: 5 * mb, MustBeSigned: true, Required: true},
			{Type: "planimetria", Label: "Planimetria", Formats: []catalog.Format{catalog.FormatPDF, catalog.FormatDWG}, MaxBytes: 20 * mb, Multiple: true},
		},
		StampDuty: catalog.StampDuty{Required: true, AmountCents: 1600},
	}
}

var testToday = time.Date(2025, 6, 15, 0, 0, 0, 0, time.UTC)

// completeInput satisfies sampleProcedure.
func completeInput() Input {
	return Input{
		Values: map[string]string{
			"cf":       "RSSMRA85T10A562S",
			"comune":   "Bolzano",
			"titolo":   "proprietario",
			"nascita":  "10/12/1985",
			"email":    "mario.rossi@example.it",
			"privacy":  "true",
			"rimborso": "false",
		},
		Attachments: []Attachment{
			{ID: "a1", Type: "documento_identita", FileName: "ci.jpg", Format: catalog.FormatJPEG, Size: 800 << 10},
			{ID: "a2", Type: "dichiarazione", FileName: "dichiarazione.pdf", Format: catalog.FormatPDFA, Size: 100 << 10, Signature: filetype.SignaturePAdES},
		},
		StampDutyIDs: []string{"01234567890123"},
		Today:        testToday,
	}
}

func TestCheckComplete(t *testing.T) {
	p := sampleProcedure()
	in := completeInput()
	if got := Check(p, in); len(got) != 0 {
		t.Fatalf("Check = %v, want no problem", got)
	}
	if !Complete(p, in) {
		t.Error("Complete = false")
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Input)
		proc   func(*catalog.Procedure)
		want   []Problem
	}{
		{
			name:   "required text",
			modify: func(in *Input) { in.Values["comune"] = "   " },
			want:   []Problem{{Field: "comune", Code: CodeRequired, Message: `Il campo "Comune di provenienza" è obbligatorio`}},
		},
		{
			name:   "required checkbox unticked",
			modify: func(in *Input) { in.Values["privacy"] = "false" },
			want:   []Problem{{Field: "privacy", Code: CodeRequired, Message: `Il campo "Ho letto l'informativa sulla privacy" deve essere selezionato`}},
		},
		{
			name:   "required checkbox missing",
			modify: func(in *Input) { delete(in.Values, "privacy") },
			want:   []Problem{{Field: "privacy", Code: CodeRequired, Message: `Il campo "Ho letto l'informativa sulla privacy" deve essere selezionato`}},
		},
		{
			name:   "required checkbox with garbage",
			modify: func(in *Input) { in.Values["privacy"] = "yes" },
			want:   []Problem{{Field: "privacy", Code: CodeFormat, Message: `Il campo "Ho letto l'informativa sulla privacy" non è valido: valore di spunta non riconosciuto (ammessi "true" o "false")`}},
		},
		{
			name:   "format codice fiscale",
			modify: func(in *Input) { in.Values["cf"] = "RSSMRA85T10A562X" },
			want:   []Problem{{Field: "cf", Code: CodeFormat, Message: `Il campo "Codice fiscale del richiedente" non è valido: carattere di controllo errato`}},
		},
		{
			name:   "max length",
			modify: func(in *Input) { in.Values["comune"] = "San Giovanni in Persiceto di Sopra e di Sotto" },
			want:   []Problem{{Field: "comune", Code: CodeMaxLength, Message: `Il campo "Comune di provenienza" supera la lunghezza massima di 40 caratteri (ne ha 45)`}},
		},
		{
			name:   "option",
			modify: func(in *Input) { in.Values["titolo"] = "usufruttuario" },
			want:   []Problem{{Field: "titolo", Code: CodeOption, Message: `Il campo "Titolo di occupazione" ha un valore non ammesso ("usufruttuario"): scegliere tra "Proprietario", "Affittuario" e "Ospite"`}},
		},
		{
			name:   "pattern",
			modify: func(in *Input) { in.Values["codice"] = "ab-1234" },
			want:   []Problem{{Field: "codice", Code: CodePattern, Message: `Il campo "Codice pratica" non è nel formato richiesto: due lettere maiuscole, un trattino e quattro cifre (es. AB-1234)`}},
		},
		{
			name:   "min",
			modify: func(in *Input) { in.Values["componenti"] = "0" },
			want:   []Problem{{Field: "componenti", Code: CodeMin, Message: `Il campo "Componenti del nucleo" non può essere inferiore a 1`}},
		},
		{
			name:   "max",
			modify: func(in *Input) { in.Values["componenti"] = "20,5" },
			want:   []Problem{{Field: "componenti", Code: CodeMax, Message: `Il campo "Componenti del nucleo" non può essere superiore a 20`}},
		},
		{
			name:   "iban required if checked",
			modify: func(in *Input) { in.Values["rimborso"] = "true" },
			want:   []Problem{{Field: "iban", Code: CodeRequired, Message: `Il campo "IBAN" è obbligatorio`}},
		},
		{
			name: "iban invalid",
			modify: func(in *Input) {
				in.Values["rimborso"] = "true"
				in.Values["iban"] = "IT60X0542811101000000123457"
			},
			want: []Problem{{Field: "iban", Code: CodeFormat, Message: `Il campo "IBAN" non è valido: cifra di controllo errata`}},
		},
		{
			name: "optional field filled is still validated",
			modify: func(in *Input) {
				in.Values["cap"] = "3910"
				in.Values["telefono"] = "12"
			},
			want: []Problem{
				{Field: "telefono", Code: CodeFormat, Message: `Il campo "Telefono" non è valido: un numero italiano deve iniziare con 0 (fisso) o 3 (cellulare)`},
				{Field: "cap", Code: CodeFormat, Message: `Il campo "CAP" non è valido: il CAP deve essere di 5 cifre`},
			},
		},
		{
			name: "hidden field skipped even if filled with garbage",
			modify: func(in *Input) {
				in.Values["estremi_contratto"] = "x"
				in.Values["registrazione"] = "31/04/2025"
			},
		},
		{
			name:   "visible required field",
			modify: func(in *Input) { in.Values["titolo"] = "affittuario" },
			want: []Problem{
				{Field: "estremi_contratto", Code: CodeRequired, Message: `Il campo "Estremi del contratto" è obbligatorio`},
				{Attachment: "contratto", Code: CodeAttachmentMissing, Message: `Manca l'allegato obbligatorio "Contratto di locazione"`},
			},
		},
		{
			name: "chained visibility and required if",
			modify: func(in *Input) {
				in.Values["titolo"] = "affittuario"
				in.Values["estremi_contratto"] = "Serie 3T n. 1234"
				in.Attachments = append(in.Attachments, Attachment{ID: "a3", Type: "contratto", FileName: "contratto.pdf", Format: catalog.FormatPDF, Size: mb})
			},
			want: []Problem{{Field: "registrazione", Code: CodeRequired, Message: `Il campo "Data di registrazione" è obbligatorio`}},
		},
		{
			name: "hidden field value does not count in conditions",
			modify: func(in *Input) {
				// estremi_contratto is hidden (titolo is not affittuario), so
				// registrazione is hidden too, and its value is ignored.
				in.Values["estremi_contratto"] = "Serie 3T n. 1234"
				in.Values["registrazione"] = "2099-01-01"
			},
		},
		{
			name: "required if equals",
			modify: func(in *Input) {
				in.Values["titolo"] = "ospite"
			},
			want: []Problem{{Field: "ospitante_cf", Code: CodeRequired, Message: `Il campo "Codice fiscale dell'ospitante" è obbligatorio`}},
		},
		{
			name: "rule date order",
			modify: func(in *Input) {
				in.Values["inizio"] = "2025-03-02"
				in.Values["fine"] = "01/03/2025"
			},
			want: []Problem{{Field: "inizio", Code: CodeRule, Message: `La data "Data inizio" non può essere successiva alla data "Data fine"`}},
		},
		{
			name: "rule date order equal dates fine",
			modify: func(in *Input) {
				in.Values["inizio"] = "2025-03-01"
				in.Values["fine"] = "1/3/2025"
			},
		},
		{
			name: "rule date order skipped when a date is invalid",
			modify: func(in *Input) {
				in.Values["inizio"] = "2025-03-02"
				in.Values["fine"] = "32/01/2025"
			},
			want: []Problem{{Field: "fine", Code: CodeFormat, Message: `Il campo "Data fine" non è valido: il giorno 32 non esiste in gennaio 2025`}},
		},
		{
			name: "rule at least one",
			modify: func(in *Input) {
				delete(in.Values, "email")
			},
			want: []Problem{{Field: "email", Code: CodeRule, Message: `Compilare almeno uno dei campi "E-mail", "PEC" e "Telefono"`}},
		},
		{
			name: "rule at least one satisfied by another",
			modify: func(in *Input) {
				delete(in.Values, "email")
				in.Values["telefono"] = "333 1234567"
			},
		},
		{
			name:   "rule all or none",
			modify: func(in *Input) { in.Values["via"] = "Via Roma" },
			want:   []Problem{{Field: "civico", Code: CodeRule, Message: `I campi "Via" e "Numero civico" vanno compilati tutti oppure nessuno: manca "Numero civico"`}},
		},
		{
			name: "rule all or none complete",
			modify: func(in *Input) {
				in.Values["via"] = "Via Roma"
				in.Values["civico"] = "1"
			},
		},
		{
			name: "rule not equal ignores case and spaces",
			modify: func(in *Input) {
				in.Values["titolo"] = "ospite"
				in.Values["ospitante_cf"] = "rssmra85t10a562s "
			},
			want: []Problem{{Field: "ospitante_cf", Code: CodeRule, Message: `I campi "Codice fiscale del richiedente" e "Codice fiscale dell'ospitante" non possono avere lo stesso valore`}},
		},
		{
			name: "rule not equal different",
			modify: func(in *Input) {
				in.Values["titolo"] = "ospite"
				in.Values["ospitante_cf"] = "MRTMTT91D08F205J"
			},
		},
		{
			name:   "rule date not future",
			modify: func(in *Input) { in.Values["nascita"] = "16/06/2025" },
			want:   []Problem{{Field: "nascita", Code: CodeRule, Message: `La data "Data di nascita" non può essere nel futuro`}},
		},
		{
			name:   "rule date not future today is fine",
			modify: func(in *Input) { in.Values["nascita"] = "15/06/2025" },
		},
		{
			name:   "rule date not past with custom message",
			modify: func(in *Input) { in.Values["appuntamento"] = "2025-06-14" },
			want:   []Problem{{Field: "appuntamento", Code: CodeRule, Message: "L'appuntamento non può essere fissato in una data già trascorsa"}},
		},
		{
			name:   "rule date not past today is fine",
			modify: func(in *Input) { in.Values["appuntamento"] = "2025-06-15" },
		},
		{
			name:   "attachment missing",
			modify: func(in *Input) { in.Attachments = in.Attachments[1:] },
			want:   []Problem{{Attachment: "documento_identita", Code: CodeAttachmentMissing, Message: `Manca l'allegato obbligatorio "Documento d'identità"`}},
		},
		{
			name: "attachment format wrong",
			modify: func(in *Input) {
				in.Values["titolo"] = "affittuario"
				in.Values["estremi_contratto"] = "Serie 3T n. 1234"
				in.Values["registrazione"] = "2024-01-10"
				// Named .pdf but detected as JPEG by content.
				in.Attachments = append(in.Attachments, Attachment{ID: "a3", Type: "contratto", FileName: "contratto.pdf", Format: catalog.FormatJPEG, Size: mb})
			},
			want: []Problem{{Attachment: "a3", Code: CodeAttachmentFormat, Message: `L'allegato "contratto.pdf" (Contratto di locazione) non è in un formato ammesso: è JPEG, ammessi PDF`}},
		},
		{
			name: "attachment pdfa accepted where pdf is",
			modify: func(in *Input) {
				in.Attachments[0].Format = catalog.FormatPDFA
			},
		},
		{
			name: "attachment plain pdf where only pdfa",
			modify: func(in *Input) {
				in.Attachments[1].Format = catalog.FormatPDF
			},
			want: []Problem{{Attachment: "a2", Code: CodeAttachmentFormat, Message: `L'allegato "dichiarazione.pdf" (Dichiarazione) non è in un formato ammesso: è PDF ma non PDF/A, ammessi PDF/A, P7M (firma CAdES)`}},
		},
		{
			name: "attachment p7m accepted and signed",
			modify: func(in *Input) {
				in.Attachments[1] = Attachment{ID: "a2", Type: "dichiarazione", FileName: "dichiarazione.pdf.p7m", Format: catalog.FormatP7M, Size: 200 << 10, Signature: filetype.SignatureCAdES}
			},
		},
		{
			name: "attachment format unknown",
			modify: func(in *Input) {
				in.Attachments[0].Format = ""
			},
			want: []Problem{{Attachment: "a1", Code: CodeAttachmentFormat, Message: `L'allegato "ci.jpg" (Documento d'identità) non è in un formato riconosciuto: ammessi PDF, JPEG, PNG`}},
		},
		{
			name: "attachment size",
			modify: func(in *Input) {
				in.Attachments[0].Size = 12897485
			},
			want: []Problem{{Attachment: "a1", Code: CodeAttachmentSize, Message: `L'allegato "ci.jpg" (Documento d'identità) supera il limite di 5 MB (12,3 MB)`}},
		},
		{
			name: "attachment size at the limit is fine",
			modify: func(in *Input) {
				in.Attachments[0].Size = 5 * mb
			},
		},
		{
			name: "attachment signature missing",
			modify: func(in *Input) {
				in.Attachments[1].Signature = ""
				in.Attachments[1].FileName = ""
			},
			want: []Problem{{Attachment: "a2", Code: CodeAttachmentSignature, Message: `L'allegato "Dichiarazione" deve essere firmato: firma digitale non rilevata e firma autografa non dichiarata`}},
		},
		{
			name: "attachment signature declared handwritten",
			modify: func(in *Input) {
				in.Attachments[1].Signature = ""
				in.Attachments[1].DeclaredSigned = true
			},
		},
		{
			name: "attachment multiple not allowed",
			modify: func(in *Input) {
				in.Attachments = append(in.Attachments, Attachment{ID: "a3", Type: "documento_identita", FileName: "retro.png", Format: catalog.FormatPNG, Size: 10})
			},
			want: []Problem{{Attachment: "documento_identita", Code: CodeAttachmentMultiple, Message: `È ammesso un solo allegato "Documento d'identità": ne sono stati indicati 2`}},
		},
		{
			name: "attachment multiple allowed",
			modify: func(in *Input) {
				in.Attachments = append(in.Attachments,
					Attachment{ID: "p1", Type: "planimetria", FileName: "piano1.dwg", Format: catalog.FormatDWG, Size: mb},
					Attachment{ID: "p2", Type: "planimetria", FileName: "piano2.pdf", Format: catalog.FormatPDF, Size: mb})
			},
		},
		{
			name: "attachment unexpected",
			modify: func(in *Input) {
				in.Attachments = append(in.Attachments, Attachment{ID: "x1", Type: "foto", FileName: "gatto.png", Format: catalog.FormatPNG, Size: 10})
			},
			want: []Problem{{Attachment: "x1", Code: CodeAttachmentUnexpected, Message: `L'allegato "gatto.png" non è previsto per questa pratica (tipo "foto")`}},
		},
		{
			name:   "stamp duty missing",
			modify: func(in *Input) { in.StampDutyIDs = nil },
			want:   []Problem{{Code: CodeStampDutyMissing, Message: "Manca l'identificativo della marca da bollo (14 cifre)"}},
		},
		{
			name:   "stamp duty blank entries ignored",
			modify: func(in *Input) { in.StampDutyIDs = []string{"", "  ", "0123 4567 8901 23"} },
		},
		{
			name:   "stamp duty format",
			modify: func(in *Input) { in.StampDutyIDs = []string{"123"} },
			want: []Problem{
				{Code: CodeStampDutyFormat, Message: `L'identificativo della marca da bollo "123" non è valido: deve essere di 14 cifre`},
				{Code: CodeStampDutyMissing, Message: "Manca l'identificativo della marca da bollo (14 cifre)"},
			},
		},
		{
			name:   "stamp duty duplicate",
			modify: func(in *Input) { in.StampDutyIDs = []string{"01234567890123", "0123456789 0123"} },
			proc:   func(p *catalog.Procedure) { p.StampDuty.Count = 2 },
			want: []Problem{
				{Code: CodeStampDutyDuplicate, Message: `L'identificativo della marca da bollo "01234567890123" è ripetuto: ogni marca va indicata una sola volta`},
				{Code: CodeStampDutyMissing, Message: "Servono 2 marche da bollo: manca 1 identificativo (14 cifre)"},
			},
		},
		{
			name:   "stamp duty count",
			modify: func(in *Input) { in.StampDutyIDs = []string{"01234567890123"} },
			proc:   func(p *catalog.Procedure) { p.StampDuty.Count = 3 },
			want:   []Problem{{Code: CodeStampDutyMissing, Message: "Servono 3 marche da bollo: mancano 2 identificativi (14 cifre ciascuno)"}},
		},
		{
			name:   "stamp duty count satisfied",
			modify: func(in *Input) { in.StampDutyIDs = []string{"01234567890123", "01234567890124"} },
			proc:   func(p *catalog.Procedure) { p.StampDuty.Count = 2 },
		},
		{
			name:   "stamp duty not required but ids still checked",
			modify: func(in *Input) { in.StampDutyIDs = []string{"abc"} },
			proc:   func(p *catalog.Procedure) { p.StampDuty = catalog.StampDuty{} },
			want:   []Problem{{Code: CodeStampDutyFormat, Message: `L'identificativo della marca da bollo "abc" non è valido: deve essere di 14 cifre`}},
		},
		{
			name:   "stamp duty not required",
			modify: func(in *Input) { in.StampDutyIDs = nil },
			proc:   func(p *catalog.Procedure) { p.StampDuty = catalog.StampDuty{} },
		},
		{
			name:   "values of unknown fields ignored",
			modify: func(in *Input) { in.Values["sconosciuto"] = "???" },
		},
		{
			name: "rule message used for at least one",
			modify: func(in *Input) {
				delete(in.Values, "email")
			},
			proc: func(p *catalog.Procedure) {
				p.Rules[1].Message = "Indicare almeno un recapito"
			},
			want: []Problem{{Field: "email", Code: CodeRule, Message: "Indicare almeno un recapito"}},
		},
		{
			name: "unknown rule kind and short rules ignored",
			proc: func(p *catalog.Procedure) {
				p.Rules = append(p.Rules,
					catalog.Rule{Kind: "boh", Fields: []string{"cf"}},
					catalog.Rule{Kind: catalog.RuleDateOrder, Fields: []string{"inizio"}},
					catalog.Rule{Kind: catalog.RuleNotEqual, Fields: []string{"cf"}},
					catalog.Rule{Kind: catalog.RuleAtLeastOne})
			},
		},
		{
			name: "rule on unknown field uses the key",
			proc: func(p *catalog.Procedure) {
				p.Rules = append(p.Rules, catalog.Rule{Kind: catalog.RuleAtLeastOne, Fields: []string{"fax"}})
			},
			want: []Problem{{Field: "fax", Code: CodeRule, Message: `Il campo "fax" è obbligatorio`}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := sampleProcedure()
			if tt.proc != nil {
				tt.proc(&p)
			}
			in := completeInput()
			if tt.modify != nil {
				tt.modify(&in)
			}
			got := Check(p, in)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Check mismatch (-want +got):\n%s", diff)
			}
			if Complete(p, in) != (len(tt.want) == 0) {
				t.Errorf("Complete = %v with %d problems", Complete(p, in), len(tt.want))
			}
		})
	}
}

// TestCheckOrder checks the documented order with many problems at once:
// fields in schema order, then rules, then attachments in schema order
// (unknown types last), then stamp duty.
func TestCheckOrder(t *testing.T) {
	p := sampleProcedure()
	in := Input{
		Values: map[string]string{
			"titolo":   "affittuario",
			"nascita":  "2030-01-01",
			"inizio":   "2025-02-01",
			"fine":     "2025-01-01",
			"via":      "Via Roma",
			"rimborso": "true",
			"iban":     "GB82WEST12345698765432",
			"cap":      "x",
		},
		Attachments: []Attachment{
			{ID: "z", Type: "ignoto", FileName: "z.txt", Format: catalog.FormatTXT, Size: 1},
			{ID: "p1", Type: "planimetria", FileName: "p.zip", Format: catalog.FormatZIP, Size: 30 * mb},
			{ID: "d1", Type: "dichiarazione", FileName: "d.pdf", Format: catalog.FormatPDFA, Size: 1},
		},
		StampDutyIDs: []string{"1"},
		Today:        testToday,
	}
	want := []Problem{
		{Field: "cf", Code: CodeRequired, Message: `Il campo "Codice fiscale del richiedente" è obbligatorio`},
		{Field: "comune", Code: CodeRequired, Message: `Il campo "Comune di provenienza" è obbligatorio`},
		{Field: "estremi_contratto", Code: CodeRequired, Message: `Il campo "Estremi del contratto" è obbligatorio`},
		{Field: "cap", Code: CodeFormat, Message: `Il campo "CAP" non è valido: il CAP deve essere di 5 cifre`},
		{Field: "privacy", Code: CodeRequired, Message: `Il campo "Ho letto l'informativa sulla privacy" deve essere selezionato`},
		{Field: "inizio", Code: CodeRule, Message: `La data "Data inizio" non può essere successiva alla data "Data fine"`},
		{Field: "email", Code: CodeRule, Message: `Compilare almeno uno dei campi "E-mail", "PEC" e "Telefono"`},
		{Field: "civico", Code: CodeRule, Message: `I campi "Via" e "Numero civico" vanno compilati tutti oppure nessuno: manca "Numero civico"`},
		{Field: "nascita", Code: CodeRule, Message: `La data "Data di nascita" non può essere nel futuro`},
		{Attachment: "documento_identita", Code: CodeAttachmentMissing, Message: `Manca l'allegato obbligatorio "Documento d'identità"`},
		{Attachment: "contratto", Code: CodeAttachmentMissing, Message: `Manca l'allegato obbligatorio "Contratto di locazione"`},
		{Attachment: "d1", Code: CodeAttachmentSignature, Message: `L'allegato "d.pdf" (Dichiarazione) deve essere firmato: firma digitale non rilevata e firma autografa non dichiarata`},
		{Attachment: "p1", Code: CodeAttachmentFormat, Message: `L'allegato "p.zip" (Planimetria) non è in un formato ammesso: è ZIP, ammessi PDF, DWG`},
		{Attachment: "p1", Code: CodeAttachmentSize, Message: `L'allegato "p.zip" (Planimetria) supera il limite di 20 MB (30 MB)`},
		{Attachment: "z", Code: CodeAttachmentUnexpected, Message: `L'allegato "z.txt" non è previsto per questa pratica (tipo "ignoto")`},
		{Code: CodeStampDutyFormat, Message: `L'identificativo della marca da bollo "1" non è valido: deve essere di 14 cifre`},
		{Code: CodeStampDutyMissing, Message: "Manca l'identificativo della marca da bollo (14 cifre)"},
	}
	for range 20 { // map iteration must not leak into the order
		got := Check(p, in)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("Check mismatch (-want +got):\n%s", diff)
		}
	}
}

func TestCheckDoesNotModifyInput(t *testing.T) {
	p := sampleProcedure()
	in := completeInput()
	in.Values["comune"] = "  Bolzano  "
	before := maps.Clone(in.Values)
	Check(p, in)
	if !maps.Equal(before, in.Values) {
		t.Error("Check modified Values")
	}
}

func TestCheckTodayDefaultsToNow(t *testing.T) {
	p := catalog.Procedure{
		Fields: []catalog.Field{{Key: "d", Label: "Data", Type: catalog.Date}},
		Rules:  []catalog.Rule{{Kind: catalog.RuleDateNotFuture, Fields: []string{"d"}}},
	}
	now := romeNow(time.Now())
	past := now.AddDate(0, 0, -2).Format(time.DateOnly)
	future := now.AddDate(0, 0, 2).Format(time.DateOnly)
	if got := Check(p, Input{Values: map[string]string{"d": past}}); len(got) != 0 {
		t.Errorf("past date: %v", got)
	}
	if got := Check(p, Input{Values: map[string]string{"d": future}}); len(got) != 1 {
		t.Errorf("future date: %v, want one problem", got)
	}
}

func TestCheckCyclicVisibility(t *testing.T) {
	// a is visible when b is filled and vice versa: a broken catalog must
	// still give a deterministic answer without looping.
	p := catalog.Procedure{Fields: []catalog.Field{
		{Key: "a", Label: "A", Type: catalog.Text, Required: true, VisibleIf: &catalog.Condition{Field: "b", NotEmpty: true}},
		{Key: "b", Label: "B", Type: catalog.Text, Required: true, VisibleIf: &catalog.Condition{Field: "a", NotEmpty: true}},
	}}
	in := Input{Values: map[string]string{"a": "x", "b": "y"}}
	first := Check(p, in)
	for range 10 {
		if diff := cmp.Diff(first, Check(p, in)); diff != "" {
			t.Fatalf("non-deterministic:\n%s", diff)
		}
	}
}

func TestEmptyProcedure(t *testing.T) {
	if got := Check(catalog.Procedure{}, Input{}); len(got) != 0 {
		t.Errorf("Check = %v", got)
	}
}
