package store

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var testColumns = []string{"a", "b", "c", "d", "e", "email", "f", "g", "h", "i", "j", "k", "l", "m", "n", "name", "o", "p", "phone", "q", "r", "s", "surname", "t"}

func TestVersionsEncodingRoundTripAndSize(t *testing.T) {
	h1, h2 := "1767225600000-00000000-a", "1767225600001-00000000-b"
	most := map[string]fieldVersion{}
	for _, c := range testColumns[:20] {
		most[c] = fieldVersion{H: h1}
	}
	most["phone"] = fieldVersion{H: h2, B: h1}
	cases := []map[string]fieldVersion{
		{},
		{"surname": {H: h1}},
		{"surname": {H: h1}, "name": {H: h1}, "email": {H: h1}, "phone": {H: h2, B: h1}},
		{"a": {H: h1}, "b": {H: h2}},
		{"a": {H: h1}, "b": {H: h1}, "c<": {H: h2}},          // escaped by encoding/json
		{"a": {H: "città"}, "b": {H: "città"}, "c": {H: h2}}, // not plain ASCII
		most,
	}
	for _, all := range [][]string{nil, testColumns} {
		for _, v := range cases {
			b, err := encodeVersions(v, all)
			if err != nil {
				t.Fatal(err)
			}
			got, err := decodeVersions(string(b), all)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(v, got); d != "" {
				t.Errorf("round trip of %v as %s (-want +got):\n%s", v, b, d)
			}
			if !json.Valid(b) {
				t.Errorf("not JSON: %s", b)
			}
		}
	}
	// Rows written before the compact encodings still decode.
	old := `{"surname":{"h":"` + h1 + `","b":""},"name":{"h":"` + h2 + `","b":"` + h1 + `"}}`
	got, err := decodeVersions(old, testColumns)
	if err != nil || got["name"].B != h1 || got["surname"].H != h1 || len(got) != 2 {
		t.Fatalf("old format: %v %v", got, err)
	}
	// Twenty columns written together store one version and list the few
	// columns that do not share it.
	b, _ := encodeVersions(most, testColumns)
	if len(b) > 160 {
		t.Fatalf("compact encoding is %d bytes: %s", len(b), b)
	}
}

func TestInsertedEncodingIsEncodeVersions(t *testing.T) {
	h := "1767225600000-00000000-a"
	for _, cols := range [][]string{{"email", "name", "surname"}, testColumns[:18], testColumns} {
		v := map[string]fieldVersion{}
		for _, c := range cols {
			v[c] = fieldVersion{H: h}
		}
		for _, all := range [][]string{nil, testColumns} {
			want, err := encodeVersions(v, all)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := encodeInserted(h, cols, all)
			if !ok || string(got) != string(want) {
				t.Fatalf("encodeInserted %s (%v), encodeVersions %s", got, ok, want)
			}
		}
	}
}
