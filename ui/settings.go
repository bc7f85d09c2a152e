package ui

import (
	"context"
	"crypto/x509"
	"errors"
	"net/url"
	"os"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"sportello/internal/desk"
	"sportello/sync"
)

// settingsDialog is "Impostazioni": the connection with the server
// (enrolment of the workstation) and the scanner folder.
type settingsDialog struct {
	u      *UI
	d      dialog.Dialog
	server *entry
	pin    *entry
	code   *entry
	enrol  *button
	busy   *widget.ProgressBarInfinite
	result *widget.Label

	scanner    *entry
	browse     *button
	saveFolder *button
	folderInfo *widget.Label
	confirm    *dialog.ConfirmDialog
}

// showSettings opens the settings dialog (Ctrl+I).
func (u *UI) showSettings() {
	if u.enrolling {
		return
	}
	s := &settingsDialog{u: u}
	u.settings = s
	k := u.keys
	s.server = newEntry(k)
	s.server.SetPlaceHolder(lang.L("settings.server.placeholder"))
	s.pin = newEntry(k)
	s.pin.SetPlaceHolder(lang.L("settings.pin.placeholder"))
	s.code = newEntry(k)
	s.code.SetPlaceHolder(lang.L("settings.code.placeholder"))
	s.code.OnSubmitted = func(string) { s.askEnrol() }
	if u.opts.Sync != nil {
		addr, pin := u.opts.Sync.Server()
		s.server.SetText(addr)
		s.pin.SetText(pin)
	}
	s.enrol = newButton(k, lang.L("settings.enrol"), theme.LoginIcon(), s.askEnrol)
	s.enrol.Importance = widget.HighImportance
	if u.opts.Enrol == nil {
		s.enrol.Disable()
	}
	s.busy = progress()
	s.result = textLabel("")
	s.result.Hide()

	state := textLabel(lang.L("settings.not.enrolled"))
	if u.syncState.Enrolled {
		state.SetText(lang.L("settings.enrolled"))
	}
	state.Importance = widget.LowImportance

	s.scanner = newEntry(k)
	s.scanner.SetPlaceHolder(lang.L("settings.scanner.placeholder"))
	s.scanner.OnSubmitted = func(string) { s.saveScanner() }
	s.browse = newButton(k, lang.L("settings.scanner.browse"), theme.FolderOpenIcon(), s.chooseFolder)
	s.saveFolder = newButton(k, lang.L("settings.scanner.save"), theme.DocumentSaveIcon(), s.saveScanner)
	s.folderInfo = textLabel(lang.L("settings.scanner.help"))
	s.folderInfo.Importance = widget.LowImportance

	item := func(key string, o fyne.CanvasObject) *widget.FormItem { return widget.NewFormItem(lang.L(key), o) }
	server := widget.NewForm(
		item("settings.server", s.server),
		item("settings.pin", s.pin),
		item("settings.code", s.code),
	)
	scanner := widget.NewForm(item("settings.scanner", container.NewBorder(nil, nil, nil, s.browse, s.scanner)))
	content := container.NewVBox(
		heading(lang.L("settings.section.server")),
		state,
		server,
		container.NewBorder(nil, nil, nil, s.enrol, s.busy),
		s.result,
		widget.NewSeparator(),
		heading(lang.L("settings.section.scanner")),
		scanner,
		container.NewBorder(nil, nil, nil, s.saveFolder, s.folderInfo),
	)
	s.d = dialog.NewCustom(lang.L("settings.title"), lang.L("dialog.close"), container.New(fixedWidth(640), content), u.win)
	u.openDialog(s.d)
	u.win.Canvas().Focus(s.server)

	runAsync(u, func(ctx context.Context) (string, error) {
		return u.svc.LocalSetting(ctx, desk.SettingScannerFolder)
	}, func(folder string, err error) {
		if err == nil && s.scanner.Text == "" {
			s.scanner.SetText(folder)
		}
	})
}

func (s *settingsDialog) chooseFolder() {
	d := dialog.NewFolderOpen(func(l fyne.ListableURI, err error) {
		if err != nil {
			s.u.showError(err)
			return
		}
		if l != nil {
			s.scanner.SetText(l.Path())
		}
	}, s.u.win)
	d.Resize(fyne.NewSize(860, 560))
	s.u.openDialog(d)
}

// saveScanner stores the scanner folder ("" turns the scanner off).
func (s *settingsDialog) saveScanner() {
	u := s.u
	folder := strings.TrimSpace(s.scanner.Text)
	if folder != "" {
		if st, err := os.Stat(folder); err != nil || !st.IsDir() {
			s.folderInfo.SetText(lang.L("settings.scanner.missing", map[string]any{"Folder": folder}))
			s.folderInfo.Importance = widget.DangerImportance
			s.folderInfo.Refresh()
			return
		}
	}
	runAsync(u, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, u.svc.SetLocalSetting(ctx, desk.SettingScannerFolder, folder)
	}, func(_ struct{}, err error) {
		if err != nil {
			u.showError(err)
			return
		}
		if folder == "" {
			s.folderInfo.SetText(lang.L("settings.scanner.off"))
		} else {
			s.folderInfo.SetText(lang.L("settings.scanner.saved", map[string]any{"Folder": folder}))
		}
		s.folderInfo.Importance = widget.SuccessImportance
		s.folderInfo.Refresh()
		u.setStatus(s.folderInfo.Text)
		if u.shell != nil && u.shell.wizard != nil {
			u.shell.wizard.scannerFolderChanged(folder)
		}
	})
}

// validServer checks the address and fingerprint before asking the server.
func validServer(addr, pin, code string) string {
	u, err := url.Parse(addr)
	if addr == "" || err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return lang.L("settings.error.server")
	}
	if p := strings.ReplaceAll(pin, ":", ""); p != "" {
		if !sync.ValidFingerprint(p) {
			return lang.L("settings.error.pin")
		}
	}
	if code == "" {
		return lang.L("settings.error.code")
	}
	return ""
}

func (s *settingsDialog) showResult(msg string, imp widget.Importance) {
	s.result.SetText(msg)
	s.result.Importance = imp
	s.result.Show()
	s.result.Refresh()
}

// askEnrol checks the data and asks for confirmation: enrolment replaces
// the local data with the server's.
func (s *settingsDialog) askEnrol() {
	u := s.u
	if u.opts.Enrol == nil {
		return
	}
	addr := strings.TrimRight(strings.TrimSpace(s.server.Text), "/")
	pin := strings.ToLower(strings.TrimSpace(s.pin.Text))
	code := strings.TrimSpace(s.code.Text)
	if msg := validServer(addr, pin, code); msg != "" {
		s.showResult(msg, widget.DangerImportance)
		return
	}
	c := dialog.NewConfirm(lang.L("settings.enrol.confirm.title"), lang.L("settings.enrol.confirm"), func(ok bool) {
		if ok {
			s.startEnrol(addr, pin, code)
		}
	}, u.win)
	c.SetConfirmText(lang.L("settings.enrol"))
	c.SetDismissText(lang.L("settings.enrol.cancel"))
	s.confirm = c
	u.openDialog(c)
}

func (s *settingsDialog) startEnrol(addr, pin, code string) {
	s.enrol.Disable()
	s.busy.Show()
	s.showResult(lang.L("settings.enrol.running"), widget.MediumImportance)
	s.u.enrol(addr, pin, code, func(err error) {
		s.busy.Hide()
		s.enrol.Enable()
	})
}

// enrol replaces the replica with the server's (Options.Enrol) while the
// window shows a progress screen, then goes back to the login: the replica
// now holds the server's operators. done runs on the UI goroutine.
func (u *UI) enrol(addr, pin, code string, done func(error)) {
	enrolFn := u.opts.Enrol
	u.flushDrafts(func() {
		u.closeAllDialogs()
		if u.shell != nil {
			u.shell.close()
		}
		u.shell, u.login, u.sess = nil, nil, desk.Session{}
		u.enrolling = true
		u.keys.setActions(u.baseActions())
		u.win.SetContent(progressScreen(lang.L("settings.enrol.running")))
		runAsync(u, func(ctx context.Context) (*desk.Service, error) {
			return enrolFn(ctx, addr, pin, code)
		}, func(svc *desk.Service, err error) {
			u.enrolling = false
			if svc != nil {
				u.svc = svc
			}
			u.showLogin()
			if err != nil {
				u.openDialog(dialog.NewError(errors.New(enrolMessage(err)), u.win))
			} else {
				u.showInfo(lang.L("settings.enrol.title"), lang.L("settings.enrol.done"))
			}
			done(err)
		})
	})
}

// enrolMessage explains in Italian why enrolment failed.
func enrolMessage(err error) string {
	var se *sync.ServerError
	var de *desk.Error
	var unknown x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var host x509.HostnameError
	var version *sync.SchemaMismatchError
	text := err.Error()
	switch {
	case errors.As(err, &se) && se.Body.Message != "":
		return lang.L("settings.error.refused", map[string]any{"Message": se.Body.Message})
	case errors.As(err, &se):
		return lang.L("settings.error.status", map[string]any{"Status": se.Status})
	case errors.As(err, &de):
		return desk.UserMessage(err)
	case errors.Is(err, context.Canceled):
		return lang.L("settings.error.cancelled")
	case errors.Is(err, sync.ErrPinMismatch):
		return lang.L("settings.error.fingerprint")
	case errors.As(err, &unknown), errors.As(err, &invalid), errors.As(err, &host), strings.Contains(text, "x509:"):
		return lang.L("settings.error.certificate")
	case errors.As(err, &version) && version.Server < version.Program:
		return lang.L("settings.error.version.server")
	case errors.Is(err, sync.ErrSchemaMismatch):
		return lang.L("settings.error.version")
	}
	return lang.L("settings.error.unreachable", map[string]any{"Detail": text})
}

// progressScreen is a full-window message with a progress bar.
func progressScreen(msg string) fyne.CanvasObject {
	bar := widget.NewProgressBarInfinite()
	return container.NewCenter(container.NewVBox(
		widget.NewLabelWithStyle(lang.L("app.name"), fyne.TextAlignCenter, fyne.TextStyle{Bold: true}),
		widget.NewLabelWithStyle(msg, fyne.TextAlignCenter, fyne.TextStyle{}),
		container.NewGridWrap(fyne.NewSize(360, bar.MinSize().Height), bar),
	))
}
