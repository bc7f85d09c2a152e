package ui

import (
	"image/color"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"sportello/internal/completeness"
)

// Date fields are typed as DD/MM/YYYY, which is what a desk operator does
// fastest; the calendar is for picking a day by sight. Fyne's own
// DateEntry writes the month in English and follows the system locale's
// date format, so the desk has its own: Italian month and day names, weeks
// from Monday, and the same DD/MM/YYYY the rest of the interface reads.

// newDateEntry is an entry for a date with a calendar button. F4 or Alt+Down
// opens the calendar from the keyboard.
func newDateEntry(k *keymap) *entry {
	e := newEntry(k)
	e.SetPlaceHolder(lang.L("date.placeholder"))
	attachCalendar(e)
	return e
}

// attachCalendar gives e the calendar icon and keys. The icon takes no
// focus, so Tab goes from a date field straight to the next field.
func attachCalendar(e *entry) {
	e.onPick = func() { openCalendar(e) }
	e.ActionItem = newTapIcon(theme.CalendarIcon(), e.onPick)
}

// tapIcon is an icon that runs tap when clicked and is skipped by Tab.
type tapIcon struct {
	widget.Icon
	tap func()
}

func newTapIcon(res fyne.Resource, tap func()) *tapIcon {
	t := &tapIcon{tap: tap}
	t.Resource = res
	t.ExtendBaseWidget(t)
	return t
}

// Tapped runs the icon's action.
func (t *tapIcon) Tapped(*fyne.PointEvent) { t.tap() }

// Cursor shows the hand over the icon.
func (t *tapIcon) Cursor() desktop.Cursor { return desktop.PointerCursor }

// openCalendar shows the calendar under e, on the day e holds (today when
// it holds none), with the keyboard focus.
func openCalendar(e *entry) {
	c := fyne.CurrentApp().Driver().CanvasForObject(e)
	if c == nil || e.Disabled() {
		return
	}
	start := time.Now().In(rome)
	if d, err := completeness.ParseDate(strings.TrimSpace(e.Text)); err == nil {
		start = d
	}
	var pop *widget.PopUp
	back := func() {
		pop.Hide()
		c.Focus(e)
	}
	p := newDatePicker(e.keys, start, time.Now().In(rome), func(d time.Time) {
		e.SetText(d.Format("02/01/2006"))
		back()
	}, back)
	pop = widget.NewPopUp(p, c)
	at := fyne.CurrentApp().Driver().AbsolutePositionForObject(e)
	pop.ShowAtPosition(at.Add(fyne.NewPos(0, e.Size().Height)))
	c.Focus(p)
}

// calendarDay is a calendar day with no clock or zone.
type calendarDay struct {
	y int
	m time.Month
	d int
}

func dayOf(t time.Time) calendarDay {
	y, m, d := t.Date()
	return calendarDay{y, m, d}
}

// add moves by years, months and days; moving by months keeps the day
// within the target month (31 January + 1 month is 28 or 29 February).
func (c calendarDay) add(years, months, days int) calendarDay {
	if years != 0 || months != 0 {
		first := time.Date(c.y+years, c.m+time.Month(months), 1, 12, 0, 0, 0, time.UTC)
		last := first.AddDate(0, 1, -1).Day()
		return calendarDay{first.Year(), first.Month(), min(c.d, last)}.add(0, 0, days)
	}
	return dayOf(time.Date(c.y, c.m, c.d+days, 12, 0, 0, 0, time.UTC))
}

func (c calendarDay) inRome() time.Time { return time.Date(c.y, c.m, c.d, 0, 0, 0, 0, rome) }

// datePicker is a month of days with the month and year above and buttons
// to move by a month and by a year. With the focus, the arrows move the
// day (a week up and down), Page Up and Page Down the month, Ctrl+Page
// Up and Down or four digits the year, Enter picks the day and Esc closes.
type datePicker struct {
	widget.BaseWidget
	keys    *keymap
	cursor  calendarDay
	today   calendarDay
	pick    func(time.Time)
	cancel  func()
	focused bool
	typed   string // digits of a year being typed

	title *widget.Label
	days  *fyne.Container
	box   *fyne.Container
}

func newDatePicker(k *keymap, start, today time.Time, pick func(time.Time), cancel func()) *datePicker {
	p := &datePicker{keys: k, cursor: dayOf(start), today: dayOf(today), pick: pick, cancel: cancel}
	p.ExtendBaseWidget(p)
	nav := func(icon fyne.Resource, years, months int) fyne.CanvasObject {
		b := widget.NewButtonWithIcon("", icon, func() { p.move(years, months, 0) })
		b.Importance = widget.LowImportance
		return b
	}
	p.title = widget.NewLabelWithStyle("", fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	head := container.NewBorder(nil, nil,
		container.NewHBox(nav(theme.MediaFastRewindIcon(), -1, 0), nav(theme.NavigateBackIcon(), 0, -1)),
		container.NewHBox(nav(theme.NavigateNextIcon(), 0, 1), nav(theme.MediaFastForwardIcon(), 1, 0)),
		p.title)
	p.days = container.NewGridWithColumns(7)
	hint := widget.NewLabelWithStyle(lang.L("calendar.keys"), fyne.TextAlignCenter, fyne.TextStyle{Italic: true})
	hint.Importance = widget.LowImportance
	p.box = container.NewVBox(head, p.days, hint)
	p.refresh()
	return p
}

// monthName is the Italian (or English) name of m.
func monthName(m time.Month) string { return lang.L("month." + strconv.Itoa(int(m))) }

// refresh redraws the month of the cursor.
func (p *datePicker) refresh() {
	name := monthName(p.cursor.m)
	p.title.SetText(strings.ToUpper(name[:1]) + name[1:] + " " + strconv.Itoa(p.cursor.y))
	var cells []fyne.CanvasObject
	for i := range 7 { // Monday first
		l := widget.NewLabelWithStyle(lang.L("weekday.short."+strconv.Itoa((i+1)%7)), fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
		cells = append(cells, l)
	}
	first := calendarDay{p.cursor.y, p.cursor.m, 1}
	for range (int(first.inRome().Weekday()) + 6) % 7 {
		cells = append(cells, layout.NewSpacer())
	}
	for d := first; d.m == first.m; d = d.add(0, 0, 1) {
		cells = append(cells, newDayCell(p, d))
	}
	p.days.Objects = cells
	p.days.Refresh()
}

// move moves the cursor and redraws.
func (p *datePicker) move(years, months, days int) {
	p.cursor = p.cursor.add(years, months, days)
	p.refresh()
}

func (p *datePicker) choose(d calendarDay) { p.pick(d.inRome()) }

// CreateRenderer draws the calendar.
func (p *datePicker) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(p.box) }

// FocusGained and FocusLost mark the day under the cursor.
func (p *datePicker) FocusGained() { p.focused = true; p.refresh() }
func (p *datePicker) FocusLost()   { p.focused = false; p.refresh() }

// TypedRune jumps to a year typed with four digits (1978), keeping the
// month and the day: the way to a birth date far back.
func (p *datePicker) TypedRune(r rune) {
	if r < '0' || r > '9' {
		p.typed = ""
		return
	}
	p.typed += string(r)
	if len(p.typed) < 4 {
		return
	}
	y, _ := strconv.Atoi(p.typed)
	p.typed = ""
	if y >= 1800 {
		p.move(y-p.cursor.y, 0, 0)
	}
}

// TypedKey moves the cursor, picks the day or closes the calendar.
func (p *datePicker) TypedKey(ev *fyne.KeyEvent) {
	switch ev.Name {
	case fyne.KeyLeft:
		p.move(0, 0, -1)
	case fyne.KeyRight:
		p.move(0, 0, 1)
	case fyne.KeyUp:
		p.move(0, 0, -7)
	case fyne.KeyDown:
		p.move(0, 0, 7)
	case fyne.KeyPageUp:
		p.move(0, -1, 0)
	case fyne.KeyPageDown:
		p.move(0, 1, 0)
	case fyne.KeyHome:
		p.move(0, 0, 1-p.cursor.d)
	case fyne.KeyEnd:
		p.move(0, 1, 0)
		p.move(0, 0, -p.cursor.d)
	case fyne.KeyReturn, fyne.KeyEnter, fyne.KeySpace:
		p.choose(p.cursor)
	case fyne.KeyEscape:
		p.cancel()
	default:
		p.keys.typedKey(ev)
	}
}

// TypedShortcut moves by a year with Ctrl+Page Up and Ctrl+Page Down, or
// runs a window command.
func (p *datePicker) TypedShortcut(s fyne.Shortcut) {
	if cs, ok := s.(*desktop.CustomShortcut); ok && cs.Modifier == fyne.KeyModifierShortcutDefault {
		switch cs.KeyName {
		case fyne.KeyPageUp:
			p.move(-1, 0, 0)
			return
		case fyne.KeyPageDown:
			p.move(1, 0, 0)
			return
		}
	}
	p.keys.typedShortcut(s)
}

// dayCell is one day of the calendar: tapped, it is picked. It does not
// take the focus, which stays on the calendar for the arrows.
type dayCell struct {
	widget.BaseWidget
	p   *datePicker
	day calendarDay
}

func newDayCell(p *datePicker, d calendarDay) *dayCell {
	c := &dayCell{p: p, day: d}
	c.ExtendBaseWidget(c)
	return c
}

// Tapped picks the day.
func (c *dayCell) Tapped(*fyne.PointEvent) { c.p.choose(c.day) }

// CreateRenderer draws the day: the cursor's on the primary colour, today's
// in bold.
func (c *dayCell) CreateRenderer() fyne.WidgetRenderer {
	bg := canvas.NewRectangle(color.Transparent)
	bg.CornerRadius = theme.InputRadiusSize()
	txt := canvas.NewText(strconv.Itoa(c.day.d), theme.Color(theme.ColorNameForeground))
	txt.Alignment = fyne.TextAlignCenter
	txt.TextStyle.Bold = c.day == c.p.today
	if c.day == c.p.cursor {
		bg.FillColor = theme.Color(theme.ColorNamePrimary)
		txt.Color = theme.Color(theme.ColorNameForegroundOnPrimary)
		if !c.p.focused {
			bg.FillColor = theme.Color(theme.ColorNameSelection)
			txt.Color = theme.Color(theme.ColorNameForeground)
		}
	}
	return &dayCellRenderer{bg: bg, txt: txt, objects: []fyne.CanvasObject{bg, txt}}
}

type dayCellRenderer struct {
	bg      *canvas.Rectangle
	txt     *canvas.Text
	objects []fyne.CanvasObject
}

func (r *dayCellRenderer) Layout(size fyne.Size) {
	r.bg.Resize(size)
	ts := r.txt.MinSize()
	r.txt.Resize(fyne.NewSize(size.Width, ts.Height))
	r.txt.Move(fyne.NewPos(0, (size.Height-ts.Height)/2))
}

func (r *dayCellRenderer) MinSize() fyne.Size {
	ts := fyne.MeasureText("28", theme.TextSize(), fyne.TextStyle{Bold: true})
	pad := theme.Padding() * 2
	return fyne.NewSize(ts.Width+pad*2, ts.Height+pad)
}

func (r *dayCellRenderer) Refresh()                     { canvas.Refresh(r.bg); canvas.Refresh(r.txt) }
func (r *dayCellRenderer) Objects() []fyne.CanvasObject { return r.objects }
func (r *dayCellRenderer) Destroy()                     {}
