package desk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"sportello/internal/application"
	"sportello/internal/auth"
	"sportello/internal/catalog"
	"sportello/internal/filetype"
	"sportello/internal/ids"
	"sportello/internal/protocol"
	"sportello/store"
)

// DefaultEmergencyCause is recorded when the desk opens an emergency period by
// itself because the protocol server cannot be reached.
const DefaultEmergencyCause = "Server di protocollo non raggiungibile dalla postazione"

// ProtocolResult is what protocolling returned.
type ProtocolResult struct {
	Registration store.Registration
	Emergency    bool   // numbered in the workstation's emergency register
	Pending      bool   // sent to the server online, definitive number not back yet
	Label        string // the number to tell the citizen ("" while pending)
}

// OnlineWait is how long protocolling online waits for the definitive number.
const OnlineWait = 10 * time.Second

// ProtocolApplication registers a complete application in the protocol, in
// one operation with its documents' impronte, and moves it to protocollata.
// Online, the registration goes to the server at once and comes back with
// its definitive number. Offline (or when the server stops answering) it is
// numbered in the workstation's emergency register (art. 63), opening an
// emergency period when none is open; the server gives it its definitive
// number when the connection returns.
func (s *Service) ProtocolApplication(ctx context.Context, sess Session, appID string) (ProtocolResult, error) {
	var res ProtocolResult
	a, err := s.Application(ctx, sess, appID)
	if err != nil {
		return res, err
	}
	if a.State != application.Completa {
		return res, userErr(fmt.Sprintf("Si può protocollare solo una pratica completa: questa è «%s»", a.State.Label()))
	}
	problems, p, atts, err := s.check(ctx, a)
	if err != nil {
		return res, err
	}
	if len(problems) > 0 {
		msgs := make([]string, len(problems))
		for i, pr := range problems {
			msgs[i] = pr.Message
		}
		return res, userErr("La pratica non supera più la verifica di completezza", msgs...)
	}
	if err := requireAccess(sess, p, auth.RegisterProtocol); err != nil {
		return res, err
	}
	c, err := s.db.Citizen(ctx, a.CitizenID)
	if err != nil {
		return res, fmt.Errorf("desk: protocol: %w", err)
	}
	docs, err := s.registrationDocuments(ctx, sess, a, atts)
	if err != nil {
		return res, err
	}
	reg := protocol.Registration{Direction: protocol.Incoming, Correspondent: c.FullName(), CorrespondentCF: c.CodiceFiscale,
		Subject: a.Subject, Classification: p.Classification, OfficeID: a.OfficeID, Primary: &docs[0], Attachments: docs[1:],
		Confidential: a.Confidential, ApplicationID: a.ID}
	online := s.online()
	err = s.write(ctx, sess, func(tx *store.Tx) error {
		var stored store.Registration
		var err error
		note := ""
		if online {
			stored, err = s.registerOrdinaryTx(tx, sess, reg)
			note = "Protocollata: numero definitivo richiesto al server"
		} else {
			stored, err = s.registerEmergencyTx(tx, sess, reg, DefaultEmergencyCause)
			note = "Protocollo di emergenza " + stored.EmergencyLabel()
		}
		if err != nil {
			return err
		}
		res.Registration = stored
		return s.moveTx(tx, a, application.Protocollata, note)
	})
	if err != nil {
		return res, fmt.Errorf("desk: protocol application: %w", err)
	}
	return s.finishRegistration(ctx, sess, res, online)
}

func (s *Service) online() bool {
	c := s.connector()
	return c != nil && c.Online()
}

// finishRegistration fetches the definitive number of an online registration.
func (s *Service) finishRegistration(ctx context.Context, sess Session, res ProtocolResult, online bool) (ProtocolResult, error) {
	if !online {
		res.Emergency, res.Label = true, res.Registration.EmergencyLabel()
		return res, nil
	}
	wctx, cancel := context.WithTimeout(ctx, OnlineWait)
	defer cancel()
	if err := s.connector().SyncNow(wctx); err == nil {
		if r, err := s.db.Registration(ctx, res.Registration.ID); err == nil && r.Number > 0 {
			res.Registration = r
			res.Label = r.Label()
			return res, nil
		}
	}
	// The registration is stored and queued: the server numbers it on the
	// next sync, in arrival order. Nothing is lost, the citizen is notified.
	res.Pending = true
	return res, nil
}

// registerOrdinaryTx writes a registration of the AOO's register; its
// definitive number is assigned by the server when the change reaches it.
func (s *Service) registerOrdinaryTx(tx *store.Tx, sess Session, reg protocol.Registration) (store.Registration, error) {
	if p := reg.Validate(); len(p) > 0 {
		return store.Registration{}, userErr("La registrazione di protocollo non è completa", p...)
	}
	now := tx.Now()
	date, year := protocol.LegalDate(now)
	docs := append([]protocol.Document{*reg.Primary}, reg.Attachments...)
	r := store.Registration{ID: ids.New(), Direction: reg.Direction, RegisteredAt: now, RegDate: date, Year: year, RegisterKind: "ordinario",
		Correspondent: strings.TrimSpace(reg.Correspondent), CorrespondentCF: reg.CorrespondentCF, Subject: strings.TrimSpace(reg.Subject),
		Classification: reg.Classification, OfficeID: reg.OfficeID, ApplicationID: reg.ApplicationID, ReceivedDocNumber: reg.ReceivedDocNumber,
		ReceivedDocDate: reg.ReceivedDocDate, Confidential: reg.Confidential, OperatorID: sess.OperatorID, WorkstationID: tx.DB().WorkstationID(), Documents: docs}
	if err := tx.InsertRegistration(r); err != nil {
		return store.Registration{}, err
	}
	return r, nil
}

// RestoreService records the end of this workstation's emergency period when
// the connection with the protocol server is back (art. 63: the register
// records when service was restored). It does nothing when none is open.
func (s *Service) RestoreService(ctx context.Context) error {
	ins, err := s.db.Interruptions(ctx)
	if err != nil {
		return err
	}
	for _, in := range ins {
		if in.WorkstationID != s.db.WorkstationID() || !in.EndedAt.IsZero() {
			continue
		}
		// Recorded in the name of the operator who opened the period: the
		// server accepts changes only from operators it knows ("system" is
		// not one), and this one may manage emergency periods.
		return s.db.Write(ctx, store.Actor{OperatorID: in.AuthorizedBy}, func(tx *store.Tx) error {
			open, err := tx.OpenInterruption()
			if err != nil || open == nil || open.ID != in.ID {
				return err
			}
			return tx.EndInterruption(open.ID, tx.Now())
		})
	}
	return nil
}

// registrationDocuments lists the documents of an application's
// registration, primary first: the signed form when attached, else the
// first attachment in the procedure's order, else the generated form PDF.
func (s *Service) registrationDocuments(ctx context.Context, sess Session, a application.Application, atts []application.Attachment) ([]protocol.Document, error) {
	var docs []protocol.Document
	for _, x := range atts {
		d := protocol.Document{Name: x.FileName, SHA256Hex: x.SHA256, Size: x.Size, MediaType: x.MediaType}
		if x.DocType == SignedFormType {
			docs = append([]protocol.Document{d}, docs...)
		} else {
			docs = append(docs, d)
		}
	}
	if len(docs) > 0 {
		return docs, nil
	}
	var buf bytes.Buffer
	if err := s.ApplicationFormPDF(ctx, sess, a.ID, &buf); err != nil {
		return nil, err
	}
	digest, size, err := s.blobs.Put(ctx, &buf, 0)
	if err != nil {
		return nil, fmt.Errorf("desk: store generated form: %w", err)
	}
	return []protocol.Document{{Name: "istanza.pdf", SHA256Hex: digest, Size: size, MediaType: "application/pdf"}}, nil
}

// registerEmergencyTx writes reg in this workstation's emergency register.
func (s *Service) registerEmergencyTx(tx *store.Tx, sess Session, reg protocol.Registration, cause string) (store.Registration, error) {
	if p := reg.Validate(); len(p) > 0 {
		return store.Registration{}, userErr("La registrazione di protocollo non è completa", p...)
	}
	now := tx.Now()
	in, err := tx.OpenInterruption()
	if err != nil {
		return store.Registration{}, err
	}
	register := protocol.EmergencyRegisterCode(tx.DB().WorkstationCode())
	if in == nil {
		if err := sess.Role.Require(auth.ManageEmergency); err != nil {
			return store.Registration{}, err
		}
		in = &store.Interruption{ID: ids.New(), RegisterCode: register, Cause: cause, AuthorizedBy: sess.OperatorID,
			AuthorizationRef: reg.AuthorizationRef, StartedAt: now}
		if err := tx.InsertInterruption(*in); err != nil {
			return store.Registration{}, err
		}
	}
	if err := in.Rules().UsableAt(now); err != nil {
		return store.Registration{}, userErr(err.Error())
	}
	date, year := protocol.LegalDate(now)
	n, err := tx.NextEmergencyNumber(in.RegisterCode, year)
	if err != nil {
		return store.Registration{}, err
	}
	docs := append([]protocol.Document{*reg.Primary}, reg.Attachments...)
	r := store.Registration{ID: ids.New(), Direction: reg.Direction, RegisteredAt: now, RegDate: date, Year: year, RegisterKind: "emergenza",
		EmergencyRegister: in.RegisterCode, EmergencyNumber: n, InterruptionID: in.ID, Correspondent: strings.TrimSpace(reg.Correspondent),
		CorrespondentCF: reg.CorrespondentCF, Subject: strings.TrimSpace(reg.Subject), Classification: reg.Classification, OfficeID: reg.OfficeID,
		ApplicationID: reg.ApplicationID, ReceivedDocNumber: reg.ReceivedDocNumber, ReceivedDocDate: reg.ReceivedDocDate,
		Confidential: reg.Confidential, OperatorID: sess.OperatorID, WorkstationID: tx.DB().WorkstationID(), Documents: docs}
	if err := tx.InsertRegistration(r); err != nil {
		return store.Registration{}, err
	}
	return r, nil
}

// NamedFile is a file handed to the protocol office.
type NamedFile struct {
	Name string
	Data io.Reader
}

// RegisterDocument registers a document that did not come through the desk
// (incoming mail, PEC printed out, outgoing letters): files[0] is the primary
// document, the rest are attachments; their impronte are computed here.
func (s *Service) RegisterDocument(ctx context.Context, sess Session, reg protocol.Registration, files []NamedFile) (ProtocolResult, error) {
	var res ProtocolResult
	if err := sess.Role.Require(auth.RegisterProtocol); err != nil {
		return res, err
	}
	if reg.Confidential {
		if err := sess.Role.Require(auth.ReadConfidential); err != nil {
			return res, err
		}
		if err := s.requireConfidentialWorkstation(ctx); err != nil {
			return res, err
		}
	}
	if len(files) == 0 {
		return res, userErr("Allegare il documento da protocollare: la registrazione deve riportarne l'impronta")
	}
	var docs []protocol.Document
	for _, f := range files {
		digest, size, err := s.blobs.Put(ctx, f.Data, 0)
		if err != nil {
			return res, fmt.Errorf("desk: store document %s: %w", f.Name, err)
		}
		file, err := s.blobs.Open(digest)
		if err != nil {
			return res, fmt.Errorf("desk: read document back: %w", err)
		}
		det, err := filetype.DetectReader(file, size)
		file.Close()
		if err != nil {
			return res, fmt.Errorf("desk: detect document format: %w", err)
		}
		docs = append(docs, protocol.Document{Name: f.Name, SHA256Hex: digest, Size: size, MediaType: det.MediaType})
	}
	reg.Primary, reg.Attachments = &docs[0], docs[1:]
	if p := reg.Validate(); len(p) > 0 {
		return res, userErr("La registrazione di protocollo non è completa", p...)
	}
	online := s.online()
	err := s.write(ctx, sess, func(tx *store.Tx) error {
		for _, d := range docs {
			if err := tx.RecordBlob(d.SHA256Hex, d.Size, "", d.MediaType); err != nil {
				return err
			}
		}
		var r store.Registration
		var err error
		if online {
			r, err = s.registerOrdinaryTx(tx, sess, reg)
		} else {
			r, err = s.registerEmergencyTx(tx, sess, reg, DefaultEmergencyCause)
		}
		res.Registration = r
		return err
	})
	if err != nil {
		return res, fmt.Errorf("desk: register document: %w", err)
	}
	return s.finishRegistration(ctx, sess, res, online)
}

// Annul annuls a registration (art. 54): a new entry with reason and
// authorisation; the registration stays readable.
func (s *Service) Annul(ctx context.Context, sess Session, registrationID, reason, authorizationRef string) error {
	if err := sess.Role.Require(auth.AnnulProtocol); err != nil {
		return err
	}
	if strings.TrimSpace(reason) == "" {
		return userErr("Il motivo dell'annullamento è obbligatorio")
	}
	if strings.TrimSpace(authorizationRef) == "" {
		return userErr("Indicare gli estremi del provvedimento che autorizza l'annullamento (art. 54 DPR 445/2000)")
	}
	// A confidential registration is annulled only by a role that may read
	// it, on a workstation that may hold it: the server refuses anything
	// else, and the refusal would reach the operator only after the fact.
	if r, err := s.Registration(ctx, sess, registrationID); err != nil {
		return err
	} else if r.Confidential {
		if err := s.requireConfidentialWorkstation(ctx); err != nil {
			return err
		}
	}
	return s.write(ctx, sess, func(tx *store.Tx) error {
		annulled, err := tx.IsAnnulled(registrationID)
		if err != nil {
			return err
		}
		if annulled {
			return userErr("La registrazione è già annullata")
		}
		return tx.InsertAnnulment(ids.New(), registrationID, strings.TrimSpace(reason), strings.TrimSpace(authorizationRef))
	})
}

// OpenInterruption starts an emergency period on this workstation with the
// cause and the reference of the authorisation (art. 63).
func (s *Service) OpenInterruption(ctx context.Context, sess Session, cause, authorizationRef string) error {
	if err := sess.Role.Require(auth.ManageEmergency); err != nil {
		return err
	}
	if strings.TrimSpace(cause) == "" {
		return userErr("Indicare la causa dell'interruzione")
	}
	return s.write(ctx, sess, func(tx *store.Tx) error {
		in, err := tx.OpenInterruption()
		if err != nil {
			return err
		}
		if in != nil {
			return userErr("C'è già un'interruzione aperta su questa postazione dal " + in.StartedAt.In(protocol.Rome).Format("02/01/2006 15:04"))
		}
		return tx.InsertInterruption(store.Interruption{ID: ids.New(), RegisterCode: protocol.EmergencyRegisterCode(tx.DB().WorkstationCode()),
			Cause: strings.TrimSpace(cause), AuthorizedBy: sess.OperatorID, AuthorizationRef: strings.TrimSpace(authorizationRef), StartedAt: tx.Now()})
	})
}

// ErrNoInterruption means no emergency period is open on this workstation.
var ErrNoInterruption = errors.New("desk: no open interruption")

// CloseInterruption records that the protocol service was restored.
func (s *Service) CloseInterruption(ctx context.Context, sess Session) error {
	if err := sess.Role.Require(auth.ManageEmergency); err != nil {
		return err
	}
	return s.write(ctx, sess, func(tx *store.Tx) error {
		in, err := tx.OpenInterruption()
		if err != nil {
			return err
		}
		if in == nil {
			return &Error{Message: "Nessuna interruzione aperta su questa postazione", Err: ErrNoInterruption}
		}
		return tx.EndInterruption(in.ID, tx.Now())
	})
}

// ExtendInterruption records an authorised extension beyond 24 hours.
func (s *Service) ExtendInterruption(ctx context.Context, sess Session, authorizationRef string, until time.Time) error {
	if err := sess.Role.Require(auth.ManageEmergency); err != nil {
		return err
	}
	if strings.TrimSpace(authorizationRef) == "" {
		return userErr("Indicare gli estremi dell'autorizzazione alla proroga")
	}
	return s.write(ctx, sess, func(tx *store.Tx) error {
		in, err := tx.OpenInterruption()
		if err != nil {
			return err
		}
		if in == nil {
			return &Error{Message: "Nessuna interruzione aperta su questa postazione", Err: ErrNoInterruption}
		}
		if err := in.Rules().CheckExtension(until); err != nil {
			return userErr(err.Error())
		}
		return tx.InsertExtension(ids.New(), in.ID, strings.TrimSpace(authorizationRef), until)
	})
}

// Registrations searches the register. Confidential registrations are only
// listed for roles that may read them.
func (s *Service) Registrations(ctx context.Context, sess Session, f store.RegistrationFilter) ([]store.Registration, error) {
	if err := sess.Role.Require(auth.ViewProtocolRegist); err != nil {
		return nil, err
	}
	all, err := s.db.Registrations(ctx, f)
	if err != nil {
		return nil, err
	}
	if sess.Role.Can(auth.ReadConfidential) {
		return all, nil
	}
	out := all[:0]
	for _, r := range all {
		if !r.Confidential {
			out = append(out, r)
		}
	}
	return out, nil
}

// RepeatedRegistrations lists the registrations, not annulled, of the
// applications registered more than once — two desks protocolled the same
// application while offline, and each registration got its definitive
// number — by application and time, so that the protocol office annuls the
// extra ones (art. 54). Confidential ones are listed only for roles that
// may read them.
func (s *Service) RepeatedRegistrations(ctx context.Context, sess Session) ([]store.Registration, error) {
	return s.Registrations(ctx, sess, store.RegistrationFilter{Repeated: true, Limit: 1000})
}

// Registration reads one registration (confidentiality checked).
func (s *Service) Registration(ctx context.Context, sess Session, id string) (store.Registration, error) {
	r, err := s.db.Registration(ctx, id)
	if err != nil {
		return r, err
	}
	if r.Confidential {
		if err := sess.Role.Require(auth.ReadConfidential); err != nil {
			return store.Registration{}, err
		}
	}
	return r, nil
}

// Interruptions lists emergency periods.
func (s *Service) Interruptions(ctx context.Context) ([]store.Interruption, error) {
	return s.db.Interruptions(ctx)
}

// EmergencyDailyCounts lists registrations per emergency register and day.
func (s *Service) EmergencyDailyCounts(ctx context.Context) ([]store.EmergencyDayCount, error) {
	return s.db.EmergencyDailyCounts(ctx)
}

// officeName is a helper for PDFs and screens.
func officeName(c *catalog.Catalog, id string) string {
	if o, ok := c.Office(id); ok {
		return o.Name
	}
	return id
}
