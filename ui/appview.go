package ui

import (
	"context"
	"errors"
	"io"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"sportello/internal/application"
	"sportello/internal/auth"
	"sportello/internal/catalog"
	"sportello/internal/citizen"
	"sportello/internal/desk"
	"sportello/store"
)

// appDetail is everything shown about an application that is no longer a draft.
type appDetail struct {
	app       application.Application
	proc      catalog.Procedure
	cat       *catalog.Catalog
	applicant citizen.Citizen
	delegate  *citizen.Citizen
	history   []application.HistoryEntry
	atts      []application.Attachment
	reg       *store.Registration
}

func loadAppDetail(ctx context.Context, u *UI, id string) (appDetail, error) {
	var d appDetail
	var err error
	if d.app, err = u.svc.Application(ctx, u.sess, id); err != nil {
		return d, err
	}
	if d.cat, err = u.svc.Catalog(ctx); err != nil {
		return d, err
	}
	d.proc, _ = d.cat.Procedure(d.app.ProcedureID)
	if d.proc.ID == "" {
		d.proc = catalog.Procedure{ID: d.app.ProcedureID, Name: d.app.ProcedureID}
	}
	if d.applicant, err = u.svc.Citizen(ctx, d.app.CitizenID); err != nil {
		return d, err
	}
	if d.app.DelegateID != "" {
		if c, err := u.svc.Citizen(ctx, d.app.DelegateID); err == nil {
			d.delegate = &c
		}
	}
	if d.history, err = u.svc.History(ctx, u.sess, id); err != nil {
		return d, err
	}
	if d.atts, err = u.svc.Attachments(ctx, u.sess, id); err != nil {
		return d, err
	}
	reg, err := u.svc.RegistrationOfApplication(ctx, u.sess, id)
	switch {
	case err == nil:
		d.reg = &reg
	case !errors.Is(err, store.ErrNotFound):
		return d, err
	}
	return d, nil
}

// protocolLine says the number an application's registration has.
func protocolLine(r store.Registration) string {
	when := fullInstant(r.RegisteredAt)
	var s string
	switch {
	case r.Number > 0:
		s = lang.L("protocol.number.definitive", map[string]any{"Label": r.Label(), "When": when})
		if r.EmergencyNumber > 0 {
			s += " " + lang.L("protocol.number.was.emergency", map[string]any{"Label": r.EmergencyLabel()})
		}
	case r.EmergencyNumber > 0:
		s = lang.L("protocol.number.emergency", map[string]any{"Label": r.EmergencyLabel(), "When": when})
	default:
		s = lang.L("protocol.number.pending", map[string]any{"When": when})
	}
	if r.Annulled {
		s += " — " + lang.L("protocol.annulled", map[string]any{"Reason": r.AnnulReason})
	}
	return s
}

// showApplication opens the detail of an application: state, protocol
// numbers, attachments, history, receipt and forwarding.
func (u *UI) showApplication(id string) {
	runAsync(u, func(ctx context.Context) (appDetail, error) {
		return loadAppDetail(ctx, u, id)
	}, func(d appDetail, err error) {
		if err != nil {
			u.showError(err)
			return
		}
		u.appDetailDialog(d)
	})
}

func (u *UI) appDetailDialog(d appDetail) {
	k := u.keys
	info := widget.NewForm()
	add := func(key, v string) {
		if strings.TrimSpace(v) != "" {
			info.Append(lang.L(key), textLabel(v))
		}
	}
	add("appview.procedure", d.proc.Name)
	add("appview.applicant", citizenLine(d.applicant))
	if d.delegate != nil {
		add("appview.delegate", citizenLine(*d.delegate))
	}
	add("appview.office", officeName(d.cat, d.app.OfficeID))
	add("appview.state", d.app.State.Label())
	add("appview.created", fullInstant(d.app.CreatedAt))
	prot := lang.L("app.not.protocolled")
	if d.reg != nil {
		prot = protocolLine(*d.reg)
	}
	add("appview.protocol", prot)

	box := container.NewVBox(info, widget.NewSeparator(), heading(lang.L("appview.attachments")))
	if len(d.atts) == 0 {
		box.Add(textLabel(lang.L("appview.attachments.none")))
	}
	for _, x := range d.atts {
		label := x.DocType
		for _, r := range append(append([]catalog.AttachmentReq(nil), d.proc.Attachments...), desk.SignedFormReq) {
			if r.Type == x.DocType {
				label = r.Label
			}
		}
		box.Add(textLabel("• " + label + ": " + attachmentDesc(x)))
	}
	box.Add(widget.NewSeparator())
	box.Add(heading(lang.L("appview.history")))
	for _, h := range d.history {
		line := fullInstant(h.At) + " — "
		if h.From != "" {
			line += h.From.Label() + " → "
		}
		line += h.To.Label()
		if h.Note != "" {
			line += " — " + h.Note
		}
		box.Add(textLabel(line))
	}

	receipt := newButton(k, lang.L("wizard.receipt"), theme.DocumentIcon(), nil)
	forward := newButton(k, lang.L("wizard.forward"), theme.MailForwardIcon(), nil)
	status := textLabel("")
	status.Importance = widget.SuccessImportance
	status.Hide()
	if d.reg == nil || (d.reg.Number == 0 && d.reg.EmergencyNumber == 0) {
		receipt.Disable()
	}
	if d.app.State != application.Protocollata || !u.sess.Role.Can(auth.FileApplications) {
		forward.Disable()
	}
	receipt.OnTapped = func() {
		id, sess := d.reg.ID, u.sess
		u.openPDF("ricevuta", lang.L("pdf.receipt"), func(ctx context.Context, w io.Writer) error {
			return u.svc.ReceiptPDF(ctx, sess, id, w)
		}, nil)
	}
	forward.OnTapped = func() {
		forward.Disable()
		runAsync(u, func(ctx context.Context) (struct{}, error) {
			return struct{}{}, u.svc.Forward(ctx, u.sess, d.app.ID, "")
		}, func(_ struct{}, err error) {
			if err != nil {
				forward.Enable()
				u.showError(err)
				return
			}
			status.SetText(lang.L("wizard.forwarded", map[string]any{"Office": officeName(d.cat, d.app.OfficeID)}))
			status.Show()
			u.setStatus(status.Text)
			if u.shell != nil && u.shell.citizens != nil {
				u.shell.citizens.applicationsChanged(d.app.CitizenID)
			}
		})
	}
	scroll := container.NewVScroll(container.NewPadded(box))
	scroll.SetMinSize(fyne.NewSize(780, 440))
	content := container.NewBorder(nil, container.NewVBox(widget.NewSeparator(), container.NewHBox(receipt, forward), status), nil, nil, scroll)
	dlg := dialog.NewCustom(d.proc.Name+" — "+d.applicant.FullName(), lang.L("dialog.close"), content, u.win)
	u.openDialog(dlg)
}
