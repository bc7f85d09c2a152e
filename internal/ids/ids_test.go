package ids

import (
	"testing"

	"sportello/internal/citizen"
)

func TestDrawnOnce(t *testing.T) {
	for _, c := range []struct {
		id   string
		want bool
	}{
		{New(), true},
		{"3f2b8c1e-9a4d-4e6f-8b2a-1c3d5e7f9a0b", true}, // v4, New's fallback
		{Derived("sync_conflicts", "citizens", "c1"), false},
		{citizen.IDForCodiceFiscale("RSSMRA85T10A562S"), false},
		{"app1", false},
		{"", false},
	} {
		if got := DrawnOnce(c.id); got != c.want {
			t.Errorf("DrawnOnce(%q) = %v, want %v", c.id, got, c.want)
		}
	}
}
