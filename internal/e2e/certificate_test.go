package e2e

import (
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sportello/internal/replica"
	"sportello/store"
	"sportello/sync"
)

var nextFingerprintRE = regexp.MustCompile(`Impronta del nuovo certificato: ([0-9a-f]{64})`)

// TestTheServerCertificateIsReplacedWithoutEnrollingAgain replaces the
// server's self-signed certificate with the real binaries: the
// administrator prepares the next one, the server announces it, the switch
// waits for the workstation that has not received it, and after the
// restart both workstations sync with the new certificate, pinned in place
// of the old one, with no new enrolment.
func TestTheServerCertificateIsReplacedWithoutEnrollingAgain(t *testing.T) {
	if testing.Short() {
		t.Skip("real-process test: skipped with -short")
	}
	root := t.TempDir()
	srvData, dataA, dataB := filepath.Join(root, "server"), filepath.Join(root, "desk01"), filepath.Join(root, "desk02")
	addr := freeAddr(t)
	url := "https://" + addr
	srv, fp := startServer(t, "server", srvData, addr)
	codeA := strings.TrimSpace(runBin(t, nil, serverBin, "workstation", "add", "-data", srvData, "-code", "DESK01", "-name", "Sportello 1", "-kind", "desk"))
	codeB := strings.TrimSpace(runBin(t, nil, serverBin, "workstation", "add", "-data", srvData, "-code", "DESK02", "-name", "Sportello 2", "-kind", "desk"))
	runBin(t, nil, replicaBin, "enroll", "-data", dataA, "-server", url, "-pin", fp, "-code", codeA)
	runBin(t, nil, replicaBin, "enroll", "-data", dataB, "-server", url, "-pin", fp, "-code", codeB)
	once := func(data string) { runBin(t, nil, replicaBin, "run", "-data", data, "-once", "-timeout", "30s") }
	once(dataA)
	once(dataB)

	// Prepared while the server runs; announced by it (here from its
	// restart, which is quicker than its periodic look).
	out := runBin(t, nil, serverBin, "certificate", "next", "-data", srvData)
	m := nextFingerprintRE.FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "Non lo hanno ancora: DESK01, DESK02") {
		t.Fatalf("certificate next:\n%s", out)
	}
	next := m[1]
	srv.stop(t)
	srv, fp2 := startServer(t, "server (announcing)", srvData, addr)
	if fp2 != fp {
		t.Fatalf("the server presents %s before the switch, want %s", fp2, fp)
	}
	once(dataA)

	// DESK02 has not synced since: the switch waits for it.
	cmd := exec.Command(serverBin, "certificate", "switch", "-data", srvData)
	if b, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(b), "Non hanno ancora ricevuto il nuovo certificato: DESK02") {
		t.Fatalf("switch with DESK02 lacking the certificate: %v\n%s", err, b)
	}
	once(dataB)
	out = runBin(t, nil, serverBin, "certificate", "switch", "-data", srvData)
	if !strings.Contains(out, "riavviare il server") || !strings.Contains(out, next) {
		t.Fatalf("certificate switch:\n%s", out)
	}
	once(dataA) // still the old certificate until the restart
	srv.stop(t)
	srv, fp3 := startServer(t, "server (new certificate)", srvData, addr)
	if fp3 != next {
		t.Fatalf("after the switch the server presents %s, want %s", fp3, next)
	}
	for _, d := range []string{dataA, dataB, dataA} {
		once(d)
	}
	srv.stop(t)
	// A certificate file the municipality obtained: which workstations
	// hold it (none: it was never announced).
	out = runBin(t, nil, serverBin, "certificate", "next", "-data", srvData, "-tls-next-cert", filepath.Join(srvData, "server-previous.crt"))
	if !strings.Contains(out, "Impronta del nuovo certificato: "+fp) || !strings.Contains(out, "Non lo hanno ancora: DESK01, DESK02") {
		t.Fatalf("certificate next -tls-next-cert:\n%s", out)
	}

	ctx := context.Background()
	stSrv := status(t, serverBin, srvData)
	for _, d := range []string{dataA, dataB} {
		st := status(t, replicaBin, d)
		for _, table := range replica.Diff(stSrv, st) {
			t.Errorf("table %s of %s differs from the server", table, st.Workstation)
		}
		db, err := store.Open(ctx, filepath.Join(d, replica.DBFile), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		pin, err := db.Meta(ctx, sync.MetaPin)
		if err == nil {
			var held string
			if held, err = db.Meta(ctx, sync.MetaPinNext); err == nil && (pin != next || held != "") {
				t.Errorf("%s pins %s (next %q), want %s", st.Workstation, pin, held, next)
			}
		}
		if cerr := db.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}
