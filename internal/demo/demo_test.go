package demo

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"sportello/internal/catalog"
)

func TestCatalogIsValidAndCanonical(t *testing.T) {
	c, err := catalog.Decode(bytes.NewReader(CatalogJSON()))
	if err != nil {
		t.Fatalf("embedded catalog does not decode: %v", err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	var buf bytes.Buffer
	if err := catalog.Encode(&buf, c); err != nil {
		t.Fatalf("Encode: %v", err)
	}
	if !bytes.Equal(buf.Bytes(), CatalogJSON()) {
		t.Error("catalog.json is not in the canonical form written by catalog.Encode; regenerate it with Decode+Encode")
	}
	if diff := cmp.Diff(c, Catalog()); diff != "" {
		t.Errorf("Catalog() differs from the decoded file:\n%s", diff)
	}
}

func TestCatalogReturnsFreshCopies(t *testing.T) {
	a := Catalog()
	a.Procedures[0].Name = "modificato"
	CatalogJSON()[0] = 'x'
	if Catalog().Procedures[0].Name == "modificato" {
		t.Error("Catalog() shares state between calls")
	}
	if CatalogJSON()[0] != '{' {
		t.Error("CatalogJSON() exposes the embedded bytes")
	}
}

func TestMunicipality(t *testing.T) {
	m := Catalog().Municipality
	want := catalog.Municipality{
		Name: "Comune di Valfiorita", Province: "BS", CadastralCode: "M999",
		IPACode: "c_m999", AOOCode: "c_m999", AOOName: "Comune di Valfiorita",
		Address: "Piazza della Libertà 1, 25099 Valfiorita (BS)", PEC: "protocollo@pec.comune.valfiorita.bs.it",
	}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("municipality mismatch (-want +got):\n%s", diff)
	}
}

func TestOfficesAndQueues(t *testing.T) {
	c := Catalog()
	if len(c.Offices) < 7 {
		t.Errorf("%d offices, want at least 7", len(c.Offices))
	}
	for _, o := range c.Offices {
		if o.Email == "" || o.PEC == "" || o.Phone == "" || o.Location == "" || o.Hours == "" || o.Referent == "" {
			t.Errorf("office %q has empty contact data: %+v", o.ID, o)
		}
	}
	for _, id := range []string{"servizi-demografici", "edilizia-privata", "polizia-locale", "servizi-sociali",
		"servizi-scolastici", "tributi", "urp", "segreteria-protocollo", "lavori-pubblici"} {
		if _, ok := c.Office(id); !ok {
			t.Errorf("office %q missing", id)
		}
	}
	prefixes := map[string]string{}
	for _, q := range c.QueueServices {
		prefixes[q.Code] = q.Prefix
	}
	for code, prefix := range map[string]string{"anagrafe": "A", "edilizia": "E", "sociale": "S", "tributi": "T", "urp": "U", "polizia-locale": "P"} {
		if prefixes[code] != prefix {
			t.Errorf("queue %q prefix = %q, want %q", code, prefixes[code], prefix)
		}
	}
}

func TestProceduresQuality(t *testing.T) {
	c := Catalog()
	active := 0
	used := map[string]bool{}
	for _, p := range c.Procedures {
		if p.Active {
			active++
		}
		used[p.OfficeID] = true
		k := p.Knowledge
		if k.Summary == "" || k.Documents == "" || k.Fees == "" || k.Hours == "" || k.LegalBasis == "" {
			t.Errorf("%s: incomplete knowledge text", p.ID)
		}
		if p.Classification == "" {
			t.Errorf("%s: missing classification", p.ID)
		}
		if len(p.Keywords) == 0 {
			t.Errorf("%s: no keywords", p.ID)
		}
		if p.FeeCents > 0 && p.FeeReason == "" {
			t.Errorf("%s: fee without reason", p.ID)
		}
		for _, a := range p.Attachments {
			if a.MaxBytes < 5<<20 || a.MaxBytes > 20<<20 {
				t.Errorf("%s, %s: max_bytes %d outside 5–20 MB", p.ID, a.Type, a.MaxBytes)
			}
		}
		for _, f := range p.Fields {
			// A field required under a condition must be visible under the
			// same condition, otherwise the form asks for a hidden value.
			if f.RequiredIf != nil && f.VisibleIf != nil && !cmp.Equal(f.RequiredIf, f.VisibleIf) {
				t.Errorf("%s, %s: required_if and visible_if differ", p.ID, f.Key)
			}
		}
	}
	if active < 16 {
		t.Errorf("%d active procedures, want at least 16", active)
	}
	for _, o := range c.Offices {
		if !used[o.ID] && o.ID != "segreteria-protocollo" {
			t.Logf("office %q has no procedures", o.ID)
		}
	}
}

func TestKeyProcedures(t *testing.T) {
	c := Catalog()
	tests := []struct {
		id           string
		office       string
		term         int
		confidential bool
		kind         catalog.Kind
	}{
		{"cambio-residenza", "servizi-demografici", 45, false, catalog.KindIstanza},
		{"carta-identita-elettronica", "servizi-demografici", 0, false, catalog.KindIstanza},
		{"certificati-anagrafici", "servizi-demografici", 0, false, catalog.KindIstanza},
		{"atti-stato-civile", "servizi-demografici", 30, false, catalog.KindIstanza},
		{"cila", "edilizia-privata", 0, false, catalog.KindIstanza},
		{"contrassegno-disabili", "polizia-locale", 30, true, catalog.KindIstanza},
		{"occupazione-suolo-pubblico", "polizia-locale", 30, false, catalog.KindIstanza},
		{"passo-carrabile", "lavori-pubblici", 60, false, catalog.KindIstanza},
		{"dichiarazione-ospitalita", "polizia-locale", 0, false, catalog.KindIstanza},
		{"accesso-atti", "segreteria-protocollo", 30, false, catalog.KindIstanza},
		{"accesso-civico-generalizzato", "segreteria-protocollo", 30, false, catalog.KindIstanza},
		{"contributo-affitto", "servizi-sociali", 90, false, catalog.KindIstanza},
		{"iscrizione-mensa-scolastica", "servizi-scolastici", 30, false, catalog.KindIstanza},
		{"assegno-maternita", "servizi-sociali", 30, true, catalog.KindIstanza},
		{"contributo-economico", "servizi-sociali", 30, true, catalog.KindIstanza},
		{"tari-dichiarazione", "tributi", 30, false, catalog.KindIstanza},
		{"segnalazione-disservizio", "lavori-pubblici", 30, false, catalog.KindSegnalazione},
		{"reclamo", "urp", 30, false, catalog.KindReclamo},
		{"suggerimento", "urp", 30, false, catalog.KindSegnalazione},
		{"richiesta-informazioni", "urp", 30, false, catalog.KindInformazione},
	}
	for _, tt := range tests {
		p, ok := c.Procedure(tt.id)
		if !ok {
			t.Errorf("procedure %q missing", tt.id)
			continue
		}
		if !p.Active || p.OfficeID != tt.office || p.TermDays != tt.term || p.Confidential != tt.confidential || p.Kind != tt.kind {
			t.Errorf("%s: active %v office %q term %d confidential %v kind %q; want office %q term %d confidential %v kind %q",
				tt.id, p.Active, p.OfficeID, p.TermDays, p.Confidential, p.Kind, tt.office, tt.term, tt.confidential, tt.kind)
		}
	}
	if cie, _ := c.Procedure("carta-identita-elettronica"); cie.FeeCents != 2221 {
		t.Errorf("CIE fee = %d, want 2221", cie.FeeCents)
	}
	for _, id := range []string{"occupazione-suolo-pubblico", "passo-carrabile"} {
		p, _ := c.Procedure(id)
		if sd := p.StampDuty; !sd.Required || sd.AmountCents != 1600 || sd.Count != 2 {
			t.Errorf("%s stamp duty = %+v", id, sd)
		}
	}
}

func TestCambioResidenzaForm(t *testing.T) {
	p, _ := Catalog().Procedure("cambio-residenza")
	field := func(key string) catalog.Field {
		f, ok := p.Field(key)
		if !ok {
			t.Fatalf("field %q missing", key)
		}
		return f
	}
	attachment := func(typ string) catalog.AttachmentReq {
		a, ok := p.Attachment(typ)
		if !ok {
			t.Fatalf("attachment %q missing", typ)
		}
		return a
	}
	altro := map[string]string{"provenienza": "altro_comune", "titolo_occupazione": "locazione", "cittadinanza": "italiana"}
	estero := map[string]string{"provenienza": "estero", "titolo_occupazione": "proprieta", "cittadinanza": "extra_ue"}
	if !field("comune_provenienza").IsRequired(altro) || field("comune_provenienza").IsRequired(estero) {
		t.Error("comune_provenienza must be required only when coming from another comune")
	}
	if !field("stato_estero_provenienza").IsRequired(estero) || field("stato_estero_provenienza").IsVisible(altro) {
		t.Error("stato_estero_provenienza must be required and visible only when coming from abroad")
	}
	if !attachment("contratto_occupazione").IsRequired(altro) || attachment("contratto_occupazione").IsRequired(estero) {
		t.Error("the lease must be required only for locazione/comodato")
	}
	if !attachment("contratto_occupazione").IsRequired(map[string]string{"titolo_occupazione": "comodato"}) {
		t.Error("the lease must be required for comodato")
	}
	if !attachment("permesso_soggiorno").IsRequired(estero) || attachment("permesso_soggiorno").IsRequired(altro) {
		t.Error("the residence permit must be required only for non-EU citizens")
	}
	if a := attachment("modulo_dichiarazione"); !a.Required || !a.MustBeSigned {
		t.Error("the signed declaration must be required and signed")
	}
	if a := attachment("documento_identita"); !a.Required || a.MaxBytes != 5<<20 {
		t.Errorf("documento_identita = %+v", a)
	}
	if a := attachment("patente_libretti"); a.IsRequired(altro) {
		t.Error("patente/libretti must be optional")
	}
	if f := field("codice_fiscale"); f.Prefill != "citizen.codice_fiscale" || f.Type != catalog.CodiceFiscale {
		t.Errorf("codice_fiscale = %+v", f)
	}
	kinds := map[catalog.RuleKind]bool{}
	for _, r := range p.Rules {
		kinds[r.Kind] = true
	}
	if !kinds[catalog.RuleDateNotFuture] || !kinds[catalog.RuleAtLeastOne] {
		t.Errorf("rules = %+v", p.Rules)
	}
}

func TestSearchDemo(t *testing.T) {
	c := Catalog()
	tests := []struct {
		query string
		first string
	}{
		{"residenza", "cambio-residenza"},
		{"cambio di residenza", "cambio-residenza"},
		{"identita", "carta-identita-elettronica"},
		{"carta d'identità", "carta-identita-elettronica"},
		{"CIE", "carta-identita-elettronica"},
		{"cila", "cila"},
		{"edilizia", "cila"},
		{"contrassegno invalidi", "contrassegno-disabili"},
		{"accesso atti", "accesso-atti"},
		{"foia", "accesso-civico-generalizzato"},
		{"suolo pubblico", "occupazione-suolo-pubblico"},
		{"passo carrabile", "passo-carrabile"},
		{"affitto", "contributo-affitto"},
		{"mensa", "iscrizione-mensa-scolastica"},
		{"maternità", "assegno-maternita"},
		{"tari", "tari-dichiarazione"},
		{"buca", "segnalazione-disservizio"},
		{"lampione", "segnalazione-disservizio"},
		{"reclamo", "reclamo"},
		{"ospitalita straniero", "dichiarazione-ospitalita"},
		{"stato di famiglia", "certificati-anagrafici"},
		{"estratto nascita", "atti-stato-civile"},
	}
	for _, tt := range tests {
		got := c.Search(tt.query)
		if len(got) == 0 || got[0].ID != tt.first {
			var ids []string
			for _, p := range got {
				ids = append(ids, p.ID)
			}
			t.Errorf("Search(%q) = [%s], want %q first", tt.query, strings.Join(ids, ", "), tt.first)
		}
	}
	for _, p := range c.Search("centri estivi") {
		if !p.Active {
			t.Errorf("Search returned inactive procedure %q", p.ID)
		}
	}
}
