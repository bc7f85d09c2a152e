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
		return json.Marshal(v)
	}
	out := make(map[string]any, len(v)-bestN+1)
	cols := groups[best]
	sort.Strings(cols)
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
