package ui

import (
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

func TestCalendarDayArithmetic(t *testing.T) {
	for _, c := range []struct {
		from                calendarDay
		years, months, days int
		want                calendarDay
	}{
		{calendarDay{2024, time.January, 31}, 0, 1, 0, calendarDay{2024, time.February, 29}},
		{calendarDay{2023, time.January, 31}, 0, 1, 0, calendarDay{2023, time.February, 28}},
		{calendarDay{2024, time.February, 29}, -1, 0, 0, calendarDay{2023, time.February, 28}},
		{calendarDay{2026, time.December, 31}, 0, 0, 1, calendarDay{2027, time.January, 1}},
		{calendarDay{2026, time.March, 1}, 0, 0, -1, calendarDay{2026, time.February, 28}},
		{calendarDay{2026, time.January, 15}, 0, -1, 0, calendarDay{2025, time.December, 15}},
		// The day the clocks go forward in Rome is a day like the others.
		{calendarDay{2026, time.March, 28}, 0, 0, 2, calendarDay{2026, time.March, 30}},
	} {
		if got := c.from.add(c.years, c.months, c.days); got != c.want {
			t.Errorf("%v + %dy %dm %dd = %v, want %v", c.from, c.years, c.months, c.days, got, c.want)
		}
	}
}

// picker is the calendar open on the window, or nil.
func (h *harness) picker() *datePicker {
	for _, o := range h.w.Canvas().Overlays().List() {
		if p, ok := o.(*widget.PopUp); ok {
			if dp, ok := p.Content.(*datePicker); ok && p.Visible() {
				return dp
			}
		}
	}
	return nil
}

func TestDateFieldCalendar(t *testing.T) {
	h := newHarness(t)
	h.loginOK("sportello")
	f := h.newCitizenForm()
	c := h.w.Canvas()

	// Tab goes from the date field to the next field, not to its icon.
	c.Focus(f.birthDate)
	c.FocusNext()
	if c.Focused() != f.birthPlace {
		t.Errorf("Tab from the birth date focused %T", c.Focused())
	}

	// F4 opens the calendar on the day typed, in Italian, with the focus.
	c.Focus(f.docExpiry)
	h.typeFocused("15/03/2027")
	f.docExpiry.TypedKey(&fyne.KeyEvent{Name: fyne.KeyF4})
	p := h.picker()
	if p == nil {
		t.Fatal("F4 did not open the calendar")
	}
	if c.Focused() != p {
		t.Errorf("the calendar does not have the focus: %T", c.Focused())
	}
	for _, s := range []string{"Marzo 2027", "Lu", "Do", "31"} {
		if !h.shows(s) {
			t.Errorf("%q missing from the calendar", s)
		}
	}
	// Right, Down (a week), Page Down (a month), Ctrl+Page Up (a year back), Enter.
	for _, k := range []fyne.KeyName{fyne.KeyRight, fyne.KeyDown, fyne.KeyPageDown} {
		p.TypedKey(&fyne.KeyEvent{Name: k})
	}
	if !h.shows("Aprile 2027") {
		t.Error("Page Down did not move to April")
	}
	p.TypedShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyPageUp, Modifier: fyne.KeyModifierShortcutDefault})
	p.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if f.docExpiry.Text != "23/04/2026" {
		t.Errorf("picked %q, want 23/04/2026", f.docExpiry.Text)
	}
	if h.picker() != nil || c.Focused() != f.docExpiry {
		t.Errorf("after the pick the calendar is open (%v) or the focus is on %T", h.picker() != nil, c.Focused())
	}
	if !f.dirty() {
		t.Error("a picked date does not make the form dirty")
	}

	// Esc closes it and changes nothing; Alt+Down opens it too.
	f.docExpiry.TypedShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyDown, Modifier: fyne.KeyModifierAlt})
	if p = h.picker(); p == nil {
		t.Fatal("Alt+Down did not open the calendar")
	}
	p.TypedKey(&fyne.KeyEvent{Name: fyne.KeyLeft})
	p.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if h.picker() != nil || f.docExpiry.Text != "23/04/2026" || c.Focused() != f.docExpiry {
		t.Errorf("Esc: open %v, text %q, focus %T", h.picker() != nil, f.docExpiry.Text, c.Focused())
	}

	// A click on the icon opens it, a click on a day picks it.
	test.Tap(f.docExpiry.ActionItem.(fyne.Tappable))
	if p = h.picker(); p == nil {
		t.Fatal("the icon did not open the calendar")
	}
	var first *dayCell
	for _, o := range p.days.Objects {
		if d, ok := o.(*dayCell); ok && d.day.d == 1 {
			first = d
		}
	}
	test.Tap(first)
	if f.docExpiry.Text != "01/04/2026" || h.picker() != nil {
		t.Errorf("tapped the 1st: %q, open %v", f.docExpiry.Text, h.picker() != nil)
	}

	// Four digits jump to a year, keeping the month and the day.
	f.docExpiry.TypedKey(&fyne.KeyEvent{Name: fyne.KeyF4})
	p = h.picker()
	test.Type(p, "1978")
	p.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if f.docExpiry.Text != "01/04/1978" {
		t.Errorf("typed the year 1978: %q", f.docExpiry.Text)
	}

	// An empty field opens on today (Europe/Rome).
	f.docExpiry.SetText("")
	f.docExpiry.TypedKey(&fyne.KeyEvent{Name: fyne.KeyF4})
	p = h.picker()
	if p == nil || p.cursor != dayOf(time.Now().In(rome)) {
		t.Fatalf("an empty field opened on %+v", p)
	}
	p.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
}
