// Restore scenarios beyond the restore window: refusals of parked
// changes, workstations that come back after numbering resumed, and the
// revert of refused changes the lost server had forwarded.

package sync

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sportello/internal/citizen"
	"sportello/internal/desk"
	"sportello/store"
)

// A change parked in the restore window that still lacks what it refers to
// when numbering resumes is refused then. Its workstation had it
// acknowledged (parked) long before: it learns of the refusal from the
// pull (GET /v1/late-refused) and undoes it; the definitive number the
// lost server gave that registration has nowhere to go (void) and is
// dropped, instead of stopping the workstation. The workstation whose
// application it referred to comes back after the resume, and everyone
// converges.
func TestParkedChangeRefusedAtResumeReachesItsWorkstation(t *testing.T) {
	ctx := context.Background()
	x := newBackedUp(t)
	a, b, opB := x.a, x.b, x.opB
	app, res := x.protocolledByB(t)

	back := restoreFrom(t, x.s, x.serve, x.dir)
	b.sync(t)
	// A does not come back before the administrator resumes numbering.
	if _, err := ResumeNumbering(ctx, back.DB(), 2, 0); err != nil {
		t.Fatal(err)
	}
	b.sync(t)
	if _, err := b.svc.SaveCitizen(ctx, opB, citizen.Citizen{Surname: "Neri", Name: "Anna", CodiceFiscale: cf(t, "Neri", "Anna", "1980-02-03")}); err != nil {
		t.Fatal(err)
	}
	b.sync(t)
	b.sync(t)
	st := b.client.State()
	if st.LastError != "" {
		t.Fatalf("B stopped: %s", st.LastError)
	}
	codes := map[string]string{}
	for _, r := range st.Rejected {
		codes[r.Table] = r.Code
		if r.Label == "" {
			t.Errorf("refusal without the record's name: %+v", r)
		}
	}
	if codes["protocol_registrations"] != CodeConstraint || codes["protocol_numbers"] != "number_void" {
		t.Fatalf("B was not told of the refused registration and of its number: %+v", st.Rejected)
	}
	if _, err := b.svc.Registration(ctx, opB, res.Registration.ID); err == nil {
		t.Error("the refused registration is still on B")
	}

	// A comes back late: its application is applied now, and every
	// replica equals the server; B's application can be protocolled again.
	a.sync(t)
	a.sync(t)
	b.sync(t)
	sameAsServer(t, back.DB(), map[string]*replica{"A": a, "B": b})
	again, err := b.svc.ProtocolApplication(ctx, opB, app.ID)
	if err != nil {
		t.Fatal(err)
	}
	b.sync(t)
	b.sync(t)
	a.sync(t)
	if reg, _ := b.svc.Registration(ctx, opB, again.Registration.ID); reg.Number != 3 {
		t.Fatalf("protocolled again with number %d, want 3 (2 was given by the lost server)", reg.Number)
	}
	sameAsServer(t, back.DB(), map[string]*replica{"A": a, "B": b})
	for name, r := range map[string]*replica{"A": a, "B": b} {
		if st := r.client.State(); st.LastError != "" {
			t.Errorf("%s: %s", name, st.LastError)
		}
	}
}

// GET /v1/late-refused answers a bad cursor with a clear error, and lists
// a workstation's own late refusals only.
func TestLateRefusedListsOnlyTheWorkstationsOwn(t *testing.T) {
	ctx := context.Background()
	s := startServer(t)
	a, b := enroll(t, s, "DESK01", false), enroll(t, s, "DESK02", false)
	a.sync(t)
	b.sync(t)
	for _, after := range []string{"", "-1", "uno"} {
		resp, err := a.client.do(ctx, http.MethodGet, "/v1/late-refused?after="+after, nil, nil)
		var se *ServerError
		if err == nil {
			resp.Body.Close()
		}
		if !errors.As(err, &se) || se.Status != http.StatusBadRequest || se.Body.Code != CodeBadRequest || se.Body.Message == "" {
			t.Errorf("after=%q: %v", after, err)
		}
	}
	wsA, err := s.svc.DB().WorkstationByCode(ctx, "DESK01")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.svc.DB().Write(ctx, store.Actor{OperatorID: "server"}, func(tx *store.Tx) error {
		return tx.InsertLateRejection(wsA.ID, store.Rejection{OriginSeq: 7, Table: "citizens", RowID: "x", Code: CodeConstraint, Reason: "prova"})
	}); err != nil {
		t.Fatal(err)
	}
	list := func(r *replica) LateRefusedResponse {
		t.Helper()
		resp, err := r.client.do(ctx, http.MethodGet, "/v1/late-refused?after=0", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		var lr LateRefusedResponse
		if err := decodeResp(resp, &lr); err != nil {
			t.Fatal(err)
		}
		return lr
	}
	if got := list(b); len(got.Rejected) != 0 {
		t.Errorf("B reads A's late refusals: %+v", got)
	}
	if got := list(a); len(got.Rejected) != 1 || got.Rejected[0].OriginSeq != 7 || got.Rejected[0].LateSeq != 1 {
		t.Errorf("A's late refusals: %+v", got)
	}
	// The next pull announces it, and the refusal joins A's list once.
	a.sync(t)
	a.sync(t)
	if st := a.client.State(); len(st.Rejected) != 1 || st.Rejected[0].OriginSeq != 7 {
		t.Errorf("A's refused changes: %+v", st.Rejected)
	}
	if st := b.client.State(); len(st.Rejected) != 0 {
		t.Errorf("B's refused changes: %+v", st.Rejected)
	}
}

// A workstation that comes back only after numbering resumed, holding the
// number the lost server gave its own registration: the number is no
// higher than where numbering resumed, so the register never gives it
// again and keeps it for the registration, which gets it back (same row,
// same notification) when it is pushed again; the desk that had pulled it
// finds it present. Nobody stops, a new registration takes the next number,
// and every replica equals the server.
func TestLateWorkstationGetsItsNumberBackAfterTheResume(t *testing.T) {
	ctx := context.Background()
	x := newBackedUp(t)
	a, f, opF := x.a, x.b, x.opB
	verdi := x.protocolledByA(t)
	lostNumber := func(q store.Querier) (id string, n int64, notes int, err error) {
		if err = q.QueryRow(`SELECT id, number FROM protocol_numbers WHERE registration_id = ?`, verdi).Scan(&id, &n); err != nil {
			return
		}
		err = q.QueryRow(`SELECT count(*) FROM notifications WHERE ref_table = 'protocol_registrations' AND ref_id = ?`, verdi).Scan(&notes)
		return
	}
	var heldID string
	var heldN int64
	if err := a.svc.DB().Read(ctx, func(q store.Querier) error {
		var err error
		heldID, heldN, _, err = lostNumber(q)
		return err
	}); err != nil || heldN != 2 {
		t.Fatalf("the lost server gave %d (%v)", heldN, err)
	}

	back := restoreFrom(t, x.s, x.serve, x.dir)
	if _, err := ResumeNumbering(ctx, back.DB(), 2, 0); err != nil {
		t.Fatal(err)
	}
	waiting := func() int {
		t.Helper()
		n, err := back.DB().ReservedNumbersWaiting(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// F, which had pulled the number, comes back first: the number is
	// kept for the registration A has still to push again.
	f.sync(t)
	if n := waiting(); n != 1 {
		t.Fatalf("%d numbers kept for registrations still to come, want 1", n)
	}
	for _, r := range []*replica{a, a, f} {
		r.sync(t)
	}
	if n := waiting(); n != 0 {
		t.Fatalf("%d numbers still kept after A came back", n)
	}
	if err := back.DB().Read(ctx, func(q store.Querier) error {
		id, n, notes, err := lostNumber(q)
		if err == nil && (id != heldID || n != 2 || notes != 1) {
			err = fmt.Errorf("number %s %d with %d notifications, want %s 2 with 1", id, n, notes, heldID)
		}
		var used int
		if err == nil {
			err = q.QueryRow(`SELECT count(*) FROM sync_reserved_numbers WHERE registration_id = ? AND used_at <> ''`, verdi).Scan(&used)
		}
		if err == nil && used != 1 {
			err = fmt.Errorf("the number was not reserved for its registration (%d)", used)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	neri := protocolOffline(t, f, opF, "Neri")
	for _, r := range []*replica{f, f, a} {
		r.sync(t)
	}
	if reg, err := f.svc.Registration(ctx, opF, neri); err != nil || reg.Number != 3 {
		t.Fatalf("next registration numbered %d (%v), want 3", reg.Number, err)
	}
	sameAsServer(t, back.DB(), map[string]*replica{"A": a, "F": f})
	for name, r := range map[string]*replica{"A": a, "F": f} {
		if st := r.client.State(); st.LastError != "" || len(st.Rejected) != 0 {
			t.Errorf("%s: %q %+v", name, st.LastError, st.Rejected)
		}
		if v, _ := r.svc.DB().Meta(ctx, MetaRecoverNumbers); v != "" {
			t.Errorf("%s still has to give back %s", name, v)
		}
	}
}

// A number kept after the resume for a registration that, pushed again,
// is refused (its operator was deactivated on the restored server) has
// nowhere to go: it is void for everyone who holds it, the server keeps it
// for nobody, and nobody stops.
func TestReservedNumberOfARefusedRegistrationIsVoid(t *testing.T) {
	ctx := context.Background()
	x := newBackedUp(t)
	a, f := x.a, x.b
	verdi := x.protocolledByA(t)
	back := restoreFrom(t, x.s, x.serve, x.dir)
	if _, err := ResumeNumbering(ctx, back.DB(), 2, 0); err != nil {
		t.Fatal(err)
	}
	f.sync(t) // keeps number 2 for Verdi's registration
	demote(t, back.DB(), x.opA.OperatorID)
	for _, r := range []*replica{a, a, f, f} {
		r.sync(t)
	}
	if n, err := back.DB().ReservedNumbersWaiting(ctx); err != nil || n != 0 {
		t.Fatalf("%d numbers still kept (%v)", n, err)
	}
	for name, r := range map[string]*replica{"A": a, "F": f} {
		st := r.client.State()
		if st.LastError != "" {
			t.Fatalf("%s stopped: %s", name, st.LastError)
		}
		void := false
		for _, rj := range st.Rejected {
			void = void || rj.Code == "number_void"
		}
		if !void {
			t.Errorf("%s was not told the number is void: %+v", name, st.Rejected)
		}
		var n int
		if err := r.svc.DB().Read(ctx, func(q store.Querier) error {
			return q.QueryRow(`SELECT count(*) FROM protocol_numbers WHERE registration_id = ?`, verdi).Scan(&n)
		}); err != nil || n != 0 {
			t.Errorf("%s still holds the void number (%d, %v)", name, n, err)
		}
	}
}

// A change the lost server accepted and forwarded, then refused when its
// desk pushes it again to the restored server, is reverted on every replica
// that pulled it (a revert record: the register's value and version, for
// the columns still holding the refused write). An earlier write of the
// same field that a workstation brings only afterwards still wins, as it
// would have without the refused one; a clock-based re-assertion just past
// the refused write would have beaten it.
func TestRefusedForwardedChangeIsRevertedEverywhere(t *testing.T) {
	ctx := context.Background()
	s, serve := restorable(t)
	a, b, c := enroll(t, s, "DESK01", false), enroll(t, s, "DESK02", false), enroll(t, s, "DESK03", false)
	opA := login(t, a.svc, "sportello")
	x, err := a.svc.SaveCitizen(ctx, opA, citizen.Citizen{Surname: "Galli", Name: "Ada", CodiceFiscale: cf(t, "Galli", "Ada", "1970-01-01"), Phone: "+39 333 0000001"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []*replica{a, a, b, c} {
		r.sync(t)
	}
	restored := t.TempDir()
	if err := s.svc.DB().BackupTo(ctx, filepath.Join(restored, "sportello.db")); err != nil {
		t.Fatal(err)
	}
	edit := func(r *replica, sess desk.Session, phone string) {
		t.Helper()
		cur, err := r.svc.Citizen(ctx, x.ID)
		if err != nil {
			t.Fatal(err)
		}
		cur.Phone = phone
		if _, err := r.svc.SaveCitizen(ctx, sess, cur); err != nil {
			t.Fatal(err)
		}
	}
	// C edits the phone, offline; later A's substitute edits it again and
	// the lost server forwards that to B.
	edit(c, login(t, c.svc, "sportello"), "+39 333 0000003")
	time.Sleep(5 * time.Millisecond)
	sub := login(t, a.svc, "protocollo")
	edit(a, sub, "+39 333 0000002")
	a.sync(t)
	b.sync(t)
	if got, _ := b.svc.Citizen(ctx, x.ID); got.Phone != "+39 333 0000002" {
		t.Fatalf("B did not receive the substitute's edit: %q", got.Phone)
	}

	back := restoreFrom(t, s, serve, restored)
	demote(t, back.DB(), sub.OperatorID) // as the administrator had done on the lost server
	a.sync(t)
	b.sync(t)
	if got, _ := b.svc.Citizen(ctx, x.ID); got.Phone != "+39 333 0000001" {
		t.Fatalf("B kept the refused edit: %q", got.Phone)
	}
	if _, err := ResumeNumbering(ctx, back.DB(), 0, 0); err != nil {
		t.Fatal(err)
	}
	// C comes back after the resume with its earlier edit.
	for _, r := range []*replica{c, c, a, b} {
		r.sync(t)
	}
	got, err := back.Citizen(ctx, x.ID)
	if err != nil || got.Phone != "+39 333 0000003" {
		t.Fatalf("server phone %q (%v), want C's edit", got.Phone, err)
	}
	sameAsServer(t, back.DB(), map[string]*replica{"A": a, "B": b, "C": c})
	var reverts int
	if err := back.DB().Read(ctx, func(q store.Querier) error {
		return q.QueryRow(`SELECT count(*) FROM sync_reverts WHERE row_id = ?`, x.ID).Scan(&reverts)
	}); err != nil || reverts != 1 {
		t.Fatalf("%d revert records (%v), want 1", reverts, err)
	}
}

// A revert record is as confidential as the row it is about: one about a
// confidential application reaches interview rooms, neither a desk's pull
// nor a desk's initial copy.
func TestRevertOfConfidentialRecordNeverReachesADesk(t *testing.T) {
	ctx := context.Background()
	s := startServer(t)
	room, desk1 := enroll(t, s, "COLL01", true), enroll(t, s, "DESK01", false)
	_, _, app, _ := confidentialDraft(t, room, login(t, room.svc, "colloqui"))
	room.sync(t)
	if err := s.svc.DB().Write(ctx, store.Actor{OperatorID: "server"}, func(tx *store.Tx) error {
		return tx.RevertForwarded("applications", app.ID, []string{"form_data"}, "1772441712000-00000000-01a24e77-0000-7000-8000-000000000000", nil)
	}); err != nil {
		t.Fatal(err)
	}
	room.sync(t)
	desk1.sync(t)
	count := func(r *replica) int {
		t.Helper()
		var n int
		if err := r.svc.DB().Read(ctx, func(q store.Querier) error {
			return q.QueryRow(`SELECT count(*) FROM sync_reverts WHERE row_id = ?`, app.ID).Scan(&n)
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(room); n != 1 {
		t.Errorf("the interview room holds %d revert records, want 1", n)
	}
	if n := count(desk1); n != 0 {
		t.Errorf("a desk pulled %d revert records of a confidential application", n)
	}
	if n := count(enroll(t, s, "DESK02", false)); n != 0 {
		t.Errorf("a desk's initial copy holds %d revert records of a confidential application", n)
	}
	if n := count(enroll(t, s, "COLL02", true)); n != 1 {
		t.Errorf("an interview room's initial copy holds %d revert records, want 1", n)
	}
}

// The same when the row is not on the restored server yet when the
// change is refused (it was created after the backup by a workstation that
// comes back only after the resume): the revert waits for the row.
func TestRevertWaitsForItsRow(t *testing.T) {
	ctx := context.Background()
	s, serve := restorable(t)
	a, b, c := enroll(t, s, "DESK01", false), enroll(t, s, "DESK02", false), enroll(t, s, "DESK03", false)
	for _, r := range []*replica{a, b, c} {
		r.sync(t)
	}
	restored := t.TempDir()
	if err := s.svc.DB().BackupTo(ctx, filepath.Join(restored, "sportello.db")); err != nil {
		t.Fatal(err)
	}
	x, err := c.svc.SaveCitizen(ctx, login(t, c.svc, "sportello"), citizen.Citizen{Surname: "Galli", Name: "Ada", CodiceFiscale: cf(t, "Galli", "Ada", "1970-01-01"), Phone: "+39 333 0000001"})
	if err != nil {
		t.Fatal(err)
	}
	c.sync(t)
	a.sync(t)
	sub := login(t, a.svc, "protocollo")
	cur, err := a.svc.Citizen(ctx, x.ID)
	if err != nil {
		t.Fatal(err)
	}
	cur.Phone = "+39 333 0000002"
	if _, err := a.svc.SaveCitizen(ctx, sub, cur); err != nil {
		t.Fatal(err)
	}
	a.sync(t)
	b.sync(t)

	back := restoreFrom(t, s, serve, restored)
	demote(t, back.DB(), sub.OperatorID)
	a.sync(t)
	b.sync(t)
	var pending int
	if err := back.DB().Read(ctx, func(q store.Querier) error {
		return q.QueryRow(`SELECT count(*) FROM sync_pending_reverts WHERE row_id = ?`, x.ID).Scan(&pending)
	}); err != nil || pending != 1 {
		t.Fatalf("%d pending reverts (%v), want 1", pending, err)
	}
	if _, err := ResumeNumbering(ctx, back.DB(), 0, 0); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*replica{c, c, a, b} {
		r.sync(t)
	}
	if got, _ := b.svc.Citizen(ctx, x.ID); got.Phone != "+39 333 0000001" {
		t.Fatalf("B kept the refused edit: %q", got.Phone)
	}
	sameAsServer(t, back.DB(), map[string]*replica{"A": a, "B": b, "C": c})
}

// A push that waits for a file only another workstation has says so, in
// Italian, instead of blaming the connection.
func TestFileElsewhereIsExplained(t *testing.T) {
	err := fmt.Errorf("sync: push: %w", fmt.Errorf("%w: %s", ErrFileElsewhere, strings.Repeat("ab", 32)))
	if got := userMessage(err); got != fileElsewhereMessage {
		t.Fatalf("message %q", got)
	}
	if got := userMessage(errors.New("dial tcp: connection refused")); !strings.HasPrefix(got, "Server non raggiungibile") {
		t.Fatalf("message for a network error %q", got)
	}
}

// A new record the lost server accepted and forwarded, refused when its desk
// pushes it again to the restored server, is not in the register: every
// replica that pulled it removes it (an absent revert), an annulment — an
// append-only record — included. One still referred to by a record of the
// replica's own (an application B opened for the refused citizen) waits
// until the refusal of that record took it away, then goes too.
func TestRefusedForwardedRecordIsRemovedEverywhere(t *testing.T) {
	ctx := context.Background()
	var x backedUp
	x.s, x.serve = restorable(t)
	x.a, x.b = enroll(t, x.s, "DESK01", false), enroll(t, x.s, "DESK02", false)
	c := enroll(t, x.s, "DESK03", false)
	x.opA, x.opB = login(t, x.a.svc, "sportello"), login(t, x.b.svc, "sportello")
	protocolOffline(t, x.a, x.opA, "Rossi")
	for _, r := range []*replica{x.a, x.a, x.b, c} {
		r.sync(t)
	}
	x.dir = t.TempDir()
	if err := x.s.svc.DB().BackupTo(ctx, filepath.Join(x.dir, "sportello.db")); err != nil {
		t.Fatal(err)
	}
	var regID string
	if regs, err := x.a.svc.DB().Registrations(ctx, store.RegistrationFilter{}); err != nil || len(regs) != 1 {
		t.Fatalf("registrations on A: %+v %v", regs, err)
	} else {
		regID = regs[0].ID
	}
	sub := login(t, x.a.svc, "protocollo")
	if err := x.a.svc.Annul(ctx, sub, regID, "Registrazione ripetuta", "Disposizione n. 1/2026"); err != nil {
		t.Fatal(err)
	}
	y, err := x.a.svc.SaveCitizen(ctx, sub, citizen.Citizen{Surname: "Bassi", Name: "Ugo", CodiceFiscale: cf(t, "Bassi", "Ugo", "1960-02-02")})
	if err != nil {
		t.Fatal(err)
	}
	x.a.sync(t)
	x.b.sync(t)
	c.sync(t)
	if _, err := x.b.svc.NewApplication(ctx, x.opB, "reclamo", y.ID, ""); err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]*replica{"B": x.b, "C": c} {
		if got, err := r.svc.DB().Registration(ctx, regID); err != nil || !got.Annulled {
			t.Fatalf("%s did not receive the annulment: %+v %v", name, got, err)
		}
	}

	back := restoreFrom(t, x.s, x.serve, x.dir)
	demote(t, back.DB(), sub.OperatorID) // as the administrator had done on the lost server
	for _, r := range []*replica{x.a, x.b, c} {
		r.sync(t)
	}
	if _, err := back.DB().Registration(ctx, regID); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.svc.DB().Registration(ctx, regID); got.Annulled {
		t.Fatal("C kept an annulment the register does not have")
	}
	if _, err := c.svc.Citizen(ctx, y.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("C kept a citizen the register does not have: %v", err)
	}
	if _, err := x.b.svc.Citizen(ctx, y.ID); err != nil {
		t.Fatalf("B removed a citizen its own application still refers to: %v", err)
	}
	if n, err := x.b.svc.DB().PendingRemovals(ctx); err != nil || n != 1 {
		t.Fatalf("B: %d removals waiting (%v), want 1", n, err)
	}
	if _, err := ResumeNumbering(ctx, back.DB(), 1, 0); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*replica{x.a, x.b, c, x.b} {
		r.sync(t)
	}
	for name, r := range map[string]*replica{"A": x.a, "B": x.b, "C": c} {
		if _, err := r.svc.Citizen(ctx, y.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s kept a citizen the register does not have: %v", name, err)
		}
		if n, err := r.svc.DB().PendingRemovals(ctx); err != nil || n != 0 {
			t.Errorf("%s: %d removals waiting (%v)", name, n, err)
		}
		if brk, err := r.svc.DB().VerifyAudit(ctx); err != nil || brk != nil {
			t.Errorf("audit chain of %s: %v %v", name, brk, err)
		}
	}
	sameAsServer(t, back.DB(), map[string]*replica{"A": x.a, "B": x.b, "C": c})
	var removed int
	if err := c.svc.DB().Read(ctx, func(q store.Querier) error {
		return q.QueryRow(`SELECT count(*) FROM audit_log WHERE action = 'sync_revert'`).Scan(&removed)
	}); err != nil || removed != 2 {
		t.Fatalf("C audited %d removals (%v), want 2", removed, err)
	}
}

// An absent revert of a confidential record (the row is not on the server to
// say so: the refused insert's data did) reaches interview rooms only, by
// pull and by initial copy alike.
func TestAbsentRevertOfConfidentialRecordNeverReachesADesk(t *testing.T) {
	ctx := context.Background()
	s := startServer(t)
	room, desk1 := enroll(t, s, "COLL01", true), enroll(t, s, "DESK01", false)
	const void = "1772441712000-00000000-01a24e77-0000-7000-8000-000000000000"
	if err := s.svc.DB().Write(ctx, store.Actor{OperatorID: "server"}, func(tx *store.Tx) error {
		if err := tx.RevertForwarded("applications", "app-riservata", []string{"confidential", "form_data"}, void,
			store.Fields{"confidential": int64(1), "form_data": "{}"}); err != nil {
			return err
		}
		return tx.RevertForwarded("applications", "app-ordinaria", []string{"confidential", "form_data"}, void,
			store.Fields{"confidential": int64(0), "form_data": "{}"})
	}); err != nil {
		t.Fatal(err)
	}
	room.sync(t)
	desk1.sync(t)
	count := func(r *replica) (conf, plain int) {
		t.Helper()
		if err := r.svc.DB().Read(ctx, func(q store.Querier) error {
			return q.QueryRow(`SELECT count(*) FILTER (WHERE row_id = 'app-riservata'), count(*) FILTER (WHERE row_id = 'app-ordinaria')
				FROM sync_reverts WHERE absent = 1`).Scan(&conf, &plain)
		}); err != nil {
			t.Fatal(err)
		}
		return conf, plain
	}
	for name, r := range map[string]*replica{"the interview room": room, "an interview room's initial copy": enroll(t, s, "COLL02", true)} {
		if conf, plain := count(r); conf != 1 || plain != 1 {
			t.Errorf("%s holds %d confidential and %d other absent reverts, want 1 and 1", name, conf, plain)
		}
	}
	for name, r := range map[string]*replica{"a desk": desk1, "a desk's initial copy": enroll(t, s, "DESK02", false)} {
		if conf, plain := count(r); conf != 0 || plain != 1 {
			t.Errorf("%s holds %d confidential and %d other absent reverts, want 0 and 1", name, conf, plain)
		}
	}
}

// A restored server parks a change that refers to a record it does not
// have, for the workstation that has it to push it again. An annulment of
// a registration the restored server refused (its officer lost the role)
// waits for nothing: no other workstation ever brings a registration, so
// the annulment is refused at once, with its reason, rather than left
// parked for the administrator to wait on before resuming numbering. So
// is an edit of a citizen registered without a codice fiscale whose
// registration the server refused.
func TestAnnulmentOfARefusedRegistrationIsNotParked(t *testing.T) {
	ctx := context.Background()
	s, serve := restorable(t)
	a := enroll(t, s, "DESK01", false)
	op := login(t, a.svc, "sportello")
	app := completeComplaint(t, a, op, "Ferri")
	a.sync(t)
	restored := t.TempDir()
	if err := s.svc.DB().BackupTo(ctx, filepath.Join(restored, "sportello.db")); err != nil {
		t.Fatal(err)
	}
	// After the backup: the officer protocols it, the lost server takes
	// it; the office's responsabile annuls the registration offline.
	sub := login(t, a.svc, "protocollo")
	res, err := a.svc.ProtocolApplication(ctx, sub, app.ID)
	if err != nil {
		t.Fatal(err)
	}
	// The officer registers a citizen with no codice fiscale, too.
	nocf, err := a.svc.SaveCitizen(ctx, sub, citizen.Citizen{Surname: "Senzacodice", Name: "Ada"})
	if err != nil {
		t.Fatal(err)
	}
	a.sync(t)
	urp := login(t, a.svc, "urp")
	if err := a.svc.Annul(ctx, urp, res.Registration.ID, "Registrazione ripetuta", "Disposizione del responsabile n. 1/2026"); err != nil {
		t.Fatal(err)
	}
	nocf.Phone = "+39 333 4444444"
	if _, err := a.svc.SaveCitizen(ctx, urp, nocf); err != nil {
		t.Fatal(err)
	}

	back := restoreFrom(t, s, serve, restored)
	demote(t, back.DB(), sub.OperatorID) // as the administrator had done on the lost server
	a.sync(t)
	a.sync(t)
	if n, err := back.DB().ParkedCount(ctx); err != nil || n != 0 {
		t.Fatalf("%d changes parked (%v), want none", n, err)
	}
	var annulment, registration, edit bool
	for _, r := range a.client.State().Rejected {
		registration = registration || r.Table == "protocol_registrations" && r.Code == CodeForbidden
		annulment = annulment || r.Table == "protocol_annulments" && r.Code == CodeConstraint && strings.Contains(r.Reason, "non ha accettato")
		edit = edit || r.Table == "citizens" && r.RowID == nocf.ID && r.Code == CodeConstraint && strings.Contains(r.Reason, "non ha accettato")
	}
	if !registration || !annulment || !edit {
		t.Fatalf("refusals %+v, want the registration's, the annulment's and the edit's", a.client.State().Rejected)
	}
	if _, err := ResumeNumbering(ctx, back.DB(), 0, 0); err != nil {
		t.Fatal(err)
	}
	a.sync(t)
	sameAsServer(t, back.DB(), map[string]*replica{"A": a})
}
