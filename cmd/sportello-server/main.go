// Command sportello-server is the central server: the hub replicas sync with
// and the home of the municipality's configuration.
//
//	sportello-server serve   [-data DIR] [-addr HOST:PORT]
//	sportello-server catalog import FILE [-data DIR]
//	sportello-server catalog export [-o FILE] [-data DIR]
//
// Environment: SPORTELLO_SERVER_DATA, SPORTELLO_SERVER_ADDR.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata"

	"sportello/internal/catalog"
	"sportello/internal/desk"
	"sportello/internal/server"
)

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func usage() {
	fmt.Fprintln(os.Stderr, `uso:
  sportello-server serve [-data DIR] [-addr HOST:PORT]
  sportello-server catalog import FILE [-data DIR]
  sportello-server catalog export [-o FILE] [-data DIR]`)
	os.Exit(2)
}

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if len(os.Args) < 2 {
		usage()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(ctx, log, os.Args[2:])
	case "catalog":
		err = catalogCmd(ctx, os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		log.Error("failed", "err", err)
		fmt.Fprintln(os.Stderr, desk.UserMessage(err))
		os.Exit(1)
	}
}

func serve(ctx context.Context, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	data := fs.String("data", env("SPORTELLO_SERVER_DATA", "sportello-server-data"), "data folder")
	addr := fs.String("addr", env("SPORTELLO_SERVER_ADDR", "127.0.0.1:8443"), "listen address")
	fs.Parse(args)
	svc, err := desk.Open(ctx, *data, desk.Options{})
	if err != nil {
		return err
	}
	defer svc.Close()
	return server.New(svc.DB(), log).Run(ctx, server.Config{Addr: *addr})
}

func catalogCmd(ctx context.Context, args []string) error {
	if len(args) < 1 {
		usage()
	}
	fs := flag.NewFlagSet("catalog", flag.ExitOnError)
	data := fs.String("data", env("SPORTELLO_SERVER_DATA", "sportello-server-data"), "data folder")
	out := fs.String("o", "", "output file (default standard output)")
	sub := args[0]
	rest := args[1:]
	var file string
	if sub == "import" {
		if len(rest) < 1 {
			usage()
		}
		file, rest = rest[0], rest[1:]
	}
	fs.Parse(rest)
	svc, err := desk.Open(ctx, *data, desk.Options{})
	if err != nil {
		return err
	}
	defer svc.Close()
	switch sub {
	case "import":
		f, err := os.Open(file)
		if err != nil {
			return fmt.Errorf("open catalog: %w", err)
		}
		defer f.Close()
		c, err := catalog.Decode(f)
		if err != nil {
			return &desk.Error{Message: "Il catalogo non è valido", Err: err}
		}
		if err := svc.ImportCatalog(ctx, desk.Session{OperatorID: "server-admin", Role: "responsabile"}, c); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "Catalogo importato: %d uffici, %d procedimenti\n", len(c.Offices), len(c.Procedures))
		return nil
	case "export":
		c, err := svc.Catalog(ctx)
		if err != nil {
			return err
		}
		var w io.Writer = os.Stdout
		if *out != "" {
			f, err := os.Create(*out)
			if err != nil {
				return fmt.Errorf("create %s: %w", *out, err)
			}
			defer f.Close()
			w = f
		}
		return catalog.Encode(w, c)
	}
	usage()
	return nil
}
