package main

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	gosync "sync"

	"sportello/internal/desk"
	"sportello/sync"
)

// notifier is what the session tells the interface (ui.UI).
type notifier interface {
	NotifySync(sync.State)
	NotifyCatalogChanged()
	NotifyDataChanged(tables map[string]bool)
}

// session is the restartable part of the application: the desk service
// over the replica in dir and, once the workstation is enrolled, the sync
// client that keeps it in step with the server. Enrolment replaces the
// replica, so it stops the client, closes the service, installs the
// server's copy, reopens the service and starts a new client.
type session struct {
	dir  string
	opts desk.Options

	mu       gosync.Mutex
	svc      *desk.Service
	client   *sync.Client
	cfg      sync.Config
	stop     context.CancelFunc
	done     chan struct{}
	online   bool
	notify   notifier
	bg       gosync.WaitGroup // work started by the client's callbacks
	enrolMu  gosync.Mutex     // one enrolment at a time
	restored func()           // tests: called after RestoreService
}

// openSession opens the replica in dir. Sync starts with startSync.
func openSession(ctx context.Context, dir string, opts desk.Options) (*session, error) {
	svc, err := desk.Open(ctx, dir, opts)
	if err != nil {
		return nil, err
	}
	return &session{dir: dir, opts: opts, svc: svc}, nil
}

// Service is the desk service in use now.
func (s *session) Service() *desk.Service {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.svc
}

// setNotifier sets who hears about sync (before startSync).
func (s *session) setNotifier(n notifier) {
	s.mu.Lock()
	s.notify = n
	s.mu.Unlock()
}

// startSync starts the sync client when the replica is enrolled with a
// server (sync.LoadConfig has a URL); otherwise the workstation works alone.
func (s *session) startSync(ctx context.Context) error {
	s.mu.Lock()
	svc := s.svc
	s.mu.Unlock()
	cfg, err := sync.LoadConfig(ctx, svc.DB())
	if err != nil {
		return err
	}
	if cfg.URL == "" {
		s.mu.Lock()
		s.cfg = cfg
		s.mu.Unlock()
		return nil
	}
	c := sync.NewClient(svc.DB(), svc.Blobs(), cfg)
	svc.SetConnector(c)
	c.OnChange(func(st sync.State) { s.changed(svc, c, st) })
	c.OnPulled(func(tables map[string]bool) {
		if n := s.notifier(); n != nil {
			n.NotifyDataChanged(tables)
		}
		if tables["settings"] || tables["offices"] || tables["procedures"] {
			svc.InvalidateCatalog()
			if n := s.notifier(); n != nil {
				n.NotifyCatalogChanged()
			}
		}
	})
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	s.mu.Lock()
	s.client, s.cfg, s.stop, s.done, s.online = c, cfg, cancel, done, false
	s.mu.Unlock()
	go func() {
		defer close(done)
		c.Run(runCtx)
	}()
	slog.Info("sync started", "server", cfg.URL)
	if n := s.notifier(); n != nil {
		n.NotifySync(c.State())
	}
	return nil
}

func (s *session) notifier() notifier {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.notify
}

// changed runs on the sync goroutine at every state change: the status bar
// is updated and, when the server answers again, the emergency period of
// this workstation is closed (art. 63: the restoration is recorded).
func (s *session) changed(svc *desk.Service, c *sync.Client, st sync.State) {
	s.mu.Lock()
	if s.client != c {
		s.mu.Unlock()
		return // a client already stopped
	}
	back := st.Online && st.LastError == "" && !s.online
	s.online = st.Online && st.LastError == ""
	n, restored := s.notify, s.restored
	if back {
		s.bg.Add(1)
	}
	s.mu.Unlock()
	if back {
		go func() {
			defer s.bg.Done()
			if err := svc.RestoreService(context.Background()); err != nil {
				slog.Error("restore protocol service", "err", err)
			} else {
				c.Trigger() // send the end of the interruption
			}
			if restored != nil {
				restored()
			}
		}()
	}
	if n != nil {
		n.NotifySync(st)
	}
}

// stopSync stops the client and waits for its goroutines.
func (s *session) stopSync() {
	s.mu.Lock()
	stop, done, svc := s.stop, s.done, s.svc
	s.client, s.stop, s.done, s.online = nil, nil, nil, false
	s.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
	s.bg.Wait()
	svc.SetConnector(nil)
}

// State is the sync state for the interface (ui.SyncControl).
func (s *session) State() sync.State {
	s.mu.Lock()
	c := s.client
	s.mu.Unlock()
	if c == nil {
		return sync.State{}
	}
	return c.State()
}

// SyncNow pushes and pulls now (ui.SyncControl).
func (s *session) SyncNow(ctx context.Context) error {
	s.mu.Lock()
	c := s.client
	s.mu.Unlock()
	if c == nil {
		return errors.New("sportello: workstation not enrolled")
	}
	return c.SyncNow(ctx)
}

// DismissRejected takes refused changes off the list (ui.SyncControl).
func (s *session) DismissRejected(ctx context.Context, n int) error {
	s.mu.Lock()
	c := s.client
	s.mu.Unlock()
	if c == nil {
		return nil
	}
	return c.DismissRejected(ctx, n)
}

// Server is the address and certificate fingerprint in use (ui.SyncControl).
func (s *session) Server() (string, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client != nil {
		// The certificate the server announced and then presented is
		// pinned in place of the enrolment's (sync.Client.Pin).
		return s.cfg.URL, s.client.Pin()
	}
	return s.cfg.URL, s.cfg.Pin
}

// Enrol exchanges an enrolment code for the server's copy of the data
// (ui.Options.Enrol). The service in use is closed first and a new one is
// returned; when enrolment fails the replica is left as it was and
// reopened. A nil service means even reopening failed.
func (s *session) Enrol(ctx context.Context, url, pin, code string) (*desk.Service, error) {
	s.enrolMu.Lock()
	defer s.enrolMu.Unlock()
	s.stopSync()
	s.mu.Lock()
	old := s.svc
	s.mu.Unlock()
	if err := old.Close(); err != nil {
		slog.Error("close replica before enrolment", "err", err)
	}
	_, err := sync.Enroll(ctx, filepath.Join(s.dir, "sportello.db"), url, pin, code, nil)
	if err != nil {
		slog.Warn("enrolment failed", "server", url, "err", err)
	} else {
		slog.Info("workstation enrolled", "server", url)
	}
	svc, oerr := desk.Open(context.Background(), s.dir, s.opts)
	if oerr != nil {
		slog.Error("reopen replica", "err", oerr)
		return nil, errors.Join(err, oerr)
	}
	s.mu.Lock()
	s.svc = svc
	s.mu.Unlock()
	if serr := s.startSync(context.Background()); serr != nil {
		slog.Error("start sync", "err", serr)
	}
	return svc, err
}

// Close stops sync and closes the replica.
func (s *session) Close() error {
	s.stopSync()
	return s.Service().Close()
}
