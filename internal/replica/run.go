package replica

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"sportello/internal/desk"
	"sportello/sync"
)

// Options configure Run.
type Options struct {
	DataDir  string
	Workload int           // random desk operations to perform (0: none)
	Operator string        // who performs them
	Password string        // the operator's password
	Seed     uint64        // of the workload's random choices
	Pace     time.Duration // pause between operations
	Interval time.Duration // sync interval when idle
	// Once makes Run return after the workload as soon as a sync round
	// succeeds with nothing left to push; without it Run syncs until ctx ends.
	Once        bool
	OnceTimeout time.Duration // how long Once keeps retrying; default 60 s
	Out         io.Writer     // the confirmed operations, one line each
	Log         *slog.Logger
}

// Run opens the replica in o.DataDir, starts the sync loop and performs the
// workload. Cancelling ctx stops it gracefully: the operation in progress is
// completed (and confirmed), the sync loop stops, the database is closed.
func Run(ctx context.Context, o Options) (err error) {
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.OnceTimeout <= 0 {
		o.OnceTimeout = time.Minute
	}
	if _, err := os.Stat(filepath.Join(o.DataDir, DBFile)); err != nil {
		return &desk.Error{Message: "Nessuna replica nella cartella " + o.DataDir + ": abilitare prima la postazione con «sportello-replica enroll»"}
	}
	svc, err := desk.Open(ctx, o.DataDir, desk.Options{})
	if err != nil {
		return err
	}
	defer func() {
		if cerr := svc.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("replica: close: %w", cerr)
		}
	}()
	cfg, err := sync.LoadConfig(ctx, svc.DB())
	if err != nil {
		return err
	}
	if cfg.URL == "" || cfg.Token == "" {
		return &desk.Error{Message: "Postazione non abilitata: eseguire prima «sportello-replica enroll»"}
	}
	cfg.Interval = o.Interval
	client := sync.NewClient(svc.DB(), svc.Blobs(), cfg)
	client.OnPulled(func(tables map[string]bool) {
		if tables["settings"] || tables["offices"] || tables["procedures"] {
			svc.InvalidateCatalog()
		}
	})
	lastErr := ""
	client.OnChange(func(s sync.State) {
		if s.LastError != lastErr {
			lastErr = s.LastError
			if s.LastError != "" {
				o.Log.Warn("sync", "err", s.LastError)
			} else {
				o.Log.Info("sync ok", "pending", s.Pending)
			}
		}
	})
	o.Log.Info("replica started", "workstation", svc.DB().WorkstationCode(), "server", cfg.URL, "workload", o.Workload)

	loopDone := make(chan struct{})
	stopLoop := func() {}
	if o.Once {
		close(loopDone)
	} else {
		lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		stopLoop = cancel
		go func() {
			defer close(loopDone)
			client.Run(lctx)
		}()
	}
	defer func() {
		stopLoop()
		<-loopDone
	}()

	if o.Workload > 0 {
		if err := runWorkload(ctx, svc, client, o); err != nil {
			return err
		}
	}
	if o.Once {
		return syncUntilClean(ctx, client, o)
	}
	<-ctx.Done()
	o.Log.Info("stopping")
	return nil
}

func runWorkload(ctx context.Context, svc *desk.Service, client *sync.Client, o Options) error {
	// Operations run on a context that the stop signal does not cancel: the
	// one in progress is completed and confirmed before stopping.
	opCtx := context.WithoutCancel(ctx)
	sess, err := svc.Login(opCtx, o.Operator, o.Password)
	if err != nil {
		return err
	}
	seed := o.Seed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	w := NewWorkload(svc, sess, seed, o.Out)
	done := 0
	for done < o.Workload && ctx.Err() == nil {
		if err := w.Step(opCtx); err != nil {
			return fmt.Errorf("replica: workload operation %d: %w", done+1, err)
		}
		done++
		client.Trigger()
		if o.Pace > 0 {
			t := time.NewTimer(o.Pace)
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			t.Stop()
		}
	}
	o.Log.Info("workload finished", "operations", done)
	if done == o.Workload {
		_, err = fmt.Fprintf(o.Out, "done %d\n", done)
	}
	return err
}

// syncUntilClean repeats sync rounds until one succeeds with nothing left to
// push, or the timeout expires.
func syncUntilClean(ctx context.Context, client *sync.Client, o Options) error {
	ctx, cancel := context.WithTimeout(ctx, o.OnceTimeout)
	defer cancel()
	wait := 200 * time.Millisecond
	for {
		err := client.SyncOnce(ctx)
		if err == nil && client.State().Pending == 0 {
			return nil
		}
		if err == nil {
			err = fmt.Errorf("%d changes still pending", client.State().Pending)
		}
		o.Log.Warn("sync round failed, retrying", "err", err, "wait", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return &desk.Error{Message: fmt.Sprintf("Sincronizzazione non completata entro %s", o.OnceTimeout), Err: err}
			}
			return ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, 2*time.Second)
	}
}
