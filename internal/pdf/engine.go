package pdf

// This is the ONLY file of the package that imports the PDF library. It is
// imported under the neutral name pdflib, so moving to the maintained fork is
// a one-line change: replace "github.com/jung-kurt/gofpdf" below with
// "codeberg.org/go-pdf/fpdf" (same API) and update go.mod.

import (
	"io"

	pdflib "github.com/jung-kurt/gofpdf"
)

// Font family names registered in every document.
const (
	familySans = "gosans"
	familyMono = "gomono"
)

// fpdfCanvas implements canvas on top of pdflib.
type fpdfCanvas struct {
	f      *pdflib.Fpdf
	loaded [len(fontSources)]bool // fonts are registered on first use, so unused ones are not embedded
}

// newCanvas returns an empty A4 portrait document (millimetres) with the
// metadata of info set.
func newCanvas(info docInfo) canvas {
	f := pdflib.New("P", "mm", "A4", "")
	f.SetAutoPageBreak(false, 0) // the layout code breaks pages itself
	f.SetMargins(0, 0, 0)
	f.SetCompression(true)
	f.SetCatalogSort(true)
	f.SetTitle(info.Title, true)
	f.SetSubject(info.Subject, true)
	f.SetAuthor(info.Author, true)
	f.SetCreator(info.Creator, true)
	f.SetProducer("sportello", true)
	if !info.Created.IsZero() {
		f.SetCreationDate(info.Created)
		f.SetModificationDate(info.Created)
	}
	return &fpdfCanvas{f: f}
}

func (c *fpdfCanvas) AddPage()       { c.f.AddPage() }
func (c *fpdfCanvas) PageCount() int { return c.f.PageCount() }

func (c *fpdfCanvas) SetFont(fc face, sizePt float64) {
	family, style := familySans, ""
	switch fc {
	case faceBold:
		style = "B"
	case faceItalic:
		style = "I"
	case faceMono:
		family = familyMono
	default:
		fc = faceRegular
	}
	if !c.loaded[fc] {
		c.f.AddUTF8FontFromBytes(family, style, fontBytes(fc))
		c.loaded[fc] = true
	}
	c.f.SetFont(family, style, sizePt)
}

func (c *fpdfCanvas) SetTextColor(col rgb)       { c.f.SetTextColor(col.R, col.G, col.B) }
func (c *fpdfCanvas) SetDrawColor(col rgb)       { c.f.SetDrawColor(col.R, col.G, col.B) }
func (c *fpdfCanvas) SetFillColor(col rgb)       { c.f.SetFillColor(col.R, col.G, col.B) }
func (c *fpdfCanvas) SetLineWidth(mm float64)    { c.f.SetLineWidth(mm) }
func (c *fpdfCanvas) TextWidth(s string) float64 { return c.f.GetStringWidth(printable(s)) }
func (c *fpdfCanvas) Text(x, y float64, s string) {
	if s = printable(s); s != "" {
		c.f.Text(x, y, s)
	}
}

func (c *fpdfCanvas) Rect(x, y, w, h float64, fill, stroke bool) {
	switch {
	case fill && stroke:
		c.f.Rect(x, y, w, h, "FD")
	case fill:
		c.f.Rect(x, y, w, h, "F")
	case stroke:
		c.f.Rect(x, y, w, h, "D")
	}
}

func (c *fpdfCanvas) Line(x1, y1, x2, y2 float64) { c.f.Line(x1, y1, x2, y2) }
func (c *fpdfCanvas) Err() error                  { return c.f.Error() }
func (c *fpdfCanvas) Output(w io.Writer) error    { return c.f.Output(w) }
