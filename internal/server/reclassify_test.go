package server

import (
	"context"
	"errors"
	"slices"
	"testing"

	"sportello/internal/citizen"
	"sportello/internal/desk"
	"sportello/store"
)

// `catalog reclassify` makes confidential the applications filed before
// their procedure was made confidential, once each, and refuses what would
// be a mistake: no reason, a procedure the catalog lacks or that is not
// confidential there.
func TestReclassifyTheApplicationsOfAProcedureMadeConfidential(t *testing.T) {
	ctx := context.Background()
	svc, sess := openSeeded(t, t.TempDir())
	x, err := svc.SaveCitizen(ctx, sess, citizen.Citizen{Surname: "Neri", Name: "Paolo", CodiceFiscale: "NREPLA80A01H501B"})
	if err != nil {
		t.Fatal(err)
	}
	var filed []string
	for range 3 {
		a, err := svc.NewApplication(ctx, sess, "reclamo", x.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		filed = append(filed, a.ID)
	}
	other, err := svc.NewApplication(ctx, sess, "richiesta-informazioni", x.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	var de *desk.Error
	if _, err := Reclassify(ctx, svc, "reclamo", " "); !errors.As(err, &de) {
		t.Errorf("no reason: %v", err)
	}
	if _, err := Reclassify(ctx, svc, "nessuno", "motivo"); !errors.As(err, &de) {
		t.Errorf("unknown procedure: %v", err)
	}
	if _, err := Reclassify(ctx, svc, "reclamo", "motivo"); !errors.As(err, &de) {
		t.Errorf("a procedure that is not confidential: %v", err)
	}
	if n := confidentialApps(t, svc); n != 0 {
		t.Fatalf("%d applications made confidential by refused runs", n)
	}

	adm, err := svc.Login(ctx, "admin", desk.DemoPassword)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := svc.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	next := *cat
	next.Procedures = slices.Clone(cat.Procedures)
	for i := range next.Procedures {
		if next.Procedures[i].ID == "reclamo" {
			next.Procedures[i].Confidential = true
		}
	}
	if err := svc.ImportCatalog(ctx, adm, &next); err != nil {
		t.Fatal(err)
	}
	res, err := Reclassify(ctx, svc, "reclamo", "dati sanitari nei reclami")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(filed)
	slices.Sort(res.Reclassified)
	if !slices.Equal(res.Reclassified, filed) {
		t.Errorf("reclassified %v, want %v", res.Reclassified, filed)
	}
	if n := confidentialApps(t, svc); n != 3 {
		t.Errorf("%d confidential applications, want 3", n)
	}
	if got, err := svc.DB().Application(ctx, other.ID); err != nil || got.Confidential {
		t.Errorf("an application of another procedure: %v, confidential %v", err, got.Confidential)
	}
	// Run again (after a crash halfway, say): nothing more to do.
	if res, err := Reclassify(ctx, svc, "reclamo", "dati sanitari nei reclami"); err != nil || len(res.Reclassified) != 0 {
		t.Errorf("second run: %v %v", res.Reclassified, err)
	}
	var n int
	if err := svc.DB().Read(ctx, func(q store.Querier) error {
		return q.QueryRow(`SELECT count(*) FROM reclassifications WHERE reason = 'dati sanitari nei reclami' AND operator_id = ?`, Admin.OperatorID).Scan(&n)
	}); err != nil || n != 3 {
		t.Errorf("%d reclassification records (%v), want 3", n, err)
	}
}

func confidentialApps(t *testing.T, svc *desk.Service) int {
	t.Helper()
	var n int
	if err := svc.DB().Read(context.Background(), func(q store.Querier) error {
		return q.QueryRow(`SELECT count(*) FROM applications WHERE confidential = 1`).Scan(&n)
	}); err != nil {
		t.Fatal(err)
	}
	return n
}
