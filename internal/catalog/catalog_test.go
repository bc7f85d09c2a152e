package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func ptr(f float64) *float64 { return &f }

// testCatalog returns a small catalog exercising every part of the format.
func testCatalog() *Catalog {
	return &Catalog{
		Format:  FormatName,
		Version: FormatVersion,
		Municipality: Municipality{
			Name: "Comune di Prova", Province: "BS", CadastralCode: "M998",
			IPACode: "c_m998", AOOCode: "c_m998", AOOName: "Comune di Prova",
			Address: "Piazza Municipio 1", PEC: "protocollo@pec.comune.prova.it",
		},
		Offices: []Office{
			{ID: "anagrafe", Name: "Servizi Demografici", Email: "anagrafe@comune.prova.it", PEC: "anagrafe@pec.comune.prova.it", Phone: "030 123456", Location: "Piano terra", Hours: "Lun–ven 9–12", Referent: "Mario Rossi"},
			{ID: "polizia-locale", Name: "Polizia Locale"},
		},
		QueueServices: []QueueService{
			{Code: "anagrafe", Prefix: "A", Name: "Anagrafe"},
			{Code: "polizia", Prefix: "P", Name: "Polizia Locale"},
		},
		Procedures: []Procedure{
			{
				ID: "cambio-residenza", Name: "Cambio di residenza", Kind: KindIstanza, Category: "Anagrafe",
				Keywords: []string{"trasferimento", "immigrazione"},
				Knowledge: Knowledge{
					Summary: "Dichiarazione di trasferimento della residenza.", Documents: "Documento d'identità.",
					Fees: "Gratuito.", Hours: "Lun–ven 9–12.", LegalBasis: "DPR 223/1989.", Notes: "Nota.",
				},
				OfficeID: "anagrafe", Classification: "XI.2",
				Fields: []Field{
					{Key: "provenienza", Label: "Provenienza", Type: Choice, Required: true, Options: []Option{{"altro_comune", "Altro comune"}, {"estero", "Estero"}}},
					{Key: "comune_provenienza", Label: "Comune di provenienza", Type: Text,
						RequiredIf: &Condition{Field: "provenienza", Equals: "altro_comune"},
						VisibleIf:  &Condition{Field: "provenienza", In: []string{"altro_comune"}}},
					{Key: "data_nascita", Label: "Data di nascita", Type: Date, Required: true, Prefill: "citizen.birth_date"},
					{Key: "data_arrivo", Label: "Data di arrivo", Type: Date},
					{Key: "componenti", Label: "Componenti", Type: Number, Min: ptr(1), Max: ptr(20)},
					{Key: "cap", Label: "CAP", Type: CAP, Pattern: "25[0-9]{3}", PatternHint: "CAP della provincia"},
					{Key: "patente", Label: "Patente", Type: Checkbox},
					{Key: "numero_patente", Label: "Numero patente", Type: Text, MaxLength: 20,
						RequiredIf: &Condition{Field: "patente", Checked: true}, VisibleIf: &Condition{Field: "patente", Checked: true}},
					{Key: "telefono", Label: "Telefono", Type: Phone, Prefill: "citizen.phone", Help: "Cellulare"},
					{Key: "email", Label: "E-mail", Type: Email, RequiredIf: &Condition{Field: "telefono", NotEmpty: true}},
				},
				Rules: []Rule{
					{Kind: RuleDateNotFuture, Fields: []string{"data_nascita"}},
					{Kind: RuleDateOrder, Fields: []string{"data_nascita", "data_arrivo"}, Message: "Arrivo prima della nascita."},
					{Kind: RuleAtLeastOne, Fields: []string{"telefono", "email"}},
				},
				Attachments: []AttachmentReq{
					{Type: "documento_identita", Label: "Documento d'identità", Formats: []Format{FormatPDF, FormatJPEG}, MaxBytes: 5 << 20, Required: true},
					{Type: "contratto", Label: "Contratto", Formats: []Format{FormatPDF}, MaxBytes: 10 << 20,
						RequiredIf: &Condition{Field: "provenienza", In: []string{"estero"}}, MustBeSigned: true, Multiple: true, Help: "Registrato"},
				},
				StampDuty: StampDuty{Required: true, AmountCents: 1600, Count: 2},
				FeeCents:  50, FeeReason: "Diritti", TermDays: 45, QueueService: "anagrafe", Active: true,
			},
			{
				ID: "carta-identita", Name: "Carta d'identità elettronica", Kind: KindIstanza, Category: "Documenti",
				Knowledge: Knowledge{Summary: "Rilascio della CIE con foto e impronte."},
				OfficeID:  "anagrafe", Fields: []Field{}, Attachments: []AttachmentReq{},
				FeeCents: 2221, QueueService: "anagrafe", Active: true,
			},
			{
				ID: "segnalazione", Name: "Segnalazione di guasti", Kind: KindSegnalazione, Category: "Segnalazioni",
				Keywords:  []string{"buca", "lampione"},
				Knowledge: Knowledge{Summary: "Guasti su strade comunali, anche relativi alla residenza."},
				OfficeID:  "polizia-locale", Fields: []Field{}, Attachments: []AttachmentReq{},
				TermDays: 30, QueueService: "polizia", Active: true,
			},
			{
				ID: "centri-estivi", Name: "Iscrizione ai centri estivi", Kind: KindIstanza, Category: "Scuola",
				Knowledge: Knowledge{Summary: "Centri estivi per la residenza estiva."},
				OfficeID:  "anagrafe", Fields: []Field{}, Attachments: []AttachmentReq{},
				QueueService: "anagrafe", Active: false,
			},
		},
	}
}

func mustJSON(t *testing.T, c *Catalog) []byte {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeValid(t *testing.T) {
	want := testCatalog()
	for _, prefix := range []string{"", "\xef\xbb\xbf"} {
		got, err := Decode(strings.NewReader(prefix + string(mustJSON(t, want))))
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Decode mismatch (-want +got):\n%s", diff)
		}
	}
}

func proc(c *Catalog) *Procedure { return &c.Procedures[0] }

func field(c *Catalog, key string) *Field {
	p := proc(c)
	for i := range p.Fields {
		if p.Fields[i].Key == key {
			return &p.Fields[i]
		}
	}
	panic("no field " + key)
}

func TestDecodeValidationErrors(t *testing.T) {
	const pr = `procedura "cambio-residenza"`
	tests := []struct {
		name   string
		mutate func(c *Catalog)
		want   string
	}{
		{"format", func(c *Catalog) { c.Format = "altro" }, `formato "altro" non riconosciuto (atteso "sportello-catalog")`},
		{"version", func(c *Catalog) { c.Version = 2 }, `versione 2 non supportata (attesa 1)`},
		{"municipality name", func(c *Catalog) { c.Municipality.Name = " " }, `comune: nome mancante`},
		{"province", func(c *Catalog) { c.Municipality.Province = "Bs" }, `comune: sigla della provincia "Bs" non valida`},
		{"cadastral code", func(c *Catalog) { c.Municipality.CadastralCode = "M99" }, `comune: codice catastale "M99" non valido`},
		{"municipality pec", func(c *Catalog) { c.Municipality.PEC = "protocollo" }, `comune: indirizzo PEC "protocollo" non valido`},
		{"office id missing", func(c *Catalog) { c.Offices[1].ID = "" }, `ufficio n. 2: identificativo mancante`},
		{"office id invalid", func(c *Catalog) { c.Offices[1].ID = "Polizia Locale" }, `ufficio "Polizia Locale": identificativo non valido`},
		{"office duplicate", func(c *Catalog) { c.Offices[1].ID = "anagrafe" }, `ufficio "anagrafe": identificativo duplicato`},
		{"office name", func(c *Catalog) { c.Offices[1].Name = "" }, `ufficio "polizia-locale": nome mancante`},
		{"office email", func(c *Catalog) { c.Offices[0].Email = "anagrafe@" }, `ufficio "anagrafe": indirizzo e-mail "anagrafe@" non valido`},
		{"queue duplicate", func(c *Catalog) { c.QueueServices[1].Code = "anagrafe" }, `servizio di coda "anagrafe": codice duplicato`},
		{"queue code missing", func(c *Catalog) { c.QueueServices[1].Code = "" }, `servizio di coda n. 2: codice mancante`},
		{"queue name", func(c *Catalog) { c.QueueServices[1].Name = "" }, `servizio di coda "polizia": nome mancante`},
		{"prefix lower", func(c *Catalog) { c.QueueServices[1].Prefix = "p" }, `servizio di coda "polizia": lettera del biglietto "p" non valida`},
		{"prefix two letters", func(c *Catalog) { c.QueueServices[1].Prefix = "PL" }, `lettera del biglietto "PL" non valida`},
		{"prefix duplicate", func(c *Catalog) { c.QueueServices[1].Prefix = "A" }, `servizio di coda "polizia": lettera del biglietto "A" già usata dal servizio "anagrafe"`},
		{"procedure id missing", func(c *Catalog) { c.Procedures[1].ID = "" }, `procedura n. 2: identificativo mancante`},
		{"procedure id invalid", func(c *Catalog) { c.Procedures[1].ID = "Carta_Identita" }, `procedura "Carta_Identita": identificativo non valido`},
		{"procedure duplicate", func(c *Catalog) { c.Procedures[1].ID = "cambio-residenza" }, pr + `: identificativo duplicato`},
		{"procedure name", func(c *Catalog) { proc(c).Name = "" }, pr + `: nome mancante`},
		{"kind unknown", func(c *Catalog) { proc(c).Kind = "domanda" }, pr + `: tipo di procedura "domanda" sconosciuto`},
		{"kind missing", func(c *Catalog) { proc(c).Kind = "" }, pr + `: tipo di procedura mancante`},
		{"category", func(c *Catalog) { proc(c).Category = "" }, pr + `: categoria mancante`},
		{"summary", func(c *Catalog) { proc(c).Knowledge.Summary = "" }, pr + `: scheda informativa: descrizione (summary) mancante`},
		{"office missing", func(c *Catalog) { proc(c).OfficeID = "" }, pr + `: ufficio competente mancante`},
		{"office unknown", func(c *Catalog) { proc(c).OfficeID = "tributi" }, pr + `: ufficio "tributi" inesistente`},
		{"queue missing", func(c *Catalog) { proc(c).QueueService = "" }, pr + `: servizio di coda mancante`},
		{"queue unknown", func(c *Catalog) { proc(c).QueueService = "tributi" }, pr + `: servizio di coda "tributi" inesistente`},
		{"classification", func(c *Catalog) { proc(c).Classification = "11.2" }, pr + `: classificazione "11.2" non valida`},
		{"term", func(c *Catalog) { proc(c).TermDays = -1 }, pr + `: termine di -1 giorni non valido`},
		{"fee", func(c *Catalog) { proc(c).FeeCents = -100 }, pr + `: importo dei diritti -100 non valido`},
		{"stamp amount negative", func(c *Catalog) { proc(c).StampDuty.AmountCents = -1600 }, pr + `: importo della marca da bollo -1600 non valido`},
		{"stamp count negative", func(c *Catalog) { proc(c).StampDuty.Count = -1 }, pr + `: numero di marche da bollo -1 non valido`},
		{"stamp without amount", func(c *Catalog) { proc(c).StampDuty.AmountCents = 0 }, pr + `: marca da bollo richiesta ma importo non indicato`},
		{"stamp amount not required", func(c *Catalog) { c.Procedures[1].StampDuty.AmountCents = 1600 }, `procedura "carta-identita": importo o numero di marche da bollo indicati ma bollo non richiesto`},
		{"field key missing", func(c *Catalog) { field(c, "cap").Key = "" }, pr + `, campo n. 6: chiave mancante`},
		{"field key invalid", func(c *Catalog) { field(c, "cap").Key = "Cap" }, pr + `, campo "Cap": chiave non valida`},
		{"field key duplicate", func(c *Catalog) { field(c, "cap").Key = "telefono" }, pr + `, campo "telefono": chiave duplicata`},
		{"field label", func(c *Catalog) { field(c, "cap").Label = "" }, pr + `, campo "cap": etichetta mancante`},
		{"field type unknown", func(c *Catalog) { field(c, "cap").Type = "zip" }, pr + `, campo "cap": tipo "zip" sconosciuto`},
		{"field type missing", func(c *Catalog) { field(c, "cap").Type = "" }, pr + `, campo "cap": tipo mancante`},
		{"choice without options", func(c *Catalog) { field(c, "provenienza").Options = nil }, pr + `, campo "provenienza": campo a scelta senza opzioni`},
		{"option duplicate", func(c *Catalog) { field(c, "provenienza").Options[1].Value = "altro_comune" }, pr + `, campo "provenienza": opzione "altro_comune" duplicata`},
		{"option value empty", func(c *Catalog) { field(c, "provenienza").Options[1].Value = "" }, pr + `, campo "provenienza": opzione n. 2 senza valore`},
		{"option label empty", func(c *Catalog) { field(c, "provenienza").Options[1].Label = "" }, pr + `, campo "provenienza": opzione n. 2 senza etichetta`},
		{"options on text", func(c *Catalog) { field(c, "cap").Options = []Option{{"a", "A"}} }, pr + `, campo "cap": opzioni ammesse solo sui campi di tipo "choice"`},
		{"min on text", func(c *Catalog) { field(c, "cap").Min = ptr(0) }, pr + `, campo "cap": min e max ammessi solo sui campi di tipo "number"`},
		{"min greater than max", func(c *Catalog) { field(c, "componenti").Min = ptr(30) }, pr + `, campo "componenti": min (30) maggiore di max (20)`},
		{"max length", func(c *Catalog) { field(c, "cap").MaxLength = -1 }, pr + `, campo "cap": lunghezza massima -1 non valida`},
		{"pattern", func(c *Catalog) { field(c, "cap").Pattern = "25[0-9" }, pr + `, campo "cap": espressione regolare "25[0-9" non valida`},
		{"prefill", func(c *Catalog) { field(c, "telefono").Prefill = "citizen.mobile" }, pr + `, campo "telefono": precompilazione "citizen.mobile" sconosciuta`},
		{"condition unknown field", func(c *Catalog) { field(c, "comune_provenienza").RequiredIf.Field = "origine" }, pr + `, campo "comune_provenienza", condizione required_if: campo "origine" inesistente nella procedura`},
		{"condition missing field", func(c *Catalog) { field(c, "comune_provenienza").VisibleIf.Field = "" }, pr + `, campo "comune_provenienza", condizione visible_if: campo di riferimento mancante`},
		{"condition self", func(c *Catalog) { field(c, "email").RequiredIf.Field = "email" }, pr + `, campo "email", condizione required_if: la condizione non può riferirsi al campo stesso`},
		{"condition empty", func(c *Catalog) { field(c, "email").RequiredIf.NotEmpty = false }, pr + `, campo "email", condizione required_if: condizione vuota`},
		{"condition ambiguous", func(c *Catalog) { field(c, "email").RequiredIf.Equals = "x" }, pr + `, campo "email", condizione required_if: condizione ambigua`},
		{"checked on non checkbox", func(c *Catalog) { field(c, "email").RequiredIf = &Condition{Field: "telefono", Checked: true} }, pr + `, campo "email", condizione required_if: checked ammesso solo su campi "checkbox", ma "telefono" è di tipo "phone"`},
		{"condition value not an option", func(c *Catalog) { field(c, "comune_provenienza").RequiredIf.Equals = "altro-comune" }, pr + `, campo "comune_provenienza", condizione required_if: valore "altro-comune" non previsto tra le opzioni del campo "provenienza"`},
		{"condition in value not an option", func(c *Catalog) { field(c, "comune_provenienza").VisibleIf.In = []string{"altro_comune", "ue"} }, `valore "ue" non previsto tra le opzioni del campo "provenienza"`},
		{"condition checkbox value", func(c *Catalog) { field(c, "numero_patente").RequiredIf = &Condition{Field: "patente", Equals: "si"} }, `valore "si" non valido per il campo checkbox "patente"`},
		{"rule kind unknown", func(c *Catalog) { proc(c).Rules[0].Kind = "date_before" }, pr + `, regola n. 1 (date_before): tipo di regola "date_before" sconosciuto`},
		{"rule kind missing", func(c *Catalog) { proc(c).Rules[0].Kind = "" }, pr + `, regola n. 1 (): tipo di regola mancante`},
		{"rule unknown field", func(c *Catalog) { proc(c).Rules[2].Fields[1] = "pec" }, pr + `, regola n. 3 (at_least_one): campo "pec" inesistente nella procedura`},
		{"rule repeated field", func(c *Catalog) { proc(c).Rules[2].Fields[1] = "telefono" }, pr + `, regola n. 3 (at_least_one): campo "telefono" ripetuto`},
		{"date_order on text", func(c *Catalog) { proc(c).Rules[1].Fields[1] = "cap" }, pr + `, regola n. 2 (date_order): il campo "cap" è di tipo "cap", serve un campo "date"`},
		{"date_order arity", func(c *Catalog) { proc(c).Rules[1].Fields = []string{"data_nascita"} }, pr + `, regola n. 2 (date_order): servono esattamente 2 campi, indicati 1`},
		{"not_equal arity", func(c *Catalog) {
			proc(c).Rules[1] = Rule{Kind: RuleNotEqual, Fields: []string{"telefono", "email", "cap"}}
		}, pr + `, regola n. 2 (not_equal): servono esattamente 2 campi, indicati 3`},
		{"at_least_one arity", func(c *Catalog) { proc(c).Rules[2].Fields = []string{"telefono"} }, pr + `, regola n. 3 (at_least_one): servono almeno 2 campi, indicati 1`},
		{"all_or_none arity", func(c *Catalog) { proc(c).Rules[2] = Rule{Kind: RuleAllOrNone} }, pr + `, regola n. 3 (all_or_none): servono almeno 2 campi, indicati 0`},
		{"date_not_past empty", func(c *Catalog) { proc(c).Rules[0] = Rule{Kind: RuleDateNotPast} }, pr + `, regola n. 1 (date_not_past): serve almeno un campo`},
		{"date_not_future on number", func(c *Catalog) { proc(c).Rules[0].Fields = []string{"componenti"} }, pr + `, regola n. 1 (date_not_future): il campo "componenti" è di tipo "number", serve un campo "date"`},
		{"attachment type missing", func(c *Catalog) { proc(c).Attachments[1].Type = "" }, pr + `, allegato n. 2: tipo di documento mancante`},
		{"attachment type invalid", func(c *Catalog) { proc(c).Attachments[1].Type = "contratto-locazione" }, pr + `, allegato "contratto-locazione": tipo di documento non valido`},
		{"attachment duplicate", func(c *Catalog) { proc(c).Attachments[1].Type = "documento_identita" }, pr + `, allegato "documento_identita": tipo di documento duplicato`},
		{"attachment label", func(c *Catalog) { proc(c).Attachments[1].Label = "" }, pr + `, allegato "contratto": etichetta mancante`},
		{"attachment no formats", func(c *Catalog) { proc(c).Attachments[1].Formats = nil }, pr + `, allegato "contratto": nessun formato ammesso indicato`},
		{"attachment format unknown", func(c *Catalog) { proc(c).Attachments[1].Formats = []Format{"doc"} }, pr + `, allegato "contratto": formato "doc" sconosciuto`},
		{"attachment format repeated", func(c *Catalog) { proc(c).Attachments[1].Formats = []Format{"pdf", "pdf"} }, pr + `, allegato "contratto": formato "pdf" ripetuto`},
		{"max bytes zero", func(c *Catalog) { proc(c).Attachments[1].MaxBytes = 0 }, pr + `, allegato "contratto": dimensione massima (max_bytes) 0 non valida`},
		{"max bytes negative", func(c *Catalog) { proc(c).Attachments[1].MaxBytes = -5 }, pr + `, allegato "contratto": dimensione massima (max_bytes) -5 non valida`},
		{"attachment condition", func(c *Catalog) { proc(c).Attachments[1].RequiredIf.Field = "stato" }, pr + `, allegato "contratto", condizione required_if: campo "stato" inesistente nella procedura`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testCatalog()
			tt.mutate(c)
			_, err := Decode(bytes.NewReader(mustJSON(t, c)))
			if err == nil {
				t.Fatalf("Decode succeeded, want error containing %q", tt.want)
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error %v (%T) is not a *ValidationError", err, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q\ndoes not contain %q", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "catalogo non valido") {
				t.Errorf("error %q does not start with \"catalogo non valido\"", err)
			}
			// Validate reports the same problems.
			if verr := c.Validate(); verr == nil || verr.Error() != err.Error() {
				t.Errorf("Validate() = %v, Decode error = %v", verr, err)
			}
		})
	}
}

func TestValidateCollectsAllProblems(t *testing.T) {
	c := testCatalog()
	c.Version = 3
	field(c, "cap").Type = "zip"
	proc(c).Attachments[0].MaxBytes = 0
	c.QueueServices[1].Prefix = "a"
	err := c.Validate()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Validate() = %v, want *ValidationError", err)
	}
	want := []Problem{
		{"", "versione 3 non supportata (attesa 1)"},
		{`servizio di coda "polizia"`, `lettera del biglietto "a" non valida: serve una sola lettera maiuscola (A-Z)`},
		{`procedura "cambio-residenza", campo "cap"`, `tipo "zip" sconosciuto (ammessi: "text", "longtext", "number", "date", "codice_fiscale", "email", "pec", "phone", "iban", "cap", "choice", "checkbox")`},
		{`procedura "cambio-residenza", allegato "documento_identita"`, `dimensione massima (max_bytes) 0 non valida: deve essere maggiore di zero`},
	}
	if diff := cmp.Diff(want, ve.Problems); diff != "" {
		t.Errorf("problems mismatch (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(err.Error(), "catalogo non valido (4 problemi): versione 3") {
		t.Errorf("Error() = %q", err.Error())
	}
}

func TestDecodeJSONErrors(t *testing.T) {
	valid := string(mustJSON(t, testCatalog()))
	tests := []struct {
		name, input, want string
	}{
		{"empty", "  \n", "catalogo: il file è vuoto"},
		{"syntax", "{\n  \"format\": \"sportello-catalog\",\n}", "catalogo: JSON non valido alla riga 3, colonna 1"},
		{"truncated", `{"format": "sportello-catalog"`, "catalogo: JSON troncato"},
		{"unknown key", strings.Replace(valid, `"term_days"`, `"termine":1,"term_days"`, 1), `catalogo: chiave "termine" sconosciuta`},
		{"wrong type", strings.Replace(valid, `"version":1`, `"version":"1"`, 1), `la chiave "version" richiede un valore di tipo numero intero, trovato stringa`},
		{"trailing data", valid + "\n{}", "catalogo: contenuto inatteso dopo la fine del JSON (riga 2, colonna 1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(strings.NewReader(tt.input))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Decode error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	orig := testCatalog()
	var buf bytes.Buffer
	if err := Encode(&buf, orig); err != nil {
		t.Fatalf("Encode: %v", err)
	}
	first := buf.String()
	got, err := Decode(strings.NewReader(first))
	if err != nil {
		t.Fatalf("Decode(Encode(c)): %v", err)
	}
	if diff := cmp.Diff(orig, got); diff != "" {
		t.Errorf("round trip mismatch (-want +got):\n%s", diff)
	}
	buf.Reset()
	if err := Encode(&buf, got); err != nil {
		t.Fatalf("second Encode: %v", err)
	}
	if buf.String() != first {
		t.Errorf("Encode is not stable:\n%s\n---\n%s", first, buf.String())
	}
	if !strings.HasPrefix(first, "{\n  \"format\": \"sportello-catalog\",\n  \"version\": 1,\n") || !strings.HasSuffix(first, "}\n") {
		t.Errorf("unexpected layout:\n%.200s", first)
	}
	if !strings.Contains(first, `"name": "Carta d'identità elettronica"`) {
		t.Error("Encode escaped non-ASCII or HTML characters")
	}
}

func TestEncodeCanonicalizes(t *testing.T) {
	c := testCatalog()
	c.Procedures[1].Keywords = []string{}
	c.Procedures[1].Fields = nil
	c.Procedures[1].Attachments = nil
	c.Procedures[1].Rules = []Rule{}
	var buf bytes.Buffer
	if err := Encode(&buf, c); err != nil {
		t.Fatal(err)
	}
	if c.Procedures[1].Fields != nil || c.Procedures[1].Keywords == nil {
		t.Error("Encode modified its argument")
	}
	if strings.Contains(buf.String(), "null") {
		t.Errorf("Encode wrote null:\n%s", buf.String())
	}
	got, err := Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	p := got.Procedures[1]
	if p.Keywords != nil || p.Rules != nil || p.Fields == nil || p.Attachments == nil {
		t.Errorf("not canonical: keywords %#v rules %#v fields %#v attachments %#v", p.Keywords, p.Rules, p.Fields, p.Attachments)
	}
}

func TestEncodeRejectsInvalid(t *testing.T) {
	c := testCatalog()
	c.Format = ""
	var buf bytes.Buffer
	err := Encode(&buf, c)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Encode error = %v, want *ValidationError", err)
	}
	if buf.Len() != 0 {
		t.Error("Encode wrote an invalid catalog")
	}
	if err := Encode(&buf, nil); err == nil {
		t.Error("Encode(nil) succeeded")
	}
}

func TestLookups(t *testing.T) {
	c := testCatalog()
	if p, ok := c.Procedure("carta-identita"); !ok || p.Name != "Carta d'identità elettronica" {
		t.Errorf("Procedure(carta-identita) = %v, %v", p.ID, ok)
	}
	if p, ok := c.Procedure("centri-estivi"); !ok || p.Active {
		t.Errorf("Procedure must find inactive procedures too: %v %v", p.ID, ok)
	}
	if _, ok := c.Procedure("nessuna"); ok {
		t.Error("Procedure(nessuna) found")
	}
	if o, ok := c.Office("polizia-locale"); !ok || o.Name != "Polizia Locale" {
		t.Errorf("Office(polizia-locale) = %v, %v", o, ok)
	}
	if _, ok := c.Office("tributi"); ok {
		t.Error("Office(tributi) found")
	}
	if q, ok := c.QueueService("polizia"); !ok || q.Prefix != "P" {
		t.Errorf("QueueService(polizia) = %v, %v", q, ok)
	}
	p := c.Procedures[0]
	if f, ok := p.Field("cap"); !ok || f.Type != CAP {
		t.Errorf("Field(cap) = %v, %v", f, ok)
	}
	if _, ok := p.Field("zip"); ok {
		t.Error("Field(zip) found")
	}
	if a, ok := p.Attachment("contratto"); !ok || !a.MustBeSigned {
		t.Errorf("Attachment(contratto) = %v, %v", a, ok)
	}
}

func TestConditionHolds(t *testing.T) {
	values := map[string]string{"scelta": " b ", "spunta": "true", "vuoto": "  ", "no": "false", "testo": "Ciao"}
	tests := []struct {
		name string
		c    Condition
		want bool
	}{
		{"equals after trim", Condition{Field: "scelta", Equals: "b"}, true},
		{"equals exact case", Condition{Field: "testo", Equals: "ciao"}, false},
		{"equals other", Condition{Field: "scelta", Equals: "a"}, false},
		{"equals missing key", Condition{Field: "assente", Equals: "a"}, false},
		{"in member", Condition{Field: "scelta", In: []string{"a", "b"}}, true},
		{"in not member", Condition{Field: "scelta", In: []string{"a", "c"}}, false},
		{"in missing key", Condition{Field: "assente", In: []string{"a"}}, false},
		{"not empty", Condition{Field: "testo", NotEmpty: true}, true},
		{"not empty blank", Condition{Field: "vuoto", NotEmpty: true}, false},
		{"not empty missing", Condition{Field: "assente", NotEmpty: true}, false},
		{"checked true", Condition{Field: "spunta", Checked: true}, true},
		{"checked false", Condition{Field: "no", Checked: true}, false},
		{"checked missing", Condition{Field: "assente", Checked: true}, false},
		{"checked other text", Condition{Field: "testo", Checked: true}, false},
		{"empty condition", Condition{Field: "testo"}, false},
		{"several set: all must hold", Condition{Field: "scelta", Equals: "b", In: []string{"b"}, NotEmpty: true}, true},
		{"several set: one fails", Condition{Field: "scelta", Equals: "b", In: []string{"a"}}, false},
	}
	for _, tt := range tests {
		if got := tt.c.Holds(values); got != tt.want {
			t.Errorf("%s: Holds = %v, want %v", tt.name, got, tt.want)
		}
	}
	if (Condition{Field: "x", NotEmpty: true}).Holds(nil) {
		t.Error("Holds(nil) = true")
	}
}

func TestFieldVisibilityAndRequirement(t *testing.T) {
	p := testCatalog().Procedures[0]
	get := func(key string) Field {
		f, ok := p.Field(key)
		if !ok {
			t.Fatalf("no field %q", key)
		}
		return f
	}
	tests := []struct {
		key              string
		values           map[string]string
		visible, require bool
	}{
		{"provenienza", nil, true, true},
		{"data_arrivo", nil, true, false},
		{"comune_provenienza", map[string]string{"provenienza": "altro_comune"}, true, true},
		{"comune_provenienza", map[string]string{"provenienza": "estero"}, false, false},
		{"comune_provenienza", nil, false, false},
		{"numero_patente", map[string]string{"patente": "true"}, true, true},
		{"numero_patente", map[string]string{"patente": "false"}, false, false},
		{"email", map[string]string{"telefono": "030 1234"}, true, true},
		{"email", map[string]string{"telefono": ""}, true, false},
	}
	for _, tt := range tests {
		f := get(tt.key)
		if got := f.IsVisible(tt.values); got != tt.visible {
			t.Errorf("%s.IsVisible(%v) = %v, want %v", tt.key, tt.values, got, tt.visible)
		}
		if got := f.IsRequired(tt.values); got != tt.require {
			t.Errorf("%s.IsRequired(%v) = %v, want %v", tt.key, tt.values, got, tt.require)
		}
	}
	// Required but hidden is not required.
	hidden := Field{Key: "x", Required: true, VisibleIf: &Condition{Field: "y", Checked: true}}
	if hidden.IsRequired(map[string]string{"y": "false"}) {
		t.Error("hidden required field reported as required")
	}
	if !hidden.IsRequired(map[string]string{"y": "true"}) {
		t.Error("visible required field reported as not required")
	}

	doc, _ := p.Attachment("documento_identita")
	contratto, _ := p.Attachment("contratto")
	if !doc.IsRequired(nil) {
		t.Error("required attachment not required")
	}
	if contratto.IsRequired(map[string]string{"provenienza": "altro_comune"}) {
		t.Error("conditional attachment required when condition does not hold")
	}
	if !contratto.IsRequired(map[string]string{"provenienza": "estero"}) {
		t.Error("conditional attachment not required when condition holds")
	}
}

func TestVisibleValues(t *testing.T) {
	p := Procedure{Fields: []Field{
		{Key: "a", Type: Checkbox},
		{Key: "b", Type: Checkbox, VisibleIf: &Condition{Field: "a", Checked: true}},
		{Key: "c", Type: Text, VisibleIf: &Condition{Field: "b", Checked: true}},
	}}
	in := map[string]string{"a": "false", "b": "true", "c": "valore", "extra": "x"}
	got := p.VisibleValues(in)
	want := map[string]string{"a": "false", "extra": "x"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("VisibleValues mismatch (-want +got):\n%s", diff)
	}
	if len(in) != 4 {
		t.Error("VisibleValues modified its argument")
	}
	in["a"] = "true"
	if got := p.VisibleValues(in); len(got) != 4 {
		t.Errorf("VisibleValues dropped visible values: %v", got)
	}
}

func ids(ps []Procedure) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.ID)
	}
	return out
}

func TestSearch(t *testing.T) {
	c := testCatalog()
	tests := []struct {
		query string
		want  []string
	}{
		// Name matches rank before summary matches; inactive procedures never appear.
		{"residenza", []string{"cambio-residenza", "segnalazione"}},
		{"RESIDENZA", []string{"cambio-residenza", "segnalazione"}},
		{"Residènza", []string{"cambio-residenza", "segnalazione"}},
		{"cambio di residenza", []string{"cambio-residenza"}},
		{"identita", []string{"carta-identita"}},
		{"identità", []string{"carta-identita"}},
		{"carta d'identità", []string{"carta-identita"}},
		{"ident elettr", []string{"carta-identita"}},
		{"CIE", []string{"carta-identita"}},
		{"trasfer", []string{"cambio-residenza"}},
		{"lampione", []string{"segnalazione"}},
		{"segnalazioni", []string{"segnalazione"}},
		{"anagrafe", []string{"cambio-residenza"}},
		{"residenza carta", nil},
		{"denza", nil},
		{"centri estivi", nil},
		{"di", []string{"cambio-residenza", "segnalazione"}},
		{"xyz", nil},
	}
	for _, tt := range tests {
		got := c.Search(tt.query)
		if diff := cmp.Diff(tt.want, ids(got), cmp.Comparer(func(a, b []string) bool {
			return strings.Join(a, ",") == strings.Join(b, ",")
		})); diff != "" {
			t.Errorf("Search(%q) mismatch (-want +got):\n%s", tt.query, diff)
		}
	}
	if got := ids(c.Search("  ")); strings.Join(got, ",") != "cambio-residenza,carta-identita,segnalazione" {
		t.Errorf("Search(blank) = %v", got)
	}
}

func TestSearchRanking(t *testing.T) {
	c := testCatalog()
	c.Procedures = append(c.Procedures,
		Procedure{ID: "a", Name: "Contributo", Keywords: []string{"affitto"}, Knowledge: Knowledge{Summary: "casa"}, Active: true},
		Procedure{ID: "b", Name: "Affitto agevolato", Knowledge: Knowledge{Summary: "contributo"}, Active: true},
		Procedure{ID: "c", Name: "Contributo affitto", Active: true},
		Procedure{ID: "d", Name: "Bando", Category: "Affitto e casa", Keywords: []string{"contributo"}, Active: true},
	)
	got := ids(c.Search("contributo affitto"))
	want := "c,a,b,d"
	if strings.Join(got, ",") != want {
		t.Errorf("Search ranking = %v, want %s", got, want)
	}
}

func TestTokenize(t *testing.T) {
	got := tokenize("Carta d’identità ELETTRONICA – perché? Città/Çà")
	want := []string{"carta", "d", "identita", "elettronica", "perche", "citta", "ca"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tokenize mismatch (-want +got):\n%s", diff)
	}
}

// TestDocExample checks that the complete example of docs/catalog-format.md
// is a valid catalog in canonical form.
func TestDocExample(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "catalog-format.md"))
	if err != nil {
		t.Skipf("documentation not available: %v", err)
	}
	_, rest, ok := strings.Cut(string(doc), "## Complete example")
	if !ok {
		t.Fatal("section \"Complete example\" not found")
	}
	_, rest, ok = strings.Cut(rest, "```json\n")
	example, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("JSON example not found")
	}
	c, err := Decode(strings.NewReader(example))
	if err != nil {
		t.Fatalf("documentation example: %v", err)
	}
	var buf bytes.Buffer
	if err := Encode(&buf, c); err != nil {
		t.Fatal(err)
	}
	if buf.String() != example {
		t.Errorf("documentation example is not in canonical form; Encode gives:\n%s", buf.String())
	}
}
