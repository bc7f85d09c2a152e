package desk

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"sportello/internal/citizen"
	"sportello/store"
)

// TestCrashChild is the process that gets killed: it files applications in a
// loop and prints a line after every operation the desk confirmed.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv("SPORTELLO_CRASH_DIR")
	if dir == "" {
		t.Skip("run by TestKillDuringWrites")
	}
	ctx := context.Background()
	s, err := Open(ctx, dir, Options{}) // synchronous=FULL, as in production
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	say := func(format string, a ...any) { os.Stdout.WriteString(fmt.Sprintf(format, a...) + "\n") }
	must := func(err error) {
		if err != nil {
			say("ERR %v", err)
			os.Exit(3)
		}
	}
	seed := os.Getpid()
	for i := 0; ; i++ {
		c, err := s.SaveCitizen(ctx, desk1, citizen.Citizen{Surname: fmt.Sprintf("Crash%d", seed), Name: fmt.Sprintf("N%d", i)})
		must(err)
		say("citizen %s", c.ID)
		a, err := s.NewApplication(ctx, desk1, "cambio-residenza", c.ID, "")
		must(err)
		say("application %s", a.ID)
		must(s.SaveDraft(ctx, desk1, a.ID, map[string]string{"cf": "RSSMRA85T10A562S", "indirizzo": "Via Roma 1", "cap": "25080", "provenienza": "estero"}, nil))
		say("draft %s", a.ID)
		for k, typ := range []string{"documento_identita", "contratto"} {
			body := bytes.Repeat([]byte(fmt.Sprintf("%%PDF-1.4 %d %d %d\n", seed, i, k)), 2000)
			att, err := s.AddAttachment(ctx, desk1, a.ID, typ, typ+".pdf", bytes.NewReader(body), false)
			must(err)
			say("attachment %s %s", att.ID, att.SHA256)
		}
		p, err := s.MarkComplete(ctx, desk1, a.ID)
		must(err)
		if len(p) > 0 {
			say("ERR incomplete %v", p)
			os.Exit(4)
		}
		say("complete %s", a.ID)
		res, err := s.ProtocolApplication(ctx, desk1, a.ID)
		must(err)
		say("registration %s %s", res.Registration.ID, res.Label)
	}
}

// TestKillDuringWrites kills the writer with SIGKILL at random moments and
// checks, after each restart, that the database is intact, that everything
// confirmed to the operator is there with its sync record, and that no
// attachment file is half-written.
func TestKillDuringWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ImportCatalog(ctx, manager, testCatalog()); err != nil {
		t.Fatal(err)
	}
	s.Close()
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 7))
	t.Logf("seed %d", seed)
	confirmed := map[string][]string{}
	rounds := 8
	for round := 0; round < rounds; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "SPORTELLO_CRASH_DIR="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		delay := time.Duration(150+rng.IntN(600)) * time.Millisecond
		timer := time.AfterFunc(delay, func() { cmd.Process.Signal(syscall.SIGKILL) })
		sc := bufio.NewScanner(out)
		lines := 0
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) == 0 {
				continue
			}
			if f[0] == "ERR" {
				t.Fatalf("child failed: %s", sc.Text())
			}
			confirmed[f[0]] = append(confirmed[f[0]], strings.Join(f[1:], " "))
			lines++
		}
		timer.Stop()
		cmd.Wait()
		t.Logf("round %d: killed after %v, %d confirmations", round, delay, lines)
		verifyAfterCrash(t, dir, confirmed)
	}
	if len(confirmed["registration"]) == 0 {
		t.Fatal("no application reached the protocol: kill delays too short to test the whole path")
	}
}

func verifyAfterCrash(t *testing.T, dir string, confirmed map[string][]string) {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer s.Close()
	db := s.DB()
	if err := db.IntegrityCheck(ctx); err != nil {
		t.Fatal(err)
	}
	changed := map[string]bool{}
	for after := int64(0); ; {
		cs, err := db.ChangesAfter(ctx, after, 5000)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) == 0 {
			break
		}
		for _, c := range cs {
			changed[c.Table+"/"+c.RowID] = true
			after = c.Seq
		}
	}
	for _, id := range confirmed["citizen"] {
		if _, err := db.Citizen(ctx, id); err != nil || !changed["citizens/"+id] {
			t.Fatalf("confirmed citizen %s lost (sync record %v): %v", id, changed["citizens/"+id], err)
		}
	}
	for _, id := range confirmed["application"] {
		if _, err := db.Application(ctx, id); err != nil || !changed["applications/"+id] {
			t.Fatalf("confirmed application %s lost: %v", id, err)
		}
	}
	for _, line := range confirmed["attachment"] {
		var id, digest string
		fmt.Sscan(line, &id, &digest)
		if !changed["application_attachments/"+id] {
			t.Fatalf("confirmed attachment %s has no sync record", id)
		}
		if err := s.Blobs().Verify(ctx, digest); err != nil {
			t.Fatalf("confirmed attachment %s: %v", id, err)
		}
	}
	for _, line := range confirmed["registration"] {
		id := strings.Fields(line)[0]
		r, err := db.Registration(ctx, id)
		if err != nil || r.EmergencyLabel() != strings.Fields(line)[1] || !changed["protocol_registrations/"+id] {
			t.Fatalf("confirmed registration %s lost or changed: %v %+v", line, err, r)
		}
	}
	// No stored blob is half-written: every file under a digest name matches it.
	if err := s.Blobs().Walk(func(d string) error { return s.Blobs().Verify(ctx, d) }); err != nil {
		t.Fatalf("blob store after kill: %v", err)
	}
	if b, err := db.VerifyAudit(ctx); err != nil || b != nil {
		t.Fatalf("audit chain after kill: %v %v", b, err)
	}
	// Emergency numbers stay unique and without gaps.
	regs, err := db.Registrations(ctx, store.RegistrationFilter{Limit: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	for _, r := range regs {
		seen[r.EmergencyNumber] = true
	}
	for n := int64(1); n <= int64(len(regs)); n++ {
		if !seen[n] {
			t.Fatalf("emergency numbering has a gap at %d (%d registrations)", n, len(regs))
		}
	}
}
