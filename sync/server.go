package sync

import (
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	gosync "sync"
	"sync/atomic"
	"time"

	"sportello/internal/application"
	"sportello/internal/audit"
	"sportello/internal/auth"
	"sportello/internal/catalog"
	"sportello/internal/protocol"
	"sportello/store"
)

// Limits of the server.
const (
	MaxPushBytes     = 64 << 20 // decompressed push body
	MaxPullLimit     = 5000
	DefaultPullLimit = 5000
)

// Server serves the sync endpoints over the server's replica.
type Server struct {
	db      Backend
	blobs   *store.Blobs
	uploads string // partial uploads, kept across restarts for resumption
	log     *slog.Logger

	upMu gosync.Mutex
	ups  map[string]*uploadState

	turnMu gosync.Mutex
	turns  map[string]*pushTurns // workstation -> its pushes being handled

	epochMu   gosync.Mutex
	epoch     string // the change log's epoch (store.DB.LogEpoch), read once
	epochBase int64

	// futureWarned: per workstation, when changes stamped ahead of the
	// server's clock were last logged (noteFutureClock).
	futureWarned gosync.Map
	// clockWarned: per workstation, the clock offset last
	// logged as beyond ClockTolerance, so that a clock that stays off is
	// logged once and not at every pull.
	clockWarned gosync.Map

	// programs: per workstation, the schema version of its program this
	// process last recorded (noteProgram).
	programs gosync.Map

	// nextCert is the SHA-256 (hex) of the certificate the server will
	// present next ("" none), announced on GET /v1/clock.
	nextCert atomic.Pointer[string]
}

// SetNextCertificate makes the server announce fp (hex SHA-256) as the
// certificate it will present next (HeaderNextCertificate); "" stops the
// announcement. The workstations that receive it accept that certificate
// from then on besides the one they pinned.
func (s *Server) SetNextCertificate(fp string) {
	fp = strings.ToLower(fp)
	s.nextCert.Store(&fp)
}

func (s *Server) nextCertificate() string {
	if p := s.nextCert.Load(); p != nil {
		return *p
	}
	return ""
}

// ValidFingerprint reports whether fp is a SHA-256 in hex (64 digits).
func ValidFingerprint(fp string) bool {
	return len(fp) == 64 && strings.Trim(strings.ToLower(fp), "0123456789abcdef") == ""
}

// logEpoch is the change log's epoch and the sequence it starts after.
func (s *Server) logEpoch(ctx context.Context) (string, int64, error) {
	s.epochMu.Lock()
	defer s.epochMu.Unlock()
	if s.epoch == "" {
		e, base, err := s.db.LogEpoch(ctx)
		if err != nil {
			return "", 0, err
		}
		s.epoch, s.epochBase = e, base
	}
	return s.epoch, s.epochBase, nil
}

// pushTurns orders the pushes of one workstation that are on the server at
// the same time (the client keeps two in flight): each waits for those that
// start at a lower origin seq, so they are applied in origin order.
type pushTurns struct {
	firsts map[*int64]int64 // active pushes: their first origin seq
	wake   chan struct{}    // closed when one ends
}

// awaitTurn registers a push of ws starting at first and waits until no
// other push of ws with a lower first is being handled. The returned
// function ends the push's turn.
func (s *Server) awaitTurn(ctx context.Context, ws string, first int64) func() {
	s.turnMu.Lock()
	if s.turns == nil {
		s.turns = map[string]*pushTurns{}
	}
	t := s.turns[ws]
	if t == nil {
		t = &pushTurns{firsts: map[*int64]int64{}, wake: make(chan struct{})}
		s.turns[ws] = t
	}
	key := new(int64)
	t.firsts[key] = first
	s.turnMu.Unlock()
	end := func() {
		s.turnMu.Lock()
		delete(t.firsts, key)
		close(t.wake)
		t.wake = make(chan struct{})
		if len(t.firsts) == 0 {
			delete(s.turns, ws)
		}
		s.turnMu.Unlock()
	}
	timeout := time.NewTimer(30 * time.Second) // a safety net: the DB decides anyway
	defer timeout.Stop()
	for {
		s.turnMu.Lock()
		ahead := false
		for k, f := range t.firsts {
			if k != key && f < first {
				ahead = true
				break
			}
		}
		wake := t.wake
		s.turnMu.Unlock()
		if !ahead {
			return end
		}
		select {
		case <-wake:
		case <-timeout.C:
			return end
		case <-ctx.Done():
			return end
		}
	}
}

// NewServer returns the sync server. dataDir holds the partial uploads.
func NewServer(db *store.DB, blobs *store.Blobs, dataDir string, log *slog.Logger) (*Server, error) {
	return NewServerWithBackend(SQLiteBackend{DB: db}, blobs, dataDir, log)
}

// NewServerWithBackend returns the sync server over any storage backend.
func NewServerWithBackend(db Backend, blobs *store.Blobs, dataDir string, log *slog.Logger) (*Server, error) {
	up := filepath.Join(dataDir, "uploads")
	if err := os.MkdirAll(up, 0o700); err != nil {
		return nil, fmt.Errorf("sync: uploads folder: %w", err)
	}
	return &Server{db: db, blobs: blobs, uploads: up, log: log}, nil
}

// Register mounts the endpoints on mux.
func (s *Server) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/enroll", s.enroll)
	mux.HandleFunc("POST /v1/push", s.authed(s.push))
	mux.HandleFunc("GET /v1/pull", s.authed(s.pull))
	mux.HandleFunc("GET /v1/blobs/{sha}/status", s.authed(s.blobStatus))
	mux.HandleFunc("PUT /v1/blobs/{sha}", s.authed(s.blobUpload))
	mux.HandleFunc("GET /v1/blobs/{sha}", s.authed(s.blobDownload))
	mux.HandleFunc("GET /v1/snapshot", s.authed(s.snapshot))
	mux.HandleFunc("POST /v1/refused", s.authed(s.refused))
	mux.HandleFunc("GET /v1/rejoin", s.authed(s.rejoin))
	mux.HandleFunc("POST /v1/recover-numbers", s.authed(s.recoverNumbers))
	mux.HandleFunc("GET /v1/late-refused", s.authed(s.lateRefused))
	mux.HandleFunc("GET /v1/clock", s.authed(s.clock))
}

// clock answers with the server's clock (HeaderClock), which the
// workstation measures its own against at the start of each sync.
func (s *Server) clock(w http.ResponseWriter, r *http.Request) {
	held, err := s.db.NumberingHeld(r.Context())
	if err != nil {
		s.log.Error("clock", "err", err)
		s.internal(w, nil)
		return
	}
	if held {
		w.Header().Set(HeaderNumbering, "held")
	}
	if next := s.nextCertificate(); next != "" {
		w.Header().Set(HeaderNextCertificate, next)
	}
	w.Header().Set(HeaderClock, strconv.FormatInt(s.db.Now().UnixMilli(), 10))
	w.WriteHeader(http.StatusNoContent)
}

// writeJSON answers with v. The status is already sent when the body is
// written, so a failure here means the client went away: it is logged (at
// debug level, on the process's default logger, which the server's main
// sets to its own) and the client, which has no answer, asks again.
func writeJSON(w http.ResponseWriter, status int, v any, compress bool) {
	w.Header().Set("Content-Type", "application/json")
	if compress {
		w.Header().Set("Content-Encoding", "gzip")
		w.WriteHeader(status)
		gz := gzip.NewWriter(w)
		err := json.NewEncoder(gz).Encode(v)
		if cerr := gz.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			slog.Debug("response not delivered", "status", status, "err", err)
		}
		return
	}
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		slog.Debug("response not delivered", "status", status, "err", err)
	}
}

func fail(w http.ResponseWriter, status int, code, msg string, detail error) {
	body := ErrorBody{Code: code, Message: msg}
	if detail != nil {
		body.Detail = detail.Error()
	}
	writeJSON(w, status, body, false)
}

// internal answers 500 with the generic Italian message and logs the cause
// (never sent to the client).
func (s *Server) internal(w http.ResponseWriter, err error) {
	if err != nil {
		s.log.Error("internal error", "err", err)
	}
	fail(w, http.StatusInternalServerError, CodeInternal, "Errore interno del server", nil)
}

// HashSecret is how tokens and enrolment codes are stored: SHA-256 hex.
func HashSecret(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// NewSecret returns a random URL-safe secret of n bytes.
func NewSecret(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("sync: random secret: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

type ctxKey struct{}

// schemaMismatchMessage says which program must be updated when a
// workstation's schema version (as its request states it) is not the
// server's: the workstation's when it is older, the server's when the
// workstation was updated first.
func schemaMismatchMessage(workstation string) string {
	if n, err := strconv.Atoi(workstation); err == nil && n > store.SchemaVersion() {
		return fmt.Sprintf("Il server ha una versione di Sportello precedente a quella di questa postazione (schema %d, postazione %d): la sincronizzazione riprenderà quando l'amministratore avrà aggiornato il server; nel frattempo si continua a lavorare in locale", store.SchemaVersion(), n)
	}
	return fmt.Sprintf("Questa postazione ha una versione di Sportello precedente a quella del server (schema %s, server %d): aggiornare Sportello su questa postazione; nel frattempo si continua a lavorare in locale e nulla va perso", workstation, store.SchemaVersion())
}

// noteProgram records the schema version of the program a workstation
// reached the server with (store.Tx.RecordProgram), when it differs from
// the one this server process last recorded for it: once per workstation
// after a start, and again when its program changes. A failure is logged;
// the request goes on.
func (s *Server) noteProgram(ctx context.Context, ws store.Workstation, schema int) {
	if last, ok := s.programs.Load(ws.ID); ok && last.(int) == schema {
		return
	}
	if err := s.db.Update(ctx, store.Actor{OperatorID: "server"}, func(tx BackendTx) error {
		return tx.RecordProgram(ws.ID, schema)
	}); err != nil {
		s.log.Error("record the workstation's program version", "workstation", ws.Code, "schema", schema, "err", err)
		return
	}
	s.programs.Store(ws.ID, schema)
	if schema != store.SchemaVersion() {
		s.log.Warn("workstation with another program version: its syncs are refused", "workstation", ws.Code, "schema", schema, "server_schema", store.SchemaVersion())
	}
}

func workstationOf(r *http.Request) store.Workstation {
	w, _ := r.Context().Value(ctxKey{}).(store.Workstation)
	return w
}

func (s *Server) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || tok == "" {
			fail(w, http.StatusUnauthorized, CodeUnauthorized, "Postazione non autenticata: ripetere l'abilitazione", nil)
			return
		}
		ws, err := s.db.TokenWorkstation(r.Context(), HashSecret(tok))
		switch {
		case errors.Is(err, store.ErrRevoked):
			fail(w, http.StatusForbidden, CodeRevoked, "La postazione è stata revocata dall'amministratore", nil)
			return
		case errors.Is(err, store.ErrNotFound):
			fail(w, http.StatusUnauthorized, CodeUnauthorized, "Credenziali della postazione non valide: ripetere l'abilitazione", nil)
			return
		case err != nil:
			s.log.Error("auth", "err", err)
			s.internal(w, nil)
			return
		}
		v := r.Header.Get(HeaderSchema)
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			s.noteProgram(r.Context(), ws, n)
		}
		if v != strconv.Itoa(store.SchemaVersion()) {
			fail(w, http.StatusConflict, CodeSchemaMismatch, schemaMismatchMessage(v), nil)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, ws)))
	}
}

func (s *Server) enroll(w http.ResponseWriter, r *http.Request) {
	var req EnrollRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil || req.Code == "" {
		fail(w, http.StatusBadRequest, CodeBadRequest, "Richiesta di abilitazione non valida", err)
		return
	}
	// A program of another version is refused before its code is used:
	// the code stays good for the right program, and the installation
	// the workstation has keeps its token. (Programs older than this
	// check send no version here and check the answer's themselves.)
	if v := r.Header.Get(HeaderSchema); v != "" && v != strconv.Itoa(store.SchemaVersion()) {
		fail(w, http.StatusConflict, CodeSchemaMismatch, schemaMismatchMessage(v), nil)
		return
	}
	token, err := NewSecret(32)
	if err != nil {
		s.internal(w, err)
		return
	}
	var wsID string
	var acked, ackedAudit int64
	var now time.Time
	err = s.db.Update(r.Context(), store.Actor{OperatorID: "server"}, func(tx BackendTx) error {
		now = tx.Now()
		id, err := tx.ConsumeEnrolment(HashSecret(NormalizeEnrolmentCode(req.Code)))
		if err != nil {
			return err
		}
		wsID = id
		// One installation per workstation: the one enrolled before (an
		// old computer, a lost replica) may push no more, or two replicas
		// would number their changes alike.
		if err := tx.RevokeTokens(id); err != nil {
			return err
		}
		if acked, ackedAudit, err = tx.Peer(id); err != nil {
			return err
		}
		return tx.InsertToken(HashSecret(token), id)
	})
	if errors.Is(err, store.ErrEnrolment) {
		fail(w, http.StatusForbidden, CodeEnrolment, "Codice di abilitazione non valido, già usato o scaduto", nil)
		return
	}
	if err != nil {
		s.log.Error("enroll", "err", err)
		s.internal(w, nil)
		return
	}
	ws, err := s.db.WorkstationByID(r.Context(), wsID)
	if err != nil {
		s.internal(w, err)
		return
	}
	s.log.Info("workstation enrolled", "workstation", ws.Code)
	// The new replica's clock starts from the server's (Client: HeaderClock).
	w.Header().Set(HeaderClock, strconv.FormatInt(now.UnixMilli(), 10))
	writeJSON(w, http.StatusOK, EnrollResponse{WorkstationID: ws.ID, WorkstationCode: ws.Code, Token: token, SchemaVersion: store.SchemaVersion(),
		AckedSeq: acked, AckedAuditSeq: ackedAudit, Confidential: ws.Confidential}, false)
}

// decodeBody reads a push body: gzip or not, framed (ContentTypeBatch) or
// JSON, never more than MaxPushBytes once decompressed.
func decodeBody(w http.ResponseWriter, r *http.Request, req *PushRequest) error {
	body := io.Reader(http.MaxBytesReader(w, r.Body, MaxPushBytes))
	if r.Header.Get("Content-Encoding") == "gzip" {
		gz, err := gzip.NewReader(body)
		if err != nil {
			return err
		}
		defer gz.Close()
		body = gz
	}
	lr := &io.LimitedReader{R: body, N: MaxPushBytes + 1}
	if mediaType(r.Header.Get("Content-Type")) == ContentTypeBatch {
		raw, err := io.ReadAll(lr)
		if err != nil {
			return err
		}
		if lr.N <= 0 {
			return errTooLarge
		}
		b, err := decodeBatch(raw)
		if err != nil {
			return err
		}
		req.Changes, req.Audit = b.Changes, b.Audit
		return nil
	}
	dec := json.NewDecoder(lr)
	dec.DisallowUnknownFields()
	if err := dec.Decode(req); err != nil {
		if lr.N <= 0 {
			return errTooLarge
		}
		return err
	}
	return nil
}

func mediaType(v string) string {
	t, _, _ := strings.Cut(v, ";")
	return strings.TrimSpace(strings.ToLower(t))
}

// accepts reports whether the request's Accept header lists mediaType.
func accepts(r *http.Request, mt string) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if mediaType(part) == mt {
			return true
		}
	}
	return false
}

// writeBatch answers with the framing, gzip-compressed. A write that fails
// halfway (the client went away) leaves a body without its trailer, which
// the client refuses.
func (s *Server) writeBatch(w http.ResponseWriter, b batch) {
	w.Header().Set("Content-Type", ContentTypeBatch)
	w.Header().Set("Content-Encoding", "gzip")
	w.WriteHeader(http.StatusOK)
	gz, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err == nil {
		err = encodeBatch(gz, b)
	}
	if err == nil {
		err = gz.Close()
	}
	if err != nil {
		s.log.Warn("batch response cut short", "err", err)
	}
}

var errTooLarge = errors.New("body too large")

// check re-checks one change against the workstation and the operator's
// role. st is the standing of the workstation's last transaction: a change
// of that transaction is judged as its first change was, and a change that
// starts another sets it.
func (s *Server) check(tx BackendTx, ws store.Workstation, c store.Change, data store.Fields, ops map[string]store.Operator, st *store.TxStanding) *store.Rejection {
	rej := func(code, reason string) *store.Rejection {
		return &store.Rejection{OriginSeq: c.OriginSeq, Table: c.Table, RowID: c.RowID, Code: code, Reason: reason}
	}
	if c.WorkstationID != ws.ID {
		return rej(CodeForbidden, "La modifica dichiara di provenire da un'altra postazione")
	}
	switch c.Table {
	case "protocol_numbers", "sync_conflicts", "notifications", "sync_reverts", "reclassifications":
		if c.Table == "sync_conflicts" && c.Op == "update" {
			break // resolving a conflict: any operator of the office may do it
		}
		return rej(CodeServerOnly, "Solo il server può assegnare numeri di protocollo definitivi e registrare conflitti")
	}
	// A local transaction is one act: its changes may reach the server in
	// more than one push (a batch ends anywhere), and the rest of it is
	// judged by the operator's account as its first change found it,
	// whatever was done to the account in between.
	first := st.TxID == "" || st.TxID != c.TxID || st.OperatorID != c.OperatorID
	var op store.Operator
	if first {
		var ok bool
		if op, ok = ops[c.OperatorID]; !ok {
			var err error
			if op, err = tx.OperatorByID(c.OperatorID); err != nil {
				return rej(CodeForbidden, "Operatore sconosciuto al server: la modifica non è accettata")
			}
			ops[c.OperatorID] = op // operators changed in this batch are re-read: see applyOne
		}
	}
	// An emergency period is a fact of the workstation (its protocol
	// service was interrupted; art. 63 DPR 445/2000), opened by its first
	// emergency registration whoever made it, or by an operator who had
	// the role when the desk checked it: every registration of the period
	// refers to it, so it is taken from an operator the server has
	// deactivated or given another role since. Refusing it would refuse
	// with it the registrations of every operator in that period. It is
	// the period of the workstation that sends it.
	if c.Table == "protocol_interruptions" {
		if w, ok := data["workstation_id"]; c.Op == "insert" && (!ok || w != ws.ID) {
			return rej(CodeForbidden, "Il periodo di emergenza dichiara un'altra postazione")
		}
		return nil
	}
	if first {
		// A deactivation takes effect at a workstation when it arrives
		// there: what the operator did before — a citizen saved, an
		// application filed, a registration whose number is on the
		// citizen's receipt (art. 63 wants every emergency registration
		// loaded) — was allowed as far as anyone at the desk could know,
		// and is kept. Once the workstation has pulled the deactivation
		// the desk refuses the operator's writes itself
		// (desk.ErrOperatorDeactivated); what it sends anyway is refused
		// here. The role is checked below in every case.
		allowed := op.Active
		if !allowed {
			unseen, err := tx.DeactivationUnseen(ws.ID, op.ID)
			if err != nil {
				return rej(CodeInvalidChange, "Impossibile verificare la disattivazione dell'operatore")
			}
			allowed = unseen
			if unseen {
				s.log.Warn("change by an operator deactivated since, taken: the workstation had not received the deactivation",
					"workstation", ws.Code, "operator", op.Username, "table", c.Table, "row", c.RowID)
			}
		}
		*st = store.TxStanding{TxID: c.TxID, OperatorID: c.OperatorID, Role: op.Role, Allowed: allowed}
	}
	if !st.Allowed {
		return rej(CodeForbidden, "Operatore disattivato: la modifica non è accettata")
	}
	role := auth.Role(st.Role)
	if !role.MayWrite(c.Table, stateMove(c, data)) {
		if c.Table == "applications" && (role.Can(auth.WorkApplications) || role.Can(auth.RegisterProtocol)) {
			// The offices' grant moves an application along its lifecycle
			// and registering moves it to protocollata (each with its
			// history entry), nothing else of it.
			return rej(CodeForbidden, fmt.Sprintf("Il ruolo «%s» può solo far avanzare lo stato della pratica", role.Label()))
		}
		return rej(CodeForbidden, fmt.Sprintf("Il ruolo «%s» non consente questa modifica (%s)", role.Label(), c.Table))
	}
	conf, err := tx.RowConfidentialAsFiled(c.Table, c.RowID, data)
	if err != nil {
		return rej(CodeInvalidChange, "Impossibile verificare la riservatezza del dato")
	}
	if conf && (!ws.Confidential || !role.Can(auth.ReadConfidential)) {
		// An application made confidential after the workstation last
		// pulled (Reclassify): what it sends of it was allowed as far as
		// anyone at the desk could know, as with a deactivation. Once it
		// has pulled the reclassification the application is gone there.
		unseen, err := tx.ReclassificationUnseen(ws.ID, c.Table, c.RowID, data)
		if err != nil {
			return rej(CodeInvalidChange, "Impossibile verificare la riservatezza del dato")
		}
		if !unseen {
			return rej(CodeConfidential, "Dato riservato: questa postazione o questo operatore non possono modificarlo")
		}
		s.log.Warn("change of an application reclassified since, taken: the workstation had not received the reclassification",
			"workstation", ws.Code, "table", c.Table, "row", c.RowID)
	}
	return checkProtocolled(tx, c, data)
}

// checkProtocolled refuses a change that moves an application to
// protocollata or past it, or records such a move in its history, while the
// server has no registration of it (the registration was refused: its
// operator no longer allowed to register, what it refers to never pushed):
// the application would be forwarded and closed with no protocol. A restored server holding its numbering is left alone: there a
// registration may be parked, waiting for what another workstation pushes
// again, while the move is not.
func checkProtocolled(tx BackendTx, c store.Change, data store.Fields) *store.Rejection {
	// The move itself, or its history entry (written with it: a history
	// that says the application moved when the server refused the move
	// would be false).
	app, st := setsState(c, data)
	if st.Rank() < application.Protocollata.Rank() {
		return nil
	}
	rej := func(code, reason string) *store.Rejection {
		return &store.Rejection{OriginSeq: c.OriginSeq, Table: c.Table, RowID: c.RowID, Code: code, Reason: reason}
	}
	held, err := tx.NumberingHeld()
	if err != nil {
		return rej(CodeInvalidChange, "Impossibile verificare la protocollazione della pratica")
	}
	if held {
		return nil
	}
	has, err := tx.ApplicationRegistered(app)
	if err != nil {
		return rej(CodeInvalidChange, "Impossibile verificare la protocollazione della pratica")
	}
	if !has {
		return rej(CodeConstraint, "La pratica non risulta protocollata sul server (la registrazione non è stata accettata): va protocollata di nuovo prima di procedere")
	}
	return nil
}

// created is an insert's data, nil for any other change (RevertForwarded).
func created(c store.Change, f store.Fields) store.Fields {
	if c.Op != "insert" {
		return nil
	}
	if f == nil {
		return store.Fields{}
	}
	return f
}

// setsState is the application a change sets the state of, and that
// state: an application's row written with a state, or the history entry
// of a move ("" for any other change).
func setsState(c store.Change, data store.Fields) (app string, st application.State) {
	key := "state"
	switch {
	case c.Table == "applications":
		app = c.RowID
	case c.Table == "application_history" && c.Op == "insert":
		key = "to_state"
		app, _ = data["application_id"].(string)
	default:
		return "", ""
	}
	v, _ := data[key].(string)
	return app, application.State(v)
}

// stateMove is the state a change only moves an application to: an update
// of its state alone (with its update time: what Service.Move and the
// registration write), or the history entry of a move; "" for any other
// change (auth.Role.MayWrite).
func stateMove(c store.Change, data store.Fields) application.State {
	if c.Table == "applications" {
		if c.Op != "update" {
			return ""
		}
		for k := range data {
			if k != "state" && k != "updated_at" {
				return ""
			}
		}
	}
	_, st := setsState(c, data)
	return st
}

func blobRefs(c Change) (string, bool) {
	if c.Op != "insert" || (c.Table != "application_attachments" && c.Table != "protocol_documents") {
		return "", false
	}
	var d struct {
		SHA256 string `json:"sha256"`
	}
	if json.Unmarshal(c.Data, &d) != nil || d.SHA256 == "" {
		return "", false
	}
	return d.SHA256, true
}

func (s *Server) push(w http.ResponseWriter, r *http.Request) {
	ws := workstationOf(r)
	var req PushRequest
	if err := decodeBody(w, r, &req); err != nil {
		if errors.Is(err, errTooLarge) || strings.Contains(err.Error(), "request body too large") {
			fail(w, http.StatusRequestEntityTooLarge, CodeTooLarge, "Lotto di modifiche troppo grande", err)
			return
		}
		fail(w, http.StatusBadRequest, CodeBadRequest, "Lotto di modifiche non leggibile", err)
		return
	}
	sort.SliceStable(req.Changes, func(i, j int) bool { return req.Changes[i].OriginSeq < req.Changes[j].OriginSeq })
	// Attachments must be on the server before the rows that need them.
	for _, c := range req.Changes {
		if sha, ok := blobRefs(c); ok && !s.blobs.Has(sha) {
			fail(w, http.StatusConflict, CodeBlobMissing, "Un allegato non è ancora arrivato al server", fmt.Errorf("blob %s", sha))
			return
		}
	}
	pb := prepareBatch(req, s.db)
	if n := len(req.Changes); n > 0 {
		// A workstation's clocks rise with its origin seq: the last is the highest.
		s.noteFutureClock(ws, req.Changes[n-1].HLC)
	}
	if v := r.Header.Get(HeaderRepushed); v != "" {
		var err error
		if pb.repushed, err = strconv.ParseInt(v, 10, 64); err != nil {
			fail(w, http.StatusBadRequest, CodeBadRequest, "Lotto di modifiche non leggibile", fmt.Errorf("%s: %q", HeaderRepushed, v))
			return
		}
	}
	if len(req.Changes) > 0 {
		defer s.awaitTurn(r.Context(), ws.ID, req.Changes[0].OriginSeq)()
	}
	// Most batches apply cleanly: the first attempt runs without a savepoint
	// per change. A change that fails after it started writing could leave
	// half of itself behind, so then the whole attempt is rolled back and the
	// batch is applied again with every change in its own savepoint.
	var resp PushResponse
	err := s.db.Update(r.Context(), store.Actor{OperatorID: "server"}, func(tx BackendTx) error {
		return s.applyBatch(tx, ws, pb, &resp, false)
	})
	if errors.Is(err, errRetrySafe) {
		err = s.db.Update(r.Context(), store.Actor{OperatorID: "server"}, func(tx BackendTx) error {
			return s.applyBatch(tx, ws, pb, &resp, true)
		})
	}
	if errors.Is(err, errOtherInstallation) {
		s.log.Warn("push refused: another installation of the workstation", "workstation", ws.Code, "err", err)
		fail(w, http.StatusConflict, CodeOtherInstallation, "Il server ha già, con gli stessi numeri, modifiche diverse di questa postazione: i dati di questo computer sono una copia precedente o la postazione è in uso altrove. Nulla è stato registrato; rivolgersi all'amministratore", err)
		return
	}
	if err != nil {
		s.log.Error("push", "workstation", ws.Code, "err", err)
		fail(w, http.StatusInternalServerError, CodeInternal, "Errore interno del server durante la sincronizzazione", nil)
		return
	}
	if v := r.Header.Get(HeaderAcked); v != "" {
		// Every refusal since what the workstation recorded: an earlier
		// request's answer, with its refusals, may have been lost.
		known, err := strconv.ParseInt(v, 10, 64)
		if err != nil || known < 0 {
			fail(w, http.StatusBadRequest, CodeBadRequest, "Lotto di modifiche non leggibile", fmt.Errorf("%s: %q", HeaderAcked, v))
			return
		}
		if known < resp.AckedSeq {
			if resp.Rejected, err = s.db.RejectionsBetween(r.Context(), ws.ID, known, resp.AckedSeq); err != nil {
				s.internal(w, err)
				return
			}
		}
	}
	s.log.Info("push", "workstation", ws.Code, "changes", len(req.Changes), "acked", resp.AckedSeq, "rejected", len(resp.Rejected))
	writeJSON(w, http.StatusOK, resp, true)
}

// errOtherInstallation aborts a push that numbers a change as one the
// server holds from the workstation and is not that change
// (CodeOtherInstallation).
var errOtherInstallation = errors.New("sync: another installation of the workstation")

// errRetrySafe aborts an attempt without savepoints after a change failed.
var errRetrySafe = errors.New("sync: retry the batch with savepoints")

// preparedBatch is a push with the work that needs no write done ahead,
// outside the write transaction (and, with two pushes in flight, while the
// previous one is being written): the changes' data decoded, the inserts
// of new rows built, the audit entries' hashes checked.
type preparedBatch struct {
	req     PushRequest
	data    []store.Decoded // data[i] decodes req.Changes[i].Data
	dataErr []error
	audit   []audit.Entry
	sealed  []bool // sealed[i] is audit[i].Sealed()
	// repushed (HeaderRepushed): changes up to it were acknowledged by a
	// server this one was restored from a backup of.
	repushed int64
}

// insertPreparer is a Backend that can build the inserts of new rows ahead
// of the write transaction (store.DB.PrepareInsert).
type insertPreparer interface {
	PrepareInsert(c store.Change, d *store.Decoded)
}

func prepareBatch(req PushRequest, db Backend) *preparedBatch {
	pb := &preparedBatch{req: req, data: make([]store.Decoded, len(req.Changes)), dataErr: make([]error, len(req.Changes)),
		audit: make([]audit.Entry, len(req.Audit)), sealed: make([]bool, len(req.Audit))}
	ip, _ := db.(insertPreparer)
	for i, wc := range req.Changes {
		pb.data[i], pb.dataErr[i] = store.DecodeChange(wc.Data)
		if pb.dataErr[i] == nil && ip != nil {
			ip.PrepareInsert(fromWire(wc), &pb.data[i])
		}
	}
	for i, a := range req.Audit {
		pb.audit[i] = a.Entry
		pb.audit[i].PrevHash, pb.audit[i].Hash = a.PrevHash, a.Hash
		pb.sealed[i] = pb.audit[i].Sealed()
	}
	return pb
}

// applyBatch applies a push in the caller's transaction and fills resp.
func (s *Server) applyBatch(tx BackendTx, ws store.Workstation, pb *preparedBatch, resp *PushResponse, safe bool) error {
	req := pb.req
	*resp = PushResponse{Rejected: []store.Rejection{}}
	ops := map[string]store.Operator{}
	last, lastAudit, err := tx.Peer(ws.ID)
	if err != nil {
		return err
	}
	standing, err := tx.PeerStanding(ws.ID)
	if err != nil {
		return err
	}
	before := standing
	stable, err := tx.StableHorizon()
	if err != nil {
		return err
	}
	// A restored server (numbering held) parks what refers to rows that
	// other workstations have still to push again.
	restoring, err := tx.NumberingHeld()
	if err != nil {
		return err
	}
	// A restored server cannot tell which changes the lost one accepted and
	// forwarded: a workstation whose push was applied there without its
	// answer arriving may not even notice the restore. Every refusal there
	// gets a revert record (a no-op where nobody holds the refused write).
	restored, err := tx.RestoredBackup()
	if err != nil {
		return err
	}
	// Every change of the batch is the workstation's own (else refused).
	wsStable, err := tx.StableFor(ws.ID, stable)
	if err != nil {
		return err
	}
	opts := store.ApplyOptions{RecordConflicts: true, Forward: true, Stable: wsStable}
	if opts.SeenBefore, err = tx.RestoredSince(); err != nil {
		return err
	}
	for i, wc := range req.Changes {
		if wc.OriginSeq <= last {
			// Already applied: a replay — unless it is not the change
			// the server holds under that number.
			same, err := tx.HeldChangeMatches(fromWire(wc))
			if err != nil {
				return err
			}
			if !same {
				return fmt.Errorf("%w: change %d is not the one the server holds", errOtherInstallation, wc.OriginSeq)
			}
			continue
		}
		if wc.OriginSeq != last+1 {
			break // a gap: the client resends from last+1
		}
		c := fromWire(wc)
		gone := false // an edit of a row the server refused for good
		if restoring {
			// A later change of a row whose change is parked waits behind
			// it; so does an edit of a row another workstation has still
			// to push again — not one the server refused already.
			behind, err := tx.RowParked(c.Table, c.RowID)
			if err != nil {
				return err
			}
			if !behind && c.Op == "update" {
				exists, err := tx.RowExists(c.Table, c.RowID)
				if err != nil && !errors.Is(err, store.ErrInvalidChange) {
					return err
				}
				behind = err == nil && !exists // an unknown table is refused below
				if behind {
					if gone, err = tx.RowRefused(c.Table, c.RowID); err != nil {
						return err
					}
					behind = !gone
				}
			}
			// Checked like any change before it waits: a parked change is
			// applied later without its workstation and operator at hand.
			if behind && pb.dataErr[i] == nil && s.check(tx, ws, c, pb.data[i].Fields, ops, &standing) == nil {
				if err := tx.ParkChange(ws.ID, c); err != nil {
					return err
				}
				last = c.OriginSeq
				continue
			}
		}
		var rej *store.Rejection
		if gone && pb.dataErr[i] == nil {
			// Judged like any change first, then refused: what it edits
			// is not coming.
			if rej = s.check(tx, ws, c, pb.data[i].Fields, ops, &standing); rej == nil {
				rej = &store.Rejection{OriginSeq: c.OriginSeq, Table: c.Table, RowID: c.RowID, Code: CodeConstraint, Reason: refusedReferenceReason}
			}
		} else if rej, err = s.applyOne(tx, ws, c, pb.data[i], pb.dataErr[i], ops, &standing, opts, safe); err != nil {
			return err
		}
		if rej != nil && restoring && rej.Code == CodeConstraint && strings.Contains(rej.Reason, "FOREIGN KEY") && pb.dataErr[i] == nil {
			// What it refers to may be pushed again by another
			// workstation: it waits, unless that was refused already.
			ref, err := tx.RefusedReference(c.Table, pb.data[i].Fields)
			if err != nil {
				return err
			}
			if ref != "" {
				rej.Reason = refusedReferenceReason
				s.log.Info("change refused: what it refers to was refused", "workstation", ws.Code, "origin_seq", c.OriginSeq, "table", c.Table, "refers_to", ref)
			} else {
				if err := tx.ParkChange(ws.ID, c); err != nil {
					return err
				}
				s.log.Info("change parked until what it refers to is pushed again", "workstation", ws.Code, "origin_seq", c.OriginSeq, "table", c.Table)
				rej = nil
			}
		}
		if rej != nil && (restored || c.OriginSeq <= pb.repushed) && pb.dataErr[i] == nil && !gone {
			// On a restored server: the lost server may have accepted it
			// and forwarded it. Every replica that holds it takes the
			// register's values back (during the restore window or after
			// it, for a workstation that comes back late). An edit of a
			// row refused for good needs none: the row's absent revert
			// removes it, edits and all.
			if err := tx.RevertForwarded(c.Table, c.RowID, pb.data[i].Keys, c.HLC, created(c, pb.data[i].Fields)); err != nil {
				return err
			}
		}
		if rej != nil {
			if err := tx.InsertRejection(ws.ID, *rej); err != nil {
				return err
			}
			resp.Rejected = append(resp.Rejected, *rej)
		}
		last = c.OriginSeq
	}
	if restoring {
		// What this batch brought may be what parked changes wait for.
		if _, err := retryParked(tx, stable, false); err != nil {
			return err
		}
	}
	// And rows whose refused changes' reverts wait for them.
	if _, err := tx.RevertsDue(); err != nil {
		return err
	}
	got, err := tx.ImportAudit(ws.ID, pb.audit, pb.sealed)
	var brk *audit.Break
	if errors.As(err, &brk) {
		s.log.Warn("audit chain refused", "workstation", ws.Code, "break", brk.Error())
	} else if err != nil {
		return err
	}
	if got > lastAudit {
		lastAudit = got
	}
	resp.AckedSeq, resp.AckedAuditSeq = last, lastAudit
	if standing != before {
		if err := tx.SetPeerStanding(ws.ID, standing); err != nil {
			return err
		}
	}
	return tx.SetPeer(ws.ID, last, lastAudit)
}

// applyOne checks and applies one change, then runs the server's own
// reactions (definitive protocol numbers). With safe it works in a
// savepoint, so a change that fails leaves nothing behind and is refused;
// without, a failure after the checks returns errRetrySafe.
func (s *Server) applyOne(tx BackendTx, ws store.Workstation, c store.Change, d store.Decoded, dataErr error, ops map[string]store.Operator, st *store.TxStanding, opts store.ApplyOptions, safe bool) (*store.Rejection, error) {
	var rej *store.Rejection
	wrote := false
	run := func() error {
		if dataErr != nil {
			rej = &store.Rejection{OriginSeq: c.OriginSeq, Table: c.Table, RowID: c.RowID, Code: CodeInvalidChange, Reason: "Dati della modifica non leggibili"}
			return dataErr
		}
		if c.Table == "operators" {
			delete(ops, c.RowID) // a role change applies to the rest of the batch
		}
		if rej = s.check(tx, ws, c, d.Fields, ops, st); rej != nil {
			return errors.New(rej.Code)
		}
		wrote = true
		res, err := tx.ApplyRemoteDecoded(c, d, opts)
		if err != nil {
			code, reason := CodeConstraint, "La modifica contrasta con i dati del server"
			if errors.Is(err, store.ErrInvalidChange) {
				code, reason = CodeInvalidChange, "Modifica non valida"
			}
			rej = &store.Rejection{OriginSeq: c.OriginSeq, Table: c.Table, RowID: c.RowID, Code: code, Reason: reason + ": " + err.Error()}
			return err
		}
		if !res.Duplicate && c.Table == "protocol_registrations" && c.Op == "insert" {
			return numberRegistration(tx, c.RowID)
		}
		return nil
	}
	var err error
	if safe {
		err = tx.Savepoint(run)
	} else if err = run(); err != nil && wrote {
		return nil, errRetrySafe
	}
	if err != nil && rej == nil {
		rej = &store.Rejection{OriginSeq: c.OriginSeq, Table: c.Table, RowID: c.RowID, Code: CodeConstraint, Reason: err.Error()}
	}
	return rej, nil
}

// numberRegistration gives a registration that just reached the server its
// definitive number (in arrival order, per AOO and Europe/Rome year) and
// queues the citizen's notification — unless numbering is held (a restored
// backup): then it waits for ResumeNumbering.
func numberRegistration(tx BackendTx, regID string) error {
	held, err := tx.NumberingHeld()
	if err != nil || held {
		return err
	}
	// A registration pushed again after the resume by a workstation that
	// gave back the number the lost server gave it gets that one.
	if reserved, err := tx.TakeReservedNumber(regID); err != nil || reserved {
		return err
	}
	_, err = assignNumber(tx, regID)
	return err
}

// aooOf is the AOO code of the municipality setting ("AOO" when unset).
func aooOf(tx BackendTx) (string, error) {
	raw, err := tx.Setting(store.SettingMunicipality)
	if err != nil {
		return "", err
	}
	var m catalog.Municipality
	if raw != "" {
		if err := json.Unmarshal([]byte(raw), &m); err != nil {
			return "", fmt.Errorf("sync: municipality setting: %w", err)
		}
	}
	if m.AOOCode == "" {
		return "AOO", nil
	}
	return m.AOOCode, nil
}

// assignNumber gives regID its definitive number (or reads the one it has)
// and queues the citizen's notification of a new one.
func assignNumber(tx BackendTx, regID string) (int64, error) {
	aoo, err := aooOf(tx)
	if err != nil {
		return 0, err
	}
	_, year := protocol.LegalDate(tx.Now())
	n, fresh, err := tx.AssignProtocolNumber(regID, aoo, year)
	if err != nil || !fresh {
		return n, err
	}
	return n, tx.QueueProtocolNotification(regID)
}

// Resumed is what ResumeNumbering did.
type Resumed struct {
	Year        int   // the register numbering resumed in (the current one)
	Count       int   // registrations that waited and got their numbers now
	First, Last int64 // the first and last of those numbers (0 when none)
}

// ResumeYearError: the register year numbering resumes in is not the one
// the administrator meant, or must be confirmed because the year turned
// after the backup copy was made (after is a number of that year's
// register, not the copy's).
type ResumeYearError struct {
	Current int // the register numbering resumes in
	Copy    int // the year the backup copy was made in
	Given   int // the year the administrator confirmed (0: none)
}

func (e *ResumeYearError) Error() string {
	if e.Given != 0 {
		return fmt.Sprintf("sync: numbering resumes in the register of %d, not of %d", e.Current, e.Given)
	}
	return fmt.Sprintf("sync: the backup copy was made in %d and numbering resumes in the register of %d: the year must be confirmed", e.Copy, e.Current)
}

// Message explains it to the administrator, in Italian.
func (e *ResumeYearError) Message() string {
	if e.Given != 0 {
		return fmt.Sprintf("La numerazione riprende nel registro dell'anno in corso (%d), non del %d: indicare con -after l'ultimo numero dato nel %d dal server perso e con -year %d",
			e.Current, e.Given, e.Current, e.Current)
	}
	return fmt.Sprintf("La copia di sicurezza è del %d e la numerazione riprende nel registro del %d, che ricomincia da 1: "+
		"indicare con -after l'ultimo numero dato nel %d dal server perso (0 se non ne ha dati dal 1° gennaio) e confermare l'anno con -year %d. "+
		"I numeri del %d dati dopo la copia non vanno indicati: quelli che le postazioni restituiscono restano validi",
		e.Copy, e.Current, e.Current, e.Current, e.Copy)
}

// ResumeNumbering ends the hold on definitive numbering of a server
// restored from a backup: after is the last number its register reached
// in the current year (the daily register exports and the workstations
// say which); the registrations that arrived meanwhile get theirs now, in
// arrival order. year confirms which register after belongs to: 0 takes
// the current one, unless the year turned since the backup copy was made
// — then an after read from the copy's year would make the new register
// start past 1, and the year must be given (*ResumeYearError).
func ResumeNumbering(ctx context.Context, db *store.DB, after int64, year int) (Resumed, error) {
	var res Resumed
	err := db.Write(ctx, store.Actor{OperatorID: "server"}, func(tx *store.Tx) error {
		res = Resumed{}
		_, current := protocol.LegalDate(tx.Now())
		copyYear, err := tx.CopyYear()
		if err != nil {
			return err
		}
		switch {
		case year != 0 && year != current:
			return &ResumeYearError{Current: current, Copy: copyYear, Given: year}
		case year == 0 && copyYear != 0 && copyYear < current:
			return &ResumeYearError{Current: current, Copy: copyYear}
		}
		res.Year = current
		aoo, err := aooOf(tx)
		if err != nil {
			return err
		}
		// The restore window ends: what is still parked is refused (its
		// workstation reads why after its next pull: late refusals).
		stable, err := tx.StableHorizon()
		if err != nil {
			return err
		}
		if _, err := retryParked(tx, stable, true); err != nil {
			return err
		}
		if _, err := tx.RevertsDue(); err != nil {
			return err
		}
		// Re-assertions queued by an earlier version (revert records
		// replaced them, migration 0013).
		if _, err := tx.ReassertQueued(); err != nil {
			return err
		}
		waiting, err := tx.ResumeNumbering(aoo, current, after)
		if err != nil {
			return err
		}
		for _, id := range waiting {
			num, err := assignNumber(tx, id)
			if err != nil {
				return err
			}
			if res.First == 0 {
				res.First = num
			}
			res.Last = num
		}
		res.Count = len(waiting)
		return nil
	})
	return res, err
}

// refusedReferenceReason is why a change that refers to a record the
// restored server refused is refused too (store.Tx.RefusedReference).
const refusedReferenceReason = "La modifica si riferisce a un dato che il server non ha accettato (rifiutato quando la postazione lo ha inviato di nuovo dopo il ripristino): va rifatta se serve"

// errRefusedReference: a parked change refers to a record the restored
// server refused.
var errRefusedReference = errors.New("sync: refers to a record the server refused")

// retryParked applies the parked changes whose rows they refer to have
// arrived, each in a savepoint, as long as one more applies; a change that
// fails for another reason is refused. With final, what still refers to a
// missing row is refused too. It returns how many were applied.
func retryParked(tx BackendTx, stable string, final bool) (int, error) {
	opts := store.ApplyOptions{RecordConflicts: true, Forward: true, Stable: stable}
	var err error
	if opts.SeenBefore, err = tx.RestoredSince(); err != nil {
		return 0, err
	}
	applied := 0
	for {
		cs, err := tx.ParkedChanges()
		if err != nil {
			return applied, err
		}
		progress := false
		for _, c := range cs {
			waiting := false
			err := tx.Savepoint(func() error {
				// A later change of a row still parked waits behind it.
				for _, o := range cs {
					if o.Table == c.Table && o.RowID == c.RowID && o.WorkstationID == c.WorkstationID && o.OriginSeq < c.OriginSeq {
						waiting = true
						return errParkedBehind
					}
				}
				if c.Op == "update" && !final {
					exists, err := tx.RowExists(c.Table, c.RowID)
					if err != nil {
						return err
					}
					if !exists {
						gone, err := tx.RowRefused(c.Table, c.RowID)
						if err != nil {
							return err
						}
						if gone {
							return errRefusedReference
						}
						waiting = true
						return errParkedBehind
					}
				}
				d, err := store.DecodeChange(c.Data)
				if err != nil {
					return fmt.Errorf("%w: data: %v", store.ErrInvalidChange, err)
				}
				o := opts
				if o.Stable, err = tx.StableFor(c.WorkstationID, stable); err != nil {
					return err
				}
				res, err := tx.ApplyRemoteDecoded(c, d, o)
				if err != nil {
					waiting = strings.Contains(err.Error(), "FOREIGN KEY")
					if waiting {
						// Refused at once if what it waits for was refused.
						ref, rerr := tx.RefusedReference(c.Table, d.Fields)
						if rerr != nil {
							return rerr
						}
						if ref != "" {
							waiting = false
							return errRefusedReference
						}
					}
					return err
				}
				if !res.Duplicate && c.Table == "protocol_registrations" && c.Op == "insert" {
					return numberRegistration(tx, c.RowID)
				}
				return nil
			})
			switch {
			case err == nil:
				applied++
				progress = true
				if err := tx.UnparkChange(c.WorkstationID, c.OriginSeq); err != nil {
					return applied, err
				}
			case waiting && !final:
			default:
				if err := tx.UnparkChange(c.WorkstationID, c.OriginSeq); err != nil {
					return applied, err
				}
				// Acknowledged when it was parked: its workstation reads
				// the refusal from GET /v1/late-refused.
				reason := "La modifica si riferisce a dati che il server ripristinato non ha ricevuto: " + err.Error()
				if errors.Is(err, errRefusedReference) {
					reason = refusedReferenceReason
				}
				if err := tx.InsertLateRejection(c.WorkstationID, store.Rejection{OriginSeq: c.OriginSeq, Table: c.Table, RowID: c.RowID, Code: CodeConstraint,
					Reason: reason}); err != nil {
					return applied, err
				}
				// Pushed again, it may have been forwarded by the lost
				// server: reverted wherever it is held, now or once its row
				// arrives — not an edit of a row refused for good, which
				// the row's absent revert removes.
				if d, derr := store.DecodeChange(c.Data); derr == nil && !(errors.Is(err, errRefusedReference) && c.Op == "update") {
					if err := tx.RevertForwarded(c.Table, c.RowID, d.Keys, c.HLC, created(c, d.Fields)); err != nil {
						return applied, err
					}
				}
			}
		}
		if !progress {
			return applied, nil
		}
	}
}

var errParkedBehind = errors.New("sync: behind a parked change of the same row")
