package citizen

import "testing"

func TestIDForCodiceFiscaleConverges(t *testing.T) {
	a := IDForCodiceFiscale("rssmra85t10a562s")
	b := IDForCodiceFiscale(" RSSMRA85T10A562S ")
	if a != b {
		t.Fatalf("same code, different IDs: %s %s", a, b)
	}
	if a == IDForCodiceFiscale("RSSMRA85T10A562T") {
		t.Fatal("different codes share an ID")
	}
}

func TestFold(t *testing.T) {
	cases := map[string]string{
		"D'Àmbrosio  Niccolò": "dambrosio niccolo",
		"  Zoë Müller ":       "zoe muller",
		"De Luca-Rossi":       "de luca rossi",
		"PERCHÉ":              "perche",
		"  O'Brien,  Anna. ":  "obrien anna",
	}
	for in, want := range cases {
		if got := Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
	if got := FoldDocument("ca 12345 ab"); got != "CA12345AB" {
		t.Errorf("FoldDocument = %q", got)
	}
}
