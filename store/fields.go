package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"
)

// DecodeFields decodes a change's JSON object of column values: a flat
// object whose values are strings, numbers (integers stay exact int64, other
// numbers become float64), booleans (stored as 0/1) or null. Nested objects
// and arrays are refused, and so is anything after the object.
//
// It is on the hot path of every applied change, so it scans the object by
// hand instead of going through encoding/json's reflection; the few strings
// that contain escapes or non-ASCII bytes are handed to encoding/json so the
// result is the same as json.Unmarshal's (FuzzDecodeFields checks this).
func DecodeFields(raw []byte) (Fields, error) {
	f, _, err := decodeFields(raw, nil)
	return f, err
}

// Decoded is a change's data decoded ahead of the transaction that applies
// it (by a goroutine that is not the writer): its fields and their names,
// sorted.
type Decoded struct {
	Fields Fields
	Keys   []string

	ready *readyInsert // set by DB.PrepareInsert
}

// DecodeChange is DecodeFields that also lists the keys, sorted. Replicas
// write objects with sorted keys, so the order read is usually the one
// wanted and no sort runs.
func DecodeChange(raw []byte) (Decoded, error) {
	f, keys, err := decodeFields(raw, make([]string, 0, 32))
	if err != nil {
		return Decoded{}, err
	}
	if len(keys) != len(f) || !slices.IsSorted(keys) {
		keys = keys[:0]
		for k := range f {
			keys = append(keys, k)
		}
		slices.Sort(keys)
	}
	return Decoded{Fields: f, Keys: keys}, nil
}

// decodeFields decodes the object, appending its keys in order to keys
// when keys is not nil.
func decodeFields(raw []byte, keys []string) (Fields, []string, error) {
	d := fieldDecoder{b: raw}
	f := make(Fields, 32)
	d.space()
	if !d.eat('{') {
		return nil, nil, d.errorf("expected '{'")
	}
	d.space()
	if d.eat('}') {
		return f, keys, d.end()
	}
	for {
		d.space()
		key, err := d.str()
		if err != nil {
			return nil, nil, err
		}
		d.space()
		if !d.eat(':') {
			return nil, nil, d.errorf("expected ':' after key %q", key)
		}
		d.space()
		v, err := d.value(key)
		if err != nil {
			return nil, nil, err
		}
		f[key] = v
		if keys != nil {
			keys = append(keys, key)
		}
		d.space()
		if d.eat(',') {
			continue
		}
		if d.eat('}') {
			return f, keys, d.end()
		}
		return nil, nil, d.errorf("expected ',' or '}'")
	}
}

type fieldDecoder struct {
	b []byte
	i int
}

func (d *fieldDecoder) errorf(format string, a ...any) error {
	return fmt.Errorf("offset %d: %s", d.i, fmt.Sprintf(format, a...))
}

func (d *fieldDecoder) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *fieldDecoder) eat(c byte) bool {
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

func (d *fieldDecoder) end() error {
	d.space()
	if d.i != len(d.b) {
		return d.errorf("data after the object")
	}
	return nil
}

// str reads a JSON string.
func (d *fieldDecoder) str() (string, error) {
	if !d.eat('"') {
		return "", d.errorf("expected a string")
	}
	start := d.i
	simple := true
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			if simple {
				return string(d.b[start : d.i-1]), nil
			}
			var s string
			if err := json.Unmarshal(d.b[start-1:d.i], &s); err != nil {
				return "", d.errorf("string: %v", err)
			}
			return s, nil
		case c == '\\':
			simple = false
			d.i += 2 // the escaped byte can be a quote; encoding/json validates the escape
			continue
		case c < 0x20:
			return "", d.errorf("control character in string")
		case c >= utf8.RuneSelf:
			simple = false
		}
		d.i++
	}
	return "", d.errorf("unterminated string")
}

var errNested = errors.New("unsupported value")

func (d *fieldDecoder) value(key string) (any, error) {
	if d.i >= len(d.b) {
		return nil, d.errorf("missing value")
	}
	switch c := d.b[d.i]; {
	case c == '"':
		return d.str()
	case c == 'n':
		return nil, d.literal("null")
	case c == 't':
		return int64(1), d.literal("true")
	case c == 'f':
		return int64(0), d.literal("false")
	case c == '-' || (c >= '0' && c <= '9'):
		return d.number(key)
	case c == '{' || c == '[':
		return nil, fmt.Errorf("column %s: %w", key, errNested)
	}
	return nil, d.errorf("unexpected %q", d.b[d.i])
}

func (d *fieldDecoder) literal(word string) error {
	if len(d.b)-d.i < len(word) || string(d.b[d.i:d.i+len(word)]) != word {
		return d.errorf("invalid literal")
	}
	d.i += len(word)
	return nil
}

// number reads a number with JSON's grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *fieldDecoder) number(key string) (any, error) {
	start := d.i
	digits := func() int {
		n := 0
		for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
			d.i++
			n++
		}
		return n
	}
	d.eat('-')
	if d.eat('0') {
		// a leading zero stands alone
	} else if digits() == 0 {
		return nil, d.errorf("invalid number")
	}
	integer := true
	if d.eat('.') {
		integer = false
		if digits() == 0 {
			return nil, d.errorf("invalid number")
		}
	}
	if d.i < len(d.b) && (d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		integer = false
		d.i++
		if !d.eat('+') {
			d.eat('-')
		}
		if digits() == 0 {
			return nil, d.errorf("invalid number")
		}
	}
	s := string(d.b[start:d.i])
	if integer {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n, nil
		}
	}
	fl, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, fmt.Errorf("column %s: bad number %s", key, s)
	}
	return fl, nil
}
