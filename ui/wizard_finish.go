package ui

import (
	"context"
	"io"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"sportello/internal/application"
	"sportello/internal/completeness"
	"sportello/internal/desk"
	"sportello/store"
	"sportello/sync"
)

// --- step 5: completeness check -------------------------------------------

func (w *wizardSection) buildCheckPage() {
	w.checkBtn = newButton(w.u.keys, lang.L("wizard.check.run"), theme.SearchReplaceIcon(), w.runCheck)
	w.checkBtn.Importance = widget.HighImportance
	w.checkBox = container.NewVBox()
	w.renderCheck()
}

func (w *wizardSection) checkPage() fyne.CanvasObject {
	intro := textLabel(lang.L("wizard.check.intro"))
	intro.Importance = widget.LowImportance
	return container.NewBorder(container.NewVBox(intro, container.NewHBox(w.checkBtn), widget.NewSeparator()), nil, nil, nil,
		container.NewVScroll(container.NewPadded(w.checkBox)))
}

// runCheck saves the draft and runs the completeness check, marking the
// application complete when it passes.
func (w *wizardSection) runCheck() {
	if w.app == nil || w.working {
		return
	}
	if !w.editable() {
		w.renderCheck()
		return
	}
	u := w.u
	app := w.app
	w.setWorking(true, lang.L("wizard.check.running"))
	w.flush(func(err error) {
		if err != nil {
			w.setWorking(false, "")
			u.showError(err)
			return
		}
		runAsync(u, func(ctx context.Context) ([]completeness.Problem, error) {
			return u.svc.MarkComplete(ctx, u.sess, app.ID)
		}, func(ps []completeness.Problem, err error) {
			w.setWorking(false, "")
			if w.app != app {
				return
			}
			if err != nil {
				u.showError(err)
				return
			}
			w.setProblems(ps)
			if len(ps) == 0 {
				app.State = application.Completa
				w.info.SetText(lang.L("wizard.check.ok"))
			} else {
				w.info.SetText(lang.L("wizard.check.problems", map[string]any{"Count": len(ps)}))
			}
			w.updateNav()
		})
	})
}

// setProblems shows the check's result in the list and next to the fields
// and attachments concerned.
func (w *wizardSection) setProblems(ps []completeness.Problem) {
	w.problems, w.checked = ps, true
	w.form.setProblems(ps)
	w.attPage.refresh()
	w.renderCheck()
}

func (w *wizardSection) renderCheck() {
	var objs []fyne.CanvasObject
	switch {
	case w.app != nil && !w.editable():
		objs = append(objs, textLabel(lang.L("wizard.check.done", map[string]any{"State": w.app.State.Label()})))
	case !w.checked:
		objs = append(objs, textLabel(lang.L("wizard.check.todo")))
	case len(w.problems) == 0:
		ok := textLabel(lang.L("wizard.check.ok"))
		ok.Importance = widget.SuccessImportance
		ok.TextStyle.Bold = true
		goOn := newButton(w.u.keys, lang.L("wizard.check.proceed"), theme.NavigateNextIcon(), func() { w.goTo(stepProtocol) })
		goOn.Importance = widget.HighImportance
		objs = append(objs, ok, container.NewHBox(goOn))
	default:
		h := heading(lang.L("wizard.check.problems", map[string]any{"Count": len(w.problems)}))
		h.Importance = widget.DangerImportance
		objs = append(objs, h)
		for _, p := range w.problems {
			p := p
			fix := newButton(w.u.keys, lang.L("wizard.check.fix"), theme.DocumentCreateIcon(), func() { w.fixProblem(p) })
			objs = append(objs, container.NewBorder(nil, nil, widget.NewIcon(theme.ErrorIcon()), fix, dangerLabel(p.Message)))
		}
	}
	w.checkBox.Objects = objs
	w.checkBox.Refresh()
	if w.editable() {
		w.checkBtn.Enable()
	} else {
		w.checkBtn.Disable()
	}
}

// fixProblem goes where the problem can be fixed.
func (w *wizardSection) fixProblem(p completeness.Problem) {
	switch {
	case p.Field != "":
		w.goToThen(stepForm, func() { w.form.focusField(p.Field) })
	case p.Attachment != "":
		w.goTo(stepAttachments)
	default:
		w.goTo(stepForm)
	}
}

// --- step 6: signature and protocol ----------------------------------------

// finishPage prints the form, takes the signed copy, protocols, gives the
// receipt and forwards the application to the office.
type finishPage struct {
	w          *wizardSection
	content    fyne.CanvasObject
	printBtn   *button
	signedAdd  *button
	signedChk  *check
	signedBox  *fyne.Container
	protoBtn   *button
	protoBusy  *widget.ProgressBarInfinite
	result     *widget.Label
	receiptBtn *button
	forwardBtn *button
	forwarded  *widget.Label
	scroll     *container.Scroll
	reg        *store.Registration
}

func newFinishPage(w *wizardSection) *finishPage {
	f := &finishPage{w: w}
	k := w.u.keys
	f.printBtn = newButton(k, lang.L("wizard.print"), theme.DocumentPrintIcon(), f.print)
	f.signedChk = newCheck(k, lang.L("wizard.att.declared"), nil)
	f.signedAdd = newButton(k, lang.L("wizard.signed.add"), theme.FileIcon(), f.chooseSigned)
	f.signedBox = container.NewVBox()
	f.protoBtn = newButton(k, lang.L("wizard.protocol"), theme.MailSendIcon(), f.protocol)
	f.protoBtn.Importance = widget.HighImportance
	f.protoBusy = progress()
	f.result = textLabel("")
	f.result.TextStyle.Bold = true
	f.result.SizeName = theme.SizeNameSubHeadingText
	f.result.Hide()
	f.receiptBtn = newButton(k, lang.L("wizard.receipt"), theme.DocumentIcon(), f.receipt)
	f.forwardBtn = newButton(k, lang.L("wizard.forward"), theme.MailForwardIcon(), f.forward)
	f.forwarded = textLabel("")
	f.forwarded.Importance = widget.SuccessImportance
	f.forwarded.Hide()

	printHelp := textLabel(lang.L("wizard.print.help"))
	printHelp.Importance = widget.LowImportance
	protoHelp := textLabel(lang.L("wizard.protocol.help"))
	protoHelp.Importance = widget.LowImportance
	box := container.NewVBox(
		heading(lang.L("wizard.print.title")), printHelp, container.NewHBox(f.printBtn),
		widget.NewSeparator(),
		heading(lang.L("wizard.signed.title")), f.signedBox, container.NewHBox(f.signedAdd, f.signedChk),
		widget.NewSeparator(),
		heading(lang.L("wizard.protocol.title")), protoHelp, container.NewHBox(f.protoBtn), f.protoBusy, f.result,
		container.NewHBox(f.receiptBtn, f.forwardBtn), f.forwarded,
	)
	f.scroll = container.NewVScroll(container.NewPadded(box))
	f.content = f.scroll
	f.refresh()
	return f
}

// refresh enables what the application's state allows.
func (f *finishPage) refresh() {
	w := f.w
	editable := w.editable() && !w.working
	var objs []fyne.CanvasObject
	if f.w.attPage != nil {
		objs = f.w.attPage.filesOf(desk.SignedFormType, editable)
	}
	if len(objs) == 0 {
		objs = append(objs, textLabel(lang.L("wizard.signed.none")))
	}
	f.signedBox.Objects = objs
	f.signedBox.Refresh()
	for _, b := range []*button{f.signedAdd, f.protoBtn} {
		if editable {
			b.Enable()
		} else {
			b.Disable()
		}
	}
	if editable {
		f.signedChk.Enable()
	} else {
		f.signedChk.Disable()
	}
	if f.reg != nil && (f.reg.Number > 0 || f.reg.EmergencyNumber > 0) {
		f.receiptBtn.Enable()
	} else {
		f.receiptBtn.Disable()
	}
	if w.app != nil && w.app.State == application.Protocollata {
		f.forwardBtn.Enable()
	} else {
		f.forwardBtn.Disable()
	}
}

// print opens the application form for the citizen to sign.
func (f *finishPage) print() {
	w := f.w
	u := w.u
	app := w.app
	w.flush(func(err error) {
		if err != nil {
			u.showError(err)
			return
		}
		sess := u.sess
		u.openPDF("modulo", lang.L("pdf.form"), func(ctx context.Context, out io.Writer) error {
			return u.svc.ApplicationFormPDF(ctx, sess, app.ID, out)
		}, nil)
	})
}

// chooseSigned attaches the signed copy of the form.
func (f *finishPage) chooseSigned() {
	w := f.w
	req := desk.SignedFormReq
	for _, r := range w.attPage.allReqs() {
		if r.Type == desk.SignedFormType {
			req = r
		}
	}
	d := dialog.NewFileOpen(func(rc fyne.URIReadCloser, err error) {
		if err != nil {
			w.u.showError(err)
			return
		}
		if rc != nil {
			w.attPage.add(req, fileOfReader(rc, "wizard.att.source.dialog"), f.signedChk.Checked)
		}
	}, w.u.win)
	if flt := extensionFilter(req.Formats); flt != nil {
		d.SetFilter(flt)
	}
	d.Resize(fyne.NewSize(860, 560))
	w.u.openDialog(d)
}

// protocolOutcome is what protocolling returned.
type protocolOutcome struct {
	problems []completeness.Problem
	res      desk.ProtocolResult
}

// protocol checks the application once more and protocols it in the
// background: definitive number online, emergency register offline.
func (f *finishPage) protocol() {
	w := f.w
	u := w.u
	if !w.editable() || w.working {
		return
	}
	app := w.app
	w.setWorking(true, lang.L("wizard.protocol.running"))
	f.protoBusy.Show()
	f.refresh()
	w.flush(func(err error) {
		if err != nil {
			w.setWorking(false, "")
			f.protoBusy.Hide()
			f.refresh()
			u.showError(err)
			return
		}
		runAsync(u, func(ctx context.Context) (protocolOutcome, error) {
			var out protocolOutcome
			ps, err := u.svc.MarkComplete(ctx, u.sess, app.ID)
			if err != nil || len(ps) > 0 {
				out.problems = ps
				return out, err
			}
			out.res, err = u.svc.ProtocolApplication(ctx, u.sess, app.ID)
			return out, err
		}, func(out protocolOutcome, err error) {
			w.setWorking(false, "")
			f.protoBusy.Hide()
			if w.app != app {
				return
			}
			if err != nil {
				f.refresh()
				u.showError(err)
				return
			}
			if len(out.problems) > 0 {
				w.setProblems(out.problems)
				w.info.SetText(lang.L("wizard.check.problems", map[string]any{"Count": len(out.problems)}))
				w.goTo(stepCheck)
				return
			}
			app.State = application.Protocollata
			reg := out.res.Registration
			f.reg = &reg
			f.result.SetText(protocolResultText(out.res, u.syncState))
			if out.res.Emergency || out.res.Pending {
				f.result.Importance = widget.WarningImportance
			} else {
				f.result.Importance = widget.SuccessImportance
			}
			f.result.Show()
			f.result.Refresh()
			f.scroll.ScrollToBottom() // the number, the receipt and forwarding
			w.form.setEditable(false)
			w.renderCheck()
			w.attPage.refresh()
			f.refresh()
			w.updateNav()
			w.info.SetText(lang.L("wizard.protocol.ok"))
			u.setStatus(f.result.Text)
			if u.shell != nil && u.shell.citizens != nil {
				u.shell.citizens.applicationsChanged(app.CitizenID)
			}
		})
	})
}

// protocolResultText says clearly which number the application got. An
// emergency registration is dated by this workstation's clock: when the
// last sync found it off (st), the operator reads so with the number.
func protocolResultText(res desk.ProtocolResult, st sync.State) string {
	when := fullInstant(res.Registration.RegisteredAt)
	switch {
	case res.Pending && st.NumberingHeld:
		return lang.L("wizard.protocol.pending.held", map[string]any{"When": when})
	case res.Pending:
		return lang.L("wizard.protocol.pending", map[string]any{"When": when})
	case res.Emergency:
		text := lang.L("wizard.protocol.emergency", map[string]any{"Label": res.Label, "When": when})
		if st.ClockKnown && sync.ClockOff(st.ClockOffset) {
			text += "\n" + lang.L("protocol.clock.off", clockWords(st.ClockOffset))
		}
		return text
	}
	return lang.L("wizard.protocol.definitive", map[string]any{"Label": res.Label, "When": when})
}

// receipt opens the protocol receipt.
func (f *finishPage) receipt() {
	if f.reg == nil {
		return
	}
	u := f.w.u
	id, sess := f.reg.ID, u.sess
	u.openPDF("ricevuta", lang.L("pdf.receipt"), func(ctx context.Context, out io.Writer) error {
		return u.svc.ReceiptPDF(ctx, sess, id, out)
	}, nil)
}

// forward sends the protocolled application to the competent office.
func (f *finishPage) forward() {
	w := f.w
	u := w.u
	app := w.app
	if app == nil || app.State != application.Protocollata {
		return
	}
	office := officeName(w.cat, w.proc.OfficeID)
	f.forwardBtn.Disable()
	runAsync(u, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, u.svc.Forward(ctx, u.sess, app.ID, "")
	}, func(_ struct{}, err error) {
		if err != nil {
			f.refresh()
			u.showError(err)
			return
		}
		app.State = application.Inoltrata
		f.forwarded.SetText(lang.L("wizard.forwarded", map[string]any{"Office": office}))
		f.forwarded.Show()
		f.refresh()
		w.updateNav()
		u.setStatus(f.forwarded.Text)
		if u.shell != nil && u.shell.citizens != nil {
			u.shell.citizens.applicationsChanged(app.CitizenID)
		}
	})
}
