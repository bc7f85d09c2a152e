package ui

import (
	"context"
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
	"sportello/internal/desk"
	"sportello/internal/protocol"
	"sportello/store"
)

var directionChoices = []choice{{string(protocol.Incoming), "protocol.direction.in"}, {string(protocol.Outgoing), "protocol.direction.out"}}

// registerForm registers a document that did not come through the desk:
// incoming mail, a PEC printed out, an outgoing letter.
type registerForm struct {
	s       *protocolSection
	content fyne.CanvasObject

	direction      *selectBox
	corrItem       *widget.FormItem
	form           *widget.Form
	correspondent  *entry
	cf             *entry
	subject        *entry
	classification *entry
	office         *selectBox
	recNumber      *entry
	recDate        *entry
	confidential   *check
	primary        *pickedFile
	attachments    []pickedFile
	filesBox       *fyne.Container
	problems       *widget.Label

	submitBtn  *button
	busy       *widget.ProgressBarInfinite
	result     *widget.Label
	receiptBtn *button
	newBtn     *button
	working    bool
	done       bool
	reg        *store.Registration
}

// newRegistration opens the "Registra documento in arrivo" form (Ctrl+D).
func (s *protocolSection) newRegistration() {
	if !s.u.sess.Role.Can(auth.RegisterProtocol) {
		return
	}
	s.u.confirmDiscard(func() {
		s.loadCatalog(func() {
			s.shownID = ""
			s.syncSelection()
			s.form = newRegisterForm(s)
			s.setPage(s.form.content)
			s.u.win.Canvas().Focus(s.form.correspondent)
		})
	}, nil)
}

func newRegisterForm(s *protocolSection) *registerForm {
	f := &registerForm{s: s}
	k := s.u.keys
	f.direction = newSelect(k, choiceLabels(directionChoices), func(string) { f.directionChanged() })
	f.direction.SetSelected(lang.L("protocol.direction.in"))
	f.correspondent = newEntry(k)
	f.cf = newEntry(k)
	f.cf.SetPlaceHolder(lang.L("protocol.field.cf.placeholder"))
	f.subject = newEntry(k)
	f.subject.MultiLine = true
	f.subject.Wrapping = fyne.TextWrapWord
	f.subject.SetMinRowsVisible(2)
	f.classification = newEntry(k)
	f.classification.SetPlaceHolder(lang.L("protocol.field.classification.placeholder"))
	var offices []string
	if s.cat != nil {
		for _, o := range s.cat.Offices {
			offices = append(offices, o.Name)
		}
	}
	f.office = newSelect(k, offices, nil)
	f.office.PlaceHolder = lang.L("select.none")
	f.recNumber = newEntry(k)
	f.recDate = newDateEntry(k)
	f.confidential = newCheck(k, lang.L("protocol.field.confidential.check"), nil)
	if !s.u.sess.Role.Can(auth.ReadConfidential) {
		f.confidential.Hide()
	}
	f.filesBox = container.NewVBox()
	f.problems = textLabel("")
	f.problems.Importance = widget.DangerImportance
	f.problems.Hide()

	choosePrimary := newButton(k, lang.L("protocol.file.primary.choose"), theme.FileIcon(), func() { f.chooseFile(true) })
	addAttachment := newButton(k, lang.L("protocol.file.attachment.add"), theme.ContentAddIcon(), func() { f.chooseFile(false) })
	f.submitBtn = newButton(k, lang.L("protocol.register.submit"), theme.MailSendIcon(), f.submit)
	f.submitBtn.Importance = widget.HighImportance
	f.busy = progress()
	f.result = textLabel("")
	f.result.TextStyle.Bold = true
	f.result.Hide()
	f.receiptBtn = newButton(k, lang.L("wizard.receipt"), theme.DocumentIcon(), f.receipt)
	f.receiptBtn.Hide()
	f.newBtn = newButton(k, lang.L("protocol.register.another"), theme.ContentAddIcon(), s.newRegistration)
	f.newBtn.Hide()

	item := func(key string, o fyne.CanvasObject) *widget.FormItem { return widget.NewFormItem(lang.L(key), o) }
	f.corrItem = item("protocol.field.sender", f.correspondent)
	f.form = widget.NewForm(
		item("protocol.field.direction", f.direction),
		f.corrItem,
		item("protocol.field.cf", f.cf),
		item("protocol.field.subject", f.subject),
		item("protocol.field.classification", f.classification),
		item("protocol.field.office", f.office),
		item("protocol.field.received.number", f.recNumber),
		item("protocol.field.received.date", f.recDate),
		widget.NewFormItem("", f.confidential),
	)
	help := textLabel(lang.L("protocol.files.help"))
	help.Importance = widget.LowImportance
	box := container.NewVBox(
		heading(lang.L("protocol.register.form.title")),
		f.form,
		widget.NewSeparator(),
		heading(lang.L("protocol.files")), help, f.filesBox,
		container.NewHBox(choosePrimary, addAttachment),
		f.problems,
	)
	actions := container.NewVBox(widget.NewSeparator(),
		container.NewBorder(nil, nil, nil, f.submitBtn, f.busy), f.result, container.NewHBox(f.receiptBtn, f.newBtn))
	f.content = container.NewBorder(nil, actions, nil, nil, container.NewVScroll(container.NewPadded(box)))
	f.directionChanged()
	f.refreshFiles()
	return f
}

func (f *registerForm) dir() protocol.Direction {
	return protocol.Direction(choiceValue(directionChoices, f.direction.Selected))
}

func (f *registerForm) directionChanged() {
	if f.form == nil {
		return
	}
	if f.dir() == protocol.Outgoing {
		f.corrItem.Text = lang.L("protocol.field.recipient")
		f.correspondent.SetPlaceHolder(lang.L("protocol.field.recipient.placeholder"))
		f.recNumber.Disable()
		f.recDate.Disable()
	} else {
		f.corrItem.Text = lang.L("protocol.field.sender")
		f.correspondent.SetPlaceHolder(lang.L("protocol.field.sender.placeholder"))
		f.recNumber.Enable()
		f.recDate.Enable()
	}
	f.form.Refresh()
}

func (f *registerForm) dirty() bool {
	if f.done {
		return false
	}
	for _, e := range []*entry{f.correspondent, f.cf, f.subject, f.classification, f.recNumber, f.recDate} {
		if strings.TrimSpace(e.Text) != "" {
			return true
		}
	}
	return f.primary != nil || len(f.attachments) > 0
}

// addFile makes f the primary document if there is none yet, else an attachment.
func (f *registerForm) addFile(p pickedFile) {
	if f.done {
		return
	}
	if f.primary == nil {
		f.primary = &p
	} else {
		f.attachments = append(f.attachments, p)
	}
	f.refreshFiles()
}

func (f *registerForm) refreshFiles() {
	k := f.s.u.keys
	var objs []fyne.CanvasObject
	if f.primary == nil {
		objs = append(objs, textLabel(lang.L("protocol.file.primary.none")))
	} else {
		rm := newButton(k, lang.L("protocol.file.remove"), theme.ContentRemoveIcon(), func() {
			f.primary = nil
			if len(f.attachments) > 0 {
				p := f.attachments[0]
				f.primary = &p
				f.attachments = f.attachments[1:]
			}
			f.refreshFiles()
		})
		objs = append(objs, container.NewBorder(nil, nil, nil, rm,
			textLabel(lang.L("protocol.doc.primary")+": "+f.primary.describe())))
	}
	for i, a := range f.attachments {
		i := i
		rm := newButton(k, lang.L("protocol.file.remove"), theme.ContentRemoveIcon(), func() {
			f.attachments = append(f.attachments[:i:i], f.attachments[i+1:]...)
			f.refreshFiles()
		})
		objs = append(objs, container.NewBorder(nil, nil, nil, rm,
			textLabel(lang.L("protocol.doc.attachment", map[string]any{"N": i + 1})+": "+a.describe())))
	}
	f.filesBox.Objects = objs
	f.filesBox.Refresh()
}

func (f *registerForm) chooseFile(primary bool) {
	u := f.s.u
	d := dialog.NewFileOpen(func(rc fyne.URIReadCloser, err error) {
		if err != nil {
			u.showError(err)
			return
		}
		if rc == nil {
			return
		}
		p := fileOfReader(rc, "wizard.att.source.dialog")
		if primary && f.primary != nil {
			f.attachments = append([]pickedFile{*f.primary}, f.attachments...)
			f.primary = &p
			f.refreshFiles()
			return
		}
		f.addFile(p)
	}, u.win)
	d.Resize(fyne.NewSize(860, 560))
	u.openDialog(d)
}

// registration collects the form.
func (f *registerForm) registration() protocol.Registration {
	r := protocol.Registration{
		Direction:       f.dir(),
		Correspondent:   strings.TrimSpace(f.correspondent.Text),
		CorrespondentCF: strings.ToUpper(strings.TrimSpace(f.cf.Text)),
		Subject:         strings.TrimSpace(f.subject.Text),
		Classification:  strings.TrimSpace(f.classification.Text),
		Confidential:    f.confidential.Checked,
	}
	if f.s.cat != nil {
		for _, o := range f.s.cat.Offices {
			if o.Name == f.office.Selected {
				r.OfficeID = o.ID
			}
		}
	}
	if r.Direction == protocol.Incoming {
		r.ReceivedDocNumber = strings.TrimSpace(f.recNumber.Text)
		r.ReceivedDocDate = isoDate(f.recDate.Text)
	}
	return r
}

// submit registers the document in the background.
func (f *registerForm) submit() {
	if f.working || f.done {
		return
	}
	u := f.s.u
	reg := f.registration()
	var files []pickedFile
	if f.primary != nil {
		files = append(files, *f.primary)
	}
	files = append(files, f.attachments...)
	if reg.ReceivedDocDate != "" {
		if _, err := time.Parse("2006-01-02", reg.ReceivedDocDate); err != nil {
			f.showProblems(lang.L("protocol.field.received.date.invalid"))
			return
		}
	}
	f.working = true
	f.submitBtn.Disable()
	f.busy.Show()
	f.problems.Hide()
	u.setStatus(lang.L("protocol.register.running"))
	sess := u.sess
	runAsync(u, func(ctx context.Context) (desk.ProtocolResult, error) {
		var named []desk.NamedFile
		for _, p := range files {
			rc, err := p.open()
			if err != nil {
				return desk.ProtocolResult{}, err
			}
			defer rc.Close()
			named = append(named, desk.NamedFile{Name: p.name, Data: rc})
		}
		return u.svc.RegisterDocument(ctx, sess, reg, named)
	}, func(res desk.ProtocolResult, err error) {
		f.working = false
		f.busy.Hide()
		if err != nil {
			f.submitBtn.Enable()
			logUnexpected(err)
			f.showProblems(desk.UserMessage(err))
			u.setStatus(lang.L("protocol.register.failed"))
			return
		}
		f.done = true
		r := res.Registration
		f.reg = &r
		f.result.SetText(protocolResultText(res, u.syncState))
		if res.Emergency || res.Pending {
			f.result.Importance = widget.WarningImportance
		} else {
			f.result.Importance = widget.SuccessImportance
		}
		f.result.Show()
		f.result.Refresh()
		if !res.Pending {
			f.receiptBtn.Show()
		}
		f.newBtn.Show()
		u.setStatus(f.result.Text)
		f.s.search() // listed on top: selecting it opens its detail
	})
}

func (f *registerForm) showProblems(msg string) {
	f.problems.SetText(msg)
	f.problems.Show()
}

func (f *registerForm) receipt() {
	if f.reg == nil {
		return
	}
	u := f.s.u
	id, sess := f.reg.ID, u.sess
	u.openPDF("ricevuta", lang.L("pdf.receipt"), func(ctx context.Context, w io.Writer) error {
		return u.svc.ReceiptPDF(ctx, sess, id, w)
	}, nil)
}

// --- emergency register ------------------------------------------------------

// emergencyPage shows the interruptions of the protocol service and the
// emergency registrations per day, and opens, closes and extends an
// interruption (art. 63 DPR 445/2000).
type emergencyPage struct {
	s       *protocolSection
	content fyne.CanvasObject
	list    *fyne.Container
	counts  *fyne.Container
	openBtn *button
	close   *button
	extend  *button
	confirm *dialog.ConfirmDialog
}

func (s *protocolSection) showEmergency() {
	u := s.u
	u.confirmDiscard(func() {
		s.form = nil
		s.shownID = ""
		s.syncSelection()
		s.emergency = newEmergencyPage(s)
		s.setPage(s.emergency.content)
		s.emergency.load()
	}, nil)
}

func newEmergencyPage(s *protocolSection) *emergencyPage {
	e := &emergencyPage{s: s}
	k := s.u.keys
	e.list = container.NewVBox()
	e.counts = container.NewVBox()
	e.openBtn = newButton(k, lang.L("emergency.open"), theme.WarningIcon(), e.askOpen)
	e.close = newButton(k, lang.L("emergency.close"), theme.ConfirmIcon(), e.askClose)
	e.extend = newButton(k, lang.L("emergency.extend"), theme.HistoryIcon(), e.askExtend)
	if !s.u.sess.Role.Can(auth.ManageEmergency) {
		e.openBtn.Disable()
		e.close.Disable()
		e.extend.Disable()
	}
	intro := textLabel(lang.L("emergency.intro"))
	intro.Importance = widget.LowImportance
	title := heading(lang.L("emergency.title"))
	title.SizeName = theme.SizeNameSubHeadingText
	box := container.NewVBox(title, intro, container.NewHBox(e.openBtn, e.close, e.extend),
		widget.NewSeparator(), heading(lang.L("emergency.interruptions")), e.list,
		widget.NewSeparator(), heading(lang.L("emergency.counts")), e.counts)
	e.content = container.NewVScroll(container.NewPadded(box))
	return e
}

type emergencyData struct {
	ins    []store.Interruption
	counts []store.EmergencyDayCount
}

func (e *emergencyPage) load() {
	u := e.s.u
	runAsync(u, func(ctx context.Context) (emergencyData, error) {
		var d emergencyData
		var err error
		if d.ins, err = u.svc.Interruptions(ctx); err != nil {
			return d, err
		}
		d.counts, err = u.svc.EmergencyDailyCounts(ctx)
		return d, err
	}, func(d emergencyData, err error) {
		if err != nil {
			u.showError(err)
			return
		}
		var objs []fyne.CanvasObject
		if len(d.ins) == 0 {
			objs = append(objs, textLabel(lang.L("emergency.none")))
		}
		for _, in := range d.ins {
			end := lang.L("emergency.ongoing")
			if !in.EndedAt.IsZero() {
				end = fullInstant(in.EndedAt)
			}
			head := heading(lang.L("emergency.line", map[string]any{"Register": in.RegisterCode, "Start": fullInstant(in.StartedAt), "End": end}))
			if in.EndedAt.IsZero() {
				head.Importance = widget.WarningImportance
			}
			objs = append(objs, head, textLabel(lang.L("emergency.cause", map[string]any{"Cause": in.Cause})))
			if in.AuthorizationRef != "" {
				objs = append(objs, textLabel(lang.L("emergency.auth", map[string]any{"Ref": in.AuthorizationRef})))
			}
		}
		e.list.Objects = objs
		e.list.Refresh()
		var cs []fyne.CanvasObject
		if len(d.counts) == 0 {
			cs = append(cs, textLabel(lang.L("emergency.counts.none")))
		}
		for _, c := range d.counts {
			cs = append(cs, textLabel(lang.L("emergency.count", map[string]any{"Register": c.Register, "Date": displayDate(c.Date), "Count": c.Count})))
		}
		e.counts.Objects = cs
		e.counts.Refresh()
	})
}

// run calls op in the background and reloads the page.
func (e *emergencyPage) run(op func(context.Context) error, okKey string) {
	u := e.s.u
	runAsync(u, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, op(ctx)
	}, func(_ struct{}, err error) {
		if err != nil {
			u.showError(err)
			return
		}
		u.setStatus(lang.L(okKey))
		e.load()
	})
}

func (e *emergencyPage) askOpen() {
	u := e.s.u
	cause := newEntry(u.keys)
	cause.SetText(desk.DefaultEmergencyCause)
	cause.Validator = required(lang.L("emergency.cause.required"))
	ref := newEntry(u.keys)
	ref.SetPlaceHolder(lang.L("emergency.auth.placeholder"))
	d := dialog.NewForm(lang.L("emergency.open"), lang.L("emergency.open.confirm"), lang.L("protocol.annul.back"), []*widget.FormItem{
		widget.NewFormItem(lang.L("emergency.cause.label"), cause),
		widget.NewFormItem(lang.L("emergency.auth.label"), ref),
	}, func(ok bool) {
		if ok {
			c, r := cause.Text, ref.Text
			e.run(func(ctx context.Context) error { return u.svc.OpenInterruption(ctx, u.sess, c, r) }, "emergency.opened")
		}
	}, u.win)
	d.Resize(fyne.NewSize(600, 260))
	u.openDialog(d)
}

func (e *emergencyPage) askClose() {
	u := e.s.u
	d := dialog.NewConfirm(lang.L("emergency.close"), lang.L("emergency.close.confirm"), func(ok bool) {
		if ok {
			e.run(func(ctx context.Context) error { return u.svc.CloseInterruption(ctx, u.sess) }, "emergency.closed")
		}
	}, u.win)
	e.confirm = d
	u.openDialog(d)
}

func (e *emergencyPage) askExtend() {
	u := e.s.u
	ref := newEntry(u.keys)
	ref.Validator = required(lang.L("emergency.auth.required"))
	ref.SetPlaceHolder(lang.L("emergency.auth.placeholder"))
	day := newDateEntry(u.keys)
	hour := newEntry(u.keys)
	hour.SetText("23:59")
	d := dialog.NewForm(lang.L("emergency.extend"), lang.L("emergency.extend.confirm"), lang.L("protocol.annul.back"), []*widget.FormItem{
		widget.NewFormItem(lang.L("emergency.auth.label"), ref),
		widget.NewFormItem(lang.L("emergency.until.day"), day),
		widget.NewFormItem(lang.L("emergency.until.time"), hour),
	}, func(ok bool) {
		if !ok {
			return
		}
		until, err := time.ParseInLocation("2006-01-02 15:04", isoDate(day.Text)+" "+strings.TrimSpace(hour.Text), protocol.Rome)
		if err != nil {
			u.showError(&desk.Error{Message: lang.L("emergency.until.invalid")})
			return
		}
		r := ref.Text
		e.run(func(ctx context.Context) error { return u.svc.ExtendInterruption(ctx, u.sess, r, until) }, "emergency.extended")
	}, u.win)
	d.Resize(fyne.NewSize(600, 300))
	u.openDialog(d)
}
