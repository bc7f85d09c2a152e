// Package e2e runs the real binaries: a server over TLS and two headless
// replicas doing desk work while the server and a replica are killed and
// restarted, then checks that every confirmed operation reached the server,
// that protocol numbers are unique and gap-free and that all replicas
// converged. Skipped with -short.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	gosync "sync"
	"syscall"
	"testing"
	"time"

	"sportello/internal/protocol"
	"sportello/internal/replica"
	"sportello/store"
	"sportello/sync"
)

var serverBin, replicaBin string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "sportello-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		root, err := filepath.Abs(filepath.Join("..", ".."))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		// go test puts its own GOROOT/bin first on the PATH of the tests it runs.
		goBin, err := exec.LookPath("go")
		if err != nil {
			fmt.Fprintln(os.Stderr, "e2e: the go command is not on PATH:", err)
			return 1
		}
		start := time.Now()
		cmd := exec.Command(goBin, "build", "-o", dir+string(os.PathSeparator), "./cmd/sportello-server", "./cmd/sportello-replica")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build binaries: %v\n%s", err, out)
			return 1
		}
		fmt.Fprintf(os.Stderr, "e2e: binaries built in %s\n", time.Since(start).Round(time.Millisecond))
		serverBin, replicaBin = filepath.Join(dir, "sportello-server"), filepath.Join(dir, "sportello-replica")
		return m.Run()
	}()
	os.Exit(code)
}

// proc is a running binary whose output is collected line by line.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}

	mu     gosync.Mutex
	stdout []string
	stderr []string
	err    error
}

func startProc(t *testing.T, name, bin string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, cmd: exec.Command(bin, args...), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	var readers gosync.WaitGroup
	collect := func(r interface{ Read([]byte) (int, error) }, dst *[]string) {
		defer readers.Done()
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			*dst = append(*dst, sc.Text())
			p.mu.Unlock()
		}
	}
	readers.Add(2)
	go collect(stdout, &p.stdout)
	go collect(stderr, &p.stderr)
	go func() {
		readers.Wait()
		err := p.cmd.Wait()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

func (p *proc) lines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.stdout...)
}

func (p *proc) errLines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.stderr...)
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill9 kills the process without warning (SIGKILL) and waits for it.
func (p *proc) kill9(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill %s: %v", p.name, err)
	}
	<-p.done
}

// stop sends SIGTERM and requires a clean exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("stop %s: %v", p.name, err)
	}
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		t.Fatalf("%s did not stop within 20 s after SIGTERM", p.name)
	}
	p.mu.Lock()
	err := p.err
	p.mu.Unlock()
	if err != nil {
		t.Fatalf("%s exited with %v; stderr:\n%s", p.name, err, tail(p.errLines(), 30))
	}
}

func tail(lines []string, n int) string {
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func waitFor(t *testing.T, what string, timeout time.Duration, procs []*proc, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		for _, p := range procs {
			if p.exited() {
				t.Fatalf("waiting for %s: %s exited (%v); stderr:\n%s", what, p.name, p.err, tail(p.errLines(), 30))
			}
		}
		if time.Now().After(deadline) {
			for _, p := range procs {
				t.Logf("%s stderr:\n%s", p.name, tail(p.errLines(), 20))
			}
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runBin runs a binary to completion and returns its standard output.
func runBin(t *testing.T, env []string, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", filepath.Base(bin), strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

var fingerprintRE = regexp.MustCompile(`Impronta del certificato da indicare sulle postazioni: ([0-9a-f]{64})`)

// startServer starts the server and waits until it answers over TLS with
// the certificate it announced.
func startServer(t *testing.T, name, data, addr string) (*proc, string) {
	t.Helper()
	p := startProc(t, name, serverBin, nil, "serve", "-data", data, "-addr", addr, "-aoo-code", "c_m999", "-shutdown-timeout", "10s")
	var fp string
	waitFor(t, name+" fingerprint", 30*time.Second, []*proc{p}, func() bool {
		for _, l := range p.errLines() {
			if m := fingerprintRE.FindStringSubmatch(l); m != nil {
				fp = m[1]
				return true
			}
		}
		return false
	})
	hc := sync.PinnedClient(fp)
	hc.Timeout = 2 * time.Second
	waitFor(t, name+" health", 10*time.Second, []*proc{p}, func() bool {
		resp, err := hc.Get("https://" + addr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return p, fp
}

func status(t *testing.T, bin, data string) replica.Status {
	t.Helper()
	var st replica.Status
	if err := json.Unmarshal([]byte(runBin(t, nil, bin, "status", "-data", data)), &st); err != nil {
		t.Fatalf("status of %s: %v", data, err)
	}
	return st
}

func count(lines []string, kind string) int {
	n := 0
	for _, l := range lines {
		if strings.HasPrefix(l, kind+" ") {
			n++
		}
	}
	return n
}

func TestServerAndReplicasSurviveCrashesAndConverge(t *testing.T) {
	if testing.Short() {
		t.Skip("real-process test: skipped with -short")
	}
	begin := time.Now()
	phase := func(name string) { t.Logf("%6.1fs %s", time.Since(begin).Seconds(), name) }
	root := t.TempDir()
	srvData, dataA, dataB := filepath.Join(root, "server"), filepath.Join(root, "desk01"), filepath.Join(root, "desk02")
	addr := freeAddr(t)
	url := "https://" + addr

	srv, fp := startServer(t, "server", srvData, addr)
	phase("server started")

	// Administration through the server binary, while it serves.
	runBin(t, []string{"SPORTELLO_PASSWORD=password-di-prova"}, serverBin, "operator", "add", "-data", srvData,
		"-username", "mbianchi", "-name", "Maria Bianchi", "-role", "sportellista", "-office", "urp")
	codeA := strings.TrimSpace(runBin(t, nil, serverBin, "workstation", "add", "-data", srvData, "-code", "DESK01", "-name", "Sportello 1", "-kind", "desk"))
	codeB := strings.TrimSpace(runBin(t, nil, serverBin, "workstation", "add", "-data", srvData, "-code", "DESK02", "-name", "Sportello 2", "-kind", "desk"))
	runBin(t, nil, replicaBin, "enroll", "-data", dataA, "-server", url, "-pin", fp, "-code", codeA)
	runBin(t, nil, replicaBin, "enroll", "-data", dataB, "-server", url, "-pin", fp, "-code", codeB)
	phase("workstations enrolled")

	common := []string{"-interval", "200ms", "-pace", "15ms"}
	a := startProc(t, "replica A", replicaBin, nil, append([]string{"run", "-data", dataA, "-workload", "150", "-seed", "1"}, common...)...)
	b1 := startProc(t, "replica B", replicaBin, []string{"SPORTELLO_PASSWORD=password-di-prova"},
		append([]string{"run", "-data", dataB, "-workload", "150", "-seed", "2", "-operator", "mbianchi"}, common...)...)
	waitFor(t, "first operations", 30*time.Second, []*proc{a, b1, srv}, func() bool { return len(a.lines()) >= 20 && len(b1.lines()) >= 20 })

	// The server dies without warning while both replicas push and pull.
	srv.kill9(t)
	phase("server killed")
	time.Sleep(300 * time.Millisecond)
	srv, fp2 := startServer(t, "server (restarted)", srvData, addr)
	if fp2 != fp {
		t.Fatalf("certificate fingerprint changed across restarts: %s then %s", fp, fp2)
	}
	phase("server restarted")

	// Replica B dies without warning in the middle of its work and sync.
	nB := len(b1.lines())
	waitFor(t, "B working after the restart", 30*time.Second, []*proc{a, b1, srv}, func() bool { return len(b1.lines()) >= nB+20 })
	// A backup by another process while the server serves both replicas.
	backupOut := runBin(t, nil, serverBin, "backup", "-data", srvData, "-o", filepath.Join(root, "copia"))
	if !strings.Contains(backupOut, "integro, registro delle operazioni verificato") {
		t.Errorf("backup while serving: %s", backupOut)
	}
	// A second one, kept as it is: the server will be restored from it.
	midCopy := filepath.Join(root, "copia-meta-giornata")
	runBin(t, nil, serverBin, "backup", "-data", srvData, "-o", midCopy)
	phase("backup taken while serving")
	b1.kill9(t)
	phase("replica B killed")
	b2 := startProc(t, "replica B (restarted)", replicaBin, []string{"SPORTELLO_PASSWORD=password-di-prova"},
		append([]string{"run", "-data", dataB, "-workload", "60", "-seed", "3", "-operator", "mbianchi"}, common...)...)

	done := func(p *proc) bool {
		l := p.lines()
		return len(l) > 0 && strings.HasPrefix(l[len(l)-1], "done ")
	}
	waitFor(t, "end of the workloads", 60*time.Second, []*proc{a, b2, srv}, func() bool { return done(a) && done(b2) })
	phase("workloads finished")
	a.stop(t)
	b2.stop(t)
	phase("replicas stopped")

	// A final round: each replica pushes what is left and pulls the rest.
	for _, d := range []string{dataA, dataB, dataA} {
		runBin(t, nil, replicaBin, "run", "-data", d, "-once", "-timeout", "30s")
	}
	srv.stop(t)
	phase("final sync done, server stopped")

	stSrv, stA, stB := status(t, serverBin, srvData), status(t, replicaBin, dataA), status(t, replicaBin, dataB)
	// The same folder backed up again: only what is new travels, and the
	// copy is the server, table by table.
	runBin(t, nil, serverBin, "backup", "-data", srvData, "-o", filepath.Join(root, "copia"))
	for _, table := range replica.Diff(stSrv, status(t, serverBin, filepath.Join(root, "copia"))) {
		t.Errorf("table %s of the backup differs from the server", table)
	}
	for _, st := range []replica.Status{stA, stB} {
		if st.Pending != 0 || st.Rejected != 0 || !st.Enrolled {
			t.Errorf("%s: pending %d, rejected %d, enrolled %v", st.Workstation, st.Pending, st.Rejected, st.Enrolled)
		}
	}
	if stA.Workstation != "DESK01" || stB.Workstation != "DESK02" {
		t.Errorf("workstation codes %s, %s", stA.Workstation, stB.Workstation)
	}
	if len(stSrv.Tables) == 0 || len(stSrv.Tables) != len(stA.Tables) {
		t.Fatalf("tables: server %d, A %d", len(stSrv.Tables), len(stA.Tables))
	}
	for name, st := range map[string]replica.Status{"A": stA, "B": stB} {
		for _, table := range replica.Diff(stSrv, st) {
			t.Errorf("table %s of replica %s differs from the server: %+v vs %+v", table, name, st.Tables[table], stSrv.Tables[table])
		}
	}

	// Every operation a replica confirmed is on the server.
	confirmed := append(append(a.lines(), b1.lines()...), b2.lines()...)
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(srvData, replica.DBFile), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var regs int
	var lostTop int64
	err = db.Read(ctx, func(q store.Querier) error {
		regs = checkConfirmed(t, q, confirmed)
		registers, top, err := checkRegisters(t, q)
		if err != nil {
			return err
		}
		lostTop = top
		if registers > 1 {
			t.Errorf("numbers in %d registers (AOO/year): the test expects one", registers)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if regs < 5 || count(confirmed, "citizen") < 5 || count(confirmed, "application") < 5 {
		t.Errorf("workload too small to mean anything: %d registrations, %d citizens, %d applications", regs, count(confirmed, "citizen"), count(confirmed, "application"))
	}

	// The daily register of today lists the numbers given today, in order
	// and without gaps (all of them, unless the test straddled midnight).
	day, _ := protocol.LegalDate(time.Now())
	dayBegin, _ := protocol.LegalDate(begin)
	out := filepath.Join(root, "registro.csv")
	runBin(t, nil, serverBin, "protocol", "export", "-data", srvData, "-date", day, "-o", out)
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	sum, _ := os.ReadFile(out + ".sha256")
	if len(rows) < 2 || rows[0][0] != "numero" || !strings.HasSuffix(string(sum), "  registro.csv\n") {
		t.Fatalf("daily register: %d rows, digest file %q", len(rows), sum)
	}
	first, _ := strconv.Atoi(strings.Split(rows[1][0], "/")[0])
	for i, r := range rows[1:] {
		if n, _ := strconv.Atoi(strings.Split(r[0], "/")[0]); n != first+i || len(r[7]) != 64 {
			t.Errorf("daily register row %d: %v", i+1, r)
		}
	}
	if day == dayBegin && (first != 1 || len(rows)-1 != regs+countUnconfirmed(t, db, confirmed)) {
		t.Errorf("daily register of %s: %d rows from %d", day, len(rows)-1, first)
	}
	syncErrors := 0
	for _, p := range []*proc{a, b1, b2} {
		for _, l := range p.errLines() {
			if strings.Contains(l, "level=WARN") && strings.Contains(l, "msg=sync") {
				syncErrors++
			}
		}
	}
	t.Logf("replicas saw %d failed sync rounds while the server was down", syncErrors)

	// The server's disk is lost: it comes back from the backup taken in
	// the middle of the work. The replicas notice and rejoin: they push
	// again what it lost and give back the definitive numbers it had
	// given; the administrator resumes numbering after the last one the
	// daily register shows. Then the restored server holds what the lost
	// one held, table by table, and so do both replicas.
	srv, fp3 := startServer(t, "server (restored from the backup)", midCopy, addr)
	if fp3 != fp {
		t.Fatalf("the restored server has another certificate: %s, was %s", fp3, fp)
	}
	phase("server restored from the backup")
	for _, d := range []string{dataA, dataB, dataA, dataB} {
		runBin(t, nil, replicaBin, "run", "-data", d, "-once", "-timeout", "30s")
	}
	resumed := runBin(t, nil, serverBin, "protocol", "resume", "-data", midCopy, "-after", strconv.FormatInt(lostTop, 10))
	phase("workstations rejoined, numbering resumed: " + strings.TrimSpace(resumed))
	for _, d := range []string{dataA, dataB, dataA} {
		runBin(t, nil, replicaBin, "run", "-data", d, "-once", "-timeout", "30s")
	}
	srv.stop(t)
	stRestored := status(t, serverBin, midCopy)
	for name, st := range map[string]replica.Status{"A": status(t, replicaBin, dataA), "B": status(t, replicaBin, dataB), "the lost server": stSrv} {
		for _, table := range replica.Diff(stRestored, st) {
			t.Errorf("after the restore, table %s of %s differs from the restored server: %+v vs %+v", table, name, st.Tables[table], stRestored.Tables[table])
		}
		if st.Pending != 0 || st.Rejected != 0 {
			t.Errorf("after the restore, %s: pending %d, rejected %d", name, st.Pending, st.Rejected)
		}
	}
	phase("restored server and replicas identical to the lost server")
	t.Logf("confirmed: %d citizens, %d applications, %d registrations; %d tables identical on server and both replicas; %.1fs",
		count(confirmed, "citizen"), count(confirmed, "application"), regs, len(stSrv.Tables), time.Since(begin).Seconds())
}

// countUnconfirmed counts the registrations on the server that no replica
// confirmed (a replica killed between the commit and its output line).
func countUnconfirmed(t *testing.T, db *store.DB, confirmed []string) int {
	t.Helper()
	var total int
	if err := db.Read(context.Background(), func(q store.Querier) error {
		return q.QueryRow(`SELECT count(*) FROM protocol_registrations`).Scan(&total)
	}); err != nil {
		t.Fatal(err)
	}
	return total - count(confirmed, "registration")
}

// checkConfirmed checks that every operation a replica confirmed (its output
// lines) is on the server: citizens, complete applications, registrations
// with the emergency label the desk gave and a definitive number. It returns
// the number of confirmed registrations.
func checkConfirmed(t *testing.T, q store.Querier, confirmed []string) int {
	t.Helper()
	regs := 0
	for _, l := range confirmed {
		f := strings.Fields(l)
		switch {
		case len(f) == 2 && f[0] == "citizen":
			var n int
			if err := q.QueryRow(`SELECT count(*) FROM citizens WHERE id = ?`, f[1]).Scan(&n); err != nil || n != 1 {
				t.Errorf("confirmed %q: not on the server (%v)", l, err)
			}
		case len(f) == 2 && f[0] == "application":
			var state string
			if err := q.QueryRow(`SELECT state FROM applications WHERE id = ?`, f[1]).Scan(&state); err != nil || (state != "completa" && state != "protocollata") {
				t.Errorf("confirmed %q: on the server %q (%v)", l, state, err)
			}
		case len(f) == 3 && f[0] == "registration":
			regs++
			var register string
			var year, emNumber, number int64
			err := q.QueryRow(`SELECT r.emergency_register, r.year, COALESCE(r.emergency_number, 0), COALESCE(n.number, 0)
				FROM protocol_registrations r LEFT JOIN protocol_numbers n ON n.registration_id = r.id WHERE r.id = ?`, f[1]).Scan(&register, &year, &emNumber, &number)
			if err != nil {
				t.Errorf("confirmed %q: not on the server (%v)", l, err)
			} else if protocol.EmergencyLabel(register, int(year), emNumber) != f[2] || number == 0 {
				t.Errorf("confirmed %q: on the server %s, definitive number %d", l, protocol.EmergencyLabel(register, int(year), emNumber), number)
			}
		case len(f) == 2 && f[0] == "done":
		default:
			t.Errorf("unexpected output line %q", l)
		}
	}
	return regs
}

// checkRegisters checks the server's definitive numbers: one per
// registration, unique, and 1..n without gaps in each register (AOO and
// year). It returns how many registers there are and the highest number.
func checkRegisters(t *testing.T, q store.Querier) (registers int, top int64, err error) {
	t.Helper()
	var regCount, numCount int64
	if err := q.QueryRow(`SELECT count(*) FROM protocol_registrations`).Scan(&regCount); err != nil {
		return 0, 0, err
	}
	if err := q.QueryRow(`SELECT count(*) FROM protocol_numbers`).Scan(&numCount); err != nil {
		return 0, 0, err
	}
	if regCount != numCount {
		t.Errorf("protocol numbers: %d registrations, %d numbers", regCount, numCount)
	}
	var bad string
	err = q.QueryRow(`SELECT count(*), COALESCE(max(mx), 0),
		COALESCE(group_concat(CASE WHEN d <> n OR mn <> 1 OR mx <> n THEN printf('%s/%d: %d numbers (%d distinct) from %d to %d', aoo, year, n, d, mn, mx) END, '; '), '')
		FROM (SELECT aoo, year, count(*) AS n, count(DISTINCT number) AS d, min(number) AS mn, max(number) AS mx FROM protocol_numbers GROUP BY aoo, year)`).
		Scan(&registers, &top, &bad)
	if err != nil {
		return 0, 0, err
	}
	if bad != "" {
		t.Errorf("registers with duplicate or missing numbers: %s", bad)
	}
	return registers, top, nil
}
