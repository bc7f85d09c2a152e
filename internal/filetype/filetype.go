// Package filetype recognises the format of an uploaded file by its content,
// never by its name: a file called "contratto.pdf" that holds a JPEG is a
// JPEG. Besides the format it reports whether the file carries a digital
// signature (CAdES envelope, PAdES signature dictionary, XAdES signature) and
// whether a PDF declares PDF/A conformance.
//
// Detect works on the first bytes of a file only; DetectReader also reads the
// rest of the file where the answer depends on it (signatures and PDF/A
// metadata of PDFs, XAdES signatures at the end of XML documents, the central
// directory of ZIP archives, the validity of long text files), streaming with
// bounded memory.
package filetype

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"sportello/internal/catalog"
)

// HeadSize is how many leading bytes Detect looks at; longer inputs are
// truncated.
const HeadSize = 8 << 10

// SignatureKind tells which kind of digital signature a file carries.
type SignatureKind string

// Signature kinds.
const (
	SignatureNone  SignatureKind = ""
	SignatureCAdES SignatureKind = "cades" // p7m envelope (PKCS#7 / CMS SignedData)
	SignaturePAdES SignatureKind = "pades" // PDF with a signature dictionary
	SignatureXAdES SignatureKind = "xades" // XML with an XML-DSig Signature element
)

// Result is what the content of a file says about it.
type Result struct {
	// Format is the recognised format, "" when unknown. A PDF that declares
	// PDF/A conformance has Format catalog.FormatPDFA (and PDFA true), so
	// that the format alone is enough for completeness checks.
	Format catalog.Format
	// MediaType is the IANA media type of Format
	// ("application/octet-stream" when unknown).
	MediaType string
	// Signature is the kind of digital signature found, "" when none.
	Signature SignatureKind
	// PDFA is true for a PDF whose XMP metadata carries pdfaid:part.
	PDFA bool
	// Content is, for a p7m envelope that embeds the signed document, the
	// format of that document when recognisable (e.g. "pdf" for a
	// "file.pdf.p7m"); "" otherwise. For nested envelopes it is the format
	// of the innermost document.
	Content catalog.Format
}

// MediaType returns the IANA media type of a format
// ("application/octet-stream" for "" or an unknown format).
func MediaType(f catalog.Format) string {
	switch f {
	case catalog.FormatPDF, catalog.FormatPDFA:
		return "application/pdf"
	case catalog.FormatJPEG:
		return "image/jpeg"
	case catalog.FormatPNG:
		return "image/png"
	case catalog.FormatTIFF:
		return "image/tiff"
	case catalog.FormatP7M:
		return "application/pkcs7-mime"
	case catalog.FormatXML:
		return "application/xml"
	case catalog.FormatODT:
		return "application/vnd.oasis.opendocument.text"
	case catalog.FormatDOCX:
		return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
	case catalog.FormatDWG:
		return "image/vnd.dwg"
	case catalog.FormatZIP:
		return "application/zip"
	case catalog.FormatTXT:
		return "text/plain; charset=utf-8"
	}
	return "application/octet-stream"
}

func result(f catalog.Format) Result {
	return Result{Format: f, MediaType: MediaType(f)}
}

var (
	magicPDF    = []byte("%PDF-")
	magicJPEG   = []byte{0xFF, 0xD8, 0xFF}
	magicPNG    = []byte("\x89PNG\r\n\x1a\n")
	magicTIFFLE = []byte("II*\x00")
	magicTIFFBE = []byte("MM\x00*")
	magicDWG    = []byte("AC10")
	magicZIP    = []byte("PK\x03\x04")
	magicZIP0   = []byte("PK\x05\x06") // empty archive: end of central directory only
)

// Detect recognises the format of a file from its first bytes (at most
// HeadSize are used). Signature and PDF/A detection is limited to what those
// bytes contain; use DetectReader for a definitive answer.
func Detect(head []byte) Result {
	if len(head) > HeadSize {
		head = head[:HeadSize]
	}
	return detect(head, 0)
}

// maxNesting bounds the recursion into p7m envelopes (file.pdf.p7m.p7m...).
const maxNesting = 4

func detect(head []byte, depth int) Result {
	switch {
	case bytes.HasPrefix(head, magicPDF):
		var s pdfScan
		s.feed(head)
		return s.result()
	case bytes.HasPrefix(head, magicJPEG):
		return result(catalog.FormatJPEG)
	case bytes.HasPrefix(head, magicPNG):
		return result(catalog.FormatPNG)
	case bytes.HasPrefix(head, magicTIFFLE), bytes.HasPrefix(head, magicTIFFBE):
		return result(catalog.FormatTIFF)
	case bytes.HasPrefix(head, magicDWG):
		return result(catalog.FormatDWG)
	case bytes.HasPrefix(head, magicZIP), bytes.HasPrefix(head, magicZIP0):
		return result(zipHeadFormat(head))
	}
	if der, ok := signedData(head); ok {
		return p7mResult(der, depth)
	}
	if isXML(head) {
		var s xmlScan
		s.feed(head)
		return s.result()
	}
	if validText(head, len(head) >= HeadSize) {
		return result(catalog.FormatTXT)
	}
	return result("")
}

// p7mResult describes a CAdES envelope, looking inside for the signed content.
func p7mResult(der []byte, depth int) Result {
	r := result(catalog.FormatP7M)
	r.Signature = SignatureCAdES
	if depth >= maxNesting {
		return r
	}
	if inner := envelopedContent(der); len(inner) > 0 {
		in := detect(inner, depth+1)
		r.Content = in.Format
		if in.Format == catalog.FormatP7M {
			r.Content = in.Content
		}
		if r.Content == catalog.FormatPDFA {
			// The content is truncated: PDF/A metadata cannot be trusted
			// to be seen, so do not claim it either way.
			r.Content = catalog.FormatPDF
		}
	}
	return r
}

// DetectReader recognises the format of a file of the given size. It reads
// the head and then, depending on the format, the rest of the file: PDFs are
// scanned for signature dictionaries and PDF/A metadata, XML documents for an
// XAdES signature, ZIP archives through their central directory, text files
// for UTF-8 validity. Memory use is bounded whatever the size.
func DetectReader(r io.ReaderAt, size int64) (Result, error) {
	if size < 0 {
		return Result{}, errors.New("filetype: negative size")
	}
	n := min(size, HeadSize)
	head := make([]byte, n)
	if n > 0 {
		read, err := r.ReadAt(head, 0)
		if read < int(n) {
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return Result{}, fmt.Errorf("filetype: reading head: %w", err)
		}
	}
	res := Detect(head)
	switch res.Format {
	case catalog.FormatPDF, catalog.FormatPDFA:
		var s pdfScan
		if err := scan(r, size, s.feed, s.done); err != nil {
			return Result{}, err
		}
		return s.result(), nil
	case catalog.FormatXML:
		var s xmlScan
		if err := scan(r, size, s.feed, s.done); err != nil {
			return Result{}, err
		}
		return s.result(), nil
	case catalog.FormatZIP, catalog.FormatODT, catalog.FormatDOCX:
		if f, ok := zipFormat(r, size); ok {
			return result(f), nil
		}
		return res, nil
	case catalog.FormatTXT:
		if size > HeadSize {
			ok, err := textReader(r, size)
			if err != nil {
				return Result{}, err
			}
			if !ok {
				return result(""), nil
			}
		}
	}
	return res, nil
}

const (
	chunkSize = 64 << 10
	// overlap is how many bytes of the previous chunk are kept in front of
	// the next one, so that markers across a chunk boundary are still found.
	// It exceeds the longest marker (allowing some whitespace in "/Type /Sig").
	overlap = 256
)

// scan streams the whole file through feed in overlapping chunks, stopping
// early when done reports that nothing more can be learnt.
func scan(r io.ReaderAt, size int64, feed func([]byte), done func() bool) error {
	buf := make([]byte, overlap+chunkSize)
	kept := 0
	for off := int64(0); off < size; {
		want := int(min(int64(chunkSize), size-off))
		n, err := r.ReadAt(buf[kept:kept+want], off)
		if n < want {
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("filetype: reading at %d: %w", off, err)
		}
		off += int64(n)
		feed(buf[:kept+n])
		if done() {
			return nil
		}
		total := kept + n
		kept = min(overlap, total)
		copy(buf, buf[total-kept:total])
	}
	return nil
}
