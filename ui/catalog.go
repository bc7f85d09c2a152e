package ui

import (
	"context"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"sportello/internal/catalog"
	"sportello/internal/desk"
)

// catalogSection is the knowledge base: the procedures, searched by word
// (accent-insensitive), and what the desk tells the citizen about each.
type catalogSection struct {
	u    *UI
	item *container.TabItem

	cat     *catalog.Catalog
	search  *entry
	loading *widget.ProgressBarInfinite
	info    *widget.Label
	list    *list
	results []catalog.Procedure

	detail *fyne.Container
	scroll *container.Scroll
	shown  string // ID of the procedure shown
}

func newCatalogSection(u *UI) *catalogSection {
	s := &catalogSection{u: u}
	s.search = newEntry(u.keys)
	s.search.SetPlaceHolder(lang.L("catalog.search.placeholder"))
	s.search.ActionItem = widget.NewIcon(theme.SearchIcon())
	s.search.OnChanged = func(string) { s.filter() }
	s.search.OnSubmitted = func(string) {
		if len(s.results) > 0 {
			s.list.Select(0)
		}
	}
	s.search.onDown = func() {
		if len(s.results) > 0 {
			u.win.Canvas().Focus(s.list)
		}
	}
	s.loading = progress()
	s.info = widget.NewLabel("")
	s.info.Importance = widget.LowImportance

	s.list = newList(u.keys,
		func() int { return len(s.results) },
		func() fyne.CanvasObject {
			name := widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
			name.Truncation = fyne.TextTruncateEllipsis
			sub := widget.NewLabel("")
			sub.Truncation = fyne.TextTruncateEllipsis
			sub.SizeName = theme.SizeNameCaptionText
			return container.NewVBox(name, sub)
		},
		func(id widget.ListItemID, o fyne.CanvasObject) {
			if id >= len(s.results) {
				return
			}
			p := s.results[id]
			box := o.(*fyne.Container)
			box.Objects[0].(*widget.Label).SetText(p.Name)
			box.Objects[1].(*widget.Label).SetText(s.subtitle(p))
		})
	s.list.OnSelected = func(id widget.ListItemID) {
		if id >= 0 && id < len(s.results) {
			s.showProcedure(s.results[id])
		}
	}

	left := container.NewBorder(container.NewVBox(s.search, s.loading, s.info), nil, nil, nil, s.list)
	s.detail = container.NewVBox(placeholder(lang.L("catalog.none.selected")))
	s.scroll = container.NewVScroll(container.NewPadded(s.detail))
	split := container.NewHSplit(left, s.scroll)
	split.Offset = 0.38
	s.item = container.NewTabItemWithIcon(lang.L("tab.catalog"), theme.ListIcon(), split)
	s.load()
	return s
}

func (s *catalogSection) tab() *container.TabItem { return s.item }

func (s *catalogSection) focusSearch() {
	s.u.win.Canvas().Focus(s.search)
	s.search.Entry.TypedShortcut(&fyne.ShortcutSelectAll{})
}

// load reads the catalog in the background.
func (s *catalogSection) load() {
	s.loading.Show()
	runAsync(s.u, func(ctx context.Context) (*catalog.Catalog, error) {
		return s.u.svc.Catalog(ctx)
	}, func(c *catalog.Catalog, err error) {
		s.loading.Hide()
		if err != nil {
			logUnexpected(err)
			s.info.SetText(desk.UserMessage(err))
			return
		}
		s.cat = c
		s.filter()
	})
}

// filter searches the catalog for the typed words (in memory, immediate).
func (s *catalogSection) filter() {
	if s.cat == nil {
		return
	}
	s.results = s.cat.Search(s.search.Text)
	s.list.UnselectAll()
	s.list.Refresh()
	for i, p := range s.results {
		if p.ID == s.shown {
			s.list.Select(i)
			break
		}
	}
	if len(s.results) == 0 {
		s.info.SetText(lang.L("catalog.search.none"))
	} else {
		s.info.SetText(lang.L("catalog.search.count", map[string]any{"Count": len(s.results)}))
	}
}

func (s *catalogSection) subtitle(p catalog.Procedure) string {
	parts := []string{kindLabel(p.Kind)}
	if p.Category != "" {
		parts = append(parts, p.Category)
	}
	if p.Confidential {
		parts = append(parts, lang.L("catalog.confidential.short"))
	}
	return strings.Join(parts, " · ")
}

func kindLabel(k catalog.Kind) string {
	switch k {
	case catalog.KindIstanza:
		return lang.L("kind.istanza")
	case catalog.KindSegnalazione:
		return lang.L("kind.segnalazione")
	case catalog.KindReclamo:
		return lang.L("kind.reclamo")
	case catalog.KindInformazione:
		return lang.L("kind.informazione")
	}
	return string(k)
}

func fieldTypeLabel(t catalog.FieldType) string {
	switch t {
	case catalog.Text, catalog.LongText, catalog.Number, catalog.Date, catalog.CodiceFiscale, catalog.Email,
		catalog.PEC, catalog.Phone, catalog.IBAN, catalog.CAP, catalog.Choice, catalog.Checkbox:
		return lang.L("field.type." + string(t))
	}
	return string(t)
}

func formatLabel(f catalog.Format) string {
	if f == catalog.FormatPDFA {
		return "PDF/A"
	}
	return strings.ToUpper(string(f))
}

func termText(days int) string {
	if days <= 0 {
		return lang.L("catalog.term.immediate")
	}
	return lang.L("catalog.term.days", map[string]any{"Days": days})
}

func stampText(sd catalog.StampDuty) string {
	if !sd.Required {
		return lang.L("catalog.stamp.none")
	}
	n := sd.Count
	if n <= 0 {
		n = 1
	}
	if sd.AmountCents <= 0 {
		return lang.L("catalog.stamp.required")
	}
	if n == 1 {
		return lang.L("catalog.stamp.one", map[string]any{"Amount": formatEuro(sd.AmountCents)})
	}
	return lang.L("catalog.stamp.many", map[string]any{"Count": n, "Amount": formatEuro(sd.AmountCents)})
}

func feeText(p catalog.Procedure) string {
	if p.FeeCents <= 0 {
		return lang.L("catalog.fee.none")
	}
	t := formatEuro(p.FeeCents)
	if p.FeeReason != "" {
		t += " — " + p.FeeReason
	}
	return t
}

func attachmentLine(a catalog.AttachmentReq) string {
	parts := []string{a.Label}
	switch {
	case a.Required:
		parts = append(parts, lang.L("catalog.required"))
	case a.RequiredIf != nil:
		parts = append(parts, lang.L("catalog.required.if"))
	default:
		parts = append(parts, lang.L("catalog.optional"))
	}
	if len(a.Formats) > 0 {
		fs := make([]string, len(a.Formats))
		for i, f := range a.Formats {
			fs[i] = formatLabel(f)
		}
		parts = append(parts, lang.L("catalog.formats", map[string]any{"Formats": strings.Join(fs, ", ")}))
	}
	if a.MaxBytes > 0 {
		parts = append(parts, lang.L("catalog.max.size", map[string]any{"Size": formatSize(a.MaxBytes)}))
	}
	if a.MustBeSigned {
		parts = append(parts, lang.L("catalog.signed"))
	}
	if a.Multiple {
		parts = append(parts, lang.L("catalog.multiple"))
	}
	return "• " + strings.Join(parts, " — ")
}

func fieldLine(f catalog.Field) string {
	parts := []string{f.Label + " (" + fieldTypeLabel(f.Type) + ")"}
	switch {
	case f.Required:
		parts = append(parts, lang.L("catalog.required"))
	case f.RequiredIf != nil:
		parts = append(parts, lang.L("catalog.required.if"))
	default:
		parts = append(parts, lang.L("catalog.optional"))
	}
	if f.VisibleIf != nil {
		parts = append(parts, lang.L("catalog.field.conditional"))
	}
	return "• " + strings.Join(parts, " — ")
}

// showProcedure shows everything the desk needs to know about p.
func (s *catalogSection) showProcedure(p catalog.Procedure) {
	s.shown = p.ID
	s.detail.Objects = procedureDetail(s.cat, p)
	s.detail.Refresh()
	s.scroll.ScrollToTop()
}

// procedureDetail is the knowledge-base page of p: office, term, costs,
// what to tell the citizen, the attachments and the fields of the form.
func procedureDetail(cat *catalog.Catalog, p catalog.Procedure) []fyne.CanvasObject {
	var office catalog.Office
	if cat != nil {
		office, _ = cat.Office(p.OfficeID)
	}
	officeName := office.Name
	if officeName == "" {
		officeName = p.OfficeID
	}

	title := heading(p.Name)
	title.SizeName = theme.SizeNameSubHeadingText
	title.Wrapping = fyne.TextWrapWord
	objs := []fyne.CanvasObject{title}
	if p.Confidential {
		c := textLabel(lang.L("catalog.confidential"))
		c.Importance = widget.WarningImportance
		objs = append(objs, c)
	}

	item := func(key, text string) *widget.FormItem { return widget.NewFormItem(lang.L(key), textLabel(text)) }
	facts := widget.NewForm(
		item("catalog.office", officeName),
		item("catalog.kind", kindLabel(p.Kind)),
		item("catalog.category", p.Category),
		item("catalog.term", termText(p.TermDays)),
		item("catalog.stamp", stampText(p.StampDuty)),
		item("catalog.fee", feeText(p)),
	)
	for _, f := range []struct{ key, v string }{
		{"catalog.office.location", office.Location},
		{"catalog.office.hours", office.Hours},
		{"catalog.office.phone", office.Phone},
		{"catalog.office.email", office.Email},
		{"catalog.office.pec", office.PEC},
	} {
		if strings.TrimSpace(f.v) != "" {
			facts.Append(lang.L(f.key), textLabel(f.v))
		}
	}
	objs = append(objs, facts)

	for _, k := range []struct{ key, v string }{
		{"catalog.summary", p.Knowledge.Summary},
		{"catalog.documents", p.Knowledge.Documents},
		{"catalog.fees", p.Knowledge.Fees},
		{"catalog.hours", p.Knowledge.Hours},
		{"catalog.legal", p.Knowledge.LegalBasis},
		{"catalog.notes", p.Knowledge.Notes},
	} {
		if strings.TrimSpace(k.v) != "" {
			objs = append(objs, widget.NewSeparator(), heading(lang.L(k.key)), textLabel(k.v))
		}
	}

	objs = append(objs, widget.NewSeparator(), heading(lang.L("catalog.attachments")))
	if len(p.Attachments) == 0 {
		objs = append(objs, textLabel(lang.L("catalog.attachments.none")))
	}
	for _, a := range p.Attachments {
		objs = append(objs, textLabel(attachmentLine(a)))
		if a.Help != "" {
			h := textLabel(a.Help)
			h.Importance = widget.LowImportance
			objs = append(objs, h)
		}
	}

	objs = append(objs, widget.NewSeparator(), heading(lang.L("catalog.fields")))
	if len(p.Fields) == 0 {
		objs = append(objs, textLabel(lang.L("catalog.fields.none")))
	}
	for _, f := range p.Fields {
		objs = append(objs, textLabel(fieldLine(f)))
	}
	return objs
}
