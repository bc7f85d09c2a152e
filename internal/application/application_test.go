package application

import "testing"

func TestMoves(t *testing.T) {
	allowed := map[[2]State]bool{
		{Bozza, Completa}: true, {Completa, Bozza}: true, {Completa, Protocollata}: true,
		{Protocollata, Inoltrata}: true, {Inoltrata, InLavorazione}: true, {Inoltrata, Conclusa}: true,
		{Inoltrata, Respinta}: true, {InLavorazione, Conclusa}: true, {InLavorazione, Respinta}: true,
	}
	for _, from := range States {
		for _, to := range States {
			want := allowed[[2]State{from, to}]
			if got := CanMove(from, to); got != want {
				t.Errorf("CanMove(%s, %s) = %v, want %v", from, to, got, want)
			}
			if err := CheckMove(from, to); (err == nil) != want {
				t.Errorf("CheckMove(%s, %s) = %v", from, to, err)
			}
		}
	}
	if err := CheckMove(Bozza, Protocollata); err == nil || err.Error() != "Non è possibile passare la pratica da «Bozza» a «Protocollata»" {
		t.Errorf("message: %v", err)
	}
}

func TestLaterNeverGoesBack(t *testing.T) {
	for _, a := range States {
		for _, b := range States {
			l := Later(a, b)
			if l.Rank() < a.Rank() || l.Rank() < b.Rank() {
				t.Errorf("Later(%s,%s)=%s goes back", a, b, l)
			}
		}
	}
}
