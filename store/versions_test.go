package store

import (
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
