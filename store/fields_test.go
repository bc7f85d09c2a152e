package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// referenceDecodeFields is the encoding/json decoding DecodeFields must match.
func referenceDecodeFields(raw []byte) (Fields, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, fmt.Errorf("not an object")
	}
	if len(bytes.TrimLeft(raw[dec.InputOffset():], " \t\r\n")) > 0 {
		return nil, fmt.Errorf("data after the object")
	}
	f := Fields{}
	for k, v := range m {
		switch x := v.(type) {
		case json.Number:
			if i, err := x.Int64(); err == nil {
				f[k] = i
			} else if fl, err := x.Float64(); err == nil {
				f[k] = fl
			} else {
				return nil, fmt.Errorf("column %s: bad number %s", k, x)
			}
		case string, nil:
			f[k] = x
		case bool:
			f[k] = map[bool]int64{false: 0, true: 1}[x]
		default:
			return nil, fmt.Errorf("column %s: unsupported value %T", k, v)
		}
	}
	return f, nil
}

var fieldSeeds = []string{
	`{}`, ` { } `, `{"a":1}`, `{"a":-0,"b":1.5,"c":1e3,"d":-12E-2,"e":99999999999999999999}`,
	`{"s":"plain","t":"caf\u00e9","u":"città","v":"a\"b\\c\/d\n","w":"\ud83d\ude00","x":"\ud800"}`,
	`{"n":null,"t":true,"f":false}`, `{"a":1,"a":2}`, `{"b":1,"a":2}`, `{"b":1,"a":2,"b":3}`, `{"a":[1]}`, `{"a":{"b":1}}`,
	`{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":-}`, `{"a":1e}`, `{"a":"\x01"}`, `{"a":"x`, `{"a":"\`,
	`{"a":1}x`, `{"a":1} `, `{"a" 1}`, `{"a":1,}`, `{,}`, `[]`, `null`, `"s"`, ``, `{"a":nul}`, `{"a":tru}`,
	`{"a":"\q"}`, `{"a":"\u12"}`, "{\"a\":\"\xff\xfe\"}", "{\"\xc3\":1}", `{"a":1e999}`, `{"a":"x"}{}`,
}

func TestDecodeFieldsMatchesEncodingJSON(t *testing.T) {
	for _, s := range fieldSeeds {
		checkDecodeFields(t, []byte(s))
	}
	got, err := DecodeFields([]byte(`{"a":12,"b":"x","c":null,"d":true,"e":2.5}`))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Fields{"a": int64(12), "b": "x", "c": nil, "d": int64(1), "e": 2.5}, got); diff != "" {
		t.Fatal(diff)
	}
}

func checkDecodeFields(t *testing.T, raw []byte) {
	t.Helper()
	want, werr := referenceDecodeFields(raw)
	got, gerr := DecodeFields(raw)
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("%q: reference error %v, DecodeFields error %v", raw, werr, gerr)
	}
	if werr == nil {
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("%q: %s", raw, diff)
		}
	}
	// DecodeChange: the same fields, and their names once each, sorted.
	d, derr := DecodeChange(raw)
	if (derr == nil) != (gerr == nil) {
		t.Fatalf("%q: DecodeFields error %v, DecodeChange error %v", raw, gerr, derr)
	}
	if derr == nil {
		keys := make([]string, 0, len(want))
		for k := range want {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if diff := cmp.Diff(want, d.Fields); diff != "" {
			t.Fatalf("%q: DecodeChange fields: %s", raw, diff)
		}
		if diff := cmp.Diff(keys, d.Keys, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("%q: DecodeChange keys: %s", raw, diff)
		}
	}
}

func FuzzDecodeFields(f *testing.F) {
	for _, s := range fieldSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) { checkDecodeFields(t, raw) })
}

func BenchmarkDecodeFields(b *testing.B) {
	raw := []byte(`{"address_city":"Valfiorita","address_street":"Via Giuseppe Garibaldi 123, scala B, interno 4","birth_date":"1980-01-01","created_at":"2026-11-23T15:00:00.000Z","email":"utente0000001@example.it","name":"Nome Secondo","notes":"Annotazioni di sportello: documento verificato","privacy_consent":0,"surname":"Cognome0000001"}`)
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			DecodeFields(raw)
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		for b.Loop() {
			referenceDecodeFields(raw)
		}
	})
}
