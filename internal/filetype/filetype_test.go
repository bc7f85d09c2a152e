package filetype

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"strings"
	"testing"

	"sportello/internal/catalog"
)

// minimalPDF builds a small but structurally real PDF. extra is inserted as
// additional objects (e.g. a signature dictionary or XMP metadata) and pad
// bytes of comment are inserted before it to push it past the head.
func minimalPDF(extra string, pad int) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n%\xE2\xE3\xCF\xD3\n")
	b.WriteString("1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n")
	b.WriteString("2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n")
	b.WriteString("3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>\nendobj\n")
	for pad > 0 {
		line := "% padding padding padding padding padding padding padding padding\n"
		b.WriteString(line)
		pad -= len(line)
	}
	b.WriteString(extra)
	b.WriteString("trailer\n<< /Root 1 0 R /Size 4 >>\n%%EOF\n")
	return b.Bytes()
}

const sigDict = "4 0 obj\n<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached " +
	"/ByteRange [0 100 200 300] /Contents <3082> >>\nendobj\n"

const sigDictCompact = "4 0 obj\n<</Type/Sig/Filter/Adobe.PPKLite/SubFilter/adbe.pkcs7.detached" +
	"/ByteRange[0 100 200 300]/Contents<3082>>>\nendobj\n"

const xmpPDFA = "5 0 obj\n<< /Type /Metadata /Subtype /XML /Length 200 >>\nstream\n" +
	`<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">` +
	`<rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/" pdfaid:part="2" pdfaid:conformance="B"/>` +
	"</rdf:RDF></x:xmpmeta>\nendstream\nendobj\n"

func pngBytes(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 2, 2))
	img.Set(0, 0, color.RGBA{255, 0, 0, 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func jpegBytes(t *testing.T) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 4, 4))
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// tlv encodes a DER element with a definite length.
func tlv(tag byte, content ...[]byte) []byte {
	c := bytes.Join(content, nil)
	n := len(c)
	var hdr []byte
	switch {
	case n < 0x80:
		hdr = []byte{tag, byte(n)}
	case n < 0x100:
		hdr = []byte{tag, 0x81, byte(n)}
	default:
		hdr = []byte{tag, 0x82, byte(n >> 8), byte(n)}
	}
	return append(hdr, c...)
}

// indef encodes a BER constructed element with indefinite length.
func indef(tag byte, content ...[]byte) []byte {
	out := []byte{tag, 0x80}
	out = append(out, bytes.Join(content, nil)...)
	return append(out, 0, 0)
}

var oidData = []byte{0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x01}

// p7m builds a SignedData envelope around content (nil = detached). The
// certificates and signer infos are stand-ins: detection does not verify.
func p7m(content []byte) []byte {
	encap := [][]byte{oidData}
	if content != nil {
		encap = append(encap, tlv(0xA0, tlv(0x04, content)))
	}
	signed := tlv(0x30,
		tlv(0x02, []byte{1}),
		tlv(0x31, tlv(0x30, []byte{0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01})),
		tlv(0x30, encap...),
		tlv(0x31, tlv(0x30, tlv(0x02, []byte{1}))),
	)
	return tlv(0x30, oidSignedData, tlv(0xA0, signed))
}

// p7mBER builds the same envelope with indefinite lengths and a constructed
// OCTET STRING, as several Italian signing tools do.
func p7mBER(content []byte) []byte {
	half := len(content) / 2
	signed := indef(0x30,
		tlv(0x02, []byte{1}),
		indef(0x31, tlv(0x30, []byte{0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01})),
		indef(0x30, oidData, indef(0xA0, indef(0x24, tlv(0x04, content[:half]), tlv(0x04, content[half:])))),
		tlv(0x31, tlv(0x30, tlv(0x02, []byte{1}))),
	)
	return indef(0x30, oidSignedData, indef(0xA0, signed))
}

type entry struct {
	name   string
	data   string
	method uint16
}

func zipBytes(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	for _, e := range entries {
		f, err := w.CreateHeader(&zip.FileHeader{Name: e.name, Method: e.method})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte(e.data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func odtBytes(t *testing.T) []byte {
	return zipBytes(t,
		entry{"mimetype", odtMimeType, zip.Store},
		entry{"content.xml", `<?xml version="1.0"?><office:document-content/>`, zip.Deflate},
		entry{"META-INF/manifest.xml", `<?xml version="1.0"?><manifest:manifest/>`, zip.Deflate},
	)
}

// odtRawBytes writes the mimetype entry with its sizes in the local header,
// as LibreOffice does.
func odtRawBytes(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	f, err := w.CreateRaw(&zip.FileHeader{
		Name:               "mimetype",
		Method:             zip.Store,
		CRC32:              crc32.ChecksumIEEE([]byte(odtMimeType)),
		CompressedSize64:   uint64(len(odtMimeType)),
		UncompressedSize64: uint64(len(odtMimeType)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte(odtMimeType)); err != nil {
		t.Fatal(err)
	}
	g, err := w.Create("content.xml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Write([]byte("<office:document-content/>")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func docxBytes(t *testing.T) []byte {
	return zipBytes(t,
		entry{"[Content_Types].xml", `<?xml version="1.0"?><Types/>`, zip.Deflate},
		entry{"_rels/.rels", `<?xml version="1.0"?><Relationships/>`, zip.Deflate},
		entry{"word/document.xml", `<?xml version="1.0"?><w:document/>`, zip.Deflate},
	)
}

const xadesDoc = `<?xml version="1.0" encoding="UTF-8"?>
<p:FatturaElettronica xmlns:p="http://ivaservizi.agenziaentrate.gov.it" xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
<FatturaElettronicaHeader/>
<ds:Signature Id="sig"><ds:SignedInfo/><ds:SignatureValue>AAAA</ds:SignatureValue></ds:Signature>
</p:FatturaElettronica>`

func TestDetect(t *testing.T) {
	pdf := minimalPDF("", 0)
	tests := []struct {
		name string
		data []byte
		want Result
	}{
		{"pdf", pdf, Result{Format: catalog.FormatPDF, MediaType: "application/pdf"}},
		{"pdf signed pades", minimalPDF(sigDict, 0), Result{Format: catalog.FormatPDF, MediaType: "application/pdf", Signature: SignaturePAdES}},
		{"pdf signed compact syntax", minimalPDF(sigDictCompact, 0), Result{Format: catalog.FormatPDF, MediaType: "application/pdf", Signature: SignaturePAdES}},
		{"pdf byterange without signature dictionary", minimalPDF("4 0 obj\n<< /ByteRange [0 1 2 3] >>\nendobj\n", 0), Result{Format: catalog.FormatPDF, MediaType: "application/pdf"}},
		{"pdf empty signature field is unsigned", minimalPDF("4 0 obj\n<< /FT /Sig /T (Firma1) >>\nendobj\n", 0), Result{Format: catalog.FormatPDF, MediaType: "application/pdf"}},
		{"pdfa", minimalPDF(xmpPDFA, 0), Result{Format: catalog.FormatPDFA, MediaType: "application/pdf", PDFA: true}},
		{"pdfa signed", minimalPDF(xmpPDFA+sigDict, 0), Result{Format: catalog.FormatPDFA, MediaType: "application/pdf", PDFA: true, Signature: SignaturePAdES}},
		{"pdf markers past head unseen", minimalPDF(sigDict, 3*HeadSize), Result{Format: catalog.FormatPDF, MediaType: "application/pdf"}},
		{"jpeg", jpegBytes(t), Result{Format: catalog.FormatJPEG, MediaType: "image/jpeg"}},
		{"png", pngBytes(t), Result{Format: catalog.FormatPNG, MediaType: "image/png"}},
		{"tiff little endian", []byte("II*\x00\x08\x00\x00\x00\x00\x00"), Result{Format: catalog.FormatTIFF, MediaType: "image/tiff"}},
		{"tiff big endian", []byte("MM\x00*\x00\x00\x00\x08\x00\x00"), Result{Format: catalog.FormatTIFF, MediaType: "image/tiff"}},
		{"dwg", []byte("AC1027\x00\x00\x00\x00\x00\x06\x01\x00"), Result{Format: catalog.FormatDWG, MediaType: "image/vnd.dwg"}},
		{"p7m der with pdf", p7m(pdf), Result{Format: catalog.FormatP7M, MediaType: "application/pkcs7-mime", Signature: SignatureCAdES, Content: catalog.FormatPDF}},
		{"p7m der with pdfa reports pdf content", p7m(minimalPDF(xmpPDFA, 0)), Result{Format: catalog.FormatP7M, MediaType: "application/pkcs7-mime", Signature: SignatureCAdES, Content: catalog.FormatPDF}},
		{"p7m ber indefinite with xml", p7mBER([]byte(xadesDoc)), Result{Format: catalog.FormatP7M, MediaType: "application/pkcs7-mime", Signature: SignatureCAdES, Content: catalog.FormatXML}},
		{"p7m detached", p7m(nil), Result{Format: catalog.FormatP7M, MediaType: "application/pkcs7-mime", Signature: SignatureCAdES}},
		{"p7m nested", p7m(p7m(pngBytes(t))), Result{Format: catalog.FormatP7M, MediaType: "application/pkcs7-mime", Signature: SignatureCAdES, Content: catalog.FormatPNG}},
		{"p7m base64", []byte(base64Lines(p7m(pdf))), Result{Format: catalog.FormatP7M, MediaType: "application/pkcs7-mime", Signature: SignatureCAdES, Content: catalog.FormatPDF}},
		{"p7m pem", []byte("-----BEGIN PKCS7-----\n" + base64Lines(p7m(pdf)) + "-----END PKCS7-----\n"), Result{Format: catalog.FormatP7M, MediaType: "application/pkcs7-mime", Signature: SignatureCAdES, Content: catalog.FormatPDF}},
		{"der sequence without signedData is not p7m", tlv(0x30, oidData, tlv(0x04, []byte("x"))), Result{MediaType: "application/octet-stream"}},
		{"xml declaration", []byte(`<?xml version="1.0"?><a/>`), Result{Format: catalog.FormatXML, MediaType: "application/xml"}},
		{"xml with bom", append(append([]byte{}, bomUTF8...), `<?xml version="1.0"?><a/>`...), Result{Format: catalog.FormatXML, MediaType: "application/xml"}},
		{"xml latin1 declaration", []byte("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>perch\xE9</a>"), Result{Format: catalog.FormatXML, MediaType: "application/xml"}},
		{"xml leading element", []byte("\n  <istanza><nome>Mario</nome></istanza>"), Result{Format: catalog.FormatXML, MediaType: "application/xml"}},
		{"xml leading processing instruction", []byte(`<?xml-stylesheet href="a.xsl"?><a/>`), Result{Format: catalog.FormatXML, MediaType: "application/xml"}},
		{"xml leading comment", []byte("<!-- c --><a/>"), Result{Format: catalog.FormatXML, MediaType: "application/xml"}},
		{"xml utf16", []byte{0xFF, 0xFE, '<', 0, '?', 0, 'x', 0, 'm', 0, 'l', 0}, Result{Format: catalog.FormatXML, MediaType: "application/xml"}},
		{"xades", []byte(xadesDoc), Result{Format: catalog.FormatXML, MediaType: "application/xml", Signature: SignatureXAdES}},
		{"xml signature without xmldsig namespace", []byte(`<?xml version="1.0"?><a><Signature>Mario</Signature></a>`), Result{Format: catalog.FormatXML, MediaType: "application/xml"}},
		{"xml dsig namespace without signature element", []byte(`<?xml version="1.0"?><a xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignatureValue/></a>`), Result{Format: catalog.FormatXML, MediaType: "application/xml"}},
		{"html is text", []byte("<!DOCTYPE html><html><body>ciao</body></html>"), Result{Format: catalog.FormatTXT, MediaType: "text/plain; charset=utf-8"}},
		{"odt", odtBytes(t), Result{Format: catalog.FormatODT, MediaType: "application/vnd.oasis.opendocument.text"}},
		{"odt sizes in local header", odtRawBytes(t), Result{Format: catalog.FormatODT, MediaType: "application/vnd.oasis.opendocument.text"}},
		{"ott template is zip", zipBytes(t, entry{"mimetype", "application/vnd.oasis.opendocument.text-template", zip.Store}), Result{Format: catalog.FormatZIP, MediaType: "application/zip"}},
		{"ods is zip", zipBytes(t, entry{"mimetype", "application/vnd.oasis.opendocument.spreadsheet", zip.Store}), Result{Format: catalog.FormatZIP, MediaType: "application/zip"}},
		{"docx", docxBytes(t), Result{Format: catalog.FormatDOCX, MediaType: "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}},
		{"zip", zipBytes(t, entry{"a.txt", "hello", zip.Deflate}), Result{Format: catalog.FormatZIP, MediaType: "application/zip"}},
		{"empty zip", zipBytes(t), Result{Format: catalog.FormatZIP, MediaType: "application/zip"}},
		{"text", []byte("Domanda di residenza, perché sì.\nRiga due\r\n"), Result{Format: catalog.FormatTXT, MediaType: "text/plain; charset=utf-8"}},
		{"text with bom", []byte("\xEF\xBB\xBFciao"), Result{Format: catalog.FormatTXT, MediaType: "text/plain; charset=utf-8"}},
		{"binary with nul", []byte("abc\x00def"), Result{MediaType: "application/octet-stream"}},
		{"invalid utf8", []byte("perch\xE9"), Result{MediaType: "application/octet-stream"}},
		{"empty", nil, Result{MediaType: "application/octet-stream"}},
		{"pdf magic not at start", []byte("\x00\x00%PDF-1.4"), Result{MediaType: "application/octet-stream"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Detect(tt.data); got != tt.want {
				t.Errorf("Detect = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func base64Lines(b []byte) string {
	s := base64.StdEncoding.EncodeToString(b)
	var out strings.Builder
	for len(s) > 64 {
		out.WriteString(s[:64] + "\r\n")
		s = s[64:]
	}
	out.WriteString(s + "\r\n")
	return out.String()
}

func TestDetectReader(t *testing.T) {
	big := strings.Repeat("Riga di testo con accenti: àèéìòù €.\n", 5000) // > 64 KiB, multi-byte runes across chunks
	tests := []struct {
		name string
		data []byte
		want Result
	}{
		{"pdf plain", minimalPDF("", 0), Result{Format: catalog.FormatPDF, MediaType: "application/pdf"}},
		{"pdf signature past head", minimalPDF(sigDict, 3*HeadSize), Result{Format: catalog.FormatPDF, MediaType: "application/pdf", Signature: SignaturePAdES}},
		{"pdf signature past several chunks", minimalPDF(sigDict, 5*chunkSize+17), Result{Format: catalog.FormatPDF, MediaType: "application/pdf", Signature: SignaturePAdES}},
		{"pdfa metadata at the end", minimalPDF(xmpPDFA, 2*chunkSize), Result{Format: catalog.FormatPDFA, MediaType: "application/pdf", PDFA: true}},
		{"xades at the end", []byte(`<?xml version="1.0"?><a xmlns:ds="http://www.w3.org/2000/09/xmldsig#">` + strings.Repeat("<r>x</r>", 30000) + `<ds:Signature/></a>`), Result{Format: catalog.FormatXML, MediaType: "application/xml", Signature: SignatureXAdES}},
		{"odt raw via central directory", odtRawBytes(t), Result{Format: catalog.FormatODT, MediaType: "application/vnd.oasis.opendocument.text"}},
		{"ott template via central directory", zipBytes(t, entry{"mimetype", "application/vnd.oasis.opendocument.text-template", zip.Store}), Result{Format: catalog.FormatZIP, MediaType: "application/zip"}},
		{"corrupt zip falls back to head", []byte("PK\x03\x04garbage"), Result{Format: catalog.FormatZIP, MediaType: "application/zip"}},
		{"odt via central directory", odtBytes(t), Result{Format: catalog.FormatODT, MediaType: "application/vnd.oasis.opendocument.text"}},
		{"docx with big first entry", zipBytes(t,
			entry{"word/media/image1.png", strings.Repeat("z", 3*HeadSize), zip.Store},
			entry{"word/document.xml", "<w:document/>", zip.Deflate},
			entry{"[Content_Types].xml", "<Types/>", zip.Deflate},
		), Result{Format: catalog.FormatDOCX, MediaType: "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}},
		{"long text", []byte(big), Result{Format: catalog.FormatTXT, MediaType: "text/plain; charset=utf-8"}},
		{"long text with nul at the end", []byte(big + "\x00"), Result{MediaType: "application/octet-stream"}},
		{"long text with invalid utf8 at the end", []byte(big + "\xFF"), Result{MediaType: "application/octet-stream"}},
		{"long text truncated rune", []byte(big + "\xE2\x82"), Result{MediaType: "application/octet-stream"}},
		{"jpeg", jpegBytes(t), Result{Format: catalog.FormatJPEG, MediaType: "image/jpeg"}},
		{"empty", nil, Result{MediaType: "application/octet-stream"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DetectReader(bytes.NewReader(tt.data), int64(len(tt.data)))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("DetectReader = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestDetectIgnoresName documents that only content matters: there is no
// name parameter at all, so "contratto.pdf" holding a JPEG is a JPEG.
func TestDetectIgnoresName(t *testing.T) {
	data := jpegBytes(t) // as uploaded under the name "contratto.pdf"
	if got := Detect(data).Format; got != catalog.FormatJPEG {
		t.Errorf("Format = %q, want jpeg", got)
	}
}

func TestDetectReaderShortRead(t *testing.T) {
	data := minimalPDF("", 0)
	_, err := DetectReader(bytes.NewReader(data), int64(len(data))+100)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("err = %v, want unexpected EOF", err)
	}
	if _, err := DetectReader(bytes.NewReader(data), -1); err == nil {
		t.Error("negative size: want error")
	}
}

func TestDetectTruncatesHead(t *testing.T) {
	// A marker beyond HeadSize is not seen by Detect even when passed.
	data := minimalPDF(sigDict, 2*HeadSize)
	if got := Detect(data).Signature; got != SignatureNone {
		t.Errorf("Signature = %q, want none", got)
	}
	// Text cut in the middle of a multi-byte rune at HeadSize is still text.
	text := []byte(strings.Repeat("a", HeadSize-1) + "è")
	if got := Detect(text).Format; got != catalog.FormatTXT {
		t.Errorf("Format = %q, want txt", got)
	}
}

func FuzzDetect(f *testing.F) {
	f.Add(minimalPDF(sigDict, 0))
	f.Add(p7mBER([]byte("%PDF-1.4 hello")))
	f.Add([]byte(base64Lines(p7m([]byte("ciao")))))
	f.Add([]byte(xadesDoc))
	f.Add([]byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := Detect(data)
		if r.MediaType == "" {
			t.Errorf("empty media type for %q", data)
		}
		if _, err := DetectReader(bytes.NewReader(data), int64(len(data))); err != nil {
			t.Errorf("DetectReader: %v", err)
		}
	})
}
