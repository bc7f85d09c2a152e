package server

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"sportello/internal/auth"
	"sportello/internal/citizen"
	"sportello/internal/desk"
	"sportello/internal/hlc"
	"sportello/internal/protocol"
	"sportello/internal/replica"
	"sportello/store"
	"sportello/sync"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type lockedBuffer struct {
	mu  chan struct{}
	buf bytes.Buffer
}

func newLockedBuffer() *lockedBuffer { return &lockedBuffer{mu: make(chan struct{}, 1)} }

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return b.buf.String()
}

var fpLine = regexp.MustCompile(`Impronta del certificato da indicare sulle postazioni: ([0-9a-f]{64})`)

// start serves a fresh server over dataDir and returns its address, the
// fingerprint it printed and a stop function that checks the graceful shutdown.
func start(t *testing.T, dataDir string) (string, string, func()) {
	return startWith(t, dataDir, quiet, nil)
}

// startWith is start with a logger and changes to the configuration.
func startWith(t *testing.T, dataDir string, log *slog.Logger, tweak func(*Config)) (string, string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	svc, err := desk.Open(ctx, dataDir, desk.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(svc.DB(), svc.Blobs(), dataDir, log)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	out := newLockedBuffer()
	cfg := Config{ShutdownTimeout: 5 * time.Second, DataDir: dataDir, Hosts: []string{"sportello.comune.example"}, Out: out}
	if tweak != nil {
		tweak(&cfg)
	}
	done := make(chan error, 1)
	go func() {
		done <- s.Serve(ctx, ln, cfg)
	}()
	var fp string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := fpLine.FindStringSubmatch(out.String()); m != nil {
			fp = m[1]
			break
		}
	}
	if fp == "" {
		t.Fatalf("no fingerprint line printed: %q", out.String())
	}
	stop := func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no graceful shutdown")
		}
		svc.Close()
	}
	return ln.Addr().String(), fp, stop
}

func TestHealthOverTLSWithPinningAndGracefulShutdown(t *testing.T) {
	dir := t.TempDir()
	addr, fp, stop := start(t, dir)
	defer stop()

	resp, err := sync.PinnedClient(fp).Get("https://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != 200 || body["status"] != "ok" || body["schema_version"] != float64(store.SchemaVersion()) {
		t.Fatalf("health: %d %v", resp.StatusCode, body)
	}

	// A client pinning another certificate is refused.
	if _, err := sync.PinnedClient(strings.Repeat("ab", 32)).Get("https://" + addr + "/healthz"); err == nil {
		t.Fatal("wrong pin accepted")
	}
	// Plain HTTP is not served.
	if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatal("plain HTTP served")
		}
	}
	// TLS 1.1 is refused.
	if c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11}); err == nil {
		c.Close()
		t.Fatal("TLS 1.1 accepted")
	}
	// The certificate file verifies as its own trust anchor for the names it lists.
	pemBytes, err := os.ReadFile(filepath.Join(dir, CertFile))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"}}}
	resp, err = hc.Get("https://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("CA verification with the certificate file: %v", err)
	}
	resp.Body.Close()

	// The sync endpoints are mounted on the same server.
	resp, err = sync.PinnedClient(fp).Post("https://"+addr+"/v1/enroll", "application/json", strings.NewReader(`{"code":"nessuno"}`))
	if err != nil {
		t.Fatal(err)
	}
	var eb sync.ErrorBody
	json.NewDecoder(resp.Body).Decode(&eb)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || eb.Code != sync.CodeEnrolment {
		t.Fatalf("enrol with a wrong code: %d %+v", resp.StatusCode, eb)
	}
	resp, err = sync.PinnedClient(fp).Get("https://" + addr + "/v1/pull?after=0")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("pull without token: %d", resp.StatusCode)
	}
}

func TestCertificateReusedAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	_, fp1, stop := start(t, dir)
	stop()
	addr, fp2, stop := start(t, dir)
	defer stop()
	if fp1 != fp2 {
		t.Fatalf("fingerprint changed across restarts: %s then %s", fp1, fp2)
	}
	if _, err := sync.PinnedClient(fp1).Get("https://" + addr + "/healthz"); err != nil {
		t.Fatalf("pinned client after restart: %v", err)
	}
	fi, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", fi.Mode().Perm())
	}
	c, err := LoadCertificate(dir, "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Created || c.Fingerprint != fp1 {
		t.Fatalf("reloaded certificate: created %v, fingerprint %s", c.Created, c.Fingerprint)
	}
	host, _ := os.Hostname()
	for _, name := range []string{"localhost", "127.0.0.1", "::1", host, "sportello.comune.example"} {
		if err := c.Leaf.VerifyHostname(name); err != nil {
			t.Errorf("certificate does not cover %s: %v", name, err)
		}
	}
	if years := c.Leaf.NotAfter.Sub(c.Leaf.NotBefore).Hours() / 24 / 365; years < 9.9 {
		t.Errorf("validity %.1f years", years)
	}
	if pub, ok := c.Leaf.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		t.Errorf("key %T, want ECDSA P-256", c.Leaf.PublicKey)
	}
	// A name asked for later is reported, the certificate is not replaced.
	c, err = LoadCertificate(dir, "", "", []string{"altro.example"})
	if err != nil || c.Fingerprint != fp1 || len(c.Missing) != 1 {
		t.Fatalf("new host name: %v %+v", err, c)
	}
	// Given files are used as they are.
	c2, err := LoadCertificate(t.TempDir(), filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile), nil)
	if err != nil || c2.Fingerprint != fp1 {
		t.Fatalf("explicit files: %v", err)
	}
	// A certificate without its key is refused, not silently replaced.
	lone := t.TempDir()
	os.WriteFile(filepath.Join(lone, CertFile), []byte("x"), 0o644)
	if _, err := LoadCertificate(lone, "", "", nil); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("certificate without key: %v", err)
	}
	if _, err := LoadCertificate(dir, filepath.Join(dir, CertFile), "", nil); err == nil {
		t.Fatal("certificate file without key file accepted")
	}
}

func TestInitializeSeedsOnceAndStoresSettings(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	svc, err := desk.Open(ctx, dir, desk.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	seeded, err := Initialize(ctx, svc, Setup{AOOCode: "c_x001", AOOName: "Comune di Prova", SMTP: SMTP{Host: "smtp.example.it", Port: "587", Password: "segreta"}})
	if err != nil || !seeded {
		t.Fatalf("first start: %v %v", seeded, err)
	}
	c, err := svc.DB().Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.Municipality.AOOCode != "c_x001" || c.Municipality.AOOName != "Comune di Prova" || c.Municipality.Name == "" {
		t.Fatalf("municipality %+v", c.Municipality)
	}
	s, err := LoadSMTP(ctx, svc.DB())
	if err != nil || s.Host != "smtp.example.it" || s.Port != "587" || s.Password != "segreta" {
		t.Fatalf("smtp %+v %v", s, err)
	}
	// Second start: nothing seeded again, unchanged settings write nothing.
	before, _ := replica.ReadStatus(ctx, svc.DB())
	seeded, err = Initialize(ctx, svc, Setup{AOOCode: "c_x001", SMTP: SMTP{User: "utente"}})
	if err != nil || seeded {
		t.Fatalf("second start: %v %v", seeded, err)
	}
	after, _ := replica.ReadStatus(ctx, svc.DB())
	if d := replica.Diff(before, after); len(d) > 0 {
		t.Fatalf("second start changed %v", d)
	}
	if s, _ := LoadSMTP(ctx, svc.DB()); s.User != "utente" || s.Host != "smtp.example.it" {
		t.Fatalf("smtp after second start %+v", s)
	}

	empty, err := desk.Open(ctx, t.TempDir(), desk.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	defer empty.Close()
	if seeded, err := Initialize(ctx, empty, Setup{NoDemo: true}); err != nil || seeded {
		t.Fatalf("no demo: %v %v", seeded, err)
	}
	if _, err := Initialize(ctx, empty, Setup{AOOCode: "c_x001"}); err == nil || !strings.Contains(desk.UserMessage(err), "catalogo") {
		t.Fatalf("AOO without catalog: %v", err)
	}
	if c, _ := empty.DB().Catalog(ctx); len(c.Procedures) != 0 {
		t.Fatal("demo seeded on a later start")
	}
}

func TestOperatorsAndWorkstations(t *testing.T) {
	ctx := context.Background()
	svc, err := desk.Open(ctx, t.TempDir(), desk.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if _, err := svc.SeedDemo(ctx); err != nil {
		t.Fatal(err)
	}
	created, err := AddOperator(ctx, svc, "MRossi", "Mario Rossi", "sportellista", "urp", "password-lunga")
	if err != nil || !created {
		t.Fatalf("add operator: %v %v", created, err)
	}
	if _, err := svc.Login(ctx, "mrossi", "password-lunga"); err != nil {
		t.Fatalf("login: %v", err)
	}
	if created, err := AddOperator(ctx, svc, "mrossi", "Mario Rossi", "ufficio_protocollo", "", "altra-password"); err != nil || created {
		t.Fatalf("update operator: %v %v", created, err)
	}
	if s, err := svc.Login(ctx, "mrossi", "altra-password"); err != nil || s.Role != "ufficio_protocollo" {
		t.Fatalf("login after update: %+v %v", s, err)
	}
	for _, bad := range []struct {
		role       auth.Role
		office, pw string
	}{{"capo", "", "password-lunga"}, {"sportellista", "nessuno", "password-lunga"}, {"sportellista", "", "corta"}} {
		if _, err := AddOperator(ctx, svc, "x", "X Y", bad.role, bad.office, bad.pw); err == nil {
			t.Fatalf("invalid operator %+v accepted", bad)
		} else if msg := desk.UserMessage(err); strings.HasPrefix(msg, "Errore imprevisto") {
			t.Fatalf("operator %+v: no clear message: %s", bad, msg)
		}
	}

	// Deactivated: no login, listed as such, the deactivation noted where
	// the change log stood; activating again lets the operator in.
	o, err := SetOperatorActive(ctx, svc, "MRossi", false)
	if err != nil || o.Active || o.Username != "mrossi" {
		t.Fatalf("deactivate: %+v %v", o, err)
	}
	if _, err := svc.Login(ctx, "mrossi", "altra-password"); err == nil || !strings.Contains(desk.UserMessage(err), "disattivata") {
		t.Fatalf("login of a deactivated operator: %v", err)
	}
	var noted int
	if err := svc.DB().Read(ctx, func(q store.Querier) error {
		return q.QueryRow(`SELECT count(*) FROM operator_deactivations WHERE operator_id = ? AND log_seq = (SELECT max(seq) FROM sync_changes WHERE tbl = 'operators')`, o.ID).Scan(&noted)
	}); err != nil || noted != 1 {
		t.Fatalf("deactivation noted %d times (%v)", noted, err)
	}
	if again, err := SetOperatorActive(ctx, svc, "mrossi", false); err != nil || again.Active {
		t.Fatalf("deactivate again: %+v %v", again, err)
	}
	// A new password for a deactivated operator does not let them in.
	if created, err := AddOperator(ctx, svc, "mrossi", "Mario Rossi", "ufficio_protocollo", "", "altra-password"); err != nil || created {
		t.Fatalf("update a deactivated operator: %v %v", created, err)
	}
	if _, err := svc.Login(ctx, "mrossi", "altra-password"); err == nil {
		t.Fatal("updating the account reactivated it")
	}
	ops, err := Operators(ctx, svc.DB())
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, x := range ops {
		if x.Username == "mrossi" {
			found = !x.Active && x.Role == "ufficio_protocollo" && x.FullName == "Mario Rossi"
		}
	}
	if !found {
		t.Fatalf("list: %+v", ops)
	}
	if _, err := SetOperatorActive(ctx, svc, "nessuno", false); err == nil || !strings.Contains(desk.UserMessage(err), "Nessun operatore") {
		t.Fatalf("unknown operator: %v", err)
	}
	if _, err := SetOperatorActive(ctx, svc, "mrossi", true); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Login(ctx, "mrossi", "altra-password"); err != nil {
		t.Fatalf("login after activation: %v", err)
	}

	if _, _, err := CreateWorkstation(ctx, svc.DB(), "desk 1", "Sportello", "desk", false); err == nil {
		t.Fatal("code with a space accepted")
	}
	if _, _, err := CreateWorkstation(ctx, svc.DB(), "DESK01", "Sportello", "tavolo", false); err == nil || !strings.Contains(desk.UserMessage(err), "Tipo") {
		t.Fatalf("bad kind: %v", err)
	}
	ws, code, err := CreateWorkstation(ctx, svc.DB(), "desk01", "Sportello 1", "desk", false)
	if err != nil || ws.Code != "DESK01" || code == "" {
		t.Fatalf("create workstation: %+v %q %v", ws, code, err)
	}
	if _, _, err := CreateWorkstation(ctx, svc.DB(), "COLL01", "Colloqui", "interview", true); err != nil {
		t.Fatal(err)
	}
	list, err := Workstations(ctx, svc.DB())
	if err != nil || len(list) != 2 || list[0].Code != "COLL01" || !list[0].Confidential || list[1].Code != "DESK01" || list[1].Enrolled || !list[1].Active {
		t.Fatalf("list: %+v %v", list, err)
	}
	if list[1].ClockCheckedAt != "" {
		t.Fatalf("clock checked before any pull: %+v", list[1])
	}
	// A pull measured the desk's clock 3 hours behind.
	if err := svc.DB().Write(ctx, store.Actor{OperatorID: "server"}, func(tx *store.Tx) error {
		return tx.RecordClock(ws.ID, -3*3600*1000)
	}); err != nil {
		t.Fatal(err)
	}
	if list, err = Workstations(ctx, svc.DB()); err != nil || list[1].ClockOffsetMs != -3*3600*1000 || list[1].ClockCheckedAt == "" {
		t.Fatalf("clock: %+v %v", list[1], err)
	}
	if err := RevokeWorkstation(ctx, svc.DB(), "desk01"); err != nil {
		t.Fatal(err)
	}
	if err := RevokeWorkstation(ctx, svc.DB(), "NESSUNA"); err == nil || !strings.Contains(desk.UserMessage(err), "Nessuna postazione") {
		t.Fatalf("revoke unknown: %v", err)
	}
	list, _ = Workstations(ctx, svc.DB())
	if list[1].RevokedAt == "" || list[1].Active {
		t.Fatalf("revoked: %+v", list[1])
	}
	if _, _, err := CreateWorkstation(ctx, svc.DB(), "DESK01", "Sportello 1", "desk", false); err == nil || !strings.Contains(desk.UserMessage(err), "revocata") {
		t.Fatalf("revoked code reused: %v", err)
	}
}

func TestDailyRegister(t *testing.T) {
	ctx := context.Background()
	svc, sess := openSeeded(t, t.TempDir())
	var lines bytes.Buffer
	w := replica.NewWorkload(svc, sess, 42, &lines)
	for i := 0; i < 40; i++ {
		if err := w.Step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var regIDs []string
	for _, l := range strings.Split(lines.String(), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "registration" {
			regIDs = append(regIDs, f[1])
		}
	}
	if len(regIDs) < 3 {
		t.Fatalf("workload protocolled only %d applications", len(regIDs))
	}
	// What the sync server does when a registration arrives.
	var today string
	if err := svc.DB().Write(ctx, store.Actor{OperatorID: "server"}, func(tx *store.Tx) error {
		var year int
		today, year = protocol.LegalDate(tx.Now())
		for _, id := range regIDs {
			if _, _, err := tx.AssignProtocolNumber(id, "c_m999", year); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := svc.Annul(ctx, desk.Session{OperatorID: "op-urp", Role: "responsabile"}, regIDs[1], "Registrazione duplicata", "Det. 12/2026"); err != nil {
		t.Fatal(err)
	}
	reg, err := BuildDailyRegister(ctx, svc.DB(), today)
	if err != nil {
		t.Fatal(err)
	}
	if len(reg.Entries) != len(regIDs) || reg.First() != 1 || reg.Last() != int64(len(regIDs)) || len(reg.Gaps()) != 0 {
		t.Fatalf("register of %s: %d entries, %d..%d, gaps %v", today, len(reg.Entries), reg.First(), reg.Last(), reg.Gaps())
	}
	data, digest, err := reg.CSV(nil)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows[0], "|") != strings.Join(RegisterHeader, "|") || len(rows) != len(regIDs)+1 {
		t.Fatalf("CSV header/rows: %v, %d rows", rows[0], len(rows))
	}
	if rows[1][0] != "0000001/"+today[:4] || rows[1][2] != "Entrata" || len(rows[1][7]) != 64 || !strings.HasPrefix(rows[1][8], "EM-") {
		t.Fatalf("first row %v", rows[1])
	}
	if rows[2][9] != "sì: Registrazione duplicata" || rows[1][9] != "no" {
		t.Fatalf("annulment column %q %q", rows[1][9], rows[2][9])
	}
	if len(digest) != 64 || DigestLine(digest, "r.csv") != digest+"  r.csv\n" {
		t.Fatalf("digest %q", digest)
	}
	// Another day is empty; a malformed date is refused in Italian.
	if other, err := BuildDailyRegister(ctx, svc.DB(), "2001-01-01"); err != nil || len(other.Entries) != 0 {
		t.Fatalf("other day: %v %v", other, err)
	}
	if _, err := BuildDailyRegister(ctx, svc.DB(), "01/01/2026"); err == nil || !strings.Contains(desk.UserMessage(err), "AAAA-MM-GG") {
		t.Fatalf("bad date: %v", err)
	}
}

// The workstation list says up to when each workstation is known to have
// synced and which one holds the stable horizon back; a revoked one never
// does.
func TestWorkstationsHorizon(t *testing.T) {
	ctx := context.Background()
	svc, err := desk.Open(ctx, t.TempDir(), desk.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	ids := map[string]string{}
	for _, code := range []string{"DESK01", "DESK02", "OLD01"} {
		ws, _, err := CreateWorkstation(ctx, svc.DB(), code, code, "desk", false)
		if err != nil {
			t.Fatal(err)
		}
		ids[code] = ws.ID
	}
	march := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	floors := map[string]time.Time{"DESK01": march.AddDate(0, 0, 30), "DESK02": march, "OLD01": march.AddDate(0, 0, -60)}
	if err := svc.DB().Write(ctx, store.Actor{OperatorID: "server"}, func(tx *store.Tx) error {
		for code, at := range floors {
			if err := tx.InsertToken("token-"+code, ids[code]); err != nil {
				return err
			}
			if err := tx.RaiseFloor(ids[code], hlc.Timestamp{WallMillis: at.UnixMilli(), Node: ids[code]}.String()); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := RevokeWorkstation(ctx, svc.DB(), "OLD01"); err != nil {
		t.Fatal(err)
	}
	list, err := Workstations(ctx, svc.DB())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, w := range list {
		got[w.Code] = fmt.Sprintf("%s holds=%v", w.SyncedUpTo, w.HoldsHorizon)
	}
	want := map[string]string{
		"DESK01": "2026-04-01T09:00:00Z holds=false",
		"DESK02": "2026-03-02T09:00:00Z holds=true",
		"OLD01":  "2026-01-01T09:00:00Z holds=false", // revoked: no longer counts
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("workstations (-want +got):\n%s", diff)
	}
}

// The administrator sees what the server refused, by workstation, with the
// record each refused change touched named.
func TestRejectionsListed(t *testing.T) {
	ctx := context.Background()
	svc, sess := openSeeded(t, t.TempDir())
	c, err := svc.SaveCitizen(ctx, sess, citizen.Citizen{Surname: "Moretti", Name: "Elena", CodiceFiscale: "MRTLNE80A41B157B"})
	if err != nil {
		t.Fatal(err)
	}
	wsIDs := map[string]string{}
	for _, code := range []string{"DESK01", "DESK02"} {
		ws, _, err := CreateWorkstation(ctx, svc.DB(), code, code, "desk", false)
		if err != nil {
			t.Fatal(err)
		}
		wsIDs[code] = ws.ID
	}
	if err := svc.DB().Write(ctx, store.Actor{OperatorID: "server"}, func(tx *store.Tx) error {
		if err := tx.InsertRejection(wsIDs["DESK01"], store.Rejection{OriginSeq: 7, Table: "citizens", RowID: c.ID, Code: sync.CodeForbidden, Reason: "Operatore disattivato"}); err != nil {
			return err
		}
		return tx.InsertRejection(wsIDs["DESK02"], store.Rejection{OriginSeq: 3, Table: "citizens", RowID: "gone", Code: sync.CodeConstraint, Reason: "Vincolo"})
	}); err != nil {
		t.Fatal(err)
	}
	all, err := Rejections(ctx, svc.DB(), "", 100)
	if err != nil || len(all) != 2 {
		t.Fatalf("all rejections: %+v %v", all, err)
	}
	one, err := Rejections(ctx, svc.DB(), "desk01", 100)
	if err != nil || len(one) != 1 || one[0].Workstation != "DESK01" || one[0].Record != "Moretti Elena (MRTLNE80A41B157B)" || one[0].Reason != "Operatore disattivato" {
		t.Fatalf("DESK01's rejections: %+v %v", one, err)
	}
	if _, err := Rejections(ctx, svc.DB(), "NOPE", 100); err == nil || !strings.Contains(desk.UserMessage(err), "Nessuna postazione") {
		t.Fatalf("unknown workstation: %v", err)
	}
}

// openSeeded opens a server's data folder with the demo municipality and
// logs the demo desk operator in; the service closes with the test.
func openSeeded(t *testing.T, dir string) (*desk.Service, desk.Session) {
	t.Helper()
	ctx := context.Background()
	svc, err := desk.Open(ctx, dir, desk.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	if _, err := svc.SeedDemo(ctx); err != nil {
		t.Fatal(err)
	}
	sess, err := svc.Login(ctx, "sportello", desk.DemoPassword)
	if err != nil {
		t.Fatal(err)
	}
	return svc, sess
}
