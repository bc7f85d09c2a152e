package store

import (
	"encoding/json"
	"sort"
)

// sharedKey holds, in the stored JSON of a row's field versions, the version
// that most columns share (typically all columns written by the row's
// insert) with the list of those columns: {"=": {"h":…, "b":…, "c":[…]}}.
// Other columns keep their own entry. A row of twenty columns written
// together stores one version instead of twenty (the initial copy of a
// large registry shrinks accordingly). "=" is never a column name; rows
// written before this encoding decode unchanged.
const sharedKey = "="

type sharedVersion struct {
	H string   `json:"h"`
	B string   `json:"b"`
	C []string `json:"c"`
}

func encodeVersions(v map[string]fieldVersion) ([]byte, error) {
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
		best = fieldVersion{}
	}
	keys := make([]string, 0, len(v)-bestN+1)
	for col, fv := range v {
		if bestN < 2 || fv != best {
			keys = append(keys, col)
		}
	}
	var cols []string
	if bestN >= 2 {
		cols = groups[best]
		sort.Strings(cols)
		keys = append(keys, sharedKey)
	}
	sort.Strings(keys)
	// The same bytes json.Marshal writes for the map, written directly: this
	// runs for every applied change. Columns and clocks are plain ASCII; any
	// other string goes through encoding/json.
	b := make([]byte, 0, 64+len(keys)*48+len(cols)*16)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		var ok bool
		if b, ok = appendPlain(b, k); !ok {
			return encodeVersionsSlow(v, best, bestN, cols)
		}
		b = append(b, ':')
		fv := v[k]
		if k == sharedKey {
			fv = best
		}
		b = append(b, `{"h":`...)
		if b, ok = appendPlain(b, fv.H); !ok {
			return encodeVersionsSlow(v, best, bestN, cols)
		}
		b = append(b, `,"b":`...)
		if b, ok = appendPlain(b, fv.B); !ok {
			return encodeVersionsSlow(v, best, bestN, cols)
		}
		if k == sharedKey {
			b = append(b, `,"c":[`...)
			for j, c := range cols {
				if j > 0 {
					b = append(b, ',')
				}
				if b, ok = appendPlain(b, c); !ok {
					return encodeVersionsSlow(v, best, bestN, cols)
				}
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	return append(b, '}'), nil
}

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

func encodeVersionsSlow(v map[string]fieldVersion, best fieldVersion, bestN int, cols []string) ([]byte, error) {
	if bestN < 2 {
		return json.Marshal(v)
	}
	out := make(map[string]any, len(v)-bestN+1)
	out[sharedKey] = sharedVersion{H: best.H, B: best.B, C: cols}
	for col, fv := range v {
		if fv != best {
			out[col] = fv
		}
	}
	return json.Marshal(out)
}

func decodeVersions(raw string) (map[string]fieldVersion, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return nil, err
	}
	v := make(map[string]fieldVersion, len(m))
	for k, r := range m {
		if k == sharedKey {
			var sv sharedVersion
			if err := json.Unmarshal(r, &sv); err != nil {
				return nil, err
			}
			for _, c := range sv.C {
				v[c] = fieldVersion{H: sv.H, B: sv.B}
			}
			continue
		}
		var fv fieldVersion
		if err := json.Unmarshal(r, &fv); err != nil {
			return nil, err
		}
		v[k] = fv
	}
	return v, nil
}

// encodeShared is encodeVersions for columns (sorted, at least two) that all
// carry the version {h, ""}: what a row inserted whole stores.
func encodeShared(h string, cols []string) ([]byte, bool) {
	b := make([]byte, 0, 40+len(h)+len(cols)*16)
	b = append(b, `{"=":{"h":`...)
	var ok bool
	if b, ok = appendPlain(b, h); !ok {
		return nil, false
	}
	b = append(b, `,"b":"","c":[`...)
	for i, c := range cols {
		if i > 0 {
			b = append(b, ',')
		}
		if b, ok = appendPlain(b, c); !ok {
			return nil, false
		}
	}
	return append(b, "]}}"...), true
}
