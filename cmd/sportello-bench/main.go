// Command sportello-bench prints the benchmark figures of `make bench`.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"

	"sportello/internal/benchmark"
)

func main() {
	apps := flag.Int("apps", 100000, "applications to file in the application benchmark (0 = skip)")
	changes := flag.Int("changes", 100000, "changes to push and pull in the sync benchmark (0 = skip sync)")
	blobMiB := flag.Int64("blob-mib", 1024, "MiB of attachments to upload in the sync benchmark")
	snapRows := flag.Int("snapshot-rows", 1000000, "rows of the initial copy of a new workstation")
	citizens := flag.Int("citizens", 1000000, "citizens in the registry search benchmark (0 = skip)")
	startupApps := flag.Int("startup-apps", 100000, "applications in the replica of the startup benchmark")
	appBin := flag.String("app", "", "desktop binary for the startup benchmark (needs Xvfb; empty = skip)")
	pushProfile := flag.String("cpuprofile-push", "", "write the CPU profile of the push of the sync benchmark to this file (go tool pprof)")
	pullProfile := flag.String("cpuprofile-pull", "", "write the CPU profile of the pull of the sync benchmark to this file (go tool pprof)")
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
	if *citizens > 0 {
		res, err := benchmark.RunSearch(ctx, filepath.Join(work, "search"), *citizens, os.Stdout)
		if err != nil {
			slog.Error("search benchmark", "err", err)
			os.Exit(1)
		}
		res.Report(os.Stdout)
		fmt.Println()
	}
	if *appBin != "" {
		res, err := benchmark.RunStartup(ctx, filepath.Join(work, "startup"), *appBin, *startupApps, 5, os.Stdout)
		if err != nil {
			slog.Error("startup benchmark", "err", err)
			os.Exit(1)
		}
		res.Report(os.Stdout)
		fmt.Println()
	}
	if *changes > 0 {
		res, err := benchmark.RunSync(ctx, filepath.Join(work, "sync"), *changes, *blobMiB<<20, *snapRows, *pushProfile, *pullProfile, os.Stdout)
		if err != nil {
			slog.Error("sync benchmark", "err", err)
			os.Exit(1)
		}
		res.Report(os.Stdout)
		fmt.Println()
	}
	if *apps > 0 {
		res, err := benchmark.RunApplications(ctx, filepath.Join(work, "apps"), *apps, os.Stdout)
		if err != nil {
			slog.Error("application benchmark", "err", err)
			os.Exit(1)
		}
		res.Report(os.Stdout)
	}
}
