package filetype

import (
	"bytes"
	"regexp"

	"sportello/internal/catalog"
)

// pdfScan accumulates what the bytes of a PDF reveal: a signature dictionary
// (/ByteRange together with a signature SubFilter or /Type /Sig) and PDF/A
// identification in the XMP metadata (pdfaid:part). PDF/A forbids filtering
// the metadata stream, and signature dictionaries are written uncompressed
// because their /Contents is patched in place, so a plain byte scan suffices.
type pdfScan struct {
	byteRange bool // "/ByteRange"
	sigDict   bool // signature SubFilter or /Type /Sig
	pdfa      bool // "pdfaid:part"
}

var (
	markByteRange = []byte("/ByteRange")
	markPDFA      = []byte("pdfaid:part")
	markSubFilter = [][]byte{
		[]byte("/adbe.pkcs7.detached"),
		[]byte("/ETSI.CAdES.detached"),
		[]byte("/adbe.pkcs7.sha1"),
	}
	// "/Type /Sig" with any (or no) whitespace, not "/Type /SigRef" etc.
	reTypeSig = regexp.MustCompile(`/Type\s{0,64}/Sig[\s/>\]]`)
)

func (s *pdfScan) feed(b []byte) {
	if !s.byteRange && bytes.Contains(b, markByteRange) {
		s.byteRange = true
	}
	if !s.pdfa && bytes.Contains(b, markPDFA) {
		s.pdfa = true
	}
	if !s.sigDict {
		for _, m := range markSubFilter {
			if bytes.Contains(b, m) {
				s.sigDict = true
				break
			}
		}
		if !s.sigDict && reTypeSig.Match(b) {
			s.sigDict = true
		}
	}
}

func (s *pdfScan) done() bool { return s.byteRange && s.sigDict && s.pdfa }

func (s *pdfScan) result() Result {
	r := result(catalog.FormatPDF)
	if s.pdfa {
		r.Format = catalog.FormatPDFA
		r.PDFA = true
	}
	if s.byteRange && s.sigDict {
		r.Signature = SignaturePAdES
	}
	return r
}

// xmlScan looks for an XML-DSig Signature element (XAdES signatures are
// XML-DSig signatures, enveloped at the end of the document or detached).
// The namespace prefix is not resolved: the document must mention the
// XML-DSig namespace and contain a Signature start tag with any prefix.
type xmlScan struct {
	namespace bool
	element   bool
}

var (
	markXMLDSig  = []byte("http://www.w3.org/2000/09/xmldsig#")
	reSignatureE = regexp.MustCompile(`<(?:[A-Za-z_][\w.\-]{0,63}:)?Signature[\s>/]`)
)

func (s *xmlScan) feed(b []byte) {
	if !s.namespace && bytes.Contains(b, markXMLDSig) {
		s.namespace = true
	}
	if !s.element && reSignatureE.Match(b) {
		s.element = true
	}
}

func (s *xmlScan) done() bool { return s.namespace && s.element }

func (s *xmlScan) result() Result {
	r := result(catalog.FormatXML)
	if s.done() {
		r.Signature = SignatureXAdES
	}
	return r
}
