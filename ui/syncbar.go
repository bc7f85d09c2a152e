package ui

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"sportello/internal/desk"
	"sportello/store"
	"sportello/sync"
)

// NotifySync shows a new sync state. It may be called from any goroutine
// (the sync client's callbacks run on its own).
func (u *UI) NotifySync(st sync.State) {
	u.do(func() {
		u.syncState = st
		if u.shell != nil {
			u.shell.bar.update(st)
		}
	})
}

// NotifyCatalogChanged reloads the catalog shown after sync brought a new
// one (the service's cache was already dropped). Any goroutine.
func (u *UI) NotifyCatalogChanged() {
	u.do(func() {
		if u.shell != nil && !u.enrolling {
			u.shell.catalog.load()
			if u.shell.wizard != nil {
				u.shell.wizard.cat = nil
			}
			if u.shell.protocol != nil {
				u.shell.protocol.cat = nil
			}
		}
	})
}

// NotifyDataChanged refreshes what is on screen after sync applied changes
// to these tables: a definitive protocol number arriving for an emergency
// registration shows up on the open citizen's applications and in the
// register without the operator touching anything.
func (u *UI) NotifyDataChanged(tables map[string]bool) {
	if tables["operators"] {
		u.checkSession()
	}
	if !(tables["protocol_numbers"] || tables["protocol_registrations"] || tables["applications"] || tables["protocol_annulments"]) {
		return
	}
	u.do(func() {
		if u.shell == nil || u.enrolling {
			return
		}
		if c := u.shell.citizens; c != nil && c.form != nil && c.form.orig.ID != "" {
			c.applicationsChanged(c.form.orig.ID)
		}
		if p := u.shell.protocol; p != nil && len(p.results) > 0 {
			p.search()
		}
	})
}

// checkSession ends the session when a sync brought its operator's
// deactivation or a new role (desk.CheckSession): nothing more could be
// saved under it. The operator reads why on the login screen. Any
// goroutine.
func (u *UI) checkSession() {
	u.do(func() {
		if u.shell == nil || u.enrolling {
			return
		}
		sess, svc := u.sess, u.svc
		go func() {
			err := svc.CheckSession(u.ctx, sess)
			if err == nil {
				return
			}
			u.do(func() {
				var de *desk.Error
				if !errors.As(err, &de) {
					logUnexpected(err)
					return
				}
				if u.shell == nil || u.sess.OperatorID != sess.OperatorID {
					return // already logged out
				}
				slog.Info("session ended by the administrator", "user", sess.Username)
				u.showLogin()
				u.showInfo(lang.L("session.ended"), desk.UserMessage(err))
			})
		}()
	})
}

// syncBar is the left part of the status line: connection, changes waiting
// to be sent, last sync, "Sincronizza ora", conflicts and rejected changes.
type syncBar struct {
	u         *UI
	left      fyne.CanvasObject // connection and changes to send
	right     fyne.CanvasObject // the buttons
	icon      *widget.Icon
	conn      *widget.Label
	pending   *widget.Label
	last      *widget.Label
	syncBtn   *button
	clock     *button // the workstation's clock is off (sync.ClockOff)
	numbering *button // the server, restored from a backup, holds its numbering
	conflicts *button
	withdrawn *button // applications made confidential were removed here
	rejected  *button
	dismiss   *button // in the refused changes dialog, while shown
	settings  *button
	busy      bool
}

func newSyncBar(u *UI) *syncBar {
	b := &syncBar{u: u}
	b.icon = widget.NewIcon(theme.InfoIcon())
	b.conn = widget.NewLabel(lang.L("status.offline"))
	b.pending = widget.NewLabel("")
	b.pending.Importance = widget.LowImportance
	b.last = widget.NewLabel("")
	b.last.Importance = widget.LowImportance
	b.last.Truncation = fyne.TextTruncateEllipsis
	b.syncBtn = newButton(u.keys, lang.L("sync.now"), theme.ViewRefreshIcon(), b.syncNow)
	b.clock = newButton(u.keys, "", theme.HistoryIcon(), b.showClock)
	b.clock.Importance = widget.WarningImportance
	b.numbering = newButton(u.keys, lang.L("sync.numbering.held"), theme.MediaPauseIcon(), b.showNumbering)
	b.numbering.Importance = widget.WarningImportance
	b.conflicts = newButton(u.keys, "", theme.WarningIcon(), b.showConflicts)
	b.conflicts.Importance = widget.WarningImportance
	b.withdrawn = newButton(u.keys, "", theme.VisibilityOffIcon(), b.showWithdrawn)
	b.rejected = newButton(u.keys, "", theme.ErrorIcon(), b.showRejected)
	b.rejected.Importance = widget.DangerImportance
	b.settings = newButton(u.keys, lang.L("settings.open"), theme.SettingsIcon(), u.showSettings)
	b.left = container.NewHBox(b.icon, b.conn, b.pending)
	b.right = container.NewHBox(b.syncBtn, b.clock, b.numbering, b.conflicts, b.withdrawn, b.rejected, b.settings)
	b.update(u.syncState)
	return b
}

// update shows st.
func (b *syncBar) update(st sync.State) {
	switch {
	case st.Enrolled && st.Online:
		b.conn.SetText(lang.L("status.online"))
		b.conn.Importance = widget.SuccessImportance
		b.icon.SetResource(theme.ConfirmIcon())
	default:
		b.conn.SetText(lang.L("status.offline"))
		b.conn.Importance = widget.WarningImportance
		b.icon.SetResource(theme.InfoIcon())
	}
	b.conn.Refresh()
	if !st.Enrolled {
		b.pending.Hide()
		b.last.SetText(lang.L("sync.not.enrolled"))
	} else {
		b.pending.SetText(lang.L("sync.pending", map[string]any{"Count": st.Pending}))
		b.pending.Show()
		if st.LastSync.IsZero() {
			b.last.SetText(lang.L("sync.never"))
		} else {
			b.last.SetText(lang.L("sync.last", map[string]any{"When": displayInstant(st.LastSync)}))
		}
	}
	switch {
	case st.Syncing || b.busy:
		b.syncBtn.SetText(lang.L("sync.running"))
		b.syncBtn.Disable()
	case !st.Enrolled:
		b.syncBtn.SetText(lang.L("sync.now"))
		b.syncBtn.Disable()
	default:
		b.syncBtn.SetText(lang.L("sync.now"))
		b.syncBtn.Enable()
	}
	if st.Enrolled && st.ClockKnown && sync.ClockOff(st.ClockOffset) {
		key := "sync.clock.ahead"
		if st.ClockOffset < 0 {
			key = "sync.clock.behind"
		}
		b.clock.SetText(lang.L(key, map[string]any{"Amount": offsetAmount(st.ClockOffset)}))
		b.clock.Show()
	} else {
		b.clock.Hide()
	}
	if st.Enrolled && st.NumberingHeld {
		b.numbering.Show()
	} else {
		b.numbering.Hide()
	}
	if st.Conflicts > 0 {
		b.conflicts.SetText(lang.L("sync.conflicts", map[string]any{"Count": st.Conflicts}))
		b.conflicts.Show()
	} else {
		b.conflicts.Hide()
	}
	if st.Withdrawn > 0 {
		b.withdrawn.SetText(lang.L("sync.withdrawn", map[string]any{"Count": st.Withdrawn}))
		b.withdrawn.Show()
	} else {
		b.withdrawn.Hide()
	}
	if len(st.Rejected) > 0 {
		b.rejected.SetText(lang.L("sync.rejected", map[string]any{"Count": len(st.Rejected)}))
		b.rejected.Show()
	} else {
		b.rejected.Hide()
	}
}

// syncNow pushes and pulls now, in the background (Ctrl+R).
func (b *syncBar) syncNow() {
	u := b.u
	if u.opts.Sync == nil || !u.syncState.Enrolled {
		u.setStatus(lang.L("sync.not.enrolled.hint"))
		return
	}
	if b.busy {
		return
	}
	b.busy = true
	b.update(u.syncState)
	u.setStatus(lang.L("sync.running"))
	link := u.opts.Sync
	runAsync(u, func(ctx context.Context) (sync.State, error) {
		err := link.SyncNow(ctx)
		return link.State(), err
	}, func(st sync.State, err error) {
		b.busy = false
		u.syncState = st
		b.update(st)
		if err != nil {
			msg := st.LastError
			if msg == "" {
				msg = err.Error()
			}
			u.setStatus(lang.L("sync.failed", map[string]any{"Message": msg}))
			return
		}
		u.setStatus(lang.L("sync.done"))
	})
}

// showClock explains what a workstation clock off from the server's
// costs, and what to do.
func (b *syncBar) showClock() {
	b.explain(lang.L("sync.clock.title"), lang.L("sync.clock.text", clockWords(b.u.syncState.ClockOffset)))
}

// showNumbering explains what a server that holds its numbering means at
// the desk.
func (b *syncBar) showNumbering() {
	b.explain(lang.L("sync.numbering.title"), lang.L("sync.numbering.text"))
}

// showWithdrawn says why applications left this workstation.
func (b *syncBar) showWithdrawn() {
	b.explain(lang.L("sync.withdrawn.title"), lang.L("sync.withdrawn.text", map[string]any{"Count": b.u.syncState.Withdrawn}))
}

// explain opens a dialog with a text about the sync state.
func (b *syncBar) explain(title, text string) {
	u := b.u
	scroll := container.NewVScroll(textLabel(text))
	scroll.SetMinSize(fyne.NewSize(560, 220))
	u.openDialog(dialog.NewCustom(title, lang.L("dialog.close"), scroll, u.win))
}

// clockWords are the template data of a sentence about a clock offset:
// Way ("avanti", "indietro") and Amount (offsetAmount).
func clockWords(d time.Duration) map[string]any {
	way := "sync.clock.way.ahead"
	if d < 0 {
		way = "sync.clock.way.behind"
	}
	return map[string]any{"Way": lang.L(way), "Amount": offsetAmount(d)}
}

// offsetAmount writes the size of a clock offset: "45 min", "3 h 12
// min", "2 giorni e 3 h" (sync.OffsetParts).
func offsetAmount(d time.Duration) string {
	days, hours, mins := sync.OffsetParts(d)
	switch {
	case days == 1:
		return lang.L("duration.day")
	case days > 1 && hours > 0:
		return lang.L("duration.days.hours", map[string]any{"Days": days, "Hours": hours})
	case days > 1:
		return lang.L("duration.days", map[string]any{"Days": days})
	case hours > 0 && mins > 0:
		return lang.L("duration.hours.minutes", map[string]any{"Hours": hours, "Minutes": mins})
	case hours > 0:
		return lang.L("duration.hours", map[string]any{"Hours": hours})
	}
	return lang.L("duration.minutes", map[string]any{"Minutes": mins})
}

// displayInstant writes t as "DD/MM/YYYY HH:MM" (Europe/Rome), or "HH:MM" for today.
func displayInstant(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	r := t.In(rome)
	if displayDay(r) == displayDay(time.Now()) {
		return lang.L("time.today", map[string]any{"Time": r.Format("15:04")})
	}
	return r.Format("02/01/2006 15:04")
}

// tableLabel names a replicated table for people.
func tableLabel(t string) string {
	switch t {
	case "citizens", "citizen_delegations", "applications", "application_attachments", "application_history",
		"operators", "offices", "procedures", "settings", "protocol_registrations", "protocol_annulments",
		"protocol_interruptions":
		return lang.L("table." + t)
	}
	return t
}

// conflictValue shows a JSON value of a conflict.
func conflictValue(v string) string {
	var x any
	if err := json.Unmarshal([]byte(v), &x); err != nil {
		return v
	}
	switch y := x.(type) {
	case nil:
		return lang.L("sync.conflict.empty")
	case string:
		if y == "" {
			return lang.L("sync.conflict.empty")
		}
		return y
	}
	return strings.TrimSpace(v)
}

// showConflicts lists the concurrent edits the server resolved, to keep
// the winning value or restore the other.
func (b *syncBar) showConflicts() {
	u := b.u
	box := container.NewVBox(widget.NewLabel(lang.L("sync.conflicts.loading")))
	scroll := container.NewVScroll(box)
	scroll.SetMinSize(fyne.NewSize(760, 420))
	d := dialog.NewCustom(lang.L("sync.conflicts.title"), lang.L("dialog.close"), scroll, u.win)
	var load func()
	load = func() {
		type listed struct {
			cs     []store.Conflict
			hidden int
			labels []string // the record each is about, for the operator
		}
		runAsync(u, func(ctx context.Context) (listed, error) {
			cs, hidden, err := u.svc.Conflicts(ctx, u.sess, true)
			if err != nil {
				return listed{}, err
			}
			l := listed{cs: cs, hidden: hidden, labels: make([]string, len(cs))}
			for i, c := range cs {
				if l.labels[i], err = u.svc.RecordLabel(ctx, u.sess, c.Table, c.RowID); err != nil {
					return listed{}, err
				}
			}
			return l, nil
		}, func(l listed, err error) {
			if err != nil {
				box.Objects = []fyne.CanvasObject{textLabel(desk.UserMessage(err))}
				box.Refresh()
				return
			}
			cs := l.cs
			var objs []fyne.CanvasObject
			if len(cs) == 0 {
				objs = append(objs, textLabel(lang.L("sync.conflicts.none")))
			} else {
				objs = append(objs, textLabel(lang.L("sync.conflicts.intro")))
			}
			if l.hidden > 0 {
				objs = append(objs, textLabel(lang.L("sync.conflicts.hidden", map[string]any{"Count": l.hidden})))
			}
			for i, c := range cs {
				head := heading(lang.L("sync.conflict.head", map[string]any{"Table": tableLabel(c.Table),
					"Record": recordName(l.labels[i], c.RowID), "Column": columnLabel(c.Table, c.Column)}))
				when := widget.NewLabel(lang.L("sync.conflict.when", map[string]any{"When": conflictTime(c.DetectedAt)}))
				when.Importance = widget.LowImportance
				winner := textLabel(lang.L("sync.conflict.winner", map[string]any{"Value": conflictValue(c.WinnerValue)}))
				loser := textLabel(lang.L("sync.conflict.loser", map[string]any{"Value": conflictValue(c.LoserValue)}))
				resolve := func(restore bool) {
					runAsync(u, func(ctx context.Context) (struct{}, error) {
						return struct{}{}, u.svc.ResolveConflict(ctx, u.sess, c.ID, restore)
					}, func(_ struct{}, err error) {
						if err != nil {
							u.showError(err)
							return
						}
						u.setStatus(lang.L("sync.conflict.resolved"))
						if u.syncState.Conflicts > 0 {
							u.syncState.Conflicts--
							b.update(u.syncState)
						}
						load()
					})
				}
				keep := newButton(u.keys, lang.L("sync.conflict.keep"), theme.ConfirmIcon(), func() { resolve(false) })
				restore := newButton(u.keys, lang.L("sync.conflict.restore"), theme.ContentUndoIcon(), func() { resolve(true) })
				objs = append(objs, widget.NewSeparator(), head, when, winner, loser, container.NewHBox(keep, restore))
			}
			box.Objects = objs
			box.Refresh()
		})
	}
	u.openDialog(d)
	load()
}

func conflictTime(s string) string {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return displayInstant(t)
	}
	return s
}

// showRejected lists the local changes the server refused, each with the
// record it touched.
func (b *syncBar) showRejected() {
	u := b.u
	rejected := slices.Clone(u.syncState.Rejected)
	box := container.NewVBox(textLabel(lang.L("sync.rejected.intro")))
	scroll := container.NewVScroll(box)
	scroll.SetMinSize(fyne.NewSize(700, 360))
	d := dialog.NewCustom(lang.L("sync.rejected.title"), lang.L("dialog.close"), scroll, u.win)
	// Once read, the list can be cleared: the server keeps its own record.
	b.dismiss = newButton(u.keys, lang.L("sync.rejected.dismiss"), theme.ConfirmIcon(), func() {
		runAsync(u, func(ctx context.Context) (sync.State, error) {
			err := u.opts.Sync.DismissRejected(ctx, len(rejected))
			return u.opts.Sync.State(), err
		}, func(st sync.State, err error) {
			if err != nil {
				u.showError(err)
				return
			}
			u.syncState = st
			b.update(st)
			d.Hide()
		})
	})
	d.SetButtons([]fyne.CanvasObject{b.dismiss, widget.NewButton(lang.L("dialog.close"), d.Hide)})
	u.openDialog(d)
	runAsync(u, func(ctx context.Context) ([]string, error) {
		labels := make([]string, len(rejected))
		for i, r := range rejected {
			var err error
			if labels[i], err = u.svc.RejectionLabel(ctx, u.sess, r); err != nil {
				return nil, err
			}
		}
		return labels, nil
	}, func(labels []string, err error) {
		if err != nil {
			box.Add(textLabel(desk.UserMessage(err)))
			return
		}
		for i, r := range rejected {
			box.Add(widget.NewSeparator())
			box.Add(heading(lang.L("sync.rejected.head", map[string]any{"Table": tableLabel(r.Table), "Record": recordName(labels[i], r.RowID)})))
			box.Add(textLabel(r.Reason))
		}
	})
}

// recordName is a record's label, or its ID when this workstation does not
// hold it.
func recordName(label, rowID string) string {
	if label != "" {
		return label
	}
	return lang.L("sync.record.absent", map[string]any{"ID": rowID})
}

// columnLabels name the columns that can be in conflict, by table.
var columnLabels = map[string]map[string]string{
	"citizens": {
		"codice_fiscale": "citizen.cf", "surname": "citizen.surname", "name": "citizen.name", "sex": "citizen.sex",
		"birth_date": "citizen.birth.date", "birth_place": "citizen.birth.place", "birth_place_code": "citizen.birth.code",
		"phone": "citizen.phone", "email": "citizen.email", "pec": "citizen.pec", "address_street": "citizen.street",
		"address_cap": "citizen.cap", "address_city": "citizen.city", "address_province": "citizen.province",
		"doc_type": "citizen.doc.type", "doc_number": "citizen.doc.number", "doc_expires_on": "citizen.doc.expiry",
		"privacy_consent": "citizen.privacy.consent", "notes": "column.notes",
	},
	"applications": {
		"form_data": "column.form_data", "state": "appview.state", "subject": "protocol.field.subject",
		"stamp_duty_ids": "catalog.stamp", "delegate_id": "column.delegate",
	},
}

// columnLabel names a column for the operator (the column itself when
// there is no label for it).
func columnLabel(table, col string) string {
	if key, ok := columnLabels[table][col]; ok {
		return lang.L(key)
	}
	return col
}
