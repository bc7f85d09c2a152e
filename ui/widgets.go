package ui

import (
	"context"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// The focusable widgets below behave like Fyne's and hand the window's
// keyboard commands (keymap) on, so that Ctrl+S, F1 and the others work
// wherever the focus is.

// entry is a widget.Entry that passes window commands on. onDown, when set,
// runs on the Down arrow (search fields move to their result list); onPick,
// when set, on F4 and Alt+Down (date fields open their calendar).
type entry struct {
	widget.Entry
	keys   *keymap
	onDown func()
	onPick func()
}

func newEntry(k *keymap) *entry {
	e := &entry{keys: k}
	e.ExtendBaseWidget(e)
	e.Wrapping = fyne.TextWrapOff
	e.Scroll = container.ScrollHorizontalOnly
	return e
}

func newPasswordEntry(k *keymap) *entry {
	e := newEntry(k)
	e.Password = true
	return e
}

// TypedShortcut runs a window command, or the entry's own shortcut.
func (e *entry) TypedShortcut(s fyne.Shortcut) {
	if cs, ok := s.(*desktop.CustomShortcut); ok && e.onPick != nil && cs.KeyName == fyne.KeyDown && cs.Modifier == fyne.KeyModifierAlt {
		e.onPick()
		return
	}
	if e.keys.typedShortcut(s) {
		return
	}
	e.Entry.TypedShortcut(s)
}

// TypedKey runs a window command bound to the key, or types it.
func (e *entry) TypedKey(ev *fyne.KeyEvent) {
	if ev.Name == fyne.KeyDown && e.onDown != nil && !e.MultiLine {
		e.onDown()
		return
	}
	if ev.Name == fyne.KeyF4 && e.onPick != nil {
		e.onPick()
		return
	}
	if e.keys.typedKey(ev) {
		return
	}
	e.Entry.TypedKey(ev)
}

// button is a widget.Button that passes window commands on and also
// activates with Enter.
type button struct {
	widget.Button
	keys *keymap
}

func newButton(k *keymap, label string, icon fyne.Resource, tapped func()) *button {
	b := &button{keys: k}
	b.Text, b.Icon, b.OnTapped = label, icon, tapped
	b.ExtendBaseWidget(b)
	return b
}

// TypedKey presses the button with Space or Enter, or runs a window command.
func (b *button) TypedKey(ev *fyne.KeyEvent) {
	switch {
	case ev.Name == fyne.KeyReturn || ev.Name == fyne.KeyEnter:
		b.Tapped(nil)
	case b.keys.typedKey(ev):
	default:
		b.Button.TypedKey(ev)
	}
}

// check is a widget.Check that passes window commands on.
type check struct {
	widget.Check
	keys *keymap
}

func newCheck(k *keymap, label string, changed func(bool)) *check {
	c := &check{keys: k}
	c.Text, c.OnChanged = label, changed
	c.ExtendBaseWidget(c)
	return c
}

// TypedKey runs a window command bound to the key.
func (c *check) TypedKey(ev *fyne.KeyEvent) {
	if !c.keys.typedKey(ev) {
		c.Check.TypedKey(ev)
	}
}

// selectBox is a widget.Select that passes window commands on.
type selectBox struct {
	widget.Select
	keys *keymap
}

func newSelect(k *keymap, options []string, changed func(string)) *selectBox {
	s := &selectBox{keys: k}
	s.Options, s.OnChanged = options, changed
	s.ExtendBaseWidget(s)
	return s
}

// TypedKey runs a window command bound to the key, or moves the selection.
func (s *selectBox) TypedKey(ev *fyne.KeyEvent) {
	if !s.keys.typedKey(ev) {
		s.Select.TypedKey(ev)
	}
}

// list is a widget.List that passes window commands on and opens the
// focused row with Enter.
type list struct {
	widget.List
	keys *keymap
}

func newList(k *keymap, length func() int, create func() fyne.CanvasObject, update func(widget.ListItemID, fyne.CanvasObject)) *list {
	l := &list{keys: k}
	l.Length, l.CreateItem, l.UpdateItem = length, create, update
	l.ExtendBaseWidget(l)
	return l
}

// TypedKey moves through the rows (Up/Down), opens one (Space/Enter) or
// runs a window command.
func (l *list) TypedKey(ev *fyne.KeyEvent) {
	switch ev.Name {
	case fyne.KeyReturn, fyne.KeyEnter:
		l.List.TypedKey(&fyne.KeyEvent{Name: fyne.KeySpace})
	default:
		if !l.keys.typedKey(ev) {
			l.List.TypedKey(ev)
		}
	}
}

// textLabel returns a wrapping label for longer texts.
func textLabel(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.Wrapping = fyne.TextWrapWord
	return l
}

// heading returns a bold label.
func heading(text string) *widget.Label {
	return widget.NewLabelWithStyle(text, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
}

// progress returns a hidden infinite progress bar, shown while work runs.
func progress() *widget.ProgressBarInfinite {
	p := widget.NewProgressBarInfinite()
	p.Hide()
	return p
}

// startupScreen is shown while the replica is prepared.
func startupScreen() fyne.CanvasObject {
	title := widget.NewLabelWithStyle(lang.L("app.name"), fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	title.SizeName = theme.SizeNameHeadingText
	bar := widget.NewProgressBarInfinite()
	return container.NewCenter(container.NewVBox(
		title,
		widget.NewLabelWithStyle(lang.L("startup.preparing"), fyne.TextAlignCenter, fyne.TextStyle{}),
		container.NewGridWrap(fyne.NewSize(320, bar.MinSize().Height), bar),
		layout.NewSpacer(),
	))
}

// fixedWidth lays its objects out with a fixed width and the height they
// need at that width (wrapping labels grow downwards instead of sideways).
type fixedWidth float32

func (w fixedWidth) MinSize(objects []fyne.CanvasObject) fyne.Size {
	h := float32(0)
	for _, o := range objects {
		if o.Visible() {
			h = max(h, o.MinSize().Height)
		}
	}
	return fyne.NewSize(float32(w), h)
}

func (w fixedWidth) Layout(objects []fyne.CanvasObject, size fyne.Size) {
	for _, o := range objects {
		o.Move(fyne.NewPos(0, 0))
		o.Resize(fyne.NewSize(float32(w), size.Height))
	}
}

// tableWarning is a warning above a section's list about records that need
// a person (duplicate registry records, repeated registrations), with a
// button that lists them. Reading them scans a whole table, so a section
// re-reads it at most once every recheckEvery when shown again.
type tableWarning struct {
	label *widget.Label
	btn   *button
	at    time.Time // last read
}

// recheckEvery is how often showing a tab again re-reads its warning.
const recheckEvery = time.Minute

func newTableWarning(k *keymap, showKey string, show func()) *tableWarning {
	w := &tableWarning{label: textLabel(""), btn: newButton(k, lang.L(showKey), theme.WarningIcon(), show)}
	w.label.Importance = widget.WarningImportance
	w.label.Hide()
	w.btn.Hide()
	return w
}

// due reports whether the warning was last read more than recheckEvery ago.
func (w *tableWarning) due() bool { return time.Since(w.at) >= recheckEvery }

// read runs count in the background and shows the warning (text key with
// the count) when it is not zero, hides it when it is.
func (w *tableWarning) read(u *UI, key string, count func(context.Context) (int, error)) {
	w.at = time.Now()
	runAsync(u, count, func(n int, err error) {
		if err != nil {
			logUnexpected(err)
			return
		}
		if n == 0 {
			w.label.Hide()
			w.btn.Hide()
			return
		}
		w.label.SetText(lang.L(key, map[string]any{"Count": n}))
		w.label.Show()
		w.btn.Show()
	})
}
