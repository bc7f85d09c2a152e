package ui

import (
	"context"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"sportello/internal/catalog"
	"sportello/internal/demo"
	"sportello/internal/desk"
)

// loginScreen asks for the operator's credentials. The check is local (the
// password hashes are in the replica), so it works offline.
type loginScreen struct {
	u        *UI
	content  fyne.CanvasObject
	comune   *widget.Label
	username *entry
	password *entry
	submit   *button
	errText  *widget.Label
	busy     *widget.ProgressBarInfinite
	demoHint *widget.Label
	settings *button
	working  bool
}

func newLoginScreen(u *UI) *loginScreen {
	s := &loginScreen{u: u}
	title := widget.NewLabelWithStyle(lang.L("app.name"), fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	title.SizeName = theme.SizeNameHeadingText
	s.comune = widget.NewLabelWithStyle("", fyne.TextAlignCenter, fyne.TextStyle{})

	s.username = newEntry(u.keys)
	s.username.SetPlaceHolder(lang.L("login.username.placeholder"))
	s.username.OnSubmitted = func(string) { u.win.Canvas().Focus(s.password) }
	s.password = newPasswordEntry(u.keys)
	s.password.SetPlaceHolder(lang.L("login.password.placeholder"))
	s.password.OnSubmitted = func(string) { s.doLogin() }

	s.submit = newButton(u.keys, lang.L("login.submit"), theme.LoginIcon(), s.doLogin)
	s.submit.Importance = widget.HighImportance

	s.errText = textLabel("")
	s.errText.Importance = widget.DangerImportance
	s.errText.Hide()
	s.busy = progress()

	s.settings = newButton(u.keys, lang.L("settings.open"), theme.SettingsIcon(), u.showSettings)
	s.settings.Importance = widget.LowImportance

	s.demoHint = textLabel("")
	s.demoHint.SizeName = theme.SizeNameCaptionText
	s.demoHint.Hide()

	form := widget.NewForm(
		widget.NewFormItem(lang.L("login.username"), s.username),
		widget.NewFormItem(lang.L("login.password"), s.password),
	)
	subtitle := widget.NewLabelWithStyle(lang.L("login.subtitle"), fyne.TextAlignCenter, fyne.TextStyle{Italic: true})
	box := container.NewVBox(
		title,
		s.comune,
		subtitle,
		widget.NewSeparator(),
		form,
		s.submit,
		s.busy,
		s.errText,
		s.demoHint,
		container.NewHBox(layout.NewSpacer(), s.settings),
	)
	s.content = container.NewCenter(container.New(fixedWidth(440), widget.NewCard("", "", box)))
	return s
}

// loadHints shows the municipality and, on the demo replica, the demo accounts.
func (s *loginScreen) loadHints() {
	runAsync(s.u, func(ctx context.Context) (*catalog.Catalog, error) {
		return s.u.svc.Catalog(ctx)
	}, func(c *catalog.Catalog, err error) {
		if err != nil || c == nil {
			return // the login works without: nothing to show
		}
		s.comune.SetText(c.Municipality.Name)
		if isDemo(c) {
			s.demoHint.SetText(demoAccountsText())
			s.demoHint.Show()
		}
	})
}

// isDemo reports whether the replica holds the demo municipality.
func isDemo(c *catalog.Catalog) bool {
	d := demo.Catalog().Municipality
	return c.Municipality.IPACode == d.IPACode && c.Municipality.Name == d.Name
}

func demoAccountsText() string {
	users := make([]string, 0, len(desk.DemoOperators))
	for _, o := range desk.DemoOperators {
		users = append(users, o.Username+" ("+o.Role.Label()+")")
	}
	return lang.L("login.demo", map[string]any{"Users": strings.Join(users, ", "), "Password": desk.DemoPassword})
}

func (s *loginScreen) doLogin() {
	if s.working {
		return
	}
	user, pass := strings.TrimSpace(s.username.Text), s.password.Text
	if user == "" || pass == "" {
		s.showError(lang.L("login.missing"))
		if user == "" {
			s.u.win.Canvas().Focus(s.username)
		} else {
			s.u.win.Canvas().Focus(s.password)
		}
		return
	}
	s.working = true
	s.errText.Hide()
	s.submit.Disable()
	s.busy.Show()
	runAsync(s.u, func(ctx context.Context) (desk.Session, error) {
		return s.u.svc.Login(ctx, user, pass)
	}, func(sess desk.Session, err error) {
		s.working = false
		s.busy.Hide()
		s.submit.Enable()
		if err != nil {
			logUnexpected(err)
			s.showError(desk.UserMessage(err))
			s.password.SetText("")
			s.u.win.Canvas().Focus(s.password)
			return
		}
		s.u.loggedIn(sess)
	})
}

func (s *loginScreen) showError(msg string) {
	s.errText.SetText(msg)
	s.errText.Show()
}
