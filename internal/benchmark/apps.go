// Package benchmark measures the desk's write path against a plain SQLite
// insert loop run on the same machine in the same process, so the figures
// printed by `make bench` are ratios that mean something on any machine.
package benchmark

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"sportello/internal/auth"
	"sportello/internal/catalog"
	"sportello/internal/citizen"
	"sportello/internal/codicefiscale"
	"sportello/internal/desk"
	"sportello/internal/ids"
)

// benchCatalog has one procedure with two required attachments.
func benchCatalog() *catalog.Catalog {
	return &catalog.Catalog{
		Format: catalog.FormatName, Version: catalog.FormatVersion,
		Municipality:  catalog.Municipality{Name: "Comune di Banco", Province: "BN", CadastralCode: "M997", IPACode: "c_m997", AOOCode: "c_m997", AOOName: "Comune di Banco"},
		Offices:       []catalog.Office{{ID: "anagrafe", Name: "Servizi Demografici"}},
		QueueServices: []catalog.QueueService{{Code: "anagrafe", Prefix: "A", Name: "Anagrafe"}},
		Procedures: []catalog.Procedure{{
			ID: "cambio-residenza", Name: "Cambio di residenza", Kind: catalog.KindIstanza, Category: "Anagrafe", OfficeID: "anagrafe",
			Classification: "XI.2", TermDays: 45, QueueService: "anagrafe", Active: true, Knowledge: catalog.Knowledge{Summary: "Residenza"},
			Fields: []catalog.Field{
				{Key: "cf", Label: "Codice fiscale", Type: catalog.CodiceFiscale, Required: true, Prefill: "citizen.codice_fiscale"},
				{Key: "email", Label: "E-mail", Type: catalog.Email, Required: true, Prefill: "citizen.email"},
				{Key: "indirizzo", Label: "Nuovo indirizzo", Type: catalog.Text, Required: true},
				{Key: "cap", Label: "CAP", Type: catalog.CAP, Required: true},
				{Key: "decorrenza", Label: "Data di decorrenza", Type: catalog.Date, Required: true},
				{Key: "provenienza", Label: "Provenienza", Type: catalog.Choice, Required: true,
					Options: []catalog.Option{{Value: "altro_comune", Label: "Altro comune"}, {Value: "estero", Label: "Estero"}}},
				{Key: "comune_provenienza", Label: "Comune di provenienza", Type: catalog.Text, RequiredIf: &catalog.Condition{Field: "provenienza", Equals: "altro_comune"}},
			},
			Attachments: []catalog.AttachmentReq{
				{Type: "documento_identita", Label: "Documento d'identità", Formats: []catalog.Format{catalog.FormatPDF, catalog.FormatJPEG}, MaxBytes: 5 << 20, Required: true},
				{Type: "contratto", Label: "Contratto di locazione", Formats: []catalog.Format{catalog.FormatPDF}, MaxBytes: 5 << 20, Required: true},
			},
		}},
	}
}

// AppResult holds the figures of the application benchmark.
type AppResult struct {
	Apps                   int
	PerApp                 []time.Duration // whole path per application, sorted
	Steps                  map[string][]time.Duration
	Total                  time.Duration
	BaselinePerApp         []time.Duration // plain loop, same rows, one transaction per application, sorted
	BaselineTotal          time.Duration
	RowsPerApp, BlobsBytes int
}

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := int(float64(len(d)-1) * p)
	return d[i]
}

// RunApplications files n applications with 2 attachments each through the
// desk (create, draft, attachments, completeness check, emergency protocol)
// and, as the baseline, inserts the same rows with a plain prepared-statement
// loop on a database opened with the same pragmas.
func RunApplications(ctx context.Context, dir string, n int, progress io.Writer) (AppResult, error) {
	res := AppResult{Apps: n, Steps: map[string][]time.Duration{}}
	svc, err := desk.Open(ctx, filepath.Join(dir, "desk"), desk.Options{})
	if err != nil {
		return res, err
	}
	defer svc.Close()
	boss := desk.Session{OperatorID: "bench-urp", Role: auth.Responsabile}
	op := desk.Session{OperatorID: "bench-desk", FullName: "Banco", Role: auth.Sportellista}
	if err := svc.ImportCatalog(ctx, boss, benchCatalog()); err != nil {
		return res, err
	}
	const people = 1000
	cits := make([]citizen.Citizen, people)
	born := time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range cits {
		surname := fmt.Sprintf("Banco%c%c", 'a'+i%26, 'a'+(i/26)%26)
		cf, err := codicefiscale.Compute(surname, "Mario", born.AddDate(0, 0, i), "M", "H501")
		if err != nil {
			return res, err
		}
		c, err := svc.SaveCitizen(ctx, op, citizen.Citizen{Surname: surname, Name: "Mario", CodiceFiscale: cf, Email: "m@example.it"})
		if err != nil {
			return res, err
		}
		cits[i] = c
	}
	values := map[string]string{"indirizzo": "Via Roma 1", "cap": "25080", "decorrenza": "2026-01-15", "provenienza": "altro_comune", "comune_provenienza": "Brescia"}
	doc := make([]byte, 8<<10)
	copy(doc, "%PDF-1.4\n")
	step := func(name string, f func() error) error {
		t0 := time.Now()
		err := f()
		res.Steps[name] = append(res.Steps[name], time.Since(t0))
		return err
	}
	start := time.Now()
	for i := 0; i < n; i++ {
		t0 := time.Now()
		c := cits[i%people]
		var appID string
		if err := step("crea", func() error {
			a, err := svc.NewApplication(ctx, op, "cambio-residenza", c.ID, "")
			appID = a.ID
			return err
		}); err != nil {
			return res, err
		}
		v := map[string]string{"cf": c.CodiceFiscale, "email": c.Email}
		for k, x := range values {
			v[k] = x
		}
		if err := step("bozza", func() error { return svc.SaveDraft(ctx, op, appID, v, nil) }); err != nil {
			return res, err
		}
		for k, typ := range []string{"documento_identita", "contratto"} {
			copy(doc[16:], fmt.Sprintf("%d-%d", i, k)) // distinct content: every attachment is a new blob
			if err := step("allegato", func() error {
				_, err := svc.AddAttachment(ctx, op, appID, typ, typ+".pdf", bytes.NewReader(doc), false)
				return err
			}); err != nil {
				return res, err
			}
			res.BlobsBytes += len(doc)
		}
		if err := step("verifica", func() error {
			p, err := svc.MarkComplete(ctx, op, appID)
			if err == nil && len(p) > 0 {
				err = fmt.Errorf("benchmark application incomplete: %v", p[0].Message)
			}
			return err
		}); err != nil {
			return res, err
		}
		if err := step("protocollo", func() error {
			_, err := svc.ProtocolApplication(ctx, op, appID)
			return err
		}); err != nil {
			return res, err
		}
		res.PerApp = append(res.PerApp, time.Since(t0))
		if progress != nil && (i+1)%10000 == 0 {
			fmt.Fprintf(progress, "  … %d applicazioni (%.0f/s)\n", i+1, float64(i+1)/time.Since(start).Seconds())
		}
	}
	res.Total = time.Since(start)
	slices.Sort(res.PerApp)
	for _, d := range res.Steps {
		slices.Sort(d)
	}
	if err := baseline(ctx, filepath.Join(dir, "baseline.db"), n, &res); err != nil {
		return res, fmt.Errorf("baseline: %w", err)
	}
	return res, nil
}

// baseline inserts, per application, the rows that remain of it (application,
// 2 attachments, 3 history entries, registration, 2 documents) with prepared
// statements in one transaction, WAL and synchronous=FULL, as the desk does.
func baseline(ctx context.Context, path string, n int, res *AppResult) error {
	os.Remove(path)
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_txlock=immediate")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	schema := []string{
		`CREATE TABLE apps (id TEXT PRIMARY KEY, procedure_id TEXT, citizen_id TEXT, office_id TEXT, state TEXT, subject TEXT, form_data TEXT, created_at TEXT, updated_at TEXT)`,
		`CREATE TABLE atts (id TEXT PRIMARY KEY, app_id TEXT REFERENCES apps(id), doc_type TEXT, file_name TEXT, size INTEGER, sha256 TEXT, added_at TEXT)`,
		`CREATE TABLE hist (id TEXT PRIMARY KEY, app_id TEXT REFERENCES apps(id), from_state TEXT, to_state TEXT, at TEXT, note TEXT)`,
		`CREATE TABLE regs (id TEXT PRIMARY KEY, app_id TEXT REFERENCES apps(id), reg_date TEXT, year INTEGER, register TEXT, number INTEGER, subject TEXT, correspondent TEXT)`,
		`CREATE TABLE docs (id TEXT PRIMARY KEY, reg_id TEXT REFERENCES regs(id), name TEXT, sha256 TEXT, size INTEGER)`,
	}
	for _, s := range schema {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return err
		}
	}
	res.RowsPerApp = 9
	form := `{"cf":"RSSMRA85T10A562S","email":"m@example.it","indirizzo":"Via Roma 1","cap":"25080","decorrenza":"2026-01-15","provenienza":"altro_comune","comune_provenienza":"Brescia"}`
	sha := "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	start := time.Now()
	for i := 0; i < n; i++ {
		t0 := time.Now()
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		now := time.Now().UTC().Format(time.RFC3339Nano)
		app := ids.New()
		reg := ids.New()
		stmts := []struct {
			q    string
			args []any
		}{
			{`INSERT INTO apps VALUES (?,?,?,?,?,?,?,?,?)`, []any{app, "cambio-residenza", "c", "anagrafe", "protocollata", "Cambio di residenza", form, now, now}},
			{`INSERT INTO atts VALUES (?,?,?,?,?,?,?)`, []any{ids.New(), app, "documento_identita", "d.pdf", 8192, sha, now}},
			{`INSERT INTO atts VALUES (?,?,?,?,?,?,?)`, []any{ids.New(), app, "contratto", "c.pdf", 8192, sha, now}},
			{`INSERT INTO hist VALUES (?,?,?,?,?,?)`, []any{ids.New(), app, "", "bozza", now, "avviata"}},
			{`INSERT INTO hist VALUES (?,?,?,?,?,?)`, []any{ids.New(), app, "bozza", "completa", now, "verificata"}},
			{`INSERT INTO hist VALUES (?,?,?,?,?,?)`, []any{ids.New(), app, "completa", "protocollata", now, "protocollata"}},
			{`INSERT INTO regs VALUES (?,?,?,?,?,?,?,?)`, []any{reg, app, "2026-01-15", 2026, "EM-WS1", i + 1, "Cambio di residenza", "Rossi Mario"}},
			{`INSERT INTO docs VALUES (?,?,?,?,?)`, []any{ids.New(), reg, "d.pdf", sha, 8192}},
			{`INSERT INTO docs VALUES (?,?,?,?,?)`, []any{ids.New(), reg, "c.pdf", sha, 8192}},
		}
		for _, s := range stmts {
			if _, err := tx.ExecContext(ctx, s.q, s.args...); err != nil {
				tx.Rollback()
				return err
			}
		}
		if err := tx.Commit(); err != nil {
			return err
		}
		res.BaselinePerApp = append(res.BaselinePerApp, time.Since(t0))
	}
	res.BaselineTotal = time.Since(start)
	slices.Sort(res.BaselinePerApp)
	return nil
}

// Report prints the figures.
func (r AppResult) Report(w io.Writer) {
	fmt.Fprintf(w, "Pratiche: %d, 2 allegati ciascuna (%d MiB di allegati), protocollo di emergenza, synchronous=FULL\n", r.Apps, r.BlobsBytes>>20)
	fmt.Fprintf(w, "  percorso completo per pratica: mediana %v  p99 %v  max %v  (%.0f pratiche/s)\n",
		pct(r.PerApp, 0.5).Round(time.Microsecond), pct(r.PerApp, 0.99).Round(time.Microsecond), pct(r.PerApp, 1).Round(time.Microsecond), float64(r.Apps)/r.Total.Seconds())
	for _, name := range []string{"crea", "bozza", "allegato", "verifica", "protocollo"} {
		d := r.Steps[name]
		fmt.Fprintf(w, "    %-10s mediana %v  p99 %v\n", name, pct(d, 0.5).Round(time.Microsecond), pct(d, 0.99).Round(time.Microsecond))
	}
	fmt.Fprintf(w, "  baseline (stesse %d righe finali, ciclo SQLite semplice, 1 transazione per pratica): mediana %v  p99 %v  (%.0f pratiche/s)\n",
		r.RowsPerApp, pct(r.BaselinePerApp, 0.5).Round(time.Microsecond), pct(r.BaselinePerApp, 0.99).Round(time.Microsecond), float64(r.Apps)/r.BaselineTotal.Seconds())
	fmt.Fprintf(w, "  rapporto desk/baseline: mediana %.1fx  p99 %.1fx  — obiettivo p99 < 20 ms: %s\n",
		float64(pct(r.PerApp, 0.5))/float64(pct(r.BaselinePerApp, 0.5)), float64(pct(r.PerApp, 0.99))/float64(pct(r.BaselinePerApp, 0.99)),
		map[bool]string{true: "raggiunto", false: "NON raggiunto"}[pct(r.PerApp, 0.99) < 20*time.Millisecond])
}
