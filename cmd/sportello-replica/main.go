// Command sportello-replica is a headless replica for automation and tests.
//
//	sportello-replica enroll -data DIR -server URL -pin HEX -code CODE
//	sportello-replica run    -data DIR [-workload N] [-operator U] [-password P] [-interval D] [-pace D] [-seed N] [-once]
//	sportello-replica status -data DIR
//
// run prints one line per confirmed operation ("citizen <id>", "application
// <id>", "registration <id> <label>") and "done <n>" when the workload is
// over; it keeps syncing until SIGINT/SIGTERM, or with -once returns after
// a clean sync round. status prints JSON: workstation, pending changes, pull
// cursor and the checksum of every replicated table.
//
// Environment: SPORTELLO_REPLICA_DATA, SPORTELLO_PASSWORD.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sportello/internal/cli"
	"syscall"
	"time"
	_ "time/tzdata"

	"sportello/internal/desk"
	"sportello/internal/replica"
	"sportello/sync"
)

const usageText = `uso:
  sportello-replica enroll -data DIR -server URL -pin IMPRONTA -code CODICE
  sportello-replica run    -data DIR [-workload N] [-operator UTENTE] [-password P] [-interval 1s] [-pace 0s] [-seed N] [-once]
  sportello-replica status -data DIR`

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usageText)
		os.Exit(2)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "enroll":
		err = enroll(ctx, os.Args[2:])
	case "run":
		err = run(ctx, log, os.Args[2:])
	case "status":
		err = status(ctx, os.Args[2:])
	case "help", "-h", "-help", "--help":
		fmt.Fprintln(os.Stdout, usageText)
		return
	default:
		err = cli.Usagef("comando sconosciuto «%s»", os.Args[1])
	}
	cli.Exit(err, usageText, log)
}

func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cli.UsageError{}
		}
		return cli.UsageError{Msg: "opzione non valida: " + err.Error()}
	}
	if fs.NArg() > 0 {
		return cli.Usagef("argomento inatteso «%s»", fs.Arg(0))
	}
	return nil
}

func dataFlag(fs *flag.FlagSet) *string {
	return fs.String("data", env("SPORTELLO_REPLICA_DATA", ""), "replica data folder")
}

func enroll(ctx context.Context, args []string) error {
	fs := newFlags("enroll")
	data := dataFlag(fs)
	server := fs.String("server", "", "server URL, https://host:port")
	pin := fs.String("pin", "", "SHA-256 fingerprint of the server certificate (hex)")
	code := fs.String("code", "", "one-time enrolment code")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *data == "" || *server == "" || *code == "" {
		return cli.UsageError{Msg: "indicare -data, -server e -code"}
	}
	ws, err := replica.Enroll(ctx, *data, *server, *pin, *code)
	var se *sync.ServerError
	switch {
	case errors.As(err, &se) && se.Body.Message != "":
		return &desk.Error{Message: "Abilitazione della postazione non riuscita: " + se.Body.Message}
	case err != nil:
		return &desk.Error{Message: "Abilitazione della postazione non riuscita (server non raggiungibile o impronta del certificato diversa da quella indicata)", Err: err}
	}
	fmt.Fprintf(os.Stderr, "Postazione %s abilitata: copia iniziale dei dati installata in %s\n", ws, *data)
	return nil
}

func run(ctx context.Context, log *slog.Logger, args []string) error {
	fs := newFlags("run")
	data := dataFlag(fs)
	o := replica.Options{Out: os.Stdout, Log: log}
	fs.IntVar(&o.Workload, "workload", 0, "random desk operations to perform")
	fs.StringVar(&o.Operator, "operator", "sportello", "operator performing the workload")
	fs.StringVar(&o.Password, "password", env("SPORTELLO_PASSWORD", desk.DemoPassword), "operator password")
	fs.Uint64Var(&o.Seed, "seed", 0, "seed of the workload's random choices (0: from the clock)")
	fs.DurationVar(&o.Pace, "pace", 0, "pause between workload operations")
	fs.DurationVar(&o.Interval, "interval", time.Second, "sync interval when idle")
	fs.BoolVar(&o.Once, "once", false, "return after the workload and one clean sync round")
	fs.DurationVar(&o.OnceTimeout, "timeout", time.Minute, "with -once: how long to keep retrying")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *data == "" {
		return cli.UsageError{Msg: "indicare -data"}
	}
	if o.Workload < 0 {
		return cli.UsageError{Msg: "-workload non può essere negativo"}
	}
	o.DataDir = *data
	return replica.Run(ctx, o)
}

func status(ctx context.Context, args []string) error {
	fs := newFlags("status")
	data := dataFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *data == "" {
		return cli.UsageError{Msg: "indicare -data"}
	}
	return replica.WriteStatus(ctx, os.Stdout, *data, "Nessuna replica nella cartella")
}
