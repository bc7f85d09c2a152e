// Package completeness decides whether an application is complete: every
// visible form field filled in as required and well formed, the cross-field
// rules satisfied, the required attachments present in an accepted format,
// size and signature, and the marche da bollo identified. It reports each
// problem with a machine code and a precise Italian message for the citizen
// and the desk operator.
//
// The exported validators (ValidIBAN, ValidEmail, ...) are shared with the
// UI for live validation; their errors carry an Italian explanation.
package completeness

import (
	"cmp"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"sportello/internal/catalog"
	"sportello/internal/filetype"
)

// Attachment is a file attached to an application.
type Attachment struct {
	ID        string         // attachment identifier
	Type      string         // catalog.AttachmentReq.Type it is filed under
	FileName  string         // name as uploaded (informative only)
	Format    catalog.Format // detected by content with filetype ("" when unknown)
	Size      int64          // bytes
	Signature filetype.SignatureKind
	// DeclaredSigned is the operator's declaration that a scanned copy
	// bears a handwritten signature.
	DeclaredSigned bool
}

// Input is what the citizen and the operator provided.
type Input struct {
	Values       map[string]string // form values by field key
	Attachments  []Attachment
	StampDutyIDs []string // identificativi of the marche da bollo (14 digits each)
	// Today is the current date in Europe/Rome, used by the date rules;
	// only its year, month and day matter. Zero means now.
	Today time.Time
}

// Problem is one reason why an application is not complete.
type Problem struct {
	Field      string // field key; "" when not about a field
	Attachment string // attachment type (missing, multiple) or attachment ID; "" otherwise
	Code       string // machine code, one of the Code constants
	Message    string // Italian, naming the field or attachment
}

// Problem codes.
const (
	CodeRequired             = "required"              // required field empty (checkbox not ticked)
	CodeFormat               = "format"                // value not valid for the field type
	CodePattern              = "pattern"               // value does not match the field pattern
	CodeMaxLength            = "max_length"            // value longer than MaxLength runes
	CodeMin                  = "min"                   // number below Min
	CodeMax                  = "max"                   // number above Max
	CodeOption               = "option"                // choice value not among the options
	CodeRule                 = "rule"                  // cross-field rule violated
	CodeAttachmentMissing    = "attachment_missing"    // required attachment type absent
	CodeAttachmentFormat     = "attachment_format"     // format not accepted or not recognised
	CodeAttachmentSize       = "attachment_size"       // larger than MaxBytes
	CodeAttachmentSignature  = "attachment_signature"  // must be signed, no signature
	CodeAttachmentUnexpected = "attachment_unexpected" // type not asked for by the procedure
	CodeAttachmentMultiple   = "attachment_multiple"   // more than one of a single-file type
	CodeStampDutyMissing     = "stamp_duty_missing"    // fewer valid identificativi than stamps required
	CodeStampDutyFormat      = "stamp_duty_format"     // identificativo not 14 digits
	CodeStampDutyDuplicate   = "stamp_duty_duplicate"  // same identificativo given twice
)

// Complete reports whether Check finds no problem.
func Complete(p catalog.Procedure, in Input) bool {
	return len(Check(p, in)) == 0
}

// Check lists every problem of the application, in a deterministic order:
// fields in schema order, then rules in order, then attachments (in schema
// order, then attachments of unknown types in input order), then stamp duty.
//
// Fields hidden by VisibleIf are skipped entirely, even when filled, and
// their values count as empty in every condition and rule. Values are
// trimmed. A field reports at most one problem.
func Check(p catalog.Procedure, in Input) []Problem {
	f := evalForm(p.Fields, in.Values)
	var out []Problem
	out = checkFields(out, p.Fields, f)
	out = checkRules(out, p, f, today(in.Today))
	out = checkAttachments(out, p.Attachments, in.Attachments, f)
	out = checkStampDuty(out, p.StampDuty, in.StampDutyIDs)
	return out
}

func checkFields(out []Problem, fields []catalog.Field, f form) []Problem {
	for _, fd := range fields {
		if !f.visible[fd.Key] {
			continue
		}
		v := f.values[fd.Key]
		required := fd.Required || holds(fd.RequiredIf, f.values)
		if required && fd.Type == catalog.Checkbox && (v == "" || v == "false") {
			out = append(out, Problem{Field: fd.Key, Code: CodeRequired,
				Message: fmt.Sprintf(`Il campo "%s" deve essere selezionato`, fieldLabel(fd))})
			continue
		}
		if v == "" {
			if required {
				out = append(out, Problem{Field: fd.Key, Code: CodeRequired,
					Message: fmt.Sprintf(`Il campo "%s" è obbligatorio`, fieldLabel(fd))})
			}
			continue
		}
		if code, msg := validateValue(fd, v); code != "" {
			out = append(out, Problem{Field: fd.Key, Code: code, Message: msg})
		}
	}
	return out
}

func checkRules(out []Problem, p catalog.Procedure, f form, today time.Time) []Problem {
	byKey := make(map[string]catalog.Field, len(p.Fields))
	for _, fd := range p.Fields {
		if _, dup := byKey[fd.Key]; !dup {
			byKey[fd.Key] = fd
		}
	}
	label := func(key string) string {
		if fd, ok := byKey[key]; ok {
			return fieldLabel(fd)
		}
		return key
	}
	labels := func(keys []string) string {
		q := make([]string, len(keys))
		for i, k := range keys {
			q[i] = quote(label(k))
		}
		return joinItalian(q)
	}
	date := func(key string) (time.Time, bool) {
		v := f.values[key]
		if v == "" {
			return time.Time{}, false
		}
		d, err := ParseDate(v)
		return d, err == nil
	}
	add := func(r catalog.Rule, field, std string) {
		out = append(out, Problem{Field: field, Code: CodeRule, Message: cmp.Or(r.Message, std)})
	}
	for _, r := range p.Rules {
		if len(r.Fields) == 0 {
			continue
		}
		first := r.Fields[0]
		switch r.Kind {
		case catalog.RuleDateOrder:
			if len(r.Fields) < 2 {
				continue
			}
			a, okA := date(first)
			b, okB := date(r.Fields[1])
			if okA && okB && a.After(b) {
				add(r, first, fmt.Sprintf(`La data "%s" non può essere successiva alla data "%s"`, label(first), label(r.Fields[1])))
			}
		case catalog.RuleAtLeastOne:
			filled := false
			for _, k := range r.Fields {
				filled = filled || f.values[k] != ""
			}
			if !filled {
				std := fmt.Sprintf(`Compilare almeno uno dei campi %s`, labels(r.Fields))
				if len(r.Fields) == 1 {
					std = fmt.Sprintf(`Il campo "%s" è obbligatorio`, label(first))
				}
				add(r, first, std)
			}
		case catalog.RuleAllOrNone:
			var missing []string
			for _, k := range r.Fields {
				if f.values[k] == "" {
					missing = append(missing, k)
				}
			}
			if len(missing) > 0 && len(missing) < len(r.Fields) {
				std := fmt.Sprintf(`I campi %s vanno compilati tutti oppure nessuno: manca "%s"`, labels(r.Fields), label(missing[0]))
				if len(missing) > 1 {
					std = fmt.Sprintf(`I campi %s vanno compilati tutti oppure nessuno: mancano %s`, labels(r.Fields), labels(missing))
				}
				add(r, missing[0], std)
			}
		case catalog.RuleNotEqual:
			if len(r.Fields) < 2 {
				continue
			}
			second := r.Fields[1]
			if sameValue(byKey[first], f.values[first], byKey[second], f.values[second]) {
				add(r, second, fmt.Sprintf(`I campi "%s" e "%s" non possono avere lo stesso valore`, label(first), label(second)))
			}
		case catalog.RuleDateNotFuture, catalog.RuleDateNotPast:
			for _, k := range r.Fields {
				d, ok := date(k)
				switch {
				case !ok:
				case r.Kind == catalog.RuleDateNotFuture && d.After(today):
					add(r, k, fmt.Sprintf(`La data "%s" non può essere nel futuro`, label(k)))
				case r.Kind == catalog.RuleDateNotPast && d.Before(today):
					add(r, k, fmt.Sprintf(`La data "%s" non può essere nel passato`, label(k)))
				}
			}
		}
	}
	return out
}

// sameValue compares two present values for RuleNotEqual: dates by the day
// they name, everything else ignoring case and spaces (codici fiscali,
// IBANs, addresses are the same whatever their spacing).
func sameValue(fa catalog.Field, a string, fb catalog.Field, b string) bool {
	if a == "" || b == "" {
		return false
	}
	if fa.Type == catalog.Date && fb.Type == catalog.Date {
		da, errA := ParseDate(a)
		db, errB := ParseDate(b)
		if errA == nil && errB == nil {
			return da.Equal(db)
		}
	}
	squash := func(s string) string { return strings.Join(strings.Fields(s), "") }
	return strings.EqualFold(squash(a), squash(b))
}

func checkAttachments(out []Problem, reqs []catalog.AttachmentReq, atts []Attachment, f form) []Problem {
	known := make(map[string]bool, len(reqs))
	byType := make(map[string][]Attachment)
	for _, a := range atts {
		byType[a.Type] = append(byType[a.Type], a)
	}
	for _, req := range reqs {
		if known[req.Type] {
			continue
		}
		known[req.Type] = true
		list := byType[req.Type]
		label := cmp.Or(req.Label, req.Type)
		if len(list) == 0 {
			if req.Required || holds(req.RequiredIf, f.values) {
				out = append(out, Problem{Attachment: req.Type, Code: CodeAttachmentMissing,
					Message: fmt.Sprintf(`Manca l'allegato obbligatorio "%s"`, label)})
			}
			continue
		}
		if !req.Multiple && len(list) > 1 {
			out = append(out, Problem{Attachment: req.Type, Code: CodeAttachmentMultiple,
				Message: fmt.Sprintf(`È ammesso un solo allegato "%s": ne sono stati indicati %d`, label, len(list))})
		}
		for _, a := range list {
			out = checkAttachment(out, req, a)
		}
	}
	for _, a := range atts {
		if known[a.Type] {
			continue
		}
		name := quote(cmp.Or(a.FileName, a.ID, a.Type))
		msg := fmt.Sprintf(`L'allegato %s non è previsto per questa pratica`, name)
		if a.Type != "" {
			msg = fmt.Sprintf(`L'allegato %s non è previsto per questa pratica (tipo "%s")`, name, a.Type)
		}
		out = append(out, Problem{Attachment: cmp.Or(a.ID, a.Type), Code: CodeAttachmentUnexpected, Message: msg})
	}
	return out
}

func checkAttachment(out []Problem, req catalog.AttachmentReq, a Attachment) []Problem {
	label := cmp.Or(req.Label, req.Type)
	name := quote(label) // `"Label"` or `"file.pdf" (Label)`
	if a.FileName != "" {
		name = fmt.Sprintf(`"%s" (%s)`, a.FileName, label)
	}
	id := cmp.Or(a.ID, a.Type)
	switch {
	case a.Format == "":
		out = append(out, Problem{Attachment: id, Code: CodeAttachmentFormat,
			Message: fmt.Sprintf(`L'allegato %s non è in un formato riconosciuto: ammessi %s`, name, formatList(req.Formats))})
	case !formatAccepted(req.Formats, a.Format):
		is := formatName(a.Format)
		if a.Format == catalog.FormatPDF && acceptsOnlyPDFA(req.Formats) {
			is = "PDF ma non PDF/A"
		}
		out = append(out, Problem{Attachment: id, Code: CodeAttachmentFormat,
			Message: fmt.Sprintf(`L'allegato %s non è in un formato ammesso: è %s, ammessi %s`, name, is, formatList(req.Formats))})
	}
	if req.MaxBytes > 0 && a.Size > req.MaxBytes {
		limit, size := sizeOverLimit(req.MaxBytes, a.Size)
		out = append(out, Problem{Attachment: id, Code: CodeAttachmentSize,
			Message: fmt.Sprintf(`L'allegato %s supera il limite di %s (%s)`, name, limit, size)})
	}
	// A p7m is by definition a CAdES signed envelope, even when the caller
	// did not copy the detected signature kind.
	if req.MustBeSigned && a.Signature == filetype.SignatureNone && !a.DeclaredSigned && a.Format != catalog.FormatP7M {
		out = append(out, Problem{Attachment: id, Code: CodeAttachmentSignature,
			Message: fmt.Sprintf(`L'allegato %s deve essere firmato: firma digitale non rilevata e firma autografa non dichiarata`, name)})
	}
	return out
}

// formatAccepted applies the catalog's format list: "pdf" also accepts PDF/A,
// "pdfa" only PDF/A, "p7m" CAdES envelopes. An empty list accepts any
// recognised format.
func formatAccepted(allowed []catalog.Format, got catalog.Format) bool {
	if got == "" {
		return false
	}
	if len(allowed) == 0 {
		return true
	}
	for _, f := range allowed {
		if f == got || f == catalog.FormatPDF && got == catalog.FormatPDFA {
			return true
		}
	}
	return false
}

func acceptsOnlyPDFA(allowed []catalog.Format) bool {
	for _, f := range allowed {
		if f == catalog.FormatPDF {
			return false
		}
	}
	for _, f := range allowed {
		if f == catalog.FormatPDFA {
			return true
		}
	}
	return false
}

var formatNames = map[catalog.Format]string{
	catalog.FormatPDF:  "PDF",
	catalog.FormatPDFA: "PDF/A",
	catalog.FormatJPEG: "JPEG",
	catalog.FormatPNG:  "PNG",
	catalog.FormatTIFF: "TIFF",
	catalog.FormatP7M:  "P7M (firma CAdES)",
	catalog.FormatXML:  "XML",
	catalog.FormatODT:  "ODT",
	catalog.FormatDOCX: "DOCX",
	catalog.FormatDWG:  "DWG",
	catalog.FormatZIP:  "ZIP",
	catalog.FormatTXT:  "testo (TXT)",
}

func formatName(f catalog.Format) string {
	if n, ok := formatNames[f]; ok {
		return n
	}
	return strings.ToUpper(string(f))
}

func formatList(allowed []catalog.Format) string {
	if len(allowed) == 0 {
		return "tutti i formati riconosciuti"
	}
	names := make([]string, len(allowed))
	for i, f := range allowed {
		names[i] = formatName(f)
	}
	return strings.Join(names, ", ")
}

// formatSize writes a size in MB (2^20 bytes) with at most the given
// decimals and the Italian decimal comma, or in KB below 1 MB. With up the
// value is rounded up instead of to the nearest.
func formatSize(n int64, decimals int, up bool) string {
	round := math.Round
	if up {
		round = math.Ceil
	}
	unit, div := "MB", float64(1<<20)
	if n < 1<<20 {
		unit, div = "KB", 1<<10
	}
	scale := math.Pow10(decimals)
	v := round(float64(n)/div*scale) / scale
	return strings.Replace(strconv.FormatFloat(v, 'f', -1, 64), ".", ",", 1) + " " + unit
}

// sizeOverLimit formats a limit and a larger actual size so that the actual
// size never looks equal to the limit ("5 MB (5,01 MB)", not "5 MB (5 MB)").
func sizeOverLimit(limit, size int64) (string, string) {
	l, s := formatSize(limit, 1, false), formatSize(size, 1, false)
	if s == l {
		s = formatSize(size, 2, true)
	}
	if s == l { // tiny limits: exact bytes
		l, s = fmt.Sprintf("%d byte", limit), fmt.Sprintf("%d byte", size)
	}
	return l, s
}

func checkStampDuty(out []Problem, sd catalog.StampDuty, ids []string) []Problem {
	seen := make(map[string]bool, len(ids))
	valid := 0
	for _, raw := range ids {
		id := normalizeStampID(raw)
		switch {
		case id == "":
		case ValidStampDutyID(id) != nil:
			out = append(out, Problem{Code: CodeStampDutyFormat,
				Message: fmt.Sprintf(`L'identificativo della marca da bollo "%s" non è valido: deve essere di 14 cifre`, strings.TrimSpace(raw))})
		case seen[id]:
			out = append(out, Problem{Code: CodeStampDutyDuplicate,
				Message: fmt.Sprintf(`L'identificativo della marca da bollo "%s" è ripetuto: ogni marca va indicata una sola volta`, id)})
		default:
			seen[id] = true
			valid++
		}
	}
	if !sd.Required {
		return out
	}
	need := max(sd.Count, 1)
	switch missing := need - valid; {
	case missing <= 0:
	case need == 1:
		out = append(out, Problem{Code: CodeStampDutyMissing, Message: "Manca l'identificativo della marca da bollo (14 cifre)"})
	case missing == 1:
		out = append(out, Problem{Code: CodeStampDutyMissing,
			Message: fmt.Sprintf("Servono %d marche da bollo: manca 1 identificativo (14 cifre)", need)})
	default:
		out = append(out, Problem{Code: CodeStampDutyMissing,
			Message: fmt.Sprintf("Servono %d marche da bollo: mancano %d identificativi (14 cifre ciascuno)", need, missing)})
	}
	return out
}

func fieldLabel(f catalog.Field) string { return cmp.Or(f.Label, f.Key) }

func quote(s string) string { return `"` + s + `"` }

// joinItalian joins items as «a, b e c».
func joinItalian(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " e " + items[len(items)-1]
}

// today returns the date of t (zero: now in Europe/Rome) as midnight UTC,
// comparable with ParseDate results.
func today(t time.Time) time.Time {
	if t.IsZero() {
		t = romeNow(time.Now())
	}
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

var romeLocation = sync.OnceValue(func() *time.Location {
	loc, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		return nil
	}
	return loc
})

// romeNow converts now to Italian time, with the time zone database when
// available and the EU daylight-saving rule otherwise.
func romeNow(now time.Time) time.Time {
	if loc := romeLocation(); loc != nil {
		return now.In(loc)
	}
	return romeFallback(now)
}

// romeFallback applies the EU rule: CET (UTC+1), and CEST (UTC+2) from
// 01:00 UTC on the last Sunday of March to 01:00 UTC on the last Sunday of
// October.
func romeFallback(now time.Time) time.Time {
	u := now.UTC()
	lastSunday := func(m time.Month) time.Time {
		d := time.Date(u.Year(), m+1, 0, 1, 0, 0, 0, time.UTC) // last day of m, 01:00 UTC
		return d.AddDate(0, 0, -int(d.Weekday()))
	}
	if !u.Before(lastSunday(time.March)) && u.Before(lastSunday(time.October)) {
		return u.In(time.FixedZone("CEST", 2*3600))
	}
	return u.In(time.FixedZone("CET", 3600))
}
