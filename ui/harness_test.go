package ui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"sportello/internal/desk"
	"sportello/internal/testfs"
)

// seeded is a replica with the demo data, made once and copied by each test
// (seeding hashes six passwords with Argon2id, which takes a while).
var seeded string

func TestMain(m *testing.M) {
	scanInterval = 100 * time.Millisecond // the scanner folder is looked at every 2 s in the app
	if err := SetupTranslations(false); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "sportello-ui-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		ctx := context.Background()
		svc, err := desk.Open(ctx, dir, desk.Options{Synchronous: "OFF"})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if _, err := svc.SeedDemo(ctx); err != nil {
			svc.Close()
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if err := svc.Close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		seeded = dir
		return m.Run()
	}()
	os.Exit(code)
}

// harness runs the UI in a test window. Work done on goroutines comes back
// through a queue that the test goroutine drains (it plays the UI thread),
// so widgets are only ever touched by one goroutine.
type harness struct {
	t      *testing.T
	svc    *desk.Service
	dir    string
	w      fyne.Window
	u      *UI
	queue  chan func()
	opened []string // files handed to the system viewer
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	return newHarnessOpts(t, "", Options{})
}

// newHarnessOpts runs the UI over the replica in dir (a copy of the seeded
// one when dir is ""). Files opened with the system viewer are recorded in
// opened instead, unless o.Open is set.
func newHarnessOpts(t *testing.T, dir string, o Options) *harness {
	t.Helper()
	a := test.NewTempApp(t)
	if dir == "" {
		dir = t.TempDir()
		testfs.CopyTree(t, seeded, dir)
	}
	svc, err := desk.Open(context.Background(), dir, desk.Options{Synchronous: "OFF"})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, svc: svc, dir: dir, queue: make(chan func(), 4096)}
	if o.PrintDir == "" {
		o.PrintDir = filepath.Join(dir, "stampe")
	}
	if o.Open == nil {
		o.Open = func(path string) error {
			h.opened = append(h.opened, path)
			return nil
		}
	}
	h.w = test.NewWindow(nil)
	closed := false
	h.w.SetOnClosed(func() { closed = true })
	h.w.Resize(fyne.NewSize(1100, 720))
	h.u = New(a, h.w, svc, o)
	h.u.do = func(f func()) { h.queue <- f }
	t.Cleanup(func() {
		h.u.Close()
		h.svc.Close()
		if !closed { // the UI may have closed it (requestClose)
			h.w.Close()
		}
	})
	h.u.Start()
	return h
}

func (h *harness) drain() {
	for {
		select {
		case f := <-h.queue:
			f()
		default:
			return
		}
	}
}

// waitFor runs the queued UI work until cond holds, failing after 10 s.
func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		h.drain()
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// shortcut presses Ctrl (Cmd on macOS) + key on the window canvas.
func (h *harness) shortcut(key fyne.KeyName) {
	h.w.Canvas().(fyne.Shortcutable).TypedShortcut(ctrlKey(key))
}

func ctrlKey(key fyne.KeyName) *desktop.CustomShortcut {
	return &desktop.CustomShortcut{KeyName: key, Modifier: fyne.KeyModifierShortcutDefault}
}

// typeFocused types text into the focused widget.
func (h *harness) typeFocused(text string) {
	h.t.Helper()
	f := h.w.Canvas().Focused()
	if f == nil {
		h.t.Fatal("nothing has the focus")
	}
	test.Type(f, text)
}

func pressEnter(f fyne.Focusable) { f.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn}) }

// newCitizenForm opens an empty citizen form with Ctrl+N.
func (h *harness) newCitizenForm() *citizenForm {
	h.t.Helper()
	cs := h.u.shell.citizens
	h.shortcut(fyne.KeyN)
	h.waitFor("new citizen form", func() bool { return cs.form != nil })
	return cs.form
}

func (h *harness) login(user, password string) {
	h.t.Helper()
	h.waitFor("login screen", func() bool { return h.u.login != nil })
	l := h.u.login
	test.Type(l.username, user)
	test.Type(l.password, password)
	pressEnter(l.password)
}

func (h *harness) loginOK(user string) {
	h.t.Helper()
	h.login(user, desk.DemoPassword)
	h.waitFor("the shell after login", func() bool { return h.u.shell != nil })
}

// texts lists the visible texts drawn in the window (labels and canvas texts).
func (h *harness) texts() []string {
	var out []string
	var walk func(o fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		if o == nil || !o.Visible() {
			return
		}
		switch x := o.(type) {
		case *canvas.Text:
			out = append(out, x.Text)
		case *widget.Label:
			out = append(out, x.Text)
		case *fyne.Container:
			for _, c := range x.Objects {
				walk(c)
			}
			return
		}
		if w, ok := o.(fyne.Widget); ok {
			for _, c := range test.WidgetRenderer(w).Objects() {
				walk(c)
			}
		}
	}
	walk(h.w.Canvas().Content())
	for _, o := range h.w.Canvas().Overlays().List() {
		walk(o)
	}
	return out
}

// shows reports whether some visible text contains s.
func (h *harness) shows(s string) bool {
	for _, t := range h.texts() {
		if strings.Contains(t, s) {
			return true
		}
	}
	return false
}

func (h *harness) waitShows(s string) {
	h.t.Helper()
	h.waitFor(fmt.Sprintf("%q on screen", s), func() bool { return h.shows(s) })
}
