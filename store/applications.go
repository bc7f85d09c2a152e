package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"sportello/internal/application"
	"sportello/internal/ids"
)

// PutApplication creates or updates an application row (not its state
// history: see AppendHistory).
func (t *Tx) PutApplication(a application.Application) (bool, error) {
	values := a.Values
	if values == nil {
		values = map[string]string{}
	}
	vb, err := json.Marshal(values)
	if err != nil {
		return false, fmt.Errorf("store: encode form data: %w", err)
	}
	stamps := a.StampDutyIDs
	if stamps == nil {
		stamps = []string{}
	}
	sb, err := json.Marshal(stamps)
	if err != nil {
		return false, fmt.Errorf("store: encode stamp duty ids: %w", err)
	}
	var delegate any
	if a.DelegateID != "" {
		delegate = a.DelegateID
	}
	f := Fields{"procedure_id": a.ProcedureID, "citizen_id": a.CitizenID, "delegate_id": delegate, "office_id": a.OfficeID,
		"state": string(a.State), "confidential": a.Confidential, "subject": a.Subject, "form_data": string(vb), "stamp_duty_ids": string(sb)}
	var exists int
	if err := t.queryRow(`SELECT count(*) FROM applications WHERE id = ?`, a.ID).Scan(&exists); err != nil {
		return false, fmt.Errorf("store: look up application: %w", err)
	}
	if exists == 0 {
		f["created_at"] = t.NowString()
		f["created_by"] = a.CreatedBy
		f["workstation_id"] = a.WorkstationID
	}
	return t.Put("applications", a.ID, f)
}

// AppendHistory appends a lifecycle entry (append-only).
func (t *Tx) AppendHistory(appID string, from, to application.State, note string) error {
	return t.Insert("application_history", ids.New(), Fields{"application_id": appID, "from_state": string(from), "to_state": string(to),
		"at": t.NowString(), "hlc": t.db.clock.Now().String(), "operator_id": t.actor.OperatorID, "workstation_id": t.db.wsID, "note": note})
}

// AddAttachment records an attachment whose blob is already stored.
func (t *Tx) AddAttachment(a application.Attachment) error {
	return t.Insert("application_attachments", a.ID, Fields{"application_id": a.ApplicationID, "doc_type": a.DocType, "file_name": a.FileName,
		"format": a.Format, "media_type": a.MediaType, "size": a.Size, "sha256": a.SHA256, "signature": a.Signature,
		"declared_signed": a.DeclaredSigned, "added_at": t.NowString(), "added_by": t.actor.OperatorID})
}

// WithdrawAttachment marks an attachment withdrawn from a draft; the record
// and the file stay.
func (t *Tx) WithdrawAttachment(id string) error {
	_, err := t.Put("application_attachments", id, Fields{"withdrawn": true, "withdrawn_at": t.NowString()})
	return err
}

// RecordBlob registers a stored blob's metadata (idempotent).
func (t *Tx) RecordBlob(digest string, size int64, format, mediaType string) error {
	if _, err := t.exec(`INSERT INTO blobs (sha256, size, format, media_type, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(sha256) DO NOTHING`,
		digest, size, format, mediaType, t.NowString()); err != nil {
		return fmt.Errorf("store: record blob: %w", err)
	}
	return nil
}

const appCols = `id, procedure_id, citizen_id, COALESCE(delegate_id, ''), office_id, state, confidential, subject, form_data, stamp_duty_ids,
	created_at, created_by, workstation_id, updated_at`

func parseInstant(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

func scanApplication(sc interface{ Scan(...any) error }) (application.Application, error) {
	var a application.Application
	var state, values, stamps, created, updated string
	var conf int64
	if err := sc.Scan(&a.ID, &a.ProcedureID, &a.CitizenID, &a.DelegateID, &a.OfficeID, &state, &conf, &a.Subject, &values, &stamps,
		&created, &a.CreatedBy, &a.WorkstationID, &updated); err != nil {
		return a, err
	}
	a.State, a.Confidential = application.State(state), conf != 0
	a.CreatedAt, a.UpdatedAt = parseInstant(created), parseInstant(updated)
	if err := json.Unmarshal([]byte(values), &a.Values); err != nil {
		return a, fmt.Errorf("decode form data of %s: %w", a.ID, err)
	}
	if err := json.Unmarshal([]byte(stamps), &a.StampDutyIDs); err != nil {
		return a, fmt.Errorf("decode stamp duty ids of %s: %w", a.ID, err)
	}
	return a, nil
}

// Application reads one application.
func (db *DB) Application(ctx context.Context, id string) (application.Application, error) {
	a, err := scanApplication(db.r.QueryRowContext(ctx, `SELECT `+appCols+` FROM applications WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("store: application %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return a, fmt.Errorf("store: read application %s: %w", id, err)
	}
	return a, nil
}

// ApplicationState reads the current state inside a write transaction.
func (t *Tx) ApplicationState(id string) (application.State, error) {
	var s string
	err := t.queryRow(`SELECT state FROM applications WHERE id = ?`, id).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("store: application %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("store: read application state: %w", err)
	}
	return application.State(s), nil
}

// ApplicationSummary is a row of a citizen's list of applications.
type ApplicationSummary struct {
	ID            string
	ProcedureID   string
	ProcedureName string
	State         application.State
	CreatedAt     time.Time
	UpdatedAt     time.Time
	ProtocolLabel string // definitive number, else emergency number, else ""
	Emergency     bool   // ProtocolLabel is an emergency number still waiting for its definitive one
	ProtocolDate  string // Europe/Rome date of the registration
	Confidential  bool   // an application of a confidential procedure
}

// ApplicationsOfCitizen lists a citizen's applications, newest first.
func (db *DB) ApplicationsOfCitizen(ctx context.Context, citizenID string) ([]ApplicationSummary, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT a.id, a.procedure_id, COALESCE(p.name, a.procedure_id), a.state, a.created_at, a.updated_at,
			COALESCE(r.emergency_register, ''), COALESCE(r.emergency_number, 0), COALESCE(r.year, 0), COALESCE(r.reg_date, ''),
			COALESCE(n.number, 0), COALESCE(n.year, 0), a.confidential
		FROM applications a
		LEFT JOIN procedures p ON p.id = a.procedure_id
		LEFT JOIN protocol_registrations r ON r.application_id = a.id
			AND NOT EXISTS (SELECT 1 FROM protocol_annulments x WHERE x.registration_id = r.id)
		LEFT JOIN protocol_numbers n ON n.registration_id = r.id
		WHERE a.citizen_id = ? OR a.delegate_id = ?
		ORDER BY a.created_at DESC`, citizenID, citizenID)
	if err != nil {
		return nil, fmt.Errorf("store: list applications: %w", err)
	}
	defer rows.Close()
	var out []ApplicationSummary
	for rows.Next() {
		var s ApplicationSummary
		var state, created, updated, register string
		var emNum, regYear, number, numYear, conf int64
		if err := rows.Scan(&s.ID, &s.ProcedureID, &s.ProcedureName, &state, &created, &updated, &register, &emNum, &regYear, &s.ProtocolDate, &number, &numYear, &conf); err != nil {
			return nil, fmt.Errorf("store: list applications: %w", err)
		}
		s.State, s.CreatedAt, s.UpdatedAt = application.State(state), parseInstant(created), parseInstant(updated)
		s.ProtocolLabel, s.Emergency = protocolLabel(register, emNum, regYear, number, numYear)
		s.Confidential = conf != 0
		out = append(out, s)
	}
	return out, rows.Err()
}

// Attachments lists an application's attachments (withdrawn included), in order added.
func (db *DB) Attachments(ctx context.Context, appID string) ([]application.Attachment, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id, application_id, doc_type, file_name, format, media_type, size, sha256, signature,
		declared_signed, added_at, added_by, withdrawn FROM application_attachments WHERE application_id = ? ORDER BY added_at, id`, appID)
	if err != nil {
		return nil, fmt.Errorf("store: list attachments: %w", err)
	}
	defer rows.Close()
	var out []application.Attachment
	for rows.Next() {
		var a application.Attachment
		var added string
		var declared, withdrawn int64
		if err := rows.Scan(&a.ID, &a.ApplicationID, &a.DocType, &a.FileName, &a.Format, &a.MediaType, &a.Size, &a.SHA256, &a.Signature,
			&declared, &added, &a.AddedBy, &withdrawn); err != nil {
			return nil, fmt.Errorf("store: list attachments: %w", err)
		}
		a.DeclaredSigned, a.Withdrawn, a.AddedAt = declared != 0, withdrawn != 0, parseInstant(added)
		out = append(out, a)
	}
	return out, rows.Err()
}

// History lists an application's lifecycle entries in clock order.
func (db *DB) History(ctx context.Context, appID string) ([]application.HistoryEntry, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id, application_id, from_state, to_state, at, hlc, operator_id, workstation_id, note
		FROM application_history WHERE application_id = ? ORDER BY hlc`, appID)
	if err != nil {
		return nil, fmt.Errorf("store: read history: %w", err)
	}
	defer rows.Close()
	var out []application.HistoryEntry
	for rows.Next() {
		var h application.HistoryEntry
		var from, to, at string
		if err := rows.Scan(&h.ID, &h.ApplicationID, &from, &to, &at, &h.HLC, &h.OperatorID, &h.WorkstationID, &h.Note); err != nil {
			return nil, fmt.Errorf("store: read history: %w", err)
		}
		h.From, h.To, h.At = application.State(from), application.State(to), parseInstant(at)
		out = append(out, h)
	}
	return out, rows.Err()
}

// CountApplications returns how many applications the replica holds.
func (db *DB) CountApplications(ctx context.Context) (int, error) {
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM applications`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count applications: %w", err)
	}
	return n, nil
}
