package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"sportello/internal/protocol"
)

func protocolLabel(register string, emNum, regYear, number, numYear int64) (string, bool) {
	switch {
	case number > 0:
		return protocol.NumberLabel(number, int(numYear)), false
	case emNum > 0:
		return protocol.EmergencyLabel(register, int(regYear), emNum), true
	}
	return "", false
}

// Interruption is a stored emergency period.
type Interruption struct {
	ID               string
	WorkstationID    string
	RegisterCode     string
	Cause            string
	AuthorizedBy     string
	AuthorizationRef string
	StartedAt        time.Time
	EndedAt          time.Time
	EndedBy          string
	Extensions       []time.Time
}

// Rules returns the interruption as the protocol rules see it.
func (in Interruption) Rules() protocol.Interruption {
	return protocol.Interruption{StartedAt: in.StartedAt, EndedAt: in.EndedAt, Extended: in.Extensions}
}

// OpenInterruption returns this workstation's open interruption, if any.
func (t *Tx) OpenInterruption() (*Interruption, error) {
	var in Interruption
	var started string
	err := t.queryRow(`SELECT id, workstation_id, register_code, cause, authorized_by, authorization_ref, started_at
		FROM protocol_interruptions WHERE workstation_id = ? AND ended_at = '' ORDER BY started_at DESC LIMIT 1`, t.db.wsID).
		Scan(&in.ID, &in.WorkstationID, &in.RegisterCode, &in.Cause, &in.AuthorizedBy, &in.AuthorizationRef, &started)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: read open interruption: %w", err)
	}
	in.StartedAt = parseInstant(started)
	rows, err := t.query(`SELECT valid_until FROM protocol_interruption_extensions WHERE interruption_id = ?`, in.ID)
	if err != nil {
		return nil, fmt.Errorf("store: read extensions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			return nil, fmt.Errorf("store: read extensions: %w", err)
		}
		in.Extensions = append(in.Extensions, parseInstant(u))
	}
	return &in, rows.Err()
}

// InsertInterruption opens an interruption on this workstation.
func (t *Tx) InsertInterruption(in Interruption) error {
	return t.Insert("protocol_interruptions", in.ID, Fields{"workstation_id": t.db.wsID, "register_code": in.RegisterCode, "cause": in.Cause,
		"authorized_by": in.AuthorizedBy, "authorization_ref": in.AuthorizationRef, "started_at": FormatInstant(in.StartedAt)})
}

// EndInterruption records when service was restored (once).
func (t *Tx) EndInterruption(id string, at time.Time) error {
	_, err := t.Put("protocol_interruptions", id, Fields{"ended_at": FormatInstant(at), "ended_by": t.actor.OperatorID})
	return err
}

// InsertExtension records an authorised extension of an interruption.
func (t *Tx) InsertExtension(id, interruptionID, ref string, until time.Time) error {
	return t.Insert("protocol_interruption_extensions", id, Fields{"interruption_id": interruptionID, "authorization_ref": ref,
		"valid_until": FormatInstant(until), "authorized_by": t.actor.OperatorID, "at": t.NowString()})
}

// ApplicationRegistered reports whether a registration of the application
// is in the register (annulled or not).
func (t *Tx) ApplicationRegistered(appID string) (bool, error) {
	var has bool
	if err := t.queryRow(`SELECT EXISTS (SELECT 1 FROM protocol_registrations WHERE application_id = ?)`, appID).Scan(&has); err != nil {
		return false, fmt.Errorf("store: registrations of application %s: %w", appID, err)
	}
	return has, nil
}

// NextEmergencyNumber is the next number of an emergency register in a
// year: after every number it holds, and after every number a registration
// the server refused had (emergencyUsedKey): that number was on a citizen's
// receipt, and is never given again.
func (t *Tx) NextEmergencyNumber(register string, year int) (int64, error) {
	var n int64
	if err := t.queryRow(`SELECT MAX(COALESCE((SELECT MAX(emergency_number) FROM protocol_registrations WHERE emergency_register = ?1 AND year = ?2 AND emergency_number IS NOT NULL), 0),
		COALESCE((SELECT CAST(value AS INTEGER) FROM local_meta WHERE key = ?3), 0)) + 1`,
		register, year, emergencyUsedKey(register, year)).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: next emergency number: %w", err)
	}
	return n, nil
}

// emergencyUsedKey is the local_meta key of the highest number of an
// emergency register in a year whose registration a repair removed.
func emergencyUsedKey(register string, year int) string {
	return fmt.Sprintf("emergency_used:%s:%d", register, year)
}

// keepEmergencyNumber remembers, before a repair removes a registration,
// its emergency number: NextEmergencyNumber never gives it again.
func (t *Tx) keepEmergencyNumber(registrationID string) error {
	var register string
	var year, n sql.NullInt64
	err := t.queryRow(`SELECT COALESCE(emergency_register, ''), year, emergency_number FROM protocol_registrations WHERE id = ?`, registrationID).Scan(&register, &year, &n)
	if errors.Is(err, sql.ErrNoRows) || err == nil && (!n.Valid || register == "") {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: read registration %s: %w", registrationID, err)
	}
	if _, err := t.exec(`INSERT INTO local_meta(key, value) VALUES (?1, ?2)
		ON CONFLICT(key) DO UPDATE SET value = CAST(MAX(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER)) AS TEXT)`,
		emergencyUsedKey(register, int(year.Int64)), strconv.FormatInt(n.Int64, 10)); err != nil {
		return fmt.Errorf("store: keep emergency number: %w", err)
	}
	return nil
}

// Registration is a stored protocol registration with its documents and fate.
type Registration struct {
	ID                string
	Direction         protocol.Direction
	RegisteredAt      time.Time
	RegDate           string
	Year              int
	RegisterKind      string // "emergenza" or "ordinario"
	EmergencyRegister string
	EmergencyNumber   int64
	InterruptionID    string
	Correspondent     string
	CorrespondentCF   string
	Subject           string
	Classification    string
	OfficeID          string
	ApplicationID     string
	ReceivedDocNumber string
	ReceivedDocDate   string
	Confidential      bool
	OperatorID        string
	WorkstationID     string
	Documents         []protocol.Document // primary first
	Number            int64               // definitive number, 0 until assigned by the server
	NumberYear        int
	Annulled          bool
	AnnulReason       string
}

// Label is the definitive number when assigned, else the emergency number.
func (r Registration) Label() string {
	l, _ := protocolLabel(r.EmergencyRegister, r.EmergencyNumber, int64(r.Year), r.Number, int64(r.NumberYear))
	return l
}

// EmergencyLabel is the emergency number ("" for ordinary registrations).
func (r Registration) EmergencyLabel() string {
	if r.EmergencyNumber == 0 {
		return ""
	}
	return protocol.EmergencyLabel(r.EmergencyRegister, r.Year, r.EmergencyNumber)
}

// InsertRegistration writes a registration and its documents in the caller's
// transaction: art. 53 requires one single operation.
func (t *Tx) InsertRegistration(r Registration) error {
	f := Fields{"direction": string(r.Direction), "registered_at": FormatInstant(r.RegisteredAt), "reg_date": r.RegDate, "year": r.Year,
		"register_kind": r.RegisterKind, "emergency_register": r.EmergencyRegister, "correspondent": r.Correspondent,
		"correspondent_cf": r.CorrespondentCF, "subject": r.Subject, "classification": r.Classification, "office_id": r.OfficeID,
		"received_doc_number": r.ReceivedDocNumber, "received_doc_date": r.ReceivedDocDate, "confidential": r.Confidential,
		"operator_id": t.actor.OperatorID, "workstation_id": t.db.wsID}
	if r.EmergencyNumber > 0 {
		f["emergency_number"] = r.EmergencyNumber
	}
	if r.InterruptionID != "" {
		f["interruption_id"] = r.InterruptionID
	}
	if r.ApplicationID != "" {
		f["application_id"] = r.ApplicationID
	}
	if err := t.Insert("protocol_registrations", r.ID, f); err != nil {
		return err
	}
	for i, d := range r.Documents {
		role := "allegato"
		if i == 0 {
			role = "primario"
		}
		if err := t.Insert("protocol_documents", r.ID+"-"+fmt.Sprint(i), Fields{"registration_id": r.ID, "role": role, "position": i,
			"name": d.Name, "sha256": d.SHA256Hex, "size": d.Size, "media_type": d.MediaType}); err != nil {
			return err
		}
	}
	return nil
}

// InsertAnnulment records an annulment (art. 54).
func (t *Tx) InsertAnnulment(id, registrationID, reason, authRef string) error {
	return t.Insert("protocol_annulments", id, Fields{"registration_id": registrationID, "reason": reason, "authorization_ref": authRef,
		"operator_id": t.actor.OperatorID, "workstation_id": t.db.wsID, "at": t.NowString()})
}

// IsAnnulled reports whether a registration is annulled, inside a transaction.
func (t *Tx) IsAnnulled(registrationID string) (bool, error) {
	var n int
	if err := t.queryRow(`SELECT count(*) FROM protocol_annulments WHERE registration_id = ?`, registrationID).Scan(&n); err != nil {
		return false, fmt.Errorf("store: read annulments: %w", err)
	}
	return n > 0, nil
}

const regCols = `r.id, r.direction, r.registered_at, r.reg_date, r.year, r.register_kind, r.emergency_register, COALESCE(r.emergency_number, 0),
	COALESCE(r.interruption_id, ''), r.correspondent, r.correspondent_cf, r.subject, r.classification, r.office_id, COALESCE(r.application_id, ''),
	r.received_doc_number, r.received_doc_date, r.confidential OR COALESCE((SELECT a.confidential FROM applications a WHERE a.id = r.application_id), 0), r.operator_id, r.workstation_id, COALESCE(n.number, 0), COALESCE(n.year, 0),
	(SELECT reason FROM protocol_annulments x WHERE x.registration_id = r.id ORDER BY at LIMIT 1)`

func scanRegistration(sc interface{ Scan(...any) error }) (Registration, error) {
	var r Registration
	var dir, at string
	var conf int64
	var annul sql.NullString
	err := sc.Scan(&r.ID, &dir, &at, &r.RegDate, &r.Year, &r.RegisterKind, &r.EmergencyRegister, &r.EmergencyNumber, &r.InterruptionID,
		&r.Correspondent, &r.CorrespondentCF, &r.Subject, &r.Classification, &r.OfficeID, &r.ApplicationID, &r.ReceivedDocNumber,
		&r.ReceivedDocDate, &conf, &r.OperatorID, &r.WorkstationID, &r.Number, &r.NumberYear, &annul)
	r.Direction, r.RegisteredAt, r.Confidential = protocol.Direction(dir), parseInstant(at), conf != 0
	r.Annulled, r.AnnulReason = annul.Valid, annul.String
	return r, err
}

// RegistrationFilter selects registrations of the register.
type RegistrationFilter struct {
	Number        string // a definitive or emergency number, as typed (digits)
	DateFrom      string // YYYY-MM-DD, inclusive
	DateTo        string
	Text          string // in subject or correspondent
	ApplicationID string
	// Repeated keeps only the registrations, not annulled, of an application
	// that more than one registration not annulled refers to (two desks
	// protocolled it while offline), ordered by application and time.
	Repeated bool
	Limit    int
}

// repeatedRegistrations is the Repeated condition of RegistrationFilter.
const repeatedRegistrations = `NOT EXISTS (SELECT 1 FROM protocol_annulments a WHERE a.registration_id = r.id)
	AND r.application_id IN (SELECT r2.application_id FROM protocol_registrations r2
		WHERE r2.application_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM protocol_annulments a WHERE a.registration_id = r2.id)
		GROUP BY r2.application_id HAVING count(*) > 1)`

// Registrations lists registrations matching f, newest first (Repeated: by
// application, oldest first).
func (db *DB) Registrations(ctx context.Context, f RegistrationFilter) ([]Registration, error) {
	where := []string{"1=1"}
	var args []any
	if f.Number != "" {
		where = append(where, `(n.number = ? OR r.emergency_number = ?)`)
		args = append(args, f.Number, f.Number)
	}
	if f.DateFrom != "" {
		where = append(where, `r.reg_date >= ?`)
		args = append(args, f.DateFrom)
	}
	if f.DateTo != "" {
		where = append(where, `r.reg_date <= ?`)
		args = append(args, f.DateTo)
	}
	if f.Text != "" {
		where = append(where, `(r.subject LIKE ? OR r.correspondent LIKE ?)`)
		like := "%" + strings.NewReplacer("%", `\%`, "_", `\_`).Replace(f.Text) + "%"
		args = append(args, like, like)
	}
	if f.ApplicationID != "" {
		where = append(where, `r.application_id = ?`)
		args = append(args, f.ApplicationID)
	}
	order := `r.registered_at DESC`
	if f.Repeated {
		where = append(where, repeatedRegistrations)
		order = `r.application_id, r.registered_at, r.id`
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 200
	}
	rows, err := db.r.QueryContext(ctx, `SELECT `+regCols+` FROM protocol_registrations r LEFT JOIN protocol_numbers n ON n.registration_id = r.id
		WHERE `+strings.Join(where, " AND ")+` ORDER BY `+order+` LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("store: list registrations: %w", err)
	}
	defer rows.Close()
	var out []Registration
	for rows.Next() {
		r, err := scanRegistration(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list registrations: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Registration reads one registration with its documents.
func (db *DB) Registration(ctx context.Context, id string) (Registration, error) {
	r, err := scanRegistration(db.r.QueryRowContext(ctx, `SELECT `+regCols+` FROM protocol_registrations r
		LEFT JOIN protocol_numbers n ON n.registration_id = r.id WHERE r.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("store: registration %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("store: read registration: %w", err)
	}
	rows, err := db.r.QueryContext(ctx, `SELECT name, sha256, size, media_type FROM protocol_documents WHERE registration_id = ? ORDER BY position`, id)
	if err != nil {
		return r, fmt.Errorf("store: read registration documents: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var d protocol.Document
		if err := rows.Scan(&d.Name, &d.SHA256Hex, &d.Size, &d.MediaType); err != nil {
			return r, fmt.Errorf("store: read registration documents: %w", err)
		}
		r.Documents = append(r.Documents, d)
	}
	return r, rows.Err()
}

// Interruptions lists the emergency periods of all workstations, newest first.
func (db *DB) Interruptions(ctx context.Context) ([]Interruption, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id, workstation_id, register_code, cause, authorized_by, authorization_ref, started_at, ended_at, ended_by
		FROM protocol_interruptions ORDER BY started_at DESC`)
	if err != nil {
		return nil, fmt.Errorf("store: list interruptions: %w", err)
	}
	defer rows.Close()
	var out []Interruption
	for rows.Next() {
		var in Interruption
		var started, ended string
		if err := rows.Scan(&in.ID, &in.WorkstationID, &in.RegisterCode, &in.Cause, &in.AuthorizedBy, &in.AuthorizationRef, &started, &ended, &in.EndedBy); err != nil {
			return nil, fmt.Errorf("store: list interruptions: %w", err)
		}
		in.StartedAt, in.EndedAt = parseInstant(started), parseInstant(ended)
		out = append(out, in)
	}
	return out, rows.Err()
}

// EmergencyDayCount is the number of emergency registrations of one day
// (art. 63 c. 2 asks the register to record it for every day of emergency).
type EmergencyDayCount struct {
	Register string
	Date     string
	Count    int
}

// EmergencyDailyCounts lists, per emergency register and day, how many registrations were made.
func (db *DB) EmergencyDailyCounts(ctx context.Context) ([]EmergencyDayCount, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT emergency_register, reg_date, count(*) FROM protocol_registrations
		WHERE register_kind = 'emergenza' GROUP BY emergency_register, reg_date ORDER BY reg_date DESC, emergency_register`)
	if err != nil {
		return nil, fmt.Errorf("store: count emergency registrations: %w", err)
	}
	defer rows.Close()
	var out []EmergencyDayCount
	for rows.Next() {
		var c EmergencyDayCount
		if err := rows.Scan(&c.Register, &c.Date, &c.Count); err != nil {
			return nil, fmt.Errorf("store: count emergency registrations: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
