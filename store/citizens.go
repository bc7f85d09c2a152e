package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"sportello/internal/citizen"
)

const citizenCols = `id, COALESCE(codice_fiscale, ''), surname, name, sex, birth_date, birth_place, birth_place_code, phone, email, pec,
	address_street, address_cap, address_city, address_province, address_country,
	doc_type, doc_number, doc_issuer, doc_issued_on, doc_expires_on, privacy_consent, privacy_consent_at, notes`

func scanCitizen(sc interface{ Scan(...any) error }) (citizen.Citizen, error) {
	var c citizen.Citizen
	var consent int64
	err := sc.Scan(&c.ID, &c.CodiceFiscale, &c.Surname, &c.Name, &c.Sex, &c.BirthDate, &c.BirthPlace, &c.BirthPlaceCode,
		&c.Phone, &c.Email, &c.PEC, &c.Address.Street, &c.Address.CAP, &c.Address.City, &c.Address.Province, &c.Address.Country,
		&c.Document.Type, &c.Document.Number, &c.Document.Issuer, &c.Document.IssuedOn, &c.Document.ExpiresOn,
		&consent, &c.PrivacyConsentAt, &c.Notes)
	c.PrivacyConsent = consent != 0
	return c, err
}

// PutCitizen creates or updates a citizen, recording only changed fields.
func (t *Tx) PutCitizen(c citizen.Citizen) (bool, error) {
	var cf any
	if c.CodiceFiscale != "" {
		cf = citizen.NormalizeCodiceFiscale(c.CodiceFiscale)
	}
	f := Fields{
		"codice_fiscale": cf, "surname": c.Surname, "name": c.Name, "search_name": c.SearchName(),
		"sex": c.Sex, "birth_date": c.BirthDate, "birth_place": c.BirthPlace, "birth_place_code": c.BirthPlaceCode,
		"phone": c.Phone, "email": c.Email, "pec": c.PEC,
		"address_street": c.Address.Street, "address_cap": c.Address.CAP, "address_city": c.Address.City,
		"address_province": c.Address.Province, "address_country": c.Address.Country,
		"doc_type": c.Document.Type, "doc_number": c.Document.Number, "doc_number_folded": citizen.FoldDocument(c.Document.Number),
		"doc_issuer": c.Document.Issuer, "doc_issued_on": c.Document.IssuedOn, "doc_expires_on": c.Document.ExpiresOn,
		"privacy_consent": c.PrivacyConsent, "privacy_consent_at": c.PrivacyConsentAt, "notes": c.Notes,
	}
	var exists int
	if err := t.queryRow(`SELECT count(*) FROM citizens WHERE id = ?`, c.ID).Scan(&exists); err != nil {
		return false, fmt.Errorf("store: look up citizen: %w", err)
	}
	if exists == 0 {
		f["created_at"] = t.NowString()
	}
	return t.Put("citizens", c.ID, f)
}

// Citizen reads one citizen by ID.
func (db *DB) Citizen(ctx context.Context, id string) (citizen.Citizen, error) {
	c, err := scanCitizen(db.r.QueryRowContext(ctx, `SELECT `+citizenCols+` FROM citizens WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("store: citizen %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("store: read citizen %s: %w", id, err)
	}
	return c, nil
}

// CitizenByCF reads the citizen with this codice fiscale.
func (db *DB) CitizenByCF(ctx context.Context, cf string) (citizen.Citizen, error) {
	c, err := scanCitizen(db.r.QueryRowContext(ctx, `SELECT `+citizenCols+` FROM citizens WHERE codice_fiscale = ? ORDER BY created_at, id LIMIT 1`, citizen.NormalizeCodiceFiscale(cf)))
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("store: citizen with codice fiscale %s: %w", cf, ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("store: read citizen by codice fiscale: %w", err)
	}
	return c, nil
}

// prefixUpper is the smallest string greater than every string starting with p.
func prefixUpper(p string) string { return p + "\U0010FFFF" }

// SearchCitizens finds citizens by codice fiscale prefix, identity document
// number, or surname/name prefix (accent- and case-insensitive, in either
// order), using index range scans only. Results are ordered by name.
func (db *DB) SearchCitizens(ctx context.Context, query string, limit int) ([]citizen.Citizen, error) {
	if limit <= 0 {
		limit = 50
	}
	q := strings.TrimSpace(query)
	if q == "" {
		return nil, nil
	}
	// Each branch is a range scan of its own index, ordered by that index so
	// the planner never walks another index to avoid a sort.
	var parts []string
	var args []any
	lim := fmt.Sprint(limit)
	if cf := citizen.NormalizeCodiceFiscale(q); len(cf) >= 3 && !strings.ContainsAny(q, " ") && hasDigit(cf) {
		parts = append(parts, `SELECT `+citizenCols+`, search_name FROM citizens WHERE codice_fiscale >= ? AND codice_fiscale < ? ORDER BY codice_fiscale LIMIT `+lim)
		args = append(args, cf, prefixUpper(cf))
		if doc := citizen.FoldDocument(q); doc != "" {
			parts = append(parts, `SELECT `+citizenCols+`, search_name FROM citizens WHERE doc_number_folded = ? AND doc_number_folded <> '' ORDER BY doc_number_folded LIMIT `+lim)
			args = append(args, doc)
		}
	}
	if folded := citizen.Fold(q); folded != "" {
		parts = append(parts, `SELECT `+citizenCols+`, search_name FROM citizens WHERE search_name >= ? AND search_name < ? ORDER BY search_name LIMIT `+lim)
		args = append(args, folded, prefixUpper(folded))
		if words := strings.Fields(folded); len(words) >= 2 {
			rev := strings.Join(append(words[len(words)-1:], words[:len(words)-1]...), " ")
			parts = append(parts, `SELECT `+citizenCols+`, search_name FROM citizens WHERE search_name >= ? AND search_name < ? ORDER BY search_name LIMIT `+lim)
			args = append(args, rev, prefixUpper(rev))
		}
	}
	if len(parts) == 0 {
		return nil, nil
	}
	for i := range parts {
		parts[i] = `SELECT * FROM (` + parts[i] + `)`
	}
	rows, err := db.r.QueryContext(ctx, `SELECT `+strings.ReplaceAll(citizenColsPlain, "\n", " ")+` FROM (`+strings.Join(parts, " UNION ")+`) ORDER BY search_name, id LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("store: search citizens: %w", err)
	}
	defer rows.Close()
	var out []citizen.Citizen
	for rows.Next() {
		c, err := scanCitizen(rows)
		if err != nil {
			return nil, fmt.Errorf("store: search citizens: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// citizenColsPlain selects the columns of the UNION sub-select by name.
const citizenColsPlain = `id, "COALESCE(codice_fiscale, '')", surname, name, sex, birth_date, birth_place, birth_place_code, phone, email, pec,
	address_street, address_cap, address_city, address_province, address_country,
	doc_type, doc_number, doc_issuer, doc_issued_on, doc_expires_on, privacy_consent, privacy_consent_at, notes`

func hasDigit(s string) bool { return strings.ContainsAny(s, "0123456789") }

// CountCitizens returns how many citizens the replica holds.
func (db *DB) CountCitizens(ctx context.Context) (int, error) {
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM citizens`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count citizens: %w", err)
	}
	return n, nil
}

// PutDelegation creates or updates a delegation.
func (t *Tx) PutDelegation(d citizen.Delegation, revoked bool) (bool, error) {
	f := Fields{"citizen_id": d.CitizenID, "delegate_id": d.DelegateID, "scope": d.Scope, "valid_until": d.ValidUntil, "note": d.Note, "revoked": revoked}
	var exists int
	if err := t.queryRow(`SELECT count(*) FROM citizen_delegations WHERE id = ?`, d.ID).Scan(&exists); err != nil {
		return false, fmt.Errorf("store: look up delegation: %w", err)
	}
	if exists == 0 {
		f["created_at"] = t.NowString()
	}
	return t.Put("citizen_delegations", d.ID, f)
}

// Delegations lists the active delegations given by a citizen.
func (db *DB) Delegations(ctx context.Context, citizenID string) ([]citizen.Delegation, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id, citizen_id, delegate_id, scope, valid_until, note FROM citizen_delegations
		WHERE citizen_id = ? AND revoked = 0 ORDER BY created_at`, citizenID)
	if err != nil {
		return nil, fmt.Errorf("store: read delegations: %w", err)
	}
	defer rows.Close()
	var out []citizen.Delegation
	for rows.Next() {
		var d citizen.Delegation
		if err := rows.Scan(&d.ID, &d.CitizenID, &d.DelegateID, &d.Scope, &d.ValidUntil, &d.Note); err != nil {
			return nil, fmt.Errorf("store: read delegations: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// DuplicateCitizens lists the codici fiscali held by more than one record,
// with the records' IDs (oldest first), for an operator to review.
func (db *DB) DuplicateCitizens(ctx context.Context) (map[string][]string, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT codice_fiscale, id FROM citizens WHERE codice_fiscale IN
		(SELECT codice_fiscale FROM citizens WHERE codice_fiscale IS NOT NULL GROUP BY codice_fiscale HAVING count(*) > 1)
		ORDER BY codice_fiscale, created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("store: duplicate citizens: %w", err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var cf, id string
		if err := rows.Scan(&cf, &id); err != nil {
			return nil, fmt.Errorf("store: duplicate citizens: %w", err)
		}
		out[cf] = append(out[cf], id)
	}
	return out, rows.Err()
}
