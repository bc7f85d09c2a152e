package ui

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"

	"sportello/internal/application"
	"sportello/internal/citizen"
	"sportello/internal/desk"
	"sportello/internal/testfs"
	"sportello/store"
	"sportello/sync"
)

// writeFile writes a test file and returns its path.
func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func pdfBytes(text string) []byte {
	return []byte("%PDF-1.4\n%\xE2\xE3\xCF\xD3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n% " + text + "\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")
}

func pngBytes(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	img.Set(1, 1, color.RGBA{200, 10, 10, 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func jpegBytes(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// typeIn focuses e and types s into it.
func (h *harness) typeIn(e fyne.Focusable, s string) {
	h.t.Helper()
	h.w.Canvas().Focus(e)
	h.typeFocused(s)
}

// tap presses a button as a click would.
func (h *harness) tap(b *button) {
	h.t.Helper()
	if b.Disabled() {
		h.t.Fatalf("button %q is disabled", b.Text)
	}
	test.Tap(b)
}

// assertPDF checks that path is a PDF and, when pdftotext is installed,
// that its text contains each of want.
func assertPDF(t *testing.T, path string, want ...string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte("%PDF-")) || len(data) < 500 {
		t.Fatalf("%s is not a PDF (%d bytes)", path, len(data))
	}
	if _, err := exec.LookPath("pdftotext"); err != nil {
		return
	}
	out, err := exec.Command("pdftotext", "-layout", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext %s: %v", path, err)
	}
	text := strings.Join(strings.Fields(string(out)), " ")
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("%s does not say %q:\n%s", filepath.Base(path), w, text)
		}
	}
}

// TestDeskPathEndToEnd drives the whole desk path through the widgets: a
// citizen is registered, a change of residence is filed with attachments
// from the file dialog, drag and drop and the scanner folder, the check
// catches a missing document, it is fixed, the application is protocolled
// offline (emergency register), the receipt is produced and the
// application forwarded.
func TestDeskPathEndToEnd(t *testing.T) {
	h := newHarnessOpts(t, "", Options{})
	h.loginOK("sportello")
	files := t.TempDir()
	scanner := t.TempDir()
	ctx := context.Background()

	// Settings: the scanner folder.
	h.shortcut(fyne.KeyI)
	h.waitFor("settings", func() bool { return h.u.settings != nil })
	st := h.u.settings
	h.waitShows("Cartella dello scanner")
	st.scanner.SetText("")
	h.typeIn(st.scanner, scanner)
	h.tap(st.saveFolder)
	h.waitFor("scanner folder saved", func() bool { return strings.Contains(st.folderInfo.Text, scanner) })
	if got, _ := h.svc.LocalSetting(ctx, desk.SettingScannerFolder); got != scanner {
		t.Fatalf("scanner folder stored %q", got)
	}
	h.u.closeTopDialog()
	h.drain()

	// A new citizen.
	f := h.newCitizenForm()
	cf := mustCF(t, "Verdi", "Giuseppina", "1990-03-05", "F", "F205")
	h.typeIn(f.surname, "Verdi")
	h.typeIn(f.name, "Giuseppina")
	h.typeIn(f.cf, cf)
	h.typeIn(f.birthPlace, "Milano")
	h.typeIn(f.email, "giuseppina.verdi@example.it")
	h.shortcut(fyne.KeyS)
	h.waitFor("citizen saved", func() bool { return f.orig.ID != "" })

	// "Nuova pratica per questo cittadino": the wizard, applicant chosen.
	h.tap(f.newAppBtn)
	wz := h.u.shell.wizard
	h.waitFor("wizard for the citizen", func() bool {
		return h.u.shell.active() == section(wz) && wz.applicant != nil && wz.applicant.ID == f.orig.ID
	})
	if wz.step != stepProcedure || h.w.Canvas().Focused() != wz.procSearch {
		t.Fatalf("wizard at step %d, focus %v", wz.step, h.w.Canvas().Focused())
	}
	h.waitFor("catalog", func() bool { return wz.cat != nil })
	h.typeFocused("residenza")
	if len(wz.procResults) == 0 || wz.procResults[0].ID != "cambio-residenza" {
		t.Fatalf("procedures for residenza: %v", names(wz.procResults))
	}
	wz.procList.Select(0)
	h.waitShows("Dichiarazione per trasferire la residenza") // the knowledge text
	h.tap(wz.nextBtn)
	h.waitShows("Scelto: Verdi Giuseppina — " + cf)
	h.tap(wz.nextBtn) // starts the draft
	h.waitFor("form step", func() bool { return wz.app != nil && wz.step == stepForm })
	fm := wz.form

	// Prefilled from the registry.
	for key, want := range map[string]string{"cognome": "Verdi", "nome": "Giuseppina", "codice_fiscale": cf,
		"data_nascita": "05/03/1990", "luogo_nascita": "Milano", "email": "giuseppina.verdi@example.it"} {
		if got := fm.byKey[key].entry.Text; got != want {
			t.Errorf("%s prefilled %q, want %q", key, got, want)
		}
	}
	if fm.byKey["sesso"].sel.Selected != "Femminile" {
		t.Errorf("sex prefilled %q", fm.byKey["sesso"].sel.Selected)
	}

	// Fields appear and become required as the values say.
	comune := fm.byKey["comune_provenienza"]
	if comune.box.Visible() {
		t.Error("comune di provenienza shown before choosing the provenance")
	}
	fm.byKey["provenienza"].sel.SetSelected("Da altro comune italiano")
	if !comune.box.Visible() || comune.label.Text != "Comune di provenienza *" {
		t.Errorf("comune di provenienza: visible %v, label %q", comune.box.Visible(), comune.label.Text)
	}
	h.typeIn(comune.entry, "Brescia")
	fm.byKey["cittadinanza"].sel.SetSelected("Italiana")
	h.typeIn(fm.byKey["via"].entry, "Via dei Tigli")

	// Live validation under the field.
	civico := fm.byKey["numero_civico"]
	h.typeIn(civico.entry, "dodici")
	if !civico.msg.Visible() || civico.msg.Text != `Il campo "Numero civico" non è nel formato richiesto: Per esempio 12, 12A oppure 12/B` {
		t.Errorf("live message %q (visible %v)", civico.msg.Text, civico.msg.Visible())
	}
	h.waitShows("Per esempio 12, 12A oppure 12/B")
	civico.entry.SetText("")
	h.typeIn(civico.entry, "12A")
	if civico.msg.Visible() {
		t.Errorf("message still shown: %q", civico.msg.Text)
	}
	fm.byKey["titolo_occupazione"].sel.SetSelected("Proprietario")
	foglio := fm.byKey["catasto_foglio"]
	if !foglio.box.Visible() || !strings.HasSuffix(foglio.label.Text, " *") {
		t.Errorf("catasto foglio: visible %v label %q", foglio.box.Visible(), foglio.label.Text)
	}
	h.typeIn(foglio.entry, "12")
	h.typeIn(fm.byKey["catasto_particella"].entry, "345")
	h.typeIn(fm.byKey["numero_componenti"].entry, "1")

	// Attachments: the signed declaration from the file dialog's path, a
	// document of the other members dropped on the window.
	h.tap(wz.nextBtn)
	h.waitFor("attachments step", func() bool { return wz.step == stepAttachments })
	if a, _ := h.svc.Application(ctx, h.u.sess, wz.app.ID); a.Values["via"] != "Via dei Tigli" || a.Values["numero_civico"] != "12A" {
		t.Fatalf("draft not saved before leaving the step: %v", a.Values)
	}
	h.waitShows("Modulo di dichiarazione di residenza firmato *")
	h.waitShows("formati: PDF, P7M, JPEG, PNG — max 10 MB")
	ap := wz.attPage
	decl := writeFile(t, files, "dichiarazione.pdf", pdfBytes("dichiarazione"))
	req, _ := wz.proc.Attachment("modulo_dichiarazione")
	ap.signed[req.Type] = true // "Firma autografa" ticked
	ap.add(req, fileOfPath(decl, "wizard.att.source.dialog"), ap.signed[req.Type])
	h.waitFor("first attachment", func() bool { return len(wz.atts) == 1 })
	h.waitShows("dichiarazione.pdf — PDF — 1 KB — firma autografa dichiarata")

	others := writeFile(t, files, "componenti.png", pngBytes(t))
	h.u.dropped([]fyne.URI{storage.NewFileURI(others)})
	h.waitFor("dropped candidate", func() bool { return len(ap.candRows) == 1 })
	h.waitShows("trascinato sulla finestra")
	row := ap.candRows[0]
	if row.sel.Selected != "Documento d'identità del richiedente" {
		t.Errorf("proposed type %q", row.sel.Selected)
	}
	row.sel.SetSelected("Documenti d'identità degli altri componenti maggiorenni")
	h.tap(row.assign)
	h.waitFor("second attachment", func() bool { return len(wz.atts) == 2 && len(ap.candRows) == 0 })

	// The check catches the missing identity document, in the list and
	// next to the attachment type.
	h.tap(wz.nextBtn)
	missing := `Manca l'allegato obbligatorio "Documento d'identità del richiedente"`
	h.waitFor("check result", func() bool { return wz.step == stepCheck && wz.checked })
	h.waitShows(missing)
	if len(wz.problems) != 1 || wz.problems[0].Attachment != "documento_identita" {
		t.Fatalf("problems: %+v", wz.problems)
	}
	if wz.app.State != application.Bozza {
		t.Errorf("state %s after a failed check", wz.app.State)
	}
	var fix *button
	for _, o := range wz.checkBox.Objects {
		if c, ok := o.(*fyne.Container); ok {
			for _, x := range c.Objects {
				if b, ok := x.(*button); ok {
					fix = b
				}
			}
		}
	}
	if fix == nil {
		t.Fatal("no «Correggi» button")
	}
	h.tap(fix)
	h.waitFor("back to attachments", func() bool { return wz.step == stepAttachments })
	h.waitShows(missing) // next to the type

	// Fixed with a scan: the file appears as a candidate, assigned in one click.
	writeFile(t, scanner, "scansione-001.jpg", jpegBytes(t))
	h.waitFor("scanned candidate", func() bool { return len(ap.candRows) == 1 })
	h.waitShows("dalla cartella dello scanner")
	if got := ap.candRows[0].sel.Selected; got != "Documento d'identità del richiedente" {
		t.Errorf("proposed type for the scan %q", got)
	}
	h.tap(ap.candRows[0].assign)
	h.waitFor("third attachment", func() bool { return len(wz.atts) == 3 })

	h.tap(wz.nextBtn)
	h.waitFor("complete", func() bool { return wz.checked && len(wz.problems) == 0 && wz.app.State == application.Completa })
	h.waitShows("La pratica è completa")

	// Print, protocol offline, receipt, forward.
	h.tap(wz.nextBtn)
	h.waitFor("protocol step", func() bool { return wz.step == stepProtocol })
	fp := wz.finish
	h.tap(fp.printBtn)
	h.waitFor("form opened", func() bool { return len(h.opened) == 1 })
	assertPDF(t, h.opened[0], "Cambio di residenza", "Verdi Giuseppina", "Via dei Tigli")
	if !strings.Contains(filepath.Base(h.opened[0]), "modulo") {
		t.Errorf("form file %s", h.opened[0])
	}

	h.tap(fp.protoBtn)
	h.waitFor("protocolled", func() bool { return fp.result.Visible() })
	if !strings.HasPrefix(fp.result.Text, "Registro di emergenza n. EM-") ||
		!strings.HasSuffix(fp.result.Text, ": il numero definitivo sarà assegnato al ripristino della connessione") {
		t.Fatalf("result %q", fp.result.Text)
	}
	h.waitShows(fp.result.Text)
	label := fp.reg.EmergencyLabel()
	if label == "" || !strings.Contains(fp.result.Text, label) {
		t.Errorf("label %q in %q", label, fp.result.Text)
	}
	if fm.byKey["via"].entry.Disabled() == false {
		t.Error("the form is still editable after protocol")
	}

	h.tap(fp.receiptBtn)
	h.waitFor("receipt opened", func() bool { return len(h.opened) == 2 })
	assertPDF(t, h.opened[1], label, "Verdi Giuseppina")

	h.tap(fp.forwardBtn)
	h.waitShows("Pratica inoltrata a Servizi Demografici")
	a, err := h.svc.Application(ctx, h.u.sess, wz.app.ID)
	if err != nil || a.State != application.Inoltrata {
		t.Fatalf("stored state %s, %v", a.State, err)
	}
	atts, _ := h.svc.Attachments(ctx, h.u.sess, a.ID)
	if len(atts) != 3 {
		t.Errorf("attachments stored: %d", len(atts))
	}

	// The citizen's page lists it; opening it shows the detail.
	h.shortcut(fyne.Key1)
	h.waitFor("applications listed", func() bool {
		return len(f.apps) == 1 && strings.Contains(f.apps[0].Line, "Inoltrata all'ufficio — Prot. EM-")
	})
	f.appsList.Select(0)
	h.waitShows("Storico della pratica")
	h.waitShows("Registro di emergenza n. " + label)
	h.waitShows("Protocollata → Inoltrata all'ufficio — Inoltrata a Servizi Demografici – Anagrafe e Stato Civile")
}

// TestDraftSurvivesRestart: what is typed in the wizard is saved when the
// window closes, and found again after reopening the service.
func TestDraftSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	testfs.CopyTree(t, seeded, dir)
	h := newHarnessOpts(t, dir, Options{})
	h.loginOK("sportello")

	// Rossi Mario, from his page.
	cs := h.u.shell.citizens
	h.shortcut(fyne.KeyF)
	h.typeFocused("rossi mario")
	h.waitFor("results", func() bool { return len(cs.results) == 1 })
	pressEnter(cs.search)
	h.waitFor("page", func() bool { return cs.form != nil && cs.form.orig.ID != "" })
	h.tap(cs.form.newAppBtn)
	wz := h.u.shell.wizard
	h.waitFor("wizard", func() bool { return wz.applicant != nil && wz.cat != nil })
	h.typeFocused("cambio residenza")
	pressEnter(wz.procSearch) // first result and next step
	h.waitFor("citizen step", func() bool { return wz.step == stepCitizen })
	h.shortcut(fyne.KeyPageDown) // Ctrl+PageDown: next step, starts the draft
	h.waitFor("form", func() bool { return wz.app != nil && wz.step == stepForm })
	appID := wz.app.ID

	// Typed and the window closed at once, before the delayed save.
	h.typeIn(wz.form.byKey["via"].entry, "Via dei Tigli")
	h.typeIn(wz.form.byKey["numero_civico"].entry, "7")
	wz.form.byKey["provenienza"].sel.SetSelected("Dall'estero (anche rimpatrio di iscritti AIRE)")
	h.u.requestClose()
	h.waitFor("window closed", func() bool { return h.u.ctx.Err() != nil })
	if err := h.svc.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopened: the draft is on Rossi's page and resumes with the values.
	h2 := newHarnessOpts(t, dir, Options{})
	h2.loginOK("sportello")
	cs2 := h2.u.shell.citizens
	h2.shortcut(fyne.KeyF)
	h2.typeFocused("rossi mario")
	h2.waitFor("results", func() bool { return len(cs2.results) == 1 })
	cs2.list.Select(0)
	h2.waitFor("applications", func() bool { return cs2.form != nil && len(cs2.form.apps) == 1 })
	if r := cs2.form.apps[0]; r.ID != appID || !strings.Contains(r.Line, "Bozza") {
		t.Fatalf("applications: %+v", cs2.form.apps)
	}
	cs2.form.appsList.Select(0)
	wz2 := h2.u.shell.wizard
	h2.waitFor("draft resumed", func() bool { return wz2.app != nil && wz2.app.ID == appID && wz2.step == stepForm })
	fm := wz2.form
	if got := fm.byKey["via"].entry.Text; got != "Via dei Tigli" {
		t.Errorf("via = %q", got)
	}
	if got := fm.byKey["numero_civico"].entry.Text; got != "7" {
		t.Errorf("numero civico = %q", got)
	}
	if got := fm.byKey["provenienza"].sel.Selected; got != "Dall'estero (anche rimpatrio di iscritti AIRE)" {
		t.Errorf("provenienza = %q", got)
	}
	if !fm.byKey["stato_estero_provenienza"].box.Visible() {
		t.Error("the field shown by the provenance is hidden after resuming")
	}
	h2.waitShows("Via dei Tigli")
}

// TestProtocolOffice: the protocol office registers an incoming document
// (primary and an attachment dropped on the window), sees it in the
// register with its impronte, annuls it, and reviews the emergency register.
func TestProtocolOffice(t *testing.T) {
	h := newHarnessOpts(t, "", Options{})
	h.loginOK("protocollo")
	ctx := context.Background()
	var tabs []string
	for _, it := range h.u.shell.tabs.Items {
		tabs = append(tabs, it.Text)
	}
	if got := strings.Join(tabs, ", "); got != "Cittadini, Catalogo, Protocollo" {
		t.Fatalf("tabs of the protocol office: %s", got)
	}
	ps := h.u.shell.protocol
	files := t.TempDir()

	h.shortcut(fyne.KeyD) // Registra documento in arrivo
	h.waitFor("registration form", func() bool { return ps.form != nil })
	rf := ps.form
	if h.w.Canvas().Focused() != rf.correspondent {
		t.Errorf("focus on %v", h.w.Canvas().Focused())
	}
	h.waitShows("Mittente")
	h.typeFocused("Studio Tecnico Bianchi")
	h.typeIn(rf.subject, "Trasmissione documentazione integrativa pratica edilizia")
	h.typeIn(rf.classification, "VI.3")
	rf.office.SetSelected("Ufficio Tecnico – Edilizia Privata e Urbanistica")
	h.typeIn(rf.recNumber, "45/2026")
	h.typeIn(rf.recDate, "02/03/2026")

	// Without the document the service says what is missing.
	h.tap(rf.submitBtn)
	h.waitFor("problem", func() bool { return rf.problems.Visible() })
	if !strings.Contains(rf.problems.Text, "Allegare il documento da protocollare") {
		t.Errorf("problems %q", rf.problems.Text)
	}

	primaryData := pdfBytes("lettera")
	primary := writeFile(t, files, "lettera.pdf", primaryData)
	rf.addFile(fileOfPath(primary, "wizard.att.source.dialog"))
	h.u.dropped([]fyne.URI{storage.NewFileURI(writeFile(t, files, "planimetria.png", pngBytes(t)))})
	h.waitShows("Documento principale: lettera.pdf")
	h.waitShows("Allegato 1: planimetria.png")
	h.tap(rf.submitBtn)
	h.waitFor("registered", func() bool { return rf.done })
	if !strings.HasPrefix(rf.result.Text, "Registro di emergenza n. EM-") {
		t.Fatalf("result %q", rf.result.Text)
	}
	regID := rf.reg.ID
	h.waitFor("listed", func() bool { return len(ps.results) == 1 && ps.results[0].ID == regID })

	// Search by text and by date.
	ps.text.SetText("bianchi")
	ps.search()
	h.waitFor("found by sender", func() bool { return len(ps.results) == 1 })
	ps.text.SetText("")
	ps.from.SetText("01/01/2000")
	ps.to.SetText("02/01/2000")
	ps.search()
	h.waitFor("nothing in 2000", func() bool { return len(ps.results) == 0 })
	h.waitShows("Nessuna registrazione trovata.")
	ps.from.SetText("")
	ps.to.SetText("")
	ps.number.SetText(rf.reg.EmergencyLabel())
	ps.search()
	h.waitFor("found by number", func() bool { return len(ps.results) == 1 })

	// Detail with the documents' impronte.
	ps.list.Select(0)
	h.waitFor("detail", func() bool { return ps.shownID == regID && ps.form == nil && ps.detailAnnul != nil })
	sum := sha256.Sum256(primaryData)
	h.waitShows("Impronta SHA-256: " + hex.EncodeToString(sum[:]))
	h.waitShows("Documento principale: lettera.pdf")
	h.waitShows("Studio Tecnico Bianchi")
	h.tap(ps.detailReceipt)
	h.waitFor("receipt", func() bool { return len(h.opened) == 1 })
	assertPDF(t, h.opened[0], rf.reg.EmergencyLabel(), "Studio Tecnico Bianchi")

	// Annulment with reason and authorising act.
	h.tap(ps.detailAnnul)
	h.waitFor("annul dialog", func() bool { return ps.annul != nil })
	ad := ps.annul
	h.waitShows("Annullamento della registrazione")
	h.typeIn(ad.reason, "Registrazione duplicata")
	h.typeIn(ad.ref, "Autorizzazione del responsabile n. 7/2026")
	ad.d.Submit()
	h.waitShows("ANNULLATA: Registrazione duplicata")
	r, err := h.svc.Registration(ctx, h.u.sess, regID)
	if err != nil || !r.Annulled || r.AnnulReason != "Registrazione duplicata" {
		t.Fatalf("stored registration annulled=%v reason=%q err=%v", r.Annulled, r.AnnulReason, err)
	}
	if ps.detailAnnul != nil {
		t.Error("an annulled registration still offers the annulment")
	}

	// Emergency register: the interruption opened by itself, the daily count; closed.
	h.tap(ps.emergencyBtn)
	h.waitFor("emergency page", func() bool { return ps.emergency != nil })
	h.waitShows("Causa: " + desk.DefaultEmergencyCause)
	h.waitShows("fine: in corso")
	h.waitShows(": 1 registrazioni")
	h.tap(ps.emergency.close)
	h.waitFor("confirm", func() bool { return ps.emergency.confirm != nil })
	ps.emergency.confirm.Confirm()
	h.waitFor("closed", func() bool { return !h.shows("fine: in corso") && h.shows("Interruzione chiusa") })
	ins, _ := h.svc.Interruptions(ctx)
	if len(ins) != 1 || ins[0].EndedAt.IsZero() {
		t.Errorf("interruptions %+v", ins)
	}
}

// TestSportellistaProtocolTab: the desk sees the register but may not annul.
func TestSportellistaProtocolTab(t *testing.T) {
	h := newHarness(t)
	h.loginOK("sportello")
	ps := h.u.shell.protocol
	if ps == nil {
		t.Fatal("no protocol tab for the desk")
	}
	h.shortcut(fyne.Key4)
	if h.u.shell.active() != section(ps) || h.w.Canvas().Focused() != ps.text {
		t.Fatal("Ctrl+4 should open the protocol tab with the focus on its search")
	}
	h.shortcut(fyne.KeyD)
	h.waitFor("form", func() bool { return ps.form != nil })
	rf := ps.form
	h.typeFocused("Ditta Rossi Srl")
	h.typeIn(rf.subject, "Offerta")
	rf.addFile(fileOfPath(writeFile(t, t.TempDir(), "offerta.pdf", pdfBytes("offerta")), "wizard.att.source.dialog"))
	h.tap(rf.submitBtn)
	h.waitFor("registered", func() bool { return rf.done })
	h.waitFor("listed", func() bool { return len(ps.results) == 1 })
	ps.list.Select(0)
	h.waitFor("detail", func() bool { return ps.shownID == rf.reg.ID && ps.form == nil })
	h.waitShows("Ditta Rossi Srl")
	if ps.detailAnnul != nil {
		t.Error("the desk is offered the annulment")
	}
}

// fakeLink stands in for the sync client.
type fakeLink struct {
	st    sync.State
	calls int
}

func (f *fakeLink) State() sync.State { return f.st }

func (f *fakeLink) SyncNow(context.Context) error {
	f.calls++
	f.st.LastSync = time.Now()
	return nil
}

func (f *fakeLink) DismissRejected(_ context.Context, n int) error {
	f.st.Rejected = f.st.Rejected[min(n, len(f.st.Rejected)):]
	return nil
}

func (f *fakeLink) Server() (string, string) {
	return "https://server.example:8443", strings.Repeat("ab", 32)
}

func (f *fakeLink) st0() sync.State {
	return sync.State{Enrolled: true, Online: true, Pending: 3, LastSync: time.Now()}
}

var syncServerError = sync.ServerError{Status: 403, Body: sync.ErrorBody{Code: "enrolment", Message: "Codice di abilitazione non valido, già usato o scaduto"}}

// TestSyncStatusAndSettings: the status bar follows the sync client;
// "Sincronizza ora" (Ctrl+R); conflicts and rejected changes; enrolment
// from "Impostazioni" with its Italian errors and the return to the login.
func TestSyncStatusAndSettings(t *testing.T) {
	link := &fakeLink{}
	var enrolled []string
	var enrolErr error
	var h *harness
	h = newHarnessOpts(t, "", Options{
		Sync: link,
		Enrol: func(ctx context.Context, url, pin, code string) (*desk.Service, error) {
			enrolled = append(enrolled, url+" "+pin+" "+code)
			return h.svc, enrolErr
		},
	})
	h.loginOK("sportello")
	bar := h.u.shell.bar
	h.waitShows("Non in linea — lavoro locale")
	h.waitShows("Postazione non collegata a un server")
	if !bar.syncBtn.Disabled() {
		t.Error("«Sincronizza ora» enabled without a server")
	}
	h.shortcut(fyne.KeyR)
	if got := h.u.shell.message.Text; !strings.Contains(got, "abilitarla in Impostazioni") {
		t.Errorf("Ctrl+R not enrolled: %q", got)
	}

	link.st = link.st0()
	h.u.NotifySync(link.st)
	h.drain()
	h.waitShows("In linea")
	h.waitShows("Da inviare: 3")
	h.waitShows("Ultima sincronizzazione: oggi alle ")
	h.shortcut(fyne.KeyR)
	h.waitFor("synced", func() bool { return h.u.shell.message.Text == "Sincronizzazione completata" })
	if link.calls != 1 {
		t.Errorf("SyncNow called %d times", link.calls)
	}
	if bar.clock.Visible() {
		t.Error("clock warning shown before any measure")
	}

	// The workstation's clock is hours behind the server's: the legal
	// dates it writes would be wrong, and the bar says so.
	link.st.ClockOffset, link.st.ClockKnown = -(3*time.Hour + 12*time.Minute), true
	h.u.NotifySync(link.st)
	h.waitShows("Orologio indietro di 3 h 12 min")
	h.tap(bar.clock)
	h.waitShows("All'ultima sincronizzazione l'orologio di questa postazione era indietro di 3 h 12 min rispetto al server.")
	h.u.closeTopDialog()
	h.drain()
	link.st.ClockOffset = 50 * time.Hour
	h.u.NotifySync(link.st)
	h.waitShows("Orologio avanti di 2 giorni e 2 h")
	// Within the tolerance: nothing to say.
	link.st.ClockOffset = 90 * time.Second
	h.u.NotifySync(link.st)
	h.waitFor("clock warning gone", func() bool { return !bar.clock.Visible() })

	// The server was restored from a backup and holds its numbering: the
	// bar says so, and why numbers come later.
	if bar.numbering.Visible() {
		t.Error("numbering shown as held before the server said so")
	}
	link.st.NumberingHeld = true
	h.u.NotifySync(link.st)
	h.waitShows("Numerazione sospesa sul server")
	h.tap(bar.numbering)
	h.waitShows("Il server è stato ripristinato da una copia di sicurezza e non assegna numeri di protocollo definitivi finché l'amministratore non riprende la numerazione.")
	h.u.closeTopDialog()
	h.drain()
	link.st.NumberingHeld = false
	h.u.NotifySync(link.st)
	h.waitFor("numbering warning gone", func() bool { return !bar.numbering.Visible() })

	// Applications made confidential left this desk: the bar says how
	// many, and where the citizen is to go.
	if bar.withdrawn.Visible() {
		t.Error("removed applications shown before any was removed")
	}
	link.st.Withdrawn = 2
	h.u.NotifySync(link.st)
	h.waitShows("Pratiche rese riservate: 2")
	h.tap(bar.withdrawn)
	h.waitShows("Il cittadino va indirizzato ai colloqui.")
	h.u.closeTopDialog()
	h.drain()
	link.st.Withdrawn = 0
	h.u.NotifySync(link.st)
	h.waitFor("removed applications gone", func() bool { return !bar.withdrawn.Visible() })

	link.st.Online = false
	link.st.LastError = "Server non raggiungibile: si continua a lavorare in locale"
	link.st.Conflicts = 1
	sess, err := h.svc.Login(context.Background(), "sportello", desk.DemoPassword)
	if err != nil {
		t.Fatal(err)
	}
	refused, err := h.svc.SaveCitizen(context.Background(), sess, citizen.Citizen{Surname: "Moretti", Name: "Elena", CodiceFiscale: "MRTLNE80A41B157B"})
	if err != nil {
		t.Fatal(err)
	}
	link.st.Rejected = []store.Rejection{
		{Table: "citizens", RowID: refused.ID, Code: "forbidden", Reason: "Il ruolo non consente di modificare i cittadini"},
		{Table: "citizens", RowID: "c-1", Code: "forbidden", Reason: "Operatore disattivato"},
	}
	h.u.NotifySync(link.st)
	h.waitShows("Non in linea — lavoro locale")
	h.waitShows("Conflitti: 1")
	h.waitShows("Modifiche rifiutate: 2")
	h.tap(bar.rejected)
	h.waitShows("Il ruolo non consente di modificare i cittadini")
	// Each refused change names its record; one this workstation lacks, by ID.
	h.waitShows("Cittadino «Moretti Elena (MRTLNE80A41B157B)»")
	h.waitShows("Cittadino «record non presente su questa postazione (c-1)»")
	// Read: marked so, the list and the count go.
	h.tap(bar.dismiss)
	h.waitFor("refused changes dismissed", func() bool { return len(link.st.Rejected) == 0 && len(h.u.dialogs) == 0 })
	if bar.rejected.Visible() {
		t.Error("«Modifiche rifiutate» still shown after marking them read")
	}
	h.tap(bar.conflicts)
	h.waitShows("Nessun conflitto da esaminare.")
	h.u.closeTopDialog()
	h.drain()

	// Settings: the server in use is shown; wrong data are refused before asking.
	h.shortcut(fyne.KeyI)
	h.waitFor("settings", func() bool { return h.u.settings != nil })
	sd := h.u.settings
	if sd.server.Text != "https://server.example:8443" || sd.pin.Text != strings.Repeat("ab", 32) {
		t.Errorf("server %q pin %q", sd.server.Text, sd.pin.Text)
	}
	sd.server.SetText("ftp://server")
	h.tap(sd.enrol)
	h.waitShows("Indirizzo del server non valido")
	sd.server.SetText("https://server.example:8443")
	h.tap(sd.enrol)
	h.waitShows("Inserire il codice di abilitazione")

	// A refused code: the server's Italian message, back to the login.
	enrolErr = &syncServerError
	h.typeIn(sd.code, "AAAA-BBBB-CCCC")
	h.tap(sd.enrol)
	h.waitFor("confirm", func() bool { return sd.confirm != nil })
	h.waitShows("I dati di questa postazione saranno sostituiti")
	sd.confirm.Confirm()
	h.waitFor("login after enrolment", func() bool { return h.u.login != nil && h.u.shell == nil })
	h.waitShows("Il server ha rifiutato l'abilitazione: Codice di abilitazione non valido, già usato o scaduto")
	if len(enrolled) != 1 || enrolled[0] != "https://server.example:8443 "+strings.Repeat("ab", 32)+" AAAA-BBBB-CCCC" {
		t.Errorf("enrol called with %q", enrolled)
	}
	h.u.closeAllDialogs()

	// Accepted: the service given back is used, the login is shown.
	enrolErr = nil
	h.shortcut(fyne.KeyI)
	h.waitFor("settings again", func() bool { return h.u.settings != sd })
	sd = h.u.settings
	h.typeIn(sd.code, "DDDD-EEEE-FFFF")
	pressEnter(sd.code)
	h.waitFor("confirm", func() bool { return sd.confirm != nil })
	sd.confirm.Confirm()
	h.waitShows("Postazione abilitata")
	if h.u.login == nil || len(enrolled) != 2 {
		t.Fatalf("after enrolment: login %v, calls %d", h.u.login != nil, len(enrolled))
	}
	h.u.closeAllDialogs()
	h.loginOK("sportello")
}

func TestEnrolMessages(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{&syncServerError, "Il server ha rifiutato l'abilitazione: Codice di abilitazione non valido, già usato o scaduto"},
		{fmt.Errorf("Post \"https://x/v1/enroll\": %w: server certificate 0a0b", sync.ErrPinMismatch), "Il certificato del server non corrisponde all'impronta indicata"},
		{errorString("Post \"https://x/v1/enroll\": tls: failed to verify certificate: x509: certificate signed by unknown authority"), "Il certificato del server non è riconosciuto"},
		{errorString("dial tcp 127.0.0.1:1: connect: connection refused"), "Server non raggiungibile: verificare l'indirizzo e la connessione di rete"},
		{context.Canceled, "Abilitazione annullata"},
		{&sync.SchemaMismatchError{Server: 16, Program: 17}, "Il server ha una versione di Sportello precedente"},
		{&sync.SchemaMismatchError{Server: 18, Program: 17}, "La versione del programma non è compatibile con il server: aggiornare Sportello"},
	} {
		if got := enrolMessage(c.err); !strings.HasPrefix(got, c.want) {
			t.Errorf("enrolMessage(%v) = %q, want prefix %q", c.err, got, c.want)
		}
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }

// An emergency registration is dated by the workstation's clock: when the
// last sync found it off, the operator reads so with the number.
func TestEmergencyResultWarnsOfAClockOff(t *testing.T) {
	newHarness(t) // translations loaded
	res := desk.ProtocolResult{Emergency: true, Label: "EM-DESK01/2026/0000003", Registration: store.Registration{RegisteredAt: time.Now()}}
	off := sync.State{ClockKnown: true, ClockOffset: -(3*time.Hour + 12*time.Minute)}
	got := protocolResultText(res, off)
	if !strings.HasPrefix(got, "Registro di emergenza n. EM-DESK01/2026/0000003 del ") ||
		!strings.Contains(got, "\nAttenzione: all'ultima sincronizzazione l'orologio di questa postazione era indietro di 3 h 12 min rispetto al server") {
		t.Errorf("clock off: %q", got)
	}
	for _, st := range []sync.State{{}, {ClockKnown: true, ClockOffset: time.Minute}} {
		if got := protocolResultText(res, st); strings.Contains(got, "Attenzione") {
			t.Errorf("clock %+v: %q", st, got)
		}
	}
	// A definitive number is the server's: nothing to say.
	res = desk.ProtocolResult{Label: "0000012/2026", Registration: store.Registration{RegisteredAt: time.Now()}}
	if got := protocolResultText(res, off); strings.Contains(got, "Attenzione") {
		t.Errorf("definitive: %q", got)
	}
}

// Protocolled online while the server, restored from a backup, holds its
// numbering: the operator is not told the number comes with the next sync.
func TestPendingResultSaysWhenTheServerHoldsItsNumbering(t *testing.T) {
	newHarness(t) // translations loaded
	res := desk.ProtocolResult{Pending: true, Registration: store.Registration{RegisteredAt: time.Now()}}
	if got := protocolResultText(res, sync.State{Online: true}); !strings.Contains(got, "arriverà con la prossima sincronizzazione") {
		t.Errorf("pending: %q", got)
	}
	got := protocolResultText(res, sync.State{Online: true, NumberingHeld: true})
	if strings.Contains(got, "prossima sincronizzazione") || !strings.Contains(got, "quando l'amministratore riprenderà la numerazione") {
		t.Errorf("pending, numbering held: %q", got)
	}
}
