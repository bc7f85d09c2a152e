package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sportello/internal/catalog"
	"sportello/internal/replica"
)

// TestAProcedureMadeConfidentialLeavesTheDesks runs the administrator's
// way with the real binaries while the server serves: a desk files and
// protocols applications of a procedure; the catalog is exported, the
// procedure marked confidential, the catalog imported, and its
// applications reclassified. After a sync the desk holds none of them and
// the interview room holds the same data as the server.
func TestAProcedureMadeConfidentialLeavesTheDesks(t *testing.T) {
	if testing.Short() {
		t.Skip("real-process test: skipped with -short")
	}
	root := t.TempDir()
	srvData, deskData, roomData := filepath.Join(root, "server"), filepath.Join(root, "desk01"), filepath.Join(root, "coll01")
	addr := freeAddr(t)
	url := "https://" + addr
	srv, fp := startServer(t, "server", srvData, addr)
	defer srv.stop(t)
	codeD := strings.TrimSpace(runBin(t, nil, serverBin, "workstation", "add", "-data", srvData, "-code", "DESK01", "-name", "Sportello 1", "-kind", "desk"))
	codeR := strings.TrimSpace(runBin(t, nil, serverBin, "workstation", "add", "-data", srvData, "-code", "COLL01", "-name", "Colloqui 1", "-kind", "interview", "-confidential"))
	runBin(t, nil, replicaBin, "enroll", "-data", deskData, "-server", url, "-pin", fp, "-code", codeD)
	runBin(t, nil, replicaBin, "enroll", "-data", roomData, "-server", url, "-pin", fp, "-code", codeR)
	runBin(t, nil, replicaBin, "run", "-data", deskData, "-once", "-timeout", "60s", "-workload", "60", "-seed", "7")
	runBin(t, nil, replicaBin, "run", "-data", roomData, "-once", "-timeout", "60s")
	before := status(t, replicaBin, deskData)
	if before.Tables["applications"].Rows == 0 || before.Tables["protocol_registrations"].Rows == 0 {
		t.Fatalf("the workload filed or protocolled nothing: %+v", before.Tables)
	}

	file := filepath.Join(root, "catalogo.json")
	runBin(t, nil, serverBin, "catalog", "export", "-data", srvData, "-o", file)
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
		if cat.Procedures[i].ID == replica.WorkloadProcedure {
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
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	runBin(t, nil, serverBin, "catalog", "import", file, "-data", srvData)
	var res struct {
		Procedure    string   `json:"procedure"`
		Reclassified []string `json:"reclassified"`
	}
	if err := json.Unmarshal([]byte(runBin(t, nil, serverBin, "catalog", "reclassify", "-data", srvData, "-procedure", replica.WorkloadProcedure,
		"-reason", "dati sanitari", "-json")), &res); err != nil || len(res.Reclassified) != before.Tables["applications"].Rows {
		t.Errorf("catalog reclassify: %d applications (%v), want %d", len(res.Reclassified), err, before.Tables["applications"].Rows)
	}

	for _, d := range []string{deskData, roomData} {
		runBin(t, nil, replicaBin, "run", "-data", d, "-once", "-timeout", "60s")
	}
	stSrv, stDesk, stRoom := status(t, serverBin, srvData), status(t, replicaBin, deskData), status(t, replicaBin, roomData)
	for _, table := range []string{"applications", "application_history", "protocol_registrations", "protocol_numbers"} {
		if n := stDesk.Tables[table].Rows; n != 0 {
			t.Errorf("the desk still holds %d rows of %s", n, table)
		}
	}
	if stDesk.Tables["reclassifications"].Rows != before.Tables["applications"].Rows {
		t.Errorf("the desk holds %d reclassifications, want %d", stDesk.Tables["reclassifications"].Rows, before.Tables["applications"].Rows)
	}
	if stDesk.Pending != 0 || stDesk.Rejected != 0 {
		t.Errorf("the desk: %d pending, %d refused", stDesk.Pending, stDesk.Rejected)
	}
	for _, table := range replica.Diff(stSrv, stRoom) {
		t.Errorf("table %s of the interview room differs from the server", table)
	}
	if stDesk.Tables["citizens"] != stSrv.Tables["citizens"] {
		t.Errorf("the desk's citizens %+v, the server's %+v", stDesk.Tables["citizens"], stSrv.Tables["citizens"])
	}
}
