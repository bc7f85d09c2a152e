package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"sportello/internal/catalog"
)

// Settings keys of the replicated configuration.
const (
	SettingMunicipality  = "municipality"
	SettingQueueServices = "queue_services"
)

func (t *Tx) putSetting(key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("store: encode setting %s: %w", key, err)
	}
	_, err = t.Put("settings", key, Fields{"value": string(b)})
	return err
}

// PutCatalog writes the whole catalog: municipality, offices, queue services
// and procedures. Rows that did not change record no change. Procedures
// missing from c are deactivated, never deleted (applications refer to them).
func (t *Tx) PutCatalog(c *catalog.Catalog) error {
	if err := t.putSetting(SettingMunicipality, c.Municipality); err != nil {
		return err
	}
	if err := t.putSetting(SettingQueueServices, c.QueueServices); err != nil {
		return err
	}
	for _, o := range c.Offices {
		b, err := json.Marshal(o)
		if err != nil {
			return fmt.Errorf("store: encode office %s: %w", o.ID, err)
		}
		if _, err := t.Put("offices", o.ID, Fields{"name": o.Name, "data": string(b)}); err != nil {
			return err
		}
	}
	keep := map[string]bool{}
	for _, p := range c.Procedures {
		keep[p.ID] = true
		b, err := json.Marshal(p)
		if err != nil {
			return fmt.Errorf("store: encode procedure %s: %w", p.ID, err)
		}
		if _, err := t.Put("procedures", p.ID, Fields{"name": p.Name, "office_id": p.OfficeID, "kind": string(p.Kind),
			"confidential": p.Confidential, "active": p.Active, "definition": string(b)}); err != nil {
			return err
		}
	}
	rows, err := t.query(`SELECT id, definition FROM procedures WHERE active = 1`)
	if err != nil {
		return fmt.Errorf("store: list procedures: %w", err)
	}
	type gone struct{ id, def string }
	var stale []gone
	for rows.Next() {
		var g gone
		if err := rows.Scan(&g.id, &g.def); err != nil {
			rows.Close()
			return fmt.Errorf("store: list procedures: %w", err)
		}
		if !keep[g.id] {
			stale = append(stale, g)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: list procedures: %w", err)
	}
	for _, g := range stale {
		var p catalog.Procedure
		if err := json.Unmarshal([]byte(g.def), &p); err != nil {
			return fmt.Errorf("store: decode procedure %s: %w", g.id, err)
		}
		p.Active = false
		b, _ := json.Marshal(p)
		if _, err := t.Put("procedures", g.id, Fields{"active": false, "definition": string(b)}); err != nil {
			return err
		}
	}
	return nil
}

// Catalog reads the whole catalog back (inactive procedures included).
func (db *DB) Catalog(ctx context.Context) (*catalog.Catalog, error) {
	c := &catalog.Catalog{Format: catalog.FormatName, Version: catalog.FormatVersion}
	for key, dst := range map[string]any{SettingMunicipality: &c.Municipality, SettingQueueServices: &c.QueueServices} {
		var v string
		err := db.r.QueryRowContext(ctx, `SELECT value FROM settings WHERE id = ?`, key).Scan(&v)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("store: read setting %s: %w", key, err)
		}
		if err := json.Unmarshal([]byte(v), dst); err != nil {
			return nil, fmt.Errorf("store: decode setting %s: %w", key, err)
		}
	}
	if err := readJSONRows(ctx, db.r, `SELECT data FROM offices ORDER BY name`, func(b []byte) error {
		var o catalog.Office
		if err := json.Unmarshal(b, &o); err != nil {
			return err
		}
		c.Offices = append(c.Offices, o)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("store: read offices: %w", err)
	}
	if err := readJSONRows(ctx, db.r, `SELECT definition FROM procedures ORDER BY name`, func(b []byte) error {
		var p catalog.Procedure
		if err := json.Unmarshal(b, &p); err != nil {
			return err
		}
		c.Procedures = append(c.Procedures, p)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("store: read procedures: %w", err)
	}
	return c, nil
}

func readJSONRows(ctx context.Context, q *sql.DB, query string, fn func([]byte) error) error {
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return err
		}
		if err := fn([]byte(s)); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Operator is an operator account as stored.
type Operator struct {
	ID           string
	Username     string
	FullName     string
	Role         string
	OfficeID     string
	PasswordHash string
	Active       bool
}

// PutOperator creates or updates an operator account. Deactivating an
// active account also notes where the change log stands, the
// deactivation's own entry (operator_deactivations): on the server, a
// workstation that has not pulled that far had not heard of it
// (Tx.DeactivationUnseen).
func (t *Tx) PutOperator(o Operator) (bool, error) {
	var was int64
	err := t.queryRow(`SELECT active FROM operators WHERE id = ?`, o.ID).Scan(&was)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("store: read operator %s: %w", o.ID, err)
	}
	created, err := t.Put("operators", o.ID, Fields{"username": o.Username, "full_name": o.FullName, "role": o.Role,
		"office_id": o.OfficeID, "password_hash": o.PasswordHash, "active": o.Active})
	if err != nil || o.Active || was == 0 {
		return created, err
	}
	if _, err := t.exec(`INSERT INTO operator_deactivations (operator_id, log_seq, at)
		VALUES (?, (SELECT COALESCE(MAX(seq), 0) FROM sync_changes), ?)
		ON CONFLICT (operator_id) DO UPDATE SET log_seq = excluded.log_seq, at = excluded.at`, o.ID, t.NowString()); err != nil {
		return created, fmt.Errorf("store: note the deactivation of %s: %w", o.ID, err)
	}
	return created, nil
}

// OperatorByUsername reads an operator account.
func (db *DB) OperatorByUsername(ctx context.Context, username string) (Operator, error) {
	return scanOperator(db.r.QueryRowContext(ctx, `SELECT `+operatorCols+` FROM operators WHERE username = ?`, username), username)
}

// operatorCols are the columns scanOperator reads.
const operatorCols = `id, username, full_name, role, office_id, password_hash, active`

// scanOperator reads an operator account (ErrNotFound when there is none;
// key names it in errors).
func scanOperator(row RowScanner, key string) (Operator, error) {
	var o Operator
	var active int64
	err := row.Scan(&o.ID, &o.Username, &o.FullName, &o.Role, &o.OfficeID, &o.PasswordHash, &active)
	if errors.Is(err, sql.ErrNoRows) {
		return o, fmt.Errorf("store: operator %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return o, fmt.Errorf("store: read operator %s: %w", key, err)
	}
	o.Active = active != 0
	return o, nil
}

// OperatorByID reads an operator account (ErrNotFound when there is none).
func (db *DB) OperatorByID(ctx context.Context, id string) (Operator, error) {
	return scanOperator(db.r.QueryRowContext(ctx, `SELECT `+operatorCols+` FROM operators WHERE id = ?`, id), id)
}

// Operators lists all operator accounts (without password hashes).
func (db *DB) Operators(ctx context.Context) ([]Operator, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id, username, full_name, role, office_id, active FROM operators ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("store: list operators: %w", err)
	}
	defer rows.Close()
	var out []Operator
	for rows.Next() {
		var o Operator
		var active int64
		if err := rows.Scan(&o.ID, &o.Username, &o.FullName, &o.Role, &o.OfficeID, &active); err != nil {
			return nil, fmt.Errorf("store: list operators: %w", err)
		}
		o.Active = active != 0
		out = append(out, o)
	}
	return out, rows.Err()
}
