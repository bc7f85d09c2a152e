package filetype

import (
	"bytes"
	"encoding/base64"
)

// oidSignedData is the DER encoding (tag, length, value) of the object
// identifier 1.2.840.113549.1.7.2 (PKCS#7 signedData).
var oidSignedData = []byte{0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x02}

// signedData reports whether head starts a PKCS#7 ContentInfo of type
// signedData, either as DER/BER or base64-encoded (with or without PEM
// armour). It returns the binary head of the envelope.
func signedData(head []byte) ([]byte, bool) {
	if isSignedData(head) {
		return head, true
	}
	if der := decodeBase64Head(head); isSignedData(der) {
		return der, true
	}
	return nil, false
}

// isSignedData checks for SEQUENCE { OBJECT IDENTIFIER signedData, ... }.
func isSignedData(b []byte) bool {
	tag, hdr, _, ok := berHeader(b)
	return ok && tag == 0x30 && bytes.HasPrefix(b[hdr:], oidSignedData)
}

// berHeader parses the identifier and length octets at the start of b,
// returning the tag byte, the header length and the content length (-1 for
// the indefinite form). Only low tag numbers are supported.
func berHeader(b []byte) (tag byte, hdr, length int, ok bool) {
	if len(b) < 2 || b[0]&0x1F == 0x1F {
		return 0, 0, 0, false
	}
	tag = b[0]
	l := b[1]
	switch {
	case l < 0x80:
		return tag, 2, int(l), true
	case l == 0x80:
		if tag&0x20 == 0 { // indefinite length needs a constructed encoding
			return 0, 0, 0, false
		}
		return tag, 2, -1, true
	}
	n := int(l & 0x7F)
	if n > 4 || len(b) < 2+n {
		return 0, 0, 0, false
	}
	v := 0
	for _, c := range b[2 : 2+n] {
		v = v<<8 | int(c)
	}
	if v < 0 || v > 1<<31-1 {
		return 0, 0, 0, false
	}
	return tag, 2 + n, v, true
}

// skipElement returns the offset just past the element starting at p,
// following indefinite-length encodings down to a bounded depth.
func skipElement(b []byte, p, depth int) (int, bool) {
	if depth > 16 || p >= len(b) {
		return 0, false
	}
	_, hdr, length, ok := berHeader(b[p:])
	if !ok {
		return 0, false
	}
	p += hdr
	if length >= 0 {
		if length > len(b)-p {
			return 0, false
		}
		return p + length, true
	}
	for {
		if p+1 < len(b) && b[p] == 0 && b[p+1] == 0 { // end-of-contents
			return p + 2, true
		}
		if p, ok = skipElement(b, p, depth+1); !ok {
			return 0, false
		}
	}
}

// enter checks that the element at p has the given tag and returns the offset
// of its content.
func enter(b []byte, p int, tag byte) (int, bool) {
	if p >= len(b) {
		return 0, false
	}
	t, hdr, _, ok := berHeader(b[p:])
	if !ok || t != tag {
		return 0, false
	}
	return p + hdr, true
}

// envelopedContent returns the leading bytes of the document embedded in a
// signedData envelope (encapContentInfo.eContent), or nil for a detached
// signature or when the head does not reach it. b may be truncated.
//
//	ContentInfo ::= SEQUENCE { contentType OID, content [0] EXPLICIT SignedData }
//	SignedData ::= SEQUENCE { version INTEGER, digestAlgorithms SET,
//	    encapContentInfo SEQUENCE { eContentType OID, eContent [0] EXPLICIT OCTET STRING OPTIONAL }, ... }
func envelopedContent(b []byte) []byte {
	p, ok := enter(b, 0, 0x30)
	steps := []struct {
		skip bool
		tag  byte
	}{
		{true, 0x06},  // contentType
		{false, 0xA0}, // [0] content
		{false, 0x30}, // SignedData
		{true, 0x02},  // version
		{true, 0x31},  // digestAlgorithms
		{false, 0x30}, // encapContentInfo
		{true, 0x06},  // eContentType
		{false, 0xA0}, // [0] eContent
	}
	for _, s := range steps {
		if !ok {
			return nil
		}
		if s.skip {
			if p >= len(b) || b[p] != s.tag {
				return nil
			}
			p, ok = skipElement(b, p, 0)
		} else {
			p, ok = enter(b, p, s.tag)
		}
	}
	if !ok || p >= len(b) {
		return nil
	}
	tag, hdr, length, ok := berHeader(b[p:])
	if !ok {
		return nil
	}
	switch tag {
	case 0x04: // primitive OCTET STRING
		start := p + hdr
		return b[start:min(len(b), start+length)]
	case 0x24: // constructed OCTET STRING: concatenate the primitive chunks
		var out []byte
		for q := p + hdr; q < len(b); {
			t, h, l, ok := berHeader(b[q:])
			if !ok || t != 0x04 {
				break
			}
			start := q + h
			end := min(len(b), start+l)
			out = append(out, b[start:end]...)
			q = start + l
		}
		return out
	}
	return nil
}

// decodeBase64Head decodes the leading base64 text of head (optionally after
// a PEM "-----BEGIN ...-----" line), ignoring line breaks. It returns nil when
// head does not start with base64.
func decodeBase64Head(head []byte) []byte {
	s := bytes.TrimLeft(head, " \t\r\n")
	if bytes.HasPrefix(s, []byte("-----BEGIN ")) {
		i := bytes.IndexByte(s, '\n')
		if i < 0 {
			return nil
		}
		s = s[i+1:]
	}
	// A DER SEQUENCE encodes as "MI" (definite length) or "MIA" / "MIAG"
	// (indefinite): anything else is not a base64 p7m.
	if !bytes.HasPrefix(s, []byte("MI")) {
		return nil
	}
	clean := make([]byte, 0, len(s))
scan:
	for _, c := range s {
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/':
			clean = append(clean, c)
		case c == '\r' || c == '\n' || c == ' ' || c == '\t':
		default: // '=' padding or the end of the base64 text
			break scan
		}
	}
	clean = clean[:len(clean)/4*4]
	out := make([]byte, base64.StdEncoding.DecodedLen(len(clean)))
	n, err := base64.StdEncoding.Decode(out, clean)
	if err != nil {
		return nil
	}
	return out[:n]
}
