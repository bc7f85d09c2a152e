package filetype

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

var bomUTF8 = []byte{0xEF, 0xBB, 0xBF}

// isXML recognises an XML document: an XML declaration (after an optional
// byte-order mark), or a comment, DOCTYPE or element at the start of valid
// UTF-8 text. HTML pages are not XML documents here.
func isXML(head []byte) bool {
	// UTF-16 with byte-order mark and "<?".
	if bytes.HasPrefix(head, []byte{0xFF, 0xFE, '<', 0, '?', 0}) ||
		bytes.HasPrefix(head, []byte{0xFE, 0xFF, 0, '<', 0, '?'}) {
		return true
	}
	b := bytes.TrimPrefix(head, bomUTF8)
	if bytes.HasPrefix(b, []byte("<?xml")) && len(b) > 5 && isXMLSpace(b[5]) {
		return true
	}
	if !validText(head, len(head) >= HeadSize) {
		return false
	}
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) < 2 || b[0] != '<' {
		return false
	}
	lower := bytes.ToLower(b[:min(len(b), 16)])
	switch {
	case bytes.HasPrefix(lower, []byte("<!doctype html")), bytes.HasPrefix(lower, []byte("<html")):
		return false
	case bytes.HasPrefix(b, []byte("<!--")), bytes.HasPrefix(b, []byte("<!DOCTYPE")):
		return true
	case b[1] == '?' && len(b) > 2 && isNameStart(b[2]): // processing instruction, e.g. <?xml-stylesheet
		return true
	}
	return isNameStart(b[1])
}

func isNameStart(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '_' || c == ':' || c >= 0x80
}

func isXMLSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// validText reports whether b is non-empty UTF-8 text without NUL bytes.
// When truncated is true b is a prefix of a longer file, so an incomplete
// multi-byte sequence at the very end is tolerated.
func validText(b []byte, truncated bool) bool {
	if len(b) == 0 || bytes.IndexByte(b, 0) >= 0 {
		return false
	}
	if utf8.Valid(b) {
		return true
	}
	if !truncated {
		return false
	}
	// Drop an incomplete trailing sequence (at most 3 bytes) and retry.
	for i := 1; i <= 3 && i < len(b); i++ {
		if utf8.RuneStart(b[len(b)-i]) {
			if !utf8.FullRune(b[len(b)-i:]) {
				return utf8.Valid(b[:len(b)-i])
			}
			break
		}
	}
	return false
}

// textReader streams the whole file and reports whether it is UTF-8 text
// without NUL bytes.
func textReader(r io.ReaderAt, size int64) (bool, error) {
	buf := make([]byte, 3+chunkSize)
	carry := 0 // bytes of an incomplete rune kept from the previous chunk
	for off := int64(0); off < size; {
		want := int(min(int64(chunkSize), size-off))
		n, err := r.ReadAt(buf[carry:carry+want], off)
		if n < want {
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return false, fmt.Errorf("filetype: reading at %d: %w", off, err)
		}
		off += int64(n)
		b := buf[:carry+n]
		if bytes.IndexByte(b, 0) >= 0 {
			return false, nil
		}
		carry = 0
		if off < size {
			// Keep an incomplete trailing rune for the next chunk.
			for i := 1; i <= 3 && i <= len(b); i++ {
				if utf8.RuneStart(b[len(b)-i]) {
					if !utf8.FullRune(b[len(b)-i:]) {
						carry = i
					}
					break
				}
			}
		}
		if !utf8.Valid(b[:len(b)-carry]) {
			return false, nil
		}
		copy(buf, b[len(b)-carry:])
	}
	return true, nil
}
