package pdf

import (
	"fmt"
	"io"
	"strings"
)

// EmergencyNotice is printed in bold on receipts numbered in the emergency
// register.
const EmergencyNotice = "Registrazione nel registro di emergenza (art. 63 DPR 445/2000): " +
	"il numero di protocollo definitivo sarà comunicato al ripristino del sistema."

// hashStyle is the monospace style of the SHA-256 impronte.
var hashStyle = style{faceMono, 7, colText}

// RenderReceipt writes the protocol receipt r as a PDF to w: the
// municipality, the protocol number and date in a prominent box (with the
// emergency-register notice when r.Emergency), procedure, subject, office,
// legal term and notes, the citizen, the registered documents with their
// full SHA-256 impronta, operator and workstation.
func RenderReceipt(w io.Writer, r Receipt) error {
	comune := municipalityTitle(r.Municipality)
	info := docInfo{
		Title:   "Ricevuta di protocollazione " + r.ProtocolLabel,
		Subject: r.Subject,
		Author:  comune,
		Creator: "sportello",
		Created: r.RegisteredAt.In(rome),
	}
	return render(w, info, func(l *layout) {
		ref := "Protocollo n. " + orDash(r.ProtocolLabel)
		if r.Emergency {
			ref = "Registro di emergenza n. " + orDash(r.ProtocolLabel)
		}
		if d := dateIT(r.RegisteredAt); d != "" {
			ref += " del " + d
		}
		l.footerLeft = "Ricevuta – " + ref + " – " + comune
		l.runningHead = comune + " – Ricevuta di protocollazione – " + ref
		drawReceipt(l, r)
	})
}

func drawReceipt(l *layout, r Receipt) {
	l.newPage()
	l.letterhead(r.Municipality, "", "")

	sub := "Registro generale di protocollo"
	if r.Emergency {
		sub = "Registro di emergenza – numerazione provvisoria"
	}
	l.titleBlock("", "Ricevuta di protocollazione", sub)
	l.gap(3)
	drawProtocolBox(l, r)
	if r.Emergency {
		l.gap(2.5)
		l.notice(EmergencyNotice, style{faceBold, 10, colAlert}, colAlertBg, colAlert)
	}

	l.heading("Dati della registrazione")
	rows := []FieldValue{
		{"Procedimento", orDash(r.ProcedureName)},
		{"Oggetto", orDash(r.Subject)},
		{"Ufficio competente", orDash(r.OfficeName)},
	}
	if c := strings.TrimSpace(r.Classification); c != "" {
		rows = append(rows, FieldValue{"Classificazione", c})
	}
	if r.TermDays > 0 {
		rows = append(rows, FieldValue{"Termine di conclusione", termIT(r.TermDays)})
	}
	if n := strings.TrimSpace(r.Notes); n != "" {
		rows = append(rows, FieldValue{"Note", n})
	}
	l.kvTable(rows, 48)

	l.heading("Richiedente")
	l.kvGrid(personRows(r.Citizen))

	l.heading("Documenti registrati")
	if len(r.Attachments) == 0 {
		l.paragraph("Nessun documento allegato.", stBody, 0)
	} else {
		hashW := min(l.width(strings.Repeat("0", 64), hashStyle)+2*cellPad+0.6, 104)
		t := table{
			cols:   []column{{width: 9, right: true}, {width: contentW - 9 - hashW}, {width: hashW}},
			header: []string{"N.", "Documento", "Impronta SHA-256"},
		}
		for i, a := range r.Attachments {
			meta := sizeIT(a.Size)
			if a.Signed {
				if meta != "" {
					meta += " · "
				}
				meta += "firmato digitalmente"
			}
			doc := cell{{orDash(a.Label), style{faceBold, 8.5, colText}}}
			if a.FileName != "" {
				doc = append(doc, span{a.FileName, stSmall})
			}
			if meta != "" {
				doc = append(doc, span{meta, stCaption})
			}
			t.rows = append(t.rows,
				cell{{fmt.Sprint(i + 1), stSmall}},
				doc,
				cell{{orDash(strings.ToLower(strings.TrimSpace(a.SHA256Hex))), hashStyle}})
		}
		l.drawTable(t)
		l.gap(1.5)
		l.paragraph("L'impronta è calcolata con l'algoritmo SHA-256 sul contenuto di ciascun file così come registrato: "+
			"consente di verificare che il documento non sia stato modificato.", stNote, 0)
	}

	l.heading("Registrazione effettuata da")
	l.drawTable(table{
		cols: []column{{width: 30, shade: true}, {width: 64}, {width: 30, shade: true}, {width: contentW - 124}},
		rows: []cell{
			{{"Operatore", stLabel}}, {{orDash(r.Operator), stBody}},
			{{"Postazione", stLabel}}, {{orDash(r.Workstation), stBody}},
		},
	})

}

// drawProtocolBox prints the protocol number, the registration date and the
// direction in a framed, tinted box.
func drawProtocolBox(l *layout, r Receipt) {
	const pad = 3.0
	const leftW = 108.0
	caption := "NUMERO DI PROTOCOLLO"
	if r.Emergency {
		caption = "NUMERO NEL REGISTRO DI EMERGENZA (PROVVISORIO)"
	}
	// Shrink the number until it fits its half of the box.
	num := orDash(r.ProtocolLabel)
	numSt := style{faceBold, 20, colAccent}
	for numSt.size > 10 && l.width(num, numSt) > leftW-2*pad {
		numSt.size--
	}
	numLines := l.wrap(num, numSt, leftW-2*pad)

	dateSt := style{faceBold, 13, colText}
	date := orDash(dateTimeIT(r.RegisteredAt))
	dir := strings.TrimSpace(r.Direction)
	if dir != "" {
		dir = "Registrazione in " + strings.ToLower(dir)
	}

	leftH := stCaption.lineH() + 1 + float64(len(numLines))*numSt.lineH()
	rightH := stCaption.lineH() + 1 + dateSt.lineH()
	if dir != "" {
		rightH += 1 + stLabel.lineH()
	}
	h := max(leftH, rightH) + 2*pad
	l.ensure(h)

	l.c.SetFillColor(colShade)
	l.c.SetDrawColor(colAccent)
	l.c.SetLineWidth(0.5)
	l.c.Rect(marginL, l.y, contentW, h, true, true)
	l.c.SetLineWidth(ruleW)
	l.c.Line(marginL+leftW, l.y+pad, marginL+leftW, l.y+h-pad)

	x, y := marginL+pad, l.y+pad
	l.textAt(x, y, caption, stCaption)
	y += stCaption.lineH() + 1
	for _, ln := range numLines {
		l.textAt(x, y, ln, numSt)
		y += numSt.lineH()
	}

	x, y = marginL+leftW+pad, l.y+pad
	l.textAt(x, y, "DATA E ORA DI REGISTRAZIONE", stCaption)
	y += stCaption.lineH() + 1
	l.textAt(x, y, date, dateSt)
	y += dateSt.lineH() + 1
	if dir != "" {
		l.textAt(x, y, dir, stLabel)
	}
	l.y += h
}
