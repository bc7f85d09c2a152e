package ui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"sportello/internal/auth"
	"sportello/internal/catalog"
	"sportello/internal/desk"
	"sportello/internal/protocol"
	"sportello/store"
)

// protocolSection is the protocol office: the register with its search,
// the detail of a registration (documents and impronte, annulment), the
// registration of documents that did not come through the desk, and the
// emergency register.
type protocolSection struct {
	u    *UI
	item *container.TabItem

	text, number, from, to *entry
	searchBtn              *button
	registerBtn            *button
	emergencyBtn           *button
	searching              *widget.ProgressBarInfinite
	info                   *widget.Label
	repeated               *tableWarning // applications registered more than once
	list                   *list
	results                []store.Registration
	gen                    int
	typed                  int
	selecting              bool

	page      *fyne.Container
	shownID   string
	form      *registerForm // open registration form, nil when none
	emergency *emergencyPage
	annul     *annulDialog
	cat       *catalog.Catalog

	detailReceipt *button // of the registration shown
	detailAnnul   *button
}

func newProtocolSection(u *UI) *protocolSection {
	s := &protocolSection{u: u}
	k := u.keys
	s.text = newEntry(k)
	s.text.SetPlaceHolder(lang.L("protocol.search.text"))
	s.number = newEntry(k)
	s.number.SetPlaceHolder(lang.L("protocol.search.number"))
	s.from = newDateEntry(k)
	s.to = newDateEntry(k)
	for _, e := range []*entry{s.text, s.number, s.from, s.to} {
		e.OnChanged = func(string) { s.schedule() }
		e.OnSubmitted = func(string) { s.search() }
		e.onDown = func() {
			if len(s.results) > 0 {
				u.win.Canvas().Focus(s.list)
			}
		}
	}
	s.searchBtn = newButton(k, lang.L("protocol.search"), theme.SearchIcon(), s.search)
	s.registerBtn = newButton(k, lang.L("protocol.register"), theme.ContentAddIcon(), s.newRegistration)
	s.registerBtn.Importance = widget.HighImportance
	if !u.sess.Role.Can(auth.RegisterProtocol) {
		s.registerBtn.Hide()
	}
	s.emergencyBtn = newButton(k, lang.L("protocol.emergency"), theme.WarningIcon(), s.showEmergency)
	s.searching = progress()
	s.info = widget.NewLabel("")
	s.info.Importance = widget.LowImportance
	s.repeated = newTableWarning(k, "protocol.repeated.show", s.showRepeated)
	s.list = newList(k,
		func() int { return len(s.results) },
		func() fyne.CanvasObject {
			top := widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
			top.Truncation = fyne.TextTruncateEllipsis
			sub := widget.NewLabel("")
			sub.Truncation = fyne.TextTruncateEllipsis
			sub.SizeName = theme.SizeNameCaptionText
			return container.NewVBox(top, sub)
		},
		func(id widget.ListItemID, o fyne.CanvasObject) {
			if id >= len(s.results) {
				return
			}
			r := s.results[id]
			box := o.(*fyne.Container)
			box.Objects[0].(*widget.Label).SetText(regTitle(r))
			box.Objects[1].(*widget.Label).SetText(regSubtitle(r))
		})
	s.list.OnSelected = func(id widget.ListItemID) {
		if s.selecting || id < 0 || id >= len(s.results) {
			return
		}
		s.openRegistration(s.results[id].ID)
	}

	item := func(key string, o fyne.CanvasObject) *widget.FormItem { return widget.NewFormItem(lang.L(key), o) }
	filters := widget.NewForm(
		item("protocol.search.text.label", s.text),
		item("protocol.search.number.label", s.number),
		item("protocol.search.from", s.from),
		item("protocol.search.to", s.to),
	)
	left := container.NewBorder(container.NewVBox(
		heading(lang.L("protocol.register.title")),
		filters,
		container.NewGridWithColumns(2, s.searchBtn, s.emergencyBtn),
		s.registerBtn,
		s.searching, s.info, s.repeated.label, s.repeated.btn), nil, nil, nil, s.list)
	s.page = container.NewStack(placeholder(lang.L("protocol.none.open")))
	split := container.NewHSplit(left, s.page)
	split.Offset = 0.36
	s.item = container.NewTabItemWithIcon(lang.L("tab.protocol"), theme.StorageIcon(), split)
	s.search()
	s.checkRepeated()
	return s
}

func (s *protocolSection) tab() *container.TabItem { return s.item }

func (s *protocolSection) focusSearch() {
	s.u.win.Canvas().Focus(s.text)
	s.text.Entry.TypedShortcut(&fyne.ShortcutSelectAll{})
}

func (s *protocolSection) shown() {
	s.search()
	if s.repeated.due() {
		s.checkRepeated()
	}
}

func (s *protocolSection) setPage(o fyne.CanvasObject) {
	s.page.Objects = []fyne.CanvasObject{o}
	s.page.Refresh()
}

// dirty: a registration form with something typed and not registered.
func (s *protocolSection) dirty() bool { return s.form != nil && s.form.dirty() }

func (s *protocolSection) save() {
	if s.form != nil {
		s.form.submit()
	}
}

func regTitle(r store.Registration) string {
	label := r.Label()
	if label == "" {
		label = lang.L("protocol.pending.short")
	}
	parts := []string{label, displayDate(r.RegDate), r.Direction.Label()}
	if r.Number == 0 && r.EmergencyNumber > 0 {
		parts = append(parts, lang.L("app.emergency"))
	}
	if r.Annulled {
		parts = append(parts, lang.L("protocol.annulled.short"))
	}
	return strings.Join(parts, " — ")
}

func regSubtitle(r store.Registration) string {
	return strings.Join([]string{r.Correspondent, r.Subject}, " — ")
}

func (s *protocolSection) schedule() {
	s.typed++
	n := s.typed
	time.AfterFunc(searchDelay, func() {
		s.u.do(func() {
			if n == s.typed {
				s.search()
			}
		})
	})
}

// filter reads the search fields; problems are Italian.
func (s *protocolSection) filter() (store.RegistrationFilter, string) {
	f := store.RegistrationFilter{Text: strings.TrimSpace(s.text.Text), Limit: 200}
	num := strings.TrimSpace(s.number.Text)
	if num != "" {
		// "12", "0000012/2026" or "EM-X/2026/0000003": the number's digits
		if i := strings.LastIndex(num, "/"); i >= 0 && strings.Count(num, "/") == 2 {
			num = num[i+1:]
		} else if i := strings.Index(num, "/"); i >= 0 {
			num = num[:i]
		}
		num = strings.TrimLeft(num, "0")
		if num == "" || strings.Trim(num, "0123456789") != "" {
			return f, lang.L("protocol.search.number.invalid")
		}
		f.Number = num
	}
	for _, d := range []struct {
		e   *entry
		dst *string
	}{{s.from, &f.DateFrom}, {s.to, &f.DateTo}} {
		t := strings.TrimSpace(d.e.Text)
		if t == "" {
			continue
		}
		iso := isoDate(t)
		if _, err := time.Parse("2006-01-02", iso); err != nil {
			return f, lang.L("protocol.search.date.invalid", map[string]any{"Date": t})
		}
		*d.dst = iso
	}
	return f, ""
}

// search lists the registrations matching the fields, newest first.
func (s *protocolSection) search() {
	f, problem := s.filter()
	if problem != "" {
		s.info.SetText(problem)
		return
	}
	s.load(func(ctx context.Context) ([]store.Registration, error) {
		return s.u.svc.Registrations(ctx, s.u.sess, f)
	}, func(n int) string {
		if n == 0 {
			return lang.L("protocol.search.none")
		}
		return lang.L("protocol.search.count", map[string]any{"Count": n})
	})
}

// load lists what fetch returns, in the background; a newer load drops an
// older one's answer. describe gives the line under the filters.
func (s *protocolSection) load(fetch func(context.Context) ([]store.Registration, error), describe func(n int) string) {
	s.gen++
	gen := s.gen
	s.searching.Show()
	runAsync(s.u, fetch, func(rs []store.Registration, err error) {
		if gen != s.gen {
			return
		}
		s.searching.Hide()
		if err != nil {
			logUnexpected(err)
			s.info.SetText(desk.UserMessage(err))
			return
		}
		s.results = rs
		s.list.Refresh()
		s.syncSelection()
		s.info.SetText(describe(len(rs)))
	})
}

// checkRepeated shows, above the list, how many applications have more
// than one registration not annulled (two desks protocolled them while
// offline), for the protocol office to annul the extra ones. It reads the
// whole register, so it runs after an annulment and when the tab is shown
// again at most once every recheckEvery, not at every search.
func (s *protocolSection) checkRepeated() {
	s.repeated.read(s.u, "protocol.repeated.info", func(ctx context.Context) (int, error) {
		rs, err := s.u.svc.RepeatedRegistrations(ctx, s.u.sess)
		apps := map[string]bool{}
		for _, r := range rs {
			apps[r.ApplicationID] = true
		}
		return len(apps), err
	})
}

// showRepeated lists the registrations of the applications registered
// more than once, by application and time.
func (s *protocolSection) showRepeated() {
	s.load(func(ctx context.Context) ([]store.Registration, error) {
		return s.u.svc.RepeatedRegistrations(ctx, s.u.sess)
	}, func(n int) string { return lang.L("protocol.repeated.count", map[string]any{"Count": n}) })
}

func (s *protocolSection) syncSelection() {
	s.selecting = true
	defer func() { s.selecting = false }()
	for i, r := range s.results {
		if r.ID == s.shownID {
			s.list.Select(i)
			return
		}
	}
	s.list.UnselectAll()
}

// loadCatalog gets the offices for names and the form's select.
func (s *protocolSection) loadCatalog(then func()) {
	if s.cat != nil {
		then()
		return
	}
	runAsync(s.u, func(ctx context.Context) (*catalog.Catalog, error) {
		return s.u.svc.Catalog(ctx)
	}, func(c *catalog.Catalog, err error) {
		if err != nil {
			s.u.showError(err)
			return
		}
		s.cat = c
		then()
	})
}

// openRegistration shows one registration with its documents.
func (s *protocolSection) openRegistration(id string) {
	u := s.u
	u.confirmDiscard(func() {
		s.form = nil
		s.loadCatalog(func() {
			runAsync(u, func(ctx context.Context) (store.Registration, error) {
				return u.svc.Registration(ctx, u.sess, id)
			}, func(r store.Registration, err error) {
				if err != nil {
					u.showError(err)
					return
				}
				s.shownID = r.ID
				s.setPage(s.detail(r))
				s.syncSelection()
			})
		})
	}, s.syncSelection)
}

// detail is the page of a registration.
func (s *protocolSection) detail(r store.Registration) fyne.CanvasObject {
	u := s.u
	k := u.keys
	title := heading(protocolLine(r))
	title.Wrapping = fyne.TextWrapWord
	title.SizeName = theme.SizeNameSubHeadingText
	if r.Annulled {
		title.Importance = widget.DangerImportance
	}
	facts := widget.NewForm()
	add := func(key, v string) {
		if strings.TrimSpace(v) != "" {
			facts.Append(lang.L(key), textLabel(v))
		}
	}
	add("protocol.field.direction", r.Direction.Label())
	add("protocol.field.registered", fullInstant(r.RegisteredAt))
	if r.Direction == protocol.Outgoing {
		add("protocol.field.recipient", r.Correspondent)
	} else {
		add("protocol.field.sender", r.Correspondent)
	}
	add("protocol.field.cf", r.CorrespondentCF)
	add("protocol.field.subject", r.Subject)
	add("protocol.field.classification", r.Classification)
	add("protocol.field.office", officeName(s.cat, r.OfficeID))
	add("protocol.field.received.number", r.ReceivedDocNumber)
	add("protocol.field.received.date", displayDate(r.ReceivedDocDate))
	if r.EmergencyNumber > 0 {
		add("protocol.field.emergency", r.EmergencyLabel())
	}
	if r.ApplicationID != "" {
		add("protocol.field.application", r.ApplicationID)
	}
	if r.Confidential {
		add("protocol.field.confidential", lang.L("protocol.yes"))
	}
	if r.Annulled {
		add("protocol.field.annulled", r.AnnulReason)
	}
	box := container.NewVBox(title, facts, widget.NewSeparator(), heading(lang.L("protocol.documents")))
	for i, d := range r.Documents {
		role := lang.L("protocol.doc.primary")
		if i > 0 {
			role = lang.L("protocol.doc.attachment", map[string]any{"N": i})
		}
		box.Add(textLabel(fmt.Sprintf("%s: %s — %s — %s", role, d.Name, formatSize(d.Size), d.MediaType)))
		digest := widget.NewLabelWithStyle(lang.L("protocol.doc.digest", map[string]any{"Digest": d.SHA256Hex}), fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
		digest.Wrapping = fyne.TextWrapBreak
		digest.Importance = widget.LowImportance
		box.Add(digest)
	}
	receipt := newButton(k, lang.L("wizard.receipt"), theme.DocumentIcon(), func() {
		id, sess := r.ID, u.sess
		u.openPDF("ricevuta", lang.L("pdf.receipt"), func(ctx context.Context, w io.Writer) error {
			return u.svc.ReceiptPDF(ctx, sess, id, w)
		}, nil)
	})
	if r.Number == 0 && r.EmergencyNumber == 0 {
		receipt.Disable()
	}
	actions := container.NewHBox(receipt)
	s.detailReceipt, s.detailAnnul = receipt, nil
	if u.sess.Role.Can(auth.AnnulProtocol) && !r.Annulled {
		annul := newButton(k, lang.L("protocol.annul"), theme.DeleteIcon(), func() { s.askAnnul(r) })
		annul.Importance = widget.DangerImportance
		actions.Add(annul)
		s.detailAnnul = annul
	}
	return container.NewBorder(nil, container.NewVBox(widget.NewSeparator(), actions), nil, nil,
		container.NewVScroll(container.NewPadded(box)))
}

// --- annulment -------------------------------------------------------------

// annulDialog asks for the reason and the act that authorises an annulment.
type annulDialog struct {
	d      *dialog.FormDialog
	reason *entry
	ref    *entry
}

func required(msg string) fyne.StringValidator {
	return func(s string) error {
		if strings.TrimSpace(s) == "" {
			return errors.New(msg)
		}
		return nil
	}
}

// askAnnul opens the annulment dialog (art. 54 DPR 445/2000).
func (s *protocolSection) askAnnul(r store.Registration) {
	u := s.u
	a := &annulDialog{}
	a.reason = newEntry(u.keys)
	a.reason.MultiLine = true
	a.reason.Wrapping = fyne.TextWrapWord
	a.reason.SetMinRowsVisible(3)
	a.reason.Validator = required(lang.L("protocol.annul.reason.required"))
	a.ref = newEntry(u.keys)
	a.ref.SetPlaceHolder(lang.L("protocol.annul.ref.placeholder"))
	a.ref.Validator = required(lang.L("protocol.annul.ref.required"))
	note := textLabel(lang.L("protocol.annul.note", map[string]any{"Label": r.Label()}))
	items := []*widget.FormItem{
		widget.NewFormItem("", note),
		widget.NewFormItem(lang.L("protocol.annul.reason"), a.reason),
		widget.NewFormItem(lang.L("protocol.annul.ref"), a.ref),
	}
	a.d = dialog.NewForm(lang.L("protocol.annul.title"), lang.L("protocol.annul.confirm"), lang.L("protocol.annul.back"), items, func(ok bool) {
		s.annul = nil
		if !ok {
			return
		}
		reason, ref, id := a.reason.Text, a.ref.Text, r.ID
		runAsync(u, func(ctx context.Context) (struct{}, error) {
			return struct{}{}, u.svc.Annul(ctx, u.sess, id, reason, ref)
		}, func(_ struct{}, err error) {
			if err != nil {
				u.showError(err)
				return
			}
			u.setStatus(lang.L("protocol.annul.done", map[string]any{"Label": r.Label()}))
			s.search()
			s.checkRepeated()
			if s.shownID == id && s.form == nil {
				s.openRegistration(id)
			}
		})
	}, u.win)
	a.d.Resize(fyne.NewSize(620, 360))
	s.annul = a
	u.openDialog(a.d)
	u.win.Canvas().Focus(a.reason)
}

// --- drag and drop -------------------------------------------------------------

func (s *protocolSection) dropped(uris []fyne.URI) {
	if s.form == nil || s.form.done {
		s.u.setStatus(lang.L("protocol.drop.noform"))
		return
	}
	n := 0
	for _, x := range uris {
		if !isDir(x) {
			s.form.addFile(fileOfURI(x, "wizard.att.source.drop"))
			n++
		}
	}
	s.u.setStatus(lang.L("protocol.dropped", map[string]any{"Count": n}))
}
