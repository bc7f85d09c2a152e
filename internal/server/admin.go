package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"sportello/internal/auth"
	"sportello/internal/desk"
	"sportello/internal/hlc"
	"sportello/internal/ids"
	"sportello/store"
	"sportello/sync"
)

// Admin is the session of the server's administrative commands.
var Admin = desk.Session{OperatorID: "server-admin", Username: "server-admin", FullName: "Amministrazione del server", Role: auth.Amministratore}

// Local settings (local_meta keys) of the server. The SMTP password is kept
// here only: local_meta is never replicated nor copied into snapshots.
const (
	MetaInitialized  = "server_initialized"
	MetaSMTPHost     = "smtp_host"
	MetaSMTPPort     = "smtp_port"
	MetaSMTPUser     = "smtp_user"
	MetaSMTPFrom     = "smtp_from"
	MetaSMTPPassword = "smtp_password"
)

// SMTP is the mail server the notification sender uses. Empty fields are
// left as they are when stored.
type SMTP struct {
	Host, Port, User, From, Password string
}

// Setup is what `sportello-server serve` applies at start.
type Setup struct {
	NoDemo  bool   // do not seed the demo municipality on first start
	AOOCode string // stored in the municipality setting when not empty
	AOOName string
	SMTP    SMTP
}

// Initialize prepares the server's replica at start: on the first start of a
// data folder it seeds the demo municipality (unless NoDemo), then records
// the AOO and SMTP settings given. It reports whether the demo was seeded.
func Initialize(ctx context.Context, svc *desk.Service, o Setup) (bool, error) {
	db := svc.DB()
	done, err := db.Meta(ctx, MetaInitialized)
	if err != nil {
		return false, err
	}
	seeded := false
	if done == "" {
		if !o.NoDemo {
			if seeded, err = svc.SeedDemo(ctx); err != nil {
				return false, err
			}
		}
		if err := db.SetMeta(ctx, MetaInitialized, store.FormatInstant(db.Now())); err != nil {
			return seeded, err
		}
	}
	if o.AOOCode != "" || o.AOOName != "" {
		if err := SetAOO(ctx, svc, o.AOOCode, o.AOOName); err != nil {
			return seeded, err
		}
	}
	return seeded, StoreSMTP(ctx, db, o.SMTP)
}

// SetAOO records the AOO code and name in the catalog's municipality
// setting (replicated to the workstations). Empty values are left as they are.
func SetAOO(ctx context.Context, svc *desk.Service, code, name string) error {
	code, name = strings.TrimSpace(code), strings.TrimSpace(name)
	c, err := svc.DB().Catalog(ctx)
	if err != nil {
		return err
	}
	if len(c.Procedures) == 0 {
		return &desk.Error{Message: "Per indicare l'AOO serve il catalogo del Comune: importarlo prima con «sportello-server catalog import FILE»"}
	}
	m := c.Municipality
	if code != "" {
		m.AOOCode = code
	}
	if name != "" {
		m.AOOName = name
	}
	if m == c.Municipality {
		return nil
	}
	c.Municipality = m
	return svc.ImportCatalog(ctx, Admin, c)
}

// StoreSMTP records the SMTP settings given (empty fields are left alone).
func StoreSMTP(ctx context.Context, db *store.DB, s SMTP) error {
	for key, v := range map[string]string{MetaSMTPHost: s.Host, MetaSMTPPort: s.Port, MetaSMTPUser: s.User, MetaSMTPFrom: s.From, MetaSMTPPassword: s.Password} {
		if v == "" {
			continue
		}
		if err := db.SetMeta(ctx, key, v); err != nil {
			return err
		}
	}
	return nil
}

// LoadSMTP reads the stored SMTP settings.
func LoadSMTP(ctx context.Context, db *store.DB) (SMTP, error) {
	var s SMTP
	for key, dst := range map[string]*string{MetaSMTPHost: &s.Host, MetaSMTPPort: &s.Port, MetaSMTPUser: &s.User, MetaSMTPFrom: &s.From, MetaSMTPPassword: &s.Password} {
		v, err := db.Meta(ctx, key)
		if err != nil {
			return s, err
		}
		*dst = v
	}
	return s, nil
}

// AddOperator creates an operator account, or updates the one with the same
// user name (new name, role, office and password). It reports whether the
// account is new.
func AddOperator(ctx context.Context, svc *desk.Service, username, fullName string, role auth.Role, officeID, password string) (bool, error) {
	username = strings.TrimSpace(strings.ToLower(username))
	if !role.Valid() {
		names := make([]string, len(auth.Roles))
		for i, r := range auth.Roles {
			names[i] = string(r)
		}
		return false, &desk.Error{Message: fmt.Sprintf("Ruolo «%s» sconosciuto: usare uno di %s", role, strings.Join(names, ", "))}
	}
	if officeID != "" {
		c, err := svc.Catalog(ctx)
		if err != nil {
			return false, err
		}
		if _, ok := c.Office(officeID); !ok {
			return false, &desk.Error{Message: fmt.Sprintf("L'ufficio «%s» non è nel catalogo", officeID)}
		}
	}
	id, created := ids.New(), true
	existing, err := svc.DB().OperatorByUsername(ctx, username)
	switch {
	case err == nil:
		id, created = existing.ID, false
	case !errors.Is(err, store.ErrNotFound):
		return false, err
	}
	return created, svc.CreateOperator(ctx, Admin, id, username, fullName, role, officeID, password)
}

// SetOperatorActive deactivates or reactivates the operator with that user
// name, with Italian messages for the administrator's mistakes.
func SetOperatorActive(ctx context.Context, svc *desk.Service, username string, active bool) (store.Operator, error) {
	username = strings.TrimSpace(strings.ToLower(username))
	o, err := svc.DB().OperatorByUsername(ctx, username)
	if errors.Is(err, store.ErrNotFound) {
		return o, &desk.Error{Message: fmt.Sprintf("Nessun operatore con nome utente «%s»", username)}
	}
	if err != nil {
		return o, err
	}
	return svc.SetOperatorActive(ctx, Admin, o.ID, active)
}

// OperatorInfo is one row of `operator list` (no password hash).
type OperatorInfo struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	FullName string `json:"full_name"`
	Role     string `json:"role"`
	OfficeID string `json:"office_id"`
	Active   bool   `json:"active"`
}

// Operators lists the operator accounts.
func Operators(ctx context.Context, db *store.DB) ([]OperatorInfo, error) {
	ops, err := db.Operators(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]OperatorInfo, len(ops))
	for i, o := range ops {
		out[i] = OperatorInfo{ID: o.ID, Username: o.Username, FullName: o.FullName, Role: o.Role, OfficeID: o.OfficeID, Active: o.Active}
	}
	return out, nil
}

// CreateWorkstation registers a workstation and returns its one-time
// enrolment code, with Italian messages for the administrator's mistakes.
func CreateWorkstation(ctx context.Context, db *store.DB, code, name, kind string, confidential bool) (store.Workstation, string, error) {
	switch kind {
	case "desk", "interview", "protocol", "laptop":
	default:
		return store.Workstation{}, "", &desk.Error{Message: fmt.Sprintf("Tipo di postazione «%s» non valido: usare desk, interview, protocol o laptop", kind)}
	}
	c := strings.ToUpper(strings.TrimSpace(code))
	if c == "" || strings.ContainsAny(c, " /\\") || len(c) > 16 {
		return store.Workstation{}, "", &desk.Error{Message: fmt.Sprintf("Codice di postazione «%s» non valido: da 1 a 16 caratteri, senza spazi né barre", code)}
	}
	if strings.TrimSpace(name) == "" {
		return store.Workstation{}, "", &desk.Error{Message: "Indicare il nome della postazione (-name)"}
	}
	if ws, err := db.WorkstationByCode(ctx, c); err == nil && ws.RevokedAt != "" {
		return ws, "", &desk.Error{Message: fmt.Sprintf("La postazione %s è stata revocata: usare un nuovo codice", c)}
	}
	return sync.CreateWorkstation(ctx, db, c, strings.TrimSpace(name), kind, confidential)
}

// RevokeWorkstation revokes a workstation: its next request is refused.
func RevokeWorkstation(ctx context.Context, db *store.DB, code string) error {
	err := sync.RevokeWorkstation(ctx, db, code)
	if errors.Is(err, store.ErrNotFound) {
		return &desk.Error{Message: fmt.Sprintf("Nessuna postazione con codice «%s»", strings.ToUpper(strings.TrimSpace(code)))}
	}
	return err
}

// WorkstationInfo is one row of `workstation list`.
type WorkstationInfo struct {
	ID           string `json:"id"`
	Code         string `json:"code"`
	Name         string `json:"name"`
	Kind         string `json:"kind"`
	Confidential bool   `json:"confidential"`
	Active       bool   `json:"active"`
	RevokedAt    string `json:"revoked_at"`
	Enrolled     bool   `json:"enrolled"`     // a token was issued
	LastSeenAt   string `json:"last_seen_at"` // last push
	LastSeq      int64  `json:"last_seq"`     // last change received
	// SyncedUpTo is the instant of the workstation's floor: every change
	// it will still push is later ("" until it reports one).
	SyncedUpTo string `json:"synced_up_to"`
	// HoldsHorizon marks the workstation whose floor is the stable horizon
	// (store.Tx.StableHorizon): while it does not sync, initial copies
	// keep the field versions written since.
	HoldsHorizon bool `json:"holds_horizon"`
	// ClockOffsetMs is the workstation's clock minus the server's, in
	// milliseconds, measured at its last pull (ClockCheckedAt; "" never).
	ClockOffsetMs  int64  `json:"clock_offset_ms"`
	ClockCheckedAt string `json:"clock_checked_at"`
	// NextCertificate is the server's next certificate the workstation
	// said it holds (sync.HeaderNextCertificate), "" none.
	NextCertificate string `json:"next_certificate"`
	// ProgramSchema is the schema version of the program the workstation
	// last reached the server with, at ProgramSeenAt (0, "": not since
	// the server recorded it).
	ProgramSchema int    `json:"program_schema"`
	ProgramSeenAt string `json:"program_seen_at"`
}

// Workstations lists the workstations known to the server, by code.
func Workstations(ctx context.Context, db *store.DB) ([]WorkstationInfo, error) {
	// store.Querier reads single rows: the list travels as one JSON array.
	var raw string
	err := db.Read(ctx, func(q store.Querier) error {
		return q.QueryRow(`SELECT COALESCE(json_group_array(json_object('id', id, 'code', code, 'name', name, 'kind', kind,
				'confidential', json(CASE WHEN confidential THEN 'true' ELSE 'false' END), 'active', json(CASE WHEN active THEN 'true' ELSE 'false' END),
				'revoked_at', revoked_at, 'enrolled', json(CASE WHEN enrolled THEN 'true' ELSE 'false' END), 'last_seen_at', last_seen_at, 'last_seq', last_seq,
				'floor', floor, 'counts', json(CASE WHEN counts THEN 'true' ELSE 'false' END),
				'clock_offset_ms', clock_offset_ms, 'clock_checked_at', clock_checked_at, 'next_certificate', next_certificate,
				'program_schema', program_schema, 'program_seen_at', program_seen_at)), '[]')
			FROM (SELECT w.id, w.code, w.name, w.kind, w.confidential, w.active, w.revoked_at,
					EXISTS (SELECT 1 FROM sync_tokens t WHERE t.workstation_id = w.id) AS enrolled,
					COALESCE(p.last_seen_at, '') AS last_seen_at, COALESCE(p.last_seq, 0) AS last_seq, COALESCE(p.floor_hlc, '') AS floor,
					COALESCE(p.clock_offset_ms, 0) AS clock_offset_ms, COALESCE(p.clock_checked_at, '') AS clock_checked_at,
					COALESCE(p.next_certificate, '') AS next_certificate,
					COALESCE(p.program_schema, 0) AS program_schema, COALESCE(p.program_seen_at, '') AS program_seen_at,
					(w.active = 1 AND w.revoked_at = '' AND EXISTS (SELECT 1 FROM sync_tokens k WHERE k.workstation_id = w.id AND k.revoked_at = '')) AS counts
				FROM workstations w LEFT JOIN sync_peers p ON p.workstation_id = w.id ORDER BY w.code)`).Scan(&raw)
	})
	if err != nil {
		return nil, fmt.Errorf("server: list workstations: %w", err)
	}
	var rows []struct {
		WorkstationInfo
		Floor  string `json:"floor"`  // sync_peers.floor_hlc
		Counts bool   `json:"counts"` // counts for the stable horizon: active, not revoked, with a valid token
	}
	if err := json.Unmarshal([]byte(raw), &rows); err != nil {
		return nil, fmt.Errorf("server: list workstations: %w", err)
	}
	horizon, err := db.StableHorizon(ctx)
	if err != nil {
		return nil, fmt.Errorf("server: list workstations: %w", err)
	}
	out := make([]WorkstationInfo, len(rows))
	for i, r := range rows {
		w := r.WorkstationInfo
		if ts, err := hlc.Parse(r.Floor); err == nil {
			w.SyncedUpTo = time.UnixMilli(ts.WallMillis).UTC().Format(time.RFC3339)
		}
		w.HoldsHorizon = r.Counts && r.Floor == horizon
		out[i] = w
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out, nil
}

// RejectionInfo is one row of `workstation rejections`.
type RejectionInfo struct {
	Workstation string `json:"workstation"` // its code
	At          string `json:"at"`
	Table       string `json:"table"`
	RowID       string `json:"row_id"`
	Record      string `json:"record"` // the row named for a person (store.DB.RecordLabel), "" when unknown
	Code        string `json:"code"`
	Reason      string `json:"reason"`
	OriginSeq   int64  `json:"origin_seq"`
}

// Rejections lists the changes the server refused (of the workstation with
// this code, or of all when code is ""), newest first, at most limit.
func Rejections(ctx context.Context, db *store.DB, code string, limit int) ([]RejectionInfo, error) {
	wsID := ""
	codes := map[string]string{}
	list, err := Workstations(ctx, db)
	if err != nil {
		return nil, err
	}
	for _, w := range list {
		codes[w.ID] = w.Code
		if strings.EqualFold(w.Code, code) {
			wsID = w.ID
		}
	}
	if code != "" && wsID == "" {
		return nil, &desk.Error{Message: fmt.Sprintf("Nessuna postazione con codice «%s»", code)}
	}
	recs, err := db.Rejections(ctx, wsID, limit)
	if err != nil {
		return nil, err
	}
	out := make([]RejectionInfo, 0, len(recs))
	for _, r := range recs {
		label, err := db.RecordLabel(ctx, r.Table, r.RowID)
		if err != nil {
			return nil, err
		}
		out = append(out, RejectionInfo{Workstation: codes[r.WorkstationID], At: r.At, Table: r.Table, RowID: r.RowID,
			Record: label, Code: r.Code, Reason: r.Reason, OriginSeq: r.OriginSeq})
	}
	return out, nil
}
