package ui

import (
	"context"
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"sportello/internal/auth"
	"sportello/internal/catalog"
)

// section is one tab of the shell.
type section interface {
	tab() *container.TabItem
	// focusSearch puts the focus on the section's search field (Ctrl+F).
	focusSearch()
}

// saver is a section with something to save (Ctrl+S).
type saver interface{ save() }

// editor is a section that may hold unsaved changes.
type editor interface{ dirty() bool }

// shell is the main window after login: header with the operator, the
// sections the role is offered, and a status line with the sync state.
type shell struct {
	u        *UI
	content  fyne.CanvasObject
	tabs     *container.AppTabs
	sections []section
	citizens *citizensSection // nil when the role may not manage citizens
	catalog  *catalogSection
	wizard   *wizardSection   // nil when the role may not file applications
	protocol *protocolSection // nil when the role may not see the register

	comune    *widget.Label
	operator  *widget.Label
	role      *widget.Label
	logoutBtn *button
	bar       *syncBar
	message   *widget.Label
}

func newShell(u *UI) *shell {
	sh := &shell{u: u}
	sess := u.sess

	if sess.Role.Can(auth.ManageCitizens) {
		sh.citizens = newCitizensSection(u)
		sh.sections = append(sh.sections, sh.citizens)
	}
	sh.catalog = newCatalogSection(u)
	sh.sections = append(sh.sections, sh.catalog)
	if sess.Role.Can(auth.FileApplications) {
		sh.wizard = newWizardSection(u)
		sh.sections = append(sh.sections, sh.wizard)
	}
	if sess.Role.Can(auth.ViewProtocolRegist) {
		sh.protocol = newProtocolSection(u)
		sh.sections = append(sh.sections, sh.protocol)
	}

	sh.tabs = container.NewAppTabs()
	for _, s := range sh.sections {
		sh.tabs.Append(s.tab())
	}
	sh.tabs.OnSelected = func(*container.TabItem) {
		sh.message.SetText("")
		if s, ok := sh.active().(interface{ shown() }); ok {
			s.shown()
		}
	}

	appName := widget.NewLabelWithStyle(lang.L("app.name"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	sh.comune = widget.NewLabel("")
	sh.operator = widget.NewLabelWithStyle(sess.FullName, fyne.TextAlignTrailing, fyne.TextStyle{Bold: true})
	sh.role = widget.NewLabel(sess.Role.Label())
	sh.logoutBtn = newButton(u.keys, lang.L("shell.logout"), theme.LogoutIcon(), u.logout)
	header := container.NewBorder(nil, nil,
		container.NewHBox(widget.NewIcon(Icon), appName, sh.comune),
		container.NewHBox(widget.NewIcon(theme.AccountIcon()), sh.operator, sh.role, sh.logoutBtn),
	)

	sh.bar = newSyncBar(u)
	sh.message = widget.NewLabel("")
	sh.message.Truncation = fyne.TextTruncateEllipsis
	status := container.NewBorder(nil, nil, sh.bar.left, sh.bar.right, container.NewGridWithColumns(2, sh.bar.last, sh.message))

	sh.content = container.NewBorder(
		container.NewVBox(header, widget.NewSeparator()),
		container.NewVBox(widget.NewSeparator(), status),
		nil, nil, sh.tabs)

	runAsync(u, func(ctx context.Context) (*catalog.Catalog, error) {
		return u.svc.Catalog(ctx)
	}, func(c *catalog.Catalog, err error) {
		if err == nil && c != nil {
			sh.comune.SetText("· " + c.Municipality.Name)
		}
	})
	return sh
}

// close stops the shell's background work (logout, enrolment).
func (sh *shell) close() {
	if sh.wizard != nil {
		sh.wizard.close()
	}
}

// actions are the shell's keyboard commands.
func (sh *shell) actions() []keyAction {
	acts := []keyAction{ctrl(fyne.KeyF, "keys.search", sh.focusSearch)}
	if sh.citizens != nil {
		acts = append(acts, ctrl(fyne.KeyN, "keys.new.citizen", func() {
			sh.show(sh.citizens)
			sh.citizens.newCitizen()
		}))
	}
	if sh.wizard != nil {
		acts = append(acts,
			ctrl(fyne.KeyP, "keys.new.application", func() {
				sh.show(sh.wizard)
				sh.wizard.focusSearch()
			}),
			ctrl(fyne.KeyPageDown, "keys.wizard.next", func() {
				if sh.active() == section(sh.wizard) {
					sh.wizard.next()
				}
			}),
			ctrl(fyne.KeyPageUp, "keys.wizard.back", func() {
				if sh.active() == section(sh.wizard) {
					sh.wizard.back()
				}
			}),
			ctrl(fyne.KeyO, "keys.wizard.add.file", func() {
				if sh.active() == section(sh.wizard) {
					sh.wizard.addFileShortcut()
				}
			}),
		)
	}
	if sh.protocol != nil && sh.u.sess.Role.Can(auth.RegisterProtocol) {
		acts = append(acts, ctrl(fyne.KeyD, "keys.protocol.register", func() {
			sh.show(sh.protocol)
			sh.protocol.newRegistration()
		}))
	}
	acts = append(acts,
		ctrl(fyne.KeyS, "keys.save", sh.save),
		ctrl(fyne.KeyR, "keys.sync.now", sh.bar.syncNow),
	)
	for i, s := range sh.sections {
		if i >= 9 {
			break
		}
		acts = append(acts, ctrl(fyne.KeyName(fmt.Sprint(i+1)), "keys.tab."+tabKey(s), func() {
			sh.show(s)
			s.focusSearch()
		}))
	}
	return acts
}

func tabKey(s section) string {
	switch s.(type) {
	case *citizensSection:
		return "citizens"
	case *catalogSection:
		return "catalog"
	case *wizardSection:
		return "wizard"
	case *protocolSection:
		return "protocol"
	}
	return "other"
}

func (sh *shell) active() section {
	i := sh.tabs.SelectedIndex()
	if i < 0 || i >= len(sh.sections) {
		return nil
	}
	return sh.sections[i]
}

func (sh *shell) show(s section) {
	for i, x := range sh.sections {
		if x == s {
			if sh.tabs.SelectedIndex() != i {
				sh.tabs.SelectIndex(i)
			}
			return
		}
	}
}

func (sh *shell) focusSearch() {
	if s := sh.active(); s != nil {
		s.focusSearch()
	}
}

func (sh *shell) focusDefault() { sh.focusSearch() }

func (sh *shell) save() {
	if s, ok := sh.active().(saver); ok {
		s.save()
	}
}

// dirty reports whether some section holds unsaved changes.
func (sh *shell) dirty() bool {
	for _, s := range sh.sections {
		if e, ok := s.(editor); ok && e.dirty() {
			return true
		}
	}
	return false
}
