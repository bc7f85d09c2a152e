// Package desk is the service layer of the desktop application: every
// operation of the desk (registry, applications, attachments, completeness,
// protocol, PDFs, login) as one call that checks the operator's role, applies
// the domain rules and writes through the store in one transaction. Screens
// call this package and nothing below it.
package desk

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"sportello/internal/auth"
	"sportello/internal/catalog"
	"sportello/store"
)

// Service is the desk's API over one local replica.
type Service struct {
	db    *store.DB
	blobs *store.Blobs

	mu   sync.RWMutex
	cat  *catalog.Catalog
	conn Connector
}

// Connector is what the desk needs of the sync client: whether the server
// answered recently, and a synchronous push+pull.
type Connector interface {
	Online() bool
	SyncNow(ctx context.Context) error
}

// SetConnector attaches the sync client (nil = never online).
func (s *Service) SetConnector(c Connector) {
	s.mu.Lock()
	s.conn = c
	s.mu.Unlock()
}

func (s *Service) connector() Connector {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.conn
}

// Session is a logged-in operator.
type Session struct {
	OperatorID string
	Username   string
	FullName   string
	Role       auth.Role
	OfficeID   string
}

func (s Session) actor() store.Actor { return store.Actor{OperatorID: s.OperatorID} }

// write runs fn in one write transaction for sess, after checking in it
// that sess's operator is still active on this replica, with the role the
// session was opened with: a deactivation or a new role the desk pulled
// while the operator was logged in ends what that session may save. The
// server refuses what an operator does once the workstation has the
// deactivation, and judges every change by the role it holds now. The
// service's own sessions (System, the server's administration) have no
// operator account to check.
func (s *Service) write(ctx context.Context, sess Session, fn func(*store.Tx) error) error {
	return s.db.Write(ctx, sess.actor(), func(tx *store.Tx) error {
		o, err := tx.OperatorByID(sess.OperatorID)
		if err := sessionStanding(sess, o, err); err != nil {
			return err
		}
		return fn(tx)
	})
}

// CheckSession reports whether sess may still save on this replica: nil,
// ErrOperatorDeactivated or ErrRoleChanged (the interface asks for a new
// login when a sync brings either).
func (s *Service) CheckSession(ctx context.Context, sess Session) error {
	o, err := s.db.OperatorByID(ctx, sess.OperatorID)
	return sessionStanding(sess, o, err)
}

// sessionStanding judges sess by its operator's account as read (err: how
// reading it went; store.ErrNotFound for the service's own sessions).
func sessionStanding(sess Session, o store.Operator, err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("desk: operator of the session: %w", err)
	case !o.Active:
		return ErrOperatorDeactivated
	case o.Role != string(sess.Role):
		return ErrRoleChanged
	}
	return nil
}

// ErrOperatorDeactivated is the error (errors.Is) of a change by an operator
// whom the administrator deactivated while logged in.
var ErrOperatorDeactivated = &Error{Message: "L'utenza è stata disattivata dall'amministratore: la modifica non è salvata. Chiudere la sessione e rivolgersi all'amministratore"}

// ErrRoleChanged is the error (errors.Is) of a change by an operator whose
// role the administrator changed while logged in.
var ErrRoleChanged = &Error{Message: "Il ruolo dell'utenza è stato cambiato dall'amministratore: la modifica non è salvata. Chiudere la sessione e accedere di nuovo"}

// System is the session used for seeding and maintenance.
var System = Session{OperatorID: "system", Username: "system", FullName: "Sistema", Role: auth.Amministratore}

// Error is a failure the operator can act on: Message is Italian, Problems
// lists the details, Err (if any) is the precise cause for logs and programs.
type Error struct {
	Message  string
	Problems []string
	Err      error
}

func (e *Error) Error() string {
	msg := e.Message
	if len(e.Problems) > 0 {
		msg += ": " + strings.Join(e.Problems, "; ")
	}
	if e.Err != nil {
		msg += " (" + e.Err.Error() + ")"
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

func userErr(msg string, problems ...string) error { return &Error{Message: msg, Problems: problems} }

// UserMessage returns the Italian text to show for err.
func UserMessage(err error) string {
	var de *Error
	if errors.As(err, &de) {
		if len(de.Problems) > 0 {
			return de.Message + ":\n• " + strings.Join(de.Problems, "\n• ")
		}
		if de.Err != nil {
			return de.Message + ": " + de.Err.Error()
		}
		return de.Message
	}
	if errors.Is(err, auth.ErrForbidden) {
		// auth.Role.Require's text, however deep it was wrapped.
		msg, mark := err.Error(), auth.ErrForbidden.Error()+": "
		if i := strings.LastIndex(msg, mark); i >= 0 {
			return msg[i+len(mark):]
		}
		return "Operazione non consentita a questo ruolo"
	}
	if errors.Is(err, store.ErrNotFound) {
		return "Il dato richiesto non esiste (potrebbe non essere ancora arrivato con la sincronizzazione)"
	}
	if errors.Is(err, context.Canceled) {
		return "Operazione annullata"
	}
	return "Errore imprevisto: l'operazione non è stata eseguita e nulla di quanto già salvato è cambiato. Dettagli: " + err.Error()
}

// Options configure Open.
type Options struct {
	// Synchronous overrides the SQLite durability level (default FULL).
	Synchronous string
	// Now is the clock (tests).
	Now func() time.Time
}

// Open opens the replica in dataDir (creating it): database sportello.db and
// the blob folder blobs/.
func Open(ctx context.Context, dataDir string, o Options) (*Service, error) {
	db, err := store.Open(ctx, filepath.Join(dataDir, store.DBFile), store.Options{Synchronous: o.Synchronous, Now: o.Now})
	if err != nil {
		return nil, fmt.Errorf("desk: open replica: %w", err)
	}
	blobs, err := store.OpenBlobs(filepath.Join(dataDir, "blobs"))
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("desk: open attachments: %w", err)
	}
	return &Service{db: db, blobs: blobs}, nil
}

// Close closes the replica.
func (s *Service) Close() error { return s.db.Close() }

// DB exposes the store to the sync package and to tests; screens must not use it.
func (s *Service) DB() *store.DB { return s.db }

// Blobs exposes the attachment store to the sync package and to tests.
func (s *Service) Blobs() *store.Blobs { return s.blobs }

// Catalog returns the current catalog (cached; reloaded after imports).
func (s *Service) Catalog(ctx context.Context) (*catalog.Catalog, error) {
	s.mu.RLock()
	c := s.cat
	s.mu.RUnlock()
	if c != nil {
		return c, nil
	}
	c, err := s.db.Catalog(ctx)
	if err != nil {
		return nil, fmt.Errorf("desk: load catalog: %w", err)
	}
	s.mu.Lock()
	s.cat = c
	s.mu.Unlock()
	return c, nil
}

// InvalidateCatalog drops the cached catalog (after sync brings a new one).
func (s *Service) InvalidateCatalog() {
	s.mu.Lock()
	s.cat = nil
	s.mu.Unlock()
}

// ImportCatalog validates and stores a catalog.
func (s *Service) ImportCatalog(ctx context.Context, sess Session, c *catalog.Catalog) error {
	if err := sess.Role.Require(auth.ManageCatalog); err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		return &Error{Message: "Il catalogo non è valido", Err: err}
	}
	if err := s.write(ctx, sess, func(tx *store.Tx) error { return tx.PutCatalog(c) }); err != nil {
		return fmt.Errorf("desk: import catalog: %w", err)
	}
	s.InvalidateCatalog()
	return nil
}

func (s *Service) procedure(ctx context.Context, id string) (catalog.Procedure, catalog.Office, error) {
	c, err := s.Catalog(ctx)
	if err != nil {
		return catalog.Procedure{}, catalog.Office{}, err
	}
	p, ok := c.Procedure(id)
	if !ok {
		return p, catalog.Office{}, userErr(fmt.Sprintf("Il procedimento «%s» non è nel catalogo", id))
	}
	o, _ := c.Office(p.OfficeID)
	return p, o, nil
}

// Login checks an operator's password against the replicated hash, so it
// works offline. The error never says whether the user name exists.
func (s *Service) Login(ctx context.Context, username, password string) (Session, error) {
	bad := userErr("Nome utente o password non corretti")
	o, err := s.db.OperatorByUsername(ctx, strings.TrimSpace(strings.ToLower(username)))
	if errors.Is(err, store.ErrNotFound) {
		// Spend the same time as a real check so the answer does not reveal the name.
		auth.CheckPassword(dummyHash, password) //nolint:errcheck // timing only
		return Session{}, bad
	}
	if err != nil {
		return Session{}, fmt.Errorf("desk: login: %w", err)
	}
	ok, err := auth.CheckPassword(o.PasswordHash, password)
	if err != nil {
		return Session{}, fmt.Errorf("desk: login %s: %w", username, err)
	}
	if !ok {
		return Session{}, bad
	}
	if !o.Active {
		return Session{}, userErr("L'utenza è disattivata: rivolgersi all'amministratore")
	}
	sess := Session{OperatorID: o.ID, Username: o.Username, FullName: o.FullName, Role: auth.Role(o.Role), OfficeID: o.OfficeID}
	if err := s.write(ctx, sess, func(tx *store.Tx) error {
		return tx.Audit("login", "operators", o.ID, `{}`, "")
	}); err != nil {
		return Session{}, fmt.Errorf("desk: record login: %w", err)
	}
	return sess, nil
}

// dummyHash is checked when the user does not exist (same cost as a real one).
const dummyHash = "$argon2id$v=19$m=65536,t=3,p=2$c29tZXNhbHRzb21lc2FsdA$0000000000000000000000000000000000000000000"

// CreateOperator adds or updates an operator account with a new password.
// An existing account keeps its state: a deactivated operator whose
// password or role is changed stays deactivated (SetOperatorActive).
func (s *Service) CreateOperator(ctx context.Context, sess Session, id, username, fullName string, role auth.Role, officeID, password string) error {
	if err := sess.Role.Require(auth.ManageOperators); err != nil {
		return err
	}
	if !role.Valid() {
		return userErr(fmt.Sprintf("Ruolo «%s» sconosciuto", role))
	}
	if len(password) < 8 {
		return userErr("La password deve avere almeno 8 caratteri")
	}
	username = strings.TrimSpace(strings.ToLower(username))
	if username == "" || strings.TrimSpace(fullName) == "" {
		return userErr("Nome utente e nome completo sono obbligatori")
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return fmt.Errorf("desk: hash password: %w", err)
	}
	return s.write(ctx, sess, func(tx *store.Tx) error {
		active := true
		if o, err := tx.OperatorByID(id); err == nil {
			active = o.Active
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		_, err := tx.PutOperator(store.Operator{ID: id, Username: username, FullName: fullName, Role: string(role), OfficeID: officeID, PasswordHash: hash, Active: active})
		return err
	})
}

// SetOperatorActive deactivates or reactivates an operator account. Every
// workstation refuses the operator's work once the change reaches it (the
// server keeps what was done before that: sync.Server's re-check); an
// account already in that state is left as it is (no new change).
func (s *Service) SetOperatorActive(ctx context.Context, sess Session, id string, active bool) (store.Operator, error) {
	if err := sess.Role.Require(auth.ManageOperators); err != nil {
		return store.Operator{}, err
	}
	if !active && id == sess.OperatorID {
		return store.Operator{}, userErr("Non è possibile disattivare la propria utenza")
	}
	var o store.Operator
	err := s.write(ctx, sess, func(tx *store.Tx) error {
		var err error
		if o, err = tx.OperatorByID(id); err != nil {
			return err
		}
		if o.Active == active {
			return nil
		}
		o.Active = active
		_, err = tx.PutOperator(o)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return o, userErr("Operatore sconosciuto")
	}
	if err != nil {
		return o, fmt.Errorf("desk: set operator %s active=%v: %w", id, active, err)
	}
	return o, nil
}

// ErrNotConfidentialWorkstation is the error (errors.Is) of an operation on
// confidential records at a workstation the server does not let hold them.
var ErrNotConfidentialWorkstation = &Error{Message: "Questa postazione non è abilitata ai dati riservati: la pratica va aperta in una postazione dei colloqui"}

// requireConfidentialWorkstation refuses, before anything is written, a
// confidential record created at an enrolled workstation that is not an
// interview room or otherwise allowed confidential records: the server would
// refuse it at the next sync (sync.CodeConfidential), after the operator had
// been told it was saved, and it would stay on a replica that may not hold
// it. A standalone installation (no workstation record: never enrolled) has
// no server to answer to.
func (s *Service) requireConfidentialWorkstation(ctx context.Context) error {
	w, err := s.db.WorkstationByID(ctx, s.db.WorkstationID())
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("desk: read this workstation: %w", err)
	}
	if !w.Confidential {
		return ErrNotConfidentialWorkstation
	}
	return nil
}
