package sync

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"sportello/internal/application"
	"sportello/internal/auth"
	"sportello/internal/catalog"
	"sportello/internal/citizen"
	"sportello/internal/codicefiscale"
	"sportello/internal/desk"
	"sportello/internal/hlc"
	"sportello/internal/protocol"
	"sportello/store"
)

type testServer struct {
	svc  *desk.Service
	ts   *httptest.Server
	pin  string
	sync *Server
}

func startServer(t testing.TB) *testServer {
	t.Helper()
	s, _ := restorable(t)
	return s
}

type replica struct {
	svc    *desk.Service
	client *Client
	dir    string
}

func enroll(t testing.TB, s *testServer, code string, confidential bool) *replica {
	t.Helper()
	ctx := context.Background()
	kind := "desk"
	if confidential {
		kind = "interview"
	}
	_, enrol, err := CreateWorkstation(ctx, s.svc.DB(), code, "Postazione "+code, kind, confidential)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// A replica that started on demo data before being enrolled.
	pre, err := desk.Open(ctx, dir, desk.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	pre.SeedDemo(ctx)
	pre.Close()
	if _, err := Enroll(ctx, filepath.Join(dir, "sportello.db"), s.ts.URL, s.pin, enrol, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := Enroll(ctx, filepath.Join(dir, "sportello.db"), s.ts.URL, s.pin, enrol, nil); err == nil {
		t.Fatal("enrolment code accepted twice")
	}
	svc, err := desk.Open(ctx, dir, desk.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	if svc.DB().WorkstationCode() != code {
		t.Fatalf("workstation code %q after enrolment", svc.DB().WorkstationCode())
	}
	cfg, err := LoadConfig(ctx, svc.DB())
	if err != nil {
		t.Fatal(err)
	}
	return &replica{svc: svc, client: NewClient(svc.DB(), svc.Blobs(), cfg), dir: dir}
}

func (r *replica) sync(t *testing.T) {
	t.Helper()
	if err := r.client.SyncOnce(context.Background()); err != nil {
		t.Fatalf("sync: %v", err)
	}
}

func login(t testing.TB, svc *desk.Service, user string) desk.Session {
	t.Helper()
	s, err := svc.Login(context.Background(), user, desk.DemoPassword)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func cf(t *testing.T, surname, name, born string) string {
	d, _ := time.Parse("2006-01-02", born)
	c, err := codicefiscale.Compute(surname, name, d, "F", "H501")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fill gives every field of a procedure a valid value.
func fill(p catalog.Procedure, c citizen.Citizen) map[string]string {
	v := map[string]string{}
	for _, f := range p.Fields {
		switch f.Type {
		case catalog.CodiceFiscale:
			v[f.Key] = c.CodiceFiscale
		case catalog.Date:
			v[f.Key] = "2026-01-10"
		case catalog.Email, catalog.PEC:
			v[f.Key] = "cittadina@example.it"
		case catalog.Phone:
			v[f.Key] = "+39 333 1234567"
		case catalog.CAP:
			v[f.Key] = "25080"
		case catalog.IBAN:
			v[f.Key] = "IT60X0542811101000000123456"
		case catalog.Number:
			v[f.Key] = "1"
		case catalog.Checkbox:
			v[f.Key] = "true"
		case catalog.Choice:
			v[f.Key] = f.Options[0].Value
		default:
			v[f.Key] = "Testo di prova"
		}
	}
	return v
}

func pngBytes(seed byte) []byte {
	img := image.NewGray(image.Rect(0, 0, 8, 8))
	img.Pix[0] = seed
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

func checksums(t testing.TB, db *store.DB) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, table := range db.ReplicatedTables() {
		sum, n, err := db.TableChecksum(context.Background(), table)
		if err != nil {
			t.Fatal(err)
		}
		out[table] = sum + " " + string(rune('0'+min(n, 9)))
	}
	return out
}

func TestTwoReplicasConvergeAndProtocolGetsDefinitiveNumber(t *testing.T) {
	ctx := context.Background()
	s := startServer(t)
	a := enroll(t, s, "DESK01", false)
	b := enroll(t, s, "DESK02", false)
	opA, opB := login(t, a.svc, "sportello"), login(t, b.svc, "sportello")

	// A files a complaint with an attachment and protocols it offline.
	x, err := a.svc.SaveCitizen(ctx, opA, citizen.Citizen{Surname: "Bianchi", Name: "Laura", CodiceFiscale: cf(t, "Bianchi", "Laura", "1990-04-01"), Email: "laura@example.it"})
	if err != nil {
		t.Fatal(err)
	}
	cat, _ := a.svc.Catalog(ctx)
	p, _ := cat.Procedure("reclamo")
	app, err := a.svc.NewApplication(ctx, opA, "reclamo", x.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.svc.SaveDraft(ctx, opA, app.ID, fill(p, x), nil); err != nil {
		t.Fatal(err)
	}
	att, err := a.svc.AddAttachment(ctx, opA, app.ID, "documentazione", "foto.png", bytes.NewReader(pngBytes(1)), false)
	if err != nil {
		t.Fatal(err)
	}
	if probs, err := a.svc.MarkComplete(ctx, opA, app.ID); err != nil || len(probs) > 0 {
		t.Fatalf("complete: %v %+v", err, probs)
	}
	res, err := a.svc.ProtocolApplication(ctx, opA, app.ID)
	if err != nil || !res.Emergency {
		t.Fatalf("protocol: %v %+v", err, res)
	}
	a.sync(t) // push: the server numbers the registration
	a.sync(t) // pull: the number comes back
	apps, _ := a.svc.ApplicationsOfCitizen(ctx, opA, x.ID)
	_, year := protocol.LegalDate(time.Now())
	if len(apps) != 1 || apps[0].Emergency || apps[0].ProtocolLabel != protocol.NumberLabel(1, year) {
		t.Fatalf("definitive number not back on A: %+v", apps)
	}
	reg, _ := a.svc.Registration(ctx, opA, res.Registration.ID)
	if reg.EmergencyLabel() != res.Label || reg.Number != 1 {
		t.Fatalf("emergency link lost: %+v", reg)
	}

	// B receives everything, attachment included.
	b.sync(t)
	if got, err := b.svc.Application(ctx, opB, app.ID); err != nil || got.State != "protocollata" {
		t.Fatalf("B application: %v %+v", err, got)
	}
	if err := b.svc.Blobs().Verify(ctx, att.SHA256); err != nil {
		t.Fatalf("B attachment: %v", err)
	}
	var n int
	s.svc.DB().Read(ctx, func(q store.Querier) error {
		return q.QueryRow(`SELECT count(*) FROM notifications WHERE kind = 'protocollo_definitivo' AND address = 'laura@example.it'`).Scan(&n)
	})
	if n != 1 {
		t.Fatalf("citizen notification not queued: %d", n)
	}

	// The same citizen registered on both, offline, with different contacts.
	yCF := cf(t, "Verdi", "Anna", "1980-02-02")
	if _, err := a.svc.SaveCitizen(ctx, opA, citizen.Citizen{Surname: "Verdi", Name: "Anna", CodiceFiscale: yCF, Email: "anna@example.it"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.SaveCitizen(ctx, opB, citizen.Citizen{Surname: "Verdi", Name: "Anna", CodiceFiscale: yCF, Phone: "+39 320 7654321"}); err != nil {
		t.Fatal(err)
	}
	a.sync(t)
	b.sync(t)
	a.sync(t)
	for name, r := range map[string]*replica{"A": a, "B": b} {
		y, err := r.svc.DB().CitizenByCF(ctx, yCF)
		if err != nil || y.Email != "anna@example.it" || y.Phone != "+39 320 7654321" {
			t.Fatalf("%s: merged citizen %+v %v", name, y, err)
		}
	}
	// Every replicated table is identical on A, B and the server.
	sa, sb, ss := checksums(t, a.svc.DB()), checksums(t, b.svc.DB()), checksums(t, s.svc.DB())
	for table := range ss {
		if sa[table] != ss[table] || sb[table] != ss[table] {
			t.Errorf("table %s differs: A %s B %s server %s", table, sa[table], sb[table], ss[table])
		}
	}
	if st := a.client.State(); !st.Online || st.Pending != 0 || st.LastError != "" {
		t.Fatalf("A state %+v", st)
	}

	// Revocation: B's next request is refused with a clear message.
	if err := RevokeWorkstation(ctx, s.svc.DB(), "DESK02"); err != nil {
		t.Fatal(err)
	}
	err = b.client.SyncOnce(ctx)
	var se *ServerError
	if !errors.As(err, &se) || se.Body.Code != CodeRevoked || !strings.Contains(b.client.State().LastError, "revocata") {
		t.Fatalf("revoked workstation: %v / %q", err, b.client.State().LastError)
	}
}

func TestServerRefusesBadInputAndKeepsTheRest(t *testing.T) {
	ctx := context.Background()
	s := startServer(t)
	a := enroll(t, s, "DESK01", false)
	op := login(t, a.svc, "sportello")
	before := checksums(t, s.svc.DB())
	hc := PinnedClient(s.pin)
	post := func(path, body string, hdr map[string]string) (int, ErrorBody) {
		req, _ := http.NewRequest(http.MethodPost, s.ts.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+a.client.cfg.Token)
		req.Header.Set(HeaderSchema, strconv.Itoa(store.SchemaVersion()))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var eb ErrorBody
		json_ := json_decode(resp.Body, &eb)
		_ = json_
		return resp.StatusCode, eb
	}
	if code, eb := post("/v1/push", `{"changes":[`, nil); code != 400 || eb.Code != CodeBadRequest || eb.Message == "" {
		t.Errorf("malformed JSON: %d %+v", code, eb)
	}
	// A workstation updated before the server, and one not yet updated:
	// each is told which program to update.
	if code, eb := post("/v1/push", `{"changes":[]}`, map[string]string{HeaderSchema: "999"}); code != 409 || eb.Code != CodeSchemaMismatch ||
		!strings.Contains(eb.Message, "aggiornato il server") || !strings.Contains(eb.Message, "postazione 999") {
		t.Errorf("newer workstation: %d %+v", code, eb)
	}
	if code, eb := post("/v1/push", `{"changes":[]}`, map[string]string{HeaderSchema: "1"}); code != 409 || eb.Code != CodeSchemaMismatch ||
		!strings.Contains(eb.Message, "aggiornare Sportello su questa postazione") || !errors.Is(&ServerError{Status: code, Body: eb}, ErrSchemaMismatch) {
		t.Errorf("older workstation: %d %+v", code, eb)
	}
	if code, eb := post("/v1/push", `{"changes":[]}`, map[string]string{"Authorization": "Bearer forged"}); code != 401 || eb.Code != CodeUnauthorized {
		t.Errorf("bad token: %d %+v", code, eb)
	}
	big := `{"changes":[],"x":"` + strings.Repeat("a", MaxPushBytes+10) + `"}`
	if code, eb := post("/v1/push", big, nil); code != 413 && code != 400 {
		t.Errorf("oversize: %d %+v", code, eb)
	}
	// A blob whose bytes do not match its digest is refused and not stored.
	wrong := strings.Repeat("ab", 32)
	req, _ := http.NewRequest(http.MethodPut, s.ts.URL+"/v1/blobs/"+wrong, strings.NewReader("contenuto"))
	req.Header.Set("Authorization", "Bearer "+a.client.cfg.Token)
	req.Header.Set(HeaderSchema, strconv.Itoa(store.SchemaVersion()))
	req.Header.Set(HeaderBlobSize, "9")
	req.Header.Set(HeaderOffset, "0")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnprocessableEntity || s.svc.Blobs().Has(wrong) {
		t.Fatalf("mismatching blob: %d", resp.StatusCode)
	}
	// A pull that reports a clock that is not one.
	req, _ = http.NewRequest(http.MethodGet, s.ts.URL+"/v1/pull?after=0", nil)
	req.Header.Set("Authorization", "Bearer "+a.client.cfg.Token)
	req.Header.Set(HeaderSchema, strconv.Itoa(store.SchemaVersion()))
	req.Header.Set(HeaderFloor, "domani")
	if resp, err = hc.Do(req); err != nil {
		t.Fatal(err)
	}
	var eb ErrorBody
	json_decode(resp.Body, &eb)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || eb.Code != CodeBadRequest || eb.Message == "" {
		t.Fatalf("bad floor: %d %+v", resp.StatusCode, eb)
	}
	// A pull that reports a date and time that are not one.
	req.Header.Set(HeaderFloor, hlc.Timestamp{WallMillis: time.Now().UnixMilli(), Node: "x"}.String())
	req.Header.Set(HeaderClock, "ieri")
	if resp, err = hc.Do(req); err != nil {
		t.Fatal(err)
	}
	eb = ErrorBody{}
	json_decode(resp.Body, &eb)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || eb.Code != CodeBadRequest || eb.Message != "Data e ora della postazione non valide" {
		t.Fatalf("bad clock: %d %+v", resp.StatusCode, eb)
	}
	if d := checksums(t, s.svc.DB()); !mapsEqual(d, before) {
		t.Fatal("bad input changed the server's data")
	}

	// A batch where one change is forbidden: the rest is applied.
	if _, err := a.svc.SaveCitizen(ctx, op, citizen.Citizen{Surname: "Neri", Name: "Ugo", CodiceFiscale: cf(t, "Neri", "Uga", "1970-01-01")}); err != nil {
		t.Fatal(err)
	}
	// Forge a protocol number locally (only the server may assign them).
	if err := a.svc.DB().Write(ctx, store.Actor{OperatorID: op.OperatorID}, func(tx *store.Tx) error {
		_, err := tx.Put("notifications", "n-forged", store.Fields{"citizen_id": "x", "channel": "sms", "address": "1", "kind": "k", "subject": "s", "body": "b", "created_at": "t"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.svc.SaveCitizen(ctx, op, citizen.Citizen{Surname: "Gialli", Name: "Eva", CodiceFiscale: cf(t, "Gialli", "Eva", "1971-01-01")}); err != nil {
		t.Fatal(err)
	}
	a.sync(t)
	st := a.client.State()
	if len(st.Rejected) != 1 || st.Rejected[0].Code != CodeServerOnly || st.Pending != 0 {
		t.Fatalf("rejections %+v pending %d", st.Rejected, st.Pending)
	}
	if _, err := s.svc.DB().CitizenByCF(ctx, cf(t, "Gialli", "Eva", "1971-01-01")); err != nil {
		t.Fatalf("change after the refused one was not applied: %v", err)
	}
	// The refused change is still listed after the app restarts (a new
	// client on the same replica), until the operator marks it read.
	cfg, err := LoadConfig(ctx, a.svc.DB())
	if err != nil {
		t.Fatal(err)
	}
	again := NewClient(a.svc.DB(), a.svc.Blobs(), cfg)
	if err := again.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if st := again.State(); len(st.Rejected) != 1 || st.Rejected[0] != a.client.State().Rejected[0] {
		t.Fatalf("refused changes after a restart: %+v", st.Rejected)
	}
	if err := again.DismissRejected(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if st := NewClient(a.svc.DB(), a.svc.Blobs(), cfg); st.SyncOnce(ctx) != nil || len(st.State().Rejected) != 0 || len(again.State().Rejected) != 0 {
		t.Fatalf("refused changes after marking them read: %+v", st.State().Rejected)
	}

	// A change that passes the checks but fails while it is being written
	// (a delegation for citizens the server does not have: foreign key). The
	// server applies batches without savepoints first; here it must undo the
	// attempt and apply the batch again change by change, so that only the
	// failing change is refused, with nothing of it left behind.
	local, err := a.svc.DB().LocalChangesAfter(ctx, 0, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	next := local[len(local)-1].OriginSeq + 1
	change := func(seq int64, table, id, data string) Change {
		return Change{TxID: "tx-forged", Table: table, RowID: id, Op: "insert", Data: json.RawMessage(data), HLC: a.svc.DB().Clock().Now().String(),
			OperatorID: op.OperatorID, WorkstationID: a.svc.DB().WorkstationID(), OriginSeq: seq}
	}
	batch := PushRequest{Changes: []Change{
		change(next, "citizens", "c-before", `{"surname":"Prima","name":"Ada","created_at":"t","updated_at":"t"}`),
		change(next+1, "citizen_delegations", "d-broken", `{"citizen_id":"nessuno","delegate_id":"altro","created_at":"t","updated_at":"t"}`),
		change(next+2, "citizens", "c-after", `{"surname":"Dopo","name":"Bea","created_at":"t","updated_at":"t"}`),
	}}
	body, _ := json.Marshal(batch)
	req, _ = http.NewRequest(http.MethodPost, s.ts.URL+"/v1/push", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+a.client.cfg.Token)
	req.Header.Set(HeaderSchema, strconv.Itoa(store.SchemaVersion()))
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var pr PushResponse
	if err := decodeResp(resp, &pr); err != nil {
		t.Fatal(err)
	}
	if pr.AckedSeq != next+2 || len(pr.Rejected) != 1 || pr.Rejected[0].OriginSeq != next+1 || pr.Rejected[0].Code != CodeConstraint {
		t.Fatalf("push response %+v", pr)
	}
	for _, id := range []string{"c-before", "c-after"} {
		if _, err := s.svc.DB().Citizen(ctx, id); err != nil {
			t.Errorf("citizen %s around the failing change: %v", id, err)
		}
	}
	var n int
	if err := s.svc.DB().Read(ctx, func(q store.Querier) error {
		return q.QueryRow(`SELECT (SELECT count(*) FROM citizen_delegations) + (SELECT count(*) FROM sync_changes WHERE row_id = 'd-broken')`).Scan(&n)
	}); err != nil || n != 0 {
		t.Fatalf("the failing change left %d rows behind (%v)", n, err)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	keys := make([]string, 0, len(a))
	for k := range a {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if a[k] != b[k] {
			return false
		}
	}
	return true
}

func TestOnlineProtocolGetsDefinitiveNumberAtOnce(t *testing.T) {
	ctx := context.Background()
	s := startServer(t)
	a := enroll(t, s, "DESK01", false)
	a.svc.SetConnector(a.client)
	op := login(t, a.svc, "sportello")
	a.sync(t) // now online
	if !a.client.Online() {
		t.Fatal("client not online after a successful sync")
	}
	x, err := a.svc.SaveCitizen(ctx, op, citizen.Citizen{Surname: "Rosa", Name: "Maria", CodiceFiscale: cf(t, "Rosa", "Maria", "1991-05-05"), Email: "maria@example.it"})
	if err != nil {
		t.Fatal(err)
	}
	cat, _ := a.svc.Catalog(ctx)
	p, _ := cat.Procedure("richiesta-informazioni")
	app, _ := a.svc.NewApplication(ctx, op, p.ID, x.ID, "")
	if err := a.svc.SaveDraft(ctx, op, app.ID, fill(p, x), nil); err != nil {
		t.Fatal(err)
	}
	if probs, err := a.svc.MarkComplete(ctx, op, app.ID); err != nil || len(probs) > 0 {
		t.Fatalf("%v %+v", err, probs)
	}
	res, err := a.svc.ProtocolApplication(ctx, op, app.ID)
	if err != nil {
		t.Fatal(err)
	}
	_, year := protocol.LegalDate(time.Now())
	if res.Emergency || res.Pending || res.Label != protocol.NumberLabel(1, year) {
		t.Fatalf("online protocol: %+v", res)
	}
	// The server stops answering: the next registration goes to the emergency register.
	s.ts.Close()
	a.client.SyncOnce(ctx)
	if a.client.Online() {
		t.Fatal("still online with the server down")
	}
	app2, _ := a.svc.NewApplication(ctx, op, p.ID, x.ID, "")
	a.svc.SaveDraft(ctx, op, app2.ID, fill(p, x), nil)
	a.svc.MarkComplete(ctx, op, app2.ID)
	res2, err := a.svc.ProtocolApplication(ctx, op, app2.ID)
	if err != nil || !res2.Emergency || !strings.HasPrefix(res2.Label, "EM-DESK01/") {
		t.Fatalf("offline protocol: %v %+v", err, res2)
	}
}

// greco registers the citizen of the confidentiality tests on r.
func greco(t *testing.T, r *replica, op desk.Session) citizen.Citizen {
	t.Helper()
	x, err := r.svc.SaveCitizen(context.Background(), op, citizen.Citizen{Surname: "Greco", Name: "Francesca",
		CodiceFiscale: cf(t, "Greco", "Francesca", "1965-01-25"), Email: "f.greco@example.it"})
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// confidentialDraft files, on an interview room, a draft of the demo's
// confidential procedure for greco with every field filled.
func confidentialDraft(t *testing.T, room *replica, op desk.Session) (citizen.Citizen, catalog.Procedure, application.Application, map[string]string) {
	t.Helper()
	ctx := context.Background()
	x := greco(t, room, op)
	cat, _ := room.svc.Catalog(ctx)
	p, _ := cat.Procedure("contributo-economico")
	if !p.Confidential {
		t.Fatal("the demo's contributo-economico is not confidential")
	}
	app, err := room.svc.NewApplication(ctx, op, p.ID, x.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	values := fill(p, x)
	values["provincia_residenza"] = "BS"
	if err := room.svc.SaveDraft(ctx, op, app.ID, values, nil); err != nil {
		t.Fatal(err)
	}
	return x, p, app, values
}

// A confidential application filed in an interview room reaches the server
// and the other confidential workstation, but nothing of it — application,
// history, registration, documents, definitive number, the citizen's
// notification (its text names the application) — reaches a desk replica.
func TestConfidentialRecordsNeverReachADesk(t *testing.T) {
	ctx := context.Background()
	s := startServer(t)
	room := enroll(t, s, "COLL01", true)
	room2 := enroll(t, s, "COLL02", true)
	desk1 := enroll(t, s, "DESK01", false)
	op := login(t, room.svc, "colloqui")
	x, _, app, _ := confidentialDraft(t, room, op)
	if _, err := room.svc.AddAttachment(ctx, op, app.ID, "attestazione_isee", "isee.pdf", strings.NewReader("%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"), false); err != nil {
		t.Fatal(err)
	}
	if _, err := room.svc.AddAttachment(ctx, op, app.ID, "documento_identita", "documento.png", bytes.NewReader(pngBytes(10)), false); err != nil {
		t.Fatal(err)
	}
	queriesAtt := `SELECT count(*) FROM application_attachments WHERE application_id = ?`
	if p, err := room.svc.MarkComplete(ctx, op, app.ID); err != nil || len(p) > 0 {
		t.Fatalf("complete: %v %v", err, p)
	}
	res, err := room.svc.ProtocolApplication(ctx, op, app.ID)
	if err != nil {
		t.Fatal(err)
	}
	room.sync(t)
	room.sync(t)
	room2.sync(t)
	desk1.sync(t)

	count := func(db *store.DB, q string, args ...any) int {
		var n int
		if err := db.Read(ctx, func(qr store.Querier) error { return qr.QueryRow(q, args...).Scan(&n) }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	queries := map[string]string{
		"applications":            `SELECT count(*) FROM applications WHERE id = ?`,
		"application_history":     `SELECT count(*) FROM application_history WHERE application_id = ?`,
		"application_attachments": queriesAtt,
		"protocol_registrations":  `SELECT count(*) FROM protocol_registrations WHERE application_id = ?`,
		"protocol_documents":      `SELECT count(*) FROM protocol_documents WHERE registration_id IN (SELECT id FROM protocol_registrations WHERE application_id = ?)`,
		"protocol_numbers":        `SELECT count(*) FROM protocol_numbers WHERE registration_id = '` + res.Registration.ID + `' AND ? <> ''`,
		"notifications":           `SELECT count(*) FROM notifications WHERE ref_id = '` + res.Registration.ID + `' AND ? <> ''`,
		"sync_versions (the app)": `SELECT count(*) FROM sync_versions WHERE row_id = ?`,
	}
	for what, q := range queries {
		if n := count(s.svc.DB(), q, app.ID); n == 0 {
			t.Errorf("server has no %s", what)
		}
		if n := count(room2.svc.DB(), q, app.ID); n == 0 && what != "sync_versions (the app)" {
			t.Errorf("the other interview room has no %s", what)
		}
		if n := count(desk1.svc.DB(), q, app.ID); n != 0 {
			t.Errorf("the desk replica holds %d %s of a confidential application", n, what)
		}
	}
	// Nor its files, even asked for by digest (the protocol register
	// prints the impronta of every document).
	var sha string
	if err := s.svc.DB().Read(ctx, func(q store.Querier) error {
		return q.QueryRow(`SELECT sha256 FROM application_attachments WHERE application_id = ? ORDER BY sha256 LIMIT 1`, app.ID).Scan(&sha)
	}); err != nil {
		t.Fatal(err)
	}
	if desk1.svc.Blobs().Has(sha) {
		t.Error("the desk replica holds a file of a confidential application")
	}
	var se *ServerError
	if resp, err := desk1.client.do(ctx, http.MethodGet, "/v1/blobs/"+sha, nil, nil); err == nil {
		resp.Body.Close()
		t.Error("the server gave a desk a file of a confidential application")
	} else if !errors.As(err, &se) || se.Status != http.StatusNotFound || se.Body.Code != CodeBlobMissing {
		t.Errorf("a desk asking for a confidential file: %v, want 404 %s", err, CodeBlobMissing)
	}
	resp, err := room2.client.do(ctx, http.MethodGet, "/v1/blobs/"+sha, nil, nil)
	if err != nil {
		t.Fatalf("the other interview room asking for the file: %v", err)
	}
	resp.Body.Close()
	// A registration is named by its number and subject where it is held.
	roomOp := login(t, room2.svc, "colloqui")
	reg, err := room2.svc.Registration(ctx, roomOp, res.Registration.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := room2.svc.RecordLabel(ctx, roomOp, "protocol_registrations", reg.ID); err != nil || got != reg.Label()+" — "+reg.Subject || reg.Number == 0 {
		t.Errorf("registration's label: %q %v (registration %+v)", got, err, reg)
	}
	if got, err := desk1.svc.RecordLabel(ctx, login(t, desk1.svc, "sportello"), "protocol_registrations", reg.ID); err != nil || got != "" {
		t.Errorf("a desk named a registration it does not hold: %q %v", got, err)
	}
	// The citizen is not confidential: every replica has them.
	if _, err := desk1.svc.DB().Citizen(ctx, x.ID); err != nil {
		t.Errorf("desk replica lacks the citizen: %v", err)
	}
	// A desk enrolled now gets an initial copy with the same scope.
	late := enroll(t, s, "DESK02", false)
	for what, q := range queries {
		if n := count(late.svc.DB(), q, app.ID); n != 0 {
			t.Errorf("the initial copy of a desk holds %d %s of a confidential application", n, what)
		}
	}
}

// Two interview rooms editing the same confidential application offline
// make a conflict record on the server holding both versions of its form
// data: it is as confidential as the application, and reaches neither a
// desk's pull nor a desk's initial copy.
func TestConflictOnConfidentialRecordNeverReachesADesk(t *testing.T) {
	ctx := context.Background()
	s := startServer(t)
	room := enroll(t, s, "COLL01", true)
	room2 := enroll(t, s, "COLL02", true)
	desk1 := enroll(t, s, "DESK01", false)
	op := login(t, room.svc, "colloqui")
	_, _, app, values := confidentialDraft(t, room, op)
	room.sync(t)
	room2.sync(t)
	// Offline, both rooms change the form.
	for i, r := range []*replica{room, room2} {
		v := maps.Clone(values)
		v["provincia_residenza"] = []string{"MI", "BG"}[i]
		if err := r.svc.SaveDraft(ctx, login(t, r.svc, "colloqui"), app.ID, v, nil); err != nil {
			t.Fatal(err)
		}
	}
	room.sync(t)
	room2.sync(t)
	room.sync(t)
	desk1.sync(t)
	count := func(db *store.DB) int {
		var n int
		if err := db.Read(ctx, func(q store.Querier) error {
			return q.QueryRow(`SELECT count(*) FROM sync_conflicts WHERE row_id = ?`, app.ID).Scan(&n)
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if count(s.svc.DB()) == 0 || count(room.svc.DB()) == 0 {
		t.Fatalf("no conflict recorded (server %d, interview room %d)", count(s.svc.DB()), count(room.svc.DB()))
	}
	if n := count(desk1.svc.DB()); n != 0 {
		t.Errorf("a desk pulled %d conflict records of a confidential application", n)
	}
	late := enroll(t, s, "DESK02", false)
	if n := count(late.svc.DB()); n != 0 {
		t.Errorf("a desk's initial copy holds %d conflict records of a confidential application", n)
	}
	late2 := enroll(t, s, "COLL03", true)
	if n := count(late2.svc.DB()); n == 0 {
		t.Errorf("an interview room's initial copy lacks the conflict record")
	}
	// In the interview room, an operator of the front desk neither sees
	// nor resolves it; the operator of the interview room does.
	front := login(t, room.svc, "sportello")
	cs, hidden, err := room.svc.Conflicts(ctx, front, true)
	if err != nil || len(cs) != 0 || hidden != 1 {
		t.Fatalf("conflicts for a front-desk operator: %d shown, %d hidden, %v; want 0, 1", len(cs), hidden, err)
	}
	cs, hidden, err = room.svc.Conflicts(ctx, login(t, room.svc, "colloqui"), true)
	if err != nil || len(cs) != 1 || hidden != 0 {
		t.Fatalf("conflicts for the interview-room operator: %d shown, %d hidden, %v; want 1, 0", len(cs), hidden, err)
	}
	// The record it is about, named for the operator who may read it.
	if got, err := room.svc.RecordLabel(ctx, login(t, room.svc, "colloqui"), cs[0].Table, cs[0].RowID); err != nil || got != app.Subject {
		t.Errorf("conflict's record for the interview-room operator: %q %v, want %q", got, err, app.Subject)
	}
	if got, err := room.svc.RecordLabel(ctx, front, cs[0].Table, cs[0].RowID); err != nil || got != "(dato riservato)" {
		t.Errorf("conflict's record for a front-desk operator: %q %v", got, err)
	}
	err = room.svc.ResolveConflict(ctx, front, cs[0].ID, true)
	if !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("a front-desk operator resolved a confidential conflict: %v", err)
	}
	if msg := desk.UserMessage(err); !strings.HasPrefix(msg, "il ruolo «") {
		t.Errorf("message for the operator: %q", msg)
	}
	// The other room has pulled the record; offline, the two rooms
	// resolve it differently: a conflict about the conflict record, as
	// confidential as it.
	room2.sync(t)
	if err := room.svc.ResolveConflict(ctx, login(t, room.svc, "colloqui"), cs[0].ID, true); err != nil {
		t.Fatal(err)
	}
	if err := room2.svc.ResolveConflict(ctx, login(t, room2.svc, "colloqui"), cs[0].ID, false); err != nil {
		t.Fatal(err)
	}
	room.sync(t)
	room2.sync(t)
	desk1.sync(t)
	if n := count(desk1.svc.DB()); n != 0 {
		t.Errorf("the resolution brought %d conflict records to a desk", n)
	}
	meta := func(db *store.DB) int {
		var n int
		if err := db.Read(ctx, func(q store.Querier) error {
			return q.QueryRow(`SELECT count(*) FROM sync_conflicts WHERE tbl = 'sync_conflicts' AND row_id = ?`, cs[0].ID).Scan(&n)
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if meta(s.svc.DB()) == 0 {
		t.Fatal("the two resolutions made no conflict record on the server")
	}
	if n := meta(desk1.svc.DB()); n != 0 {
		t.Errorf("a desk pulled %d conflict records about a confidential conflict record", n)
	}
	if n := meta(enroll(t, s, "DESK04", false).svc.DB()); n != 0 {
		t.Errorf("a desk's initial copy holds %d conflict records about a confidential conflict record", n)
	}
}

// An operator allowed confidential records, logged in at a front desk that
// is not, is refused before anything is written — a confidential application
// or registration saved there would be refused by the server at the next sync
// and stay on a replica that may not hold it. At an interview room the same
// operator files it.
func TestConfidentialRecordRefusedAtADesk(t *testing.T) {
	ctx := context.Background()
	s := startServer(t)
	room := enroll(t, s, "COLL01", true)
	desk1 := enroll(t, s, "DESK01", false)
	for _, r := range []*replica{room, desk1} {
		r.sync(t)
	}
	op := login(t, desk1.svc, "colloqui")
	x := greco(t, desk1, op)
	pending := func() int {
		n, err := desk1.svc.DB().CountLocalChangesAfter(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := pending()
	_, err := desk1.svc.NewApplication(ctx, op, "contributo-economico", x.ID, "")
	if !errors.Is(err, desk.ErrNotConfidentialWorkstation) {
		t.Fatalf("confidential application at a desk: %v, want ErrNotConfidentialWorkstation", err)
	}
	if msg := desk.UserMessage(err); !strings.Contains(msg, "postazione dei colloqui") {
		t.Errorf("message for the operator: %q", msg)
	}
	reg := protocol.Registration{Direction: protocol.Incoming, Subject: "Segnalazione riservata", Correspondent: "Mario Rossi", Confidential: true}
	_, err = desk1.svc.RegisterDocument(ctx, op, reg, []desk.NamedFile{{Name: "lettera.pdf", Data: strings.NewReader("%PDF-1.4\n%%EOF\n")}})
	if !errors.Is(err, desk.ErrNotConfidentialWorkstation) {
		t.Fatalf("confidential registration at a desk: %v, want ErrNotConfidentialWorkstation", err)
	}
	if got := pending(); got != before {
		t.Errorf("the refusals wrote %d changes", got-before)
	}
	// The same records in the interview room.
	desk1.sync(t)
	room.sync(t)
	op = login(t, room.svc, "colloqui")
	if _, err := room.svc.NewApplication(ctx, op, "contributo-economico", x.ID, ""); err != nil {
		t.Fatalf("confidential application in the interview room: %v", err)
	}
	if _, err := room.svc.RegisterDocument(ctx, op, reg, []desk.NamedFile{{Name: "lettera.pdf", Data: strings.NewReader("%PDF-1.4\n%%EOF\n")}}); err != nil {
		t.Fatalf("confidential registration in the interview room: %v", err)
	}
}

// Field versions every workstation is past stay out of a new workstation's
// initial copy; the new workstation still merges exactly like the others,
// its edits of those fields are not taken for conflicts, and a truly
// concurrent edit still is.
func TestInitialCopyLeavesOutStableVersions(t *testing.T) {
	ctx := context.Background()
	s := startServer(t)
	a := enroll(t, s, "DESK01", false)
	b := enroll(t, s, "DESK02", false)
	opA := login(t, a.svc, "sportello")
	x, err := a.svc.SaveCitizen(ctx, opA, citizen.Citizen{Surname: "Fabbri", Name: "Elena", CodiceFiscale: cf(t, "Fabbri", "Elena", "1975-05-05"), Phone: "+39 333 0000001"})
	if err != nil {
		t.Fatal(err)
	}
	// An edit moves the row's versions from the row to sync_versions.
	x.Notes = "Recapiti verificati"
	if x, err = a.svc.SaveCitizen(ctx, opA, x); err != nil {
		t.Fatal(err)
	}
	// A row inserted and never edited keeps its versions in the row.
	y, err := a.svc.SaveCitizen(ctx, opA, citizen.Citizen{Surname: "Galli", Name: "Marco", CodiceFiscale: cf(t, "Galli", "Marco", "1970-07-07")})
	if err != nil {
		t.Fatal(err)
	}
	a.sync(t)
	b.sync(t) // B reports a floor past A's writes
	a.sync(t) // and so does A

	versionsOf := func(db *store.DB, id string) (n int, rowHLC string) {
		if err := db.Read(ctx, func(q store.Querier) error {
			if err := q.QueryRow(`SELECT count(*) FROM sync_versions WHERE tbl = 'citizens' AND row_id = ?`, id).Scan(&n); err != nil {
				return err
			}
			return q.QueryRow(`SELECT sync_hlc FROM citizens WHERE id = ?`, id).Scan(&rowHLC)
		}); err != nil {
			t.Fatal(err)
		}
		return n, rowHLC
	}
	c := enroll(t, s, "DESK03", false)
	sn, sh := versionsOf(s.svc.DB(), x.ID)
	cn, ch := versionsOf(c.svc.DB(), x.ID)
	if sn != 1 || sh != "" || cn != 0 || ch != "" {
		t.Fatalf("versions of the stable row: server %d %q, new workstation %d %q (want 1 \"\", 0 \"\")", sn, sh, cn, ch)
	}
	sn, sh = versionsOf(s.svc.DB(), y.ID)
	cn, ch = versionsOf(c.svc.DB(), y.ID)
	if sn != 0 || sh == "" || cn != 0 || ch != sh {
		t.Fatalf("in-row versions of a row never edited: server %d %q, new workstation %d %q (want them copied)", sn, sh, cn, ch)
	}
	got, err := c.svc.DB().Citizen(ctx, x.ID)
	if err != nil || got.Phone != x.Phone {
		t.Fatalf("the row itself must be in the copy: %+v %v", got, err)
	}

	// C edits the e-mail: the server applies it and records no conflict.
	opC := login(t, c.svc, "sportello")
	got.Email = "elena@example.it"
	if _, err := c.svc.SaveCitizen(ctx, opC, got); err != nil {
		t.Fatal(err)
	}
	c.sync(t)
	if n, _ := s.svc.DB().OpenConflicts(ctx); n != 0 {
		t.Fatalf("an edit of a stable field was taken for a conflict (%d)", n)
	}
	// A and C change the phone without seeing each other: a conflict.
	ga, _ := a.svc.DB().Citizen(ctx, x.ID)
	ga.Phone = "+39 333 0000002"
	if _, err := a.svc.SaveCitizen(ctx, opA, ga); err != nil {
		t.Fatal(err)
	}
	got, _ = c.svc.DB().Citizen(ctx, x.ID)
	got.Phone = "+39 333 0000003"
	if _, err := c.svc.SaveCitizen(ctx, opC, got); err != nil {
		t.Fatal(err)
	}
	a.sync(t)
	c.sync(t)
	a.sync(t)
	b.sync(t)
	if n, _ := s.svc.DB().OpenConflicts(ctx); n != 1 {
		t.Fatalf("concurrent edits of the phone: %d conflicts, want 1", n)
	}
	ss := checksums(t, s.svc.DB())
	for name, r := range map[string]*replica{"A": a, "B": b, "C": c} {
		if d := checksums(t, r.svc.DB()); !mapsEqual(d, ss) {
			t.Errorf("%s differs from the server", name)
		}
	}
}

// A server stopped after receiving an upload's last byte and before
// verifying it keeps a complete partial file; the client still finishes the
// upload (one request at the end offset) instead of giving up.
func TestUploadReceivedWholeButNotVerifiedIsFinished(t *testing.T) {
	ctx := context.Background()
	s := startServer(t)
	a := enroll(t, s, "DESK01", false)
	content := pngBytes(7)
	sha, _, err := a.svc.Blobs().Put(ctx, bytes.NewReader(content), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.sync.partPath(sha), content, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := a.client.uploadBlob(ctx, sha); err != nil {
		t.Fatalf("upload of a blob the server holds whole but unverified: %v", err)
	}
	if err := s.svc.Blobs().Verify(ctx, sha); err != nil {
		t.Fatalf("server blob: %v", err)
	}
	if _, err := os.Stat(s.sync.partPath(sha)); !os.IsNotExist(err) {
		t.Fatalf("partial file left behind: %v", err)
	}
}

// A version that reached the server after a workstation's initial copy was
// not in that copy, however old it has become since: the workstation's
// write with no base over it (its copy left the field's version out) is
// concurrent with it. Before, the server judged by its stable horizon now,
// which had passed that version, and took it for seen. Found by the
// simulation (seed 810003) once desks' computers were replaced: an
// application closed on one desk and rejected on another, no conflict
// record.
func TestAVersionThatArrivedAfterTheCopyWasNotSeen(t *testing.T) {
	ctx := context.Background()
	s := startServer(t)
	a := enroll(t, s, "DESK01", false)
	b := enroll(t, s, "DESK02", false)
	opA := login(t, a.svc, "sportello")
	x, err := a.svc.SaveCitizen(ctx, opA, citizen.Citizen{Surname: "Fabbri", Name: "Elena", CodiceFiscale: cf(t, "Fabbri", "Elena", "1975-05-05"), Phone: "+39 333 0000001"})
	if err != nil {
		t.Fatal(err)
	}
	x.Notes = "Recapiti verificati" // the row's versions move to sync_versions
	if _, err := a.svc.SaveCitizen(ctx, opA, x); err != nil {
		t.Fatal(err)
	}
	a.sync(t)
	b.sync(t)
	a.sync(t)

	// B changes the phone and has not sent it yet when C is copied: C's
	// copy has the old phone, without its version (stable).
	gb, _ := b.svc.Citizen(ctx, x.ID)
	gb.Phone = "+39 333 0000002"
	if _, err := b.svc.SaveCitizen(ctx, login(t, b.svc, "sportello"), gb); err != nil {
		t.Fatal(err)
	}
	c := enroll(t, s, "DESK03", false)
	c.sync(t) // C's floor passes B's write, which it has not seen
	b.sync(t)
	b.sync(t)
	a.sync(t)
	h, err := s.svc.DB().StableHorizon(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var bHLC string
	if err := s.svc.DB().Read(ctx, func(q store.Querier) error {
		return q.QueryRow(`SELECT hlc FROM sync_changes WHERE workstation_id = ? ORDER BY origin_seq DESC LIMIT 1`, b.svc.DB().WorkstationID()).Scan(&bHLC)
	}); err != nil {
		t.Fatal(err)
	}
	if h <= bHLC {
		t.Fatalf("set-up: the horizon %s has not passed B's write %s", h, bHLC)
	}

	// C changes the phone over the one it had: B's was never seen there.
	gc, _ := c.svc.Citizen(ctx, x.ID)
	if gc.Phone != "+39 333 0000001" {
		t.Fatalf("set-up: C has the phone %q", gc.Phone)
	}
	gc.Phone = "+39 333 0000003"
	if _, err := c.svc.SaveCitizen(ctx, login(t, c.svc, "sportello"), gc); err != nil {
		t.Fatal(err)
	}
	c.sync(t)
	if n, _ := s.svc.DB().OpenConflicts(ctx); n != 1 {
		t.Fatalf("C's phone over B's, unseen: %d conflicts, want 1", n)
	}
}
