package store

import (
	"database/sql/driver"
	"fmt"

	"modernc.org/sqlite"

	"sportello/internal/citizen"
)

// Search keys derived from other columns of a row: citizens.search_name
// (surname and name, folded) and citizens.doc_number_folded (doc_number).
// The write that sets a source column sets its key too, in the same change.
// But the merge goes column by column: two writes of different source
// columns (one desk corrects the surname, another the name) merge into a
// row no single write described, whose key is one of the two writes' own;
// a conflict's losing value restored, a revert or a repair write one column
// alone. So every replica recomputes the keys from the row as it is after
// each of those, on its own, without recording a change: the sources
// converge everywhere, and so do the keys (migration 0014 recomputed
// those of rows written before).

// citizenKeyColumns are the columns of citizens that feed, or are, its
// derived search keys.
var citizenKeyColumns = map[string]bool{"surname": true, "name": true, "doc_number": true, "search_name": true, "doc_number_folded": true}

func init() {
	// SQL names of the folds, for refreshDerived and migration 0014.
	sqlite.MustRegisterDeterministicScalarFunction("sportello_fold", 1, foldFunc(citizen.Fold))
	sqlite.MustRegisterDeterministicScalarFunction("sportello_fold_document", 1, foldFunc(citizen.FoldDocument))
}

func foldFunc(fold func(string) string) func(*sqlite.FunctionContext, []driver.Value) (driver.Value, error) {
	return func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		switch v := args[0].(type) {
		case nil:
			return "", nil
		case string:
			return fold(v), nil
		case []byte:
			return fold(string(v)), nil
		default:
			return nil, fmt.Errorf("store: fold of a %T", v)
		}
	}
}

// refreshDerived recomputes the derived search keys of a row whose
// columns cols were just written, from the row as it is now, when they may
// be out of step with their sources and are. It records no change.
func (t *Tx) refreshDerived(table, id string, cols []string) error {
	touched := false
	for _, c := range cols {
		touched = touched || citizenKeyColumns[c]
	}
	if table != "citizens" || !touched {
		return nil
	}
	if _, err := t.exec(`UPDATE citizens SET search_name = sportello_fold(surname || ' ' || name), doc_number_folded = sportello_fold_document(doc_number)
		WHERE id = ? AND (search_name <> sportello_fold(surname || ' ' || name) OR doc_number_folded <> sportello_fold_document(doc_number))`, id); err != nil {
		return fmt.Errorf("store: search keys of %s %s: %w", table, id, err)
	}
	return nil
}
