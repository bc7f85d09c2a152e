package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"sportello/internal/ids"
)

// DBFile is the database's name inside a data folder (desk.Open).
const DBFile = "sportello.db"

// BackupTo writes a consistent copy of the database to path (a new file)
// while it stays in use: SQLite's VACUUM INTO reads one snapshot of a read
// transaction (writers go on in the WAL) and writes a compact,
// self-contained file, fsynced before BackupTo returns.
func (db *DB) BackupTo(ctx context.Context, path string) error {
	// A connection of its own: the readers are query-only (VACUUM INTO
	// writes, if only to another file) and the writer stays free.
	conn, err := sql.Open("sqlite", dsn(db.path, Options{BusyTimeout: db.busyTimeout(), Synchronous: "FULL"}, false))
	if err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		os.Remove(path)
		return fmt.Errorf("store: backup: %w", err)
	}
	if err := stampEpoch(ctx, path, db.now()); err != nil {
		os.Remove(path)
		return fmt.Errorf("store: backup: %w", err)
	}
	if err := fsyncFile(path); err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	return nil
}

// Keys of the change log's epoch in local_meta (LogEpoch), and of the hold
// on definitive numbers of a restored copy (NumberingHeld).
const (
	metaLogEpoch      = "log_epoch"
	metaLogEpochBase  = "log_epoch_base"
	metaNumberingHeld = "protocol_numbering_held"
	// metaConflictsAt is the detection time of the newest conflict record
	// a backup copy holds: conflict records the lost server wrote from
	// then on are what workstations give back (RejoinState.ConflictsSince).
	metaConflictsAt = "log_epoch_conflicts_at"
	// metaRegisterTops is the register's highest numbers in a backup copy
	// (JSON []RegisterTop): numbers above them may be lost.
	metaRegisterTops = "log_epoch_registers"
	// metaCopyAt is when the backup copy was made (UTC, RFC 3339): the
	// register year it was made in (CopyYear).
	metaCopyAt = "log_epoch_at"
)

// stampEpoch gives a backup copy a change-log epoch of its own, starting
// at its last change: a server started on the copy (a restore) is told
// apart from the one the workstations synced with, even once its log has
// grown past where theirs stood. It also holds the copy's definitive
// numbering: the server it is a copy of may have given numbers after it,
// which a restored server must not give again (ResumeNumbering). at is
// when the copy was made.
func stampEpoch(ctx context.Context, path string, at time.Time) error {
	conn, err := sql.Open("sqlite", "file:"+filepath.ToSlash(path))
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = conn.ExecContext(ctx, `INSERT INTO local_meta(key, value) VALUES (?1, ?2), (?3, (SELECT CAST(COALESCE(MAX(seq), 0) AS TEXT) FROM sync_changes)), (?4, '1'),
		(?5, (SELECT COALESCE(MAX(detected_at), '') FROM sync_conflicts)),
		(?6, (SELECT COALESCE(json_group_array(json_object('aoo', aoo, 'year', year, 'number', n)), '[]')
			FROM (SELECT aoo, year, MAX(number) AS n FROM protocol_numbers GROUP BY aoo, year)))
		ON CONFLICT(key) DO UPDATE SET value = excluded.value`, metaLogEpoch, ids.New(), metaLogEpochBase, metaNumberingHeld, metaConflictsAt, metaRegisterTops)
	if err != nil {
		return fmt.Errorf("stamp the copy's epoch: %w", err)
	}
	_, err = conn.ExecContext(ctx, `INSERT INTO local_meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`,
		metaCopyAt, FormatInstant(at))
	if err != nil {
		return fmt.Errorf("stamp the copy's epoch: %w", err)
	}
	// A copy of a server restored before starts a restore of its own
	// (Tx.RestoredSince).
	if _, err := conn.ExecContext(ctx, `DELETE FROM local_meta WHERE key = ?`, metaRestoredSince); err != nil {
		return fmt.Errorf("stamp the copy's epoch: %w", err)
	}
	return conn.Close()
}

// LogEpoch identifies this database's change log: a random ID made the
// first time it is asked for, and the sequence the epoch starts after (0;
// for a database restored from a backup, the backup's last change). A
// workstation that pulled from another epoch past its start pulled changes
// this log does not hold.
func (db *DB) LogEpoch(ctx context.Context) (epoch string, base int64, err error) {
	if _, err := db.w.ExecContext(ctx, `INSERT INTO local_meta(key, value) VALUES (?1, ?2), (?3, '0') ON CONFLICT(key) DO NOTHING`,
		metaLogEpoch, ids.New(), metaLogEpochBase); err != nil {
		return "", 0, fmt.Errorf("store: change log epoch: %w", err)
	}
	if epoch, err = db.Meta(ctx, metaLogEpoch); err != nil {
		return "", 0, err
	}
	b, err := db.Meta(ctx, metaLogEpochBase)
	if err != nil {
		return "", 0, err
	}
	if base, err = strconv.ParseInt(b, 10, 64); err != nil {
		return "", 0, fmt.Errorf("store: change log epoch base %q: %w", b, err)
	}
	return epoch, base, nil
}

// ReplaceDatabase moves a complete database file over path, removing the
// WAL files an older database at path may have left, and makes the rename
// durable: path holds the old database or the new one, whole.
func ReplaceDatabase(from, path string) error {
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Remove(path + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("store: replace database: %w", err)
		}
	}
	if err := os.Rename(from, path); err != nil {
		return fmt.Errorf("store: replace database: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

// RowCount counts the rows of a replicated table.
func (db *DB) RowCount(ctx context.Context, table string) (int, error) {
	if _, ok := db.cols[table]; !ok {
		return 0, fmt.Errorf("store: %q is not a replicated table", table)
	}
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count %s: %w", table, err)
	}
	return n, nil
}

func fsyncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// CopyTo copies into dst every blob dst lacks. Each file is hashed while it
// is copied: one whose content no longer matches its digest is reported
// (ErrCorrupt) and not copied. It returns how many files and bytes it copied
// and how many dst already had.
func (b *Blobs) CopyTo(ctx context.Context, dst *Blobs) (copied, bytes, kept int64, err error) {
	err = b.Walk(func(digest string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if dst.Has(digest) {
			kept++
			return nil
		}
		n, err := b.copyOne(ctx, dst, digest)
		if err != nil {
			return err
		}
		copied++
		bytes += n
		return nil
	})
	return copied, bytes, kept, err
}

func (b *Blobs) copyOne(ctx context.Context, dst *Blobs, digest string) (int64, error) {
	src, err := b.Open(digest)
	if err != nil {
		return 0, err
	}
	defer src.Close()
	tmp, err := os.CreateTemp(filepath.Join(dst.dir, "tmp"), "copy-*")
	if err != nil {
		return 0, fmt.Errorf("store: copy file %s: %w", digest, err)
	}
	defer os.Remove(tmp.Name()) // a no-op once the file is placed
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), &ctxReader{ctx: ctx, r: src})
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("store: copy file %s: %w", digest, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != digest {
		return 0, fmt.Errorf("%w: file %s holds content %s", ErrCorrupt, digest, got)
	}
	if err := dst.AdoptVerified(tmp.Name(), digest); err != nil {
		return 0, err
	}
	return n, nil
}
