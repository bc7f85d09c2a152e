package ui

import (
	"runtime"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"
)

// keyAction is a keyboard command of the window: a Ctrl/Cmd shortcut or a
// plain key (F1).
type keyAction struct {
	shortcut *desktop.CustomShortcut // nil for a plain key
	key      fyne.KeyName            // the plain key when shortcut is nil
	descKey  string                  // translation key of the description
	run      func()
}

// label is how the help dialog writes the keys.
func (a keyAction) label() string {
	if a.shortcut == nil {
		return keyLabel(a.key)
	}
	return modifierLabel() + "+" + keyLabel(a.shortcut.KeyName)
}

// keyLabel is how a key is written on Italian keyboards.
func keyLabel(k fyne.KeyName) string {
	switch k {
	case fyne.KeyPageDown:
		return lang.L("keys.pagedown")
	case fyne.KeyPageUp:
		return lang.L("keys.pageup")
	}
	return string(k)
}

func modifierLabel() string {
	if runtime.GOOS == "darwin" {
		return "Cmd"
	}
	return "Ctrl"
}

func ctrl(k fyne.KeyName, descKey string, run func()) keyAction {
	return keyAction{shortcut: &desktop.CustomShortcut{KeyName: k, Modifier: fyne.KeyModifierShortcutDefault}, descKey: descKey, run: run}
}

// keymap holds the window's keyboard commands. They are registered on the
// canvas, and the focusable widgets of this package pass them on too: Fyne
// gives a shortcut to the focused entry only, and a plain key such as F1 to
// the focused widget only, so without this they would be lost whenever a
// field has the focus.
type keymap struct {
	u       *UI
	canvas  fyne.Canvas
	actions []keyAction
}

func newKeymap(u *UI) *keymap { return &keymap{u: u} }

func (k *keymap) attach(c fyne.Canvas) {
	k.canvas = c
	c.SetOnTypedKey(func(ev *fyne.KeyEvent) { k.typedKey(ev) })
}

// setActions replaces the commands (they change with the screen and the role).
func (k *keymap) setActions(actions []keyAction) {
	if k.canvas != nil {
		for _, a := range k.actions {
			if a.shortcut != nil {
				k.canvas.RemoveShortcut(a.shortcut)
			}
		}
	}
	k.actions = actions
	if k.canvas == nil {
		return
	}
	for _, a := range actions {
		if a.shortcut != nil {
			run := a.run
			k.canvas.AddShortcut(a.shortcut, func(fyne.Shortcut) { run() })
		}
	}
}

// typedShortcut runs the command bound to s, reporting whether there was one.
func (k *keymap) typedShortcut(s fyne.Shortcut) bool {
	cs, ok := s.(*desktop.CustomShortcut)
	if !ok {
		return false
	}
	for _, a := range k.actions {
		if a.shortcut != nil && a.shortcut.ShortcutName() == cs.ShortcutName() {
			a.run()
			return true
		}
	}
	return false
}

// typedKey runs the command bound to a plain key, reporting whether there was one.
func (k *keymap) typedKey(ev *fyne.KeyEvent) bool {
	if ev.Name == fyne.KeyEscape && k.u.closeTopDialog() {
		return true
	}
	for _, a := range k.actions {
		if a.shortcut == nil && a.key == ev.Name {
			a.run()
			return true
		}
	}
	return false
}

// baseActions are available on every screen.
func (u *UI) baseActions() []keyAction {
	return []keyAction{
		{key: fyne.KeyF1, descKey: "keys.help", run: u.showHelp},
		ctrl(fyne.KeyI, "keys.settings", u.showSettings),
	}
}

// showHelp lists the keyboard commands of the current screen.
func (u *UI) showHelp() {
	grid := container.New(layout.NewFormLayout())
	add := func(keys, desc string) {
		grid.Add(widget.NewLabelWithStyle(keys, fyne.TextAlignLeading, fyne.TextStyle{Bold: true}))
		grid.Add(widget.NewLabel(desc))
	}
	for _, a := range u.keys.actions {
		add(a.label(), lang.L(a.descKey))
	}
	add("Tab", lang.L("keys.next"))
	add(lang.L("keys.shift")+"+Tab", lang.L("keys.previous"))
	add(lang.L("keys.enter"), lang.L("keys.submit"))
	add(lang.L("keys.down"), lang.L("keys.to.list"))
	add("F4, Alt+"+lang.L("keys.down"), lang.L("keys.calendar"))
	add(lang.L("keys.space"), lang.L("keys.activate"))
	add("Esc", lang.L("keys.escape"))
	scroll := container.NewVScroll(grid)
	scroll.SetMinSize(fyne.NewSize(620, 480))
	u.openDialog(dialog.NewCustom(lang.L("keys.title"), lang.L("dialog.close"), scroll, u.win))
}
