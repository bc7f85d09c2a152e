package pdf

import (
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Page geometry, in millimetres (A4 portrait).
const (
	pageW    = 210.0
	pageH    = 297.0
	marginL  = 18.0
	marginR  = 18.0
	marginT  = 16.0
	marginB  = 22.0 // space kept free for the footer
	contentW = pageW - marginL - marginR
	ptToMM   = 25.4 / 72
	cellPad  = 1.3 // inner padding of table cells
	ruleW    = 0.2 // thin rule width
)

// Palette.
var (
	colText    = rgb{25, 25, 25}
	colMuted   = rgb{90, 90, 90}
	colRule    = rgb{150, 150, 150}
	colShade   = rgb{239, 241, 244}
	colHead    = rgb{222, 228, 236}
	colAccent  = rgb{20, 58, 110}
	colAlert   = rgb{140, 20, 20}
	colAlertBg = rgb{252, 237, 237}
)

// style is a font face, size (points) and colour.
type style struct {
	face  face
	size  float64
	color rgb
}

// Common text styles.
var (
	stBody    = style{faceRegular, 10, colText}
	stBold    = style{faceBold, 10, colText}
	stSmall   = style{faceRegular, 8.5, colText}
	stNote    = style{faceItalic, 8, colMuted}
	stCaption = style{faceRegular, 8, colMuted}
	stLabel   = style{faceRegular, 9, colMuted}
	stHeading = style{faceBold, 10.5, colAccent}
	stTableHd = style{faceBold, 8.5, colText}
)

// lineH is the height of one line of text.
func (s style) lineH() float64 { return s.size * ptToMM * 1.28 }

// baseline is the offset of the baseline from the top of a line box.
func (s style) baseline() float64 {
	sz := s.size * ptToMM
	return (s.lineH()-sz)/2 + 0.8*sz
}

// layout flows content down the pages of a canvas, breaking pages and
// drawing the running head and the "Pagina N di M" footer.
type layout struct {
	c     canvas
	total int // total pages, 0 while counting
	page  int
	y     float64 // top of the next content
	top   float64 // y where content starts on the current page

	footerLeft  string // left part of the footer, e.g. the document number
	runningHead string // printed at the top of every page but the first
}

// render lays the document out twice, once to count the pages and once for
// real with the final page total, and writes the second result to w.
func render(w io.Writer, info docInfo, build func(l *layout)) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("pdf: rendering failed: %v", r)
		}
	}()
	pass := func(total int) (canvas, error) {
		c := newCanvas(info)
		l := &layout{c: c, total: total}
		build(l)
		l.finish()
		if err := c.Err(); err != nil {
			return nil, fmt.Errorf("pdf: %w", err)
		}
		return c, nil
	}
	c, err := pass(0)
	if err != nil {
		return err
	}
	if c, err = pass(c.PageCount()); err != nil {
		return err
	}
	if err := c.Output(w); err != nil {
		return fmt.Errorf("pdf: %w", err)
	}
	return nil
}

func (l *layout) bottom() float64 { return pageH - marginB }

// newPage closes the current page (footer) and opens the next one.
func (l *layout) newPage() {
	if l.page > 0 {
		l.drawFooter()
	}
	l.c.AddPage()
	l.page++
	l.y = marginT
	if l.page > 1 && l.runningHead != "" {
		st := stCaption
		l.textAt(marginL, l.y, l.fit(l.runningHead, st, contentW), st)
		l.y += st.lineH() + 0.8
		l.rule(l.y, colRule, ruleW)
		l.y += 4
	}
	l.top = l.y
}

// finish closes the last page.
func (l *layout) finish() {
	if l.page == 0 {
		l.newPage()
	}
	l.drawFooter()
}

func (l *layout) drawFooter() {
	y := pageH - 13
	l.rule(y, colRule, ruleW)
	st := stCaption
	right := fmt.Sprintf("Pagina %d di %d", l.page, l.total)
	if l.total == 0 {
		right = fmt.Sprintf("Pagina %d", l.page)
	}
	l.c.SetFont(st.face, st.size)
	rw := l.c.TextWidth(right)
	l.textAt(pageW-marginR-rw, y+1.5, right, st)
	l.textAt(marginL, y+1.5, l.fit(l.footerLeft, st, contentW-rw-6), st)
}

// ensure starts a new page unless h millimetres fit below the current
// position.
func (l *layout) ensure(h float64) {
	if l.y+h > l.bottom()+1e-6 && l.y > l.top+1e-6 {
		l.newPage()
	}
}

func (l *layout) gap(h float64) { l.y += h }

// rule draws a full-width horizontal line at y.
func (l *layout) rule(y float64, col rgb, width float64) {
	l.c.SetDrawColor(col)
	l.c.SetLineWidth(width)
	l.c.Line(marginL, y, pageW-marginR, y)
}

// textAt draws one line of text whose line box starts at top.
func (l *layout) textAt(x, top float64, s string, st style) {
	l.c.SetFont(st.face, st.size)
	l.c.SetTextColor(st.color)
	l.c.Text(x, top+st.baseline(), s)
}

// width measures s in style st.
func (l *layout) width(s string, st style) float64 {
	l.c.SetFont(st.face, st.size)
	return l.c.TextWidth(s)
}

// fit shortens s with an ellipsis so that it is at most w wide.
func (l *layout) fit(s string, st style, w float64) string {
	s = strings.Join(strings.Fields(clean(s)), " ")
	if l.width(s, st) <= w {
		return s
	}
	r := []rune(s)
	for len(r) > 0 {
		r = r[:len(r)-1]
		cand := strings.TrimRightFunc(string(r), unicode.IsSpace) + "…"
		if l.width(cand, st) <= w {
			return cand
		}
	}
	return ""
}

// clean normalises line ends and removes control characters other than
// newlines; tabs become spaces.
func clean(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n', r == '\r':
			return '\n'
		case r == '\t':
			return ' '
		case r == utf8.RuneError, unicode.IsControl(r), unicode.Is(unicode.Cf, r):
			return -1
		}
		return r
	}, s)
}

// wrap breaks s into lines at most width wide in style st. Newlines in s
// are kept; words longer than a line are broken, preferably after one of
// "/-_.@", otherwise anywhere.
func (l *layout) wrap(s string, st style, width float64) []string {
	l.c.SetFont(st.face, st.size)
	tw := l.c.TextWidth
	width = max(width, 1) // always make progress
	var out []string
	for _, para := range strings.Split(clean(s), "\n") {
		cur := ""
		for _, w := range strings.Fields(para) {
			cand := w
			if cur != "" {
				cand = cur + " " + w
			}
			if tw(cand) <= width {
				cur = cand
				continue
			}
			if cur != "" {
				out = append(out, cur)
			}
			for tw(w) > width {
				head, tail := splitWord(w, width, tw)
				out = append(out, head)
				w = tail
			}
			cur = w
		}
		out = append(out, cur)
	}
	for len(out) > 1 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}

// splitWord cuts the longest prefix of w that fits width (at least one
// rune), moving the cut back to a natural break character when one is in
// the second half of the prefix.
func splitWord(w string, width float64, tw func(string) float64) (head, tail string) {
	r := []rune(w)
	n := 1
	for n < len(r) && tw(string(r[:n+1])) <= width {
		n++
	}
	for i := n - 1; i >= n/2 && i > 0; i-- {
		if strings.ContainsRune("/-_.@", r[i-1]) {
			n = i
			break
		}
	}
	return string(r[:n]), string(r[n:])
}

// paragraph prints wrapped text at the given left indent.
func (l *layout) paragraph(s string, st style, indent float64) {
	for _, ln := range l.wrap(s, st, contentW-indent) {
		l.ensure(st.lineH())
		l.textAt(marginL+indent, l.y, ln, st)
		l.y += st.lineH()
	}
}

// bullet prints a wrapped paragraph with a hanging bullet.
const bulletHang = 5.0

func (l *layout) bullet(s string, st style) {
	const hang = bulletHang
	for i, ln := range l.wrap(s, st, contentW-hang) {
		l.ensure(st.lineH())
		if i == 0 {
			l.textAt(marginL+1, l.y, "•", st)
		}
		l.textAt(marginL+hang, l.y, ln, st)
		l.y += st.lineH()
	}
}

// heading prints a section title, kept together with the first lines of
// the section.
func (l *layout) heading(s string) {
	if l.y > l.top+1e-6 {
		l.gap(3.5)
	}
	l.ensure(stHeading.lineH() + 3 + 10)
	l.textAt(marginL, l.y, s, stHeading)
	l.y += stHeading.lineH() + 0.6
	l.rule(l.y, colAccent, 0.35)
	l.y += 2.4
}

// notice prints a wrapped paragraph in a tinted box with a coloured bar on
// the left (used for warnings).
func (l *layout) notice(s string, st style, bg, bar rgb) {
	const pad = 2.5
	lines := l.wrap(s, st, contentW-2*pad-1.5)
	h := float64(len(lines))*st.lineH() + 2*pad
	l.ensure(h)
	l.c.SetFillColor(bg)
	l.c.Rect(marginL, l.y, contentW, h, true, false)
	l.c.SetFillColor(bar)
	l.c.Rect(marginL, l.y, 1.5, h, true, false)
	y := l.y + pad
	for _, ln := range lines {
		l.textAt(marginL+1.5+pad, y, ln, st)
		y += st.lineH()
	}
	l.y += h
}

// span is one paragraph of a table cell.
type span struct {
	text string
	st   style
}

// cell is the content of one table cell: paragraphs stacked vertically.
type cell []span

// column describes one table column.
type column struct {
	width float64
	shade bool // fill the column's cells with the shade colour
	right bool // right-align the text
}

// table is a bordered grid; rows taller than the remaining space move to the
// next page, rows taller than a whole page are split across pages, and the
// header row is repeated on every page the table spans.
type table struct {
	cols   []column
	header []string // nil for no header row
	rows   []cell   // len(rows) is a multiple of len(cols), row-major
}

// cellLine is one wrapped line of a cell.
type cellLine struct {
	text string
	st   style
}

func (l *layout) cellLines(c cell, w float64) []cellLine {
	var out []cellLine
	for _, sp := range c {
		for _, ln := range l.wrap(sp.text, sp.st, w-2*cellPad) {
			out = append(out, cellLine{ln, sp.st})
		}
	}
	return out
}

func linesH(ls []cellLine) float64 {
	h := 0.0
	for _, ln := range ls {
		h += ln.st.lineH()
	}
	return h
}

// drawTable lays out t at the current position.
func (l *layout) drawTable(t table) {
	nc := len(t.cols)
	var head [][]cellLine
	headH := 0.0
	if t.header != nil {
		for i, h := range t.header {
			ls := l.cellLines(cell{{h, stTableHd}}, t.cols[i].width)
			head = append(head, ls)
			headH = max(headH, linesH(ls)+2*cellPad)
		}
	}
	headerPage := -1
	// start makes room for a row piece of height h, breaking the page and
	// repeating the header row as needed.
	start := func(h float64) {
		need := h
		if head != nil && headerPage != l.page {
			need += headH
		}
		if l.y+need > l.bottom()+1e-6 {
			l.newPage()
		}
		if head != nil && headerPage != l.page {
			l.drawRow(t.cols, head, headH, &colHead)
			headerPage = l.page
		}
	}
	for r := 0; r+nc <= len(t.rows); r += nc {
		rem := make([][]cellLine, nc)
		rowH := 0.0
		for i := range nc {
			rem[i] = l.cellLines(t.rows[r+i], t.cols[i].width)
			rowH = max(rowH, linesH(rem[i])+2*cellPad)
		}
		if rowH <= l.bottom()-marginT-10-headH {
			start(rowH)
			l.drawRow(t.cols, rem, rowH, nil)
			continue
		}
		// Taller than a page: split the row into pieces.
		for {
			first := 0.0
			for _, ls := range rem {
				if len(ls) > 0 {
					first = max(first, ls[0].st.lineH())
				}
			}
			if first == 0 {
				break
			}
			start(first + 2*cellPad)
			avail := l.bottom() - l.y - 2*cellPad
			piece := make([][]cellLine, nc)
			pieceH := 0.0
			for i, ls := range rem {
				h, n := 0.0, 0
				for n < len(ls) && h+ls[n].st.lineH() <= avail+1e-6 {
					h += ls[n].st.lineH()
					n++
				}
				piece[i], rem[i] = ls[:n], ls[n:]
				pieceH = max(pieceH, h+2*cellPad)
			}
			l.drawRow(t.cols, piece, pieceH, nil)
		}
	}
}

// drawRow draws one row (or row piece) of height h at the current position.
// fill, when set, overrides the column shading.
func (l *layout) drawRow(cols []column, lines [][]cellLine, h float64, fill *rgb) {
	x := marginL
	l.c.SetDrawColor(colRule)
	l.c.SetLineWidth(ruleW)
	for i, col := range cols {
		switch {
		case fill != nil:
			l.c.SetFillColor(*fill)
			l.c.Rect(x, l.y, col.width, h, true, true)
		case col.shade:
			l.c.SetFillColor(colShade)
			l.c.Rect(x, l.y, col.width, h, true, true)
		default:
			l.c.Rect(x, l.y, col.width, h, false, true)
		}
		y := l.y + cellPad
		for _, ln := range lines[i] {
			tx := x + cellPad
			if col.right {
				tx = x + col.width - cellPad - l.width(ln.text, ln.st)
			}
			l.textAt(tx, y, ln.text, ln.st)
			y += ln.st.lineH()
		}
		x += col.width
	}
	l.y += h
}
