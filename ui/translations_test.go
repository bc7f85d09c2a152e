package ui

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2/lang"

	"sportello/internal/catalog"
)

func loadTexts(t *testing.T, name string) map[string]any {
	t.Helper()
	data, err := translations.ReadFile("translations/" + name + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s.json: %v", name, err)
	}
	return m
}

// fyneKeys are the strings Fyne v2.7.1 itself looks up with lang.L / lang.X
// (dialogs, entry menu, calendar, quit menu item).
var fyneKeys = []string{
	"Advanced", "Cancel", "Confirm", "Copy", "Create Folder", "Cut", "Enter filename", "Error",
	"File", "Folder", "New Folder", "No", "OK", "Open", "Paste", "Quit", "Redo", "Save",
	"Select all", "Show Hidden Files", "Undo", "Yes", "file.name", "file.parent",
	"monday", "monday.short", "tuesday", "tuesday.short", "wednesday", "wednesday.short",
	"thursday", "thursday.short", "friday", "friday.short", "saturday", "saturday.short",
	"sunday", "sunday.short",
}

// keyLiteral matches the translation keys written in the code.
var keyLiteral = regexp.MustCompile(`"((?:app|appview|catalog|citizen|citizens|date|dialog|doc|drop|emergency|field|keys|kind|login|pdf|protocol|select|settings|sex|shell|startup|status|sync|tab|table|time|unsaved|wizard)\.[a-z0-9_.]+[a-z0-9_])"`)

func TestTranslationsComplete(t *testing.T) {
	it, en := loadTexts(t, "it"), loadTexts(t, "en")
	for k := range it {
		if _, ok := en[k]; !ok {
			t.Errorf("%q is in it.json but not in en.json", k)
		}
	}
	for k := range en {
		if _, ok := it[k]; !ok {
			t.Errorf("%q is in en.json but not in it.json", k)
		}
	}

	used := slices.Clone(fyneKeys)
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range keyLiteral.FindAllStringSubmatch(string(src), -1) {
			used = append(used, m[1])
		}
	}
	for _, ft := range catalog.FieldTypes {
		used = append(used, "field.type."+string(ft))
	}
	used = append(used, "keys.tab.citizens", "keys.tab.catalog", "keys.tab.wizard", "keys.tab.protocol", "keys.tab.other")
	for _, t := range []string{"citizens", "citizen_delegations", "applications", "application_attachments", "application_history",
		"operators", "offices", "procedures", "settings", "protocol_registrations", "protocol_annulments", "protocol_interruptions"} {
		used = append(used, "table."+t)
	}
	if len(used) < 150 {
		t.Fatalf("only %d keys found in the code: is the pattern still right?", len(used))
	}
	for _, k := range used {
		if strings.HasSuffix(k, ".") {
			continue // a prefix completed at run time (checked above)
		}
		if _, ok := it[k]; !ok {
			t.Errorf("key %q used in the code is missing from it.json", k)
		}
	}
}

func TestItalianIsShown(t *testing.T) {
	// TestMain called SetupTranslations(false), as main does on a non-English system.
	for key, want := range map[string]string{
		"Cancel": "Annulla", "Yes": "Sì", "Open": "Apri", "tab.citizens": "Cittadini",
		"status.offline": "Non in linea — lavoro locale", "shell.logout": "Esci",
	} {
		if got := lang.L(key); got != want {
			t.Errorf("lang.L(%q) = %q, want %q", key, got, want)
		}
	}
	if got := lang.X("file.parent", "Parent"); got != "Superiore" {
		t.Errorf("file.parent = %q", got)
	}
	if got := lang.L("citizen.cf.derived", map[string]any{"Date": "10/12/1985", "Place": "A562"}); got != "Nato/a il 10/12/1985 — codice catastale A562" {
		t.Errorf("template = %q", got)
	}
}

func TestItalianDefaultForOtherLocales(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		t.Skip("the system locale comes from the environment on Linux and the BSDs only")
	}
	for env, english := range map[string]bool{"en_US.UTF-8": true, "en_GB": true, "it_IT.UTF-8": false, "de_DE.UTF-8": false, "C.UTF-8": false, "C": false, "": false} {
		t.Setenv("LC_ALL", "")
		t.Setenv("LC_MESSAGES", "")
		t.Setenv("LANGUAGE", "")
		t.Setenv("LANG", env)
		if got := SystemPrefersEnglish(); got != english {
			t.Errorf("LANG=%q: SystemPrefersEnglish = %v, want %v", env, got, english)
		}
	}

	// A German system, for which Fyne has its own texts, still gets Italian.
	t.Setenv("LANG", "de_DE.UTF-8")
	if err := SetupTranslations(false); err != nil {
		t.Fatal(err)
	}
	if got := lang.L("Cancel"); got != "Annulla" {
		t.Errorf("Cancel on a German system = %q, want Annulla", got)
	}
	if got := lang.L("tab.catalog"); got != "Catalogo" {
		t.Errorf("tab.catalog on a German system = %q", got)
	}
}
