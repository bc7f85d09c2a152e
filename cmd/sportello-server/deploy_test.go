package main

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestTheSystemdUnitStartsTheServer reads deploy/sportello-server.service
// and deploy/server.env as systemd would (EnvironmentFile, then ${VAR}
// words of ExecStart each one argument) and checks that `serve` accepts the
// command line with those settings: a flag renamed or an environment
// variable dropped breaks the deployment, and this test with it.
func TestTheSystemdUnitStartsTheServer(t *testing.T) {
	root := filepath.Join("..", "..", "deploy")
	envFile, err := os.Open(filepath.Join(root, "server.env"))
	if err != nil {
		t.Fatal(err)
	}
	defer envFile.Close()
	vars := map[string]string{}
	sc := bufio.NewScanner(envFile)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || !strings.HasPrefix(k, "SPORTELLO_") {
			t.Fatalf("server.env: %q is not a SPORTELLO_ setting", line)
		}
		vars[k] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for k, v := range vars {
		t.Setenv(k, v)
	}

	unit, err := os.ReadFile(filepath.Join(root, "sportello-server.service"))
	if err != nil {
		t.Fatal(err)
	}
	var exec []string
	for _, line := range strings.Split(string(unit), "\n") {
		if cmd, ok := strings.CutPrefix(line, "ExecStart="); ok {
			exec = strings.Fields(cmd)
		}
	}
	if len(exec) < 2 || filepath.Base(exec[0]) != "sportello-server" || exec[1] != "serve" {
		t.Fatalf("ExecStart: %q", exec)
	}
	word := regexp.MustCompile(`^\$\{(\w+)\}$`)
	args := exec[2:]
	for i, a := range args {
		if m := word.FindStringSubmatch(a); m != nil {
			v, ok := vars[m[1]]
			if !ok {
				t.Fatalf("ExecStart uses ${%s}, which server.env does not set", m[1])
			}
			args[i] = v
		}
	}
	o, err := parseServe(args)
	if err != nil {
		t.Fatalf("serve %q: %v", args, err)
	}
	if o.data != "/var/lib/sportello" || o.addr != "0.0.0.0:8443" || len(o.hosts) != 2 || o.setup.AOOName != "Comune di Esempio" ||
		o.setup.AOOCode == "" || !o.setup.NoDemo || o.backupDir == "" || o.backupEvery != time.Hour || o.setup.SMTP.Port != "587" {
		t.Fatalf("serve with the unit's settings: %+v", o)
	}
	// The unit lets the server write its data folder (StateDirectory) and
	// the backups, and gives it the time to finish requests at stop.
	for _, want := range []string{"StateDirectory=sportello", "ReadWritePaths=-" + filepath.Dir(o.backupDir), "KillSignal=SIGTERM", "User=sportello"} {
		if !strings.Contains(string(unit), want+"\n") {
			t.Errorf("the unit lacks %s", want)
		}
	}
	stop := regexp.MustCompile(`TimeoutStopSec=(\d+)\n`).FindStringSubmatch(string(unit))
	if stop == nil {
		t.Fatal("the unit has no TimeoutStopSec")
	}
	if secs, err := strconv.Atoi(stop[1]); err != nil || time.Duration(secs)*time.Second <= o.shutdown {
		t.Errorf("TimeoutStopSec=%s: it must exceed the shutdown timeout (%s)", stop[1], o.shutdown)
	}
}
