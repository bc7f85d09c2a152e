// Package server is the central server's HTTPS side: the health endpoint and
// the sync endpoints (enrolment, push, pull, blobs, snapshot) over the
// server's own replica, served only over TLS with a self-signed certificate
// whose fingerprint the workstations pin. It also holds the server's
// administrative operations used by cmd/sportello-server.
package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"sportello/store"
	"sportello/sync"
)

// Config is the server's configuration.
type Config struct {
	Addr            string        // listen address, e.g. "127.0.0.1:8443"
	ShutdownTimeout time.Duration // how long in-flight requests may take at shutdown
	DataDir         string        // where the self-signed certificate is kept
	TLSCert         string        // certificate file (PEM) to use instead of the self-signed one
	TLSKey          string        // its key file (PEM)
	Hosts           []string      // extra names/addresses of a new self-signed certificate
	Out             io.Writer     // where the fingerprint line for people goes; default os.Stderr
	// TLSNextCert is a certificate file (PEM) to announce as the next
	// one instead of the one `certificate next` prepared in DataDir.
	TLSNextCert string
	// BackupDir, when set, receives a backup (Backup) at start and then
	// every BackupEvery (default one hour) while the server runs.
	BackupDir   string
	BackupEvery time.Duration
}

// Server serves one store.
type Server struct {
	db   *store.DB
	log  *slog.Logger
	mux  *http.ServeMux
	sync *sync.Server
}

// New returns a server over db with the sync endpoints mounted. blobs is the
// server's attachment store; dataDir keeps partial uploads across restarts.
func New(db *store.DB, blobs *store.Blobs, dataDir string, log *slog.Logger) (*Server, error) {
	s := &Server{db: db, log: log, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /healthz", s.health)
	ss, err := sync.NewServer(db, blobs, dataDir, log)
	if err != nil {
		return nil, err
	}
	ss.Register(s.mux)
	s.sync = ss
	return s, nil
}

// Handler is the HTTP handler with request logging.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		s.mux.ServeHTTP(rec, r)
		s.log.Info("request", "method", r.Method, "path", r.URL.Path, "status", rec.status, "duration_ms", time.Since(start).Milliseconds(), "remote", r.RemoteAddr)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Flush lets streaming handlers flush through the recorder.
func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController access to the underlying writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	body, err := s.healthBody(r.Context())
	if err != nil {
		s.log.Error("health", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		json.NewEncoder(w).Encode(map[string]any{"status": "error", "error": "database unavailable"})
		return
	}
	json.NewEncoder(w).Encode(body)
}

// healthBody is what /healthz reports: the schema version and, after a
// restore from a backup, what the administrator watches before and after
// resuming numbering.
func (s *Server) healthBody(ctx context.Context) (map[string]any, error) {
	v, err := s.db.Version(ctx)
	if err != nil {
		return nil, err
	}
	held, err := s.db.NumberingHeld(ctx)
	if err != nil {
		return nil, err
	}
	body := map[string]any{"status": "ok", "schema_version": v}
	if held {
		// A restored backup: serving, but giving no definitive numbers
		// until `protocol resume` (monitoring should say so), with the
		// changes still waiting for what other workstations push again.
		body["protocol_numbering_held"] = true
		parked, err := s.db.ParkedCount(ctx)
		if err != nil {
			return nil, err
		}
		body["parked_changes"] = parked
	}
	// After the resume: numbers workstations gave back for registrations
	// that have not reached the server yet.
	reserved, err := s.db.ReservedNumbersWaiting(ctx)
	if err != nil {
		return nil, err
	}
	if reserved > 0 {
		body["reserved_numbers_waiting"] = reserved
	}
	return body, nil
}

// FingerprintLine is the line printed for the administrator at start.
func FingerprintLine(fp string) string {
	return "Impronta del certificato da indicare sulle postazioni: " + fp
}

// Run serves over HTTPS until ctx is cancelled, then shuts down gracefully:
// it stops accepting connections and waits for in-flight requests to finish.
func (s *Server) Run(ctx context.Context, cfg Config) error {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("server: listen on %s: %w", cfg.Addr, err)
	}
	return s.Serve(ctx, ln, cfg)
}

// Serve is Run on an existing listener (tests use port 0).
func (s *Server) Serve(ctx context.Context, ln net.Listener, cfg Config) error {
	cert, err := s.certificate(cfg)
	if err != nil {
		ln.Close()
		return err
	}
	return s.serve(ctx, ln, cfg, cert)
}

func (s *Server) certificate(cfg Config) (*Certificate, error) {
	cert, err := LoadCertificate(cfg.DataDir, cfg.TLSCert, cfg.TLSKey, cfg.Hosts)
	if err != nil {
		return nil, err
	}
	if cert.Created {
		s.log.Info("self-signed certificate created", "cert", cert.CertPath, "key", cert.KeyPath, "names", append(cert.Leaf.DNSNames, ipStrings(cert.Leaf.IPAddresses)...))
	}
	if len(cert.Missing) > 0 {
		s.log.Warn("certificate does not cover some host names (pinning still works)", "missing", cert.Missing)
	}
	s.log.Info("certificate", "sha256", cert.Fingerprint, "cert", cert.CertPath, "not_after", cert.Leaf.NotAfter)
	out := cfg.Out
	if out == nil {
		out = os.Stderr
	}
	fmt.Fprintln(out, FingerprintLine(cert.Fingerprint))
	if _, err := NextFingerprint(cfg.DataDir, cfg.TLSNextCert); err != nil {
		return nil, err
	}
	return cert, nil
}

// nextCheckEvery is how often the server looks for a next certificate to
// announce.
var nextCheckEvery = 30 * time.Second

// checkNext brings the announcement of the server's next certificate
// (sync.Server.SetNextCertificate) in step with the files, and returns it;
// last is the one announced so far. The next certificate is the one
// `certificate next` prepared (or -tls-next-cert), else the certificate in
// the data folder when `certificate switch` has made it the server's and
// the server, not yet restarted, still presents the previous one. The
// server checks at start and every nextCheckEvery: one prepared or
// withdrawn while it runs is announced or withdrawn within that time.
func (s *Server) checkNext(cfg Config, presented, last string) string {
	next, err := NextFingerprint(cfg.DataDir, cfg.TLSNextCert)
	if err != nil {
		s.log.Warn("next certificate unreadable: announcement unchanged", "err", err)
		return last
	}
	if next == "" && cfg.TLSCert == "" {
		if c, err := loadPair(filepath.Join(cfg.DataDir, CertFile), filepath.Join(cfg.DataDir, KeyFile), nil); err == nil {
			next = c.Fingerprint
		}
	}
	if next == presented {
		next = ""
	}
	if next != last {
		s.sync.SetNextCertificate(next)
		if next != "" {
			s.log.Info("next certificate announced to the workstations", "sha256", next)
		} else {
			s.log.Info("next certificate no longer announced", "sha256", last)
		}
	}
	return next
}

func ipStrings(ips []net.IP) []string {
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = ip.String()
	}
	return out
}

func (s *Server) serve(ctx context.Context, ln net.Listener, cfg Config, cert *Certificate) error {
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 30 * time.Second
	}
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert.TLS}},
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	// The next certificate is announced from the first answer: a
	// workstation that found no announcement would forget it.
	last := s.checkNext(cfg, cert.Fingerprint, "")
	actx, stopAnnounce := context.WithCancel(ctx)
	announced := make(chan struct{})
	go func() {
		defer close(announced)
		t := time.NewTicker(nextCheckEvery)
		defer t.Stop()
		for {
			select {
			case <-actx.Done():
				return
			case <-t.C:
				last = s.checkNext(cfg, cert.Fingerprint, last)
			}
		}
	}()
	defer func() { stopAnnounce(); <-announced }()
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	s.log.Info("listening", "addr", ln.Addr().String(), "tls", true)
	if cfg.BackupDir != "" {
		bctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.backups(bctx, cfg)
		}()
		defer func() { stop(); <-done }()
	}
	select {
	case err := <-errc:
		return fmt.Errorf("server: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("server: shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("server: %w", err)
	}
	return nil
}

// backups backs the data folder up into cfg.BackupDir at once and then
// every cfg.BackupEvery until ctx ends, logging each result.
func (s *Server) backups(ctx context.Context, cfg Config) {
	every := cfg.BackupEvery
	if every <= 0 {
		every = time.Hour
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		start := time.Now()
		rep, err := Backup(ctx, cfg.DataDir, cfg.BackupDir, start)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			s.log.Error("backup failed", "dir", cfg.BackupDir, "err", err)
		default:
			s.log.Info("backup", "dir", cfg.BackupDir, "db_bytes", rep.DBBytes, "files_copied", rep.FilesCopied,
				"bytes_copied", rep.BytesCopied, "files_kept", rep.FilesKept, "duration_ms", time.Since(start).Milliseconds())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
