package sync

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"sportello/store"
)

// FuzzPush posts arbitrary bodies to the push endpoint of a real server: it
// must never panic, must answer 200 or a 4xx with an error body, and a
// body that is refused must leave the server's data unchanged.
func FuzzPush(f *testing.F) {
	s := startServer(f)
	a := enroll(f, s, "FUZZ01", false)
	var seeds [][]byte
	for _, seed := range []string{
		`{"changes":[]}`,
		`{"changes":[{"tx":"t","t":"citizens","id":"c1","op":"insert","d":{"surname":"X","created_at":"t"},"h":"0000000000001-00000000-w","o":"op-sportello","w":"` + a.svc.DB().WorkstationID() + `","s":1}]}`,
		`{"changes":[{"t":"protocol_numbers","id":"n","op":"insert","d":{"number":1},"s":1}]}`,
		`{"changes":[{"t":"citizens","id":"","op":"update","d":{"x":1},"s":-1}]}`,
		`{"audit":[{"seq":1,"hash":"x"}]}`,
		`{"changes":`, `null`, `[]`, `{"changes":[{"d":"not an object"}]}`,
	} {
		seeds = append(seeds, []byte(seed))
	}
	fuzzPush(f, s, a, "application/json", seeds)
}

// FuzzPushFramed is FuzzPush for bodies in the batch framing the client uses.
func FuzzPushFramed(f *testing.F) {
	s := startServer(f)
	a := enroll(f, s, "FUZZ02", false)
	ws := a.svc.DB().WorkstationID()
	var seeds [][]byte
	for _, b := range []batch{
		{},
		{Changes: []Change{{TxID: "t", Table: "citizens", RowID: "c1", Op: "insert", Data: []byte(`{"surname":"X","created_at":"t"}`),
			HLC: "0000000000001-00000000-w", OperatorID: "op-sportello", WorkstationID: ws, OriginSeq: 1}}},
		{Changes: []Change{{Table: "protocol_numbers", RowID: "n", Op: "insert", Data: []byte(`{"number":1}`), WorkstationID: ws, OriginSeq: 1}}},
		{Changes: []Change{{Table: "citizens", RowID: "c2", Op: "insert", Data: []byte(`{"surname":`), WorkstationID: ws, OriginSeq: 1}}},
	} {
		var buf bytes.Buffer
		encodeBatch(&buf, b)
		seeds = append(seeds, buf.Bytes())
	}
	fuzzPush(f, s, a, ContentTypeBatch, seeds)
}

func fuzzPush(f *testing.F, s *testServer, a *replica, contentType string, seeds [][]byte) {
	for _, seed := range seeds {
		f.Add(seed)
	}
	mux := http.NewServeMux()
	s.sync.Register(mux)
	token := a.client.cfg.Token
	f.Fuzz(func(t *testing.T, body []byte) {
		before := checksums(t, s.svc.DB())
		req := httptest.NewRequest(http.MethodPost, "/v1/push", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set(HeaderSchema, strconv.Itoa(store.SchemaVersion()))
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		switch {
		case rec.Code == http.StatusOK:
		case rec.Code >= 400 && rec.Code < 500:
			if !bytes.Contains(rec.Body.Bytes(), []byte(`"code"`)) {
				t.Fatalf("%d without an error body: %s", rec.Code, rec.Body.String())
			}
			if !mapsEqual(before, checksums(t, s.svc.DB())) {
				t.Fatalf("refused body (%d) changed the server's data", rec.Code)
			}
		default:
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body.String())
		}
	})
}
