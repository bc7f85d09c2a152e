package completeness

import (
	"slices"
	"strings"

	"sportello/internal/catalog"
)

// holds evaluates a condition against the form values, following the
// semantics documented on catalog.Condition: Checked means the checkbox value
// is "true", NotEmpty a non-blank value, In membership, Equals equality (all
// on the trimmed value). An empty condition is never true. Should more than
// one criterion be set, all of them must hold.
//
// This is private on purpose; catalog may grow an equivalent method.
func holds(c *catalog.Condition, values map[string]string) bool {
	if c == nil {
		return false
	}
	v := strings.TrimSpace(values[c.Field])
	set := false
	if c.Checked {
		set = true
		if v != "true" {
			return false
		}
	}
	if c.NotEmpty {
		set = true
		if v == "" {
			return false
		}
	}
	if len(c.In) > 0 {
		set = true
		if !slices.Contains(c.In, v) {
			return false
		}
	}
	if c.Equals != "" {
		set = true
		if v != c.Equals {
			return false
		}
	}
	return set
}

// form is the procedure's form as seen by the checks: the values with hidden
// fields blanked out, and the visibility of each field.
type form struct {
	values  map[string]string // trimmed; hidden fields are absent
	visible map[string]bool
}

// evalForm works out which fields are visible. A hidden field's value is
// ignored everywhere (it may be a leftover from an earlier choice), so it
// cannot make another field visible or required. Visibility may chain;
// it is recomputed until stable, with a bound so that a cyclic catalog
// still gives a deterministic answer.
func evalForm(fields []catalog.Field, values map[string]string) form {
	raw := make(map[string]string, len(values))
	for k, v := range values {
		if v = strings.TrimSpace(v); v != "" {
			raw[k] = v
		}
	}
	f := form{visible: make(map[string]bool, len(fields))}
	for _, fd := range fields {
		f.visible[fd.Key] = true
	}
	for range len(fields) + 1 {
		f.values = make(map[string]string, len(raw))
		for k, v := range raw {
			if vis, known := f.visible[k]; !known || vis {
				f.values[k] = v
			}
		}
		changed := false
		for _, fd := range fields {
			vis := fd.VisibleIf == nil || holds(fd.VisibleIf, f.values)
			if vis != f.visible[fd.Key] {
				f.visible[fd.Key] = vis
				changed = true
			}
		}
		if !changed {
			return f
		}
	}
	// Not stable (cyclic conditions): align the values with the final
	// visibility so that the answer is at least consistent.
	for k := range f.values {
		if vis, known := f.visible[k]; known && !vis {
			delete(f.values, k)
		}
	}
	return f
}
