package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"sportello/internal/desk"
	"sportello/store"
)

// ManifestFile describes a backup folder (BackupReport as JSON).
const ManifestFile = "BACKUP.json"

// BackupReport says what a backup holds.
type BackupReport struct {
	Dir           string    `json:"dir"`
	At            time.Time `json:"at"`
	SchemaVersion int       `json:"schema_version"`
	DBBytes       int64     `json:"db_bytes"`
	DBSHA256      string    `json:"db_sha256"`
	// Rows per replicated table, read from the copy.
	Rows map[string]int `json:"rows"`
	// Files: copied by this run, already in the folder from an earlier one.
	FilesCopied int64 `json:"files_copied"`
	BytesCopied int64 `json:"bytes_copied"`
	FilesKept   int64 `json:"files_kept"`
	// Certificate: the self-signed certificate and its key were copied
	// (the workstations pin its fingerprint).
	Certificate bool `json:"certificate"`
}

// Backup copies a server's data folder into outDir while the server runs:
// the database as one consistent snapshot (store.DB.BackupTo), the files
// it names (only those outDir lacks: a backup into the same folder again
// copies only new files, each verified against its digest) and the
// self-signed certificate with its key. Then it checks the copy — integrity,
// every workstation's audit chain, every file named by an attachment or a
// protocol document present — and writes BACKUP.json. outDir is itself a
// data folder: a server started on it (or on a copy of it) is the server
// as of the backup.
func Backup(ctx context.Context, dataDir, outDir string, now time.Time) (BackupReport, error) {
	rep := BackupReport{Dir: outDir, At: now}
	src := filepath.Join(dataDir, store.DBFile)
	if _, err := os.Stat(src); err != nil {
		return rep, &desk.Error{Message: "Nessun database del server in " + dataDir, Err: err}
	}
	absData, err1 := filepath.Abs(dataDir)
	absOut, err2 := filepath.Abs(outDir)
	if err := errors.Join(err1, err2); err != nil {
		return rep, fmt.Errorf("server: backup: %w", err)
	}
	if absData == absOut {
		return rep, &desk.Error{Message: "La copia di sicurezza va in una cartella diversa da quella dei dati"}
	}
	if err := os.MkdirAll(outDir, 0o700); err != nil {
		return rep, &desk.Error{Message: "Impossibile creare la cartella della copia " + outDir, Err: err}
	}
	db, err := store.Open(ctx, src, store.Options{})
	if err != nil {
		return rep, fmt.Errorf("server: backup: %w", err)
	}
	defer db.Close()
	// The new copy becomes the backup's database only once it is checked,
	// so a run that fails leaves the previous backup whole.
	final := filepath.Join(outDir, store.DBFile)
	partial := filepath.Join(outDir, "."+store.DBFile+".partial")
	for _, p := range []string{partial, partial + "-wal", partial + "-shm"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return rep, fmt.Errorf("server: backup: %w", err)
		}
	}
	defer os.Remove(partial)
	if err := db.BackupTo(ctx, partial); err != nil {
		return rep, &desk.Error{Message: "Copia del database non riuscita", Err: err}
	}
	// Files after the database: a file a row of the copy names was stored
	// before that row was written, so it is in the folder by now.
	srcBlobs, err := store.OpenBlobs(filepath.Join(dataDir, "blobs"))
	if err != nil {
		return rep, fmt.Errorf("server: backup: %w", err)
	}
	dstBlobs, err := store.OpenBlobs(filepath.Join(outDir, "blobs"))
	if err != nil {
		return rep, fmt.Errorf("server: backup: %w", err)
	}
	if rep.FilesCopied, rep.BytesCopied, rep.FilesKept, err = srcBlobs.CopyTo(ctx, dstBlobs); err != nil {
		if errors.Is(err, store.ErrCorrupt) {
			return rep, &desk.Error{Message: "Un allegato del server non corrisponde più alla sua impronta: copia interrotta, controllare il disco del server", Err: err}
		}
		return rep, &desk.Error{Message: "Copia degli allegati non riuscita", Err: err}
	}
	if rep.Certificate, err = copyCertificate(dataDir, outDir); err != nil {
		return rep, &desk.Error{Message: "Copia del certificato non riuscita", Err: err}
	}
	if err := checkBackup(ctx, partial, dstBlobs, &rep); err != nil {
		return rep, err
	}
	if err := store.ReplaceDatabase(partial, final); err != nil {
		return rep, &desk.Error{Message: "Copia del database non riuscita", Err: err}
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return rep, fmt.Errorf("server: backup manifest: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(outDir, ManifestFile), append(b, '\n'), 0o600); err != nil {
		return rep, fmt.Errorf("server: backup manifest: %w", err)
	}
	return rep, nil
}

// copyCertificate copies the self-signed certificate and key kept in the
// data folder, and the next ones prepared, when there are any (a server given -tls-cert/-tls-key keeps
// them elsewhere: they are backed up with the machine's configuration).
func copyCertificate(dataDir, outDir string) (bool, error) {
	for i, name := range []string{CertFile, KeyFile, NextCertFile, NextKeyFile} {
		b, err := os.ReadFile(filepath.Join(dataDir, name))
		if errors.Is(err, os.ErrNotExist) && i >= 2 {
			// The next certificate travels when it is prepared (the
			// workstations may hold it already); the copy of one
			// switched to since is removed.
			if err := os.Remove(filepath.Join(outDir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return false, err
			}
			continue
		}
		if errors.Is(err, os.ErrNotExist) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if err := writeFileAtomic(filepath.Join(outDir, name), b, 0o600); err != nil {
			return false, err
		}
	}
	return true, nil
}

// checkBackup opens the copy and checks what a restore would rely on, then
// records the digest of the file as it stays.
func checkBackup(ctx context.Context, path string, blobs *store.Blobs, rep *BackupReport) error {
	db, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		return fmt.Errorf("server: check backup: %w", err)
	}
	if err := checkCopy(ctx, db, blobs, rep); err != nil {
		db.Close()
		return err
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("server: check backup: %w", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("server: check backup: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if rep.DBBytes, err = io.Copy(h, f); err != nil {
		return fmt.Errorf("server: check backup: %w", err)
	}
	rep.DBSHA256 = hex.EncodeToString(h.Sum(nil))
	return nil
}

func checkCopy(ctx context.Context, db *store.DB, blobs *store.Blobs, rep *BackupReport) error {
	if err := db.IntegrityCheck(ctx); err != nil {
		return &desk.Error{Message: "La copia del database non è integra", Err: err}
	}
	if brk, err := db.VerifyAudit(ctx); err != nil || brk != nil {
		return &desk.Error{Message: "Nella copia il registro delle operazioni (audit) non è integro", Err: errors.Join(err, fmt.Errorf("%+v", brk))}
	}
	rep.SchemaVersion = store.SchemaVersion()
	rep.Rows = map[string]int{}
	for _, t := range db.ReplicatedTables() {
		n, err := db.RowCount(ctx, t)
		if err != nil {
			return fmt.Errorf("server: check backup: %w", err)
		}
		rep.Rows[t] = n
	}
	named, err := db.ReferencedBlobs(ctx)
	if err != nil {
		return fmt.Errorf("server: check backup: %w", err)
	}
	var missing []string
	for _, sha := range named {
		if !blobs.Has(sha) {
			missing = append(missing, sha)
		}
	}
	if len(missing) > 0 {
		return &desk.Error{Message: fmt.Sprintf("Nella copia mancano %d allegati nominati dai dati (il primo: %s)", len(missing), missing[0])}
	}
	return nil
}
