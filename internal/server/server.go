// Package server is the central server's HTTP side. This first version
// serves the health endpoint over the server's own replica; the sync
// endpoints (enrolment, push, pull, blobs, definitive protocol numbers) are
// added by the sync work and mounted on the same mux.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"sportello/store"
)

// Config is the server's configuration.
type Config struct {
	Addr            string        // listen address, e.g. "127.0.0.1:8443"
	ShutdownTimeout time.Duration // how long in-flight requests may take at shutdown
}

// Server serves one store.
type Server struct {
	db  *store.DB
	log *slog.Logger
	mux *http.ServeMux
}

// New returns a server over db.
func New(db *store.DB, log *slog.Logger) *Server {
	s := &Server{db: db, log: log, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /healthz", s.health)
	return s
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

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	v, err := s.db.Version(r.Context())
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		s.log.Error("health", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		json.NewEncoder(w).Encode(map[string]any{"status": "error", "error": "database unavailable"})
		return
	}
	json.NewEncoder(w).Encode(map[string]any{"status": "ok", "schema_version": v})
}

// Run serves until ctx is cancelled, then shuts down gracefully: it stops
// accepting connections and waits for in-flight requests to finish.
func (s *Server) Run(ctx context.Context, cfg Config) error {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("server: listen on %s: %w", cfg.Addr, err)
	}
	return s.Serve(ctx, ln, cfg)
}

// Serve is Run on an existing listener (tests use port 0).
func (s *Server) Serve(ctx context.Context, ln net.Listener, cfg Config) error {
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 30 * time.Second
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("listening", "addr", ln.Addr().String())
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
