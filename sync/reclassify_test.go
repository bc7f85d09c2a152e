package sync

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"testing"

	"sportello/internal/citizen"
	"sportello/store"
)

// An application filed on a desk, protocolled with a document and a
// citizen's notification, is made confidential on the server after its
// procedure was: the interview room receives the change; the desks remove
// the application with its attachments, history, registration, number,
// notification and files — the desk that filed it too, once the push has
// carried what it did offline before it heard of the reclassification,
// which the server keeps. A desk enrolled afterwards never gets it, and no
// desk may download its files.
func TestAReclassifiedApplicationLeavesTheDesks(t *testing.T) {
	idle := store.WithdrawnFileIdle
	store.WithdrawnFileIdle = 0
	t.Cleanup(func() { store.WithdrawnFileIdle = idle })
	ctx := context.Background()
	s := startServer(t)
	room := enroll(t, s, "COLL01", true)
	desk1 := enroll(t, s, "DESK01", false)
	desk2 := enroll(t, s, "DESK02", false)
	op := login(t, desk1.svc, "sportello")

	x, err := desk1.svc.SaveCitizen(ctx, op, citizen.Citizen{Surname: "Bianchi", Name: "Laura", CodiceFiscale: cf(t, "Bianchi", "Laura", "1990-04-01"), Email: "laura@example.it"})
	if err != nil {
		t.Fatal(err)
	}
	cat, _ := desk1.svc.Catalog(ctx)
	p, _ := cat.Procedure("reclamo")
	app, err := desk1.svc.NewApplication(ctx, op, p.ID, x.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := desk1.svc.SaveDraft(ctx, op, app.ID, fill(p, x), nil); err != nil {
		t.Fatal(err)
	}
	att, err := desk1.svc.AddAttachment(ctx, op, app.ID, "documentazione", "foto.png", bytes.NewReader(pngBytes(1)), false)
	if err != nil {
		t.Fatal(err)
	}
	if probs, err := desk1.svc.MarkComplete(ctx, op, app.ID); err != nil || len(probs) > 0 {
		t.Fatalf("complete: %v %+v", err, probs)
	}
	desk1.sync(t)
	desk2.sync(t)
	room.sync(t)

	count := func(db *store.DB, q string) int {
		t.Helper()
		var n int
		if err := db.Read(ctx, func(qr store.Querier) error { return qr.QueryRow(q, app.ID).Scan(&n) }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	queries := map[string]string{
		"applications":            `SELECT count(*) FROM applications WHERE id = ?`,
		"application_history":     `SELECT count(*) FROM application_history WHERE application_id = ?`,
		"application_attachments": `SELECT count(*) FROM application_attachments WHERE application_id = ?`,
		"protocol_registrations":  `SELECT count(*) FROM protocol_registrations WHERE application_id = ?`,
		"protocol_documents":      `SELECT count(*) FROM protocol_documents WHERE registration_id IN (SELECT id FROM protocol_registrations WHERE application_id = ?)`,
		"protocol_numbers":        `SELECT count(*) FROM protocol_numbers WHERE registration_id IN (SELECT id FROM protocol_registrations WHERE application_id = ?)`,
		"notifications":           `SELECT count(*) FROM notifications WHERE ref_id IN (SELECT id FROM protocol_registrations WHERE application_id = ?)`,
	}
	for _, what := range []string{"applications", "application_history", "application_attachments"} {
		if n := count(desk2.svc.DB(), queries[what]); n == 0 {
			t.Fatalf("before the reclassification the other desk has no %s", what)
		}
	}

	// Offline, the desk that filed it adds an attachment and protocols
	// the application in its emergency register.
	att2, err := desk1.svc.AddAttachment(ctx, op, app.ID, "documentazione", "foto2.png", bytes.NewReader(pngBytes(2)), false)
	if err != nil {
		t.Fatal(err)
	}
	if probs, err := desk1.svc.MarkComplete(ctx, op, app.ID); err != nil || len(probs) > 0 {
		t.Fatalf("complete: %v %+v", err, probs)
	}
	res, err := desk1.svc.ProtocolApplication(ctx, op, app.ID)
	if err != nil || !res.Emergency {
		t.Fatalf("emergency protocol: %v %+v", err, res)
	}
	// The server makes it confidential.
	if err := s.svc.DB().Write(ctx, store.Actor{OperatorID: "server-admin"}, func(tx *store.Tx) error {
		ok, err := tx.Reclassify(app.ID, "procedimento reso riservato", "server-admin")
		if err == nil && !ok {
			t.Error("Reclassify reported the application as confidential already")
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.svc.DB().Write(ctx, store.Actor{OperatorID: "server-admin"}, func(tx *store.Tx) error {
		ok, err := tx.Reclassify(app.ID, "di nuovo", "server-admin")
		if ok {
			t.Error("an application reclassified twice")
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}

	desk2.sync(t)
	desk1.sync(t) // pushes the attachment and registration, then pulls the reclassification
	desk1.sync(t)
	room.sync(t)
	var docSHA string
	var number int64
	if err := s.svc.DB().Read(ctx, func(q store.Querier) error {
		return q.QueryRow(`SELECT d.sha256, n.number FROM protocol_documents d JOIN protocol_numbers n ON n.registration_id = d.registration_id
			WHERE d.registration_id = ? ORDER BY d.sha256 LIMIT 1`, res.Registration.ID).Scan(&docSHA, &number)
	}); err != nil {
		t.Fatalf("the emergency registration of the reclassified application on the server: %v", err)
	}
	for what, q := range queries {
		for _, d := range []*replica{desk1, desk2} {
			if n := count(d.svc.DB(), q); n != 0 {
				t.Errorf("%s still holds %d %s of the reclassified application", d.svc.DB().WorkstationCode(), n, what)
			}
		}
		if n := count(room.svc.DB(), q); n == 0 {
			t.Errorf("the interview room lost the %s", what)
		}
	}
	// The files go from the other desk; the desk that added them keeps
	// them, since a restored server may need them again.
	for _, sha := range []string{att.SHA256, att2.SHA256, docSHA} {
		if desk2.svc.Blobs().Has(sha) {
			t.Errorf("the other desk still holds file %s of the reclassified application", sha)
		}
		if !desk1.svc.Blobs().Has(sha) {
			t.Errorf("the desk that added file %s removed it", sha)
		}
	}
	for _, d := range []*replica{desk1, desk2} {
		if n := count(d.svc.DB(), `SELECT count(*) FROM audit_log WHERE action = 'reclassified_withdrawn' AND row_id = ?`); n != 1 {
			t.Errorf("%s: %d audit entries of the removal, want 1", d.svc.DB().WorkstationCode(), n)
		}
		if n := count(d.svc.DB(), `SELECT count(*) FROM reclassifications WHERE application_id = ?`); n != 1 {
			t.Errorf("%s: %d reclassification records, want 1", d.svc.DB().WorkstationCode(), n)
		}
	}
	// What the desk did before it heard of it is kept: the attachment,
	// and the emergency registration, numbered.
	if n := count(s.svc.DB(), `SELECT count(*) FROM application_attachments WHERE application_id = ? AND id = '`+att2.ID+`'`); n != 1 {
		t.Error("the server refused the attachment the desk added before it had the reclassification")
	}
	if number != 1 {
		t.Errorf("the emergency registration got number %d, want 1", number)
	}
	// Its emergency number stays used on the desk.
	again, err := desk1.svc.Registration(ctx, op, protocolOffline(t, desk1, op, "Verdi"))
	if err != nil || again.EmergencyLabel() == res.Label {
		t.Errorf("the desk gave emergency number %s again (%v)", res.Label, err)
	}
	if n := count(room.svc.DB(), `SELECT count(*) FROM applications WHERE id = ? AND confidential = 1`); n != 1 {
		t.Error("the interview room does not hold the application as confidential")
	}
	if n := count(room.svc.DB(), `SELECT count(*) FROM application_attachments WHERE application_id = ? AND id = '`+att2.ID+`'`); n != 1 {
		t.Error("the interview room lacks the attachment added before the desk had the reclassification")
	}
	for _, d := range []*replica{desk1, desk2} {
		if n := d.client.State().Withdrawn; n != 1 {
			t.Errorf("%s says it removed %d applications, want 1", d.svc.DB().WorkstationCode(), n)
		}
	}
	if n := room.client.State().Withdrawn; n != 0 {
		t.Errorf("the interview room says it removed %d applications", n)
	}
	if rej := desk1.client.State().Rejected; len(rej) > 0 {
		t.Errorf("refused on the desk that filed it: %+v", rej)
	}
	// Its registration is confidential now wherever it is listed.
	roomOp := login(t, room.svc, "colloqui")
	if reg, err := room.svc.Registration(ctx, roomOp, res.Registration.ID); err != nil || !reg.Confidential {
		t.Errorf("the registration in the interview room: %v, confidential %v", err, reg.Confidential)
	}
	// No desk may download its files any more.
	var se *ServerError
	for _, sha := range []string{att.SHA256, docSHA} {
		if resp, err := desk2.client.do(ctx, http.MethodGet, "/v1/blobs/"+sha, nil, nil); err == nil {
			resp.Body.Close()
			t.Errorf("the server gave a desk file %s of the reclassified application", sha)
		} else if !errors.As(err, &se) || se.Status != http.StatusNotFound {
			t.Errorf("a desk asking for file %s: %v, want 404", sha, err)
		}
	}
	// A desk enrolled now never gets it.
	late := enroll(t, s, "DESK03", false)
	for what, q := range queries {
		if n := count(late.svc.DB(), q); n != 0 {
			t.Errorf("the initial copy of a desk holds %d %s of the reclassified application", n, what)
		}
	}
	// The citizen is not confidential: every desk keeps them.
	for _, d := range []*replica{desk1, desk2, late} {
		if _, err := d.svc.DB().Citizen(ctx, x.ID); err != nil {
			t.Errorf("%s lost the citizen: %v", d.svc.DB().WorkstationCode(), err)
		}
	}
}

// A server restored from a backup has lost the reclassifications made
// after it: the workstations that hold them give them back when they
// rejoin, as they give back numbers, and the restored server makes the
// applications confidential again — one whose application has not come
// back yet waits until its workstation has pushed it again. Every
// workstation ends as the server, a desk without the applications.
func TestARestoredServerGetsItsReclassificationsBack(t *testing.T) {
	idle := store.WithdrawnFileIdle
	store.WithdrawnFileIdle = 0
	t.Cleanup(func() { store.WithdrawnFileIdle = idle })
	ctx := context.Background()
	s, serve := restorable(t)
	a, b := enroll(t, s, "DESK01", false), enroll(t, s, "DESK02", false)
	room := enroll(t, s, "COLL01", true)
	opA := login(t, a.svc, "sportello")
	before := completeComplaint(t, a, opA, "Rossi")
	for _, r := range []*replica{a, b, room} {
		r.sync(t)
	}
	dir := t.TempDir()
	if err := s.svc.DB().BackupTo(ctx, filepath.Join(dir, "sportello.db")); err != nil {
		t.Fatal(err)
	}
	// After the backup: A files another complaint, and the server makes
	// both confidential; everybody syncs.
	after := completeComplaint(t, a, opA, "Verdi")
	a.sync(t)
	for _, id := range []string{before.ID, after.ID} {
		if err := s.svc.DB().Write(ctx, store.Actor{OperatorID: "server-admin"}, func(tx *store.Tx) error {
			_, err := tx.Reclassify(id, "procedimento reso riservato", "server-admin")
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range []*replica{a, b, room} {
		r.sync(t)
	}
	holds := func(r *replica, app string) int {
		t.Helper()
		var n int
		if err := r.svc.DB().Read(ctx, func(q store.Querier) error {
			return q.QueryRow(`SELECT (SELECT count(*) FROM applications WHERE id = ?1) + (SELECT count(*) FROM application_history WHERE application_id = ?1)`, app).Scan(&n)
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, app := range []string{before.ID, after.ID} {
		if holds(a, app)+holds(b, app) != 0 || holds(room, app) == 0 {
			t.Fatalf("before the loss: A %d, B %d, room %d rows of %s", holds(a, app), holds(b, app), holds(room, app), app)
		}
	}

	// The server is lost and comes back from the backup: neither
	// reclassification is there, nor the second complaint.
	back := restoreFrom(t, s, serve, dir)
	if conf, err := back.DB().RowConfidential(ctx, "applications", before.ID); err != nil || conf {
		t.Fatalf("the backup already has the reclassification: %v %v", conf, err)
	}
	// The interview room rejoins first: the first reclassification comes
	// back; the second waits for its application.
	room.sync(t)
	if conf, err := back.DB().RowConfidential(ctx, "applications", before.ID); err != nil || !conf {
		t.Fatalf("the room's reclassification was not taken back: %v %v", conf, err)
	}
	if _, err := back.DB().Application(ctx, after.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the second complaint is on the restored server before A rejoined: %v", err)
	}
	// A pushes the second complaint again (from its log: it removed it
	// here), then gives the reclassification back too.
	a.sync(t)
	if conf, err := back.DB().RowConfidential(ctx, "applications", after.ID); err != nil || !conf {
		t.Fatalf("the second complaint is not confidential again: %v %v", conf, err)
	}
	for _, r := range []*replica{b, room, a, b, room} {
		r.sync(t)
	}
	for _, app := range []string{before.ID, after.ID} {
		if holds(a, app)+holds(b, app) != 0 || holds(room, app) == 0 {
			t.Errorf("after the restore: A %d, B %d, room %d rows of %s", holds(a, app), holds(b, app), holds(room, app), app)
		}
	}
	sameAsServer(t, back.DB(), map[string]*replica{"room": room})
	// The desks hold what a desk's initial copy of the restored server holds.
	view := filepath.Join(t.TempDir(), "view.db")
	if _, err := back.DB().Snapshot(ctx, view, store.SnapshotFor{WorkstationID: "view", WorkstationCode: "VIEW"}); err != nil {
		t.Fatal(err)
	}
	vdb, err := store.Open(ctx, view, store.Options{Synchronous: "OFF"})
	if err != nil {
		t.Fatal(err)
	}
	defer vdb.Close()
	want := checksums(t, vdb)
	for name, r := range map[string]*replica{"A": a, "B": b} {
		got := checksums(t, r.svc.DB())
		for table := range want {
			if got[table] != want[table] {
				t.Errorf("table %s differs on %s: %s, a desk's copy of the server %s", table, name, got[table], want[table])
			}
		}
		if st := r.client.State(); st.LastError != "" || st.Pending != 0 || len(st.Rejected) > 0 {
			t.Errorf("%s: %+v", name, st)
		}
		// The records the restored server forwarded again removed
		// nothing more: each application counts once, where it was (B
		// never received the second one).
		if n, want := r.client.State().Withdrawn, map[string]int{"A": 2, "B": 1}[name]; n != want {
			t.Errorf("%s says it removed %d applications, want %d", name, n, want)
		}
	}
}
