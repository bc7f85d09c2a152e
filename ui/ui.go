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
	"net/url"
	"path/filepath"
	"strings"
	gosync "sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"

	"sportello/internal/auth"
	"sportello/internal/desk"
	"sportello/sync"
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

	// Sync is the link with the synchronisation client (nil: the
	// workstation works alone). Its state changes arrive through NotifySync.
	Sync SyncControl

	// Enrol, when set, enrols the workstation with a server: it stops the
	// sync client, closes the service, replaces the replica with the
	// server's, reopens it and restarts sync. It returns the service to use
	// from now on (the old one is closed; on failure it may be the old one
	// reopened) and an error when enrolment failed.
	Enrol func(ctx context.Context, url, pin, code string) (*desk.Service, error)

	// Open opens a file with the system's viewer (PDFs). Default: the
	// application's OpenURL with a file URL. Tests replace it.
	Open func(path string) error

	// PrintDir is the folder of the PDFs the desk prints (forms, receipts),
	// created private to the user. They hold personal data, so Start removes
	// those older than printKeep (left by a crash) and Close removes them
	// all. Empty: the system's temporary folder, never pruned.
	PrintDir string
}

// SyncControl is what the interface needs of the synchronisation client.
type SyncControl interface {
	// State is the current state (Enrolled false when not enrolled).
	State() sync.State
	// SyncNow pushes and pulls now.
	SyncNow(ctx context.Context) error
	// Server returns the server address and certificate fingerprint in use.
	Server() (url, pin string)
	// DismissRejected takes the first n refused changes off the list once
	// the operator has read them.
	DismissRejected(ctx context.Context, n int) error
}

// UI is the desktop interface over one local replica.
type UI struct {
	loginShown gosync.Once

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

	settings  *settingsDialog // the settings dialog last opened
	syncState sync.State      // last state reported by the sync client
	enrolling bool            // the replica is being replaced: no screen may use the service
}

// New builds the interface for window w. Call Start to show it.
func New(a fyne.App, w fyne.Window, svc *desk.Service, o Options) *UI {
	ctx, cancel := context.WithCancel(context.Background())
	u := &UI{app: a, win: w, svc: svc, opts: o, ctx: ctx, cancel: cancel, do: fyne.Do}
	if o.Sync != nil {
		u.syncState = o.Sync.State()
	}
	u.keys = newKeymap(u)
	w.SetIcon(Icon)
	w.SetCloseIntercept(u.requestClose)
	w.SetOnDropped(func(_ fyne.Position, uris []fyne.URI) { u.dropped(uris) })
	return u
}

// Start shows the startup screen (while Options.Setup runs) and then the login.
func (u *UI) Start() {
	u.keys.attach(u.win.Canvas())
	if u.opts.PrintDir != "" {
		prunePrints(u.opts.PrintDir, time.Now().Add(-printKeep))
	}
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

// Close stops the background work still running and removes the PDFs
// printed in Options.PrintDir.
func (u *UI) Close() {
	u.cancel()
	if u.opts.PrintDir != "" {
		prunePrints(u.opts.PrintDir, time.Now().Add(time.Hour))
	}
}

func (u *UI) showLogin() {
	if u.shell != nil {
		u.shell.close()
	}
	u.sess = desk.Session{}
	u.shell = nil
	u.login = newLoginScreen(u)
	u.keys.setActions(u.baseActions())
	u.win.SetContent(u.login.content)
	u.win.Canvas().Focus(u.login.username)
	u.login.loadHints()
	u.loginShown.Do(func() {
		// make bench times process start to this line (an interactive login).
		slog.Info("login screen ready")
	})
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

// logout goes back to the login screen, asking first when there are
// unsaved changes and saving the application being filed.
func (u *UI) logout() {
	u.confirmDiscard(func() {
		u.flushDrafts(func() {
			slog.Info("logout", "user", u.sess.Username)
			u.showLogin()
		})
	}, nil)
}

// requestClose is the window's close intercept: the application being
// filed is saved first, so that nothing typed is lost.
func (u *UI) requestClose() {
	u.confirmDiscard(func() {
		u.flushDrafts(func() {
			u.cancel()
			u.win.Close()
		})
	}, nil)
}

// flushDrafts saves what is still unsaved in the wizard, then runs then
// (also when saving failed: the error is logged and shown in the status line).
func (u *UI) flushDrafts(then func()) {
	if u.shell == nil || u.shell.wizard == nil {
		then()
		return
	}
	u.shell.wizard.flush(func(err error) {
		if err != nil {
			logUnexpected(err)
		}
		then()
	})
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

// openFile opens a file with the system viewer (Options.Open).
func (u *UI) openFile(path string) error {
	if u.opts.Open != nil {
		return u.opts.Open(path)
	}
	return u.app.OpenURL(fileURL(path))
}

// fileURL is the file:// URL of a local path ("/C:/..." on Windows).
func fileURL(path string) *url.URL {
	p := filepath.ToSlash(path)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return &url.URL{Scheme: "file", Path: p}
}

// closeAllDialogs closes every open dialog.
func (u *UI) closeAllDialogs() {
	open := append([]dialog.Dialog(nil), u.dialogs...)
	for i := len(open) - 1; i >= 0; i-- {
		open[i].Hide()
	}
	u.dialogs = nil
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
