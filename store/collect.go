package store

import (
	"database/sql"
	"fmt"
)

// collect reads every row of a query's result with scan and closes it;
// err is the query's error, what names what is read in the errors.
func collect[T any](rows *sql.Rows, err error, what string, scan func(*sql.Rows, *T) error) ([]T, error) {
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	var out []T
	for rows.Next() {
		var v T
		if err := scan(rows, &v); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: %s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	return out, nil
}

// scanString is collect's scan of a one-column text result.
func scanString(rows *sql.Rows, s *string) error { return rows.Scan(s) }
