package ui

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"sportello/internal/application"
	"sportello/internal/auth"
	"sportello/internal/catalog"
	"sportello/internal/citizen"
	"sportello/internal/completeness"
	"sportello/internal/desk"
)

// saveDelay is how long typing must pause before the draft is saved.
var saveDelay = 700 * time.Millisecond

// wizardStep is one step of the new application wizard.
type wizardStep int

const (
	stepProcedure wizardStep = iota
	stepCitizen
	stepForm
	stepAttachments
	stepCheck
	stepProtocol
	stepCount
)

var stepKeys = [stepCount]string{"wizard.step.procedure", "wizard.step.citizen", "wizard.step.form",
	"wizard.step.attachments", "wizard.step.check", "wizard.step.protocol"}

// wizardSection is "Nuova pratica": procedure, applicant, form,
// attachments, completeness check, signature and protocol, in uniform
// steps. The draft is saved while the operator types.
type wizardSection struct {
	u      *UI
	item   *container.TabItem
	closed bool

	stepBtns [stepCount]*button
	body     *fyne.Container
	title    *widget.Label
	backBtn  *button
	nextBtn  *button
	newBtn   *button
	busy     *widget.ProgressBarInfinite
	info     *widget.Label
	step     wizardStep
	working  bool // a step change is waiting for the service

	cat *catalog.Catalog

	// step 1
	procSearch  *entry
	procList    *list
	procResults []catalog.Procedure
	procDetail  *fyne.Container
	procScroll  *container.Scroll
	procInfo    *widget.Label
	proc        *catalog.Procedure

	// step 2
	applicant, delegate *citizen.Citizen
	applicantPick       *citizenPicker
	delegatePick        *citizenPicker

	// the application, once started
	app         *application.Application
	values      map[string]string
	stamps      []string
	savedValues map[string]string
	savedStamps []string
	form        *wizardForm
	atts        []application.Attachment
	attPage     *attachmentsPage
	problems    []completeness.Problem
	checked     bool // problems hold the result of the last check
	checkBtn    *button
	checkBox    *fyne.Container
	finish      *finishPage

	// draft saving
	editGen   int
	saving    bool
	saveAgain bool
	waiters   []func(error)

	// files waiting to be assigned to an attachment type
	candidates []pickedFile
	usedFiles  map[string]bool
	scanFolder string
	scanStop   context.CancelFunc
}

func newWizardSection(u *UI) *wizardSection {
	w := &wizardSection{u: u, usedFiles: map[string]bool{}}
	k := u.keys
	header := container.NewHBox()
	for i := range stepCount {
		st := wizardStep(i)
		b := newButton(k, lang.L("wizard.step.n", map[string]any{"N": i + 1, "Name": lang.L(stepKeys[i])}), nil, func() { w.goTo(st) })
		b.Importance = widget.LowImportance
		w.stepBtns[i] = b
		header.Add(b)
	}
	w.title = heading("")
	w.title.SizeName = theme.SizeNameSubHeadingText
	w.title.Truncation = fyne.TextTruncateEllipsis
	w.body = container.NewStack()
	w.backBtn = newButton(k, lang.L("wizard.back"), theme.NavigateBackIcon(), w.back)
	w.nextBtn = newButton(k, lang.L("wizard.next"), theme.NavigateNextIcon(), w.next)
	w.nextBtn.Importance = widget.HighImportance
	w.nextBtn.IconPlacement = widget.ButtonIconTrailingText
	w.newBtn = newButton(k, lang.L("wizard.new"), theme.ContentAddIcon(), w.startNew)
	w.busy = progress()
	w.info = widget.NewLabel("")
	w.info.Importance = widget.LowImportance
	w.info.Truncation = fyne.TextTruncateEllipsis

	nav := container.NewBorder(nil, nil, container.NewHBox(w.newBtn),
		container.NewHBox(w.backBtn, w.nextBtn), container.NewVBox(w.info, w.busy))
	content := container.NewBorder(
		container.NewVBox(container.NewHScroll(header), w.title, widget.NewSeparator()),
		container.NewVBox(widget.NewSeparator(), nav),
		nil, nil, w.body)
	w.item = container.NewTabItemWithIcon(lang.L("tab.wizard"), theme.DocumentCreateIcon(), content)
	w.buildProcedureStep()
	w.reset()
	return w
}

func (w *wizardSection) tab() *container.TabItem { return w.item }

// focusSearch focuses the first field of the current step.
func (w *wizardSection) focusSearch() {
	c := w.u.win.Canvas()
	switch w.step {
	case stepProcedure:
		if w.app == nil {
			c.Focus(w.procSearch)
			w.procSearch.Entry.TypedShortcut(&fyne.ShortcutSelectAll{})
		}
	case stepCitizen:
		if w.app == nil {
			c.Focus(w.applicantPick.search)
		}
	case stepForm:
		if w.form != nil {
			w.form.focusFirst()
		}
	}
}

// save saves the draft now (Ctrl+S).
func (w *wizardSection) save() {
	w.flush(func(err error) {
		if err != nil {
			w.u.showError(err)
		}
	})
}

// close stops the background work (logout, enrolment).
func (w *wizardSection) close() {
	w.closed = true
	w.editGen++
	w.stopScanner()
}

// reset empties the wizard for a new application.
func (w *wizardSection) reset() {
	w.stopScanner()
	w.editGen++
	w.proc, w.applicant, w.delegate, w.app = nil, nil, nil, nil
	w.values, w.stamps, w.savedValues, w.savedStamps = map[string]string{}, nil, map[string]string{}, nil
	w.form, w.attPage, w.finish = nil, nil, nil
	w.atts, w.problems, w.checked = nil, nil, false
	w.candidates = nil
	w.procSearch.SetText("")
	w.procList.UnselectAll()
	w.procDetail.Objects = []fyne.CanvasObject{placeholder(lang.L("wizard.procedure.none"))}
	w.procDetail.Refresh()
	w.buildCitizenStep()
	w.info.SetText("")
	w.show(stepProcedure)
	w.loadCatalog(nil)
}

// startNew saves the current draft and starts a new application.
func (w *wizardSection) startNew() {
	if w.working {
		return
	}
	w.flush(func(err error) {
		if err != nil {
			w.u.showError(err)
			return
		}
		w.reset()
		w.focusSearch()
	})
}

// startFor starts a new application for a citizen ("Nuova pratica per
// questo cittadino" on the citizen's page).
func (w *wizardSection) startFor(c citizen.Citizen) {
	w.flush(func(err error) {
		if err != nil {
			w.u.showError(err)
			return
		}
		w.reset()
		w.applicant = &c
		w.applicantPick.setChosen(&c)
		w.updateNav()
		w.u.shell.show(w)
		w.focusSearch()
	})
}

func (w *wizardSection) loadCatalog(then func()) {
	if w.cat != nil {
		w.filterProcedures()
		if then != nil {
			then()
		}
		return
	}
	runAsync(w.u, func(ctx context.Context) (*catalog.Catalog, error) {
		return w.u.svc.Catalog(ctx)
	}, func(c *catalog.Catalog, err error) {
		if err != nil {
			w.u.showError(err)
			return
		}
		w.cat = c
		w.filterProcedures()
		if then != nil {
			then()
		}
	})
}

// --- navigation ----------------------------------------------------------

// reachable reports whether the operator may go to st now.
func (w *wizardSection) reachable(st wizardStep) bool {
	switch {
	case st <= stepProcedure:
		return true
	case st == stepCitizen:
		return w.proc != nil
	default:
		return w.app != nil
	}
}

// show displays step st (no checks, no saving).
func (w *wizardSection) show(st wizardStep) {
	w.step = st
	var page fyne.CanvasObject
	switch st {
	case stepProcedure:
		page = w.procedurePage()
	case stepCitizen:
		page = w.citizenPage()
	case stepForm:
		page = w.form.content
	case stepAttachments:
		page = w.attPage.content
		w.attPage.refresh()
	case stepCheck:
		page = w.checkPage()
	case stepProtocol:
		page = w.finish.content
		w.finish.refresh()
	}
	w.body.Objects = []fyne.CanvasObject{page}
	w.body.Refresh()
	w.updateNav()
}

// updateNav shows where the operator is and what they can do.
func (w *wizardSection) updateNav() {
	for i, b := range w.stepBtns {
		st := wizardStep(i)
		switch {
		case st == w.step:
			b.Importance = widget.HighImportance
		default:
			b.Importance = widget.LowImportance
		}
		if w.reachable(st) && !w.working {
			b.Enable()
		} else {
			b.Disable()
		}
		b.Refresh()
	}
	title := lang.L("wizard.title.new")
	if w.proc != nil {
		title = w.proc.Name
		if w.applicant != nil {
			title += " — " + w.applicant.FullName()
		}
		if w.app != nil {
			title += " — " + w.app.State.Label()
		}
	}
	w.title.SetText(title)
	if w.step == stepProcedure || w.working {
		w.backBtn.Disable()
	} else {
		w.backBtn.Enable()
	}
	switch {
	case w.step == stepProtocol:
		w.nextBtn.Hide()
	case w.working || !w.canLeave():
		w.nextBtn.Show()
		w.nextBtn.Disable()
	default:
		w.nextBtn.Show()
		w.nextBtn.Enable()
	}
}

// canLeave reports whether the current step has what the next one needs.
func (w *wizardSection) canLeave() bool {
	switch w.step {
	case stepProcedure:
		return w.proc != nil
	case stepCitizen:
		return w.app != nil || w.applicant != nil
	}
	return true
}

// next goes to the following step (Ctrl+PageDown), starting the
// application after the applicant is chosen.
func (w *wizardSection) next() {
	if w.working || w.step >= stepProtocol || !w.canLeave() {
		return
	}
	if w.step == stepCitizen && w.app == nil {
		w.createApplication()
		return
	}
	w.goTo(w.step + 1)
}

// back goes to the previous step (Ctrl+PageUp).
func (w *wizardSection) back() {
	if w.working || w.step == stepProcedure {
		return
	}
	w.goTo(w.step - 1)
}

// goTo moves to st, saving the draft first.
func (w *wizardSection) goTo(st wizardStep) { w.goToThen(st, nil) }

// goToThen moves to st and runs then once it is shown.
func (w *wizardSection) goToThen(st wizardStep, then func()) {
	if w.working || !w.reachable(st) {
		return
	}
	if st == w.step {
		if then != nil {
			then()
		}
		return
	}
	if w.app == nil {
		w.show(st)
		w.focusSearch()
		return
	}
	w.flush(func(err error) {
		if err != nil {
			w.u.showError(err)
			return
		}
		w.show(st)
		w.focusSearch()
		if st == stepCheck {
			w.runCheck()
		}
		if then != nil {
			then()
		}
	})
}

// setWorking shows that the wizard waits for the service.
func (w *wizardSection) setWorking(on bool, msg string) {
	w.working = on
	if on {
		w.busy.Show()
	} else {
		w.busy.Hide()
	}
	if msg != "" || on {
		w.info.SetText(msg)
	}
	w.updateNav()
}

// --- step 1: procedure ---------------------------------------------------

func (w *wizardSection) buildProcedureStep() {
	u := w.u
	w.procSearch = newEntry(u.keys)
	w.procSearch.SetPlaceHolder(lang.L("catalog.search.placeholder"))
	w.procSearch.ActionItem = widget.NewIcon(theme.SearchIcon())
	w.procSearch.OnChanged = func(string) { w.filterProcedures() }
	w.procSearch.OnSubmitted = func(string) {
		if len(w.procResults) > 0 {
			w.procList.Select(0)
			w.next()
		}
	}
	w.procSearch.onDown = func() {
		if len(w.procResults) > 0 {
			u.win.Canvas().Focus(w.procList)
		}
	}
	w.procInfo = widget.NewLabel("")
	w.procInfo.Importance = widget.LowImportance
	w.procList = newList(u.keys,
		func() int { return len(w.procResults) },
		func() fyne.CanvasObject {
			l := widget.NewLabel("")
			l.Truncation = fyne.TextTruncateEllipsis
			return l
		},
		func(id widget.ListItemID, o fyne.CanvasObject) {
			if id < len(w.procResults) {
				o.(*widget.Label).SetText(w.procResults[id].Name)
			}
		})
	w.procList.OnSelected = func(id widget.ListItemID) {
		if id < 0 || id >= len(w.procResults) || w.app != nil {
			return
		}
		p := w.procResults[id]
		w.proc = &p
		w.procDetail.Objects = procedureDetail(w.cat, p)
		w.procDetail.Refresh()
		w.procScroll.ScrollToTop()
		w.updateNav()
	}
	w.procDetail = container.NewVBox()
	w.procScroll = container.NewVScroll(container.NewPadded(w.procDetail))
}

// procedures the operator may file: active, and confidential ones only
// for the roles that may read them.
func (w *wizardSection) fileable(ps []catalog.Procedure) []catalog.Procedure {
	var out []catalog.Procedure
	for _, p := range ps {
		if !p.Active || (p.Confidential && !w.u.sess.Role.Can(auth.ReadConfidential)) {
			continue
		}
		out = append(out, p)
	}
	return out
}

func (w *wizardSection) filterProcedures() {
	if w.cat == nil {
		return
	}
	w.procResults = w.fileable(w.cat.Search(w.procSearch.Text))
	w.procList.UnselectAll()
	w.procList.Refresh()
	if w.proc != nil {
		for i, p := range w.procResults {
			if p.ID == w.proc.ID {
				w.procList.Select(i)
				break
			}
		}
	}
	if len(w.procResults) == 0 {
		w.procInfo.SetText(lang.L("catalog.search.none"))
	} else {
		w.procInfo.SetText(lang.L("catalog.search.count", map[string]any{"Count": len(w.procResults)}))
	}
}

func (w *wizardSection) procedurePage() fyne.CanvasObject {
	if w.app != nil {
		return w.lockedPage()
	}
	left := container.NewBorder(container.NewVBox(
		heading(lang.L("wizard.procedure.choose")), w.procSearch, w.procInfo), nil, nil, nil, w.procList)
	split := container.NewHSplit(left, w.procScroll)
	split.Offset = 0.36
	return split
}

// lockedPage replaces steps 1 and 2 once the application is started.
func (w *wizardSection) lockedPage() fyne.CanvasObject {
	box := container.NewVBox(heading(lang.L("wizard.started")))
	form := widget.NewForm()
	if w.proc != nil {
		form.Append(lang.L("wizard.procedure"), textLabel(w.proc.Name))
	}
	if w.applicant != nil {
		form.Append(lang.L("wizard.applicant"), textLabel(citizenLine(*w.applicant)))
	}
	if w.delegate != nil {
		form.Append(lang.L("wizard.delegate"), textLabel(citizenLine(*w.delegate)))
	}
	note := textLabel(lang.L("wizard.started.note"))
	note.Importance = widget.LowImportance
	box.Add(form)
	box.Add(note)
	return container.NewVScroll(container.NewPadded(box))
}

// --- step 2: applicant and delegate ---------------------------------------

func (w *wizardSection) buildCitizenStep() {
	w.applicantPick = newCitizenPicker(w.u, lang.L("wizard.applicant"), false, func(c *citizen.Citizen) {
		w.applicant = c
		w.updateNav()
	})
	w.delegatePick = newCitizenPicker(w.u, lang.L("wizard.delegate.optional"), true, func(c *citizen.Citizen) {
		w.delegate = c
	})
}

func (w *wizardSection) citizenPage() fyne.CanvasObject {
	if w.app != nil {
		return w.lockedPage()
	}
	return container.NewGridWithColumns(2, w.applicantPick.content, w.delegatePick.content)
}

// createApplication starts the draft (prefilled from the registry).
func (w *wizardSection) createApplication() {
	if w.proc == nil || w.applicant == nil {
		return
	}
	if w.delegate != nil && w.delegate.ID == w.applicant.ID {
		w.info.SetText(lang.L("wizard.delegate.same"))
		return
	}
	procID, citID, delID := w.proc.ID, w.applicant.ID, ""
	if w.delegate != nil {
		delID = w.delegate.ID
	}
	u := w.u
	w.setWorking(true, lang.L("wizard.creating"))
	runAsync(u, func(ctx context.Context) (application.Application, error) {
		return u.svc.NewApplication(ctx, u.sess, procID, citID, delID)
	}, func(a application.Application, err error) {
		w.setWorking(false, "")
		if err != nil {
			u.showError(err)
			return
		}
		w.opened(a, nil)
		w.info.SetText(lang.L("wizard.created"))
		w.show(stepForm)
		w.focusSearch()
		if u.shell != nil && u.shell.citizens != nil {
			u.shell.citizens.applicationsChanged(a.CitizenID)
		}
	})
}

// opened installs an application (new or resumed) in the wizard.
func (w *wizardSection) opened(a application.Application, atts []application.Attachment) {
	w.app = &a
	w.values = maps.Clone(a.Values)
	if w.values == nil {
		w.values = map[string]string{}
	}
	w.savedValues = maps.Clone(w.values)
	w.stamps = slices.Clone(a.StampDutyIDs)
	w.savedStamps = slices.Clone(a.StampDutyIDs)
	w.atts = atts
	w.problems, w.checked = nil, false
	w.form = newWizardForm(w)
	w.attPage = newAttachmentsPage(w)
	w.buildCheckPage()
	w.finish = newFinishPage(w)
	w.startScanner()
}

// resume reopens a draft (from the citizen's page).
func (w *wizardSection) resume(appID string) {
	u := w.u
	w.flush(func(err error) {
		if err != nil {
			u.showError(err)
			return
		}
		type loaded struct {
			app                 application.Application
			cat                 *catalog.Catalog
			applicant, delegate citizen.Citizen
			atts                []application.Attachment
		}
		w.reset()
		u.shell.show(w)
		w.setWorking(true, lang.L("wizard.loading"))
		runAsync(u, func(ctx context.Context) (loaded, error) {
			var l loaded
			var err error
			if l.app, err = u.svc.Application(ctx, u.sess, appID); err != nil {
				return l, err
			}
			if l.cat, err = u.svc.Catalog(ctx); err != nil {
				return l, err
			}
			if l.applicant, err = u.svc.Citizen(ctx, l.app.CitizenID); err != nil {
				return l, err
			}
			if l.app.DelegateID != "" {
				if l.delegate, err = u.svc.Citizen(ctx, l.app.DelegateID); err != nil {
					return l, err
				}
			}
			l.atts, err = u.svc.Attachments(ctx, u.sess, appID)
			return l, err
		}, func(l loaded, err error) {
			w.setWorking(false, "")
			if err != nil {
				u.showError(err)
				return
			}
			p, ok := l.cat.Procedure(l.app.ProcedureID)
			if !ok {
				u.showError(errNotInCatalog(l.app.ProcedureID))
				return
			}
			w.cat = l.cat
			w.proc = &p
			w.applicant = &l.applicant
			if l.app.DelegateID != "" {
				w.delegate = &l.delegate
			}
			w.opened(l.app, l.atts)
			w.info.SetText(lang.L("wizard.resumed"))
			if l.app.State == application.Completa {
				w.show(stepCheck)
				w.runCheck()
			} else {
				w.show(stepForm)
			}
			w.focusSearch()
		})
	})
}

// --- draft saving ---------------------------------------------------------

// editable reports whether the open application can still be changed.
func (w *wizardSection) editable() bool { return w.app != nil && w.app.State.Editable() }

// changed is called at every edit: the draft is saved saveDelay after the last one.
func (w *wizardSection) changed() {
	if !w.editable() {
		return
	}
	w.editGen++
	gen := w.editGen
	w.info.SetText(lang.L("wizard.unsaved"))
	time.AfterFunc(saveDelay, func() {
		w.u.do(func() {
			if gen == w.editGen && !w.closed {
				w.save0(nil)
			}
		})
	})
}

// unchanged reports whether the values are those last saved.
func (w *wizardSection) unchanged() bool {
	return maps.Equal(w.values, w.savedValues) && slices.Equal(cleanStamps(w.stamps), cleanStamps(w.savedStamps))
}

func cleanStamps(ids []string) []string {
	var out []string
	for _, id := range ids {
		if id = strings.TrimSpace(id); id != "" {
			out = append(out, id)
		}
	}
	return out
}

// flush saves what is unsaved now and runs done (on the UI goroutine)
// when the draft is stored.
func (w *wizardSection) flush(done func(error)) {
	w.editGen++ // the pending delayed save is this one
	w.save0(done)
}

// save0 stores the draft (one save at a time; edits made meanwhile are
// saved right after).
func (w *wizardSection) save0(done func(error)) {
	if done != nil {
		w.waiters = append(w.waiters, done)
	}
	if w.saving {
		w.saveAgain = true
		return
	}
	if !w.editable() || w.unchanged() {
		w.finishWaiters(nil)
		return
	}
	u := w.u
	values, stamps := maps.Clone(w.values), cleanStamps(w.stamps)
	appID, sess := w.app.ID, u.sess
	app := w.app
	w.saving = true
	runAsync(u, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, u.svc.SaveDraft(ctx, sess, appID, values, stamps)
	}, func(_ struct{}, err error) {
		w.saving = false
		if err == nil {
			w.savedValues, w.savedStamps = values, stamps
			if app.State == application.Completa {
				app.State = application.Bozza
			}
			if w.app == app {
				w.info.SetText(lang.L("wizard.saved", map[string]any{"Time": time.Now().In(rome).Format("15:04:05")}))
				w.updateNav()
			}
		} else {
			logUnexpected(err)
			if w.app == app {
				w.info.SetText(lang.L("wizard.save.failed", map[string]any{"Message": desk.UserMessage(err)}))
			}
		}
		if w.saveAgain && err == nil {
			w.saveAgain = false
			w.save0(nil)
			return
		}
		w.saveAgain = false
		w.finishWaiters(err)
	})
}

func (w *wizardSection) finishWaiters(err error) {
	ws := w.waiters
	w.waiters = nil
	for _, f := range ws {
		f(err)
	}
}

// dirty is false: the wizard saves by itself (flushDrafts on close and logout).
func (w *wizardSection) dirty() bool { return false }

// shown is called when the tab is selected.
func (w *wizardSection) shown() {
	if w.cat == nil {
		w.loadCatalog(nil)
	}
}
