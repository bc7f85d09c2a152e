package catalog

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Problem is one validation failure. Where locates it in Italian, e.g.
// `procedura "cambio-residenza", campo "cap"` (empty for the catalog as a
// whole); What describes it, e.g. `tipo "zip" sconosciuto`.
type Problem struct {
	Where string
	What  string
}

// String returns "Where: What", or What alone when Where is empty.
func (p Problem) String() string {
	if p.Where == "" {
		return p.What
	}
	return p.Where + ": " + p.What
}

// ValidationError lists every problem found by Validate, in file order.
type ValidationError struct {
	Problems []Problem
}

// Error joins all problems in one Italian message.
func (e *ValidationError) Error() string {
	if len(e.Problems) == 1 {
		return "catalogo non valido: " + e.Problems[0].String()
	}
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return fmt.Sprintf("catalogo non valido (%d problemi): %s", len(e.Problems), strings.Join(parts, "; "))
}

// PrefillSources lists the registry values a field may be prefilled from.
var PrefillSources = []string{
	"citizen.codice_fiscale", "citizen.surname", "citizen.name",
	"citizen.birth_date", "citizen.birth_place", "citizen.sex",
	"citizen.phone", "citizen.email", "citizen.pec",
	"citizen.address.street", "citizen.address.cap",
	"citizen.address.city", "citizen.address.province",
}

// Formats lists every recognised attachment format.
var Formats = []Format{FormatPDF, FormatPDFA, FormatJPEG, FormatPNG, FormatTIFF, FormatP7M, FormatXML, FormatODT, FormatDOCX, FormatDWG, FormatZIP, FormatTXT}

// Kinds lists every procedure kind.
var Kinds = []Kind{KindIstanza, KindSegnalazione, KindReclamo, KindInformazione}

// RuleKinds lists every cross-field rule kind.
var RuleKinds = []RuleKind{RuleDateOrder, RuleAtLeastOne, RuleAllOrNone, RuleNotEqual, RuleDateNotFuture, RuleDateNotPast}

var (
	slugRE           = regexp.MustCompile(`^[a-z0-9]+(?:-[a-z0-9]+)*$`)
	keyRE            = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	prefixRE         = regexp.MustCompile(`^[A-Z]$`)
	classificationRE = regexp.MustCompile(`^[IVXL]+(?:\.[0-9]+){0,3}$`)
	provinceRE       = regexp.MustCompile(`^[A-Z]{2}$`)
	cadastralRE      = regexp.MustCompile(`^[A-Z][0-9]{3}$`)
)

type validator struct {
	problems []Problem
}

func (v *validator) add(where, format string, args ...any) {
	v.problems = append(v.problems, Problem{Where: where, What: fmt.Sprintf(format, args...)})
}

// Validate checks the whole catalog and returns a *ValidationError listing
// every problem, or nil when the catalog is consistent.
func (c *Catalog) Validate() error {
	v := &validator{}
	if c == nil {
		v.add("", "catalogo mancante")
		return &ValidationError{Problems: v.problems}
	}
	if c.Format != FormatName {
		v.add("", "formato %q non riconosciuto (atteso %q)", c.Format, FormatName)
	}
	if c.Version != FormatVersion {
		v.add("", "versione %d non supportata (attesa %d)", c.Version, FormatVersion)
	}
	v.municipality(c.Municipality)

	offices := map[string]bool{}
	for i, o := range c.Offices {
		where := fmt.Sprintf("ufficio %q", o.ID)
		switch {
		case o.ID == "":
			where = fmt.Sprintf("ufficio n. %d", i+1)
			v.add(where, "identificativo mancante")
		case !slugRE.MatchString(o.ID):
			v.add(where, "identificativo non valido: usare lettere minuscole, cifre e trattini (es. \"servizi-demografici\")")
		}
		if o.ID != "" {
			if offices[o.ID] {
				v.add(where, "identificativo duplicato")
			}
			offices[o.ID] = true
		}
		if strings.TrimSpace(o.Name) == "" {
			v.add(where, "nome mancante")
		}
		v.mailbox(where, "e-mail", o.Email)
		v.mailbox(where, "PEC", o.PEC)
	}

	queues := map[string]bool{}
	prefixes := map[string]string{}
	for i, q := range c.QueueServices {
		where := fmt.Sprintf("servizio di coda %q", q.Code)
		switch {
		case q.Code == "":
			where = fmt.Sprintf("servizio di coda n. %d", i+1)
			v.add(where, "codice mancante")
		case !slugRE.MatchString(q.Code):
			v.add(where, "codice non valido: usare lettere minuscole, cifre e trattini")
		}
		if q.Code != "" {
			if queues[q.Code] {
				v.add(where, "codice duplicato")
			}
			queues[q.Code] = true
		}
		if strings.TrimSpace(q.Name) == "" {
			v.add(where, "nome mancante")
		}
		if !prefixRE.MatchString(q.Prefix) {
			v.add(where, "lettera del biglietto %q non valida: serve una sola lettera maiuscola (A-Z)", q.Prefix)
		} else if other, dup := prefixes[q.Prefix]; dup {
			v.add(where, "lettera del biglietto %q già usata dal servizio %q", q.Prefix, other)
		} else {
			prefixes[q.Prefix] = q.Code
		}
	}

	procedures := map[string]bool{}
	for i, p := range c.Procedures {
		where := fmt.Sprintf("procedura %q", p.ID)
		switch {
		case p.ID == "":
			where = fmt.Sprintf("procedura n. %d", i+1)
			v.add(where, "identificativo mancante")
		case !slugRE.MatchString(p.ID):
			v.add(where, "identificativo non valido: usare lettere minuscole, cifre e trattini (es. \"cambio-residenza\")")
		}
		if p.ID != "" {
			if procedures[p.ID] {
				v.add(where, "identificativo duplicato")
			}
			procedures[p.ID] = true
		}
		v.procedure(where, p, offices, queues)
	}

	if len(v.problems) > 0 {
		return &ValidationError{Problems: v.problems}
	}
	return nil
}

func (v *validator) municipality(m Municipality) {
	const where = "comune"
	if strings.TrimSpace(m.Name) == "" {
		v.add(where, "nome mancante")
	}
	if m.Province != "" && !provinceRE.MatchString(m.Province) {
		v.add(where, "sigla della provincia %q non valida: servono due lettere maiuscole", m.Province)
	}
	if m.CadastralCode != "" && !cadastralRE.MatchString(m.CadastralCode) {
		v.add(where, "codice catastale %q non valido: serve una lettera maiuscola seguita da tre cifre", m.CadastralCode)
	}
	v.mailbox(where, "PEC", m.PEC)
}

func (v *validator) mailbox(where, what, addr string) {
	if addr == "" {
		return
	}
	local, domain, ok := strings.Cut(addr, "@")
	if !ok || local == "" || !strings.Contains(domain, ".") || strings.ContainsAny(addr, " \t") || strings.Contains(domain, "@") {
		v.add(where, "indirizzo %s %q non valido", what, addr)
	}
}

func (v *validator) procedure(where string, p Procedure, offices, queues map[string]bool) {
	if strings.TrimSpace(p.Name) == "" {
		v.add(where, "nome mancante")
	}
	switch {
	case p.Kind == "":
		v.add(where, "tipo di procedura mancante (%s)", quoteList(Kinds))
	case !slices.Contains(Kinds, p.Kind):
		v.add(where, "tipo di procedura %q sconosciuto (ammessi: %s)", p.Kind, quoteList(Kinds))
	}
	if strings.TrimSpace(p.Category) == "" {
		v.add(where, "categoria mancante")
	}
	if strings.TrimSpace(p.Knowledge.Summary) == "" {
		v.add(where, "scheda informativa: descrizione (summary) mancante")
	}
	switch {
	case p.OfficeID == "":
		v.add(where, "ufficio competente mancante")
	case !offices[p.OfficeID]:
		v.add(where, "ufficio %q inesistente", p.OfficeID)
	}
	switch {
	case p.QueueService == "":
		v.add(where, "servizio di coda mancante")
	case !queues[p.QueueService]:
		v.add(where, "servizio di coda %q inesistente", p.QueueService)
	}
	if p.Classification != "" && !classificationRE.MatchString(p.Classification) {
		v.add(where, "classificazione %q non valida: usare titolo romano e classe, es. \"XI.2\"", p.Classification)
	}
	if p.TermDays < 0 {
		v.add(where, "termine di %d giorni non valido: non può essere negativo", p.TermDays)
	}
	if p.FeeCents < 0 {
		v.add(where, "importo dei diritti %d non valido: non può essere negativo", p.FeeCents)
	}
	sd := p.StampDuty
	if sd.AmountCents < 0 {
		v.add(where, "importo della marca da bollo %d non valido: non può essere negativo", sd.AmountCents)
	}
	if sd.Count < 0 {
		v.add(where, "numero di marche da bollo %d non valido: non può essere negativo", sd.Count)
	}
	if sd.Required && sd.AmountCents == 0 {
		v.add(where, "marca da bollo richiesta ma importo non indicato")
	}
	if !sd.Required && (sd.AmountCents > 0 || sd.Count > 0) {
		v.add(where, "importo o numero di marche da bollo indicati ma bollo non richiesto")
	}

	fields := map[string]Field{}
	for i, f := range p.Fields {
		fw := fmt.Sprintf("%s, campo %q", where, f.Key)
		switch {
		case f.Key == "":
			fw = fmt.Sprintf("%s, campo n. %d", where, i+1)
			v.add(fw, "chiave mancante")
		case !keyRE.MatchString(f.Key):
			v.add(fw, "chiave non valida: usare lettere minuscole, cifre e trattino basso, iniziando con una lettera")
		}
		if f.Key != "" {
			if _, dup := fields[f.Key]; dup {
				v.add(fw, "chiave duplicata")
			} else {
				fields[f.Key] = f
			}
		}
	}
	for i, f := range p.Fields {
		fw := fmt.Sprintf("%s, campo %q", where, f.Key)
		if f.Key == "" {
			fw = fmt.Sprintf("%s, campo n. %d", where, i+1)
		}
		v.field(fw, f, fields)
	}

	for i, r := range p.Rules {
		v.rule(fmt.Sprintf("%s, regola n. %d (%s)", where, i+1, r.Kind), r, fields)
	}

	attachments := map[string]bool{}
	for i, a := range p.Attachments {
		aw := fmt.Sprintf("%s, allegato %q", where, a.Type)
		switch {
		case a.Type == "":
			aw = fmt.Sprintf("%s, allegato n. %d", where, i+1)
			v.add(aw, "tipo di documento mancante")
		case !keyRE.MatchString(a.Type):
			v.add(aw, "tipo di documento non valido: usare lettere minuscole, cifre e trattino basso, iniziando con una lettera")
		}
		if a.Type != "" {
			if attachments[a.Type] {
				v.add(aw, "tipo di documento duplicato")
			}
			attachments[a.Type] = true
		}
		v.attachment(aw, a, fields)
	}
}

func (v *validator) field(where string, f Field, fields map[string]Field) {
	if strings.TrimSpace(f.Label) == "" {
		v.add(where, "etichetta mancante")
	}
	switch {
	case f.Type == "":
		v.add(where, "tipo mancante (ammessi: %s)", quoteList(FieldTypes))
	case !slices.Contains(FieldTypes, f.Type):
		v.add(where, "tipo %q sconosciuto (ammessi: %s)", f.Type, quoteList(FieldTypes))
	}
	if f.Type == Choice {
		if len(f.Options) == 0 {
			v.add(where, "campo a scelta senza opzioni")
		}
		seen := map[string]bool{}
		for i, o := range f.Options {
			switch {
			case o.Value == "":
				v.add(where, "opzione n. %d senza valore", i+1)
			case seen[o.Value]:
				v.add(where, "opzione %q duplicata", o.Value)
			}
			seen[o.Value] = true
			if strings.TrimSpace(o.Label) == "" {
				v.add(where, "opzione n. %d senza etichetta", i+1)
			}
		}
	} else if len(f.Options) > 0 {
		v.add(where, "opzioni ammesse solo sui campi di tipo \"choice\"")
	}
	if f.Type != Number && (f.Min != nil || f.Max != nil) {
		v.add(where, "min e max ammessi solo sui campi di tipo \"number\"")
	}
	if f.Min != nil && f.Max != nil && *f.Min > *f.Max {
		v.add(where, "min (%g) maggiore di max (%g)", *f.Min, *f.Max)
	}
	if f.MaxLength < 0 {
		v.add(where, "lunghezza massima %d non valida: non può essere negativa", f.MaxLength)
	}
	if f.Pattern != "" {
		if _, err := regexp.Compile(f.Pattern); err != nil {
			v.add(where, "espressione regolare %q non valida: %v", f.Pattern, err)
		}
	}
	if f.Prefill != "" && !slices.Contains(PrefillSources, f.Prefill) {
		v.add(where, "precompilazione %q sconosciuta (ammesse: %s)", f.Prefill, quoteList(PrefillSources))
	}
	v.condition(where+", condizione required_if", f.RequiredIf, f.Key, fields)
	v.condition(where+", condizione visible_if", f.VisibleIf, f.Key, fields)
}

// condition checks c; self is the key of the field that owns it ("" for
// attachments).
func (v *validator) condition(where string, c *Condition, self string, fields map[string]Field) {
	if c == nil {
		return
	}
	set := 0
	if c.Equals != "" {
		set++
	}
	if len(c.In) > 0 {
		set++
	}
	if c.NotEmpty {
		set++
	}
	if c.Checked {
		set++
	}
	switch {
	case set == 0:
		v.add(where, "condizione vuota: indicare uno tra equals, in, not_empty e checked")
	case set > 1:
		v.add(where, "condizione ambigua: indicare uno solo tra equals, in, not_empty e checked")
	}
	if c.Field == "" {
		v.add(where, "campo di riferimento mancante")
		return
	}
	if c.Field == self {
		v.add(where, "la condizione non può riferirsi al campo stesso")
		return
	}
	ref, ok := fields[c.Field]
	if !ok {
		v.add(where, "campo %q inesistente nella procedura", c.Field)
		return
	}
	if c.Checked && ref.Type != Checkbox {
		v.add(where, "checked ammesso solo su campi \"checkbox\", ma %q è di tipo %q", c.Field, ref.Type)
	}
	values := append([]string(nil), c.In...)
	if c.Equals != "" {
		values = append(values, c.Equals)
	}
	switch ref.Type {
	case Choice:
		for _, val := range values {
			if !slices.ContainsFunc(ref.Options, func(o Option) bool { return o.Value == val }) {
				v.add(where, "valore %q non previsto tra le opzioni del campo %q", val, c.Field)
			}
		}
	case Checkbox:
		for _, val := range values {
			if val != "true" && val != "false" {
				v.add(where, "valore %q non valido per il campo checkbox %q (ammessi \"true\" e \"false\")", val, c.Field)
			}
		}
	}
}

func (v *validator) rule(where string, r Rule, fields map[string]Field) {
	if r.Kind == "" {
		v.add(where, "tipo di regola mancante (ammessi: %s)", quoteList(RuleKinds))
		return
	}
	if !slices.Contains(RuleKinds, r.Kind) {
		v.add(where, "tipo di regola %q sconosciuto (ammessi: %s)", r.Kind, quoteList(RuleKinds))
		return
	}
	n := len(r.Fields)
	switch r.Kind {
	case RuleDateOrder, RuleNotEqual:
		if n != 2 {
			v.add(where, "servono esattamente 2 campi, indicati %d", n)
		}
	case RuleAtLeastOne, RuleAllOrNone:
		if n < 2 {
			v.add(where, "servono almeno 2 campi, indicati %d", n)
		}
	case RuleDateNotFuture, RuleDateNotPast:
		if n < 1 {
			v.add(where, "serve almeno un campo")
		}
	}
	needDate := r.Kind == RuleDateOrder || r.Kind == RuleDateNotFuture || r.Kind == RuleDateNotPast
	seen := map[string]bool{}
	for _, key := range r.Fields {
		if seen[key] {
			v.add(where, "campo %q ripetuto", key)
			continue
		}
		seen[key] = true
		f, ok := fields[key]
		if !ok {
			v.add(where, "campo %q inesistente nella procedura", key)
			continue
		}
		if needDate && f.Type != Date {
			v.add(where, "il campo %q è di tipo %q, serve un campo \"date\"", key, f.Type)
		}
	}
}

func (v *validator) attachment(where string, a AttachmentReq, fields map[string]Field) {
	if strings.TrimSpace(a.Label) == "" {
		v.add(where, "etichetta mancante")
	}
	if len(a.Formats) == 0 {
		v.add(where, "nessun formato ammesso indicato")
	}
	seen := map[Format]bool{}
	for _, f := range a.Formats {
		switch {
		case !slices.Contains(Formats, f):
			v.add(where, "formato %q sconosciuto (ammessi: %s)", f, quoteList(Formats))
		case seen[f]:
			v.add(where, "formato %q ripetuto", f)
		}
		seen[f] = true
	}
	if a.MaxBytes <= 0 {
		v.add(where, "dimensione massima (max_bytes) %d non valida: deve essere maggiore di zero", a.MaxBytes)
	}
	v.condition(where+", condizione required_if", a.RequiredIf, "", fields)
}

func quoteList[T ~string](items []T) string {
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = fmt.Sprintf("%q", string(it))
	}
	return strings.Join(parts, ", ")
}
