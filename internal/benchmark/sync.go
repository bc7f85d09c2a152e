package benchmark

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	"sportello/internal/application"
	"sportello/internal/citizen"
	"sportello/internal/desk"
	"sportello/internal/ids"
	"sportello/store"
	"sportello/sync"
)

// SyncResult holds the figures of the sync benchmark.
type SyncResult struct {
	Changes              int
	Push, Pull, Baseline time.Duration
	SchemaFloor          time.Duration // the same rows into the replica's citizens table, plain loop
	BlobBytes            int64
	BlobUpload, BlobHTTP time.Duration
	SnapshotRows         int
	SnapshotBytes        int64
	InitialCopy          time.Duration
	Notes                []string
}

type syncEnv struct {
	server *desk.Service
	ts     *httptest.Server
	pin    string
}

func startSyncServer(ctx context.Context, dir string) (*syncEnv, error) {
	svc, err := desk.Open(ctx, dir, desk.Options{})
	if err != nil {
		return nil, err
	}
	if _, err := svc.SeedDemo(ctx); err != nil {
		return nil, err
	}
	ss, err := sync.NewServer(svc.DB(), svc.Blobs(), dir, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	ss.Register(mux)
	ts := httptest.NewTLSServer(mux)
	sum := sha256.Sum256(ts.Certificate().Raw)
	return &syncEnv{server: svc, ts: ts, pin: hex.EncodeToString(sum[:])}, nil
}

func (e *syncEnv) close() {
	e.ts.Close()
	e.server.Close()
}

func (e *syncEnv) enroll(ctx context.Context, dir, code string) (*desk.Service, *sync.Client, error) {
	_, enrol, err := sync.CreateWorkstation(ctx, e.server.DB(), code, code, "desk", false)
	if err != nil {
		return nil, nil, err
	}
	if _, err := sync.Enroll(ctx, filepath.Join(dir, "sportello.db"), e.ts.URL, e.pin, enrol, nil); err != nil {
		return nil, nil, err
	}
	svc, err := desk.Open(ctx, dir, desk.Options{})
	if err != nil {
		return nil, nil, err
	}
	cfg, err := sync.LoadConfig(ctx, svc.DB())
	if err != nil {
		return nil, nil, err
	}
	return svc, sync.NewClient(svc.DB(), svc.Blobs(), cfg), nil
}

// benchCitizen is a registry row of about 515 bytes, like the anchors'
// records. Its ID is random-looking, as a real citizen's is (derived from
// the codice fiscale) and as the anchors' baseline keys are (random UUIDs).
func benchCitizen(i int) citizen.Citizen {
	return citizen.Citizen{ID: citizen.IDForCodiceFiscale(fmt.Sprintf("BENCH%011d", i)), Surname: fmt.Sprintf("Cognome%07d", i), Name: "Nome Secondo", Sex: "F", BirthDate: "1980-01-01",
		BirthPlace: "Brescia", BirthPlaceCode: "B157", Phone: "+39 333 1234567", Email: fmt.Sprintf("utente%07d@example.it", i),
		Address:  citizen.Address{Street: "Via Giuseppe Garibaldi 123, scala B, interno 4", CAP: "25080", City: "Valfiorita", Province: "BS", Country: "Italia"},
		Document: citizen.IdentityDocument{Type: "carta_identita", Number: fmt.Sprintf("CA%07dXY", i), Issuer: "Comune di Valfiorita", IssuedOn: "2020-01-01", ExpiresOn: "2031-01-01"},
		Notes:    "Annotazioni di sportello: documento verificato, recapiti confermati dal cittadino in presenza."}
}

// RunSync measures push and pull of n changes, blob transfer of blobBytes and
// the initial copy of snapshotRows rows, with their baselines.
//
// When pushProfile (pullProfile) is not empty, the CPU profile of the push
// (the pull), desk and server both in this process, is written to that
// file, for `go tool pprof`.
func RunSync(ctx context.Context, dir string, n int, blobBytes int64, snapshotRows int, pushProfile, pullProfile string, progress io.Writer) (SyncResult, error) {
	res := SyncResult{Changes: n, BlobBytes: blobBytes, SnapshotRows: snapshotRows}
	env, err := startSyncServer(ctx, filepath.Join(dir, "server"))
	if err != nil {
		return res, err
	}
	defer env.close()
	a, ca, err := env.enroll(ctx, filepath.Join(dir, "a"), "BENCHA")
	if err != nil {
		return res, err
	}
	defer a.Close()
	b, cb, err := env.enroll(ctx, filepath.Join(dir, "b"), "BENCHB")
	if err != nil {
		return res, err
	}
	defer b.Close()
	op, err := a.Login(ctx, "sportello", desk.DemoPassword)
	if err != nil {
		return res, err
	}
	fmt.Fprintf(progress, "  … preparazione di %d modifiche locali\n", n)
	for i := 0; i < n; i += 1000 {
		if err := a.DB().Write(ctx, store.Actor{OperatorID: op.OperatorID}, func(tx *store.Tx) error {
			for j := i; j < min(i+1000, n); j++ {
				if _, err := tx.PutCitizen(benchCitizen(j)); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return res, err
		}
	}
	settle()
	stopProfile, err := startProfile(pushProfile)
	if err != nil {
		return res, err
	}
	t0 := time.Now()
	err = ca.SyncOnce(ctx)
	res.Push = time.Since(t0)
	if perr := stopProfile(); perr != nil && err == nil {
		err = perr
	}
	if err != nil {
		return res, fmt.Errorf("push: %w", err)
	}
	settle()
	if stopProfile, err = startProfile(pullProfile); err != nil {
		return res, err
	}
	t0 = time.Now()
	err = cb.SyncOnce(ctx)
	res.Pull = time.Since(t0)
	if perr := stopProfile(); perr != nil && err == nil {
		err = perr
	}
	if err != nil {
		return res, fmt.Errorf("pull: %w", err)
	}
	if got, _ := b.DB().CountCitizens(ctx); got < n {
		return res, fmt.Errorf("pull brought %d citizens, want %d", got, n)
	}
	if res.Baseline, err = plainInsert(ctx, filepath.Join(dir, "plain.db"), n); err != nil {
		return res, fmt.Errorf("baseline: %w", err)
	}
	if res.SchemaFloor, err = plainCitizens(ctx, filepath.Join(dir, "floor"), n); err != nil {
		return res, fmt.Errorf("baseline on the citizens table: %w", err)
	}

	if blobBytes > 0 {
		fmt.Fprintf(progress, "  … allegati: %d MiB\n", blobBytes>>20)
		if err := benchBlobs(ctx, dir, env, a, ca, op, &res); err != nil {
			return res, fmt.Errorf("blobs: %w", err)
		}
	}
	if snapshotRows > 0 {
		fmt.Fprintf(progress, "  … copia iniziale: preparazione di %d righe sul server\n", snapshotRows)
		if err := benchSnapshot(ctx, dir, env, &res); err != nil {
			return res, fmt.Errorf("initial copy: %w", err)
		}
	}
	return res, nil
}

// plainInsert is the baseline: the same number of ~515-byte rows inserted
// with a prepared statement, 1,000 per transaction, WAL, synchronous=FULL.
func plainInsert(ctx context.Context, path string, n int) (time.Duration, error) {
	os.Remove(path)
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `CREATE TABLE records (id TEXT PRIMARY KEY, surname TEXT, name TEXT, email TEXT, street TEXT, doc TEXT, notes TEXT, data TEXT)`); err != nil {
		return 0, err
	}
	settle()
	t0 := time.Now()
	for i := 0; i < n; i += 1000 {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return 0, err
		}
		st, err := tx.PrepareContext(ctx, `INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return 0, err
		}
		for j := i; j < min(i+1000, n); j++ {
			c := benchCitizen(j)
			if _, err := st.ExecContext(ctx, c.ID, c.Surname, c.Name, c.Email, c.Address.Street, c.Document.Number, c.Notes,
				`{"phone":"+39 333 1234567","birth_date":"1980-01-01","birth_place":"Brescia","cap":"25080","city":"Valfiorita"}`); err != nil {
				return 0, err
			}
		}
		st.Close()
		if err := tx.Commit(); err != nil {
			return 0, err
		}
	}
	return time.Since(t0), nil
}

// plainCitizens is a second reference: the same rows inserted with a plain
// prepared-statement loop straight into a replica's citizens table (its
// schema and indexes), 1,000 per transaction, synchronous=FULL, with no
// change log, versions or audit: what storing these rows costs at all.
func plainCitizens(ctx context.Context, dir string, n int) (time.Duration, error) {
	db, err := store.Open(ctx, filepath.Join(dir, "floor.db"), store.Options{})
	if err != nil {
		return 0, err
	}
	path := db.Path()
	if err := db.Close(); err != nil {
		return 0, err
	}
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)")
	if err != nil {
		return 0, err
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)
	settle()
	t0 := time.Now()
	for i := 0; i < n; i += 1000 {
		tx, err := raw.BeginTx(ctx, nil)
		if err != nil {
			return 0, err
		}
		st, err := tx.PrepareContext(ctx, citizenInsert)
		if err != nil {
			return 0, err
		}
		for j := i; j < min(i+1000, n); j++ {
			if _, err := st.ExecContext(ctx, citizenArgs(benchCitizen(j))...); err != nil {
				return 0, err
			}
		}
		st.Close()
		if err := tx.Commit(); err != nil {
			return 0, err
		}
	}
	return time.Since(t0), nil
}

const citizenInsert = `INSERT INTO citizens (id, surname, name, search_name, sex, birth_date, birth_place, birth_place_code, phone, email,
	address_street, address_cap, address_city, address_province, address_country, doc_type, doc_number, doc_number_folded, doc_issuer,
	doc_issued_on, doc_expires_on, notes, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`

func citizenArgs(c citizen.Citizen) []any {
	return []any{c.ID, c.Surname, c.Name, c.SearchName(), c.Sex, c.BirthDate, c.BirthPlace, c.BirthPlaceCode, c.Phone, c.Email,
		c.Address.Street, c.Address.CAP, c.Address.City, c.Address.Province, c.Address.Country, c.Document.Type, c.Document.Number,
		citizen.FoldDocument(c.Document.Number), c.Document.Issuer, c.Document.IssuedOn, c.Document.ExpiresOn, c.Notes,
		"2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z"}
}

func benchBlobs(ctx context.Context, dir string, env *syncEnv, a *desk.Service, ca *sync.Client, op desk.Session, res *SyncResult) error {
	const fileSize = 16 << 20
	files := int(res.BlobBytes / fileSize)
	src := filepath.Join(dir, "blobsrc")
	os.MkdirAll(src, 0o700)
	buf := make([]byte, fileSize)
	var digests []string
	for i := 0; i < files; i++ {
		rand.Read(buf)
		d, _, err := a.Blobs().Put(ctx, bytes.NewReader(buf), 0)
		if err != nil {
			return err
		}
		digests = append(digests, d)
	}
	// Rows that refer to the blobs (attachment rows): the push uploads them first.
	c, err := a.SaveCitizen(ctx, op, citizen.Citizen{Surname: "Allegati", Name: "Prova"})
	if err != nil {
		return err
	}
	app, err := a.NewApplication(ctx, op, "richiesta-informazioni", c.ID, "")
	if err != nil {
		return err
	}
	if err := a.DB().Write(ctx, store.Actor{OperatorID: op.OperatorID}, func(tx *store.Tx) error {
		for i, d := range digests {
			if err := tx.AddAttachment(attachmentRow(app.ID, d, i, fileSize)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	settle()
	t0 := time.Now()
	if err := ca.SyncOnce(ctx); err != nil {
		return err
	}
	res.BlobUpload = time.Since(t0)
	// Baseline: the same bytes over plain HTTP on loopback into an fsynced file.
	sink := filepath.Join(dir, "plainsink")
	os.MkdirAll(sink, 0o700)
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := os.Create(filepath.Join(sink, filepath.Base(r.URL.Path)))
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		defer f.Close()
		if _, err := io.Copy(f, r.Body); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		if err := f.Sync(); err != nil {
			http.Error(w, err.Error(), 500)
		}
	}))
	defer plain.Close()
	settle()
	t0 = time.Now()
	for _, d := range digests {
		f, err := a.Blobs().Open(d)
		if err != nil {
			return err
		}
		resp, err := http.Post(plain.URL+"/"+d, "application/octet-stream", f)
		f.Close()
		if err != nil {
			return err
		}
		resp.Body.Close()
	}
	res.BlobHTTP = time.Since(t0)
	for _, d := range digests {
		if err := env.server.Blobs().Verify(ctx, d); err != nil {
			return fmt.Errorf("server copy: %w", err)
		}
	}
	return nil
}

func attachmentRow(appID, digest string, i int, size int64) (a appAttachment) {
	return appAttachment{ID: ids.New(), ApplicationID: appID, DocType: "allegato", FileName: fmt.Sprintf("scansione-%02d.bin", i), Size: size, SHA256: digest}
}

func benchSnapshot(ctx context.Context, dir string, env *syncEnv, res *SyncResult) error {
	// Setup (not timed): rows written straight into the server's tables with
	// their field versions, as the server would hold them.
	path := env.server.DB().Path()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(30000)&_pragma=synchronous(OFF)")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	serverID := env.server.DB().WorkstationID()
	for i := 0; i < res.SnapshotRows; i += 10000 {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		st, err := tx.PrepareContext(ctx, citizenInsert)
		if err != nil {
			return err
		}
		vs, err := tx.PrepareContext(ctx, `INSERT INTO sync_versions (tbl, row_id, versions, max_hlc) VALUES ('citizens', ?, ?, ?)`)
		if err != nil {
			return err
		}
		for j := i; j < min(i+10000, res.SnapshotRows); j++ {
			c := benchCitizen(1_000_000 + j)
			if _, err := st.ExecContext(ctx, citizenArgs(c)...); err != nil {
				return err
			}
			// The field versions the server keeps for a row inserted whole.
			h := "1767225600000-00000000-" + serverID
			if _, err := vs.ExecContext(ctx, c.ID, `{"=":{"h":"`+h+`","b":"","x":["codice_fiscale","pec","privacy_consent","privacy_consent_at"]}}`, h); err != nil {
				return err
			}
		}
		st.Close()
		vs.Close()
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	db.Close()
	_, enrol, err := sync.CreateWorkstation(ctx, env.server.DB(), "BENCHNEW", "nuova", "desk", false)
	if err != nil {
		return err
	}
	newDir := filepath.Join(dir, "new")
	os.MkdirAll(newDir, 0o700)
	settle()
	t0 := time.Now()
	if _, err := sync.Enroll(ctx, filepath.Join(newDir, "sportello.db"), env.ts.URL, env.pin, enrol, nil); err != nil {
		return err
	}
	res.InitialCopy = time.Since(t0)
	if fi, err := os.Stat(filepath.Join(newDir, "sportello.db")); err == nil {
		res.SnapshotBytes = fi.Size()
	}
	svc, err := desk.Open(ctx, newDir, desk.Options{})
	if err != nil {
		return err
	}
	defer svc.Close()
	if n, err := svc.DB().CountCitizens(ctx); err != nil || n < res.SnapshotRows {
		return fmt.Errorf("initial copy has %d citizens (%v)", n, err)
	}
	return nil
}

// Report prints the figures.
func (r SyncResult) Report(w io.Writer) {
	rate := func(n int, d time.Duration) float64 { return float64(n) / d.Seconds() }
	base := rate(r.Changes, r.Baseline)
	floor := rate(r.Changes, r.SchemaFloor)
	fmt.Fprintf(w, "Sincronizzazione su loopback TLS, %d modifiche (cittadini di ~515 byte, chiavi casuali):\n", r.Changes)
	fmt.Fprintf(w, "  invio (push):     %v  %.0f modifiche/s  = %.2f× baseline, %.2f× tabella cittadini\n", r.Push.Round(time.Millisecond), rate(r.Changes, r.Push),
		rate(r.Changes, r.Push)/base, rate(r.Changes, r.Push)/floor)
	fmt.Fprintf(w, "  ricezione (pull): %v  %.0f modifiche/s  = %.2f× baseline, %.2f× tabella cittadini\n", r.Pull.Round(time.Millisecond), rate(r.Changes, r.Pull),
		rate(r.Changes, r.Pull)/base, rate(r.Changes, r.Pull)/floor)
	fmt.Fprintf(w, "  baseline (stesse righe, ciclo SQLite semplice, chiave UUID casuale, 1000 per transazione): %v  %.0f righe/s  — obiettivo ≥ 0,5×\n", r.Baseline.Round(time.Millisecond), base)
	fmt.Fprintf(w, "  riferimento (stesse righe nella tabella cittadini con i suoi indici, ciclo semplice, senza registro modifiche né audit): %v  %.0f righe/s\n", r.SchemaFloor.Round(time.Millisecond), floor)
	if r.BlobBytes > 0 {
		mib := float64(r.BlobBytes) / (1 << 20)
		fmt.Fprintf(w, "Allegati %.0f MiB: sync %v (%.0f MiB/s), HTTP semplice %v (%.0f MiB/s) = %.0f%% — obiettivo ≥ 70%%\n",
			mib, r.BlobUpload.Round(time.Millisecond), mib/r.BlobUpload.Seconds(), r.BlobHTTP.Round(time.Millisecond), mib/r.BlobHTTP.Seconds(),
			100*r.BlobHTTP.Seconds()/r.BlobUpload.Seconds())
	}
	if r.SnapshotRows > 0 {
		fmt.Fprintf(w, "Copia iniziale di una nuova postazione, %d righe (%d MiB): %v — obiettivo < 10 s\n", r.SnapshotRows, r.SnapshotBytes>>20, r.InitialCopy.Round(time.Millisecond))
	}
}

type appAttachment = application.Attachment

// startProfile starts a CPU profile into path (nothing when path is empty)
// and returns the function that stops it and closes the file.
func startProfile(path string) (stop func() error, err error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() error {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		return nil
	}, nil
}
