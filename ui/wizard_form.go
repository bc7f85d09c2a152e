package ui

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/widget"

	"sportello/internal/catalog"
	"sportello/internal/completeness"
)

// fieldRow is one field of the generated form.
type fieldRow struct {
	f       catalog.Field
	label   *widget.Label
	entry   *entry
	sel     *selectBox
	chk     *check
	help    *widget.Label
	msg     *widget.Label
	box     *fyne.Container
	live    string // message of the live validation
	problem string // message of the last completeness check
}

func (r *fieldRow) focusable() fyne.Focusable {
	switch {
	case r.entry != nil:
		return r.entry
	case r.sel != nil:
		return r.sel
	}
	return r.chk
}

// wizardForm is the application form generated from the procedure's
// schema: one input per field by type, live validation under each, fields
// shown and required as the other values say, stamp duty identifiers.
type wizardForm struct {
	w       *wizardSection
	content fyne.CanvasObject
	scroll  *container.Scroll
	rows    []*fieldRow
	byKey   map[string]*fieldRow
	filling bool

	stampEntries []*entry
	stampMsgs    []*widget.Label
	stampProblem *widget.Label
}

func newWizardForm(w *wizardSection) *wizardForm {
	fm := &wizardForm{w: w, byKey: map[string]*fieldRow{}}
	k := w.u.keys
	p := *w.proc
	fm.filling = true
	defer func() { fm.filling = false }()

	note := widget.NewLabel(lang.L("wizard.form.required.note"))
	note.Importance = widget.LowImportance
	box := container.NewVBox(note)
	for _, f := range p.Fields {
		r := &fieldRow{f: f}
		r.label = textLabel(f.Label)
		r.label.TextStyle.Bold = true
		r.msg = textLabel("")
		r.msg.Importance = widget.DangerImportance
		r.msg.Hide()
		r.help = textLabel(f.Help)
		r.help.Importance = widget.LowImportance
		if f.Help == "" {
			r.help.Hide()
		}
		v := w.values[f.Key]
		var input fyne.CanvasObject
		switch f.Type {
		case catalog.Choice:
			labels := make([]string, len(f.Options))
			for i, o := range f.Options {
				labels[i] = o.Label
			}
			r.sel = newSelect(k, labels, nil)
			r.sel.PlaceHolder = lang.L("select.none")
			for _, o := range f.Options {
				if o.Value == v {
					r.sel.SetSelected(o.Label)
				}
			}
			r.sel.OnChanged = func(string) { fm.edited(r) }
			input = r.sel
		case catalog.Checkbox:
			r.chk = newCheck(k, f.Label, nil)
			r.chk.SetChecked(v == "true")
			r.chk.OnChanged = func(bool) { fm.edited(r) }
			r.label.Hide()
			input = r.chk
		default:
			r.entry = newEntry(k)
			switch f.Type {
			case catalog.LongText:
				r.entry.MultiLine = true
				r.entry.Wrapping = fyne.TextWrapWord
				r.entry.Scroll = container.ScrollVerticalOnly
				r.entry.SetMinRowsVisible(3)
			case catalog.Date:
				r.entry.SetPlaceHolder(lang.L("date.placeholder"))
				attachCalendar(r.entry)
				v = displayDate(v)
			case catalog.CodiceFiscale:
				r.entry.SetPlaceHolder(lang.L("citizen.cf.placeholder"))
			}
			r.entry.SetText(v)
			r.entry.OnChanged = func(string) { fm.edited(r) }
			input = r.entry
		}
		r.box = container.NewVBox(r.label, input, r.help, r.msg)
		fm.rows = append(fm.rows, r)
		fm.byKey[f.Key] = r
		box.Add(r.box)
	}

	if p.StampDuty.Required {
		n := max(p.StampDuty.Count, 1)
		box.Add(widget.NewSeparator())
		box.Add(heading(lang.L("wizard.stamp.title")))
		box.Add(textLabel(stampText(p.StampDuty)))
		for i := range n {
			e := newEntry(k)
			e.SetPlaceHolder(lang.L("wizard.stamp.placeholder"))
			if i < len(w.stamps) {
				e.SetText(w.stamps[i])
			}
			m := widget.NewLabel("")
			m.Importance = widget.DangerImportance
			m.Hide()
			e.OnChanged = func(string) { fm.stampEdited() }
			fm.stampEntries = append(fm.stampEntries, e)
			fm.stampMsgs = append(fm.stampMsgs, m)
			lbl := heading(lang.L("wizard.stamp.n", map[string]any{"N": i + 1}))
			box.Add(container.NewVBox(lbl, e, m))
		}
		fm.stampProblem = textLabel("")
		fm.stampProblem.Importance = widget.DangerImportance
		fm.stampProblem.Hide()
		box.Add(fm.stampProblem)
	}
	if len(p.Fields) == 0 && !p.StampDuty.Required {
		box.Add(textLabel(lang.L("catalog.fields.none")))
	}
	fm.scroll = container.NewVScroll(container.NewPadded(box))
	fm.content = fm.scroll
	for _, r := range fm.rows {
		r.live = completeness.ValidateValue(r.f, fm.value(r))
	}
	fm.refresh()
	fm.setEditable(w.editable())
	return fm
}

// value is the row's value as stored (dates as YYYY-MM-DD, choices by value).
func (fm *wizardForm) value(r *fieldRow) string {
	switch {
	case r.sel != nil:
		for _, o := range r.f.Options {
			if o.Label == r.sel.Selected {
				return o.Value
			}
		}
		return ""
	case r.chk != nil:
		if r.chk.Checked {
			return "true"
		}
		return ""
	case r.f.Type == catalog.Date:
		return isoDate(r.entry.Text)
	case r.f.Type == catalog.CodiceFiscale:
		return strings.ToUpper(strings.TrimSpace(r.entry.Text))
	}
	return strings.TrimSpace(r.entry.Text)
}

// edited records a change of one field.
func (fm *wizardForm) edited(r *fieldRow) {
	if fm.filling {
		return
	}
	v := fm.value(r)
	if v == "" {
		delete(fm.w.values, r.f.Key)
	} else {
		fm.w.values[r.f.Key] = v
	}
	r.live = completeness.ValidateValue(r.f, v)
	r.problem = "" // the check is done again later
	fm.refresh()
	fm.w.changed()
}

func (fm *wizardForm) stampEdited() {
	if fm.filling {
		return
	}
	fm.w.stamps = fm.w.stamps[:0]
	for i, e := range fm.stampEntries {
		t := strings.TrimSpace(e.Text)
		fm.w.stamps = append(fm.w.stamps, t)
		if t != "" {
			if err := completeness.ValidStampDutyID(t); err != nil {
				fm.stampMsgs[i].SetText(err.Error())
				fm.stampMsgs[i].Show()
				continue
			}
		}
		fm.stampMsgs[i].Hide()
	}
	fm.stampProblem.Hide()
	fm.w.changed()
}

// refresh shows and hides fields by VisibleIf, marks the required ones and
// shows each field's message.
func (fm *wizardForm) refresh() {
	visible := fm.w.proc.VisibleValues(fm.w.values)
	for _, r := range fm.rows {
		if !r.f.IsVisible(visible) {
			r.box.Hide()
			continue
		}
		r.box.Show()
		text := r.f.Label
		if r.f.IsRequired(visible) {
			text += " *"
		}
		if r.chk != nil {
			r.chk.SetText(text)
		} else {
			r.label.SetText(text)
		}
		msg := r.live
		if msg == "" {
			msg = r.problem
		}
		r.msg.SetText(msg)
		if msg == "" {
			r.msg.Hide()
		} else {
			r.msg.Show()
		}
	}
}

// setProblems shows the check's problems next to their fields.
func (fm *wizardForm) setProblems(ps []completeness.Problem) {
	for _, r := range fm.rows {
		r.problem = ""
	}
	var stamp []string
	for _, p := range ps {
		switch {
		case p.Field != "":
			if r := fm.byKey[p.Field]; r != nil && r.problem == "" {
				r.problem = p.Message
			}
		case p.Attachment == "" && strings.HasPrefix(p.Code, "stamp_duty"):
			stamp = append(stamp, p.Message)
		}
	}
	if fm.stampProblem != nil {
		fm.stampProblem.SetText(strings.Join(stamp, "\n"))
		if len(stamp) > 0 {
			fm.stampProblem.Show()
		} else {
			fm.stampProblem.Hide()
		}
	}
	fm.refresh()
}

// setEditable enables the inputs while the application can be changed.
func (fm *wizardForm) setEditable(on bool) {
	for _, r := range fm.rows {
		d, ok := r.focusable().(fyne.Disableable)
		if !ok {
			continue
		}
		if on {
			d.Enable()
		} else {
			d.Disable()
		}
	}
	for _, e := range fm.stampEntries {
		if on {
			e.Enable()
		} else {
			e.Disable()
		}
	}
}

// focusFirst focuses the first visible field (or the first with a problem).
func (fm *wizardForm) focusFirst() {
	for _, r := range fm.rows {
		if r.box.Visible() && r.msg.Visible() {
			fm.focusField(r.f.Key)
			return
		}
	}
	for _, r := range fm.rows {
		if r.box.Visible() {
			fm.w.u.win.Canvas().Focus(r.focusable())
			return
		}
	}
}

// focusField focuses a field and scrolls it into view.
func (fm *wizardForm) focusField(key string) {
	r := fm.byKey[key]
	if r == nil || !r.box.Visible() {
		return
	}
	fm.w.u.win.Canvas().Focus(r.focusable())
	fm.scroll.Offset = fyne.NewPos(0, max(0, r.box.Position().Y-scrollMargin))
	fm.scroll.Refresh()
}

const scrollMargin = 8
