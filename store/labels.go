package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// recordLabelQueries name a replicated row for a person, by table: the
// citizen's name and codice fiscale, an application's subject, a file's
// name with its application… A registration's own number is added by
// RecordLabel (its label is formatted in Go).
var recordLabelQueries = map[string]string{
	"citizens": `SELECT trim(surname || ' ' || name) || CASE WHEN COALESCE(codice_fiscale, '') = '' THEN '' ELSE ' (' || codice_fiscale || ')' END
		FROM citizens WHERE id = ?`,
	"citizen_delegations": `SELECT trim(d.surname || ' ' || d.name) || ' → ' || trim(c.surname || ' ' || c.name)
		FROM citizen_delegations x JOIN citizens c ON c.id = x.citizen_id JOIN citizens d ON d.id = x.delegate_id WHERE x.id = ?`,
	"applications":            `SELECT subject FROM applications WHERE id = ?`,
	"application_attachments": `SELECT x.file_name || ' — ' || a.subject FROM application_attachments x JOIN applications a ON a.id = x.application_id WHERE x.id = ?`,
	"application_history":     `SELECT a.subject FROM application_history x JOIN applications a ON a.id = x.application_id WHERE x.id = ?`,
	"protocol_interruptions":  `SELECT register_code || ' — ' || started_at FROM protocol_interruptions WHERE id = ?`,
	"operators":               `SELECT full_name FROM operators WHERE id = ?`,
	"offices":                 `SELECT name FROM offices WHERE id = ?`,
	"procedures":              `SELECT name FROM procedures WHERE id = ?`,
	"workstations":            `SELECT code || ' — ' || name FROM workstations WHERE id = ?`,
}

// registrationOf finds the registration a protocol row belongs to.
var registrationOf = map[string]string{
	"protocol_registrations": `SELECT id FROM protocol_registrations WHERE id = ?`,
	"protocol_documents":     `SELECT registration_id FROM protocol_documents WHERE id = ?`,
	"protocol_numbers":       `SELECT registration_id FROM protocol_numbers WHERE id = ?`,
	"protocol_annulments":    `SELECT registration_id FROM protocol_annulments WHERE id = ?`,
}

// RecordLabel names a replicated row for a person (in lists of conflicts and
// refused changes, where an ID means nothing to an operator): "" when the
// row is not on this replica or its table has no such name. It does not
// check confidentiality: callers that show it do (RowConfidential).
func (db *DB) RecordLabel(ctx context.Context, table, rowID string) (string, error) {
	if q, ok := registrationOf[table]; ok {
		var regID string
		err := db.r.QueryRowContext(ctx, q, rowID).Scan(&regID)
		if errors.Is(err, sql.ErrNoRows) {
			return "", nil
		}
		if err != nil {
			return "", fmt.Errorf("store: label of %s %s: %w", table, rowID, err)
		}
		r, err := db.Registration(ctx, regID)
		if errors.Is(err, ErrNotFound) {
			return "", nil
		}
		if err != nil {
			return "", fmt.Errorf("store: label of %s %s: %w", table, rowID, err)
		}
		return r.Label() + " — " + r.Subject, nil
	}
	q, ok := recordLabelQueries[table]
	if !ok {
		return "", nil
	}
	var label string
	err := db.r.QueryRowContext(ctx, q, rowID).Scan(&label)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: label of %s %s: %w", table, rowID, err)
	}
	return label, nil
}
