package ui

import (
	"context"
	"errors"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"sportello/internal/application"
	"sportello/internal/auth"
	"sportello/internal/citizen"
	"sportello/internal/codicefiscale"
	"sportello/internal/desk"
)

// appRow is one line of a citizen's applications.
type appRow struct {
	ID    string
	State application.State
	Line  string
}

// loadApplications lists a citizen's applications as lines to show.
func loadApplications(ctx context.Context, svc *desk.Service, sess desk.Session, citizenID string) ([]appRow, error) {
	sums, err := svc.ApplicationsOfCitizen(ctx, sess, citizenID)
	if err != nil {
		return nil, err
	}
	rows := make([]appRow, 0, len(sums))
	for _, a := range sums {
		rows = append(rows, appRow{ID: a.ID, State: a.State, Line: applicationLine(a.ProcedureName, a.State, a.ProtocolLabel, a.Emergency, a.ProtocolDate, a.CreatedAt)})
	}
	return rows, nil
}

// applicationLine is "procedure — state — protocol — date": the date is the
// registration's when protocolled, the creation's otherwise.
func applicationLine(procedure string, st application.State, protocolLabel string, emergency bool, protocolDate string, created time.Time) string {
	prot := lang.L("app.not.protocolled")
	day := displayDay(created)
	if protocolLabel != "" {
		prot = lang.L("app.protocol", map[string]any{"Label": protocolLabel})
		if emergency {
			prot += " " + lang.L("app.emergency")
		}
		if protocolDate != "" {
			day = displayDate(protocolDate)
		}
	}
	return strings.Join([]string{procedure, st.Label(), prot, day}, " — ")
}

// choice maps a stored value to the translation key of its label.
type choice struct{ value, key string }

var sexChoices = []choice{{"M", "sex.male"}, {"F", "sex.female"}}

var documentChoices = []choice{
	{"carta_identita", "doc.type.id.card"},
	{"passaporto", "doc.type.passport"},
	{"patente", "doc.type.driving"},
	{"permesso_soggiorno", "doc.type.residence.permit"},
	{"altro", "doc.type.other"},
}

func choiceLabels(cs []choice) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = lang.L(c.key)
	}
	return out
}

// choiceLabel is the label of value (the value itself when unknown).
func choiceLabel(cs []choice, value string) string {
	for _, c := range cs {
		if c.value == value {
			return lang.L(c.key)
		}
	}
	return value
}

// choiceValue is the value of label (the label itself when unknown).
func choiceValue(cs []choice, label string) string {
	for _, c := range cs {
		if lang.L(c.key) == label {
			return c.value
		}
	}
	return label
}

// citizenForm is the citizen's page: the registry form and the applications.
type citizenForm struct {
	s       *citizensSection
	orig    citizen.Citizen // as last loaded or saved; fields not on the form are kept
	content fyne.CanvasObject

	title     *widget.Label
	problems  *widget.Label
	saveBtn   *button
	exportBtn *button
	newAppBtn *button
	saving    *widget.ProgressBarInfinite
	busy      bool

	surname, name, cf         *entry
	cfInfo                    *widget.Label
	sex                       *selectBox
	birthDate, birthPlace     *entry
	placeCode                 *entry
	phone, email, pec         *entry
	street, cap, city, prov   *entry
	docType                   *selectBox
	docNumber, docExpiry      *entry
	privacy                   *check
	privacyInfo               *widget.Label
	autoDate, autoSex, autoPC string // values last filled in from the codice fiscale

	apps     []appRow
	appsList *list
	appsInfo *widget.Label
}

func newCitizenForm(s *citizensSection, c citizen.Citizen) *citizenForm {
	k := s.u.keys
	f := &citizenForm{s: s, orig: c}

	f.title = heading("")
	f.title.SizeName = theme.SizeNameSubHeadingText
	f.problems = textLabel("")
	f.problems.Importance = widget.DangerImportance
	f.problems.Hide()

	text := func(placeholder string) *entry {
		e := newEntry(k)
		if placeholder != "" {
			e.SetPlaceHolder(lang.L(placeholder))
		}
		return e
	}
	f.surname, f.name = text(""), text("")
	f.cf = text("citizen.cf.placeholder")
	f.cfInfo = textLabel("")
	f.cfInfo.Importance = widget.LowImportance
	f.cf.OnChanged = f.cfChanged
	f.sex = newSelect(k, choiceLabels(sexChoices), nil)
	f.sex.PlaceHolder = lang.L("select.none")
	f.birthDate = newDateEntry(k)
	f.birthPlace = text("")
	f.placeCode = text("citizen.birth.code.placeholder")
	f.phone, f.email, f.pec = text(""), text(""), text("")
	f.street, f.cap, f.city, f.prov = text(""), text(""), text(""), text("citizen.province.placeholder")
	f.docType = newSelect(k, choiceLabels(documentChoices), nil)
	f.docType.PlaceHolder = lang.L("select.none")
	f.docNumber, f.docExpiry = text(""), newDateEntry(k)
	f.privacy = newCheck(k, lang.L("citizen.privacy.consent"), nil)
	f.privacyInfo = widget.NewLabel("")
	f.privacyInfo.Importance = widget.LowImportance

	f.saveBtn = newButton(k, lang.L("citizen.save"), theme.DocumentSaveIcon(), f.save)
	f.saveBtn.Importance = widget.HighImportance
	f.exportBtn = newButton(k, lang.L("citizen.export"), theme.DownloadIcon(), func() { s.chooseExport(f.orig) })
	f.newAppBtn = newButton(k, lang.L("citizen.new.application"), theme.DocumentCreateIcon(), f.newApplication)
	if !s.u.sess.Role.Can(auth.FileApplications) {
		f.newAppBtn.Hide()
	}
	f.saving = progress()

	item := func(key string, o fyne.CanvasObject) *widget.FormItem { return widget.NewFormItem(lang.L(key), o) }
	registry := widget.NewForm(
		item("citizen.surname", f.surname),
		item("citizen.name", f.name),
		item("citizen.cf", container.NewVBox(f.cf, f.cfInfo)),
		item("citizen.sex", f.sex),
		item("citizen.birth.date", f.birthDate),
		item("citizen.birth.place", f.birthPlace),
		item("citizen.birth.code", f.placeCode),
	)
	contacts := widget.NewForm(
		item("citizen.phone", f.phone),
		item("citizen.email", f.email),
		item("citizen.pec", f.pec),
		item("citizen.street", f.street),
		item("citizen.cap", f.cap),
		item("citizen.city", f.city),
		item("citizen.province", f.prov),
	)
	document := widget.NewForm(
		item("citizen.doc.type", f.docType),
		item("citizen.doc.number", f.docNumber),
		item("citizen.doc.expiry", f.docExpiry),
	)
	fields := container.NewVBox(
		container.NewGridWithColumns(2,
			container.NewVBox(heading(lang.L("citizen.section.registry")), registry),
			container.NewVBox(heading(lang.L("citizen.section.contacts")), contacts)),
		container.NewGridWithColumns(2,
			container.NewVBox(heading(lang.L("citizen.section.document")), document),
			container.NewVBox(heading(lang.L("citizen.section.privacy")), f.privacy, f.privacyInfo)),
	)
	actions := container.NewBorder(nil, nil, nil, container.NewHBox(f.exportBtn, f.saveBtn), f.saving)
	formPart := container.NewBorder(nil, container.NewVBox(widget.NewSeparator(), actions), nil, nil, container.NewVScroll(fields))

	f.appsInfo = widget.NewLabel("")
	f.appsInfo.Importance = widget.LowImportance
	f.appsList = newList(k,
		func() int { return len(f.apps) },
		func() fyne.CanvasObject {
			l := widget.NewLabel("")
			l.Truncation = fyne.TextTruncateEllipsis
			return l
		},
		func(id widget.ListItemID, o fyne.CanvasObject) {
			if id < len(f.apps) {
				o.(*widget.Label).SetText(f.apps[id].Line)
			}
		})
	f.appsList.OnSelected = func(id widget.ListItemID) {
		if id >= 0 && id < len(f.apps) {
			f.appsList.UnselectAll()
			f.openApplication(f.apps[id])
		}
	}
	appsHead := container.NewBorder(nil, nil, heading(lang.L("citizen.applications")), f.newAppBtn)
	appsPart := container.NewBorder(container.NewVBox(widget.NewSeparator(), appsHead, f.appsInfo), nil, nil, nil, f.appsList)

	split := container.NewVSplit(formPart, appsPart)
	split.Offset = 0.74
	f.content = container.NewBorder(container.NewVBox(f.title, f.problems), nil, nil, nil, split)

	f.fill(c)
	return f
}

// fill shows c in the form.
func (f *citizenForm) fill(c citizen.Citizen) {
	f.orig = c
	f.autoDate, f.autoSex, f.autoPC = "", "", ""
	f.cf.SetText(c.CodiceFiscale)
	f.surname.SetText(c.Surname)
	f.name.SetText(c.Name)
	setChoice(f.sex, sexChoices, c.Sex)
	f.birthDate.SetText(displayDate(c.BirthDate))
	f.birthPlace.SetText(c.BirthPlace)
	f.placeCode.SetText(c.BirthPlaceCode)
	f.phone.SetText(c.Phone)
	f.email.SetText(c.Email)
	f.pec.SetText(c.PEC)
	f.street.SetText(c.Address.Street)
	f.cap.SetText(c.Address.CAP)
	f.city.SetText(c.Address.City)
	f.prov.SetText(c.Address.Province)
	setChoice(f.docType, documentChoices, c.Document.Type)
	f.docNumber.SetText(c.Document.Number)
	f.docExpiry.SetText(displayDate(c.Document.ExpiresOn))
	f.privacy.SetChecked(c.PrivacyConsent)
	f.privacyInfo.SetText(privacyText(c))
	f.autoDate, f.autoSex, f.autoPC = "", "", ""

	if c.ID == "" {
		f.title.SetText(lang.L("citizen.new.title"))
		f.exportBtn.Disable()
		f.newAppBtn.Disable()
	} else {
		f.title.SetText(c.FullName())
		f.exportBtn.Enable()
		f.newAppBtn.Enable()
	}
}

// setChoice selects the label of value, adding it when it is not a known choice.
func setChoice(s *selectBox, cs []choice, value string) {
	if value == "" {
		s.ClearSelected()
		return
	}
	label := choiceLabel(cs, value)
	found := false
	for _, o := range s.Options {
		found = found || o == label
	}
	if !found {
		s.SetOptions(append(append([]string(nil), s.Options...), label))
	}
	s.SetSelected(label)
}

func privacyText(c citizen.Citizen) string {
	if c.PrivacyConsentAt == "" {
		return ""
	}
	t, err := time.Parse(time.RFC3339Nano, c.PrivacyConsentAt)
	if err != nil {
		return ""
	}
	key := "citizen.privacy.given"
	if !c.PrivacyConsent {
		key = "citizen.privacy.withdrawn"
	}
	return lang.L(key, map[string]any{"Date": displayDay(t)})
}

// collect returns the record as typed: the loaded record with the form's fields.
func (f *citizenForm) collect() citizen.Citizen {
	c := f.orig
	c.Surname = strings.TrimSpace(f.surname.Text)
	c.Name = strings.TrimSpace(f.name.Text)
	c.CodiceFiscale = citizen.NormalizeCodiceFiscale(f.cf.Text)
	c.Sex = choiceValue(sexChoices, f.sex.Selected)
	c.BirthDate = isoDate(f.birthDate.Text)
	c.BirthPlace = strings.TrimSpace(f.birthPlace.Text)
	c.BirthPlaceCode = strings.ToUpper(strings.TrimSpace(f.placeCode.Text))
	c.Phone = strings.TrimSpace(f.phone.Text)
	c.Email = strings.TrimSpace(f.email.Text)
	c.PEC = strings.TrimSpace(f.pec.Text)
	c.Address.Street = strings.TrimSpace(f.street.Text)
	c.Address.CAP = strings.TrimSpace(f.cap.Text)
	c.Address.City = strings.TrimSpace(f.city.Text)
	c.Address.Province = strings.TrimSpace(f.prov.Text)
	c.Document.Type = choiceValue(documentChoices, f.docType.Selected)
	c.Document.Number = strings.TrimSpace(f.docNumber.Text)
	c.Document.ExpiresOn = isoDate(f.docExpiry.Text)
	c.PrivacyConsent = f.privacy.Checked
	return c
}

// dirty reports whether the form differs from the loaded record.
func (f *citizenForm) dirty() bool { return f.collect() != f.orig }

// cfChanged validates the codice fiscale as it is typed and, when it is
// valid, fills in the birth data it determines (where still empty).
func (f *citizenForm) cfChanged(text string) {
	code := citizen.NormalizeCodiceFiscale(text)
	if code == "" {
		f.setCFInfo("", widget.LowImportance)
		return
	}
	info, err := codicefiscale.Parse(code)
	if err != nil {
		imp := widget.DangerImportance
		var ce *codicefiscale.Error
		if errors.As(err, &ce) && ce.Reason == codicefiscale.ReasonLength && len(code) < 16 {
			imp = widget.LowImportance // still being typed
		}
		f.setCFInfo(err.Error(), imp)
		return
	}
	if info.Kind == codicefiscale.Temporary {
		f.setCFInfo(lang.L("citizen.cf.temporary"), widget.SuccessImportance)
		return
	}
	born := info.BirthDate.Format("02/01/2006")
	msg := lang.L("citizen.cf.derived", map[string]any{"Date": born, "Place": info.PlaceCode})
	if info.Omocodia {
		msg += " " + lang.L("citizen.cf.omocodia")
	}
	f.setCFInfo(msg, widget.SuccessImportance)

	fillIfFree := func(e *entry, last *string, v string) {
		if t := strings.TrimSpace(e.Text); t == "" || t == *last {
			e.SetText(v)
			*last = v
		}
	}
	fillIfFree(f.birthDate, &f.autoDate, born)
	fillIfFree(f.placeCode, &f.autoPC, info.PlaceCode)
	if sexLabel := choiceLabel(sexChoices, info.Sex); f.sex.Selected == "" || f.sex.Selected == f.autoSex {
		f.sex.SetSelected(sexLabel)
		f.autoSex = sexLabel
	}
}

func (f *citizenForm) setCFInfo(msg string, imp widget.Importance) {
	f.cfInfo.Importance = imp
	f.cfInfo.SetText(msg)
}

// save stores the record through the service and shows its problems, if any.
func (f *citizenForm) save() {
	if f.busy {
		return
	}
	c := f.collect()
	f.busy = true
	f.saveBtn.Disable()
	f.saving.Show()
	u := f.s.u
	runAsync(u, func(ctx context.Context) (citizen.Citizen, error) {
		return u.svc.SaveCitizen(ctx, u.sess, c)
	}, func(saved citizen.Citizen, err error) {
		f.busy = false
		f.saveBtn.Enable()
		f.saving.Hide()
		if err != nil {
			logUnexpected(err)
			f.problems.SetText(desk.UserMessage(err))
			f.problems.Show()
			u.setStatus(lang.L("citizen.not.saved"))
			return
		}
		f.problems.Hide()
		if f.s.form != f {
			u.setStatus(lang.L("citizen.saved", map[string]any{"Name": saved.FullName()}))
			return // another page is open by now
		}
		f.fill(saved)
		f.setApplications(f.apps)
		f.s.saved(saved)
	})
}

// setApplications shows the citizen's applications.
func (f *citizenForm) setApplications(rows []appRow) {
	f.apps = rows
	f.appsList.Refresh()
	switch {
	case f.orig.ID == "":
		f.appsInfo.SetText(lang.L("citizen.applications.new"))
	case len(rows) == 0:
		f.appsInfo.SetText(lang.L("citizen.applications.none"))
	default:
		f.appsInfo.SetText(lang.L("citizen.applications.count", map[string]any{"Count": len(rows)}))
	}
}

// newApplication starts the wizard for this citizen.
func (f *citizenForm) newApplication() {
	u := f.s.u
	if f.orig.ID == "" || u.shell == nil || u.shell.wizard == nil {
		return
	}
	c := f.orig
	u.confirmDiscard(func() { u.shell.wizard.startFor(c) }, nil)
}

// openApplication opens an application of the list: the wizard while it can
// still be changed, the detail otherwise.
func (f *citizenForm) openApplication(r appRow) {
	u := f.s.u
	if r.State.Editable() && u.shell != nil && u.shell.wizard != nil {
		u.confirmDiscard(func() { u.shell.wizard.resume(r.ID) }, nil)
		return
	}
	u.showApplication(r.ID)
}
