// Package ui is the Fyne desktop interface of Sportello. Screens are thin:
// every operation goes through desk.Service, slow calls run on a goroutine
// and update widgets only on the UI goroutine (fyne.Do), and every text shown
// to people comes from the translation files (lang.L).
//
// Structure: UI owns the window, the session and the key map; it shows the
// login screen and then the shell, whose tabs are sections (citizens,
// catalog, ...) offered according to the operator's role. New sections (the
// application wizard, the protocol office) plug into the shell the same way.
package ui

import (
	"context"
	_ "embed"
	"errors"
	"log/slog"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"

	"sportello/internal/auth"
	"sportello/internal/desk"
)

//go:embed icon.png
var iconPNG []byte

// Icon is the application icon (a copy of the repository's Icon.png).
var Icon = fyne.NewStaticResource("sportello.png", iconPNG)

// Options configure the interface.
type Options struct {
	// Setup, when set, runs once in the background before the login screen
	// is offered (for example seeding the demo data on first start).
	Setup func(context.Context) error
}

// UI is the desktop interface over one local replica.
type UI struct {
	app  fyne.App
	win  fyne.Window
	svc  *desk.Service
	opts Options

	ctx    context.Context
	cancel context.CancelFunc

	// do runs f on the UI goroutine: fyne.Do in the application, a queue
	// drained by the test goroutine in tests.
	do func(f func())

	keys    *keymap
	dialogs []dialog.Dialog // open dialogs, the top one last (Esc closes it)

	sess  desk.Session
	login *loginScreen
	shell *shell
}

// New builds the interface for window w. Call Start to show it.
func New(a fyne.App, w fyne.Window, svc *desk.Service, o Options) *UI {
	ctx, cancel := context.WithCancel(context.Background())
	u := &UI{app: a, win: w, svc: svc, opts: o, ctx: ctx, cancel: cancel, do: fyne.Do}
	u.keys = newKeymap(u)
	w.SetIcon(Icon)
	w.SetCloseIntercept(u.requestClose)
	return u
}

// Start shows the startup screen (while Options.Setup runs) and then the login.
func (u *UI) Start() {
	u.keys.attach(u.win.Canvas())
	if u.opts.Setup == nil {
		u.showLogin()
		return
	}
	u.win.SetContent(startupScreen())
	setup := u.opts.Setup
	runAsync(u, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, setup(ctx)
	}, func(_ struct{}, err error) {
		if err != nil {
			slog.Error("startup failed", "err", err)
			u.openDialog(dialog.NewError(errors.New(lang.L("startup.failed")+"\n"+desk.UserMessage(err)), u.win))
		}
		u.showLogin()
	})
}

// Close stops the background work still running.
func (u *UI) Close() { u.cancel() }

func (u *UI) showLogin() {
	u.sess = desk.Session{}
	u.shell = nil
	u.login = newLoginScreen(u)
	u.keys.setActions(u.baseActions())
	u.win.SetContent(u.login.content)
	u.win.Canvas().Focus(u.login.username)
	u.login.loadHints()
}

func (u *UI) loggedIn(sess desk.Session) {
	slog.Info("login", "user", sess.Username, "role", string(sess.Role))
	u.sess = sess
	u.login = nil
	u.shell = newShell(u)
	u.keys.setActions(append(u.baseActions(), u.shell.actions()...))
	u.win.SetContent(u.shell.content)
	u.shell.focusDefault()
}

// logout goes back to the login screen, asking first when there are unsaved changes.
func (u *UI) logout() {
	u.confirmDiscard(func() {
		slog.Info("logout", "user", u.sess.Username)
		u.showLogin()
	}, nil)
}

// requestClose is the window's close intercept.
func (u *UI) requestClose() {
	u.confirmDiscard(func() {
		u.cancel()
		u.win.Close()
	}, nil)
}

// confirmDiscard runs then, after asking when a screen has unsaved
// changes; cancelled (optional) runs when the operator keeps them.
func (u *UI) confirmDiscard(then, cancelled func()) {
	if u.shell == nil || !u.shell.dirty() {
		then()
		return
	}
	d := dialog.NewConfirm(lang.L("unsaved.title"), lang.L("unsaved.message"), func(ok bool) {
		switch {
		case ok:
			then()
		case cancelled != nil:
			cancelled()
		}
	}, u.win)
	d.SetConfirmText(lang.L("unsaved.discard"))
	d.SetDismissText(lang.L("unsaved.keep"))
	u.openDialog(d)
}

// setStatus shows a short message in the status line.
func (u *UI) setStatus(msg string) {
	if u.shell != nil {
		u.shell.message.SetText(msg)
	}
}

// showError shows err to the operator in a dialog (Italian text from desk).
func (u *UI) showError(err error) {
	logUnexpected(err)
	u.openDialog(dialog.NewError(errors.New(desk.UserMessage(err)), u.win))
}

// logUnexpected logs errors that are not the operator's to fix.
func logUnexpected(err error) {
	var de *desk.Error
	if err != nil && !errors.As(err, &de) && !errors.Is(err, context.Canceled) && !errors.Is(err, auth.ErrForbidden) {
		slog.Error("operation failed", "err", err)
	}
}

// showInfo shows a message in a dialog.
func (u *UI) showInfo(title, msg string) {
	u.openDialog(dialog.NewInformation(title, msg, u.win))
}

// openDialog shows d and remembers it until it closes, so that Esc can close it.
func (u *UI) openDialog(d dialog.Dialog) {
	u.dialogs = append(u.dialogs, d)
	d.SetOnClosed(func() {
		for i, x := range u.dialogs {
			if x == d {
				u.dialogs = append(u.dialogs[:i], u.dialogs[i+1:]...)
				break
			}
		}
	})
	d.Show()
}

// closeTopDialog closes the most recent open dialog, reporting whether there was one.
func (u *UI) closeTopDialog() bool {
	if len(u.dialogs) == 0 {
		return false
	}
	u.dialogs[len(u.dialogs)-1].Hide()
	return true
}

// runAsync runs work on a goroutine and done with its result on the UI
// goroutine. Nothing is delivered once the UI has been closed.
func runAsync[T any](u *UI, work func(context.Context) (T, error), done func(T, error)) {
	ctx := u.ctx
	go func() {
		v, err := work(ctx)
		if ctx.Err() != nil {
			return
		}
		u.do(func() { done(v, err) })
	}()
}
