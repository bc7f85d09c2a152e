// Command sportello-bench prints the benchmark figures of `make bench`.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime"

	"sportello/internal/benchmark"
)

func main() {
	apps := flag.Int("apps", 100000, "applications to file in the application benchmark")
	dir := flag.String("dir", "", "working folder (default: a temporary folder, removed at the end)")
	flag.Parse()
	ctx := context.Background()
	work := *dir
	if work == "" {
		d, err := os.MkdirTemp("", "sportello-bench-")
		if err != nil {
			slog.Error("temporary folder", "err", err)
			os.Exit(1)
		}
		defer os.RemoveAll(d)
		work = d
	}
	fmt.Printf("Sportello benchmark — %s/%s, %d core, %s\n\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	res, err := benchmark.RunApplications(ctx, work, *apps, os.Stdout)
	if err != nil {
		slog.Error("application benchmark", "err", err)
		os.Exit(1)
	}
	res.Report(os.Stdout)
}
