// Package application holds the lifecycle of an application (istanza /
// pratica): its states, which moves are allowed, and the order sync uses so a
// merge never moves a state backwards.
package application

import "fmt"

// State is where an application is in its lifecycle.
type State string

// The lifecycle: bozza → completa → protocollata → inoltrata → in_lavorazione → conclusa | respinta.
const (
	Bozza         State = "bozza"
	Completa      State = "completa"
	Protocollata  State = "protocollata"
	Inoltrata     State = "inoltrata"
	InLavorazione State = "in_lavorazione"
	Conclusa      State = "conclusa"
	Respinta      State = "respinta"
)

// States lists every state in lifecycle order.
var States = []State{Bozza, Completa, Protocollata, Inoltrata, InLavorazione, Conclusa, Respinta}

var labels = map[State]string{
	Bozza: "Bozza", Completa: "Completa", Protocollata: "Protocollata", Inoltrata: "Inoltrata all'ufficio",
	InLavorazione: "In lavorazione", Conclusa: "Conclusa", Respinta: "Respinta",
}

// Label is the Italian name shown to people.
func (s State) Label() string {
	if l, ok := labels[s]; ok {
		return l
	}
	return string(s)
}

// Valid reports whether s is a known state.
func (s State) Valid() bool { _, ok := labels[s]; return ok }

// Rank orders states along the lifecycle; conclusa and respinta are both final.
func (s State) Rank() int {
	switch s {
	case Bozza:
		return 0
	case Completa:
		return 1
	case Protocollata:
		return 2
	case Inoltrata:
		return 3
	case InLavorazione:
		return 4
	case Conclusa, Respinta:
		return 5
	}
	return -1
}

// OfficeStep reports whether s is a state the competent office moves an
// application to (taking it in charge, closing, rejecting): what the
// offices' grant may write of an application.
func (s State) OfficeStep() bool { return s == InLavorazione || s == Conclusa || s == Respinta }

// Final reports whether no further move is possible.
func (s State) Final() bool { return s == Conclusa || s == Respinta }

var moves = map[State][]State{
	Bozza:         {Completa},
	Completa:      {Bozza, Protocollata}, // back to bozza when the data is edited after the check
	Protocollata:  {Inoltrata},
	Inoltrata:     {InLavorazione, Conclusa, Respinta},
	InLavorazione: {Conclusa, Respinta},
}

// CanMove reports whether an operator may move an application from one state to another.
func CanMove(from, to State) bool {
	for _, s := range moves[from] {
		if s == to {
			return true
		}
	}
	return false
}

// MoveError explains a refused move, in Italian for people.
type MoveError struct{ From, To State }

func (e *MoveError) Error() string {
	return fmt.Sprintf("Non è possibile passare la pratica da «%s» a «%s»", e.From.Label(), e.To.Label())
}

// CheckMove returns a *MoveError when the move is not allowed.
func CheckMove(from, to State) error {
	if !CanMove(from, to) {
		return &MoveError{From: from, To: to}
	}
	return nil
}

// Editable reports whether form data and attachments may still change.
func (s State) Editable() bool { return s == Bozza || s == Completa }

// Later returns whichever state is further along the lifecycle; a merge of
// two replicas' states keeps it, so states never move backwards by sync. Two
// different final states are resolved by the caller (by clock) and flagged.
func Later(a, b State) State {
	if b.Rank() > a.Rank() {
		return b
	}
	return a
}
