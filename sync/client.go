package sync

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"golang.org/x/sync/errgroup"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
	"sync/atomic"
	"time"

	"sportello/store"
)

// Local settings (local_meta keys) of the client.
const (
	MetaURL        = "sync_url"
	MetaToken      = "sync_token"
	MetaPin        = "sync_pin"
	MetaPushed     = store.MetaPushedSeq
	MetaAuditSent  = "sync_audit_seq"
	MetaPullCursor = "sync_pull_cursor"
	MetaLastSync   = "sync_last_ok"
	MetaRejected   = "sync_rejected"
	// MetaBlobsPending is "1" while rows may name attachments this replica
	// has not downloaded yet (set with the pull cursor and by enrolment).
	MetaBlobsPending = "sync_blobs_pending"
	// MetaLogEpoch is the epoch of the server's change log this replica
	// last pulled from (HeaderLogEpoch), set with the pull cursor.
	MetaLogEpoch = "sync_log_epoch"
	// MetaRepair lists, as JSON, the origin seqs of refused changes whose
	// rows this replica has not yet brought back to the server's copy; it
	// is written with the push cursor that acknowledged them.
	MetaRepair = "sync_repair_pending"
	// MetaLateRefused is the last late refusal (GET /v1/late-refused)
	// this replica recorded, written with the refusals it brought.
	MetaLateRefused = "sync_late_refused"
	// MetaPinNext is the server's next certificate (HeaderNextCertificate)
	// as the server announced it over the pinned one: accepted besides it,
	// and pinned in its place once the server presents it.
	MetaPinNext = "sync_pin_next"
)

// Config is how a replica reaches the server.
type Config struct {
	URL      string        // https://host:port
	Token    string        // workstation token from enrolment
	Pin      string        // hex SHA-256 of the server certificate; "" = system CA verification
	PinNext  string        // the server's next certificate it announced (MetaPinNext); "" none
	Interval time.Duration // between syncs when idle; default 15 s
	HTTP     *http.Client  // optional; default pinned TLS client
	Batch    int           // changes per push; default 5000

	// enrolOffset is the workstation's clock minus the server's measured
	// at enrolment, recorded in the replica it installs.
	enrolOffset *time.Duration
}

// LoadConfig reads the sync settings stored in the replica ("" URL = not enrolled).
func LoadConfig(ctx context.Context, db *store.DB) (Config, error) {
	var c Config
	var err error
	for key, dst := range map[string]*string{MetaURL: &c.URL, MetaToken: &c.Token, MetaPin: &c.Pin, MetaPinNext: &c.PinNext} {
		if *dst, err = db.Meta(ctx, key); err != nil {
			return c, err
		}
	}
	return c, nil
}

// ErrPinMismatch: the server's certificate is not the one pinned at enrolment.
var ErrPinMismatch = errors.New("sync: server certificate does not match the pinned fingerprint")

// ErrSchemaMismatch: the server runs a different schema version.
var ErrSchemaMismatch = errors.New("sync: server schema version differs from this program's")

// SchemaMismatchError is an enrolment's answer from a server of another
// schema version that did not refuse it itself (a server older than the
// check on the request). It is ErrSchemaMismatch.
type SchemaMismatchError struct{ Server, Program int }

func (e *SchemaMismatchError) Error() string {
	side := "update Sportello on this workstation"
	if e.Server < e.Program {
		side = "update the server"
	}
	return fmt.Sprintf("%v: server %d, this program %d: %s", ErrSchemaMismatch, e.Server, e.Program, side)
}

func (e *SchemaMismatchError) Is(target error) bool { return target == ErrSchemaMismatch }

// PinnedClient returns an HTTPS client that accepts only the server
// certificate whose SHA-256 is pin (the self-signed certificate printed by
// the server), or the system's CA verification when pin is "".
func PinnedClient(pin string) *http.Client {
	if pin == "" {
		return pinnedClient(nil)
	}
	pins := []string{normalPin(pin)}
	return pinnedClient(func() []string { return pins })
}

func normalPin(pin string) string { return strings.ToLower(strings.ReplaceAll(pin, ":", "")) }

// pinnedClient is PinnedClient accepting any of the certificates pins
// gives at each connection (nil: the system's CA verification).
func pinnedClient(pins func() []string) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if pins != nil {
		tc.InsecureSkipVerify = true // replaced by the pin check below
		tc.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("sync: server sent no certificate")
			}
			sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
			if slices.Contains(pins(), hex.EncodeToString(sum[:])) {
				return nil
			}
			return fmt.Errorf("%w: server certificate %x", ErrPinMismatch, sum[:8])
		}
	}
	tr.TLSClientConfig = tc
	tr.ResponseHeaderTimeout = 60 * time.Second
	return &http.Client{Transport: tr, Timeout: 10 * time.Minute}
}

// State is what the UI shows about sync.
type State struct {
	Enrolled  bool
	Online    bool
	Syncing   bool
	Pending   int       // local changes the server has not acknowledged
	LastSync  time.Time // last complete push+pull
	LastError string    // Italian
	Conflicts int       // open conflicts
	Rejected  []store.Rejection
	// ClockOffset is this workstation's clock minus the server's (positive:
	// ahead), as enrolment or the last sync that reached the server
	// measured it; ClockKnown is false until one did. ClockOff tells when
	// to say so.
	ClockOffset time.Duration
	ClockKnown  bool
	// NumberingHeld: the server, restored from a backup, gives no
	// definitive numbers until its administrator resumes numbering
	// (HeaderNumbering, as the last sync that reached the server found).
	NumberingHeld bool
	// Withdrawn counts the applications made confidential since they were
	// filed that this workstation, outside the confidential scope, removed
	// since the program started (store.Tx.WithdrawalsDue).
	Withdrawn int
}

// ServerError is a non-2xx answer of the server.
type ServerError struct {
	Status int
	Body   ErrorBody
}

// Is makes a server's server_behind answer match ErrServerBehind, its
// numbering_resumed answer ErrNumbersLost, its other_installation
// answer ErrOtherInstallation and its schema_mismatch answer
// ErrSchemaMismatch.
func (e *ServerError) Is(target error) bool {
	return target == ErrServerBehind && e.Body.Code == CodeServerBehind ||
		target == ErrSchemaMismatch && e.Body.Code == CodeSchemaMismatch ||
		target == ErrNumbersLost && e.Body.Code == CodeNumberingResumed ||
		target == ErrOtherInstallation && e.Body.Code == CodeOtherInstallation
}

func (e *ServerError) Error() string {
	return fmt.Sprintf("server %d %s: %s", e.Status, e.Body.Code, e.Body.Message)
}

// Client is the background sync loop of one replica.
type Client struct {
	db    *store.DB
	blobs *store.Blobs
	cfg   Config
	hc    *http.Client

	mu       gosync.Mutex
	state    State
	onChange []func(State)
	onPulled []func(tables map[string]bool)
	trigger  chan struct{}
	once     gosync.Mutex // one SyncOnce at a time

	// rejMu keeps the refused changes in the state and in MetaRejected
	// together (a push adds to them while the operator dismisses some).
	rejMu     gosync.Mutex
	rejLoaded bool // MetaRejected read into the state (at the first sync)

	// clockMu guards the clock offset last measured (measureClock), shown
	// in the state at the end of the sync.
	clockMu       gosync.Mutex
	clockMeasured *time.Duration
	numberingHeld atomic.Bool // HeaderNumbering of the last clock answer
	// pins: the certificates the client accepts, the pinned one and the
	// next one the server announced (setPins); pinMu orders their changes.
	pins  atomic.Pointer[[]string]
	pinMu gosync.Mutex

	// lateAnnounced is the highest late refusal pull answers announced
	// (HeaderLateRefused); fetched after the pull when past MetaLateRefused.
	lateAnnounced atomic.Int64

	// sequential makes the client send one request at a time, in an order
	// fixed by its state alone (no push pipelining, one upload at a time,
	// the next pull page fetched before, not while, the current one is
	// applied): the deterministic simulation sets it, so that a seed
	// replays the same exchange.
	sequential bool
}

// NewClient returns a client; it does nothing until Run or SyncOnce.
func NewClient(db *store.DB, blobs *store.Blobs, cfg Config) *Client {
	if cfg.Interval <= 0 {
		cfg.Interval = 15 * time.Second
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 5000
	}
	c := &Client{db: db, blobs: blobs, cfg: cfg, hc: cfg.HTTP, trigger: make(chan struct{}, 1)}
	c.setPins(cfg.Pin, cfg.PinNext)
	if c.hc == nil {
		if cfg.Pin == "" {
			c.hc = pinnedClient(nil)
		} else {
			c.hc = pinnedClient(func() []string { return *c.pins.Load() })
		}
	}
	c.state.Enrolled = cfg.URL != "" && cfg.Token != ""
	c.state.ClockOffset, c.state.ClockKnown = db.ClockOffset()
	return c
}

// OnChange registers a callback run (from the sync goroutine) whenever the state changes.
func (c *Client) OnChange(f func(State)) {
	c.mu.Lock()
	c.onChange = append(c.onChange, f)
	c.mu.Unlock()
}

// OnPulled registers a callback run after pulled changes were applied, with the tables they touched.
func (c *Client) OnPulled(f func(tables map[string]bool)) {
	c.mu.Lock()
	c.onPulled = append(c.onPulled, f)
	c.mu.Unlock()
}

// State returns the current state.
func (c *Client) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.state
	s.Rejected = append([]store.Rejection(nil), c.state.Rejected...)
	return s
}

func (c *Client) update(f func(*State)) {
	c.mu.Lock()
	f(&c.state)
	s := c.state
	cbs := append([]func(State){}, c.onChange...)
	c.mu.Unlock()
	for _, cb := range cbs {
		cb(s)
	}
}

// Trigger asks the loop to sync now ("Sincronizza ora", or after a local write).
func (c *Client) Trigger() {
	select {
	case c.trigger <- struct{}{}:
	default:
	}
}

// Run syncs until ctx ends: every Interval when things go well, backing off
// exponentially (with jitter, up to 30 seconds) while the server is unreachable.
func (c *Client) Run(ctx context.Context) {
	if !c.state.Enrolled {
		return
	}
	failures := 0
	for {
		err := c.SyncOnce(ctx)
		wait := c.cfg.Interval
		if err != nil {
			failures++
			wait = min(time.Second<<min(failures, 5), 30*time.Second)
			wait = wait/2 + time.Duration(rand.Int64N(int64(wait/2)+1))
		} else {
			failures = 0
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-c.trigger:
			t.Stop()
		case <-t.C:
		}
	}
}

func (c *Client) metaInt(ctx context.Context, key string) (int64, error) {
	v, err := c.db.Meta(ctx, key)
	if err != nil {
		return 0, err
	}
	return store.MetaNumber(key, v)
}

// SyncOnce pushes every pending local change (attachments first), then
// pulls everything new. It is safe to call at any time: interrupted at any
// point, the next call finishes the work and nothing is applied twice.
func (c *Client) SyncOnce(ctx context.Context) error {
	c.once.Lock()
	defer c.once.Unlock()
	if c.cfg.URL == "" || c.cfg.Token == "" {
		return errors.New("sync: workstation not enrolled")
	}
	if err := c.loadRejected(ctx); err != nil {
		return err
	}
	c.update(func(s *State) { s.Syncing = true })
	err := c.syncOnce(ctx)
	clock := c.shownClock()
	pending, conflicts, countErr := c.counts(ctx)
	c.update(func(s *State) {
		s.Syncing = false
		if countErr == nil { // otherwise the last counts stay shown, with the error
			s.Pending, s.Conflicts = pending, conflicts
		}
		if clock != nil {
			s.ClockOffset, s.ClockKnown = *clock, true
		}
		s.NumberingHeld = c.numberingHeld.Load()
		switch {
		case err != nil:
			s.LastError = userMessage(err)
			var se *ServerError
			s.Online = errors.As(err, &se) && se.Status < 500
		case countErr != nil:
			s.Online, s.LastSync = true, time.Now()
			s.LastError = countsMessage + " (" + countErr.Error() + ")"
		default:
			s.Online, s.LastError, s.LastSync = true, "", time.Now()
		}
	})
	if err == nil {
		err = countErr
	}
	return err
}

// countsMessage: the sync went through but the replica could not be read
// for what the status bar counts.
const countsMessage = "Sincronizzazione eseguita, ma non è stato possibile leggere dalla copia locale le modifiche in attesa e i conflitti"

// counts reads what the status bar shows besides the connection: the local
// changes not yet acknowledged and the open conflicts.
func (c *Client) counts(ctx context.Context) (pending, conflicts int, err error) {
	pushed, err := c.metaInt(ctx, MetaPushed)
	if err != nil {
		return 0, 0, fmt.Errorf("sync: read push cursor: %w", err)
	}
	if pending, err = c.db.CountLocalChangesAfter(ctx, pushed); err != nil {
		return 0, 0, fmt.Errorf("sync: count pending changes: %w", err)
	}
	if conflicts, err = c.db.OpenConflicts(ctx); err != nil {
		return 0, 0, fmt.Errorf("sync: count conflicts: %w", err)
	}
	return pending, conflicts, nil
}

// ErrServerBehind: the server holds less than it once acknowledged to this
// workstation, or than this workstation pulled from it (CodeServerBehind).
var ErrServerBehind = errors.New("sync: the server holds less than this workstation synced with it")

// ErrOtherInstallation: the server holds changes of this workstation that
// this replica never made (another computer enrolled as it, or this
// replica restored from a copy older than what it had sent): its own
// changes numbered alike would be taken for those and lost, so it pushes
// nothing until it is enrolled again.
var ErrOtherInstallation = errors.New("sync: the server holds changes of this workstation this replica never made")

const otherInstallationMessage = "Il server ha da questa postazione modifiche che questa copia dei dati non contiene (la postazione è in uso su un altro computer, o i dati sono stati ripristinati da una copia precedente): la sincronizzazione resta sospesa e quanto fatto qui resta su questa postazione; rivolgersi all'amministratore"

// pinMismatchMessage: the server presents a certificate this workstation
// does not know (it missed the announcement of a new one, or it is not
// the municipality's server).
const pinMismatchMessage = "Il certificato del server non è quello registrato su questa postazione (è stato sostituito mentre la postazione non si sincronizzava, o il server non è quello del Comune): la sincronizzazione è sospesa e si continua a lavorare in locale; rivolgersi all'amministratore per una nuova abilitazione"

// serverBehindMessage tells the operator why sync stopped.
const serverBehindMessage = "Il server ha meno dati di quanti questa postazione ne abbia già scambiati (è stato ripristinato da una copia di sicurezza?): la sincronizzazione resta sospesa finché l'amministratore non interviene; si continua a lavorare in locale"

// ErrFileElsewhere: a change to push names a file that neither this
// workstation nor the server has (a document of a registration copied from
// an attachment another workstation added, which a server restored from a
// backup lost): the push waits until that workstation sends it again.
var ErrFileElsewhere = errors.New("sync: a file to push is neither here nor on the server")

const fileElsewhereMessage = "Un allegato da inviare non è su questa postazione né sul server (ripristinato da una copia di sicurezza): la sincronizzazione riprende quando la postazione che lo ha aggiunto si ricollega; si continua a lavorare in locale"

func userMessage(err error) string {
	if errors.Is(err, ErrNumbersLost) {
		return numbersLostMessage
	}
	if errors.Is(err, ErrFileElsewhere) {
		return fileElsewhereMessage
	}
	if errors.Is(err, ErrServerBehind) {
		return serverBehindMessage
	}
	if errors.Is(err, ErrOtherInstallation) {
		return otherInstallationMessage
	}
	if errors.Is(err, ErrPinMismatch) {
		return pinMismatchMessage
	}
	var se *ServerError
	if errors.As(err, &se) && se.Body.Message != "" {
		return se.Body.Message
	}
	if errors.Is(err, context.Canceled) {
		return "Sincronizzazione interrotta"
	}
	return "Server non raggiungibile: si continua a lavorare in locale (" + err.Error() + ")"
}

func (c *Client) syncOnce(ctx context.Context) error {
	err := c.syncPass(ctx)
	if errors.Is(err, ErrServerBehind) {
		// The server was restored from a backup: rejoin it, then sync.
		if err := c.rejoin(ctx); err != nil {
			return err
		}
		err = c.syncPass(ctx)
	}
	return err
}

func (c *Client) syncPass(ctx context.Context) error {
	// The clock first: what follows reads the hybrid logical clock, which
	// takes the server's time from the offset measured.
	if err := c.measureClock(ctx); err != nil {
		return err
	}
	// What a restored server lost goes back first too: a conflict record
	// this desk resolved since must be there before the resolution is
	// pushed (after numbering resumed it is no longer parked).
	if err := c.recoverNumbers(ctx); errors.Is(err, ErrNumbersLost) {
		return err
	}
	if err := c.pushAll(ctx); err != nil {
		return err
	}
	// Numbers go back before the pull: one the register numbered anew is
	// dropped here before the pull brings the register's.
	recoverErr := c.recoverNumbers(ctx)
	if errors.Is(recoverErr, ErrNumbersLost) {
		return recoverErr
	}
	if err := c.pullAll(ctx); err != nil {
		// What the pages applied before the cut brought goes all the
		// same: applications made confidential leave at once.
		if werr := c.withdraw(ctx); werr != nil {
			return errors.Join(err, werr)
		}
		return err
	}
	if err := c.fetchLateRefused(ctx); err != nil {
		return err
	}
	// A repair that fails (the server unreachable again) does not hold up
	// the attachments; it is tried again at the next sync.
	repairErr := errors.Join(recoverErr, c.repairRefused(ctx))
	// Records a restored server refused that others still refer to here
	// go once the repair or the pull took those away (absent reverts).
	if n, err := c.db.PendingRemovals(ctx); err != nil {
		return err
	} else if n > 0 {
		if err := c.db.Write(ctx, store.Actor{OperatorID: "sync"}, func(tx *store.Tx) error {
			_, err := tx.RemovalsDue()
			return err
		}); err != nil {
			return fmt.Errorf("sync: records the register does not have: %w", err)
		}
	}
	if err := c.withdraw(ctx); err != nil {
		return err
	}
	if err := c.fetchMissingBlobs(ctx); err != nil {
		return err
	}
	if repairErr != nil {
		return repairErr
	}
	return c.db.SetMeta(ctx, MetaLastSync, time.Now().UTC().Format(time.RFC3339))
}

// withdraw removes the applications the server made confidential that
// could not go when the pull brought their reclassification (a change of
// this workstation's own was still to be pushed: the push has carried it
// since), and deletes the files only removed records named
// (store.Tx.WithdrawalsDue).
func (c *Client) withdraw(ctx context.Context) error {
	apps, files, err := c.db.PendingWithdrawals(ctx)
	if err != nil {
		return err
	}
	if apps > 0 {
		removed := 0
		if err := c.db.Write(ctx, store.Actor{OperatorID: "sync"}, func(tx *store.Tx) error {
			var err error
			removed, _, err = tx.WithdrawalsDue()
			return err
		}); err != nil {
			return fmt.Errorf("sync: applications made confidential: %w", err)
		}
		if removed > 0 {
			c.update(func(s *State) { s.Withdrawn += removed })
		}
		files = true
	}
	if files && c.blobs != nil {
		if _, err := c.db.RemoveWithdrawnFiles(ctx, c.blobs); err != nil {
			return fmt.Errorf("sync: files of applications made confidential: %w", err)
		}
	}
	return nil
}

func (c *Client) do(ctx context.Context, method, path string, body io.Reader, hdr map[string]string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.cfg.URL, "/")+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	req.Header.Set(HeaderSchema, strconv.Itoa(store.SchemaVersion()))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 && resp.StatusCode != http.StatusConflict || resp.StatusCode == http.StatusConflict && !strings.HasPrefix(path, "/v1/blobs/") {
		defer resp.Body.Close()
		se := &ServerError{Status: resp.StatusCode}
		if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&se.Body); err != nil {
			se.Body = ErrorBody{Code: CodeInternal, Message: fmt.Sprintf("Risposta inattesa del server (%d)", resp.StatusCode)}
		}
		return nil, se
	}
	return resp, nil
}

func decodeResp(resp *http.Response, v any) error {
	defer resp.Body.Close()
	var r io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" && !resp.Uncompressed {
		gz, err := gzip.NewReader(resp.Body)
		if err != nil {
			return fmt.Errorf("sync: response: %w", err)
		}
		defer gz.Close()
		r = gz
	}
	if err := json.NewDecoder(r).Decode(v); err != nil {
		return fmt.Errorf("sync: decode response: %w", err)
	}
	return nil
}

// pushBatch is one push, read from the local log and encoded.
type pushBatch struct {
	body      []byte
	changes   int
	lastSeq   int64 // origin seq of the last change in the batch (or the start)
	lastAudit int64 // seq of the last audit entry (or the start)
	blobs     []string
	err       error
}

// preparePush reads the local changes after seq and the audit entries after
// auditSeq and encodes them as one framed, compressed batch.
func (c *Client) preparePush(ctx context.Context, seq, auditSeq int64) pushBatch {
	p := pushBatch{lastSeq: seq, lastAudit: auditSeq}
	changes, err := c.db.LocalChangesAfter(ctx, seq, c.cfg.Batch)
	if err != nil {
		p.err = err
		return p
	}
	entries, err := c.db.AuditAfter(ctx, auditSeq, c.cfg.Batch)
	if err != nil {
		p.err = err
		return p
	}
	p.changes = len(changes) + len(entries)
	if p.changes == 0 {
		return p
	}
	b := batch{Changes: make([]Change, len(changes)), Audit: make([]auditWire, len(entries))}
	seen := map[string]bool{}
	for i, ch := range changes {
		b.Changes[i] = toWire(ch)
		p.lastSeq = ch.OriginSeq
		if sha, ok := blobRefs(b.Changes[i]); ok && !seen[sha] {
			seen[sha] = true
			p.blobs = append(p.blobs, sha)
		}
	}
	for i, e := range entries {
		b.Audit[i] = auditWire{Entry: e, PrevHash: e.PrevHash, Hash: e.Hash}
		p.lastAudit = e.Seq
	}
	var buf bytes.Buffer
	gz, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		p.err = fmt.Errorf("sync: compress push: %w", err)
		return p
	}
	if err := encodeBatch(gz, b); err != nil {
		p.err = fmt.Errorf("sync: encode push: %w", err)
		return p
	}
	if err := gz.Close(); err != nil {
		p.err = fmt.Errorf("sync: compress push: %w", err)
		return p
	}
	p.body = buf.Bytes()
	return p
}

// pushAll sends every pending local change. Two batches are in flight at
// once: while the server applies one, the next is read, encoded, its
// attachments uploaded and the batch sent (the server applies a
// workstation's batches in order, see Server.awaitTurn). Responses are
// handled in order; when one acknowledges less than its batch held, the
// batch behind it is awaited and the push starts again from what the
// server acknowledged.
func (c *Client) pushAll(ctx context.Context) error {
	acked, err := c.metaInt(ctx, MetaPushed)
	if err != nil {
		return err
	}
	auditSent, err := c.metaInt(ctx, MetaAuditSent)
	if err != nil {
		return err
	}
	for {
		done, nextSeq, nextAudit, err := c.pushPipeline(ctx, acked, auditSent)
		if err != nil || done {
			return err
		}
		acked, auditSent = nextSeq, nextAudit
	}
}

type pushResult struct {
	b   pushBatch
	pr  PushResponse
	err error
}

// sendPush uploads a batch's attachments and posts it, in the background.
func (c *Client) sendPush(ctx context.Context, b pushBatch, acked, repushed int64) <-chan pushResult {
	ch := make(chan pushResult, 1)
	go func() {
		res := pushResult{b: b}
		defer func() { ch <- res }()
		// Attachments go first, a few at a time (TLS and hashing use more
		// than one core), so the server has them before the rows.
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(3)
		if c.sequential {
			g.SetLimit(1)
		}
		for _, sha := range b.blobs {
			g.Go(func() error { return c.uploadBlob(gctx, sha) })
		}
		if res.err = g.Wait(); res.err != nil {
			return
		}
		hdr := map[string]string{"Content-Type": ContentTypeBatch, "Content-Encoding": "gzip", HeaderAcked: strconv.FormatInt(acked, 10)}
		if repushed > acked {
			hdr[HeaderRepushed] = strconv.FormatInt(repushed, 10)
		}
		resp, err := c.do(ctx, http.MethodPost, "/v1/push", bytes.NewReader(b.body), hdr)
		if err != nil {
			res.err = err
			return
		}
		res.err = decodeResp(resp, &res.pr)
	}()
	return ch
}

// pushPipeline pushes from (acked, auditSent) until everything is sent
// (done) or a response acknowledges less than its batch: then it returns
// where to start again.
func (c *Client) pushPipeline(ctx context.Context, acked, auditSent int64) (done bool, seq, audit int64, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Each request in flight with what the server had acknowledged when it
	// was sent: its answer can be no lower, unless the server lost data.
	type inFlightPush struct {
		ch           <-chan pushResult
		acked, audit int64
	}
	var queue []inFlightPush
	defer func() {
		for _, q := range queue {
			<-q.ch // let the request behind finish before starting again
		}
	}()
	repushed, err := c.metaInt(ctx, MetaRepushed)
	if err != nil {
		return false, acked, auditSent, err
	}
	cur := c.preparePush(ctx, acked, auditSent)
	progressed := false
	inFlight := 2
	if c.sequential {
		inFlight = 1
	}
	for {
		// Keep two batches in flight.
		for len(queue) < inFlight && cur.err == nil && cur.changes > 0 {
			queue = append(queue, inFlightPush{c.sendPush(ctx, cur, acked, repushed), acked, auditSent})
			cur = c.preparePush(ctx, cur.lastSeq, cur.lastAudit)
		}
		if len(queue) == 0 {
			return true, acked, auditSent, cur.err
		}
		sent := queue[0]
		res := <-sent.ch
		queue = queue[1:]
		if res.err != nil {
			return false, acked, auditSent, res.err
		}
		pr := res.pr
		if pr.AckedSeq > res.b.lastSeq || pr.AckedAuditSeq > res.b.lastAudit {
			// More than this batch: a batch sent earlier, or changes this
			// replica never made — another installation of the
			// workstation, or a copy of this one restored from before.
			// Taking them as sent would lose what this replica made.
			own, ownAudit, err := c.db.OwnProgress(ctx)
			if err != nil {
				return false, acked, auditSent, err
			}
			if pr.AckedSeq > own || pr.AckedAuditSeq > ownAudit {
				return false, acked, auditSent, fmt.Errorf("%w: it has this workstation's changes up to %d and audit entries up to %d, this replica made %d and %d",
					ErrOtherInstallation, pr.AckedSeq, pr.AckedAuditSeq, own, ownAudit)
			}
		}
		if pr.AckedSeq < sent.acked || pr.AckedAuditSeq < sent.audit {
			// The server had acknowledged more before this request than it
			// holds now (an answer to a request sent earlier may be lower
			// than one already read: the two crossed on the way).
			return false, acked, auditSent, fmt.Errorf("%w: it acknowledges changes up to %d and audit entries up to %d, this workstation had %d and %d acknowledged",
				ErrServerBehind, pr.AckedSeq, pr.AckedAuditSeq, sent.acked, sent.audit)
		}
		newSeq, newAudit := max(acked, pr.AckedSeq), max(auditSent, pr.AckedAuditSeq)
		// Refusals already recorded (listed again by the answer to a
		// request sent before the one that brought them) are left out.
		pr.Rejected = slices.DeleteFunc(pr.Rejected, func(r store.Rejection) bool { return r.OriginSeq <= acked || r.OriginSeq > newSeq })
		if newSeq == acked && newAudit == auditSent && len(pr.Rejected) == 0 {
			if progressed {
				// The batch behind reached the server before the one in
				// front (a retry, a slow connection): start again.
				return false, acked, auditSent, nil
			}
			return false, acked, auditSent, fmt.Errorf("sync: server acknowledged nothing (acked %d)", pr.AckedSeq)
		}
		progressed = true
		if err := c.ack(ctx, newSeq, newAudit, pr.Rejected); err != nil {
			return false, acked, auditSent, err
		}
		acked, auditSent = newSeq, newAudit
		if pr.AckedSeq != res.b.lastSeq || pr.AckedAuditSeq != res.b.lastAudit {
			return false, acked, auditSent, nil // start again from what the server has
		}
	}
}

const chunk = 32 << 20

// uploadBlob sends a blob the server lacks, resuming where a previous
// attempt stopped; the server verifies the digest when the last byte arrives.
func (c *Client) uploadBlob(ctx context.Context, sha string) error {
	for attempt := 0; attempt < 3; attempt++ {
		resp, err := c.do(ctx, http.MethodGet, "/v1/blobs/"+sha+"/status", nil, nil)
		if err != nil {
			return err
		}
		var st BlobStatus
		if err := decodeResp(resp, &st); err != nil {
			return err
		}
		if st.Complete {
			return nil
		}
		f, err := c.blobs.Open(sha)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%w: %s", ErrFileElsewhere, sha)
		}
		if err != nil {
			return fmt.Errorf("sync: attachment %s missing locally: %w", sha, err)
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return err
		}
		total, off := fi.Size(), st.Size
		mismatch := false
		// At least one request, even when the server holds every byte
		// already (it was stopped after receiving the last chunk and before
		// verifying it): a request at offset total makes it finish the upload.
		for first := true; first || off < total; first = false {
			n := min(int64(chunk), total-off)
			resp, err := c.do(ctx, http.MethodPut, "/v1/blobs/"+sha, io.NewSectionReader(f, off, n), map[string]string{
				HeaderBlobSize: strconv.FormatInt(total, 10), HeaderOffset: strconv.FormatInt(off, 10), "Content-Type": "application/octet-stream"})
			if err != nil {
				var se *ServerError
				if errors.As(err, &se) && se.Body.Code == CodeBlobMismatch {
					mismatch = true
					break
				}
				f.Close()
				return err
			}
			var bs BlobStatus
			if resp.StatusCode == http.StatusConflict {
				var eb ErrorBody
				err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&eb)
				resp.Body.Close()
				if err != nil {
					f.Close()
					return fmt.Errorf("sync: attachment %s: reading where to resume: %w", sha, err)
				}
				off = eb.Offset
				continue
			}
			if err := decodeResp(resp, &bs); err != nil {
				f.Close()
				return err
			}
			if bs.Complete {
				f.Close()
				return nil
			}
			off = bs.Size
		}
		f.Close()
		if mismatch {
			// Our copy may be damaged: check it before sending again.
			if err := c.blobs.Verify(ctx, sha); err != nil {
				return fmt.Errorf("sync: local attachment %s is damaged: %w", sha, err)
			}
			continue
		}
	}
	return fmt.Errorf("sync: attachment %s refused by the server after 3 attempts", sha)
}

func (c *Client) pullAll(ctx context.Context) error {
	touched := map[string]bool{}
	defer func() {
		if len(touched) == 0 {
			return
		}
		c.mu.Lock()
		cbs := append([]func(map[string]bool){}, c.onPulled...)
		c.mu.Unlock()
		for _, cb := range cbs {
			cb(touched)
		}
	}()
	cursor, err := c.metaInt(ctx, MetaPullCursor)
	if err != nil {
		return err
	}
	epoch, err := c.db.Meta(ctx, MetaLogEpoch)
	if err != nil {
		return err
	}
	// The next batch is fetched while this one is applied.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type fetched struct {
		b     batch
		epoch string          // of the server's change log
		data  []store.Decoded // the changes' data, decoded here (nil Fields: left to ApplyRemote, which reports the error)
		after int64
		err   error
	}
	// The fetch goroutine also decodes the changes' data and builds the
	// inserts of new rows, off the writer.
	fetch := func(after int64, floor, epoch string) <-chan fetched {
		ch := make(chan fetched, 1)
		get := func() {
			b, serverEpoch, err := c.fetchPull(ctx, after, floor, epoch)
			var data []store.Decoded
			if err == nil {
				data = make([]store.Decoded, len(b.Changes))
				for i, wc := range b.Changes {
					if data[i], err = store.DecodeChange(wc.Data); err == nil {
						c.db.PrepareInsert(fromWire(wc), &data[i])
					}
				}
				err = nil
			}
			ch <- fetched{b, serverEpoch, data, after, err}
		}
		if c.sequential {
			get()
		} else {
			go get()
		}
		return ch
	}
	floor, err := c.floor(ctx)
	if err != nil {
		return err
	}
	next := fetch(cursor, floor, epoch)
	// A fetch still under way when pullAll returns is cancelled and waited
	// for: no request of this sync outlives it.
	defer func() {
		cancel()
		if next != nil {
			<-next
		}
	}()
	for {
		f := <-next
		next = nil
		if f.err != nil {
			return f.err
		}
		if epoch != "" && f.epoch != "" && f.epoch != epoch {
			// Another change log: the server was restored from a backup.
			// Even with nothing pulled past its start, what this
			// workstation pushed after it may be lost: rejoin.
			return fmt.Errorf("%w: its change log is another (epoch %s, this workstation pulled from %s)", ErrServerBehind, f.epoch, epoch)
		}
		pr := f.b

		if pr.More {
			// Asked from where the server's own page ended: in its epoch.
			next = fetch(pr.Cursor, "", cmp.Or(f.epoch, epoch))
		}
		var blobs []string
		stale := false
		err = c.db.Write(ctx, store.Actor{OperatorID: "sync"}, func(tx *store.Tx) error {
			blobs = blobs[:0]
			// A page is applied only on top of the cursor it was asked
			// from, and the cursor moves in this same transaction: each
			// change is applied exactly once, so none needs a log row.
			if at, err := tx.Meta(MetaPullCursor); err != nil {
				return err
			} else if at != strconv.FormatInt(f.after, 10) && !(at == "" && f.after == 0) {
				stale = true
				return nil
			}
			for i, wc := range pr.Changes {
				var res store.ApplyResult
				var err error
				if f.data[i].Fields != nil {
					res, err = tx.ApplyRemoteDecoded(fromWire(wc), f.data[i], store.ApplyOptions{Unlogged: true})
				} else {
					res, err = tx.ApplyRemote(fromWire(wc), store.ApplyOptions{Unlogged: true})
				}
				if err != nil {
					return fmt.Errorf("sync: apply %s %s from %s: %w", wc.Table, wc.RowID, wc.WorkstationID, err)
				}
				if !res.Duplicate {
					touched[wc.Table] = true
					if sha, ok := blobRefs(wc); ok {
						blobs = append(blobs, sha)
					}
				}
			}
			if len(blobs) > 0 {
				if err := tx.SetMeta(MetaBlobsPending, "1"); err != nil {
					return err
				}
			}
			if f.epoch != "" && f.epoch != epoch {
				if err := tx.SetMeta(MetaLogEpoch, f.epoch); err != nil {
					return err
				}
			}
			return tx.SetMeta(MetaPullCursor, strconv.FormatInt(pr.Cursor, 10))
		})
		if err != nil {
			return err
		}
		if !stale && f.epoch != "" {
			epoch = f.epoch
		}
		if stale { // the cursor moved under the page: ask again from where it is
			if cursor, err = c.metaInt(ctx, MetaPullCursor); err != nil {
				return err
			}
			if epoch, err = c.db.Meta(ctx, MetaLogEpoch); err != nil {
				return err
			}
			if next != nil {
				<-next // the page prefetched after this one is stale too
			}
			next = fetch(cursor, "", epoch)
			continue
		}
		for _, sha := range blobs {
			if err := c.downloadBlob(ctx, sha); err != nil {
				return err
			}
		}
		if !pr.More {
			return nil
		}
	}
}

// floor is the clock every change this workstation will still push has at
// least: its first change the server has not acknowledged, or, with none
// pending, its clock now (every later write is later still). The server
// keeps the lowest floor of all workstations as the stable horizon.
func (c *Client) floor(ctx context.Context) (string, error) {
	acked, err := c.metaInt(ctx, MetaPushed)
	if err != nil {
		return "", err
	}
	return c.db.PushFloor(ctx, acked)
}

// fetchPull asks the server for the changes after the cursor, framed; a
// non-empty floor is reported to the server (Client.floor), and so is the
// epoch of the log the cursor belongs to. It returns the server's epoch.
func (c *Client) fetchPull(ctx context.Context, after int64, floor, epoch string) (batch, string, error) {
	hdr := map[string]string{"Accept": ContentTypeBatch, "Accept-Encoding": "gzip"}
	if floor != "" {
		hdr[HeaderFloor] = floor
		// For the server's record: the clock the desk writes legal dates
		// with (store.DB.Now).
		hdr[HeaderClock] = strconv.FormatInt(c.db.Now().UnixMilli(), 10)
		if next := c.heldNextPin(); next != "" {
			// For the server's record: this workstation will accept the
			// server's next certificate.
			hdr[HeaderNextCertificate] = next
		}
	}
	if epoch != "" {
		hdr[HeaderLogEpoch] = epoch
	}
	resp, err := c.do(ctx, http.MethodGet, fmt.Sprintf("/v1/pull?after=%d&limit=%d", after, DefaultPullLimit), nil, hdr)
	if err != nil {
		return batch{}, "", err
	}
	defer resp.Body.Close()
	if v := resp.Header.Get(HeaderLateRefused); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > c.lateAnnounced.Load() {
			c.lateAnnounced.Store(n)
		}
	}
	b, err := readPull(resp)
	return b, resp.Header.Get(HeaderLogEpoch), err
}

// readPull decodes a pull response, framed or JSON.
func readPull(resp *http.Response) (batch, error) {
	var r io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" && !resp.Uncompressed {
		gz, err := gzip.NewReader(resp.Body)
		if err != nil {
			return batch{}, fmt.Errorf("sync: pull response: %w", err)
		}
		defer gz.Close()
		r = gz
	}
	if mediaType(resp.Header.Get("Content-Type")) != ContentTypeBatch {
		var pr PullResponse
		if err := json.NewDecoder(r).Decode(&pr); err != nil {
			return batch{}, fmt.Errorf("sync: decode pull response: %w", err)
		}
		return batch{Changes: pr.Changes, Cursor: pr.Cursor, More: pr.More}, nil
	}
	raw, err := io.ReadAll(io.LimitReader(r, 1<<30))
	if err != nil {
		return batch{}, fmt.Errorf("sync: pull response: %w", err)
	}
	b, err := decodeBatch(raw)
	if err != nil {
		return batch{}, fmt.Errorf("sync: pull response: %w", err)
	}
	return b, nil
}

// downloadBlob fetches an attachment another workstation added, verifying it.
func (c *Client) downloadBlob(ctx context.Context, sha string) error {
	if c.blobs.Has(sha) {
		return nil
	}
	resp, err := c.do(ctx, http.MethodGet, "/v1/blobs/"+sha, nil, nil)
	if err != nil {
		var se *ServerError
		if errors.As(err, &se) && se.Status == http.StatusNotFound {
			return nil // not on the server (yet): fetched on a later sync
		}
		return err
	}
	defer resp.Body.Close()
	got, _, err := c.blobs.Put(ctx, resp.Body, 0)
	if err != nil {
		return fmt.Errorf("sync: download attachment %s: %w", sha, err)
	}
	if got != sha {
		// The bytes are kept under their own digest (harmless, maybe shared);
		// the attachment is fetched again on the next sync.
		return fmt.Errorf("sync: attachment %s arrived with content %s", sha, got)
	}
	return nil
}

// clockSaveStep is how far a measured clock offset moves before it is
// recorded again: the offset is measured at every sync, and a few seconds
// of difference change nothing shown, nor the order of concurrent edits
// that matters.
const clockSaveStep = 10 * time.Second

// clockMaxRoundTrip: a measure whose answer took longer tells too little
// (the midpoint may be off by half of it) and is not taken.
const clockMaxRoundTrip = 4 * time.Second

// measureClock measures this workstation's clock against the server's
// (GET /v1/clock) and records the offset in the replica when it moved by
// more than clockSaveStep: from then on the hybrid logical clock takes the
// server's time (store.DB.SetClockOffset), and the state shows the offset.
func (c *Client) measureClock(ctx context.Context) error {
	sent := c.db.Now()
	resp, err := c.do(ctx, http.MethodGet, "/v1/clock", nil, nil)
	var se *ServerError
	if errors.As(err, &se) && se.Status == http.StatusNotFound {
		// A server older than this program: the push and the pull that
		// follow say, in words, that the versions differ.
		return nil
	}
	if err != nil {
		return err
	}
	resp.Body.Close()
	got := c.db.Now()
	c.numberingHeld.Store(resp.Header.Get(HeaderNumbering) == "held")
	if err := c.followCertificate(ctx, resp); err != nil {
		return err
	}
	server, ok := clockMillis(resp.Header.Get(HeaderClock))
	if !ok {
		return fmt.Errorf("sync: the server's clock: %q", resp.Header.Get(HeaderClock))
	}
	if got.Sub(sent) > clockMaxRoundTrip {
		return nil
	}
	offset := clockOffset(sent, got, server)
	c.clockMu.Lock()
	c.clockMeasured = &offset
	c.clockMu.Unlock()
	if saved, known := c.db.ClockOffset(); !known || (offset-saved).Abs() > clockSaveStep {
		if err := c.db.SetClockOffset(ctx, offset); err != nil {
			return fmt.Errorf("sync: record the clock offset: %w", err)
		}
	}
	return nil
}

// shownClock is the clock offset to show: the last measured in this run,
// else the one the replica recorded (nil: none known).
func (c *Client) shownClock() *time.Duration {
	c.clockMu.Lock()
	defer c.clockMu.Unlock()
	if c.clockMeasured != nil {
		d := *c.clockMeasured
		return &d
	}
	if d, known := c.db.ClockOffset(); known {
		return &d
	}
	return nil
}

// loadRejected reads the refused changes kept from earlier runs into the
// state, once: the operator sees them after a restart of the app too.
func (c *Client) loadRejected(ctx context.Context) error {
	c.rejMu.Lock()
	defer c.rejMu.Unlock()
	if c.rejLoaded {
		return nil
	}
	raw, err := c.db.Meta(ctx, MetaRejected)
	if err != nil {
		return err
	}
	var rs []store.Rejection
	if raw != "" {
		if err := json.Unmarshal([]byte(raw), &rs); err != nil {
			return fmt.Errorf("sync: refused changes kept on this workstation: %w", err)
		}
	}
	c.update(func(s *State) { s.Rejected = append(rs, s.Rejected...) })
	c.rejLoaded = true
	return nil
}

// ack moves the push cursors and, in the same transaction, adds the changes
// the server refused to the list the operator reads (MetaRejected) and to
// those whose rows are to be brought back to the server's copy
// (MetaRepair): a crash right after never loses a refusal.
func (c *Client) ack(ctx context.Context, seq, auditSeq int64, rejected []store.Rejection) error {
	return c.recordRefused(ctx, rejected, func(tx *store.Tx) error {
		if err := tx.SetMeta(MetaPushed, strconv.FormatInt(seq, 10)); err != nil {
			return err
		}
		return tx.SetMeta(MetaAuditSent, strconv.FormatInt(auditSeq, 10))
	})
}

// fetchLateRefused records the late refusals pull answers announced
// (HeaderLateRefused) past MetaLateRefused: refusals of changes already
// acknowledged, parked on a restored server and refused when numbering
// resumed. The cursor moves in the transaction that records them.
func (c *Client) fetchLateRefused(ctx context.Context) error {
	for {
		after, err := c.metaInt(ctx, MetaLateRefused)
		if err != nil || after >= c.lateAnnounced.Load() {
			return err
		}
		resp, err := c.do(ctx, http.MethodGet, fmt.Sprintf("/v1/late-refused?after=%d", after), nil, map[string]string{"Accept-Encoding": "gzip"})
		if err != nil {
			return err
		}
		var lr LateRefusedResponse
		if err := decodeResp(resp, &lr); err != nil {
			return err
		}
		last := after
		rejected := make([]store.Rejection, 0, len(lr.Rejected))
		for _, r := range lr.Rejected {
			if r.LateSeq <= last {
				return fmt.Errorf("sync: late refusals out of order: %d after %d", r.LateSeq, last)
			}
			last = r.LateSeq
			rejected = append(rejected, r.Rejection)
		}
		if last == after {
			// The announced refusals are not there (a server restored in
			// between): the next pull announces them again.
			c.lateAnnounced.Store(after)
			return nil
		}
		if err := c.recordRefused(ctx, rejected, func(tx *store.Tx) error {
			return tx.SetMeta(MetaLateRefused, strconv.FormatInt(last, 10))
		}); err != nil {
			return err
		}
	}
}

// recordRefused runs move (which moves a cursor) and, in the same
// transaction, adds refused changes to MetaRejected and MetaRepair.
func (c *Client) recordRefused(ctx context.Context, rejected []store.Rejection, move func(tx *store.Tx) error) error {
	rejected, err := c.labelled(ctx, rejected)
	if err != nil {
		return err
	}
	if len(rejected) > 0 {
		c.rejMu.Lock()
		defer c.rejMu.Unlock()
	}
	var list []store.Rejection
	err = c.db.Write(ctx, store.Actor{OperatorID: "sync"}, func(tx *store.Tx) error {
		if err := move(tx); err != nil {
			return err
		}
		if len(rejected) == 0 {
			return nil
		}
		list = c.State().Rejected
		for _, r := range rejected {
			// A change pushed again (to a server restored from a backup)
			// may be refused again: it is listed once.
			if !slices.ContainsFunc(list, func(o store.Rejection) bool {
				return o.OriginSeq == r.OriginSeq && o.Table == r.Table && o.RowID == r.RowID
			}) {
				list = append(list, r)
			}
		}
		b, err := json.Marshal(list)
		if err != nil {
			return fmt.Errorf("sync: refused changes: %w", err)
		}
		if err := tx.SetMeta(MetaRejected, string(b)); err != nil {
			return err
		}
		return addRepairs(tx, rejected)
	})
	if err == nil && len(rejected) > 0 {
		c.update(func(s *State) { s.Rejected = list })
	}
	return err
}

// labelled names the records of refused changes as this replica holds them
// now, before a repair may remove them.
func (c *Client) labelled(ctx context.Context, rs []store.Rejection) ([]store.Rejection, error) {
	out := make([]store.Rejection, len(rs))
	for i, r := range rs {
		var err error
		if r.Label, err = c.db.RecordLabel(ctx, r.Table, r.RowID); err != nil {
			return nil, err
		}
		if r.Confidential, err = c.db.RowConfidential(ctx, r.Table, r.RowID); err != nil {
			return nil, err
		}
		out[i] = r
	}
	return out, nil
}

// editRejected changes the list of refused changes in the state and in
// MetaRejected together.
func (c *Client) editRejected(ctx context.Context, f func([]store.Rejection) []store.Rejection) error {
	c.rejMu.Lock()
	defer c.rejMu.Unlock()
	rs := f(c.State().Rejected)
	b, err := json.Marshal(rs)
	if err != nil {
		return fmt.Errorf("sync: refused changes: %w", err)
	}
	if err := c.db.SetMeta(ctx, MetaRejected, string(b)); err != nil {
		return err
	}
	c.update(func(s *State) { s.Rejected = rs })
	return nil
}

// DismissRejected removes the first n refused changes from the list the
// operator sees, once read (the server keeps its own record of them); those
// refused since the list was shown stay.
func (c *Client) DismissRejected(ctx context.Context, n int) error {
	if err := c.loadRejected(ctx); err != nil {
		return err
	}
	return c.editRejected(ctx, func(rs []store.Rejection) []store.Rejection {
		return append([]store.Rejection(nil), rs[min(n, len(rs)):]...)
	})
}

// Online reports whether the server answered a complete sync recently, so
// the desk can protocol online (desk.Connector).
func (c *Client) Online() bool {
	s := c.State()
	return s.Enrolled && s.Online && s.LastError == "" && time.Since(s.LastSync) < 2*c.cfg.Interval+30*time.Second
}

// SyncNow runs one push+pull now (desk.Connector).
func (c *Client) SyncNow(ctx context.Context) error { return c.SyncOnce(ctx) }

// fetchMissingBlobs downloads every attachment that rows of this replica
// name but whose file is not here: downloads interrupted after their rows
// were applied, and the files of the initial copy.
func (c *Client) fetchMissingBlobs(ctx context.Context) error {
	if v, err := c.db.Meta(ctx, MetaBlobsPending); err != nil || v != "1" {
		return err
	}
	shas, err := c.db.ReferencedBlobs(ctx)
	if err != nil {
		return err
	}
	complete := true
	for _, sha := range shas {
		if err := c.downloadBlob(ctx, sha); err != nil {
			return err
		}
		complete = complete && c.blobs.Has(sha)
	}
	if !complete {
		return nil // not on the server yet: tried again at the next sync
	}
	return c.db.SetMeta(ctx, MetaBlobsPending, "0")
}
