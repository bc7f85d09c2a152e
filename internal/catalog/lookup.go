package catalog

import (
	"slices"
	"strings"
)

// Procedure returns the procedure with the given ID, active or not.
func (c *Catalog) Procedure(id string) (Procedure, bool) {
	for _, p := range c.Procedures {
		if p.ID == id {
			return p, true
		}
	}
	return Procedure{}, false
}

// Office returns the office with the given ID.
func (c *Catalog) Office(id string) (Office, bool) {
	for _, o := range c.Offices {
		if o.ID == id {
			return o, true
		}
	}
	return Office{}, false
}

// QueueService returns the queue service with the given code.
func (c *Catalog) QueueService(code string) (QueueService, bool) {
	for _, q := range c.QueueServices {
		if q.Code == code {
			return q, true
		}
	}
	return QueueService{}, false
}

// Field returns the form field with the given key.
func (p Procedure) Field(key string) (Field, bool) {
	for _, f := range p.Fields {
		if f.Key == key {
			return f, true
		}
	}
	return Field{}, false
}

// Attachment returns the attachment requirement with the given type.
func (p Procedure) Attachment(typ string) (AttachmentReq, bool) {
	for _, a := range p.Attachments {
		if a.Type == typ {
			return a, true
		}
	}
	return AttachmentReq{}, false
}

// Holds reports whether the form values satisfy the condition. The value of
// Field is compared after strings.TrimSpace (a missing key is the empty
// value):
//   - Equals: the value equals Equals exactly;
//   - In: the value is one of In;
//   - NotEmpty: the value is not blank;
//   - Checked: the value is "true".
//
// A condition with none of them set is never true; should more than one be
// set (Validate rejects it), all of them must hold.
func (c Condition) Holds(values map[string]string) bool {
	v := strings.TrimSpace(values[c.Field])
	set := false
	if c.Equals != "" {
		set = true
		if v != c.Equals {
			return false
		}
	}
	if len(c.In) > 0 {
		set = true
		if !slices.Contains(c.In, v) {
			return false
		}
	}
	if c.NotEmpty {
		set = true
		if v == "" {
			return false
		}
	}
	if c.Checked {
		set = true
		if v != "true" {
			return false
		}
	}
	return set
}

// IsVisible reports whether the field is shown: always when VisibleIf is
// nil, otherwise when VisibleIf holds. It looks only at the values given; use
// Procedure.VisibleValues first so that values of hidden fields do not make
// other fields visible.
func (f Field) IsVisible(values map[string]string) bool {
	return f.VisibleIf == nil || f.VisibleIf.Holds(values)
}

// IsRequired reports whether the field must be filled: it must be visible
// and either Required or with a RequiredIf that holds.
func (f Field) IsRequired(values map[string]string) bool {
	if !f.IsVisible(values) {
		return false
	}
	return f.Required || (f.RequiredIf != nil && f.RequiredIf.Holds(values))
}

// IsRequired reports whether the attachment must be provided: when Required
// or when RequiredIf holds.
func (a AttachmentReq) IsRequired(values map[string]string) bool {
	return a.Required || (a.RequiredIf != nil && a.RequiredIf.Holds(values))
}

// VisibleValues returns a copy of values without the values of the
// procedure's hidden fields. Visibility can depend on fields that are hidden
// in turn, so fields are dropped until nothing changes. Keys that are not
// fields of the procedure are kept.
func (p Procedure) VisibleValues(values map[string]string) map[string]string {
	out := make(map[string]string, len(values))
	for k, v := range values {
		out[k] = v
	}
	for changed := true; changed; {
		changed = false
		for _, f := range p.Fields {
			if _, present := out[f.Key]; present && !f.IsVisible(out) {
				delete(out, f.Key)
				changed = true
			}
		}
	}
	return out
}
