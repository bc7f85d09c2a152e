// Command mkicon draws Sportello's application icon (Icon.png) with a tiny
// supersampling rasteriser, so the icon can be regenerated from source.
//
// Usage (from the repository root):
//
//	go run ./scripts/mkicon -o Icon.png -size 512
//
// The design is laid out on a 512×512 grid: a rounded square in a civic
// blue→green gradient, a clerk behind a service counter, a speech bubble and
// a yellow queue ticket on the counter's front.
package main

import (
	"flag"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
)

// design is the size of the grid the shapes are laid out on.
const design = 512.0

// shape is a region of the plane in design units.
type shape interface {
	contains(x, y float64) bool
	bounds() (x0, y0, x1, y1 float64)
}

type roundRect struct{ x0, y0, x1, y1, r float64 }

func (s roundRect) bounds() (float64, float64, float64, float64) { return s.x0, s.y0, s.x1, s.y1 }
func (s roundRect) contains(x, y float64) bool {
	if x < s.x0 || x > s.x1 || y < s.y0 || y > s.y1 {
		return false
	}
	cx := math.Max(s.x0+s.r, math.Min(x, s.x1-s.r))
	cy := math.Max(s.y0+s.r, math.Min(y, s.y1-s.r))
	dx, dy := x-cx, y-cy
	return dx*dx+dy*dy <= s.r*s.r
}

type ellipse struct{ cx, cy, rx, ry float64 }

func (s ellipse) bounds() (float64, float64, float64, float64) {
	return s.cx - s.rx, s.cy - s.ry, s.cx + s.rx, s.cy + s.ry
}
func (s ellipse) contains(x, y float64) bool {
	dx, dy := (x-s.cx)/s.rx, (y-s.cy)/s.ry
	return dx*dx+dy*dy <= 1
}

func circle(cx, cy, r float64) ellipse { return ellipse{cx, cy, r, r} }

// polygon uses the even-odd rule.
type polygon []struct{ x, y float64 }

func poly(pts ...float64) polygon {
	p := make(polygon, len(pts)/2)
	for i := range p {
		p[i].x, p[i].y = pts[2*i], pts[2*i+1]
	}
	return p
}

func (p polygon) bounds() (float64, float64, float64, float64) {
	x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, v := range p {
		x0, y0 = math.Min(x0, v.x), math.Min(y0, v.y)
		x1, y1 = math.Max(x1, v.x), math.Max(y1, v.y)
	}
	return x0, y0, x1, y1
}
func (p polygon) contains(x, y float64) bool {
	in := false
	for i, j := 0, len(p)-1; i < len(p); j, i = i, i+1 {
		a, b := p[i], p[j]
		if (a.y > y) != (b.y > y) && x < (b.x-a.x)*(y-a.y)/(b.y-a.y)+a.x {
			in = !in
		}
	}
	return in
}

// union, diff and clip combine shapes.
type union []shape

func (u union) bounds() (float64, float64, float64, float64) {
	x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, s := range u {
		a, b, c, d := s.bounds()
		x0, y0, x1, y1 = math.Min(x0, a), math.Min(y0, b), math.Max(x1, c), math.Max(y1, d)
	}
	return x0, y0, x1, y1
}
func (u union) contains(x, y float64) bool {
	for _, s := range u {
		if s.contains(x, y) {
			return true
		}
	}
	return false
}

type diff struct {
	base shape
	cut  []shape
}

func (d diff) bounds() (float64, float64, float64, float64) { return d.base.bounds() }
func (d diff) contains(x, y float64) bool {
	if !d.base.contains(x, y) {
		return false
	}
	for _, c := range d.cut {
		if c.contains(x, y) {
			return false
		}
	}
	return true
}

type offset struct {
	s      shape
	dx, dy float64
}

func (o offset) bounds() (float64, float64, float64, float64) {
	a, b, c, d := o.s.bounds()
	return a + o.dx, b + o.dy, c + o.dx, d + o.dy
}
func (o offset) contains(x, y float64) bool { return o.s.contains(x-o.dx, y-o.dy) }

// rgba is a straight-alpha colour with components in [0,1].
type rgba struct{ r, g, b, a float64 }

func hex(v uint32, a float64) rgba {
	return rgba{float64(v>>16&0xff) / 255, float64(v>>8&0xff) / 255, float64(v&0xff) / 255, a}
}

func mix(c0, c1 rgba, t float64) rgba {
	t = math.Max(0, math.Min(1, t))
	return rgba{c0.r + (c1.r-c0.r)*t, c0.g + (c1.g-c0.g)*t, c0.b + (c1.b-c0.b)*t, c0.a + (c1.a-c0.a)*t}
}

// canvas holds premultiplied RGBA; sRGB values are blended directly, as most
// drawing tools do.
type canvas struct {
	n     int     // pixels per side
	scale float64 // design units per pixel
	ss    int     // supersamples per pixel side
	px    []rgba  // premultiplied
}

func newCanvas(n, ss int) *canvas {
	return &canvas{n: n, scale: design / float64(n), ss: ss, px: make([]rgba, n*n)}
}

// fill paints s with the colour paint(x, y) using source-over, with the
// coverage of each pixel estimated by ss×ss samples.
func (c *canvas) fill(s shape, paint func(x, y float64) rgba) {
	bx0, by0, bx1, by1 := s.bounds()
	ix0 := max(0, int(math.Floor(bx0/c.scale)))
	iy0 := max(0, int(math.Floor(by0/c.scale)))
	ix1 := min(c.n-1, int(math.Ceil(bx1/c.scale)))
	iy1 := min(c.n-1, int(math.Ceil(by1/c.scale)))
	total := float64(c.ss * c.ss)
	for py := iy0; py <= iy1; py++ {
		for px := ix0; px <= ix1; px++ {
			hits := 0
			for sy := 0; sy < c.ss; sy++ {
				for sx := 0; sx < c.ss; sx++ {
					x := (float64(px) + (float64(sx)+0.5)/float64(c.ss)) * c.scale
					y := (float64(py) + (float64(sy)+0.5)/float64(c.ss)) * c.scale
					if s.contains(x, y) {
						hits++
					}
				}
			}
			if hits == 0 {
				continue
			}
			cov := float64(hits) / total
			col := paint((float64(px)+0.5)*c.scale, (float64(py)+0.5)*c.scale)
			a := col.a * cov
			d := &c.px[py*c.n+px]
			d.r = col.r*a + d.r*(1-a)
			d.g = col.g*a + d.g*(1-a)
			d.b = col.b*a + d.b*(1-a)
			d.a = a + d.a*(1-a)
		}
	}
}

func solid(c rgba) func(x, y float64) rgba { return func(float64, float64) rgba { return c } }

// shadow paints a soft drop shadow by stacking a few offset, slightly
// transparent copies of s.
func (c *canvas) shadow(s shape, dy, alpha float64) {
	for i := 1; i <= 4; i++ {
		c.fill(offset{s, 0, dy * float64(i) / 4}, solid(rgba{0.02, 0.12, 0.2, alpha / 4}))
	}
}

func (c *canvas) image() *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, c.n, c.n))
	to8 := func(v float64) uint8 { return uint8(math.Round(math.Max(0, math.Min(1, v)) * 255)) }
	for i, p := range c.px {
		if p.a <= 0 {
			continue
		}
		img.Pix[4*i+0] = to8(p.r / p.a)
		img.Pix[4*i+1] = to8(p.g / p.a)
		img.Pix[4*i+2] = to8(p.b / p.a)
		img.Pix[4*i+3] = to8(p.a)
	}
	return img
}

func draw(c *canvas) {
	// Palette: civic blue to municipal green, white shapes, amber ticket.
	blue := hex(0x1B5FAA, 1)
	green := hex(0x0E9A7E, 1)
	white := hex(0xFFFFFF, 1)
	paper := hex(0xE6F0F8, 1)
	clerk := hex(0xD4E6F5, 1)
	amber := hex(0xF5B731, 1)
	amberDark := hex(0xC98A12, 1)

	// Background: rounded square with a diagonal gradient and a soft top sheen.
	bg := roundRect{16, 16, 496, 496, 104}
	c.fill(bg, func(x, y float64) rgba { return mix(blue, green, (x+y-64)/(2*design-128)) })
	c.fill(bg, func(x, y float64) rgba {
		// Light sheen fading downwards over the top half.
		t := 1 - y/256
		if t < 0 {
			t = 0
		}
		return rgba{1, 1, 1, 0.10 * t}
	})

	// Speech bubble (top right) with tail pointing at the clerk.
	bubble := union{
		roundRect{226, 64, 448, 198, 44},
		poly(268, 186, 326, 186, 238, 246),
	}
	c.shadow(bubble, 10, 0.22)
	c.fill(bubble, solid(white))
	for _, x := range []float64{287, 337, 387} {
		c.fill(circle(x, 131, 17), func(x, y float64) rgba { return mix(blue, green, (x-270)/140) })
	}

	// Clerk: head and shoulders, partly hidden by the counter.
	head := circle(172, 232, 46)
	shoulders := diff{ellipse{172, 372, 96, 84}, []shape{roundRect{0, 330, 512, 512, 0}}}
	c.shadow(union{head, shoulders}, 8, 0.18)
	c.fill(head, solid(clerk))
	c.fill(shoulders, solid(clerk))

	// Counter: a top slab and a front panel with grooves.
	top := roundRect{60, 318, 452, 352, 14}
	front := roundRect{84, 346, 428, 446, 12}
	c.shadow(union{top, front}, 10, 0.25)
	c.fill(front, func(x, y float64) rgba { return mix(paper, hex(0xC9DCEC, 1), (y-346)/100) })
	for _, gx := range []float64{150, 216} {
		c.fill(roundRect{gx - 3, 368, gx + 3, 426, 3}, solid(hex(0xA9C4DC, 1)))
	}
	c.fill(top, solid(white))
	c.fill(roundRect{60, 344, 452, 352, 4}, solid(hex(0xB8D0E6, 0.6)))

	// Queue ticket hanging on the counter front: notched on both sides.
	ticket := diff{
		roundRect{262, 366, 402, 428, 10},
		[]shape{circle(262, 397, 11), circle(402, 397, 11)},
	}
	c.shadow(ticket, 6, 0.22)
	c.fill(ticket, solid(amber))
	// Perforation and "number" bars.
	for y := 372.0; y < 424; y += 11 {
		c.fill(circle(296, y+3, 2.6), solid(amberDark))
	}
	c.fill(roundRect{312, 380, 388, 392, 6}, solid(hex(0xFFFFFF, 0.9)))
	c.fill(roundRect{312, 402, 364, 412, 5}, solid(hex(0xFFFFFF, 0.7)))
}

func main() {
	out := flag.String("o", "Icon.png", "output PNG path")
	size := flag.Int("size", 512, "icon side in pixels")
	ss := flag.Int("ss", 6, "supersamples per pixel side (anti-aliasing quality)")
	flag.Parse()
	if *size < 16 || *ss < 1 {
		fmt.Fprintln(os.Stderr, "mkicon: -size must be >= 16 and -ss >= 1")
		os.Exit(2)
	}

	c := newCanvas(*size, *ss)
	draw(c)

	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkicon:", err)
		os.Exit(1)
	}
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(f, c.image()); err != nil {
		f.Close()
		fmt.Fprintln(os.Stderr, "mkicon:", err)
		os.Exit(1)
	}
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "mkicon:", err)
		os.Exit(1)
	}
}
