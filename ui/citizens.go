package ui

import (
	"context"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"sportello/internal/citizen"
	"sportello/internal/desk"
)

// searchDelay is how long typing must pause before the registry is searched.
const searchDelay = 150 * time.Millisecond

// searchLimit is the most results shown.
const searchLimit = 100

// citizensSection is the registry: search on the left, the citizen's page
// on the right.
type citizensSection struct {
	u    *UI
	item *container.TabItem

	search    *entry
	newBtn    *button
	importBtn *button
	searching *widget.ProgressBarInfinite
	info      *widget.Label
	dups      *tableWarning // codici fiscali on more than one record
	list      *list
	results   []citizen.Citizen

	typed     int // bumped at each keystroke (debounce)
	searchGen int // bumped at each search; stale answers are dropped
	selecting bool

	page *fyne.Container
	form *citizenForm // the open citizen, nil when none
}

func newCitizensSection(u *UI) *citizensSection {
	s := &citizensSection{u: u}

	s.search = newEntry(u.keys)
	s.search.SetPlaceHolder(lang.L("citizens.search.placeholder"))
	s.search.ActionItem = widget.NewIcon(theme.SearchIcon())
	s.search.OnChanged = func(string) { s.scheduleSearch() }
	s.search.OnSubmitted = func(string) { s.openFirst() }
	s.search.onDown = func() {
		if len(s.results) > 0 {
			u.win.Canvas().Focus(s.list)
		}
	}

	s.newBtn = newButton(u.keys, lang.L("citizens.new"), theme.ContentAddIcon(), s.newCitizen)
	s.importBtn = newButton(u.keys, lang.L("citizens.import"), theme.FolderOpenIcon(), s.chooseImport)
	s.searching = progress()
	s.info = textLabel(lang.L("citizens.search.hint"))
	s.info.Importance = widget.LowImportance
	s.dups = newTableWarning(u.keys, "citizens.duplicates.show", s.showDuplicates)

	s.list = newList(u.keys,
		func() int { return len(s.results) },
		func() fyne.CanvasObject {
			l := widget.NewLabel("")
			l.Truncation = fyne.TextTruncateEllipsis
			return l
		},
		func(id widget.ListItemID, o fyne.CanvasObject) {
			if id < len(s.results) {
				o.(*widget.Label).SetText(citizenLine(s.results[id]))
			}
		})
	s.list.OnSelected = s.selected

	left := container.NewBorder(
		container.NewVBox(
			s.search,
			container.NewGridWithColumns(2, s.newBtn, s.importBtn),
			s.searching,
			s.info,
			s.dups.label,
			s.dups.btn,
		),
		nil, nil, nil, s.list)

	s.page = container.NewStack(placeholder(lang.L("citizens.none.open")))
	split := container.NewHSplit(left, s.page)
	split.Offset = 0.34
	s.item = container.NewTabItemWithIcon(lang.L("tab.citizens"), theme.AccountIcon(), split)
	s.checkDuplicates()
	return s
}

func (s *citizensSection) shown() {
	if s.dups.due() {
		s.checkDuplicates()
	}
}

// checkDuplicates shows, above the list, how many codici fiscali more than
// one record carries (the same person registered on two desks while
// offline, once without the codice fiscale), for an operator to review.
func (s *citizensSection) checkDuplicates() {
	s.dups.read(s.u, "citizens.duplicates.info", func(ctx context.Context) (int, error) {
		d, err := s.u.svc.DuplicateCitizens(ctx)
		return len(d), err
	})
}

// showDuplicates lists the records that share a codice fiscale, by codice
// fiscale, oldest first.
func (s *citizensSection) showDuplicates() {
	s.searchGen++
	gen := s.searchGen
	s.searching.Show()
	runAsync(s.u, func(ctx context.Context) ([]citizen.Citizen, error) {
		d, err := s.u.svc.DuplicateCitizens(ctx)
		if err != nil {
			return nil, err
		}
		var out []citizen.Citizen
		for _, cf := range slices.Sorted(maps.Keys(d)) {
			for _, id := range d[cf] {
				c, err := s.u.svc.Citizen(ctx, id)
				if err != nil {
					return nil, err
				}
				out = append(out, c)
			}
		}
		return out, nil
	}, func(res []citizen.Citizen, err error) {
		if gen != s.searchGen {
			return
		}
		s.searching.Hide()
		if err != nil {
			logUnexpected(err)
			s.info.SetText(desk.UserMessage(err))
			return
		}
		s.setResults(res)
		s.info.SetText(lang.L("citizens.duplicates.count", map[string]any{"Count": len(res)}))
	})
}

func (s *citizensSection) tab() *container.TabItem { return s.item }

func (s *citizensSection) focusSearch() {
	s.u.win.Canvas().Focus(s.search)
	s.search.Entry.TypedShortcut(&fyne.ShortcutSelectAll{}) // typing replaces the old query
}

// placeholder is the centred text of an empty area.
func placeholder(text string) fyne.CanvasObject {
	l := widget.NewLabelWithStyle(text, fyne.TextAlignCenter, fyne.TextStyle{Italic: true})
	l.Importance = widget.LowImportance
	l.Wrapping = fyne.TextWrapWord
	return container.NewCenter(container.NewGridWrap(fyne.NewSize(360, 80), l))
}

// citizenLine is a search result: "Cognome Nome — CF — data di nascita".
func citizenLine(c citizen.Citizen) string {
	parts := []string{c.FullName()}
	if c.CodiceFiscale != "" {
		parts = append(parts, c.CodiceFiscale)
	}
	if c.BirthDate != "" {
		parts = append(parts, displayDate(c.BirthDate))
	}
	return strings.Join(parts, " — ")
}

// scheduleSearch searches once typing pauses for searchDelay.
func (s *citizensSection) scheduleSearch() {
	s.typed++
	n := s.typed
	time.AfterFunc(searchDelay, func() {
		s.u.do(func() {
			if n == s.typed {
				s.runSearch()
			}
		})
	})
}

// runSearch searches the registry for the current query in the background.
func (s *citizensSection) runSearch() {
	s.searchGen++
	gen := s.searchGen
	q := strings.TrimSpace(s.search.Text)
	if q == "" {
		s.searching.Hide()
		s.setResults(nil)
		s.info.SetText(lang.L("citizens.search.hint"))
		return
	}
	s.searching.Show()
	runAsync(s.u, func(ctx context.Context) ([]citizen.Citizen, error) {
		return s.u.svc.SearchCitizens(ctx, q, searchLimit)
	}, func(res []citizen.Citizen, err error) {
		if gen != s.searchGen {
			return // a newer search is running or done
		}
		s.searching.Hide()
		if err != nil {
			logUnexpected(err)
			s.setResults(nil)
			s.info.SetText(desk.UserMessage(err))
			return
		}
		s.setResults(res)
		switch {
		case len(res) == 0:
			s.info.SetText(lang.L("citizens.search.none"))
		case len(res) >= searchLimit:
			s.info.SetText(lang.L("citizens.search.many", map[string]any{"Count": len(res)}))
		default:
			s.info.SetText(lang.L("citizens.search.count", map[string]any{"Count": len(res)}))
		}
	})
}

func (s *citizensSection) setResults(res []citizen.Citizen) {
	s.results = res
	s.list.Refresh()
	s.syncSelection()
}

// syncSelection selects the open citizen in the results, if listed.
func (s *citizensSection) syncSelection() {
	s.selecting = true
	defer func() { s.selecting = false }()
	if s.form != nil && s.form.orig.ID != "" {
		for i, c := range s.results {
			if c.ID == s.form.orig.ID {
				s.list.Select(i)
				return
			}
		}
	}
	s.list.UnselectAll()
}

func (s *citizensSection) selected(id widget.ListItemID) {
	if s.selecting || id < 0 || id >= len(s.results) {
		return
	}
	c := s.results[id]
	if s.form != nil && s.form.orig.ID == c.ID {
		return
	}
	s.u.confirmDiscard(func() { s.openCitizen(c.ID) }, s.syncSelection)
}

// openFirst opens the first result (Enter in the search field).
func (s *citizensSection) openFirst() {
	if len(s.results) > 0 {
		s.list.Select(0)
	}
}

// openCitizen loads a citizen with their applications and shows the page.
func (s *citizensSection) openCitizen(id string) {
	s.form = nil
	bar := widget.NewProgressBarInfinite()
	s.setPage(container.NewCenter(container.NewVBox(widget.NewLabel(lang.L("citizens.loading")),
		container.NewGridWrap(fyne.NewSize(240, bar.MinSize().Height), bar))))
	type loaded struct {
		c    citizen.Citizen
		apps []appRow
	}
	runAsync(s.u, func(ctx context.Context) (loaded, error) {
		c, err := s.u.svc.Citizen(ctx, id)
		if err != nil {
			return loaded{}, err
		}
		apps, err := loadApplications(ctx, s.u.svc, s.u.sess, id)
		return loaded{c, apps}, err
	}, func(l loaded, err error) {
		if err != nil {
			s.setPage(placeholder(lang.L("citizens.none.open")))
			s.syncSelection()
			s.u.showError(err)
			return
		}
		s.form = newCitizenForm(s, l.c)
		s.form.setApplications(l.apps)
		s.setPage(s.form.content)
		s.syncSelection()
	})
}

// newCitizen opens an empty registry form (Ctrl+N).
func (s *citizensSection) newCitizen() {
	s.u.confirmDiscard(func() {
		s.form = newCitizenForm(s, citizen.Citizen{})
		s.form.setApplications(nil)
		s.setPage(s.form.content)
		s.syncSelection()
		s.u.win.Canvas().Focus(s.form.surname)
	}, nil)
}

func (s *citizensSection) setPage(o fyne.CanvasObject) {
	s.page.Objects = []fyne.CanvasObject{o}
	s.page.Refresh()
}

func (s *citizensSection) save() {
	if s.form != nil {
		s.form.save()
	}
}

func (s *citizensSection) dirty() bool { return s.form != nil && s.form.dirty() }

// saved is called by the form after a successful save.
func (s *citizensSection) saved(c citizen.Citizen) {
	s.u.setStatus(lang.L("citizen.saved", map[string]any{"Name": c.FullName()}))
	if s.dups.label.Visible() { // the save may have corrected one of them
		s.checkDuplicates()
	}
	if strings.TrimSpace(s.search.Text) != "" {
		s.runSearch()
	} else {
		s.syncSelection()
	}
}

// chooseImport asks for a vCard file and imports it.
func (s *citizensSection) chooseImport() {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil {
			s.u.showError(err)
			return
		}
		if r == nil {
			return // cancelled
		}
		s.importVCard(r.URI().Name(), r)
	}, s.u.win)
	d.SetFilter(storage.NewExtensionFileFilter([]string{".vcf", ".vcard", ".VCF"}))
	d.Resize(fyne.NewSize(860, 560))
	s.u.openDialog(d)
}

// importVCard imports the cards read from r (closed when done).
func (s *citizensSection) importVCard(name string, r io.ReadCloser) {
	s.importBtn.Disable()
	s.searching.Show()
	runAsync(s.u, func(ctx context.Context) (desk.ImportResult, error) {
		defer r.Close()
		return s.u.svc.ImportVCard(ctx, s.u.sess, r)
	}, func(res desk.ImportResult, err error) {
		s.importBtn.Enable()
		s.searching.Hide()
		if err != nil {
			s.u.showError(err)
			return
		}
		msg := lang.L("citizens.import.done", map[string]any{"File": name, "Created": res.Created, "Updated": res.Updated})
		s.u.setStatus(msg)
		s.u.showInfo(lang.L("citizens.import.title"), msg)
		if strings.TrimSpace(s.search.Text) != "" {
			s.runSearch()
		}
	})
}

// chooseExport asks where to save the citizen's vCard.
func (s *citizensSection) chooseExport(c citizen.Citizen) {
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil {
			s.u.showError(err)
			return
		}
		if w == nil {
			return // cancelled
		}
		s.exportVCard(c, w.URI().Name(), w)
	}, s.u.win)
	d.SetFileName(vcardFileName(c))
	d.SetFilter(storage.NewExtensionFileFilter([]string{".vcf"}))
	d.Resize(fyne.NewSize(860, 560))
	s.u.openDialog(d)
}

// exportVCard writes the citizen's vCard to w (closed when done).
func (s *citizensSection) exportVCard(c citizen.Citizen, name string, w io.WriteCloser) {
	runAsync(s.u, func(ctx context.Context) (struct{}, error) {
		err := s.u.svc.ExportVCard(ctx, w, c.ID)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		return struct{}{}, err
	}, func(_ struct{}, err error) {
		if err != nil {
			s.u.showError(err)
			return
		}
		s.u.setStatus(lang.L("citizen.exported", map[string]any{"Name": c.FullName(), "File": name}))
	})
}

// vcardFileName proposes "Cognome_Nome.vcf" (letters and digits only).
func vcardFileName(c citizen.Citizen) string {
	var b strings.Builder
	for _, r := range c.FullName() {
		switch {
		case r == ' ' || r == '\'' || r == '-':
			b.WriteByte('_')
		case r == '/' || r == '\\' || r == ':' || r < ' ':
		default:
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return lang.L("citizen.vcard.default") + ".vcf"
	}
	return b.String() + ".vcf"
}

// applicationsChanged reloads the application list of the open citizen
// when it is citizenID (after the wizard started or protocolled one).
func (s *citizensSection) applicationsChanged(citizenID string) {
	f := s.form
	if f == nil || f.orig.ID != citizenID {
		return
	}
	runAsync(s.u, func(ctx context.Context) ([]appRow, error) {
		return loadApplications(ctx, s.u.svc, s.u.sess, citizenID)
	}, func(rows []appRow, err error) {
		if err != nil || s.form != f {
			return
		}
		f.setApplications(rows)
	})
}
