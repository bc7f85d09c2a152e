package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"sportello/internal/catalog"
	"sportello/internal/desk"
	"sportello/internal/protocol"
	"sportello/store"
)

// RegisterHeader is the header row of the daily register CSV.
var RegisterHeader = []string{"numero", "data registrazione", "direzione", "mittente/destinatario", "oggetto", "classificazione",
	"ufficio", "impronta documento principale", "registro di emergenza e numero", "annullata/motivo"}

// RegisterEntry is one line of the daily register: a definitive number and
// the registration it was given to.
type RegisterEntry struct {
	AOO          string
	Year         int
	Number       int64
	AssignedAt   time.Time // when the server gave the number: the day it belongs to
	Registration store.Registration
}

// DailyRegister is the registro giornaliero di protocollo of one Europe/Rome
// day: every definitive number assigned that day, in number order.
type DailyRegister struct {
	Date    string // YYYY-MM-DD, Europe/Rome
	Entries []RegisterEntry
}

// First and Last are the first and last number of the day (0 when none).
func (r *DailyRegister) First() int64 {
	if len(r.Entries) == 0 {
		return 0
	}
	return r.Entries[0].Number
}

// Last is the last number of the day.
func (r *DailyRegister) Last() int64 {
	if len(r.Entries) == 0 {
		return 0
	}
	return r.Entries[len(r.Entries)-1].Number
}

// BuildDailyRegister reads the numbers assigned on date (YYYY-MM-DD, Europe/Rome).
func BuildDailyRegister(ctx context.Context, db *store.DB, date string) (*DailyRegister, error) {
	start, err := time.ParseInLocation("2006-01-02", date, protocol.Rome)
	if err != nil {
		return nil, &desk.Error{Message: fmt.Sprintf("Data «%s» non valida: usare il formato AAAA-MM-GG", date)}
	}
	end := start.AddDate(0, 0, 1) // 23 or 25 hours on the days summer time changes
	var raw string
	err = db.Read(ctx, func(q store.Querier) error {
		return q.QueryRow(`SELECT COALESCE(json_group_array(json_object('id', registration_id, 'aoo', aoo, 'year', year, 'number', number, 'at', assigned_at)), '[]')
			FROM (SELECT registration_id, aoo, year, number, assigned_at FROM protocol_numbers
				WHERE assigned_at >= ? AND assigned_at < ? ORDER BY aoo, year, number)`,
			store.FormatInstant(start), store.FormatInstant(end)).Scan(&raw)
	})
	if err != nil {
		return nil, fmt.Errorf("server: daily register: %w", err)
	}
	var rows []struct {
		ID     string `json:"id"`
		AOO    string `json:"aoo"`
		Year   int    `json:"year"`
		Number int64  `json:"number"`
		At     string `json:"at"`
	}
	if err := json.Unmarshal([]byte(raw), &rows); err != nil {
		return nil, fmt.Errorf("server: daily register: %w", err)
	}
	reg := &DailyRegister{Date: start.Format("2006-01-02")}
	for _, row := range rows {
		r, err := db.Registration(ctx, row.ID)
		if err != nil {
			return nil, fmt.Errorf("server: daily register, number %d: %w", row.Number, err)
		}
		at, err := time.Parse(time.RFC3339, row.At)
		if err != nil {
			return nil, fmt.Errorf("server: daily register, number %d: %w", row.Number, err)
		}
		reg.Entries = append(reg.Entries, RegisterEntry{AOO: row.AOO, Year: row.Year, Number: row.Number, AssignedAt: at, Registration: r})
	}
	sort.SliceStable(reg.Entries, func(i, j int) bool {
		a, b := reg.Entries[i], reg.Entries[j]
		if a.AOO != b.AOO {
			return a.AOO < b.AOO
		}
		if a.Year != b.Year {
			return a.Year < b.Year
		}
		return a.Number < b.Number
	})
	return reg, nil
}

// Gaps lists the numbers missing between the day's first and last number
// (none when the numbering is sound).
func (r *DailyRegister) Gaps() []int64 {
	var out []int64
	for i := 1; i < len(r.Entries); i++ {
		prev, cur := r.Entries[i-1], r.Entries[i]
		if prev.AOO != cur.AOO || prev.Year != cur.Year {
			continue
		}
		for n := prev.Number + 1; n < cur.Number; n++ {
			out = append(out, n)
		}
	}
	return out
}

func romeTime(t time.Time) string { return t.In(protocol.Rome).Format(time.RFC3339) }

// CSV renders the register (header first, then one line per number) and
// returns it with its SHA-256 digest (hex). cat names the offices.
func (r *DailyRegister) CSV(cat *catalog.Catalog) ([]byte, string, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write(RegisterHeader)
	for _, e := range r.Entries {
		g := e.Registration
		office := g.OfficeID
		if cat != nil {
			if o, ok := cat.Office(g.OfficeID); ok {
				office = o.Name
			}
		}
		primary := ""
		if len(g.Documents) > 0 {
			primary = g.Documents[0].SHA256Hex
		}
		emergency := ""
		if l := g.EmergencyLabel(); l != "" {
			emergency = l + " del " + romeTime(g.RegisteredAt)
		}
		annulled := "no"
		if g.Annulled {
			annulled = "sì: " + g.AnnulReason
		}
		w.Write([]string{protocol.NumberLabel(e.Number, e.Year), romeTime(e.AssignedAt), g.Direction.Label(), g.Correspondent, g.Subject,
			g.Classification, office, primary, emergency, annulled})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return nil, "", fmt.Errorf("server: daily register CSV: %w", err)
	}
	sum := sha256.Sum256(buf.Bytes())
	return buf.Bytes(), hex.EncodeToString(sum[:]), nil
}

// DigestLine is the line that closes the register on standard output, and
// the content of the companion .sha256 file (sha256sum format) otherwise.
func DigestLine(digest, name string) string {
	if name == "" {
		return "# sha256 " + digest + "\n"
	}
	return digest + "  " + name + "\n"
}
