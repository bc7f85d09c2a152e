package store

import (
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestVersionsEncodingRoundTripAndSize(t *testing.T) {
	h1, h2 := "1767225600000-00000000-a", "1767225600001-00000000-b"
	cases := []map[string]fieldVersion{
		{},
		{"surname": {H: h1}},
		{"surname": {H: h1}, "name": {H: h1}, "email": {H: h1}, "phone": {H: h2, B: h1}},
		{"a": {H: h1}, "b": {H: h2}},
	}
	for _, v := range cases {
		b, err := encodeVersions(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeVersions(string(b))
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(v, got); d != "" {
			t.Errorf("round trip of %v (-want +got):\n%s", v, d)
		}
	}
	// Rows written before the compact encoding still decode.
	old := `{"surname":{"h":"` + h1 + `","b":""},"name":{"h":"` + h2 + `","b":"` + h1 + `"}}`
	got, err := decodeVersions(old)
	if err != nil || got["name"].B != h1 || got["surname"].H != h1 {
		t.Fatalf("old format: %v %v", got, err)
	}
	// Twenty columns written together store one version.
	many := map[string]fieldVersion{}
	for _, c := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "s", "t"} {
		many[c] = fieldVersion{H: h1}
	}
	b, _ := encodeVersions(many)
	if len(b) > 200 {
		t.Fatalf("compact encoding is %d bytes: %s", len(b), b)
	}
}

func TestVersionsFastEncodingIsJSONMarshal(t *testing.T) {
	h1, h2 := "1767225600000-00000000-a", "1767225600001-00000000-b"
	cases := []map[string]fieldVersion{
		{},
		{"surname": {H: h1}},
		{"surname": {H: h1}, "name": {H: h1}, "email": {H: h1}, "phone": {H: h2, B: h1}},
		{"a": {H: h1}, "b": {H: h2}},
		{"a": {H: h1}, "b": {H: h1}, "c<": {H: h2}},          // escaped by encoding/json
		{"a": {H: "città"}, "b": {H: "città"}, "c": {H: h2}}, // not plain ASCII
	}
	for _, v := range cases {
		fast, err := encodeVersions(v)
		if err != nil {
			t.Fatal(err)
		}
		groups := map[fieldVersion][]string{}
		for c, fv := range v {
			groups[fv] = append(groups[fv], c)
		}
		var best fieldVersion
		bestN := 0
		for fv, cols := range groups {
			if len(cols) > bestN || (len(cols) == bestN && (fv.H > best.H || fv.H == best.H && fv.B > best.B)) {
				best, bestN = fv, len(cols)
			}
		}
		cols := groups[best]
		sort.Strings(cols)
		slow, err := encodeVersionsSlow(v, best, bestN, cols)
		if err != nil {
			t.Fatal(err)
		}
		if string(fast) != string(slow) {
			t.Errorf("fast %s\nslow %s", fast, slow)
		}
	}
}

func TestSharedEncodingIsEncodeVersions(t *testing.T) {
	h := "1767225600000-00000000-a"
	cols := []string{"address_city", "email", "name", "surname"}
	v := map[string]fieldVersion{}
	for _, c := range cols {
		v[c] = fieldVersion{H: h}
	}
	want, err := encodeVersions(v)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := encodeShared(h, cols)
	if !ok || string(got) != string(want) {
		t.Fatalf("encodeShared %s (%v), encodeVersions %s", got, ok, want)
	}
}
