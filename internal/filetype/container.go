package filetype

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"

	"sportello/internal/catalog"
)

const odtMimeType = "application/vnd.oasis.opendocument.text"

// zipHeadFormat classifies a ZIP archive from its head by walking the local
// file headers found there: an ODF text document stores its "mimetype" entry
// first and uncompressed; an OOXML word-processing document has
// "[Content_Types].xml" and entries under "word/".
func zipHeadFormat(head []byte) catalog.Format {
	var contentTypes, word bool
	for p := 0; ; {
		i := bytes.Index(head[p:], magicZIP)
		if i < 0 {
			break
		}
		p += i
		h := head[p:]
		if len(h) < 30 {
			break
		}
		method := binary.LittleEndian.Uint16(h[8:])
		compSize := int(binary.LittleEndian.Uint32(h[18:]))
		nameLen := int(binary.LittleEndian.Uint16(h[26:]))
		extraLen := int(binary.LittleEndian.Uint16(h[28:]))
		if len(h) < 30+nameLen {
			break
		}
		name := string(h[30 : 30+nameLen])
		if p == 0 && name == "mimetype" && method == zip.Store {
			data := h[min(len(h), 30+nameLen+extraLen):]
			if compSize > 0 && compSize <= len(data) && string(data[:compSize]) == odtMimeType {
				return catalog.FormatODT
			}
			// Sizes deferred to a data descriptor: the value must be followed
			// by the descriptor's "PK" signature or a byte that cannot
			// continue a media type, which excludes "...text-template" and
			// "...text-master".
			if compSize == 0 && bytes.HasPrefix(data, []byte(odtMimeType)) {
				rest := data[len(odtMimeType):]
				if len(rest) == 0 || bytes.HasPrefix(rest, []byte("PK")) || !isMediaTypeChar(rest[0]) {
					return catalog.FormatODT
				}
			}
		}
		if name == "[Content_Types].xml" {
			contentTypes = true
		}
		if strings.HasPrefix(name, "word/") {
			word = true
		}
		p += 30 + nameLen
	}
	if contentTypes && word {
		return catalog.FormatDOCX
	}
	return catalog.FormatZIP
}

// zipFormat classifies a ZIP archive through its central directory. ok is
// false when the archive cannot be read.
func zipFormat(r io.ReaderAt, size int64) (catalog.Format, bool) {
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return "", false
	}
	var contentTypes, word bool
	for _, f := range zr.File {
		switch {
		case f.Name == "mimetype":
			if isODTMimeEntry(f) {
				return catalog.FormatODT, true
			}
		case f.Name == "[Content_Types].xml":
			contentTypes = true
		case strings.HasPrefix(f.Name, "word/"):
			word = true
		}
	}
	if contentTypes && word {
		return catalog.FormatDOCX, true
	}
	return catalog.FormatZIP, true
}

func isODTMimeEntry(f *zip.File) bool {
	if f.UncompressedSize64 > 256 {
		return false
	}
	rc, err := f.Open()
	if err != nil {
		return false
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, 256))
	return err == nil && strings.TrimSpace(string(b)) == odtMimeType
}

func isMediaTypeChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '+'
}
