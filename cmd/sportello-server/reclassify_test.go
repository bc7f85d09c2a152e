package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sportello/internal/catalog"
	"sportello/internal/citizen"
	"sportello/internal/cli"
	"sportello/internal/desk"
	"sportello/store"
)

// The administrator's way through a procedure made confidential: export
// the catalog, mark the procedure, import it, then `catalog reclassify`
// the applications filed before. The command refuses, in words, to run
// without a procedure, without a reason, or on a procedure the catalog
// does not mark confidential.
func TestCatalogReclassify(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	svc, err := desk.Open(ctx, dir, desk.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SeedDemo(ctx); err != nil {
		t.Fatal(err)
	}
	sess, err := svc.Login(ctx, "sportello", desk.DemoPassword)
	if err != nil {
		t.Fatal(err)
	}
	x, err := svc.SaveCitizen(ctx, sess, citizen.Citizen{Surname: "Neri", Name: "Paolo", CodiceFiscale: "NREPLA80A01H501B"})
	if err != nil {
		t.Fatal(err)
	}
	app, err := svc.NewApplication(ctx, sess, "reclamo", x.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	svc.Close()

	var ue cli.UsageError
	if err := catalogReclassify(ctx, []string{"-data", dir, "-reason", "dati sanitari"}); !errors.As(err, &ue) {
		t.Errorf("no procedure: %v", err)
	}
	var de *desk.Error
	if err := catalogReclassify(ctx, []string{"-data", dir, "-procedure", "reclamo"}); !errors.As(err, &de) || !strings.Contains(de.Message, "motivo") {
		t.Errorf("no reason: %v", err)
	}
	if err := catalogReclassify(ctx, []string{"-data", dir, "-procedure", "reclamo", "-reason", "dati sanitari"}); !errors.As(err, &de) || !strings.Contains(de.Message, "non è riservato") {
		t.Errorf("a procedure that is not confidential: %v", err)
	}

	file := filepath.Join(t.TempDir(), "catalogo.json")
	if err := catalogExport(ctx, []string{"-data", dir, "-o", file}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	for i := range cat.Procedures {
		if cat.Procedures[i].ID == "reclamo" {
			cat.Procedures[i].Confidential = true
		}
	}
	out, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := catalog.Encode(out, cat); err != nil {
		t.Fatal(err)
	}
	out.Close()
	if err := catalogImport(ctx, []string{file, "-data", dir}); err != nil {
		t.Fatal(err)
	}
	if err := catalogReclassify(ctx, []string{"-data", dir, "-procedure", "reclamo", "-reason", "dati sanitari"}); err != nil {
		t.Fatal(err)
	}
	svc, err = desk.Open(ctx, dir, desk.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	var conf bool
	var reason string
	if err := svc.DB().Read(ctx, func(q store.Querier) error {
		return q.QueryRow(`SELECT a.confidential, x.reason FROM applications a JOIN reclassifications x ON x.application_id = a.id WHERE a.id = ?`, app.ID).Scan(&conf, &reason)
	}); err != nil || !conf || reason != "dati sanitari" {
		t.Errorf("after the command: confidential %v, reason %q, %v", conf, reason, err)
	}
}
