package store

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// rowHLCColumn is the column of each mutable replicated table that keeps the
// field versions of a row inserted whole (migration 0007): the clock of
// that insert. It is sync bookkeeping, not data: changes never carry it,
// checksums and exports leave it out, and it does not converge (two
// replicas can receive a row's inserts in different orders).
//
// The rule: a row with no sync_versions entry and a non-empty sync_hlc has,
// for every versioned column whose stored value is not empty, the version
// {h: sync_hlc, b: ""}, and no version for the others. That is exactly what
// an insert with an empty base gives when what it stores empty is what it
// leaves without a version (inRowVersions checks it). The first write after
// the insert moves the row's versions to sync_versions and clears sync_hlc:
// a row keeps its versions in one place or the other, never both.
const rowHLCColumn = "sync_hlc"

// rowVersionInfo is what the in-row versions of one table need.
type rowVersionInfo struct {
	class        map[string]byte // versioned column -> affinity: 't' text, 'i' integer, 'r' real, 0 other
	setByDefault []string        // versioned columns whose default value is not empty
	read         string          // SELECT sync_hlc, <versioned columns> FROM table WHERE id = ?
	clear        string          // UPDATE table SET sync_hlc = '' WHERE id = ? (when set)
}

// affinityClass is SQLite's column affinity for a declared type (section
// 3.1 of the datatype documentation), reduced to the classes that keep a
// value of the matching Go type unchanged.
func affinityClass(decl string) byte {
	d := strings.ToUpper(decl)
	switch {
	case strings.Contains(d, "INT"):
		return 'i'
	case strings.Contains(d, "CHAR"), strings.Contains(d, "CLOB"), strings.Contains(d, "TEXT"):
		return 't'
	case strings.Contains(d, "BLOB"), d == "":
		return 0
	case strings.Contains(d, "REAL"), strings.Contains(d, "FLOA"), strings.Contains(d, "DOUB"):
		return 'r'
	}
	return 0 // NUMERIC: a string may become a number
}

// emptyDefault reports whether a column's default (as PRAGMA table_info
// gives it) is an empty value: none, NULL, ” or 0.
func emptyDefault(d string) bool {
	switch strings.TrimSpace(strings.ToUpper(d)) {
	case "", "NULL", "''", "0":
		return true
	}
	return false
}

// inRowVersions reports whether a new row of table written with the columns
// keys and values f can keep its field versions in the row: every column it
// leaves out keeps an empty default, and every value it writes is stored
// as the same Go type it reads back as, so "stored empty" is "written empty
// or not written", which is "no version". f's values are normalized.
func (db *DB) inRowVersions(table string, keys []string, f Fields) bool {
	ri := db.rowv[table]
	if ri == nil || appendOnly[table] {
		return false
	}
	for _, c := range ri.setByDefault {
		if _, ok := f[c]; !ok {
			return false
		}
	}
	for _, k := range keys {
		switch f[k].(type) {
		case nil:
		case string:
			if ri.class[k] != 't' {
				return false
			}
		case int64:
			if ri.class[k] != 'i' {
				return false
			}
		case float64:
			if ri.class[k] != 'r' {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// rowVersions reads the versions a row keeps in itself (none when the table
// has no sync_hlc, the row does not exist or its sync_hlc is empty), and
// whether its sync_hlc is set.
func (db *DB) rowVersions(q Querier, table, id string) (map[string]fieldVersion, bool, error) {
	v := map[string]fieldVersion{}
	ri := db.rowv[table]
	if ri == nil {
		return v, false, nil
	}
	cols := db.vcols[table]
	vals := make([]any, len(cols)+1)
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	err := q.QueryRow(ri.read, id).Scan(ptrs...)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return v, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("store: read in-row versions of %s %s: %w", table, id, err)
	}
	h, _ := vals[0].(string)
	if h == "" {
		return v, false, nil
	}
	for i, c := range cols {
		nv, err := normalize(vals[i+1])
		if err != nil {
			return nil, false, fmt.Errorf("store: read in-row versions of %s %s: %s: %w", table, id, c, err)
		}
		if !emptyValue(nv) {
			v[c] = fieldVersion{H: h}
		}
	}
	return v, true, nil
}
