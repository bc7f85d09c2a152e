package ui

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"sportello/internal/auth"
	"sportello/internal/catalog"
	"sportello/internal/codicefiscale"
	"sportello/internal/desk"
	"sportello/store"
)

func mustCF(t *testing.T, surname, name, born, sex, place string) string {
	t.Helper()
	d, err := time.Parse("2006-01-02", born)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := codicefiscale.Compute(surname, name, d, sex, place)
	if err != nil {
		t.Fatal(err)
	}
	return cf
}

func TestLoginWrongPasswordShowsItalianError(t *testing.T) {
	h := newHarness(t)
	h.waitFor("login screen", func() bool { return h.u.login != nil })
	// The demo replica shows the demo accounts.
	h.waitFor("demo hint", func() bool { return h.u.login.demoHint.Visible() })
	if hint := h.u.login.demoHint.Text; !strings.Contains(hint, desk.DemoPassword) || !strings.Contains(hint, "sportello") || !strings.Contains(hint, "admin") {
		t.Errorf("demo hint = %q", hint)
	}
	h.waitShows("Comune di Valfiorita")

	h.login("sportello", "sbagliata")
	h.waitFor("login error", func() bool { return h.u.login.errText.Visible() })
	if got, want := h.u.login.errText.Text, "Nome utente o password non corretti"; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
	if h.u.shell != nil {
		t.Fatal("logged in with a wrong password")
	}
	if h.u.login.password.Text != "" {
		t.Error("the wrong password was left in the field")
	}
	if h.w.Canvas().Focused() != h.u.login.password {
		t.Error("focus should go back to the password")
	}

	// Empty fields are refused without asking the service.
	h.u.login.username.SetText("")
	pressEnter(h.u.login.password)
	if got := h.u.login.errText.Text; got != "Inserire nome utente e password" {
		t.Errorf("empty login error = %q", got)
	}
}

func TestLoginShellAndCitizenSearch(t *testing.T) {
	h := newHarness(t)
	h.loginOK("sportello")

	// Header with the operator and the role, tabs allowed to the role, status line.
	h.waitShows("Giulia Ferrari")
	for _, s := range []string{"Sportellista", "Esci", "Cittadini", "Catalogo", "Non in linea — lavoro locale"} {
		if !h.shows(s) {
			t.Errorf("%q not on screen", s)
		}
	}
	// Issue 4 added "Nuova pratica" and "Protocollo" after the catalog (Ctrl+2 stays the catalog).
	var tabs []string
	for _, it := range h.u.shell.tabs.Items {
		tabs = append(tabs, it.Text)
	}
	if got := strings.Join(tabs, ", "); got != "Cittadini, Catalogo, Nuova pratica, Protocollo" {
		t.Fatalf("tabs = %s", got)
	}

	// Ctrl+F puts the focus on the search; results come as one types.
	h.w.Canvas().Unfocus()
	h.shortcut(fyne.KeyF)
	cs := h.u.shell.citizens
	if h.w.Canvas().Focused() != cs.search {
		t.Fatalf("Ctrl+F focused %v", h.w.Canvas().Focused())
	}
	h.typeFocused("ross")
	cf := mustCF(t, "Rossi", "Mario", "1985-12-10", "M", "A562")
	line := "Rossi Mario — " + cf + " — 10/12/1985"
	h.waitShows(line)
	if got := cs.info.Text; got != "Cittadini trovati: 1" {
		t.Errorf("count = %q", got)
	}

	// Search by codice fiscale, and by name first then surname, typed
	// with an accent and without the apostrophe.
	cs.search.SetText("")
	h.typeFocused(cf[:8])
	h.waitShows(line)
	cs.search.SetText("")
	h.typeFocused("niccolò dambrosio")
	h.waitShows("D'Ambrosio Niccolò")

	// Enter opens the first result: the citizen's page.
	pressEnter(cs.search)
	h.waitFor("citizen page", func() bool { return cs.form != nil && cs.form.orig.Surname == "D'Ambrosio" })
	f := cs.form
	if f.cfInfo.Importance != widget.SuccessImportance || !strings.Contains(f.cfInfo.Text, "Nato/a il 04/07/1978") {
		t.Errorf("cf info = %q (%v)", f.cfInfo.Text, f.cfInfo.Importance)
	}
	if f.birthDate.Text != "04/07/1978" || f.docType.Selected != "Passaporto" || !f.privacy.Checked {
		t.Errorf("form shows birth %q, document %q, consent %v", f.birthDate.Text, f.docType.Selected, f.privacy.Checked)
	}
	if f.dirty() {
		t.Errorf("a freshly opened citizen is dirty: %+v vs %+v", f.collect(), f.orig)
	}
	h.waitShows("Nessuna pratica.")
}

func TestRolesDecideTabs(t *testing.T) {
	h := newHarness(t)
	h.loginOK("admin")
	h.waitShows("Paolo Greco")
	if !h.shows("Amministratore") {
		t.Error("role label missing")
	}
	if h.u.shell.citizens != nil || len(h.u.shell.tabs.Items) != 1 || h.u.shell.tabs.Items[0].Text != "Catalogo" {
		t.Fatalf("admin tabs: %d, citizens %v", len(h.u.shell.tabs.Items), h.u.shell.citizens != nil)
	}
	h.shortcut(fyne.KeyN) // no citizens: nothing happens
	if h.w.Canvas().Focused() != h.u.shell.catalog.search {
		t.Error("the catalog search should have the focus")
	}

	// Logout goes back to the login screen.
	h.u.shell.logoutBtn.OnTapped()
	h.waitFor("login screen", func() bool { return h.u.login != nil && h.u.shell == nil })
}

func TestNewCitizenLiveValidationAndSave(t *testing.T) {
	h := newHarness(t)
	h.loginOK("sportello")
	cs := h.u.shell.citizens
	f := h.newCitizenForm()
	if h.w.Canvas().Focused() != f.surname {
		t.Fatalf("Ctrl+N focused %v", h.w.Canvas().Focused())
	}
	h.waitShows("Nuovo cittadino")
	h.typeFocused("Verdi")
	typeIn := func(e *entry, s string) { h.w.Canvas().Focus(e); h.typeFocused(s) }
	typeIn(f.name, "Giuseppina")

	good := mustCF(t, "Verdi", "Giuseppina", "1990-03-05", "F", "F205")
	bad := good[:15] + string("ABCDEFGHIJKLMNOPQRSTUVWXYZ"[(strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZ", good[15])+1)%26])
	_, perr := codicefiscale.Parse(bad)
	if perr == nil {
		t.Fatal("the altered code should be invalid")
	}
	typeIn(f.cf, strings.ToLower(bad))
	if f.cfInfo.Text != perr.Error() || f.cfInfo.Importance != widget.DangerImportance {
		t.Errorf("live error = %q (%v), want %q", f.cfInfo.Text, f.cfInfo.Importance, perr.Error())
	}
	h.waitShows(perr.Error())

	f.cf.SetText("")
	typeIn(f.cf, good[:5])
	if f.cfInfo.Importance != widget.LowImportance {
		t.Errorf("a code still being typed is shown as %v: %q", f.cfInfo.Importance, f.cfInfo.Text)
	}
	f.cf.SetText("")
	typeIn(f.cf, good)
	if want := "Nato/a il 05/03/1990 — codice catastale F205"; f.cfInfo.Text != want {
		t.Errorf("live info = %q, want %q", f.cfInfo.Text, want)
	}
	if f.birthDate.Text != "05/03/1990" || f.sex.Selected != "Femminile (F)" || f.placeCode.Text != "F205" {
		t.Errorf("derived data not filled in: %q %q %q", f.birthDate.Text, f.sex.Selected, f.placeCode.Text)
	}
	if !f.dirty() {
		t.Error("the form should be dirty")
	}

	// A wrong e-mail: the service's Italian problems are shown on the page.
	typeIn(f.birthPlace, "Milano")
	typeIn(f.email, "giuseppina.verdi@")
	h.shortcut(fyne.KeyS)
	h.waitFor("save problems", func() bool { return f.problems.Visible() })
	if p := f.problems.Text; !strings.HasPrefix(p, "I dati anagrafici non sono validi") || !strings.Contains(p, "E-mail") {
		t.Errorf("problems = %q", p)
	}
	if got := h.u.shell.message.Text; got != "Cittadino non salvato: correggere i dati indicati" {
		t.Errorf("status = %q", got)
	}

	// Fixed, and saved with Ctrl+S while the e-mail field has the focus
	// (Fyne gives shortcuts to the focused entry, which passes it on).
	f.email.SetText("")
	typeIn(f.email, "giuseppina.verdi@example.it")
	f.email.TypedShortcut(ctrlKey(fyne.KeyS))
	h.waitFor("saved", func() bool { return f.orig.ID != "" })
	if f.problems.Visible() {
		t.Errorf("problems still shown: %q", f.problems.Text)
	}
	if got := h.u.shell.message.Text; got != "Cittadino salvato: Verdi Giuseppina" {
		t.Errorf("status = %q", got)
	}
	if f.title.Text != "Verdi Giuseppina" || f.dirty() || f.exportBtn.Disabled() {
		t.Errorf("after save: title %q dirty %v export disabled %v", f.title.Text, f.dirty(), f.exportBtn.Disabled())
	}
	saved, err := h.svc.Citizen(context.Background(), f.orig.ID)
	if err != nil {
		t.Fatal(err)
	}
	if saved.CodiceFiscale != good || saved.BirthDate != "1990-03-05" || saved.Sex != "F" || saved.Email != "giuseppina.verdi@example.it" {
		t.Errorf("stored %+v", saved)
	}

	// Found by the search.
	h.shortcut(fyne.KeyF)
	h.typeFocused("verdi giu")
	h.waitShows("Verdi Giuseppina — " + good + " — 05/03/1990")
	h.waitFor("the open citizen selected in the results", func() bool { return len(cs.results) == 1 })
}

// A sync that brings the logged-in operator's deactivation ends the
// session: back to the login, with the reason; another role asks for a new
// login too.
func TestSessionEndsWhenTheAdministratorChangesTheOperator(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(*store.Operator)
		reason string
	}{
		{"deactivated", func(o *store.Operator) { o.Active = false }, "disattivata"},
		{"new role", func(o *store.Operator) { o.Role = string(auth.Referente) }, "ruolo"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			h.loginOK("sportello")
			h.u.NotifyDataChanged(map[string]bool{"operators": true}) // nothing changed: stays
			h.drain()
			if err := h.svc.DB().Write(context.Background(), store.Actor{OperatorID: "sync"}, func(tx *store.Tx) error {
				o, err := tx.OperatorByID(h.u.sess.OperatorID)
				if err != nil {
					return err
				}
				c.change(&o)
				_, err = tx.PutOperator(o)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if h.u.shell == nil {
				t.Fatal("logged out before the sync said so")
			}
			h.u.NotifyDataChanged(map[string]bool{"operators": true})
			h.waitFor("the login screen", func() bool { return h.u.shell == nil && h.u.login != nil })
			h.waitShows("Sessione chiusa")
			h.waitShows(c.reason)
		})
	}
}

func TestUnsavedChangesAreConfirmed(t *testing.T) {
	h := newHarness(t)
	h.loginOK("sportello")
	cs := h.u.shell.citizens
	first := h.newCitizenForm()
	h.typeFocused("Neri")

	h.shortcut(fyne.KeyN) // would lose "Neri": asks first
	h.waitShows("Ci sono modifiche non salvate. Scartarle?")
	if cs.form != first {
		t.Fatal("the form was replaced without asking")
	}
	if !h.u.closeTopDialog() { // Esc: keep editing
		t.Fatal("no dialog to close")
	}
	h.drain()
	if cs.form != first || cs.form.surname.Text != "Neri" {
		t.Fatal("keeping the changes lost them")
	}
}

func TestCitizenApplicationsList(t *testing.T) {
	h := newHarness(t)
	h.loginOK("sportello")
	ctx := context.Background()
	sess := h.u.sess
	found, err := h.svc.SearchCitizens(ctx, "Rossi Mario", 5)
	if err != nil || len(found) != 1 {
		t.Fatalf("search: %v %v", found, err)
	}
	rossi := found[0]

	// A draft and a protocolled application (emergency register: no server).
	if _, err := h.svc.NewApplication(ctx, sess, "cambio-residenza", rossi.ID, ""); err != nil {
		t.Fatal(err)
	}
	app, err := h.svc.NewApplication(ctx, sess, "certificati-anagrafici", rossi.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	values := app.Values
	values["tipo_certificato"], values["copie"], values["uso"] = "residenza", "1", "pensione"
	if err := h.svc.SaveDraft(ctx, sess, app.ID, values, nil); err != nil {
		t.Fatal(err)
	}
	if problems, err := h.svc.MarkComplete(ctx, sess, app.ID); err != nil || len(problems) > 0 {
		t.Fatalf("complete: %v %v", problems, err)
	}
	res, err := h.svc.ProtocolApplication(ctx, sess, app.ID)
	if err != nil {
		t.Fatal(err)
	}
	_ = res

	cs := h.u.shell.citizens
	h.shortcut(fyne.KeyF)
	h.typeFocused("rossi")
	h.waitFor("results", func() bool { return len(cs.results) == 1 })
	cs.list.Select(0)
	h.waitFor("page", func() bool { return cs.form != nil && len(cs.form.apps) == 2 })
	today := displayDay(time.Now())
	var draft, filed string
	for _, a := range cs.form.apps {
		switch {
		case strings.HasPrefix(a.Line, "Cambio di residenza"):
			draft = a.Line
		case strings.HasPrefix(a.Line, "Certificati anagrafici"):
			filed = a.Line
		}
	}
	if want := "Cambio di residenza — Bozza — non protocollata — " + today; draft != want {
		t.Errorf("draft line = %q, want %q", draft, want)
	}
	if !strings.HasPrefix(filed, "Certificati anagrafici — Protocollata — Prot. ") || !strings.HasSuffix(filed, " (emergenza) — "+today) {
		t.Errorf("protocolled line = %q", filed)
	}
	h.waitShows("Pratiche del cittadino: 2")
	h.waitShows(draft)
}

func TestVCardImportAndExport(t *testing.T) {
	h := newHarness(t)
	h.loginOK("sportello")
	cs := h.u.shell.citizens
	ctx := context.Background()
	found, err := h.svc.SearchCitizens(ctx, "Bianchi Laura", 5)
	if err != nil || len(found) != 1 {
		t.Fatalf("search: %v %v", found, err)
	}

	// Export through the section (what the save dialog hands over).
	var buf closeBuffer
	cs.exportVCard(found[0], "Bianchi_Laura.vcf", &buf)
	h.waitFor("export", func() bool { return buf.closed.Load() })
	if !strings.Contains(buf.String(), "BEGIN:VCARD") || !strings.Contains(buf.String(), "Bianchi") {
		t.Fatalf("exported %q", buf.String())
	}
	h.waitFor("status", func() bool { return strings.Contains(h.u.shell.message.Text, "Bianchi_Laura.vcf") })

	// Importing it again updates the same citizen.
	cs.importVCard("Bianchi_Laura.vcf", io.NopCloser(bytes.NewReader(buf.Bytes())))
	h.waitShows("Bianchi_Laura.vcf: cittadini nuovi 0, aggiornati 1")
	h.u.closeTopDialog()

	// A malformed file: nothing imported, the Italian error in a dialog.
	cs.importVCard("rotto.vcf", io.NopCloser(strings.NewReader("BEGIN:VCARD\nnonsense")))
	h.waitShows("nessun cittadino importato")
}

type closeBuffer struct {
	bytes.Buffer
	closed atomic.Bool // set by the export goroutine
}

func (b *closeBuffer) Close() error { b.closed.Store(true); return nil }

func TestCatalogSearchAndDetails(t *testing.T) {
	h := newHarness(t)
	h.loginOK("sportello")
	cat := h.u.shell.catalog
	h.shortcut(fyne.Key2)
	if h.u.shell.active() != section(cat) || h.w.Canvas().Focused() != cat.search {
		t.Fatal("Ctrl+2 should open the catalog with the focus on its search")
	}
	h.waitFor("catalog loaded", func() bool { return cat.cat != nil })
	h.typeFocused("residenza")
	if len(cat.results) == 0 || cat.results[0].Name != "Cambio di residenza" {
		t.Fatalf("results for residenza: %v", names(cat.results))
	}
	h.waitShows("Cambio di residenza")
	pressEnter(cat.search)
	for _, s := range []string{
		"Servizi Demografici – Anagrafe e Stato Civile", // office
		"45 giorni",  // term
		"Non dovuta", // stamp duty
		"Allegati richiesti",
		"Campi del modulo",
		"Descrizione",
		"Riferimenti normativi",
	} {
		if !h.shows(s) {
			t.Errorf("%q not shown for Cambio di residenza", s)
		}
	}

	// Accent-insensitive, with fee and stamp duty formatted in euro.
	cat.search.SetText("identita")
	if len(cat.results) == 0 || !strings.HasPrefix(cat.results[0].Name, "Carta d'identità") {
		t.Fatalf("results for identita: %v", names(cat.results))
	}
	cat.list.Select(0)
	h.waitShows("€ 22,21")
	cat.search.SetText("occupazione suolo")
	cat.list.Select(0)
	h.waitShows("2 marche da bollo da € 16,00")
	cat.search.SetText("assegno maternità")
	cat.list.Select(0)
	h.waitShows("Procedimento riservato")

	cat.search.SetText("zzzz")
	if got := cat.info.Text; got != "Nessun procedimento trovato." {
		t.Errorf("info = %q", got)
	}
}

func names(ps []catalog.Procedure) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Name
	}
	return out
}

func TestHelpListsShortcuts(t *testing.T) {
	h := newHarness(t)
	h.loginOK("sportello")
	// F1 from a focused field (Fyne gives keys to the focused widget only).
	h.shortcut(fyne.KeyF)
	h.u.shell.citizens.search.TypedKey(&fyne.KeyEvent{Name: fyne.KeyF1})
	h.waitShows("Scorciatoie da tastiera")
	for _, s := range []string{"F1", "Ctrl+F", "Ctrl+N", "Ctrl+S", "Ctrl+1", "Ctrl+2", "Nuovo cittadino", "Salva",
		"Ctrl+P", "Ctrl+PagGiù", "Ctrl+PagSu", "Ctrl+O", "Ctrl+D", "Ctrl+R", "Ctrl+I", "Ctrl+3", "Ctrl+4",
		"Nuova pratica: passo successivo", "Sincronizza ora", "F4, Alt+Freccia giù", "Apre il calendario di un campo data", "Registra documento in arrivo (protocollo)", "Scheda Protocollo"} {
		if !h.shows(s) {
			t.Errorf("%q missing from the help", s)
		}
	}
	// Esc closes it.
	h.w.Canvas().Unfocus()
	h.w.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if h.shows("Scorciatoie da tastiera") || len(h.u.dialogs) != 0 {
		t.Error("Esc did not close the help")
	}
}

func TestFormatting(t *testing.T) {
	for cents, want := range map[int64]string{0: "€ 0,00", 1600: "€ 16,00", 2221: "€ 22,21", 123456: "€ 1.234,56", 100000000: "€ 1.000.000,00"} {
		if got := formatEuro(cents); got != want {
			t.Errorf("formatEuro(%d) = %q, want %q", cents, got, want)
		}
	}
	if got := isoDate(" 5/3/1990 "); got != "1990-03-05" {
		t.Errorf("isoDate = %q", got)
	}
	if got := isoDate("31/02/2020"); got != "31/02/2020" {
		t.Errorf("isoDate of an impossible date = %q", got)
	}
	if got := displayDate("1985-12-10"); got != "10/12/1985" {
		t.Errorf("displayDate = %q", got)
	}
	if got := formatSize(10 * 1024 * 1024); got != "10 MB" {
		t.Errorf("formatSize = %q", got)
	}
	if got := formatSize(1536 * 1024); got != "1,5 MB" {
		t.Errorf("formatSize = %q", got)
	}
}
