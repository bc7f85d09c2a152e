package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sportello/internal/protocol"
	"strings"
	"time"
)

// Blobs keeps attachment files by their SHA-256 digest (the AgID "impronta")
// under one folder: blobs/ab/cd/abcd…. A file is written to a temporary name,
// fsynced, renamed into place and its folder fsynced, so a crash never leaves
// a partial file under a valid name. Files are never replaced: the same
// content has one name, and different content can never take it.
type Blobs struct {
	dir string
}

// ErrTooLarge is returned when a blob exceeds the size limit given to Put.
var ErrTooLarge = errors.New("store: file exceeds the size limit")

// ErrCorrupt is returned when a stored blob no longer matches its digest.
var ErrCorrupt = errors.New("store: stored file does not match its digest")

// staleTemp is the age past which a temporary file in the blob folder is a
// leftover of an interrupted write. A younger one may be a write in progress
// of another process on the same folder (the server, while an administrator
// runs a command or a backup): a file being written is touched continuously.
const staleTemp = time.Hour

// OpenBlobs opens (creating) the blob folder and removes temporary files left
// by an interrupted write.
func OpenBlobs(dir string) (*Blobs, error) {
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o700); err != nil {
		return nil, fmt.Errorf("store: create blob folder: %w", err)
	}
	leftovers, err := os.ReadDir(filepath.Join(dir, "tmp"))
	if err != nil {
		return nil, fmt.Errorf("store: list blob temp folder: %w", err)
	}
	for _, e := range leftovers {
		fi, err := e.Info()
		if errors.Is(err, os.ErrNotExist) {
			continue // its write just finished
		}
		if err != nil {
			return nil, fmt.Errorf("store: list blob temp folder: %w", err)
		}
		if time.Since(fi.ModTime()) < staleTemp {
			continue
		}
		if err := os.Remove(filepath.Join(dir, "tmp", e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("store: remove interrupted blob write: %w", err)
		}
	}
	return &Blobs{dir: dir}, nil
}

// ValidDigest reports whether s is a lower-case hex SHA-256.
func ValidDigest(s string) bool { return protocol.ValidDigest(s) }

// Path is where the blob with this digest lives.
func (b *Blobs) Path(digest string) string {
	return filepath.Join(b.dir, digest[:2], digest[2:4], digest)
}

// Has reports whether the blob is stored.
func (b *Blobs) Has(digest string) bool {
	if !ValidDigest(digest) {
		return false
	}
	_, err := os.Stat(b.Path(digest))
	return err == nil
}

// Put stores the content of r (at most maxBytes; <= 0 means no limit) and
// returns its digest and size. Storing content that is already there is a
// no-op that returns the same digest.
func (b *Blobs) Put(ctx context.Context, r io.Reader, maxBytes int64) (digest string, size int64, err error) {
	tmp, err := os.CreateTemp(filepath.Join(b.dir, "tmp"), "put-*")
	if err != nil {
		return "", 0, fmt.Errorf("store: create temporary blob: %w", err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	src := r
	if maxBytes > 0 {
		src = io.LimitReader(r, maxBytes+1)
	}
	size, err = io.Copy(io.MultiWriter(tmp, h), &ctxReader{ctx: ctx, r: src})
	if err != nil {
		return "", 0, fmt.Errorf("store: write blob: %w", err)
	}
	if maxBytes > 0 && size > maxBytes {
		return "", 0, fmt.Errorf("%w (%d bytes)", ErrTooLarge, maxBytes)
	}
	if err := tmp.Sync(); err != nil {
		return "", 0, fmt.Errorf("store: sync blob: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", 0, fmt.Errorf("store: close blob: %w", err)
	}
	digest = hex.EncodeToString(h.Sum(nil))
	final := b.Path(digest)
	if _, err := os.Stat(final); err == nil {
		os.Remove(tmp.Name())
		done = true
		if err := touch(final); err != nil {
			return "", 0, err
		}
		return digest, size, nil
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o700); err != nil {
		return "", 0, fmt.Errorf("store: create blob folder: %w", err)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return "", 0, fmt.Errorf("store: move blob into place: %w", err)
	}
	done = true
	if err := syncDir(filepath.Dir(final)); err != nil {
		return "", 0, err
	}
	return digest, size, nil
}

// Open returns the stored file for reading.
func (b *Blobs) Open(digest string) (*os.File, error) {
	if !ValidDigest(digest) {
		return nil, fmt.Errorf("store: %q is not a SHA-256 digest", digest)
	}
	f, err := os.Open(b.Path(digest))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("store: blob %s: %w", digest, ErrNotFound)
		}
		return nil, fmt.Errorf("store: open blob %s: %w", digest, err)
	}
	return f, nil
}

// Verify re-reads the blob and checks it still matches its digest.
func (b *Blobs) Verify(ctx context.Context, digest string) error {
	f, err := b.Open(digest)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, &ctxReader{ctx: ctx, r: f}); err != nil {
		return fmt.Errorf("store: read blob %s: %w", digest, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != digest {
		return fmt.Errorf("%w: %s has content %s", ErrCorrupt, digest, got)
	}
	return nil
}

// Dir is the blob folder.
func (b *Blobs) Dir() string { return b.dir }

// Walk calls fn with the digest of every stored blob.
func (b *Blobs) Walk(fn func(digest string) error) error {
	return filepath.WalkDir(b.dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "tmp" {
				return filepath.SkipDir
			}
			return nil
		}
		name := d.Name()
		if ValidDigest(name) && strings.HasSuffix(filepath.Dir(path), filepath.Join(name[:2], name[2:4])) {
			return fn(name)
		}
		return nil
	})
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("store: open folder for sync: %w", err)
	}
	defer d.Close()
	// Windows cannot fsync a directory; its rename is already durable with NTFS journaling.
	if err := d.Sync(); err != nil && !isUnsupportedSync(err) {
		return fmt.Errorf("store: sync folder: %w", err)
	}
	return nil
}

func isUnsupportedSync(err error) bool {
	return errors.Is(err, os.ErrInvalid) || errors.Is(err, os.ErrPermission) || strings.Contains(err.Error(), "Access is denied") || strings.Contains(err.Error(), "invalid argument")
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Adopt moves a complete file (on the same file system, e.g. a finished
// upload) into the store under digest after verifying its content; the file
// is fsynced first. A mismatch leaves the file where it is and returns
// ErrCorrupt.
func (b *Blobs) Adopt(ctx context.Context, path, digest string) error {
	if !ValidDigest(digest) {
		return fmt.Errorf("store: %q is not a SHA-256 digest", digest)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("store: adopt %s: %w", path, err)
	}
	h := sha256.New()
	_, err = io.Copy(h, &ctxReader{ctx: ctx, r: f})
	if err == nil {
		err = f.Sync()
	}
	f.Close()
	if err != nil {
		return fmt.Errorf("store: adopt %s: %w", path, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != digest {
		return fmt.Errorf("%w: declared %s, content %s", ErrCorrupt, digest, got)
	}
	return b.place(path, digest)
}

// AdoptVerified moves a file whose digest the caller has just computed while
// writing it (and fsynced) into the store, without reading it again.
func (b *Blobs) AdoptVerified(path, digest string) error {
	if !ValidDigest(digest) {
		return fmt.Errorf("store: %q is not a SHA-256 digest", digest)
	}
	return b.place(path, digest)
}

// place renames a verified, fsynced file to its digest's name (or drops it
// when the content is already stored) and makes the rename durable.
func (b *Blobs) place(path, digest string) error {
	final := b.Path(digest)
	if _, err := os.Stat(final); err == nil {
		if err := touch(final); err != nil {
			return err
		}
		return os.Remove(path)
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o700); err != nil {
		return fmt.Errorf("store: create blob folder: %w", err)
	}
	if err := os.Rename(path, final); err != nil {
		return fmt.Errorf("store: move blob into place: %w", err)
	}
	return syncDir(filepath.Dir(final))
}

// touch marks a stored file as stored again: a file about to be named
// again is not idle (RemoveIdle).
func touch(path string) error {
	now := time.Now()
	if err := os.Chtimes(path, now, now); err != nil {
		return fmt.Errorf("store: touch blob: %w", err)
	}
	return nil
}

// RemoveIdle deletes a stored file that nobody touched (stored, or stored
// again: Put) within idle. It reports whether the file is gone, which it
// is also when it was never there.
func (b *Blobs) RemoveIdle(digest string, idle time.Duration) (bool, error) {
	if !ValidDigest(digest) {
		return false, fmt.Errorf("store: %q is not a SHA-256 digest", digest)
	}
	path := b.Path(digest)
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: blob %s: %w", digest, err)
	}
	if time.Since(fi.ModTime()) < idle {
		return false, nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("store: remove blob %s: %w", digest, err)
	}
	return true, syncDir(filepath.Dir(path))
}

// ReferencedBlobs lists the digests that attachment and protocol document
// rows name.
func (db *DB) ReferencedBlobs(ctx context.Context) ([]string, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT sha256 FROM application_attachments UNION SELECT sha256 FROM protocol_documents`)
	if err != nil {
		return nil, fmt.Errorf("store: list referenced files: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("store: list referenced files: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
