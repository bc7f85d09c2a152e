package pdf

// letterhead draws the municipality header at the top of the first page;
// when refCaption is not empty, a reference (e.g. the application number)
// is printed on the right.
func (l *layout) letterhead(m Municipality, refCaption, ref string) {
	const refW = 62.0
	leftW := contentW
	if refCaption != "" {
		leftW -= refW + 4
	}
	top := l.y
	title := style{faceBold, 15, colAccent}
	y := top
	for _, ln := range l.wrap(municipalityTitle(m), title, leftW) {
		l.textAt(marginL, y, ln, title)
		y += title.lineH()
	}
	y += 0.5
	for _, s := range municipalityLines(m) {
		for _, ln := range l.wrap(s, stLabel, leftW) {
			l.textAt(marginL, y, ln, stLabel)
			y += stLabel.lineH()
		}
	}
	if refCaption != "" {
		x := pageW - marginR
		ry := top + 0.8
		l.textAt(x-l.width(refCaption, stCaption), ry, refCaption, stCaption)
		ry += stCaption.lineH()
		refSt := style{faceBold, 10.5, colText}
		for _, ln := range l.wrap(orDash(ref), refSt, refW) {
			l.textAt(x-l.width(ln, refSt), ry, ln, refSt)
			ry += refSt.lineH()
		}
		y = max(y, ry)
	}
	l.y = y + 2
	l.rule(l.y, colAccent, 0.6)
	l.y += 5
}

// titleBlock prints a small upper-case caption, a large title and an
// optional subtitle.
func (l *layout) titleBlock(caption, title, subtitle string) {
	if caption != "" {
		l.paragraph(caption, style{faceBold, 8.5, colMuted}, 0)
		l.gap(0.5)
	}
	l.paragraph(orDash(title), style{faceBold, 15, colText}, 0)
	if subtitle != "" {
		l.gap(0.5)
		l.paragraph(subtitle, stBody, 0)
	}
}

// kvTable prints label/value pairs as a two-column table with a shaded label
// column labelW wide.
func (l *layout) kvTable(rows []FieldValue, labelW float64) {
	t := table{cols: []column{{width: labelW, shade: true}, {width: contentW - labelW}}}
	for _, r := range rows {
		t.rows = append(t.rows,
			cell{{orDash(r.Label), stLabel}},
			cell{{orDash(r.Value), stBody}})
	}
	l.drawTable(t)
}

// kvGrid prints label/value pairs two per row (label, value, label, value),
// a more compact layout for short values such as personal data. An odd last
// pair gets the whole row.
func (l *layout) kvGrid(rows []FieldValue) {
	const labelW = 30.0
	valueW := (contentW - 2*labelW) / 2
	t := table{cols: []column{{width: labelW, shade: true}, {width: valueW}, {width: labelW, shade: true}, {width: valueW}}}
	for i := 0; i+1 < len(rows); i += 2 {
		for _, r := range rows[i : i+2] {
			t.rows = append(t.rows, cell{{orDash(r.Label), stLabel}}, cell{{orDash(r.Value), stBody}})
		}
	}
	l.drawTable(t)
	if len(rows)%2 == 1 {
		l.kvTable(rows[len(rows)-1:], labelW)
	}
}
