package pdf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goitalic"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/text/unicode/norm"
)

// fontSources are the embedded TrueType fonts, indexed by face.
var fontSources = [...][]byte{
	faceRegular: goregular.TTF,
	faceBold:    gobold.TTF,
	faceItalic:  goitalic.TTF,
	faceMono:    gomono.TTF,
}

// preparedFonts holds the fonts rewritten by fullHMetrics.
var preparedFonts = sync.OnceValue(func() [len(fontSources)][]byte {
	var out [len(fontSources)][]byte
	for i, src := range fontSources {
		b, err := fullHMetrics(src)
		if err != nil {
			b = bytes.Clone(src)
		}
		out[i] = b
	}
	return out
})

// fontBytes returns a private copy of the TrueType data of fc, ready to be
// embedded. The PDF library receives a fresh copy for every document
// because gofpdf writes into the slice it is given.
func fontBytes(fc face) []byte {
	return bytes.Clone(preparedFonts()[fc])
}

// fullHMetrics returns a copy of the TrueType font ttf whose hmtx table has
// one full (advance, lsb) record per glyph, i.e. hhea.numberOfHMetrics ==
// maxp.numGlyphs. Fonts with a shortened hmtx (Go Mono has a single long
// record, the proportional Go fonts lack it for their last glyph) trigger a
// bug in gofpdf's subsetter, which reads the left side bearings of the
// remaining glyphs from the wrong offset and overwrites the font data.
// Expanding the table is valid TrueType and avoids that code path.
func fullHMetrics(ttf []byte) ([]byte, error) {
	errBad := errors.New("malformed TrueType font")
	if len(ttf) < 12 {
		return nil, errBad
	}
	be := binary.BigEndian
	numTables := int(be.Uint16(ttf[4:]))
	if len(ttf) < 12+16*numTables {
		return nil, errBad
	}
	type tableRec struct {
		tag  string
		data []byte
	}
	tables := make([]tableRec, numTables)
	idx := map[string]int{}
	for i := range numTables {
		rec := ttf[12+16*i:]
		off, n := int(be.Uint32(rec[8:])), int(be.Uint32(rec[12:]))
		if off < 0 || n < 0 || off+n > len(ttf) {
			return nil, errBad
		}
		tables[i] = tableRec{string(rec[:4]), ttf[off : off+n]}
		idx[string(rec[:4])] = i
	}
	ih, ok1 := idx["hhea"]
	im, ok2 := idx["hmtx"]
	ip, ok3 := idx["maxp"]
	ihead, ok4 := idx["head"]
	if !ok1 || !ok2 || !ok3 || !ok4 || len(tables[ih].data) < 36 || len(tables[ip].data) < 6 || len(tables[ihead].data) < 12 {
		return nil, errBad
	}
	numHM := int(be.Uint16(tables[ih].data[34:]))
	numGlyphs := int(be.Uint16(tables[ip].data[4:]))
	hmtx := tables[im].data
	if numHM == 0 || len(hmtx) < numHM*4+(numGlyphs-numHM)*2 {
		return nil, errBad
	}
	if numHM >= numGlyphs {
		return bytes.Clone(ttf), nil
	}
	full := make([]byte, 0, numGlyphs*4)
	full = append(full, hmtx[:numHM*4]...)
	lastAdvance := hmtx[(numHM-1)*4 : (numHM-1)*4+2]
	for g := numHM; g < numGlyphs; g++ {
		lsb := hmtx[numHM*4+(g-numHM)*2:][:2]
		full = append(full, lastAdvance...)
		full = append(full, lsb...)
	}
	tables[im].data = full
	hhea := bytes.Clone(tables[ih].data)
	be.PutUint16(hhea[34:], uint16(numGlyphs))
	tables[ih].data = hhea
	head := bytes.Clone(tables[ihead].data)
	be.PutUint32(head[8:], 0) // checkSumAdjustment, recomputed below
	tables[ihead].data = head

	checksum := func(b []byte) uint32 {
		var sum uint32
		for i := 0; i < len(b); i += 4 {
			var w [4]byte
			copy(w[:], b[i:])
			sum += be.Uint32(w[:])
		}
		return sum
	}
	out := make([]byte, 12+16*numTables, len(ttf)+len(full))
	copy(out, ttf[:12])
	for i, t := range tables {
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
		rec := out[12+16*i:]
		copy(rec[:4], t.tag)
		be.PutUint32(rec[4:], checksum(t.data))
		be.PutUint32(rec[8:], uint32(len(out)))
		be.PutUint32(rec[12:], uint32(len(t.data)))
		out = append(out, t.data...)
	}
	for len(out)%4 != 0 {
		out = append(out, 0)
	}
	headOff := int(be.Uint32(out[12+16*ihead+8:]))
	be.PutUint32(out[headOff+8:], 0xB1B0AFBA-checksum(out))
	return out, nil
}

// coverage reports, for every BMP rune, whether all the embedded fonts have
// a glyph for it.
var coverage = sync.OnceValue(func() []bool {
	cov := make([]bool, 0x10000)
	for r := range cov {
		cov[r] = true
	}
	var buf sfnt.Buffer
	for _, src := range fontSources {
		f, err := sfnt.Parse(src)
		if err != nil {
			continue
		}
		for r := range cov {
			if cov[r] {
				gi, err := f.GlyphIndex(&buf, rune(r))
				cov[r] = err == nil && gi != 0
			}
		}
	}
	return cov
})

func covered(r rune) bool {
	return r >= 0 && r < 0x10000 && coverage()[r]
}

// printable replaces the characters the fonts cannot draw: letters with
// diacritics lose the marks the fonts lack ("ễ" becomes "e"), control
// characters are dropped, anything else becomes "?".
func printable(s string) string {
	ok := true
	for _, r := range s {
		if r >= utf8.RuneSelf && !covered(r) || r < ' ' || r == 0x7f {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case covered(r) && !unicode.IsControl(r):
			b.WriteRune(r)
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Mn, r):
			// dropped
		case unicode.IsSpace(r):
			b.WriteByte(' ')
		default:
			base := []rune(norm.NFD.String(string(r)))
			if len(base) > 1 && covered(base[0]) {
				b.WriteRune(base[0])
			} else {
				b.WriteByte('?')
			}
		}
	}
	return b.String()
}
