package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Decode reads a catalog JSON file (UTF-8, a leading byte order mark is
// ignored). Decoding is strict: unknown keys, trailing data and values of the
// wrong JSON type are errors. The decoded
// catalog is then checked with Validate; a validation failure is returned as
// a *ValidationError listing every problem found.
//
// The returned catalog is in canonical form (see Encode): empty optional
// lists are nil and mandatory lists are never nil.
func Decode(r io.Reader) (*Catalog, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("catalogo: lettura non riuscita: %w", err)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // UTF-8 BOM added by some editors
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("catalogo: il file è vuoto")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var c Catalog
	if err := dec.Decode(&c); err != nil {
		return nil, jsonError(data, dec, err)
	}
	end := dec.InputOffset()
	if rest := data[end:]; len(bytes.TrimSpace(rest)) > 0 {
		skip := len(rest) - len(bytes.TrimLeft(rest, " \t\r\n"))
		line, col := position(data, end+int64(skip))
		return nil, fmt.Errorf("catalogo: contenuto inatteso dopo la fine del JSON (riga %d, colonna %d)", line, col)
	}
	c.normalize()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Encode writes c as indented JSON (two spaces, UTF-8, no HTML escaping).
// Keys follow the order of the struct fields and lists keep the catalog's
// order, so the output is stable; Decode(Encode(c)) yields a catalog equal to
// c once c is in canonical form (every catalog returned by Decode is).
// Encode refuses a catalog that does not pass Validate, so that everything it
// writes can be read back.
func Encode(w io.Writer, c *Catalog) error {
	if c == nil {
		return errors.New("catalogo: nessun catalogo da esportare")
	}
	if err := c.Validate(); err != nil {
		return err
	}
	cp := c.canonical()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(cp); err != nil {
		return fmt.Errorf("catalogo: codifica JSON non riuscita: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("catalogo: scrittura non riuscita: %w", err)
	}
	return nil
}

// jsonError turns an encoding/json error into an Italian message with the
// line and column of the problem.
func jsonError(data []byte, dec *json.Decoder, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		off := syn.Offset
		if off > 0 && strings.HasPrefix(syn.Error(), "invalid character") {
			off-- // Offset is just past the offending character
		}
		line, col := position(data, off)
		return fmt.Errorf("catalogo: JSON non valido alla riga %d, colonna %d: %w", line, col, err)
	case errors.As(err, &typ):
		line, col := position(data, typ.Offset)
		where := typ.Field
		if where == "" {
			where = "documento"
		}
		return fmt.Errorf("catalogo: riga %d, colonna %d: la chiave %q richiede un valore di tipo %s, trovato %s",
			line, col, where, jsonTypeName(typ.Type.Kind().String()), jsonTypeName(typ.Value))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("catalogo: JSON troncato (il file finisce prima della chiusura): %w", err)
	}
	msg := err.Error()
	if i := strings.Index(msg, "unknown field "); i >= 0 {
		name := strings.TrimPrefix(msg[i:], "unknown field ")
		line, col := position(data, dec.InputOffset())
		return fmt.Errorf("catalogo: chiave %s sconosciuta (vicino alla riga %d, colonna %d)", name, line, col)
	}
	return fmt.Errorf("catalogo: JSON non valido: %w", err)
}

func jsonTypeName(kind string) string {
	switch kind {
	case "string":
		return "stringa"
	case "bool":
		return "booleano (true/false)"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "numero intero"
	case "float32", "float64":
		return "numero"
	case "slice", "array":
		return "lista"
	case "struct", "map":
		return "oggetto"
	case "ptr":
		return "valore"
	case "object":
		return "oggetto"
	case "null":
		return "null"
	}
	if strings.HasPrefix(kind, "number") {
		return "numero" + strings.TrimPrefix(kind, "number")
	}
	return kind
}

// position converts a byte offset into a 1-based line and column (columns
// count runes).
func position(data []byte, offset int64) (line, col int) {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	if offset < 0 {
		offset = 0
	}
	before := data[:offset]
	line = bytes.Count(before, []byte{'\n'}) + 1
	start := bytes.LastIndexByte(before, '\n') + 1
	col = len([]rune(string(before[start:]))) + 1
	return line, col
}

// normalize puts a decoded catalog in canonical form in place.
func (c *Catalog) normalize() {
	if c.Offices == nil {
		c.Offices = []Office{}
	}
	if c.QueueServices == nil {
		c.QueueServices = []QueueService{}
	}
	if c.Procedures == nil {
		c.Procedures = []Procedure{}
	}
	for i := range c.Procedures {
		p := &c.Procedures[i]
		p.Keywords = nilIfEmpty(p.Keywords)
		p.Rules = nilIfEmpty(p.Rules)
		if p.Fields == nil {
			p.Fields = []Field{}
		}
		if p.Attachments == nil {
			p.Attachments = []AttachmentReq{}
		}
		for j := range p.Fields {
			f := &p.Fields[j]
			f.Options = nilIfEmpty(f.Options)
			normalizeCondition(f.RequiredIf)
			normalizeCondition(f.VisibleIf)
		}
		for j := range p.Rules {
			if p.Rules[j].Fields == nil {
				p.Rules[j].Fields = []string{}
			}
		}
		for j := range p.Attachments {
			a := &p.Attachments[j]
			if a.Formats == nil {
				a.Formats = []Format{}
			}
			normalizeCondition(a.RequiredIf)
		}
	}
}

func normalizeCondition(c *Condition) {
	if c != nil {
		c.In = nilIfEmpty(c.In)
	}
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

// canonical returns a deep copy of c in canonical form, leaving c untouched.
func (c *Catalog) canonical() *Catalog {
	cp := *c
	cp.Offices = append([]Office(nil), c.Offices...)
	cp.QueueServices = append([]QueueService(nil), c.QueueServices...)
	cp.Procedures = make([]Procedure, len(c.Procedures))
	for i, p := range c.Procedures {
		p.Keywords = append([]string(nil), p.Keywords...)
		p.Rules = append([]Rule(nil), p.Rules...)
		for j := range p.Rules {
			p.Rules[j].Fields = append([]string(nil), p.Rules[j].Fields...)
		}
		p.Fields = append([]Field(nil), p.Fields...)
		for j := range p.Fields {
			f := &p.Fields[j]
			f.Options = append([]Option(nil), f.Options...)
			f.RequiredIf = copyCondition(f.RequiredIf)
			f.VisibleIf = copyCondition(f.VisibleIf)
			if f.Min != nil {
				v := *f.Min
				f.Min = &v
			}
			if f.Max != nil {
				v := *f.Max
				f.Max = &v
			}
		}
		p.Attachments = append([]AttachmentReq(nil), p.Attachments...)
		for j := range p.Attachments {
			a := &p.Attachments[j]
			a.Formats = append([]Format(nil), a.Formats...)
			a.RequiredIf = copyCondition(a.RequiredIf)
		}
		cp.Procedures[i] = p
	}
	cp.normalize()
	return &cp
}

func copyCondition(c *Condition) *Condition {
	if c == nil {
		return nil
	}
	cp := *c
	cp.In = append([]string(nil), c.In...)
	return &cp
}
