package ui

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"sportello/internal/application"
	"sportello/internal/catalog"
	"sportello/internal/desk"
)

// scanInterval is how often the scanner folder is looked at.
var scanInterval = 2 * time.Second

// attachmentsPage is the attachments step: the types the procedure asks
// for with their formats and limits, the files attached to each, and the
// files waiting to be assigned (dropped on the window or new in the
// scanner folder).
type attachmentsPage struct {
	w        *wizardSection
	content  fyne.CanvasObject
	types    *fyne.Container
	cands    *fyne.Container
	scanInfo *widget.Label
	signed   map[string]bool // "firma autografa" ticked, by type
	addBtns  map[string]*button
	candRows []candRow
	working  bool
}

// candRow is a file waiting to be assigned, with its type and "Assegna".
type candRow struct {
	file   pickedFile
	sel    *selectBox
	signed *check
	assign *button
}

func newAttachmentsPage(w *wizardSection) *attachmentsPage {
	a := &attachmentsPage{w: w, signed: map[string]bool{}, addBtns: map[string]*button{}}
	a.types = container.NewVBox()
	a.cands = container.NewVBox()
	a.scanInfo = textLabel("")
	a.scanInfo.Importance = widget.LowImportance
	drop := textLabel(lang.L("wizard.att.drop.hint"))
	drop.Importance = widget.LowImportance
	right := container.NewBorder(container.NewVBox(heading(lang.L("wizard.att.candidates")), a.scanInfo, drop, widget.NewSeparator()),
		nil, nil, nil, container.NewVScroll(a.cands))
	split := container.NewHSplit(container.NewVScroll(container.NewPadded(a.types)), right)
	split.Offset = 0.64
	a.content = split
	return a
}

// reqs are the attachment types shown in this step (the signed form is in
// the last step).
func (a *attachmentsPage) reqs() []catalog.AttachmentReq {
	var out []catalog.AttachmentReq
	for _, r := range a.w.proc.Attachments {
		if r.Type != desk.SignedFormType {
			out = append(out, r)
		}
	}
	return out
}

// allReqs adds the signed form.
func (a *attachmentsPage) allReqs() []catalog.AttachmentReq {
	out := a.w.proc.Attachments
	for _, r := range out {
		if r.Type == desk.SignedFormType {
			return out
		}
	}
	return append(append([]catalog.AttachmentReq(nil), out...), desk.SignedFormReq)
}

func reqInfo(r catalog.AttachmentReq) string {
	var parts []string
	if len(r.Formats) > 0 {
		fs := make([]string, len(r.Formats))
		for i, f := range r.Formats {
			fs[i] = formatLabel(f)
		}
		parts = append(parts, lang.L("catalog.formats", map[string]any{"Formats": strings.Join(fs, ", ")}))
	}
	if r.MaxBytes > 0 {
		parts = append(parts, lang.L("catalog.max.size", map[string]any{"Size": formatSize(r.MaxBytes)}))
	}
	if r.MustBeSigned {
		parts = append(parts, lang.L("wizard.att.must.sign"))
	}
	if r.Multiple {
		parts = append(parts, lang.L("catalog.multiple"))
	}
	return strings.Join(parts, " — ")
}

// attachmentDesc is "file.pdf — PDF — 120 KB — firma".
func attachmentDesc(x application.Attachment) string {
	parts := []string{x.FileName}
	if x.Format != "" {
		parts = append(parts, formatLabel(catalog.Format(x.Format)))
	} else {
		parts = append(parts, lang.L("wizard.att.format.unknown"))
	}
	parts = append(parts, formatSize(x.Size))
	switch {
	case x.Signature != "":
		parts = append(parts, lang.L("wizard.att.signed.digital", map[string]any{"Kind": strings.ToUpper(x.Signature)}))
	case x.DeclaredSigned:
		parts = append(parts, lang.L("wizard.att.signed.declared"))
	}
	return strings.Join(parts, " — ")
}

// problemsFor returns the check's messages about an attachment type or ID.
func (w *wizardSection) problemsFor(key string) []string {
	var out []string
	for _, p := range w.problems {
		if p.Attachment == key {
			out = append(out, p.Message)
		}
	}
	return out
}

func dangerLabel(text string) *widget.Label {
	l := textLabel(text)
	l.Importance = widget.DangerImportance
	return l
}

// refresh rebuilds the page from the wizard's state.
func (a *attachmentsPage) refresh() {
	w := a.w
	editable := w.editable() && !a.working
	visible := w.proc.VisibleValues(w.values)
	var objs []fyne.CanvasObject
	objs = append(objs, textLabel(lang.L("wizard.att.intro")))
	reqs := a.reqs()
	if len(reqs) == 0 {
		objs = append(objs, textLabel(lang.L("catalog.attachments.none")))
	}
	for _, r := range reqs {
		r := r
		title := r.Label
		status := lang.L("catalog.optional")
		if r.IsRequired(visible) {
			title += " *"
			status = lang.L("catalog.required")
		}
		objs = append(objs, widget.NewSeparator(), heading(title))
		info := textLabel(status + " — " + reqInfo(r))
		info.TextStyle.Italic = true
		objs = append(objs, info)
		if r.Help != "" {
			h := textLabel(r.Help)
			h.Importance = widget.LowImportance
			objs = append(objs, h)
		}
		objs = append(objs, a.filesOf(r.Type, editable)...)
		for _, m := range w.problemsFor(r.Type) {
			objs = append(objs, dangerLabel(m))
		}
		add := newButton(w.u.keys, lang.L("wizard.att.add"), theme.FileIcon(), func() { a.chooseFile(r) })
		a.addBtns[r.Type] = add
		row := []fyne.CanvasObject{add}
		if r.MustBeSigned {
			chk := newCheck(w.u.keys, lang.L("wizard.att.declared"), func(on bool) { a.signed[r.Type] = on })
			chk.SetChecked(a.signed[r.Type])
			if !editable {
				chk.Disable()
			}
			row = append(row, chk)
		}
		if !editable {
			add.Disable()
		}
		objs = append(objs, container.NewHBox(row...))
	}
	a.types.Objects = objs
	a.types.Refresh()
	a.refreshCandidates()
}

// filesOf lists the attached files of a type, each with its problems and "Ritira".
func (a *attachmentsPage) filesOf(docType string, editable bool) []fyne.CanvasObject {
	w := a.w
	var objs []fyne.CanvasObject
	for _, x := range w.atts {
		if x.DocType != docType {
			continue
		}
		x := x
		withdraw := newButton(w.u.keys, lang.L("wizard.att.withdraw"), theme.DeleteIcon(), func() { a.withdraw(x) })
		if !editable {
			withdraw.Disable()
		}
		objs = append(objs, container.NewBorder(nil, nil, widget.NewIcon(theme.DocumentIcon()), withdraw, textLabel(attachmentDesc(x))))
		for _, m := range w.problemsFor(x.ID) {
			objs = append(objs, dangerLabel(m))
		}
	}
	return objs
}

// defaultType proposes a type for a new file: the first required one still
// missing, else the first one.
func (a *attachmentsPage) defaultType() string {
	w := a.w
	visible := w.proc.VisibleValues(w.values)
	has := map[string]bool{}
	for _, x := range w.atts {
		has[x.DocType] = true
	}
	reqs := a.reqs()
	for _, r := range reqs {
		if r.IsRequired(visible) && !has[r.Type] {
			return r.Label
		}
	}
	if len(reqs) > 0 {
		return reqs[0].Label
	}
	return desk.SignedFormReq.Label
}

func (a *attachmentsPage) refreshCandidates() {
	w := a.w
	switch {
	case w.scanFolder == "":
		a.scanInfo.SetText(lang.L("wizard.att.scanner.off"))
	default:
		a.scanInfo.SetText(lang.L("wizard.att.scanner.on", map[string]any{"Folder": w.scanFolder}))
	}
	var objs []fyne.CanvasObject
	if len(w.candidates) == 0 {
		objs = append(objs, textLabel(lang.L("wizard.att.candidates.none")))
	}
	reqs := a.allReqs()
	labels := make([]string, len(reqs))
	for i, r := range reqs {
		labels[i] = r.Label
	}
	editable := w.editable() && !a.working
	a.candRows = nil
	for _, c := range w.candidates {
		c := c
		sel := newSelect(w.u.keys, labels, nil)
		sel.SetSelected(a.defaultType())
		signed := newCheck(w.u.keys, lang.L("wizard.att.declared"), nil)
		assign := newButton(w.u.keys, lang.L("wizard.att.assign"), theme.ConfirmIcon(), func() {
			for _, r := range reqs {
				if r.Label == sel.Selected {
					a.add(r, c, signed.Checked || a.signed[r.Type])
					return
				}
			}
		})
		assign.Importance = widget.HighImportance
		discard := newButton(w.u.keys, lang.L("wizard.att.discard"), theme.ContentClearIcon(), func() { w.dropCandidate(c) })
		if !editable {
			assign.Disable()
		}
		a.candRows = append(a.candRows, candRow{file: c, sel: sel, signed: signed, assign: assign})
		src := widget.NewLabel(lang.L(c.source))
		src.Importance = widget.LowImportance
		objs = append(objs, container.NewVBox(
			heading(c.describe()), src, sel, signed, container.NewHBox(assign, discard), widget.NewSeparator()))
	}
	a.cands.Objects = objs
	a.cands.Refresh()
}

// chooseFile asks for a file of type r.
func (a *attachmentsPage) chooseFile(r catalog.AttachmentReq) {
	w := a.w
	d := dialog.NewFileOpen(func(rc fyne.URIReadCloser, err error) {
		if err != nil {
			w.u.showError(err)
			return
		}
		if rc == nil {
			return
		}
		a.add(r, fileOfReader(rc, "wizard.att.source.dialog"), a.signed[r.Type])
	}, w.u.win)
	if f := extensionFilter(r.Formats); f != nil {
		d.SetFilter(f)
	}
	d.Resize(fyne.NewSize(860, 560))
	w.u.openDialog(d)
}

// add attaches f as type r in the background.
func (a *attachmentsPage) add(r catalog.AttachmentReq, f pickedFile, declaredSigned bool) {
	w := a.w
	if !w.editable() || a.working {
		return
	}
	u := w.u
	app := w.app
	a.working = true
	w.setWorking(true, lang.L("wizard.att.adding", map[string]any{"File": f.name}))
	a.refresh()
	runAsync(u, func(ctx context.Context) (application.Attachment, error) {
		rc, err := f.open()
		if err != nil {
			return application.Attachment{}, err
		}
		defer rc.Close()
		return u.svc.AddAttachment(ctx, u.sess, app.ID, r.Type, f.name, rc, declaredSigned)
	}, func(att application.Attachment, err error) {
		a.working = false
		w.setWorking(false, "")
		if w.app != app {
			return
		}
		if err != nil {
			u.showError(err)
			a.refresh()
			return
		}
		w.atts = append(w.atts, att)
		w.attachmentsChanged()
		w.removeCandidate(f.key)
		w.info.SetText(lang.L("wizard.att.added", map[string]any{"File": f.name, "Type": r.Label}))
		a.refresh()
		if w.finish != nil {
			w.finish.refresh()
		}
	})
}

// withdraw takes an attachment off the application (the file is kept).
func (a *attachmentsPage) withdraw(x application.Attachment) {
	w := a.w
	if !w.editable() || a.working {
		return
	}
	u := w.u
	app := w.app
	a.working = true
	w.setWorking(true, lang.L("wizard.att.withdrawing", map[string]any{"File": x.FileName}))
	runAsync(u, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, u.svc.WithdrawAttachment(ctx, u.sess, app.ID, x.ID)
	}, func(_ struct{}, err error) {
		a.working = false
		w.setWorking(false, "")
		if w.app != app {
			return
		}
		if err != nil {
			u.showError(err)
			a.refresh()
			return
		}
		for i, y := range w.atts {
			if y.ID == x.ID {
				w.atts = append(w.atts[:i:i], w.atts[i+1:]...)
				break
			}
		}
		w.attachmentsChanged()
		w.info.SetText(lang.L("wizard.att.withdrawn", map[string]any{"File": x.FileName}))
		a.refresh()
		if w.finish != nil {
			w.finish.refresh()
		}
	})
}

// attachmentsChanged: a complete application goes back to draft (the
// service did it) and the last check no longer holds.
func (w *wizardSection) attachmentsChanged() {
	if w.app != nil && w.app.State == application.Completa {
		w.app.State = application.Bozza
	}
	w.checked = false
	w.updateNav()
}

// --- files waiting to be assigned -----------------------------------------

// addCandidates adds files to assign, skipping those already there or used.
func (w *wizardSection) addCandidates(fs []pickedFile) int {
	n := 0
	for _, f := range fs {
		if w.usedFiles[f.key] {
			continue
		}
		dup := false
		for _, c := range w.candidates {
			dup = dup || c.key == f.key
		}
		if dup {
			continue
		}
		w.candidates = append(w.candidates, f)
		n++
	}
	if n > 0 && w.attPage != nil {
		w.attPage.refreshCandidates()
	}
	return n
}

func (w *wizardSection) removeCandidate(key string) {
	w.usedFiles[key] = true
	for i, c := range w.candidates {
		if c.key == key {
			w.candidates = append(w.candidates[:i:i], w.candidates[i+1:]...)
			break
		}
	}
	if w.attPage != nil {
		w.attPage.refreshCandidates()
	}
}

func (w *wizardSection) dropCandidate(c pickedFile) { w.removeCandidate(c.key) }

// dropped receives files dropped on the window while the wizard is shown.
func (w *wizardSection) dropped(uris []fyne.URI) {
	if !w.editable() {
		w.u.setStatus(lang.L("wizard.att.drop.noapp"))
		return
	}
	var fs []pickedFile
	for _, u := range uris {
		if !isDir(u) {
			fs = append(fs, fileOfURI(u, "wizard.att.source.drop"))
		}
	}
	n := w.addCandidates(fs)
	if w.step != stepAttachments {
		w.goTo(stepAttachments)
	}
	w.u.setStatus(lang.L("wizard.att.dropped", map[string]any{"Count": n}))
}

// addFileShortcut opens the file dialog for the type proposed (Ctrl+O).
func (w *wizardSection) addFileShortcut() {
	if !w.editable() || w.attPage == nil {
		return
	}
	if w.step != stepAttachments {
		w.goTo(stepAttachments)
		return
	}
	label := w.attPage.defaultType()
	for _, r := range w.attPage.allReqs() {
		if r.Label == label {
			w.attPage.chooseFile(r)
			return
		}
	}
}

// dropped sends files dropped on the window to the screen that takes them.
func (u *UI) dropped(uris []fyne.URI) {
	if u.shell == nil || u.enrolling || len(uris) == 0 {
		return
	}
	switch s := u.shell.active().(type) {
	case *wizardSection:
		s.dropped(uris)
	case *protocolSection:
		s.dropped(uris)
	default:
		u.setStatus(lang.L("drop.where"))
	}
}

// --- scanner folder --------------------------------------------------------

// startScanner watches the scanner folder set in "Impostazioni": files
// that appear while the application is open become candidates.
func (w *wizardSection) startScanner() {
	u := w.u
	runAsync(u, func(ctx context.Context) (string, error) {
		return u.svc.LocalSetting(ctx, desk.SettingScannerFolder)
	}, func(folder string, err error) {
		if err != nil || w.closed || w.app == nil {
			return
		}
		w.watch(folder)
	})
}

func (w *wizardSection) scannerFolderChanged(folder string) {
	if w.app != nil && !w.closed {
		w.watch(folder)
	}
}

func (w *wizardSection) stopScanner() {
	if w.scanStop != nil {
		w.scanStop()
		w.scanStop = nil
	}
	w.scanFolder = ""
}

// fileStamp identifies a version of a file in the folder.
type fileStamp struct {
	size int64
	mod  time.Time
}

func (w *wizardSection) watch(folder string) {
	w.stopScanner()
	w.scanFolder = folder
	if w.attPage != nil {
		w.attPage.refreshCandidates()
	}
	if folder == "" {
		return
	}
	ctx, cancel := context.WithCancel(w.u.ctx)
	w.scanStop = cancel
	interval := scanInterval
	go func() {
		seen := listFolder(folder) // what is there already is not new
		waiting := map[string]fileStamp{}
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			var fresh []pickedFile
			now := listFolder(folder)
			names := make([]string, 0, len(now))
			for n := range now {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, name := range names {
				st := now[name]
				if old, ok := seen[name]; ok && old == st {
					continue
				}
				// a file still being written changes between two looks
				if prev, ok := waiting[name]; ok && prev == st {
					seen[name] = st
					delete(waiting, name)
					fresh = append(fresh, fileOfPath(filepath.Join(folder, name), "wizard.att.source.scanner"))
				} else {
					waiting[name] = st
				}
			}
			if len(fresh) > 0 {
				w.u.do(func() {
					if ctx.Err() == nil {
						if n := w.addCandidates(fresh); n > 0 {
							w.u.setStatus(lang.L("wizard.att.scanned", map[string]any{"Count": n}))
						}
					}
				})
			}
		}
	}()
}

// listFolder lists the regular, visible, complete files of a folder.
func listFolder(folder string) map[string]fileStamp {
	out := map[string]fileStamp{}
	des, err := os.ReadDir(folder)
	if err != nil {
		return out
	}
	for _, de := range des {
		name := de.Name()
		lower := strings.ToLower(name)
		if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "~") || strings.HasSuffix(lower, ".tmp") ||
			strings.HasSuffix(lower, ".part") || strings.HasSuffix(lower, ".crdownload") || !de.Type().IsRegular() {
			continue
		}
		info, err := de.Info()
		if err != nil || info.Size() == 0 {
			continue
		}
		out[name] = fileStamp{size: info.Size(), mod: info.ModTime()}
	}
	return out
}
