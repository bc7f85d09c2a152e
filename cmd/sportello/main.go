// Command sportello is the desktop application of the municipal desk: a
// Fyne window over a local SQLite replica that works offline. This file
// only wires things together; the screens are in package ui, every
// operation in package desk, and the replica with its sync client (which
// enrolment replaces) in session.go.
//
// The data folder is, in order: the -data flag, $SPORTELLO_DATA_DIR, the
// user's configuration folder followed by "Sportello". On first start the
// replica is filled with the demo municipality.
//
// Build with the fyne.Do threading model: go build -tags migrated_fynedo.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	_ "time/tzdata" // Europe/Rome dates also where the system has no zone database

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"sportello/internal/desk"
	"sportello/ui"
)

func main() {
	dataFlag := flag.String("data", "", "data folder (default $SPORTELLO_DATA_DIR, else the user's config folder/Sportello)")
	flag.Parse()
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if err := run(*dataFlag); err != nil {
		slog.Error("sportello", "err", err)
		os.Exit(1)
	}
}

func run(dataFlag string) error {
	dir, err := dataDir(dataFlag)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data folder: %w", err)
	}
	slog.Info("opening replica", "dir", dir)

	ctx := context.Background()
	sess, err := openSession(ctx, dir, desk.Options{})
	if err != nil {
		return err
	}
	defer sess.Close()

	a := app.NewWithID("it.comune.sportello")
	a.SetIcon(ui.Icon)
	if err := ui.SetupTranslations(ui.SystemPrefersEnglish()); err != nil {
		slog.Warn("translations", "err", err)
	}
	w := a.NewWindow("Sportello")
	w.Resize(fyne.NewSize(1100, 720))
	w.CenterOnScreen()
	w.SetMaster()

	u := ui.New(a, w, sess.Service(), ui.Options{
		// SeedDemo does nothing once the replica has a catalog (after
		// enrolment it has the server's).
		Setup: func(ctx context.Context) error {
			seeded, err := sess.Service().SeedDemo(ctx)
			if seeded {
				slog.Info("demo data created", "dir", dir)
			}
			return err
		},
		Sync:     sess,
		Enrol:    sess.Enrol,
		PrintDir: filepath.Join(dir, "stampe"),
	})
	sess.setNotifier(u)
	if err := sess.startSync(ctx); err != nil {
		slog.Warn("sync not started", "err", err)
	}
	u.Start()
	w.ShowAndRun()
	u.Close()
	return nil
}

// dataDir resolves the data folder: flag, environment, user config folder.
func dataDir(flagValue string) (string, error) {
	if flagValue != "" {
		return filepath.Abs(flagValue)
	}
	if env := os.Getenv("SPORTELLO_DATA_DIR"); env != "" {
		return filepath.Abs(env)
	}
	cfg, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no data folder: use -data or SPORTELLO_DATA_DIR (%w)", err)
	}
	return filepath.Join(cfg, "Sportello"), nil
}
