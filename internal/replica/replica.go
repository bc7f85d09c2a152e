// Package replica is a headless replica for automation and tests: it enrols
// a data folder with the server, runs the desk service with the sync client
// loop (optionally performing a random desk workload, one confirmed line per
// operation) and reports the replica's state for convergence checks. Pure
// Go: no UI.
package replica

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"sportello/internal/desk"
	"sportello/store"
	"sportello/sync"
)

// DBFile is the replica's database inside its data folder (as desk.Open uses it).
const DBFile = store.DBFile

// Enroll exchanges a one-time enrolment code for the workstation's token and
// installs the server's snapshot in dataDir. It returns the workstation code.
func Enroll(ctx context.Context, dataDir, url, pin, code string) (string, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", fmt.Errorf("replica: data folder: %w", err)
	}
	path := filepath.Join(dataDir, DBFile)
	if _, err := sync.Enroll(ctx, path, url, pin, code, nil); err != nil {
		return "", err
	}
	db, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		return "", err
	}
	defer db.Close()
	return db.WorkstationCode(), nil
}

// TableSum is a replicated table's checksum and row count.
type TableSum struct {
	Checksum string `json:"checksum"`
	Rows     int    `json:"rows"`
}

// Status is what `status` prints: enough to compare replicas for convergence.
type Status struct {
	WorkstationID string              `json:"workstation_id"`
	Workstation   string              `json:"workstation"`
	Enrolled      bool                `json:"enrolled"`
	Server        string              `json:"server,omitempty"`
	Pending       int                 `json:"pending"`     // local changes the server has not acknowledged
	PushedSeq     int64               `json:"pushed_seq"`  // acknowledged up to this origin seq
	PullCursor    int64               `json:"pull_cursor"` // server change-log position pulled
	LastSync      string              `json:"last_sync,omitempty"`
	Rejected      int                 `json:"rejected"` // changes the server refused
	Conflicts     int                 `json:"open_conflicts"`
	Tables        map[string]TableSum `json:"tables"`
}

func metaInt(ctx context.Context, db *store.DB, key string) (int64, error) {
	v, err := db.Meta(ctx, key)
	if err != nil {
		return 0, err
	}
	return store.MetaNumber(key, v)
}

// ReadStatus reads a replica's status. On the server's own database (never
// enrolled) Pending is 0: the server has nobody to push to.
func ReadStatus(ctx context.Context, db *store.DB) (Status, error) {
	st := Status{WorkstationID: db.WorkstationID(), Workstation: db.WorkstationCode(), Tables: map[string]TableSum{}}
	cfg, err := sync.LoadConfig(ctx, db)
	if err != nil {
		return st, err
	}
	st.Server, st.Enrolled = cfg.URL, cfg.URL != "" && cfg.Token != ""
	if st.PushedSeq, err = metaInt(ctx, db, sync.MetaPushed); err != nil {
		return st, err
	}
	if st.PullCursor, err = metaInt(ctx, db, sync.MetaPullCursor); err != nil {
		return st, err
	}
	if st.Enrolled {
		if st.Pending, err = db.CountLocalChangesAfter(ctx, st.PushedSeq); err != nil {
			return st, err
		}
	}
	if st.LastSync, err = db.Meta(ctx, sync.MetaLastSync); err != nil {
		return st, err
	}
	if raw, err := db.Meta(ctx, sync.MetaRejected); err != nil {
		return st, err
	} else if raw != "" {
		var rej []store.Rejection
		if err := json.Unmarshal([]byte(raw), &rej); err != nil {
			return st, fmt.Errorf("replica: rejected changes: %w", err)
		}
		st.Rejected = len(rej)
	}
	if st.Conflicts, err = db.OpenConflicts(ctx); err != nil {
		return st, err
	}
	tables := db.ReplicatedTables()
	sort.Strings(tables)
	for _, t := range tables {
		sum, n, err := db.TableChecksum(ctx, t)
		if err != nil {
			return st, err
		}
		st.Tables[t] = TableSum{Checksum: sum, Rows: n}
	}
	return st, nil
}

// Diff lists the replicated tables whose checksums differ between a and b.
func Diff(a, b Status) []string {
	var out []string
	seen := map[string]bool{}
	for t, x := range a.Tables {
		seen[t] = true
		if y, ok := b.Tables[t]; !ok || x != y {
			out = append(out, t)
		}
	}
	for t := range b.Tables {
		if !seen[t] {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out
}

// WriteStatus opens the database in dataDir (a replica's or the server's)
// and writes its Status as indented JSON. missing is the Italian message
// when the folder holds no database.
func WriteStatus(ctx context.Context, w io.Writer, dataDir, missing string) error {
	path := filepath.Join(dataDir, DBFile)
	if _, err := os.Stat(path); err != nil {
		return &desk.Error{Message: missing + " " + dataDir, Err: err}
	}
	db, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	st, err := ReadStatus(ctx, db)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(st)
}
