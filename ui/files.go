package ui

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/storage"

	"sportello/internal/catalog"
)

// pickedFile is a file chosen by the operator (file dialog, drag and drop,
// scanner folder) and not yet handed to the service.
type pickedFile struct {
	name   string
	size   int64  // -1 when unknown
	source string // translation key of where it came from
	key    string // identity (path or URI) to avoid duplicates
	open   func() (io.ReadCloser, error)
}

// fileOfPath is a local file.
func fileOfPath(path, source string) pickedFile {
	size := int64(-1)
	if st, err := os.Stat(path); err == nil {
		size = st.Size()
	}
	return pickedFile{name: filepath.Base(path), size: size, source: source, key: path,
		open: func() (io.ReadCloser, error) { return os.Open(path) }}
}

// fileOfURI is a file given by Fyne (drag and drop).
func fileOfURI(u fyne.URI, source string) pickedFile {
	if u.Scheme() == "file" {
		return fileOfPath(u.Path(), source)
	}
	return pickedFile{name: u.Name(), size: -1, source: source, key: u.String(),
		open: func() (io.ReadCloser, error) { return storage.Reader(u) }}
}

// fileOfReader is a file already opened by a file dialog: it can be read once.
func fileOfReader(r fyne.URIReadCloser, source string) pickedFile {
	f := fileOfURI(r.URI(), source)
	used := false
	f.open = func() (io.ReadCloser, error) {
		if used {
			return storage.Reader(r.URI())
		}
		used = true
		return r, nil
	}
	return f
}

// isDir reports whether u is a local folder (drops of folders are skipped).
func isDir(u fyne.URI) bool {
	if u.Scheme() != "file" {
		return false
	}
	st, err := os.Stat(u.Path())
	return err == nil && st.IsDir()
}

// describe is "name (size)".
func (f pickedFile) describe() string {
	if f.size < 0 {
		return f.name
	}
	return f.name + " (" + formatSize(f.size) + ")"
}

// formatExtensions are the file name extensions of the formats, for the
// file dialog's filter.
var formatExtensions = map[catalog.Format][]string{
	catalog.FormatPDF: {".pdf"}, catalog.FormatPDFA: {".pdf"}, catalog.FormatJPEG: {".jpg", ".jpeg"},
	catalog.FormatPNG: {".png"}, catalog.FormatTIFF: {".tif", ".tiff"}, catalog.FormatP7M: {".p7m"},
	catalog.FormatXML: {".xml"}, catalog.FormatODT: {".odt"}, catalog.FormatDOCX: {".docx"},
	catalog.FormatDWG: {".dwg"}, catalog.FormatZIP: {".zip"}, catalog.FormatTXT: {".txt"},
}

// extensionFilter accepts the extensions of formats (both cases); nil
// (no filter) when formats is empty.
func extensionFilter(formats []catalog.Format) storage.FileFilter {
	var exts []string
	seen := map[string]bool{}
	for _, f := range formats {
		for _, e := range formatExtensions[f] {
			for _, x := range []string{e, strings.ToUpper(e)} {
				if !seen[x] {
					seen[x] = true
					exts = append(exts, x)
				}
			}
		}
	}
	if len(exts) == 0 {
		return nil
	}
	return storage.NewExtensionFileFilter(exts)
}

// printKeep is how long a printed PDF left behind (the application
// stopped without closing) stays in Options.PrintDir before the next start
// removes it.
const printKeep = 12 * time.Hour

// printPattern names the PDFs the desk prints; prunePrints removes only those.
const printPattern = "sportello-*.pdf"

// writePDF writes a PDF produced by render to a new file in dir (the
// system's temporary folder when empty) and returns its path (prefix names
// the kind: modulo, ricevuta).
func writePDF(ctx context.Context, dir, prefix string, render func(context.Context, io.Writer) error) (string, error) {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", fmt.Errorf("ui: print folder: %w", err)
		}
	}
	f, err := os.CreateTemp(dir, strings.Replace(printPattern, "*", prefix+"-*", 1))
	if err != nil {
		return "", err
	}
	if err := render(ctx, f); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// prunePrints removes the printed PDFs in dir last modified before cutoff.
// A file it cannot remove (a viewer holds it open on Windows) is logged and
// left for the next time.
func prunePrints(dir string, cutoff time.Time) {
	paths, err := filepath.Glob(filepath.Join(dir, printPattern))
	if err != nil {
		slog.Warn("printed PDFs", "dir", dir, "err", err)
		return
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() || !fi.ModTime().Before(cutoff) {
			continue
		}
		if err := os.Remove(p); err != nil {
			slog.Warn("remove printed PDF", "path", p, "err", err)
		}
	}
}

// openPDF renders a PDF in the background and opens it with the system
// viewer; what names it in the status line.
func (u *UI) openPDF(prefix, what string, render func(context.Context, io.Writer) error, done func(path string, err error)) {
	runAsync(u, func(ctx context.Context) (string, error) {
		return writePDF(ctx, u.opts.PrintDir, prefix, render)
	}, func(path string, err error) {
		if err != nil {
			u.showError(err)
		} else if oerr := u.openFile(path); oerr != nil {
			// No viewer: the file is there all the same.
			slog.Warn("open PDF", "path", path, "err", oerr)
			u.showInfo(what, lang.L("pdf.open.failed", map[string]any{"What": what, "Path": path}))
		} else {
			u.setStatus(lang.L("pdf.opened", map[string]any{"What": what}))
		}
		if done != nil {
			done(path, err)
		}
	})
}
