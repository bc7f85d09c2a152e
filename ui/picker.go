package ui

import (
	"context"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"sportello/internal/citizen"
	"sportello/internal/desk"
)

// errNotInCatalog is shown when an application's procedure left the catalog.
func errNotInCatalog(id string) error {
	return &desk.Error{Message: lang.L("wizard.procedure.missing", map[string]any{"ID": id})}
}

// citizenPicker searches the registry and picks one citizen (the
// applicant or the delegate of an application).
type citizenPicker struct {
	u        *UI
	content  fyne.CanvasObject
	search   *entry
	list     *list
	results  []citizen.Citizen
	info     *widget.Label
	chosen   *widget.Label
	clearBtn *button
	onChosen func(*citizen.Citizen)
	typed    int
	gen      int
}

func newCitizenPicker(u *UI, title string, optional bool, onChosen func(*citizen.Citizen)) *citizenPicker {
	p := &citizenPicker{u: u, onChosen: onChosen}
	p.search = newEntry(u.keys)
	p.search.SetPlaceHolder(lang.L("citizens.search.placeholder"))
	p.search.ActionItem = widget.NewIcon(theme.SearchIcon())
	p.search.OnChanged = func(string) { p.schedule() }
	p.search.OnSubmitted = func(string) {
		if len(p.results) > 0 {
			p.list.Select(0)
		}
	}
	p.search.onDown = func() {
		if len(p.results) > 0 {
			u.win.Canvas().Focus(p.list)
		}
	}
	p.info = textLabel(lang.L("citizens.search.hint"))
	p.info.Importance = widget.LowImportance
	p.list = newList(u.keys,
		func() int { return len(p.results) },
		func() fyne.CanvasObject {
			l := widget.NewLabel("")
			l.Truncation = fyne.TextTruncateEllipsis
			return l
		},
		func(id widget.ListItemID, o fyne.CanvasObject) {
			if id < len(p.results) {
				o.(*widget.Label).SetText(citizenLine(p.results[id]))
			}
		})
	p.list.OnSelected = func(id widget.ListItemID) {
		if id >= 0 && id < len(p.results) {
			c := p.results[id]
			p.setChosen(&c)
			p.onChosen(&c)
		}
	}
	p.chosen = textLabel("")
	p.chosen.TextStyle.Bold = true
	var top []fyne.CanvasObject
	top = append(top, heading(title), p.chosen)
	if optional {
		p.clearBtn = newButton(u.keys, lang.L("wizard.delegate.none"), theme.ContentClearIcon(), func() {
			p.setChosen(nil)
			p.list.UnselectAll()
			p.onChosen(nil)
		})
		top = append(top, p.clearBtn)
	}
	top = append(top, p.search, p.info)
	p.content = container.NewBorder(container.NewVBox(top...), nil, nil, nil, p.list)
	p.setChosen(nil)
	if optional {
		p.chosen.SetText(lang.L("wizard.delegate.nobody"))
	}
	return p
}

func (p *citizenPicker) setChosen(c *citizen.Citizen) {
	if c == nil {
		p.chosen.SetText(lang.L("wizard.citizen.nobody"))
		if p.clearBtn != nil {
			p.chosen.SetText(lang.L("wizard.delegate.nobody"))
			p.clearBtn.Disable()
		}
		return
	}
	p.chosen.SetText(lang.L("wizard.citizen.chosen", map[string]any{"Citizen": citizenLine(*c)}))
	if p.clearBtn != nil {
		p.clearBtn.Enable()
	}
}

func (p *citizenPicker) schedule() {
	p.typed++
	n := p.typed
	time.AfterFunc(searchDelay, func() {
		p.u.do(func() {
			if n == p.typed {
				p.run()
			}
		})
	})
}

func (p *citizenPicker) run() {
	p.gen++
	gen := p.gen
	q := strings.TrimSpace(p.search.Text)
	if q == "" {
		p.results = nil
		p.list.Refresh()
		p.info.SetText(lang.L("citizens.search.hint"))
		return
	}
	runAsync(p.u, func(ctx context.Context) ([]citizen.Citizen, error) {
		return p.u.svc.SearchCitizens(ctx, q, searchLimit)
	}, func(res []citizen.Citizen, err error) {
		if gen != p.gen {
			return
		}
		if err != nil {
			logUnexpected(err)
			p.info.SetText(desk.UserMessage(err))
			return
		}
		p.results = res
		p.list.UnselectAll()
		p.list.Refresh()
		if len(res) == 0 {
			p.info.SetText(lang.L("citizens.search.none"))
		} else {
			p.info.SetText(lang.L("citizens.search.count", map[string]any{"Count": len(res)}))
		}
	})
}
