// Package pdf renders the printable documents of the desk: the application
// form signed by the citizen (RenderApplicationForm) and the protocol receipt
// handed back after registration (RenderReceipt). The documents are in
// Italian; the code is not.
//
// The package has no dependency on the other sportello packages: callers map
// their domain objects into the plain view-model structs declared in
// model.go (ApplicationForm, Receipt, Person, Attachment, ...).
//
// Text is set in the Go fonts (golang.org/x/image/font/gofont: Go Regular,
// Bold, Italic and, for the SHA-256 impronte, Go Mono), embedded in the
// binary and in the PDF (subset) as UTF-8 TrueType fonts, so accented
// letters, "€", "«»" and typographic apostrophes print correctly with no font
// files on disk. Characters the fonts lack are replaced (diacritics dropped,
// otherwise "?") rather than printed as blank boxes (fonts.go).
//
// All dates are shown in the Europe/Rome time zone (time/tzdata is imported,
// so this works on hosts without a zoneinfo database). Output is
// deterministic: the PDF creation and modification dates are taken from the
// document date, never from the clock, so the same input yields the same
// bytes. The Render functions are safe for concurrent use.
//
// # PDF engine
//
// The low-level PDF writer is github.com/jung-kurt/gofpdf, which is no
// longer maintained upstream. It is imported ONLY by engine.go, which adapts
// it to the small package-internal canvas interface (canvas.go); every
// layout routine draws through that interface. Moving to the maintained
// successor codeberg.org/go-pdf/fpdf, which has the same API, is therefore a
// one-import change in engine.go (plus the go.mod requirement). A test
// enforces that no other non-test file imports gofpdf. fonts.go works around
// two gofpdf font-subsetting bugs (wrong metrics for fonts with a short hmtx
// table such as Go Mono, and writes into the caller's font bytes); the
// workarounds are harmless with the fork.
//
// Layout (text wrapping, tables, page breaks, "Pagina N di M" footers) is
// done by the package itself. Documents are laid out twice: the first pass
// counts the pages, the second draws the footers with the final total.
package pdf
