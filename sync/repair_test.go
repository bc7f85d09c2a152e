package sync

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"sportello/internal/application"
	"sportello/internal/auth"
	"sportello/internal/citizen"
	"sportello/internal/desk"
	"sportello/store"
)

// An operator whose role the server has changed (to the offices' referent)
// keeps working under the old one on a desk that is offline: an edit of a known citizen, a new citizen, an application for
// them with its history, an emergency registration. The server refuses all
// of it (forbidden) and the rest goes on; the desk then brings those rows
// back to the server's copy — the edited field to the server's value (with
// another desk's concurrent edit of another field kept), the new records
// removed, append-only ones included — so that every replicated table is
// the same on the desk, the other desk and the server, the operator still
// reads the list of what was refused, and a later edit by an active
// operator goes through.
func TestRefusedChangesAreUndoneOnTheReplica(t *testing.T) {
	ctx := context.Background()
	s := startServer(t)
	a := enroll(t, s, "DESK01", false)
	b := enroll(t, s, "DESK02", false)
	opA, opB := login(t, a.svc, "sportello"), login(t, b.svc, "protocollo")
	x, err := a.svc.SaveCitizen(ctx, opA, citizen.Citizen{Surname: "Bianchi", Name: "Laura", CodiceFiscale: cf(t, "Bianchi", "Laura", "1990-04-01"), Phone: "+39 333 0000001"})
	if err != nil {
		t.Fatal(err)
	}
	a.sync(t)
	b.sync(t)

	// The administrator gives the desk operator another role on the server.
	demote(t, s.svc.DB(), opA.OperatorID)

	// Meanwhile, on desk A (not synced): the phone changed, a new citizen
	// with an application, completed and protocolled in emergency.
	x.Phone = "+39 333 9999999"
	if _, err := a.svc.SaveCitizen(ctx, opA, x); err != nil {
		t.Fatal(err)
	}
	yCF := cf(t, "Verdi", "Marta", "1982-06-07") // completeComplaint's citizen
	regID := protocolOffline(t, a, opA, "Verdi")
	reg, err := a.svc.DB().Registration(ctx, regID)
	if err != nil || reg.ApplicationID == "" {
		t.Fatalf("registration on A: %+v %v", reg, err)
	}
	app := struct{ ID string }{reg.ApplicationID}
	// And on desk B, concurrently, another field of the same citizen.
	xb, _ := b.svc.Citizen(ctx, x.ID)
	xb.Email = "laura@example.it"
	if _, err := b.svc.SaveCitizen(ctx, opB, xb); err != nil {
		t.Fatal(err)
	}
	b.sync(t)

	a.sync(t)
	b.sync(t)
	st := a.client.State()
	if len(st.Rejected) == 0 || st.Pending != 0 {
		t.Fatalf("rejections %+v, pending %d", st.Rejected, st.Pending)
	}
	named := false
	for _, r := range st.Rejected {
		if r.Code != CodeForbidden {
			t.Errorf("rejection %+v, want %s", r, CodeForbidden)
		}
		// Named as the desk held the record, though it is gone now.
		named = named || (r.Table == "citizens" && strings.Contains(r.Label, "Verdi Marta"))
	}
	if !named {
		t.Errorf("the refused new citizen is not named in the list: %+v", st.Rejected)
	}
	sa, sb, ss := checksums(t, a.svc.DB()), checksums(t, b.svc.DB()), checksums(t, s.svc.DB())
	for table := range ss {
		if sa[table] != ss[table] || sb[table] != ss[table] {
			t.Errorf("table %s differs: A %s B %s server %s", table, sa[table], sb[table], ss[table])
		}
	}
	got, err := a.svc.Citizen(ctx, x.ID)
	if err != nil || got.Phone != "+39 333 0000001" || got.Email != "laura@example.it" {
		t.Fatalf("citizen on A after the repair: %+v %v", got, err)
	}
	if _, err := a.svc.DB().CitizenByCF(ctx, yCF); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("refused new citizen still on A: %v", err)
	}
	if _, err := a.svc.DB().Application(ctx, app.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("refused application still on A: %v", err)
	}
	if brk, err := a.svc.DB().VerifyAudit(ctx); err != nil || brk != nil {
		t.Fatalf("A's audit chain: %v %+v", err, brk)
	}
	if brk, err := s.svc.DB().VerifyAudit(ctx); err != nil || brk != nil {
		t.Fatalf("server's audit chain: %v %+v", err, brk)
	}
	if raw, _ := a.svc.DB().Meta(ctx, MetaRepair); raw != "" {
		t.Fatalf("repairs left pending: %s", raw)
	}

	// The endpoint answers only for this workstation's own refusals, and
	// bad requests get a clear error.
	ask := func(body string) (int, RefusedResponse, ErrorBody) {
		t.Helper()
		var rr RefusedResponse
		resp, err := a.client.do(ctx, http.MethodPost, "/v1/refused", strings.NewReader(body), nil)
		var se *ServerError
		if errors.As(err, &se) {
			return se.Status, rr, se.Body
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := decodeResp(resp, &rr); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, rr, ErrorBody{}
	}
	first := st.Rejected[0].OriginSeq
	if code, rr, _ := ask(fmt.Sprintf(`{"origin_seqs":[%d, 1]}`, first)); code != http.StatusOK || len(rr.Rows) != 1 || rr.Rows[0].OriginSeq != first ||
		!rr.Rows[0].Exists || rr.Rows[0].Table != "citizens" || rr.Rows[0].RowID != x.ID {
		t.Fatalf("refused rows: %d %+v", code, rr)
	}
	for _, body := range []string{`{"origin_seqs":[]}`, `{"origin_seqs":"1"}`, `[`, `{"origin_seqs":[` + strings.Repeat("1,", MaxRefusedPerRequest) + `1]}`} {
		if code, _, eb := ask(body); code != http.StatusBadRequest || eb.Code != CodeBadRequest || eb.Message == "" {
			t.Errorf("bad request %.40q: %d %+v", body, code, eb)
		}
	}
	bTok := b.client.cfg.Token
	b.client.cfg.Token = a.client.cfg.Token
	a.client.cfg.Token = bTok
	if code, rr, _ := ask(fmt.Sprintf(`{"origin_seqs":[%d]}`, first)); code != http.StatusOK || len(rr.Rows) != 0 {
		t.Fatalf("another workstation got A's refused rows: %d %+v", code, rr)
	}
	a.client.cfg.Token, b.client.cfg.Token = b.client.cfg.Token, bTok

	// An active operator on A changes the phone again: accepted, and the
	// three copies stay equal.
	opP := login(t, a.svc, "protocollo")
	got.Phone = "+39 333 2222222"
	if _, err := a.svc.SaveCitizen(ctx, opP, got); err != nil {
		t.Fatal(err)
	}
	a.sync(t)
	b.sync(t)
	if onServer, _ := s.svc.Citizen(ctx, x.ID); onServer.Phone != "+39 333 2222222" {
		t.Fatalf("later edit on the server: %+v", onServer)
	}
	if n := len(a.client.State().Rejected); n != len(st.Rejected) {
		t.Fatalf("%d refused changes after the later edit, were %d", n, len(st.Rejected))
	}
	sa, sb, ss = checksums(t, a.svc.DB()), checksums(t, b.svc.DB()), checksums(t, s.svc.DB())
	for table := range ss {
		if sa[table] != ss[table] || sb[table] != ss[table] {
			t.Errorf("after the later edit, table %s differs: A %s B %s server %s", table, sa[table], sb[table], ss[table])
		}
	}
}

// The answer that carried a refusal is lost (the server applied the batch,
// the desk never read why one change was refused): the next push, which
// the server acknowledges without applying anything again, still reports
// the refusal, so the operator reads it and the row is repaired.
func TestRefusalReportedWhenItsAnswerWasLost(t *testing.T) {
	ctx := context.Background()
	s := startServer(t)
	a := enroll(t, s, "DESK01", false)
	op := login(t, a.svc, "sportello")
	x, err := a.svc.SaveCitizen(ctx, op, citizen.Citizen{Surname: "Bianchi", Name: "Laura", CodiceFiscale: cf(t, "Bianchi", "Laura", "1990-04-01"), Phone: "+39 333 0000001"})
	if err != nil {
		t.Fatal(err)
	}
	a.sync(t)
	demote(t, s.svc.DB(), op.OperatorID)
	x.Phone = "+39 333 9999999"
	if _, err := a.svc.SaveCitizen(ctx, op, x); err != nil {
		t.Fatal(err)
	}
	res := pushOnce(t, a)
	if res.err != nil || len(res.pr.Rejected) != 1 {
		t.Fatalf("push: %v %+v", res.err, res.pr)
	}
	// ... and the desk never read that answer.
	a.sync(t)
	st := a.client.State()
	if len(st.Rejected) != 1 || st.Rejected[0].Code != CodeForbidden || st.Rejected[0].RowID != x.ID {
		t.Fatalf("refusals listed after a lost answer: %+v", st.Rejected)
	}
	if got, _ := a.svc.Citizen(ctx, x.ID); got.Phone != "+39 333 0000001" {
		t.Fatalf("refused phone still on the desk: %+v", got)
	}
	sa, ss := checksums(t, a.svc.DB()), checksums(t, s.svc.DB())
	for table := range ss {
		if sa[table] != ss[table] {
			t.Errorf("table %s differs: desk %s server %s", table, sa[table], ss[table])
		}
	}
}

// pushOnce sends one push of what r has not had acknowledged, without
// recording the answer (as when it is lost on the way).
func pushOnce(t *testing.T, r *replica) pushResult {
	t.Helper()
	ctx := context.Background()
	acked, err := r.client.metaInt(ctx, MetaPushed)
	if err != nil {
		t.Fatal(err)
	}
	auditSent, err := r.client.metaInt(ctx, MetaAuditSent)
	if err != nil {
		t.Fatal(err)
	}
	b := r.client.preparePush(ctx, acked, auditSent)
	if b.err != nil || b.changes == 0 {
		t.Fatalf("prepare push: %v, %d changes", b.err, b.changes)
	}
	return <-r.client.sendPush(ctx, b, acked, 0)
}

// twoInOnePeriod protocols, on offline desk a, app as firstBy (opening the
// emergency period) and another complaint filer files as secondBy, in the
// same period.
func twoInOnePeriod(t *testing.T, a *replica, filer desk.Session, app application.Application, firstBy, secondBy desk.Session) (first, second desk.ProtocolResult) {
	t.Helper()
	ctx := context.Background()
	first, err := a.svc.ProtocolApplication(ctx, firstBy, app.ID)
	if err != nil || !first.Emergency {
		t.Fatalf("first: %+v %v", first, err)
	}
	second, err = a.svc.ProtocolApplication(ctx, secondBy, completeComplaint(t, a, filer, "Gatti").ID)
	if err != nil || !second.Emergency || second.Registration.InterruptionID != first.Registration.InterruptionID {
		t.Fatalf("second: %+v %v", second, err)
	}
	return first, second
}

// forge writes a change under an operator's name on r, past the desk's
// checks (a workstation that skips them), for the server to judge.
func forge(t *testing.T, r *replica, operatorID, table, rowID string, f store.Fields) {
	t.Helper()
	if err := r.svc.DB().Write(context.Background(), store.Actor{OperatorID: operatorID}, func(tx *store.Tx) error {
		_, err := tx.Put(table, rowID, f)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// changeOperator changes an operator's account on the server, as its
// administrator.
func changeOperator(t *testing.T, server *store.DB, operatorID string, change func(*store.Operator)) {
	t.Helper()
	if err := server.Write(context.Background(), store.Actor{OperatorID: "op-admin"}, func(tx *store.Tx) error {
		o, err := tx.OperatorByID(operatorID)
		if err != nil {
			return err
		}
		change(&o)
		_, err = tx.PutOperator(o)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// deactivate deactivates an operator on the server.
func deactivate(t *testing.T, server *store.DB, operatorID string) {
	t.Helper()
	changeOperator(t, server, operatorID, func(o *store.Operator) { o.Active = false })
}

// demote gives an operator, on the server, the offices' referent's role:
// no citizens, no filing, no protocol. The server judges every change by
// the role the operator has when it arrives, so what a workstation that
// has not heard of it sends under the old role is refused.
func demote(t *testing.T, server *store.DB, operatorID string) {
	t.Helper()
	changeOperator(t, server, operatorID, func(o *store.Operator) { o.Role = string(auth.Referente) })
}

// The offices' referent may only move an application along its lifecycle:
// the server takes the move and its history entry, and refuses any other
// change of the application that role makes (a workstation that skipped
// the desk's checks), with the rest of the batch applied.
func TestReferentOnlyMovesTheState(t *testing.T) {
	ctx := context.Background()
	s := startServer(t)
	a := enroll(t, s, "DESK01", false)
	op := login(t, a.svc, "sportello")
	app := completeComplaint(t, a, op, "Ferri")
	if res, err := a.svc.ProtocolApplication(ctx, op, app.ID); err != nil || !res.Emergency {
		t.Fatalf("protocol: %+v %v", res, err)
	}
	if err := a.svc.Forward(ctx, op, app.ID, ""); err != nil {
		t.Fatal(err)
	}
	ref := login(t, a.svc, "referente")
	if err := a.svc.Move(ctx, ref, app.ID, application.InLavorazione, "Presa in carico"); err != nil {
		t.Fatal(err)
	}
	// A forged edit of the form data under the referent's name, then a
	// citizen saved by the desk operator.
	forge(t, a, ref.OperatorID, "applications", app.ID, store.Fields{"form_data": `{"descrizione":"cambiata"}`})
	if _, err := a.svc.SaveCitizen(ctx, op, citizen.Citizen{Surname: "Gialli", Name: "Eva", CodiceFiscale: cf(t, "Gialli", "Eva", "1971-01-01")}); err != nil {
		t.Fatal(err)
	}
	a.sync(t)
	a.sync(t)
	st := a.client.State()
	if len(st.Rejected) != 1 || st.Rejected[0].Code != CodeForbidden || st.Rejected[0].Table != "applications" || !strings.Contains(st.Rejected[0].Reason, "stato") {
		t.Fatalf("refusals %+v", st.Rejected)
	}
	got, err := s.svc.DB().Application(ctx, app.ID)
	if err != nil || got.State != application.InLavorazione || got.Values["descrizione"] == "cambiata" {
		t.Fatalf("server: %+v %v", got, err)
	}
	var moves int
	if err := s.svc.DB().Read(ctx, func(q store.Querier) error {
		return q.QueryRow(`SELECT count(*) FROM application_history WHERE application_id = ? AND to_state = 'in_lavorazione' AND operator_id = ?`, app.ID, ref.OperatorID).Scan(&moves)
	}); err != nil || moves != 1 {
		t.Fatalf("%d history entries of the move (%v)", moves, err)
	}
	if _, err := s.svc.DB().CitizenByCF(ctx, cf(t, "Gialli", "Eva", "1971-01-01")); err != nil {
		t.Fatalf("change after the refused one: %v", err)
	}
	// The refused edit was undone on the desk too.
	if mine, err := a.svc.DB().Application(ctx, app.ID); err != nil || mine.Values["descrizione"] == "cambiata" {
		t.Fatalf("desk: %+v %v", mine.Values, err)
	}
}

// subDemotedOffline is a desk that synced once and then, offline, has the
// protocol officer (sub), whom the server has made a referent meanwhile
// (no protocol), and the desk operator (op) logged in.
func subDemotedOffline(t *testing.T) (s *testServer, a *replica, sub, op desk.Session) {
	t.Helper()
	s = startServer(t)
	a = enroll(t, s, "DESK01", false)
	a.sync(t)
	sub = login(t, a.svc, "protocollo")
	demote(t, s.svc.DB(), sub.OperatorID)
	return s, a, sub, login(t, a.svc, "sportello")
}

// An emergency registration the server refuses (its operator lost the
// role while the desk was offline) is removed by the repair, but its
// number was on the citizen's receipt: the desk's next emergency
// registration gets the following number, never that one again.
func TestRefusedEmergencyNumberIsNotGivenAgain(t *testing.T) {
	ctx := context.Background()
	s, a, sub, op := subDemotedOffline(t)
	opened, err := a.svc.ProtocolApplication(ctx, op, completeComplaint(t, a, op, "Bruni").ID)
	if err != nil || !opened.Emergency || opened.Registration.EmergencyNumber != 1 {
		t.Fatalf("first emergency registration: %q %v", opened.Label, err)
	}
	first, err := a.svc.ProtocolApplication(ctx, sub, completeComplaint(t, a, op, "Ferri").ID)
	if err != nil || !first.Emergency || first.Registration.EmergencyNumber != 2 {
		t.Fatalf("the demoted officer's emergency registration: %q %v", first.Label, err)
	}
	a.sync(t)
	a.sync(t)
	if _, err := a.svc.DB().Registration(ctx, first.Registration.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the refused registration is still on the desk: %v", err)
	}
	listed := false
	for _, r := range a.client.State().Rejected {
		listed = listed || r.Table == "protocol_registrations" && strings.Contains(r.Label, first.Label)
	}
	if !listed {
		t.Fatalf("the refused registration is not on the operator's list: %+v", a.client.State().Rejected)
	}
	second, err := a.svc.ProtocolApplication(ctx, op, completeComplaint(t, a, op, "Gatti").ID)
	if err != nil || !second.Emergency || second.Registration.EmergencyNumber != 3 || second.Registration.EmergencyRegister != first.Registration.EmergencyRegister {
		t.Fatalf("next emergency registration: %q (emergency %v) %v, want the number after %q", second.Label, second.Emergency, err, first.Label)
	}
	a.sync(t)
	if got, err := s.svc.DB().Registration(ctx, second.Registration.ID); err != nil || got.EmergencyNumber != 3 {
		t.Fatalf("server: %+v %v", got, err)
	}
}

// The emergency period is a fact of the workstation: the one a protocol
// officer's registration opened on an offline desk is taken though the
// server has given that officer another role meanwhile (that registration
// is refused), so the registration an operator with the role made in the
// same period is loaded and numbered, not refused with it.
func TestEmergencyPeriodOutlivesItsOpenersRoleChange(t *testing.T) {
	ctx := context.Background()
	s, a, sub, op := subDemotedOffline(t)
	first, second := twoInOnePeriod(t, a, op, completeComplaint(t, a, op, "Ferri"), sub, op)
	a.sync(t)
	a.sync(t)
	got, err := s.svc.DB().Registration(ctx, second.Registration.ID)
	if err != nil || got.EmergencyNumber != 2 || got.Number == 0 || got.InterruptionID != first.Registration.InterruptionID {
		t.Fatalf("the registration with the role on the server: %+v %v (refused: %+v)", got, err, a.client.State().Rejected)
	}
	for _, r := range a.client.State().Rejected {
		if r.Table == "protocol_interruptions" || strings.Contains(r.Label, second.Label) {
			t.Errorf("refused: %+v", r)
		}
	}
	if _, err := s.svc.DB().Registration(ctx, first.Registration.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the demoted officer's registration: %v, want refused", err)
	}
	// A period that names another workstation is refused.
	if err := a.svc.DB().Write(ctx, store.Actor{OperatorID: op.OperatorID}, func(tx *store.Tx) error {
		return tx.Insert("protocol_interruptions", "forged-period", store.Fields{"workstation_id": "another", "register_code": "EM-X",
			"cause": "Guasto", "authorized_by": op.OperatorID, "started_at": tx.NowString()})
	}); err != nil {
		t.Fatal(err)
	}
	a.sync(t)
	refused := false
	for _, r := range a.client.State().Rejected {
		refused = refused || r.RowID == "forged-period" && r.Code == CodeForbidden
	}
	if !refused {
		t.Fatalf("a period of another workstation: %+v", a.client.State().Rejected)
	}
}

// A local transaction is one act, judged by the operator's account as the
// server found it at the transaction's first change: a registration whose
// changes reach the server in two pushes, with the officer given another
// role in between, is taken whole (the registration and the application's
// move), not half.
func TestTransactionSplitAcrossPushesIsJudgedOnce(t *testing.T) {
	ctx := context.Background()
	s := startServer(t)
	a := enroll(t, s, "DESK01", false)
	op := login(t, a.svc, "sportello")
	app := completeComplaint(t, a, op, "Ferri")
	a.sync(t)
	officer := login(t, a.svc, "protocollo")
	if _, err := a.svc.ProtocolApplication(ctx, officer, app.ID); err != nil {
		t.Fatal(err)
	}
	// The first push carries the emergency period and the registration.
	a.client.cfg.Batch = 2
	if res := pushOnce(t, a); res.err != nil || len(res.pr.Rejected) != 0 || res.pr.AckedSeq != res.b.lastSeq {
		t.Fatalf("first push: %v %+v", res.err, res.pr)
	}
	demote(t, s.svc.DB(), officer.OperatorID)
	a.client.cfg.Batch = 5000
	a.sync(t)
	a.sync(t)
	if st := a.client.State(); len(st.Rejected) != 0 {
		t.Fatalf("refused: %+v", st.Rejected)
	}
	if got, err := s.svc.DB().Application(ctx, app.ID); err != nil || got.State != application.Protocollata {
		t.Fatalf("application on the server: %q %v", got.State, err)
	}
	// The officer's next act is judged by the new role.
	forge(t, a, officer.OperatorID, "citizens", citizen.IDForCodiceFiscale(cf(t, "Ferri", "Marta", "1982-06-07")), store.Fields{"phone": "+39 333 1111111"})
	a.sync(t)
	a.sync(t)
	if st := a.client.State(); len(st.Rejected) != 1 || st.Rejected[0].Table != "citizens" || st.Rejected[0].Code != CodeForbidden {
		t.Fatalf("refusals after the transaction: %+v", st.Rejected)
	}
}

// A deactivation takes effect at a workstation when it arrives there.
// Everything the operator did on a desk that was offline when the server
// deactivated them — a new citizen, an application, an emergency
// registration whose number is on the citizen's receipt, opening the
// emergency period that an active operator's registration then used — is
// kept and numbered. Once the desk has the deactivation, the operator's
// session saves nothing more; a change a workstation sends anyway under
// that operator's name is refused.
func TestWorkBeforeTheDeactivationArrivedIsKept(t *testing.T) {
	ctx := context.Background()
	s := startServer(t)
	a := enroll(t, s, "DESK01", false)
	a.sync(t)
	op, other := login(t, a.svc, "sportello"), login(t, a.svc, "protocollo")
	deactivate(t, s.svc.DB(), op.OperatorID)
	app := completeComplaint(t, a, op, "Ferri") // a new citizen and an application
	first, second := twoInOnePeriod(t, a, op, app, op, other)
	a.sync(t)
	a.sync(t)
	if st := a.client.State(); len(st.Rejected) != 0 || st.Pending != 0 {
		t.Fatalf("refused %+v, %d pending", st.Rejected, st.Pending)
	}
	for i, res := range []desk.ProtocolResult{first, second} {
		got, err := s.svc.DB().Registration(ctx, res.Registration.ID)
		if err != nil || got.EmergencyNumber != int64(i+1) || got.Number == 0 || got.InterruptionID != first.Registration.InterruptionID {
			t.Fatalf("registration %q on the server: %+v %v", res.Label, got, err)
		}
	}
	if got, err := s.svc.DB().Application(ctx, app.ID); err != nil || got.State != application.Protocollata {
		t.Fatalf("application on the server: %q %v", got.State, err)
	}
	if _, err := s.svc.DB().CitizenByCF(ctx, cf(t, "Ferri", "Marta", "1982-06-07")); err != nil {
		t.Fatalf("citizen on the server: %v", err)
	}
	// The desk has the deactivation now.
	if err := a.svc.Forward(ctx, op, app.ID, ""); !errors.Is(err, desk.ErrOperatorDeactivated) {
		t.Fatalf("a change by the deactivated operator's session: %v", err)
	}
	// A workstation that sends one anyway (the desk's check skipped) is
	// refused; so is one enrolled since, whose initial copy had the
	// deactivation.
	b := enroll(t, s, "DESK02", false)
	for _, r := range []*replica{a, b} {
		forge(t, r, op.OperatorID, "citizens", citizen.IDForCodiceFiscale(cf(t, "Ferri", "Marta", "1982-06-07")), store.Fields{"phone": "+39 333 1111111"})
		r.sync(t)
		r.sync(t)
		if st := r.client.State(); len(st.Rejected) != 1 || st.Rejected[0].Code != CodeForbidden || !strings.Contains(st.Rejected[0].Reason, "disattivato") {
			t.Fatalf("refusals on %s: %+v", r.svc.DB().WorkstationID(), st.Rejected)
		}
	}
	// Active again: the desk takes the operator's work again.
	changeOperator(t, s.svc.DB(), op.OperatorID, func(o *store.Operator) { o.Active = true })
	a.sync(t)
	if err := a.svc.Forward(ctx, op, app.ID, ""); err != nil {
		t.Fatal(err)
	}
	a.sync(t)
	if got, err := s.svc.DB().Application(ctx, app.ID); err != nil || got.State != application.Inoltrata {
		t.Fatalf("forwarded on the server: %q %v", got.State, err)
	}
}

// An application whose registration the server refused (its operator lost
// the role while the desk was offline) is not forwarded by another
// operator's later move either: the server refuses moving it past
// completa with no registration, and the desk is back to completa, to
// protocol it again.
func TestApplicationIsNotForwardedWithoutARegistration(t *testing.T) {
	ctx := context.Background()
	s, a, sub, op := subDemotedOffline(t)
	app := completeComplaint(t, a, op, "Ferri")
	if _, err := a.svc.ProtocolApplication(ctx, sub, app.ID); err != nil {
		t.Fatal(err)
	}
	if err := a.svc.Forward(ctx, op, app.ID, ""); err != nil {
		t.Fatal(err)
	}
	a.sync(t)
	a.sync(t)
	for name, db := range map[string]*store.DB{"server": s.svc.DB(), "desk": a.svc.DB()} {
		if got, err := db.Application(ctx, app.ID); err != nil || got.State != application.Completa {
			t.Errorf("%s: application %q (%v), want completa", name, got.State, err)
		}
	}
	refused := false
	for _, r := range a.client.State().Rejected {
		refused = refused || r.Table == "applications" && r.Code == CodeConstraint && strings.Contains(r.Reason, "protocollata")
	}
	if !refused {
		t.Fatalf("the forward is not on the operator's list: %+v", a.client.State().Rejected)
	}
	// Nor does its history say it moved: the move's entry is refused with it.
	for name, db := range map[string]*store.DB{"server": s.svc.DB(), "desk": a.svc.DB()} {
		var moves int
		if err := db.Read(ctx, func(q store.Querier) error {
			return q.QueryRow(`SELECT count(*) FROM application_history WHERE application_id = ? AND to_state IN ('protocollata', 'inoltrata')`, app.ID).Scan(&moves)
		}); err != nil || moves != 0 {
			t.Errorf("%s: %d history entries of moves that did not happen (%v)", name, moves, err)
		}
	}
	// Protocolled again by an operator with the role, it moves on.
	if _, err := a.svc.ProtocolApplication(ctx, op, app.ID); err != nil {
		t.Fatal(err)
	}
	if err := a.svc.Forward(ctx, op, app.ID, ""); err != nil {
		t.Fatal(err)
	}
	a.sync(t)
	if got, err := s.svc.DB().Application(ctx, app.ID); err != nil || got.State != application.Inoltrata {
		t.Fatalf("server: %q %v, want inoltrata", got.State, err)
	}
}

// The protocol office registers applications too (a desk's complete
// application left for it): the application's move to protocollata and its
// history entry are part of the registration, so the server takes them
// from a role that may register, though it does not file applications.
func TestProtocolOfficerProtocolsAnApplication(t *testing.T) {
	ctx := context.Background()
	s := startServer(t)
	a := enroll(t, s, "DESK01", false)
	op := login(t, a.svc, "sportello")
	app := completeComplaint(t, a, op, "Ferri")
	a.sync(t)
	officer := login(t, a.svc, "protocollo")
	res, err := a.svc.ProtocolApplication(ctx, officer, app.ID)
	if err != nil {
		t.Fatalf("protocol: %+v %v", res, err)
	}
	a.sync(t)
	if st := a.client.State(); len(st.Rejected) != 0 {
		t.Fatalf("refused: %+v", st.Rejected)
	}
	if got, err := s.svc.DB().Application(ctx, app.ID); err != nil || got.State != application.Protocollata {
		t.Fatalf("server: application %q (%v), want protocollata", got.State, err)
	}
	// The officer still may not change anything else of an application.
	forge(t, a, officer.OperatorID, "applications", app.ID, store.Fields{"form_data": `{"descrizione":"cambiata"}`})
	a.sync(t)
	a.sync(t)
	if st := a.client.State(); len(st.Rejected) != 1 || st.Rejected[0].Table != "applications" || st.Rejected[0].Code != CodeForbidden {
		t.Fatalf("refusals: %+v", st.Rejected)
	}
}
