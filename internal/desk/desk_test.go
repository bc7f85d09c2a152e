package desk

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"os/exec"
	"strings"
	"testing"
	"time"

	"sportello/internal/application"
	"sportello/internal/auth"
	"sportello/internal/catalog"
	"sportello/internal/citizen"
	"sportello/internal/codicefiscale"
	"sportello/internal/protocol"
	"sportello/store"
)

// testCatalog is a small catalog written for these tests (independent of the demo).
func testCatalog() *catalog.Catalog {
	return &catalog.Catalog{
		Format: catalog.FormatName, Version: catalog.FormatVersion,
		Municipality:  catalog.Municipality{Name: "Comune di Prova", Province: "PR", CadastralCode: "M998", IPACode: "c_m998", AOOCode: "c_m998", AOOName: "Comune di Prova"},
		Offices:       []catalog.Office{{ID: "anagrafe", Name: "Servizi Demografici"}, {ID: "sociale", Name: "Servizi Sociali"}},
		QueueServices: []catalog.QueueService{{Code: "anagrafe", Prefix: "A", Name: "Anagrafe"}, {Code: "sociale", Prefix: "S", Name: "Sociale"}},
		Procedures: []catalog.Procedure{
			{
				ID: "cambio-residenza", Name: "Cambio di residenza", Kind: catalog.KindIstanza, Category: "Anagrafe", OfficeID: "anagrafe",
				Classification: "XI.2", TermDays: 45, QueueService: "anagrafe", Active: true,
				Knowledge: catalog.Knowledge{Summary: "Dichiarazione di residenza", LegalBasis: "DPR 223/1989"},
				Fields: []catalog.Field{
					{Key: "cf", Label: "Codice fiscale", Type: catalog.CodiceFiscale, Required: true, Prefill: "citizen.codice_fiscale"},
					{Key: "email", Label: "E-mail", Type: catalog.Email, Prefill: "citizen.email"},
					{Key: "indirizzo", Label: "Nuovo indirizzo", Type: catalog.Text, Required: true},
					{Key: "cap", Label: "CAP", Type: catalog.CAP, Required: true},
					{Key: "provenienza", Label: "Provenienza", Type: catalog.Choice, Required: true,
						Options: []catalog.Option{{Value: "altro_comune", Label: "Altro comune"}, {Value: "estero", Label: "Estero"}}},
					{Key: "comune_provenienza", Label: "Comune di provenienza", Type: catalog.Text,
						RequiredIf: &catalog.Condition{Field: "provenienza", Equals: "altro_comune"}},
				},
				Attachments: []catalog.AttachmentReq{
					{Type: "documento_identita", Label: "Documento d'identità", Formats: []catalog.Format{catalog.FormatPDF, catalog.FormatJPEG, catalog.FormatPNG}, MaxBytes: 1 << 20, Required: true},
					{Type: "contratto", Label: "Contratto di locazione", Formats: []catalog.Format{catalog.FormatPDF}, MaxBytes: 1 << 20, Required: true},
				},
			},
			{
				ID: "contributo", Name: "Contributo economico", Kind: catalog.KindIstanza, Category: "Sociale", OfficeID: "sociale",
				Knowledge: catalog.Knowledge{Summary: "Sostegno economico"}, Confidential: true, Active: true, QueueService: "sociale",
				Fields: []catalog.Field{{Key: "motivo", Label: "Motivo", Type: catalog.LongText, Required: true}},
			},
		},
	}
}

var (
	desk1   = Session{OperatorID: "op-desk", Username: "desk", FullName: "Giulia Ferrari", Role: auth.Sportellista}
	room    = Session{OperatorID: "op-room", Username: "room", FullName: "Marco Esposito", Role: auth.Colloqui}
	protOff = Session{OperatorID: "op-prot", Username: "prot", FullName: "Anna Galli", Role: auth.Protocollo}
	manager = Session{OperatorID: "op-urp", Username: "urp", FullName: "Sara Marino", Role: auth.Responsabile}
)

func openService(t *testing.T) *Service {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir(), Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.ImportCatalog(ctx, manager, testCatalog()); err != nil {
		t.Fatal(err)
	}
	return s
}

func mustCF(t *testing.T, surname, name, born, sex, place string) string {
	t.Helper()
	d, _ := time.Parse("2006-01-02", born)
	cf, err := codicefiscale.Compute(surname, name, d, sex, place)
	if err != nil {
		t.Fatal(err)
	}
	return cf
}

func pdfBytes(t *testing.T) []byte {
	return []byte("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + t.Name())
}

func pngBytes(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	img.Set(1, 1, color.RGBA{200, 10, 10, 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestCitizenValidationAndConvergence(t *testing.T) {
	s := openService(t)
	ctx := context.Background()
	cf := mustCF(t, "Rossi", "Mario", "1985-12-10", "M", "A562")
	_, err := s.SaveCitizen(ctx, desk1, citizen.Citizen{Surname: "Rossi", Name: "Mario", CodiceFiscale: cf[:15] + "A"})
	var de *Error
	if !errors.As(err, &de) || !strings.Contains(UserMessage(err), "Carattere di controllo") {
		t.Fatalf("wrong check char: %v", err)
	}
	_, err = s.SaveCitizen(ctx, desk1, citizen.Citizen{Surname: "Rossi", Name: "Mario", CodiceFiscale: cf, BirthDate: "1985-12-11", Email: "non-una-mail"})
	msg := UserMessage(err)
	if !strings.Contains(msg, "non corrisponde") || !strings.Contains(msg, "E-mail") {
		t.Fatalf("mismatch not explained: %s", msg)
	}
	c, err := s.SaveCitizen(ctx, desk1, citizen.Citizen{Surname: "Rossi", Name: "Mario", CodiceFiscale: strings.ToLower(cf)})
	if err != nil {
		t.Fatal(err)
	}
	if c.BirthDate != "1985-12-10" || c.Sex != "M" || c.BirthPlaceCode != "A562" || c.ID != citizen.IDForCodiceFiscale(cf) {
		t.Fatalf("derived data not filled: %+v", c)
	}
	// The same person registered again (another desk, offline) is the same record.
	again, err := s.SaveCitizen(ctx, desk1, citizen.Citizen{Surname: "Rossi", Name: "Mario", CodiceFiscale: cf, Phone: "333 1234567"})
	if err != nil || again.ID != c.ID {
		t.Fatalf("second registration: %v %s vs %s", err, again.ID, c.ID)
	}
	if n, _ := s.DB().CountCitizens(ctx); n != 1 {
		t.Fatalf("%d citizens, want 1", n)
	}
	if _, err := s.SaveCitizen(ctx, Session{Role: auth.Referente}, c); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("referente may not edit the registry: %v", err)
	}
}

// TestApplicationPath files a cambio di residenza from start to receipt.
func TestApplicationPath(t *testing.T) {
	s := openService(t)
	ctx := context.Background()
	c, err := s.SaveCitizen(ctx, desk1, citizen.Citizen{Surname: "D'Ambrosio", Name: "Niccolò", CodiceFiscale: mustCF(t, "D'Ambrosio", "Niccolò", "1978-07-04", "M", "F839"), Email: "n@example.it"})
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.NewApplication(ctx, desk1, "cambio-residenza", c.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if a.Values["cf"] != c.CodiceFiscale || a.Values["email"] != "n@example.it" || a.State != application.Bozza {
		t.Fatalf("prefill/state: %+v", a)
	}
	values := map[string]string{"cf": c.CodiceFiscale, "indirizzo": "Via Roma 1", "cap": "2508", "provenienza": "altro_comune"}
	if err := s.SaveDraft(ctx, desk1, a.ID, values, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddAttachment(ctx, desk1, a.ID, "documento_identita", "documento.pdf", bytes.NewReader(pngBytes(t)), false); err != nil {
		t.Fatal(err)
	}
	problems, err := s.MarkComplete(ctx, desk1, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	var text []string
	for _, p := range problems {
		text = append(text, p.Message)
	}
	joined := strings.Join(text, "\n")
	for _, want := range []string{"CAP", "Comune di provenienza", "Contratto di locazione"} {
		if !strings.Contains(joined, want) {
			t.Errorf("problem about %q missing in:\n%s", want, joined)
		}
	}
	if got, _ := s.Application(ctx, desk1, a.ID); got.State != application.Bozza {
		t.Fatalf("incomplete application moved to %s", got.State)
	}
	if _, err := s.ProtocolApplication(ctx, desk1, a.ID); err == nil {
		t.Fatal("incomplete application protocolled")
	}
	// Fix on the spot.
	values["cap"], values["comune_provenienza"] = "25080", "Brescia"
	if err := s.SaveDraft(ctx, desk1, a.ID, values, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddAttachment(ctx, desk1, a.ID, "contratto", "contratto.pdf", bytes.NewReader(pdfBytes(t)), false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddAttachment(ctx, desk1, a.ID, "contratto", "troppo.pdf", bytes.NewReader(make([]byte, 2<<20)), false); err == nil || !strings.Contains(UserMessage(err), "supera il limite di 1 MB") {
		t.Fatalf("oversize attachment: %v", err)
	}
	if problems, err := s.MarkComplete(ctx, desk1, a.ID); err != nil || len(problems) > 0 {
		t.Fatalf("still incomplete: %v %+v", err, problems)
	}
	res, err := s.ProtocolApplication(ctx, desk1, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Emergency || !strings.HasPrefix(res.Label, "EM-") || !strings.HasSuffix(res.Label, "/0000001") {
		t.Fatalf("emergency label %q", res.Label)
	}
	if len(res.Registration.Documents) != 2 {
		t.Fatalf("documents %d", len(res.Registration.Documents))
	}
	// A second one gets the next number.
	b, _ := s.NewApplication(ctx, desk1, "cambio-residenza", c.ID, "")
	s.SaveDraft(ctx, desk1, b.ID, values, nil)
	s.AddAttachment(ctx, desk1, b.ID, "documento_identita", "ci.png", bytes.NewReader(pngBytes(t)), false)
	s.AddAttachment(ctx, desk1, b.ID, "contratto", "c.pdf", bytes.NewReader(pdfBytes(t)), false)
	if p, err := s.MarkComplete(ctx, desk1, b.ID); err != nil || len(p) > 0 {
		t.Fatalf("b: %v %v", err, p)
	}
	res2, err := s.ProtocolApplication(ctx, desk1, b.ID)
	if err != nil || !strings.HasSuffix(res2.Label, "/0000002") {
		t.Fatalf("second number %q %v", res2.Label, err)
	}
	// The registration is immutable, the application can't be edited any more.
	if err := s.SaveDraft(ctx, desk1, a.ID, map[string]string{"cap": "00100"}, nil); err == nil {
		t.Fatal("protocolled application edited")
	}
	if err := s.Forward(ctx, desk1, a.ID, ""); err != nil {
		t.Fatal(err)
	}
	hist, _ := s.History(ctx, desk1, a.ID)
	var states []string
	for _, h := range hist {
		states = append(states, string(h.To))
	}
	if got := strings.Join(states, ","); got != "bozza,completa,protocollata,inoltrata" {
		t.Fatalf("history %s", got)
	}
	apps, _ := s.ApplicationsOfCitizen(ctx, desk1, c.ID)
	if len(apps) != 2 || apps[0].ProtocolLabel == "" || !apps[0].Emergency {
		t.Fatalf("citizen's applications: %+v", apps)
	}
	// Receipt and form print with accents and the impronta.
	if _, err := exec.LookPath("pdftotext"); err == nil {
		var rc bytes.Buffer
		if err := s.ReceiptPDF(ctx, desk1, res.Registration.ID, &rc); err != nil {
			t.Fatal(err)
		}
		txt := pdfText(t, rc.Bytes())
		for _, want := range []string{res.Label, "Niccolò", res.Registration.Documents[1].SHA256Hex, "registro di emergenza"} {
			if !strings.Contains(strings.ReplaceAll(txt, "\n", ""), want) && !strings.Contains(txt, want) {
				t.Errorf("receipt lacks %q:\n%s", want, txt)
			}
		}
		var form bytes.Buffer
		if err := s.ApplicationFormPDF(ctx, desk1, b.ID, &form); err != nil {
			t.Fatal(err)
		}
		if ft := pdfText(t, form.Bytes()); !strings.Contains(ft, "Cambio di residenza") || !strings.Contains(ft, "Brescia") {
			t.Errorf("form text:\n%s", ft)
		}
	}
	if b, err := s.DB().VerifyAudit(ctx); err != nil || b != nil {
		t.Fatalf("audit: %v %v", b, err)
	}
}

func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	cmd := exec.Command("pdftotext", "-layout", "-", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

func TestConfidentialityAndAnnulment(t *testing.T) {
	s := openService(t)
	ctx := context.Background()
	c, err := s.SaveCitizen(ctx, desk1, citizen.Citizen{Surname: "Greco", Name: "Francesca", CodiceFiscale: mustCF(t, "Greco", "Francesca", "1965-01-25", "F", "G273")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.NewApplication(ctx, desk1, "contributo", c.ID, ""); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("desk operator opened a confidential procedure: %v", err)
	}
	a, err := s.NewApplication(ctx, room, "contributo", c.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Application(ctx, desk1, a.ID); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("desk operator read a confidential application: %v", err)
	}
	// Nor is it in the citizen's list for them (the procedure's name says
	// enough); the interview-room operator sees it.
	if apps, err := s.ApplicationsOfCitizen(ctx, desk1, c.ID); err != nil || len(apps) != 0 {
		t.Fatalf("citizen's applications for a desk operator: %+v %v", apps, err)
	}
	if apps, err := s.ApplicationsOfCitizen(ctx, room, c.ID); err != nil || len(apps) != 1 || !apps[0].Confidential {
		t.Fatalf("citizen's applications for the interview room: %+v %v", apps, err)
	}
	if err := s.SaveDraft(ctx, room, a.ID, map[string]string{"motivo": "Spese mediche"}, nil); err != nil {
		t.Fatal(err)
	}
	if p, err := s.MarkComplete(ctx, room, a.ID); err != nil || len(p) > 0 {
		t.Fatalf("%v %v", err, p)
	}
	res, err := s.ProtocolApplication(ctx, room, a.ID) // no attachments: the generated form is the primary document
	if err != nil {
		t.Fatal(err)
	}
	if !res.Registration.Confidential || res.Registration.Documents[0].Name != "istanza.pdf" {
		t.Fatalf("registration %+v", res.Registration)
	}
	regs, _ := s.Registrations(ctx, protOff, store.RegistrationFilter{})
	if len(regs) != 0 {
		t.Fatal("protocol office without confidential grant sees a confidential registration")
	}
	// Nor annuls it: the server would refuse the annulment after the fact.
	if err := s.Annul(ctx, protOff, res.Registration.ID, "Registrata per errore", "Det. 11/2026"); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("protocol office annulled a confidential registration it may not read: %v", err)
	}
	if got, _ := s.Registration(ctx, room, res.Registration.ID); got.Annulled {
		t.Fatal("refused annulment saved")
	}
	// Incoming mail registered by the protocol office, then annulled.
	r, err := s.RegisterDocument(ctx, protOff, protocolReg("Ditta Alfa S.r.l.", "Richiesta preventivo"), []NamedFile{{Name: "lettera.pdf", Data: bytes.NewReader(pdfBytes(t))}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Annul(ctx, desk1, r.Registration.ID, "errore", "det. 1/2026"); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("desk operator annulled: %v", err)
	}
	if err := s.Annul(ctx, protOff, r.Registration.ID, "", "det. 1/2026"); err == nil {
		t.Fatal("annulment without reason")
	}
	if err := s.Annul(ctx, protOff, r.Registration.ID, "Documento registrato due volte", "Det. 12/2026"); err != nil {
		t.Fatal(err)
	}
	if err := s.Annul(ctx, protOff, r.Registration.ID, "di nuovo", "x"); err == nil {
		t.Fatal("annulled twice")
	}
	got, _ := s.Registration(ctx, protOff, r.Registration.ID)
	if !got.Annulled || got.Subject != "Richiesta preventivo" || got.AnnulReason != "Documento registrato due volte" {
		t.Fatalf("annulled registration must stay readable: %+v", got)
	}
}

func TestEmergencyPeriodRules(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir(), Options{Synchronous: "NORMAL", Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.OpenInterruption(ctx, protOff, "", ""); err == nil {
		t.Fatal("interruption without cause")
	}
	if err := s.OpenInterruption(ctx, protOff, "Guasto della linea dati", "Autorizzazione del responsabile n. 3"); err != nil {
		t.Fatal(err)
	}
	reg := func() error {
		_, err := s.RegisterDocument(ctx, protOff, protocolReg("Mario Rossi", "Esposto"), []NamedFile{{Name: "e.pdf", Data: bytes.NewReader([]byte("%PDF-1.4 " + now.String()))}})
		return err
	}
	if err := reg(); err != nil {
		t.Fatal(err)
	}
	now = now.Add(30 * time.Hour)
	if err := reg(); err == nil || !strings.Contains(UserMessage(err), "proroga") {
		t.Fatalf("registration after 24h without extension: %v", err)
	}
	if err := s.ExtendInterruption(ctx, protOff, "Decreto sindacale 5/2026", now.Add(8*24*time.Hour)); err == nil {
		t.Fatal("extension beyond a week accepted")
	}
	if err := s.ExtendInterruption(ctx, protOff, "Decreto sindacale 5/2026", now.Add(3*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := reg(); err != nil {
		t.Fatal(err)
	}
	if err := s.CloseInterruption(ctx, protOff); err != nil {
		t.Fatal(err)
	}
	ins, _ := s.Interruptions(ctx)
	if len(ins) != 1 || ins[0].EndedAt.IsZero() || ins[0].Cause != "Guasto della linea dati" {
		t.Fatalf("interruptions %+v", ins)
	}
	counts, _ := s.EmergencyDailyCounts(ctx)
	if len(counts) != 2 || counts[0].Count != 1 {
		t.Fatalf("daily counts %+v", counts)
	}
	// After the end, the next registration opens a new period automatically, numbering continues.
	now = now.Add(time.Hour)
	if err := reg(); err != nil {
		t.Fatal(err)
	}
	regs, _ := s.Registrations(ctx, protOff, store.RegistrationFilter{})
	if len(regs) != 3 || regs[0].EmergencyNumber != 3 {
		t.Fatalf("numbering across interruptions: %+v", regs[0])
	}
	if ins, _ := s.Interruptions(ctx); len(ins) != 2 {
		t.Fatalf("want a second interruption, got %d", len(ins))
	}
}

func protocolReg(from, subject string) protocol.Registration {
	return protocol.Registration{Direction: protocol.Incoming, Correspondent: from, Subject: subject}
}

// Restoring a conflict's losing value writes it again, so the desk asks for
// the role the server will check: the offices' referent may bring back a
// closing or rejection of an application, not a citizen's phone nor an
// earlier state; keeping the winner needs no such grant.
func TestRestoringAConflictNeedsTheRoleToWriteIt(t *testing.T) {
	s := openService(t)
	ctx := context.Background()
	c, err := s.SaveCitizen(ctx, desk1, citizen.Citizen{Surname: "Greco", Name: "Francesca", CodiceFiscale: mustCF(t, "Greco", "Francesca", "1965-01-25", "F", "G273")})
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.NewApplication(ctx, desk1, "cambio-residenza", c.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	conflict := func(id, table, row, col, winner, loser string) {
		t.Helper()
		if err := s.DB().Write(ctx, store.Actor{OperatorID: "server"}, func(tx *store.Tx) error {
			_, err := tx.Put("sync_conflicts", id, store.Fields{"tbl": table, "row_id": row, "col": col, "winner_value": winner,
				"winner_hlc": "1772441712000-00000001-a", "loser_value": loser, "loser_hlc": "1772441712000-00000000-b", "loser_origin": "b", "detected_at": "t"})
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	conflict("k-phone", "citizens", c.ID, "phone", `"030 1"`, `"030 2"`)
	conflict("k-state", "applications", a.ID, "state", `"conclusa"`, `"respinta"`)
	conflict("k-back", "applications", a.ID, "state", `"conclusa"`, `"bozza"`)
	referent := Session{OperatorID: "op-ref", Username: "ref", Role: auth.Referente}
	for _, id := range []string{"k-phone", "k-back"} {
		if err := s.ResolveConflict(ctx, referent, id, true); !errors.Is(err, auth.ErrForbidden) {
			t.Errorf("%s restored by the referent: %v", id, err)
		}
	}
	if err := s.ResolveConflict(ctx, referent, "k-state", true); err != nil {
		t.Fatalf("the referent restoring a rejection: %v", err)
	}
	if err := s.ResolveConflict(ctx, referent, "k-phone", false); err != nil {
		t.Fatalf("the referent keeping the winner: %v", err)
	}
	if got, _ := s.Citizen(ctx, c.ID); got.Phone != "" {
		t.Fatalf("phone %q written by a refused restoration", got.Phone)
	}
	conflict("k-phone2", "citizens", c.ID, "phone", `"030 1"`, `"030 2"`)
	if err := s.ResolveConflict(ctx, desk1, "k-phone2", true); err != nil {
		t.Fatalf("the desk restoring a phone: %v", err)
	}
	if got, _ := s.Citizen(ctx, c.ID); got.Phone != "030 2" {
		t.Fatalf("phone %q after the desk restored it", got.Phone)
	}
}

// A deactivation that reaches the desk while its operator is logged in (a
// pull brings it) ends what that session may save: the server would refuse
// it. Nothing is written.
func TestDeactivatedOperatorSavesNothing(t *testing.T) {
	s := openService(t)
	ctx := context.Background()
	if err := s.CreateOperator(ctx, System, "op-leaving", "leaving", "Paola Neri", auth.Sportellista, "", "password-1234"); err != nil {
		t.Fatal(err)
	}
	sess, err := s.Login(ctx, "leaving", "password-1234")
	if err != nil {
		t.Fatal(err)
	}
	cf := mustCF(t, "Rossi", "Mario", "1985-12-10", "M", "A562")
	if _, err := s.SaveCitizen(ctx, sess, citizen.Citizen{Surname: "Rossi", Name: "Mario", CodiceFiscale: cf}); err != nil {
		t.Fatal(err)
	}
	if err := s.DB().Write(ctx, store.Actor{OperatorID: "sync"}, func(tx *store.Tx) error {
		o, err := tx.OperatorByID("op-leaving")
		if err != nil {
			return err
		}
		o.Active = false
		_, err = tx.PutOperator(o)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	_, err = s.SaveCitizen(ctx, sess, citizen.Citizen{Surname: "Rossi", Name: "Mario", CodiceFiscale: cf, Phone: "333 1234567"})
	if !errors.Is(err, ErrOperatorDeactivated) || !strings.Contains(UserMessage(err), "disattivata") {
		t.Fatalf("save by a deactivated operator: %v", err)
	}
	if c, err := s.DB().CitizenByCF(ctx, cf); err != nil || c.Phone != "" {
		t.Fatalf("citizen after the refused save: %+v %v", c, err)
	}
	if _, err := s.Login(ctx, "leaving", "password-1234"); err == nil {
		t.Fatal("a deactivated operator logged in again")
	}
	// Others go on.
	if _, err := s.SaveCitizen(ctx, desk1, citizen.Citizen{Surname: "Rossi", Name: "Mario", CodiceFiscale: cf, Phone: "333 1234567"}); err != nil {
		t.Fatal(err)
	}
	// Active again, but with another role: the session opened with the
	// old one saves nothing; a new login does.
	if err := s.DB().Write(ctx, store.Actor{OperatorID: "sync"}, func(tx *store.Tx) error {
		o, err := tx.OperatorByID("op-leaving")
		if err != nil {
			return err
		}
		o.Active, o.Role = true, string(auth.Protocollo)
		_, err = tx.PutOperator(o)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SaveCitizen(ctx, sess, citizen.Citizen{Surname: "Rossi", Name: "Mario", CodiceFiscale: cf, Email: "mario@example.it"}); !errors.Is(err, ErrRoleChanged) {
		t.Fatalf("save with the old role: %v", err)
	}
	again, err := s.Login(ctx, "leaving", "password-1234")
	if err != nil || again.Role != auth.Protocollo {
		t.Fatalf("login with the new role: %+v %v", again, err)
	}
	if _, err := s.SaveCitizen(ctx, again, citizen.Citizen{Surname: "Rossi", Name: "Mario", CodiceFiscale: cf, Email: "mario@example.it"}); err != nil {
		t.Fatal(err)
	}
}
