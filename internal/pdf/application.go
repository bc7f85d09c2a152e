package pdf

import (
	"fmt"
	"io"
	"strings"
)

// RenderApplicationForm writes the application form f as a PDF to w: the
// municipality header, the procedure, the applicant and (when present) the
// delegate, the form fields, the attachments, the stamp duty, the
// declarations, place and date and the signature box. Every page carries
// "Pagina N di M" and the application number in the footer.
func RenderApplicationForm(w io.Writer, f ApplicationForm) error {
	comune := municipalityTitle(f.Municipality)
	info := docInfo{
		Title:   "Domanda n. " + f.ApplicationID + " – " + f.ProcedureName,
		Subject: f.ProcedureName,
		Author:  comune,
		Creator: "sportello",
		Created: f.Date.In(rome),
	}
	return render(w, info, func(l *layout) {
		l.footerLeft = "Domanda n. " + orDash(f.ApplicationID) + " – " + comune
		l.runningHead = comune + " – " + f.ProcedureName
		drawApplication(l, f)
	})
}

func drawApplication(l *layout, f ApplicationForm) {
	l.newPage()
	l.letterhead(f.Municipality, "Domanda n.", f.ApplicationID)

	var sub string
	if o := strings.TrimSpace(f.OfficeName); o != "" {
		sub = "Ufficio competente: " + o
	}
	l.titleBlock("DOMANDA", f.ProcedureName, sub)

	l.heading("Dati del richiedente")
	l.kvGrid(personRows(f.Applicant))

	if f.Delegate != nil {
		l.heading("Dati del delegato")
		l.paragraph("Persona che presenta la domanda per conto del richiedente.", stNote, 0)
		l.gap(1)
		l.kvGrid(personRows(*f.Delegate))
	}

	l.heading("Dati della domanda")
	if len(f.Fields) == 0 {
		l.paragraph("Nessun dato aggiuntivo.", stBody, 0)
	} else {
		l.kvTable(f.Fields, 62)
	}

	l.heading("Allegati")
	if len(f.Attachments) == 0 {
		l.paragraph("Nessun allegato.", stBody, 0)
	} else {
		t := table{
			cols: []column{
				{width: 9, right: true}, {width: 55}, {width: 62},
				{width: 22, right: true}, {width: contentW - 148},
			},
			header: []string{"N.", "Documento", "Nome del file", "Dimensione", "Firma digitale"},
		}
		for i, a := range f.Attachments {
			signed := "No"
			if a.Signed {
				signed = "Sì"
			}
			t.rows = append(t.rows,
				cell{{fmt.Sprint(i + 1), stSmall}},
				cell{{orDash(a.Label), stSmall}},
				cell{{orDash(a.FileName), stSmall}},
				cell{{orDash(sizeIT(a.Size)), stSmall}},
				cell{{signed, stSmall}})
		}
		l.drawTable(t)
	}

	if s := strings.TrimSpace(f.StampDuty); s != "" {
		l.heading("Imposta di bollo")
		l.paragraph(s, stBody, 0)
	}

	if len(f.Declarations) > 0 {
		l.heading("Dichiarazioni")
		st := style{faceRegular, 9, colText}
		for i, d := range f.Declarations {
			if i > 0 {
				l.gap(1.5)
			}
			if i == len(f.Declarations)-1 {
				// Keep the signature on the same page as the last
				// declaration: a signature alone on a page proves little.
				h := float64(len(l.wrap(d, st, contentW-bulletHang))) * st.lineH()
				if h+signatureH() <= l.bottom()-marginT-10 {
					l.ensure(h + signatureH())
				}
			}
			l.bullet(d, st)
		}
	}

	drawSignature(l, f.Place, dateIT(f.Date))
}

// drawSignature prints "Luogo e data" on the left and the signature box
// "Firma del richiedente" on the right, kept together on one page.
const (
	sigGap  = 7.0
	sigBoxW = 78.0
	sigBoxH = 22.0
)

// signatureH is the height drawSignature needs, gap included.
func signatureH() float64 { return sigGap + stLabel.lineH() + 1 + sigBoxH }

func drawSignature(l *layout, place, date string) {
	l.gap(sigGap)
	l.ensure(signatureH() - sigGap)
	top := l.y

	l.textAt(marginL, top, "Luogo e data", stLabel)
	pd := strings.TrimSpace(place)
	if date != "" {
		if pd != "" {
			pd += ", "
		}
		pd += date
	}
	vy := top + stLabel.lineH() + 4
	if pd != "" {
		for _, ln := range l.wrap(pd, stBold, contentW-sigBoxW-10) {
			l.textAt(marginL, vy, ln, stBold)
			vy += stBold.lineH()
		}
	} else {
		l.c.SetDrawColor(colText)
		l.c.SetLineWidth(ruleW)
		l.c.Line(marginL, vy+8, marginL+70, vy+8)
	}

	bx := pageW - marginR - sigBoxW
	caption := "Firma del richiedente"
	l.textAt(bx+(sigBoxW-l.width(caption, stLabel))/2, top, caption, stLabel)
	l.c.SetDrawColor(colRule)
	l.c.SetLineWidth(0.3)
	l.c.Rect(bx, top+stLabel.lineH()+1, sigBoxW, sigBoxH, false, true)
	l.y = max(vy, top+stLabel.lineH()+1+sigBoxH)
}
