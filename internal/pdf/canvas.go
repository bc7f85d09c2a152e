package pdf

import (
	"io"
	"time"
)

// face selects one of the embedded fonts.
type face int

const (
	faceRegular face = iota
	faceBold
	faceItalic
	faceMono
)

// rgb is a colour with 0-255 components.
type rgb struct{ R, G, B int }

// docInfo is the document metadata written into the PDF.
type docInfo struct {
	Title, Subject, Author, Creator string
	Created                         time.Time // also the modification date; zero = now
}

// canvas is the drawing surface the layout code uses. It is deliberately
// tiny: an A4 portrait page in millimetres, absolute positioning, four
// fonts. The only implementation lives in engine.go, which is the single
// file of the package that knows which PDF library is in use.
type canvas interface {
	// AddPage starts a new A4 portrait page.
	AddPage()
	// PageCount is the number of pages added so far.
	PageCount() int
	// SetFont selects a face and a size in points.
	SetFont(f face, sizePt float64)
	SetTextColor(c rgb)
	SetDrawColor(c rgb)
	SetFillColor(c rgb)
	// SetLineWidth sets the stroke width in millimetres.
	SetLineWidth(mm float64)
	// TextWidth is the width in millimetres of s in the current font.
	TextWidth(s string) float64
	// Text draws s with its baseline starting at (x, y).
	Text(x, y float64, s string)
	// Rect draws a rectangle, filled with the fill colour and/or stroked
	// with the draw colour.
	Rect(x, y, w, h float64, fill, stroke bool)
	// Line draws a straight line with the draw colour.
	Line(x1, y1, x2, y2 float64)
	// Err is the first error met while drawing, if any.
	Err() error
	// Output writes the finished PDF.
	Output(w io.Writer) error
}
