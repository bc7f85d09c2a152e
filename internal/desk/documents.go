package desk

import (
	"context"
	"fmt"
	"io"
	"strings"

	"sportello/internal/application"
	"sportello/internal/catalog"
	"sportello/internal/citizen"
	"sportello/internal/pdf"
	"sportello/internal/protocol"
	"sportello/store"
)

// declarations printed on every application form.
var declarations = []string{
	"Il/La sottoscritto/a, consapevole delle sanzioni penali previste dall'art. 76 del DPR 445/2000 per le dichiarazioni mendaci e la falsità negli atti, dichiara che quanto riportato nella presente istanza corrisponde al vero (artt. 46 e 47 DPR 445/2000).",
	"Informativa privacy: i dati personali sono trattati dal Comune, titolare del trattamento, esclusivamente per il procedimento richiesto, ai sensi degli artt. 13 e 14 del Regolamento (UE) 2016/679.",
}

func pdfMunicipality(c *catalog.Catalog) pdf.Municipality {
	m := c.Municipality
	return pdf.Municipality{Name: m.Name, Province: m.Province, AOOName: m.AOOName, AOOCode: m.AOOCode, Address: m.Address}
}

func pdfPerson(c citizen.Citizen) pdf.Person {
	addr := strings.TrimSpace(strings.Join(nonEmpty(c.Address.Street, strings.TrimSpace(c.Address.CAP+" "+c.Address.City), parens(c.Address.Province)), ", "))
	return pdf.Person{FullName: c.FullName(), CodiceFiscale: c.CodiceFiscale, BirthDate: italianDate(c.BirthDate), BirthPlace: c.BirthPlace,
		Address: addr, Phone: c.Phone, Email: c.Email, PEC: c.PEC}
}

func nonEmpty(xs ...string) []string {
	var out []string
	for _, x := range xs {
		if strings.TrimSpace(x) != "" {
			out = append(out, x)
		}
	}
	return out
}

func parens(s string) string {
	if s == "" {
		return ""
	}
	return "(" + s + ")"
}

func attachmentLabel(p catalog.Procedure, docType string) string {
	for _, a := range withSignedForm(p).Attachments {
		if a.Type == docType {
			return a.Label
		}
	}
	return docType
}

// displayValue renders a form value for print.
func displayValue(f catalog.Field, v string) string {
	switch f.Type {
	case catalog.Checkbox:
		if v == "true" {
			return "Sì"
		}
		return "No"
	case catalog.Date:
		return italianDate(v)
	case catalog.Choice:
		for _, o := range f.Options {
			if o.Value == v {
				return o.Label
			}
		}
	}
	return v
}

// ApplicationFormPDF writes the application form for the citizen to sign.
func (s *Service) ApplicationFormPDF(ctx context.Context, sess Session, appID string, w io.Writer) error {
	a, err := s.Application(ctx, sess, appID)
	if err != nil {
		return err
	}
	cat, err := s.Catalog(ctx)
	if err != nil {
		return err
	}
	p, ok := cat.Procedure(a.ProcedureID)
	if !ok {
		return userErr(fmt.Sprintf("Il procedimento «%s» non è nel catalogo", a.ProcedureID))
	}
	c, err := s.db.Citizen(ctx, a.CitizenID)
	if err != nil {
		return fmt.Errorf("desk: form PDF: %w", err)
	}
	form := pdf.ApplicationForm{Municipality: pdfMunicipality(cat), ProcedureName: p.Name, OfficeName: officeName(cat, p.OfficeID),
		ApplicationID: a.ID, Applicant: pdfPerson(c), Declarations: declarations, Place: cat.Municipality.Name, Date: s.now().In(protocol.Rome)}
	if a.DelegateID != "" {
		d, err := s.db.Citizen(ctx, a.DelegateID)
		if err != nil {
			return fmt.Errorf("desk: form PDF delegate: %w", err)
		}
		dp := pdfPerson(d)
		form.Delegate = &dp
	}
	for _, f := range p.Fields {
		if !f.IsVisible(a.Values) {
			continue
		}
		if v := a.Values[f.Key]; v != "" {
			form.Fields = append(form.Fields, pdf.FieldValue{Label: f.Label, Value: displayValue(f, v)})
		}
	}
	atts, err := s.db.Attachments(ctx, a.ID)
	if err != nil {
		return err
	}
	for _, x := range atts {
		if !x.Withdrawn && x.DocType != SignedFormType {
			form.Attachments = append(form.Attachments, pdf.Attachment{Label: attachmentLabel(p, x.DocType), FileName: x.FileName, Size: x.Size,
				SHA256Hex: x.SHA256, Signed: x.Signature != ""})
		}
	}
	if len(a.StampDutyIDs) > 0 {
		form.StampDuty = "Marca da bollo n. " + strings.Join(a.StampDutyIDs, ", ")
	}
	if err := pdf.RenderApplicationForm(w, form); err != nil {
		return fmt.Errorf("desk: render form: %w", err)
	}
	return nil
}

// ReceiptPDF writes the protocol receipt of a registration.
func (s *Service) ReceiptPDF(ctx context.Context, sess Session, registrationID string, w io.Writer) error {
	r, err := s.Registration(ctx, sess, registrationID)
	if err != nil {
		return err
	}
	cat, err := s.Catalog(ctx)
	if err != nil {
		return err
	}
	rc := pdf.Receipt{Municipality: pdfMunicipality(cat), Emergency: r.Number == 0 && r.EmergencyNumber > 0, ProtocolLabel: r.Label(),
		RegisteredAt: r.RegisteredAt, Direction: r.Direction.Label(), Subject: r.Subject, OfficeName: officeName(cat, r.OfficeID),
		Classification: r.Classification, Citizen: pdf.Person{FullName: r.Correspondent, CodiceFiscale: r.CorrespondentCF},
		Operator: sess.FullName, Workstation: s.db.WorkstationCode()}
	if r.Number > 0 && r.EmergencyNumber > 0 {
		rc.Notes = "Registrazione effettuata nel registro di emergenza con il n. " + r.EmergencyLabel() + "."
	}
	if r.Annulled {
		rc.Notes = strings.TrimSpace(rc.Notes + " REGISTRAZIONE ANNULLATA: " + r.AnnulReason)
	}
	var p catalog.Procedure
	if r.ApplicationID != "" {
		a, err := s.db.Application(ctx, r.ApplicationID)
		if err != nil {
			return err
		}
		p, _ = cat.Procedure(a.ProcedureID)
		rc.ProcedureName, rc.TermDays = p.Name, p.TermDays
		if c, err := s.db.Citizen(ctx, a.CitizenID); err == nil {
			rc.Citizen = pdfPerson(c)
		}
		atts, err := s.db.Attachments(ctx, a.ID)
		if err != nil {
			return err
		}
		bySHA := map[string]application.Attachment{}
		for _, x := range atts {
			bySHA[x.SHA256] = x
		}
		for _, d := range r.Documents {
			x := bySHA[d.SHA256Hex]
			label := "Istanza"
			if x.DocType != "" {
				label = attachmentLabel(p, x.DocType)
			}
			rc.Attachments = append(rc.Attachments, pdf.Attachment{Label: label, FileName: d.Name, Size: d.Size, SHA256Hex: d.SHA256Hex, Signed: x.Signature != ""})
		}
	} else {
		for i, d := range r.Documents {
			label := "Allegato"
			if i == 0 {
				label = "Documento principale"
			}
			rc.Attachments = append(rc.Attachments, pdf.Attachment{Label: label, FileName: d.Name, Size: d.Size, SHA256Hex: d.SHA256Hex})
		}
	}
	if err := pdf.RenderReceipt(w, rc); err != nil {
		return fmt.Errorf("desk: render receipt: %w", err)
	}
	return nil
}

// RegistrationOfApplication returns the (non annulled) registration of an application.
func (s *Service) RegistrationOfApplication(ctx context.Context, sess Session, appID string) (store.Registration, error) {
	regs, err := s.db.Registrations(ctx, store.RegistrationFilter{ApplicationID: appID})
	if err != nil {
		return store.Registration{}, err
	}
	for _, r := range regs {
		if !r.Annulled {
			return s.Registration(ctx, sess, r.ID)
		}
	}
	return store.Registration{}, fmt.Errorf("desk: registration of application %s: %w", appID, store.ErrNotFound)
}
