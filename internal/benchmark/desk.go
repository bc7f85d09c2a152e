package benchmark

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"sportello/internal/citizen"
	"sportello/internal/desk"
	"sportello/internal/ids"
)

// DeskResult holds the figures of the desk benchmarks (issue 4).
type DeskResult struct {
	Citizens     int
	Searches     map[string][]time.Duration // query kind -> sorted durations
	Apps         int
	Startup      []time.Duration // process start -> interactive login, sorted
	StartupNotes string
}

// fillCitizens writes n citizens straight into the replica's table (setup,
// not measured), as a municipality's registry would hold them.
func fillCitizens(ctx context.Context, path string, n int) error {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(30000)&_pragma=synchronous(OFF)&_pragma=journal_mode(WAL)")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for i := 0; i < n; i += 20000 {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		st, err := tx.PrepareContext(ctx, `INSERT INTO citizens (id, codice_fiscale, surname, name, search_name, sex, birth_date, email, address_street,
			doc_type, doc_number, doc_number_folded, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`)
		if err != nil {
			return err
		}
		for j := i; j < min(i+20000, n); j++ {
			c := benchCitizen(j)
			c.Surname = surnames[j%len(surnames)] + fmt.Sprintf("%c%c", 'a'+j/len(surnames)%26, 'a'+j/len(surnames)/26%26)
			cf := fmt.Sprintf("BNC%07dX%05d", j, j%99999)
			if _, err := st.ExecContext(ctx, ids.New(), cf, c.Surname, c.Name, citizen.Fold(c.Surname+" "+c.Name), "F", "1980-01-01", c.Email,
				c.Address.Street, "carta_identita", c.Document.Number, citizen.FoldDocument(c.Document.Number), "2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z"); err != nil {
				return err
			}
		}
		st.Close()
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

var surnames = []string{"Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Marino", "Greco", "Bruno", "Gallo",
	"Conti", "De Luca", "Mancini", "Costa", "Giordano", "Rizzo", "Lombardi", "Moretti", "D'Angelo", "Niccolò", "Fontana", "Caruso"}

// RunSearch fills a replica with n citizens and times the registry searches
// the desk runs as the operator types.
func RunSearch(ctx context.Context, dir string, n int, progress io.Writer) (DeskResult, error) {
	res := DeskResult{Citizens: n, Searches: map[string][]time.Duration{}}
	svc, err := desk.Open(ctx, dir, desk.Options{})
	if err != nil {
		return res, err
	}
	if _, err := svc.SeedDemo(ctx); err != nil {
		return res, err
	}
	path := svc.DB().Path()
	svc.Close()
	fmt.Fprintf(progress, "  … %d cittadini nell'anagrafe locale\n", n)
	if err := fillCitizens(ctx, path, n); err != nil {
		return res, err
	}
	svc, err = desk.Open(ctx, dir, desk.Options{})
	if err != nil {
		return res, err
	}
	defer svc.Close()
	queries := map[string][]string{
		"cognome (prefisso)":   {"ros", "ferr", "esp", "dang", "nicc", "de l", "bianchi", "greco"},
		"cognome e nome":       {"rossiab nome", "nome secondo russoac", "ferrari", "marinoba nome s"},
		"codice fiscale":       {"BNC0123", "BNC0999999X", "bnc0500000x00005"},
		"documento d'identità": {"CA0123456XY", "ca 0999999 xy"},
		"nessun risultato":     {"zzzz", "XYZ123"},
	}
	for kind, qs := range queries {
		for round := 0; round < 5; round++ {
			for _, q := range qs {
				t0 := time.Now()
				if _, err := svc.SearchCitizens(ctx, q, 50); err != nil {
					return res, err
				}
				res.Searches[kind] = append(res.Searches[kind], time.Since(t0))
			}
		}
		slices.Sort(res.Searches[kind])
	}
	return res, nil
}

// RunStartup prepares a replica with apps applications and starts the
// desktop binary on it runs times under Xvfb, timing process start → the
// login screen shown (the app logs "login screen ready").
func RunStartup(ctx context.Context, dir, binary string, apps, runs int, progress io.Writer) (DeskResult, error) {
	res := DeskResult{Apps: apps}
	if _, err := exec.LookPath("Xvfb"); err != nil {
		res.StartupNotes = "Xvfb assente: misura dell'avvio saltata"
		return res, nil
	}
	svc, err := desk.Open(ctx, dir, desk.Options{})
	if err != nil {
		return res, err
	}
	if _, err := svc.SeedDemo(ctx); err != nil {
		return res, err
	}
	path := svc.DB().Path()
	svc.Close()
	fmt.Fprintf(progress, "  … %d pratiche nella replica locale\n", apps)
	if err := fillApplications(ctx, path, apps); err != nil {
		return res, err
	}
	display := fmt.Sprintf(":%d", 90+os.Getpid()%400)
	xvfb := exec.CommandContext(ctx, "Xvfb", display, "-screen", "0", "1280x800x24", "-nolisten", "tcp")
	if err := xvfb.Start(); err != nil {
		return res, fmt.Errorf("start Xvfb: %w", err)
	}
	defer func() { xvfb.Process.Kill(); xvfb.Wait() }()
	time.Sleep(500 * time.Millisecond)
	for i := 0; i < runs; i++ {
		d, err := startOnce(ctx, binary, dir, display)
		if err != nil {
			return res, err
		}
		res.Startup = append(res.Startup, d)
	}
	slices.Sort(res.Startup)
	return res, nil
}

func startOnce(ctx context.Context, binary, dataDir, display string) (time.Duration, error) {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(cctx, binary)
	cmd.Env = append(os.Environ(), "DISPLAY="+display, "SPORTELLO_DATA_DIR="+dataDir, "LANG=C.UTF-8")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "login screen ready") {
			return time.Since(t0), nil
		}
	}
	return 0, fmt.Errorf("the app did not show the login screen (is it built with the startup log line?)")
}

// fillApplications writes apps applications with their history, two
// attachments each and a registration (setup, not measured).
func fillApplications(ctx context.Context, path string, apps int) error {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(30000)&_pragma=synchronous(OFF)&_pragma=journal_mode(WAL)")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	const people = 10000
	if err := fillCitizens(ctx, path, people); err != nil {
		return err
	}
	var cids []string
	rows, err := db.QueryContext(ctx, `SELECT id FROM citizens LIMIT ?`, people)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("bench: read citizens: %w", err)
		}
		cids = append(cids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("bench: read citizens: %w", err)
	}
	now := "2026-01-01T00:00:00.000Z"
	sha := strings.Repeat("ab", 32)
	for i := 0; i < apps; i += 10000 {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		for j := i; j < min(i+10000, apps); j++ {
			app := ids.New()
			stmts := []struct {
				q    string
				args []any
			}{
				{`INSERT INTO applications (id, procedure_id, citizen_id, office_id, state, subject, form_data, created_at, created_by, workstation_id, updated_at)
					VALUES (?, 'cambio-residenza', ?, 'servizi-demografici', 'protocollata', 'Cambio di residenza', '{"cap":"25080"}', ?, 'op', 'ws', ?)`, []any{app, cids[j%len(cids)], now, now}},
				{`INSERT INTO application_history (id, application_id, from_state, to_state, at, hlc, operator_id, workstation_id) VALUES (?, ?, '', 'bozza', ?, '0', 'op', 'ws')`, []any{ids.New(), app, now}},
				{`INSERT INTO application_attachments (id, application_id, doc_type, file_name, size, sha256, added_at, added_by) VALUES (?, ?, 'documento_identita', 'ci.pdf', 1000, ?, ?, 'op')`, []any{ids.New(), app, sha, now}},
				{`INSERT INTO application_attachments (id, application_id, doc_type, file_name, size, sha256, added_at, added_by) VALUES (?, ?, 'titolo_occupazione', 'c.pdf', 1000, ?, ?, 'op')`, []any{ids.New(), app, sha, now}},
				{`INSERT INTO protocol_registrations (id, direction, registered_at, reg_date, year, register_kind, emergency_register, emergency_number, correspondent, subject, operator_id, workstation_id, application_id)
					VALUES (?, 'E', ?, '2026-01-01', 2026, 'emergenza', 'EM-BENCH', ?, 'Cittadino', 'Cambio di residenza', 'op', 'ws', ?)`, []any{ids.New(), now, j + 1, app}},
			}
			for _, s := range stmts {
				if _, err := tx.ExecContext(ctx, s.q, s.args...); err != nil {
					tx.Rollback()
					return err
				}
			}
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// Report prints the figures.
func (r DeskResult) Report(w io.Writer) {
	if len(r.Searches) > 0 {
		fmt.Fprintf(w, "Ricerca in anagrafe con %d cittadini (50 risultati al massimo), obiettivo < 100 ms:\n", r.Citizens)
		kinds := make([]string, 0, len(r.Searches))
		for k := range r.Searches {
			kinds = append(kinds, k)
		}
		slices.Sort(kinds)
		worst := time.Duration(0)
		for _, k := range kinds {
			d := r.Searches[k]
			fmt.Fprintf(w, "  %-22s mediana %v  massimo %v\n", k, pct(d, 0.5).Round(time.Microsecond), pct(d, 1).Round(time.Microsecond))
			worst = max(worst, pct(d, 1))
		}
		fmt.Fprintf(w, "  caso peggiore %v — obiettivo %s\n", worst.Round(time.Microsecond), map[bool]string{true: "raggiunto", false: "NON raggiunto"}[worst < 100*time.Millisecond])
	}
	if len(r.Startup) > 0 {
		fmt.Fprintf(w, "Avvio fino al login interattivo con %d pratiche nella replica (%d avvii, finestra reale sotto Xvfb): mediana %v  massimo %v — obiettivo < 1,5 s: %s\n",
			r.Apps, len(r.Startup), pct(r.Startup, 0.5).Round(time.Millisecond), pct(r.Startup, 1).Round(time.Millisecond),
			map[bool]string{true: "raggiunto", false: "NON raggiunto"}[pct(r.Startup, 1) < 1500*time.Millisecond])
	}
	if r.StartupNotes != "" {
		fmt.Fprintln(w, r.StartupNotes)
	}
}

var _ = filepath.Join
