package desk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"sportello/internal/application"
	"sportello/internal/auth"
	"sportello/internal/catalog"
	"sportello/internal/citizen"
	"sportello/internal/completeness"
	"sportello/internal/filetype"
	"sportello/internal/ids"
	"sportello/internal/protocol"
	"sportello/store"
)

// SignedFormType is the attachment type of the application form signed by
// the citizen (printed by the desk, signed, scanned back). Every procedure
// accepts it; when present it is the registration's primary document.
const SignedFormType = "istanza_firmata"

// SignedFormReq describes SignedFormType for checks and the UI.
var SignedFormReq = catalog.AttachmentReq{
	Type: SignedFormType, Label: "Istanza sottoscritta dal richiedente",
	Formats:  []catalog.Format{catalog.FormatPDF, catalog.FormatP7M, catalog.FormatJPEG, catalog.FormatPNG, catalog.FormatTIFF},
	MaxBytes: 20 << 20, MustBeSigned: true,
}

// withSignedForm returns p with SignedFormReq among its attachments (unless
// the catalog already defines that type).
func withSignedForm(p catalog.Procedure) catalog.Procedure {
	for _, a := range p.Attachments {
		if a.Type == SignedFormType {
			return p
		}
	}
	p.Attachments = append(slices.Clone(p.Attachments), SignedFormReq)
	return p
}

// requireAccess checks that sess may see and work applications of procedure p.
func requireAccess(sess Session, p catalog.Procedure, perm auth.Permission) error {
	if err := sess.Role.Require(perm); err != nil {
		return err
	}
	if p.Confidential {
		if err := sess.Role.Require(auth.ReadConfidential); err != nil {
			return err
		}
	}
	return nil
}

// Prefill returns the form values a procedure's fields take from the registry.
func Prefill(p catalog.Procedure, c citizen.Citizen) map[string]string {
	src := map[string]string{
		"citizen.codice_fiscale": c.CodiceFiscale, "citizen.surname": c.Surname, "citizen.name": c.Name,
		"citizen.birth_date": c.BirthDate, "citizen.birth_place": c.BirthPlace, "citizen.sex": c.Sex,
		"citizen.phone": c.Phone, "citizen.email": c.Email, "citizen.pec": c.PEC,
		"citizen.address.street": c.Address.Street, "citizen.address.cap": c.Address.CAP,
		"citizen.address.city": c.Address.City, "citizen.address.province": c.Address.Province,
		"citizen.full_name": c.FullName(),
	}
	out := map[string]string{}
	for _, f := range p.Fields {
		if v := src[f.Prefill]; f.Prefill != "" && v != "" {
			out[f.Key] = v
		}
	}
	return out
}

// NewApplication starts a draft of procedure for a citizen (and optional
// delegate), prefilled from the registry.
func (s *Service) NewApplication(ctx context.Context, sess Session, procedureID, citizenID, delegateID string) (application.Application, error) {
	p, _, err := s.procedure(ctx, procedureID)
	if err != nil {
		return application.Application{}, err
	}
	if err := requireAccess(sess, p, auth.FileApplications); err != nil {
		return application.Application{}, err
	}
	if !p.Active {
		return application.Application{}, userErr(fmt.Sprintf("Il procedimento «%s» non è più attivo", p.Name))
	}
	if p.Confidential {
		if err := s.requireConfidentialWorkstation(ctx); err != nil {
			return application.Application{}, err
		}
	}
	c, err := s.db.Citizen(ctx, citizenID)
	if err != nil {
		return application.Application{}, fmt.Errorf("desk: new application: %w", err)
	}
	if delegateID != "" {
		if _, err := s.db.Citizen(ctx, delegateID); err != nil {
			return application.Application{}, fmt.Errorf("desk: new application, delegate: %w", err)
		}
	}
	a := application.Application{
		ID: ids.New(), ProcedureID: p.ID, CitizenID: c.ID, DelegateID: delegateID, OfficeID: p.OfficeID,
		State: application.Bozza, Confidential: p.Confidential, Subject: p.Name + " - " + c.FullName(),
		Values: Prefill(p, c), CreatedBy: sess.OperatorID, WorkstationID: s.db.WorkstationID(),
	}
	err = s.write(ctx, sess, func(tx *store.Tx) error {
		if _, err := tx.PutApplication(a); err != nil {
			return err
		}
		return tx.AppendHistory(a.ID, "", application.Bozza, "Pratica avviata")
	})
	if err != nil {
		return a, fmt.Errorf("desk: new application: %w", err)
	}
	return s.db.Application(ctx, a.ID)
}

// Application reads an application, checking confidentiality.
func (s *Service) Application(ctx context.Context, sess Session, id string) (application.Application, error) {
	a, err := s.db.Application(ctx, id)
	if err != nil {
		return a, err
	}
	if a.Confidential {
		if err := sess.Role.Require(auth.ReadConfidential); err != nil {
			return application.Application{}, err
		}
	}
	return a, nil
}

// SaveDraft stores the form values and stamp duty identifiers as typed. A
// complete application that is edited goes back to bozza (it must be checked
// again). Saving identical data writes nothing.
func (s *Service) SaveDraft(ctx context.Context, sess Session, appID string, values map[string]string, stampIDs []string) error {
	a, err := s.Application(ctx, sess, appID)
	if err != nil {
		return err
	}
	p, _, err := s.procedure(ctx, a.ProcedureID)
	if err != nil {
		return err
	}
	if err := requireAccess(sess, p, auth.FileApplications); err != nil {
		return err
	}
	clean := map[string]string{}
	for k, v := range values {
		if _, ok := p.Field(k); ok && v != "" {
			clean[k] = v
		}
	}
	var stamps []string
	for _, id := range stampIDs {
		if id = strings.TrimSpace(id); id != "" {
			stamps = append(stamps, id)
		}
	}
	if maps.Equal(clean, a.Values) && slices.Equal(stamps, a.StampDutyIDs) {
		return nil
	}
	return s.write(ctx, sess, func(tx *store.Tx) error {
		state, err := tx.ApplicationState(appID)
		if err != nil {
			return err
		}
		if !state.Editable() {
			return userErr(fmt.Sprintf("La pratica è «%s»: i dati non si possono più modificare", state.Label()))
		}
		a.Values, a.StampDutyIDs, a.State = clean, stamps, application.Bozza
		if _, err := tx.PutApplication(a); err != nil {
			return err
		}
		if state == application.Completa {
			return tx.AppendHistory(appID, application.Completa, application.Bozza, "Dati modificati dopo la verifica di completezza")
		}
		return nil
	})
}

// AddAttachment stores a file and attaches it to a draft. The format is
// detected from the content; the size limit is the procedure's.
func (s *Service) AddAttachment(ctx context.Context, sess Session, appID, docType, fileName string, r io.Reader, declaredSigned bool) (application.Attachment, error) {
	var att application.Attachment
	a, err := s.Application(ctx, sess, appID)
	if err != nil {
		return att, err
	}
	p, _, err := s.procedure(ctx, a.ProcedureID)
	if err != nil {
		return att, err
	}
	if err := requireAccess(sess, p, auth.FileApplications); err != nil {
		return att, err
	}
	if !a.State.Editable() {
		return att, userErr(fmt.Sprintf("La pratica è «%s»: non si possono aggiungere allegati", a.State.Label()))
	}
	var req *catalog.AttachmentReq
	for _, x := range withSignedForm(p).Attachments {
		if x.Type == docType {
			req = &x
			break
		}
	}
	if req == nil {
		return att, userErr(fmt.Sprintf("Il procedimento «%s» non prevede allegati di tipo «%s»", p.Name, docType))
	}
	digest, size, err := s.blobs.Put(ctx, r, req.MaxBytes)
	if errors.Is(err, store.ErrTooLarge) {
		return att, userErr(fmt.Sprintf("Il file «%s» supera il limite di %s previsto per «%s»", fileName, formatMB(req.MaxBytes), req.Label))
	}
	if err != nil {
		return att, fmt.Errorf("desk: store attachment: %w", err)
	}
	if size == 0 {
		return att, userErr(fmt.Sprintf("Il file «%s» è vuoto", fileName))
	}
	f, err := s.blobs.Open(digest)
	if err != nil {
		return att, fmt.Errorf("desk: read attachment back: %w", err)
	}
	det, err := filetype.DetectReader(f, size)
	f.Close()
	if err != nil {
		return att, fmt.Errorf("desk: detect attachment format: %w", err)
	}
	att = application.Attachment{ID: ids.New(), ApplicationID: appID, DocType: docType, FileName: fileName, Format: string(det.Format),
		MediaType: det.MediaType, Size: size, SHA256: digest, Signature: string(det.Signature), DeclaredSigned: declaredSigned, AddedBy: sess.OperatorID}
	if det.PDFA {
		att.Format = string(catalog.FormatPDFA)
	}
	err = s.write(ctx, sess, func(tx *store.Tx) error {
		state, err := tx.ApplicationState(appID)
		if err != nil {
			return err
		}
		if !state.Editable() {
			return userErr(fmt.Sprintf("La pratica è «%s»: non si possono aggiungere allegati", state.Label()))
		}
		if err := tx.RecordBlob(digest, size, att.Format, att.MediaType); err != nil {
			return err
		}
		if err := tx.AddAttachment(att); err != nil {
			return err
		}
		return reopenTx(tx, a, state, "Allegato aggiunto dopo la verifica di completezza")
	})
	if err != nil {
		return att, fmt.Errorf("desk: add attachment: %w", err)
	}
	att.AddedAt = s.db.Now()
	return att, nil
}

// reopenTx moves a complete application back to bozza after a change to its
// attachments: it must pass the completeness check again.
func reopenTx(tx *store.Tx, a application.Application, state application.State, note string) error {
	if state != application.Completa {
		return nil
	}
	a.State = application.Bozza
	if _, err := tx.PutApplication(a); err != nil {
		return err
	}
	return tx.AppendHistory(a.ID, application.Completa, application.Bozza, note)
}

// WithdrawAttachment removes an attachment from a draft. The record and the
// file are kept (never silently replaced or deleted); it just no longer counts.
func (s *Service) WithdrawAttachment(ctx context.Context, sess Session, appID, attachmentID string) error {
	a, err := s.Application(ctx, sess, appID)
	if err != nil {
		return err
	}
	atts, err := s.db.Attachments(ctx, appID)
	if err != nil {
		return err
	}
	found := false
	for _, x := range atts {
		found = found || (x.ID == attachmentID && !x.Withdrawn)
	}
	if !found {
		return userErr("L'allegato non fa parte della pratica")
	}
	return s.write(ctx, sess, func(tx *store.Tx) error {
		state, err := tx.ApplicationState(appID)
		if err != nil {
			return err
		}
		if !state.Editable() {
			return userErr(fmt.Sprintf("La pratica è «%s»: gli allegati non si possono più togliere", state.Label()))
		}
		if err := tx.WithdrawAttachment(attachmentID); err != nil {
			return err
		}
		return reopenTx(tx, a, state, "Allegato tolto dopo la verifica di completezza")
	})
}

// Attachments lists the attachments of an application still in force.
func (s *Service) Attachments(ctx context.Context, sess Session, appID string) ([]application.Attachment, error) {
	if _, err := s.Application(ctx, sess, appID); err != nil {
		return nil, err
	}
	all, err := s.db.Attachments(ctx, appID)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, a := range all {
		if !a.Withdrawn {
			out = append(out, a)
		}
	}
	return out, nil
}

// History lists an application's lifecycle.
func (s *Service) History(ctx context.Context, sess Session, appID string) ([]application.HistoryEntry, error) {
	if _, err := s.Application(ctx, sess, appID); err != nil {
		return nil, err
	}
	return s.db.History(ctx, appID)
}

func (s *Service) check(ctx context.Context, a application.Application) ([]completeness.Problem, catalog.Procedure, []application.Attachment, error) {
	p, _, err := s.procedure(ctx, a.ProcedureID)
	if err != nil {
		return nil, p, nil, err
	}
	all, err := s.db.Attachments(ctx, a.ID)
	if err != nil {
		return nil, p, nil, err
	}
	in := completeness.Input{Values: a.Values, StampDutyIDs: a.StampDutyIDs, Today: s.db.Now().In(protocol.Rome)}
	var atts []application.Attachment
	for _, x := range all {
		if x.Withdrawn {
			continue
		}
		atts = append(atts, x)
		in.Attachments = append(in.Attachments, completeness.Attachment{ID: x.ID, Type: x.DocType, FileName: x.FileName,
			Format: catalog.Format(x.Format), Size: x.Size, Signature: filetype.SignatureKind(x.Signature), DeclaredSigned: x.DeclaredSigned})
	}
	return completeness.Check(withSignedForm(p), in), p, atts, nil
}

// Check runs the formal completeness check and returns the problems found
// (none means complete). It changes nothing.
func (s *Service) Check(ctx context.Context, sess Session, appID string) ([]completeness.Problem, error) {
	a, err := s.Application(ctx, sess, appID)
	if err != nil {
		return nil, err
	}
	problems, _, _, err := s.check(ctx, a)
	return problems, err
}

// MarkComplete runs the check and, when it passes, moves the draft to
// completa. When it fails the problems are returned and nothing changes.
func (s *Service) MarkComplete(ctx context.Context, sess Session, appID string) ([]completeness.Problem, error) {
	a, err := s.Application(ctx, sess, appID)
	if err != nil {
		return nil, err
	}
	if a.State == application.Completa {
		return nil, nil
	}
	if err := application.CheckMove(a.State, application.Completa); err != nil {
		return nil, userErr(err.Error())
	}
	problems, p, _, err := s.check(ctx, a)
	if err != nil || len(problems) > 0 {
		return problems, err
	}
	if err := requireAccess(sess, p, auth.FileApplications); err != nil {
		return nil, err
	}
	return nil, s.write(ctx, sess, func(tx *store.Tx) error {
		return s.moveTx(tx, a, application.Completa, "Verifica di completezza formale superata")
	})
}

func (s *Service) moveTx(tx *store.Tx, a application.Application, to application.State, note string) error {
	from, err := tx.ApplicationState(a.ID)
	if err != nil {
		return err
	}
	if err := application.CheckMove(from, to); err != nil {
		return userErr(err.Error())
	}
	a.State = to
	if _, err := tx.PutApplication(a); err != nil {
		return err
	}
	return tx.AppendHistory(a.ID, from, to, note)
}

// Move changes an application's state along its lifecycle (forwarding,
// taking in charge, closing, rejecting), with a note in the history.
func (s *Service) Move(ctx context.Context, sess Session, appID string, to application.State, note string) error {
	a, err := s.Application(ctx, sess, appID)
	if err != nil {
		return err
	}
	p, _, err := s.procedure(ctx, a.ProcedureID)
	if err != nil {
		return err
	}
	perm := auth.WorkApplications
	if to == application.Inoltrata {
		perm = auth.FileApplications
	}
	if err := requireAccess(sess, p, perm); err != nil {
		return err
	}
	if to == application.Completa || to == application.Protocollata {
		return userErr("Usare la verifica di completezza e la protocollazione")
	}
	if (to == application.Respinta || to == application.Conclusa) && strings.TrimSpace(note) == "" {
		return userErr("Indicare l'esito nella nota")
	}
	return s.write(ctx, sess, func(tx *store.Tx) error { return s.moveTx(tx, a, to, note) })
}

// Forward sends a protocolled application to the competent office.
func (s *Service) Forward(ctx context.Context, sess Session, appID, note string) error {
	a, err := s.Application(ctx, sess, appID)
	if err != nil {
		return err
	}
	_, office, err := s.procedure(ctx, a.ProcedureID)
	if err != nil {
		return err
	}
	if note == "" {
		note = "Inoltrata a " + office.Name
	}
	return s.Move(ctx, sess, appID, application.Inoltrata, note)
}

// now is the service clock.
func (s *Service) now() time.Time { return s.db.Now() }

// formatMB renders a byte count in MB with the Italian decimal comma.
func formatMB(n int64) string {
	mb := float64(n) / (1 << 20)
	s := fmt.Sprintf("%.1f", mb)
	s = strings.TrimSuffix(s, ".0")
	return strings.Replace(s, ".", ",", 1) + " MB"
}
