package store

import (
	"encoding/json"
	"fmt"
	"sort"
)

// sharedKey holds, in the stored JSON of a row's field versions, the version
// that most columns share (typically all columns written by the row's
// insert) and which columns share it, in one of two forms:
//
//	{"=": {"h":…, "b":…, "c":[columns that share it]}}
//	{"=": {"h":…, "b":…, "x":[columns of the table that do not]}}
//
// In the "x" form the version belongs to every column of the table (but id)
// that has no entry of its own and is not listed: a row inserted whole lists
// only its few empty columns instead of its twenty written ones. The
// encoder picks the shorter form; every replica that syncs runs the same
// schema version (the handshake refuses others), so all read "every
// column" alike. Other columns keep their own entry. "=" is never a column
// name; rows written before these encodings decode unchanged.
const sharedKey = "="

type sharedVersion struct {
	H string   `json:"h"`
	B string   `json:"b"`
	C []string `json:"c,omitempty"`
	X []string `json:"x,omitempty"`
}

// encodeVersions encodes a row's field versions. all is the table's
// versioned columns, sorted (nil: use only the "c" form).
func encodeVersions(v map[string]fieldVersion, all []string) ([]byte, error) {
	groups := map[fieldVersion][]string{}
	for col, fv := range v {
		groups[fv] = append(groups[fv], col)
	}
	var best fieldVersion
	bestN := 0
	for fv, cols := range groups {
		if len(cols) > bestN || (len(cols) == bestN && (fv.H > best.H || fv.H == best.H && fv.B > best.B)) {
			best, bestN = fv, len(cols)
		}
	}
	if bestN < 2 {
		b, err := appendVersions(nil, v, fieldVersion{}, nil, nil)
		if err != nil {
			return json.Marshal(v)
		}
		return b, nil
	}
	cols := groups[best]
	sort.Strings(cols)
	var except []string
	useX := false
	if all != nil {
		except, useX = exceptColumns(all, cols, v)
	}
	own := make(map[string]fieldVersion, len(v)-bestN)
	for col, fv := range v {
		if fv != best {
			own[col] = fv
		}
	}
	sv := sharedVersion{H: best.H, B: best.B, C: cols}
	if useX {
		sv.C, sv.X = nil, except
	}
	b, err := appendVersions(nil, own, best, sv.C, sv.X)
	if err != nil {
		out := make(map[string]any, len(own)+1)
		for k, fv := range own {
			out[k] = fv
		}
		out[sharedKey] = sv
		return json.Marshal(out)
	}
	return b, nil
}

// exceptColumns returns the columns of all that are neither in shared nor
// have a version in v, and whether the "x" form is the shorter one (it is
// only usable when every shared column is a column of the table).
func exceptColumns(all, shared []string, v map[string]fieldVersion) ([]string, bool) {
	except := []string{}
	i, inTable := 0, 0
	for _, c := range all {
		for i < len(shared) && shared[i] < c {
			i++
		}
		if i < len(shared) && shared[i] == c {
			inTable++
			continue
		}
		if _, ok := v[c]; !ok {
			except = append(except, c)
		}
	}
	return except, inTable == len(shared) && len(except) < len(shared)
}

// appendVersions writes the JSON encoding (the bytes json.Marshal writes
// for the equivalent map: sorted keys, struct field order) directly, for
// the common case where every name and clock is plain ASCII; it fails
// otherwise and the caller goes through encoding/json.
func appendVersions(b []byte, own map[string]fieldVersion, shared fieldVersion, c, x []string) ([]byte, error) {
	hasShared := c != nil || x != nil
	keys := make([]string, 0, len(own)+1)
	for k := range own {
		keys = append(keys, k)
	}
	if hasShared {
		keys = append(keys, sharedKey)
	}
	sort.Strings(keys)
	if b == nil {
		b = make([]byte, 0, 64+len(keys)*48+(len(c)+len(x))*16)
	}
	ok := true
	str := func(s string) {
		if ok {
			b, ok = appendPlain(b, s)
		}
	}
	list := func(name string, l []string) {
		b = append(b, `,"`+name+`":[`...)
		for j, s := range l {
			if j > 0 {
				b = append(b, ',')
			}
			str(s)
		}
		b = append(b, ']')
	}
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		str(k)
		fv := own[k]
		if k == sharedKey {
			fv = shared
		}
		b = append(b, `:{"h":`...)
		str(fv.H)
		b = append(b, `,"b":`...)
		str(fv.B)
		if k == sharedKey {
			if c != nil {
				list("c", c)
			} else {
				list("x", x)
			}
		}
		b = append(b, '}')
	}
	b = append(b, '}')
	if !ok {
		return nil, errNotPlain
	}
	return b, nil
}

var errNotPlain = fmt.Errorf("store: not plain ASCII")

// appendPlain appends s as a JSON string if it needs no escaping.
func appendPlain(b []byte, s string) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return b, false
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), true
}

// encodeInserted is encodeVersions for a row inserted whole: the written
// columns (sorted, at least two) all carry {h, ""}.
func encodeInserted(h string, written, all []string) ([]byte, bool) {
	var c, x []string = written, nil
	if all != nil {
		if except, useX := exceptColumns(all, written, nil); useX {
			c, x = nil, except
		}
	}
	b, err := appendVersions(nil, nil, fieldVersion{H: h}, c, x)
	return b, err == nil
}

// decodeVersions decodes what encodeVersions wrote; all is the table's
// versioned columns, sorted (needed by the "x" form).
func decodeVersions(raw string, all []string) (map[string]fieldVersion, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return nil, err
	}
	v := make(map[string]fieldVersion, len(m)+len(all))
	var shared *sharedVersion
	for k, r := range m {
		if k == sharedKey {
			var sv sharedVersion
			if err := json.Unmarshal(r, &sv); err != nil {
				return nil, err
			}
			shared = &sv
			continue
		}
		var fv fieldVersion
		if err := json.Unmarshal(r, &fv); err != nil {
			return nil, err
		}
		v[k] = fv
	}
	if shared == nil {
		return v, nil
	}
	fv := fieldVersion{H: shared.H, B: shared.B}
	if shared.C != nil {
		for _, c := range shared.C {
			v[c] = fv
		}
		return v, nil
	}
	except := make(map[string]bool, len(shared.X))
	for _, c := range shared.X {
		except[c] = true
	}
	for _, c := range all {
		if _, own := v[c]; !own && !except[c] {
			v[c] = fv
		}
	}
	return v, nil
}
