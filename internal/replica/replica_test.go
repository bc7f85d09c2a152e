package replica

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"sportello/internal/desk"
	"sportello/internal/server"
	"sportello/store"
)

// syncBuffer is a bytes.Buffer safe for the server goroutine and the test.
type syncBuffer struct {
	ch  chan struct{}
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.ch <- struct{}{}
	defer func() { <-b.ch }()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.ch <- struct{}{}
	defer func() { <-b.ch }()
	return b.buf.String()
}

func TestEnrollWorkloadOnceAndStatus(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srvDir := t.TempDir()
	svc, err := desk.Open(ctx, srvDir, desk.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if _, err := server.Initialize(ctx, svc, server.Setup{}); err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(svc.DB(), svc.Blobs(), srvDir, quiet)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	out := &syncBuffer{ch: make(chan struct{}, 1)}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln, server.Config{DataDir: srvDir, Out: out}) }()
	var pin string
	re := regexp.MustCompile(`postazioni: ([0-9a-f]{64})`)
	for deadline := time.Now().Add(5 * time.Second); pin == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			pin = m[1]
		}
	}
	_, code, err := server.CreateWorkstation(ctx, svc.DB(), "DESK07", "Sportello 7", "desk", false)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	url := "https://" + ln.Addr().String()
	if _, err := Enroll(ctx, dir, url, strings.Repeat("0", 64), code); err == nil {
		t.Fatal("enrolled with a wrong pin")
	}
	ws, err := Enroll(ctx, dir, url, pin, code)
	if err != nil || ws != "DESK07" {
		t.Fatalf("enroll: %q %v", ws, err)
	}

	var lines bytes.Buffer
	if err := Run(ctx, Options{DataDir: dir, Workload: 25, Operator: "sportello", Password: desk.DemoPassword, Seed: 9, Once: true, Out: &lines, Log: quiet}); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	sc := bufio.NewScanner(&lines)
	var last string
	for sc.Scan() {
		last = sc.Text()
		kinds[strings.Fields(last)[0]]++
	}
	if last != "done 25" || kinds["citizen"]+kinds["application"]+kinds["registration"] != 25 || kinds["registration"] == 0 {
		t.Fatalf("workload output: %v, last %q", kinds, last)
	}

	db, err := store.Open(ctx, filepath.Join(dir, DBFile), store.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := ReadStatus(ctx, db)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	srvSt, err := ReadStatus(ctx, svc.DB())
	if err != nil {
		t.Fatal(err)
	}
	if !st.Enrolled || st.Pending != 0 || st.Rejected != 0 || st.PullCursor == 0 || st.Workstation != "DESK07" {
		t.Fatalf("replica status %+v", st)
	}
	if srvSt.Enrolled || srvSt.Pending != 0 {
		t.Fatalf("server status %+v", srvSt)
	}
	if d := Diff(st, srvSt); len(d) > 0 {
		t.Fatalf("replica and server differ in %v", d)
	}
	if st.Tables["protocol_numbers"].Rows != kinds["registration"] {
		t.Fatalf("%d numbers for %d registrations", st.Tables["protocol_numbers"].Rows, kinds["registration"])
	}

	// Without enrolment the replica refuses to run, in Italian.
	if err := Run(ctx, Options{DataDir: t.TempDir()}); err == nil || !strings.Contains(desk.UserMessage(err), "enroll") {
		t.Fatalf("run without enrolment: %v", err)
	}
	cancel()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
}
