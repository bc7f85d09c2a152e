package sync

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"sportello/store"
)

// Enroll exchanges a one-time enrolment code for a workstation token, then
// installs the server's snapshot as the replica at dbPath (the initial copy:
// one ready database file, not a replay of history). The replica must be
// closed. The database it replaces (demo data, or nothing) is kept beside it
// as <dbPath>.pre-enrolment-<time>. It returns the stored configuration.
func Enroll(ctx context.Context, dbPath, url, pin, code string, hc *http.Client) (Config, error) {
	return EnrollAt(ctx, dbPath, url, pin, code, hc, nil)
}

// EnrollAt is Enroll for a workstation whose clock is now (nil: the
// system's, which the desk writes its dates with). The enrolment measures
// how far that clock is from the server's and records it in the replica
// before its first write (store.DB.SetClockOffset).
func EnrollAt(ctx context.Context, dbPath, url, pin, code string, hc *http.Client, now func() time.Time) (Config, error) {
	cfg := Config{URL: strings.TrimRight(url, "/"), Pin: pin, HTTP: hc}
	if cfg.HTTP == nil {
		cfg.HTTP = PinnedClient(pin)
	}
	if now == nil {
		now = time.Now
	}
	body, _ := json.Marshal(EnrollRequest{Code: strings.TrimSpace(code)})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.URL+"/v1/enroll", bytes.NewReader(body))
	if err != nil {
		return cfg, fmt.Errorf("sync: enrol: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderSchema, strconv.Itoa(store.SchemaVersion()))
	sent := now()
	resp, err := cfg.HTTP.Do(req)
	if err != nil {
		return cfg, fmt.Errorf("sync: enrol: %w", err)
	}
	if server, ok := clockMillis(resp.Header.Get(HeaderClock)); ok {
		if got := now(); got.Sub(sent) <= clockMaxRoundTrip {
			d := clockOffset(sent, got, server)
			cfg.enrolOffset = &d
		}
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		se := &ServerError{Status: resp.StatusCode}
		if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&se.Body); err != nil {
			// Not the server's error body (a proxy's page): the status says it.
			return cfg, fmt.Errorf("%w (unreadable answer: %v)", se, err)
		}
		return cfg, se
	}
	var er EnrollResponse
	if err := decodeResp(resp, &er); err != nil {
		return cfg, err
	}
	if er.SchemaVersion != store.SchemaVersion() {
		return cfg, &SchemaMismatchError{Server: er.SchemaVersion, Program: store.SchemaVersion()}
	}
	cfg.Token = er.Token
	kept, err := keepReplica(ctx, dbPath, cfg, er)
	if err != nil || kept {
		return cfg, err
	}
	if err := InstallSnapshot(ctx, dbPath, cfg); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// keepReplica gives the new token to the replica at dbPath when it is the
// workstation just enrolled and holds at least everything the server has
// of it — the same computer enrolled again after its token was lost or
// replaced — and reports whether it did: that replica's work not yet sent
// stays and goes to the server as before. Any other replica (demo data,
// another workstation's, a copy older than what the server has, one
// copied for another confidentiality scope) is replaced by the server's
// copy.
func keepReplica(ctx context.Context, dbPath string, cfg Config, er EnrollResponse) (kept bool, err error) {
	if _, err := os.Stat(dbPath); errors.Is(err, os.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("sync: replica: %w", err)
	}
	db, err := store.Open(ctx, dbPath, store.Options{})
	if err != nil {
		return false, nil // unreadable: replaced (and kept aside) below
	}
	defer func() {
		if cerr := db.Close(); cerr != nil && err == nil {
			kept, err = false, fmt.Errorf("sync: close replica: %w", cerr)
		}
	}()
	if db.WorkstationID() != er.WorkstationID {
		return false, nil
	}
	// Copied for the scope the workstation has now: an interview room made
	// a desk must lose its confidential records, a desk made an interview
	// room get them.
	if conf, known, err := db.CopyScope(ctx); err != nil {
		return false, err
	} else if !known || conf != er.Confidential {
		return false, nil
	}
	seq, auditSeq, err := db.OwnProgress(ctx)
	if err != nil {
		return false, err
	}
	if seq < er.AckedSeq || auditSeq < er.AckedAuditSeq {
		return false, nil // an older copy of this workstation's data
	}
	for _, kv := range [][2]string{{MetaURL, cfg.URL}, {MetaToken, cfg.Token}, {MetaPin, cfg.Pin}, {MetaPinNext, ""}} {
		if err := db.SetMeta(ctx, kv[0], kv[1]); err != nil {
			return false, err
		}
	}
	if cfg.enrolOffset != nil {
		if err := db.SetClockOffset(ctx, *cfg.enrolOffset); err != nil {
			return false, err
		}
	}
	return true, nil
}

// InstallSnapshot downloads the server's snapshot for this workstation,
// verifies its digest, records the sync settings in it and puts it in place
// of the replica at dbPath (which must be closed).
func InstallSnapshot(ctx context.Context, dbPath string, cfg Config) error {
	c := &Client{cfg: cfg, hc: cfg.HTTP}
	if c.hc == nil {
		c.hc = PinnedClient(cfg.Pin)
	}
	resp, err := c.do(ctx, http.MethodGet, "/v1/snapshot", nil, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := os.MkdirAll(filepath.Dir(dbPath), 0o700); err != nil {
		return fmt.Errorf("sync: data folder: %w", err)
	}
	tmp := dbPath + ".snapshot"
	os.Remove(tmp)
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("sync: snapshot file: %w", err)
	}
	h := sha256.New()
	if err := pipedCopy(f, io.TeeReader(resp.Body, h)); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("sync: download snapshot: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync: snapshot file: %w", err)
	}
	f.Close()
	want := resp.Trailer.Get(HeaderSHA256)
	if want == "" {
		want = resp.Header.Get(HeaderSHA256)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		os.Remove(tmp)
		return fmt.Errorf("sync: snapshot digest %s does not match %q", got, want)
	}
	cursor, err := strconv.ParseInt(resp.Header.Get(HeaderCursor), 10, 64)
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("sync: snapshot cursor: %w", err)
	}
	db, err := store.Open(ctx, tmp, store.Options{})
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("sync: open snapshot: %w", err)
	}
	// A workstation enrolled before goes on from where the server has it.
	floors, err := db.OwnFloors(ctx)
	if err != nil {
		db.Close()
		os.Remove(tmp)
		return err
	}
	for k, v := range map[string]string{MetaURL: cfg.URL, MetaToken: cfg.Token, MetaPin: cfg.Pin, MetaPullCursor: strconv.FormatInt(cursor, 10),
		MetaPushed: strconv.FormatInt(floors.OriginSeq, 10), MetaAuditSent: strconv.FormatInt(floors.AuditSeq, 10),
		MetaLateRefused: strconv.FormatInt(floors.LateRefused, 10), MetaBlobsPending: "1"} {
		if err := db.SetMeta(ctx, k, v); err != nil {
			db.Close()
			os.Remove(tmp)
			return err
		}
	}
	if cfg.enrolOffset != nil {
		if err := db.SetClockOffset(ctx, *cfg.enrolOffset); err != nil {
			db.Close()
			os.Remove(tmp)
			return err
		}
	}
	// No integrity_check here: the file's SHA-256 was verified end to end and
	// VACUUM INTO writes a consistent database; a full check of a large
	// replica would double the time of the initial copy.
	if err := db.Close(); err != nil {
		return fmt.Errorf("sync: close snapshot: %w", err)
	}
	if _, err := os.Stat(dbPath); err == nil {
		keep := keepAsideName(dbPath, time.Now())
		if err := os.Rename(dbPath, keep); err != nil {
			return fmt.Errorf("sync: keep previous replica: %w", err)
		}
		for _, suffix := range []string{"-wal", "-shm"} {
			if err := os.Rename(dbPath+suffix, keep+suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("sync: keep previous replica: %w", err)
			}
		}
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		os.Remove(tmp + suffix)
	}
	if err := os.Rename(tmp, dbPath); err != nil {
		return fmt.Errorf("sync: install snapshot: %w", err)
	}
	return syncDirOf(dbPath)
}

// keepAsideName is where a replica replaced by an enrolment is kept:
// <dbPath>.pre-enrolment-<time>, with a number after it when an earlier
// enrolment of the same second took that name (renaming onto it would
// destroy that copy).
func keepAsideName(dbPath string, now time.Time) string {
	base := dbPath + ".pre-enrolment-" + now.Format("20060102-150405")
	name := base
	for i := 2; ; i++ {
		if _, err := os.Lstat(name); errors.Is(err, os.ErrNotExist) {
			return name
		}
		name = base + "-" + strconv.Itoa(i)
	}
}

func syncDirOf(path string) error {
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return nil
	}
	defer d.Close()
	d.Sync() // best effort: not supported on every platform
	return nil
}

// pipedCopy copies r to w with the reading (here: TLS, hashing) and the
// writing (the file system) on two goroutines, so a large download uses
// both cores instead of taking turns on one.
func pipedCopy(w io.Writer, r io.Reader) error {
	const size = 4 << 20
	free := make(chan []byte, 3)
	for range 3 {
		free <- make([]byte, size)
	}
	full := make(chan []byte, 3)
	werr := make(chan error, 1)
	failed := make(chan struct{}) // closed when a write fails: stop reading
	go func() {
		var err error
		for b := range full {
			if err == nil {
				if _, err = w.Write(b); err != nil {
					close(failed)
				}
			}
			free <- b[:size]
		}
		werr <- err
	}()
	var rerr error
	for {
		var b []byte
		select {
		case b = <-free:
		case <-failed:
		}
		if b == nil {
			break
		}
		n, err := io.ReadFull(r, b)
		if n > 0 {
			full <- b[:n]
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			rerr = err
			break
		}
	}
	close(full)
	if err := <-werr; err != nil {
		return err
	}
	return rerr
}
