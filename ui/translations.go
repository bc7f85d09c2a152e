package ui

import (
	"embed"
	"fmt"
	"os"
	"runtime"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/lang"
)

//go:embed translations
var translations embed.FS

// SetupTranslations loads the interface texts (ui/translations/it.json and
// en.json), which also translate Fyne's own dialog and widget strings.
//
// Italian is the default: unless english is true, the Italian texts are
// also registered as the English fallback and under the system's own
// locale, so that every locale but English (including none at all, or one
// Fyne has its own translation for) shows Italian.
func SetupTranslations(english bool) error {
	if err := lang.AddTranslationsFS(translations, "translations"); err != nil {
		return fmt.Errorf("ui: load translations: %w", err)
	}
	if english {
		return nil
	}
	it, err := translations.ReadFile("translations/it.json")
	if err != nil {
		return fmt.Errorf("ui: load Italian texts: %w", err)
	}
	if err := lang.AddTranslationsForLocale(it, "en"); err != nil {
		return fmt.Errorf("ui: load Italian texts: %w", err)
	}
	sys := lang.SystemLocale()
	if l := baseLanguage(sys); l != "" && l != "en" && l != "it" {
		for _, loc := range []fyne.Locale{sys, fyne.Locale(l)} {
			if err := lang.AddTranslationsForLocale(it, loc); err != nil {
				return fmt.Errorf("ui: load Italian texts for %s: %w", loc, err)
			}
		}
	}
	return nil
}

// baseLanguage is the language part of a locale: "de" for "de-DE".
func baseLanguage(l fyne.Locale) string {
	base, _, _ := strings.Cut(l.String(), "-")
	return strings.ToLower(base)
}

// SystemPrefersEnglish reports whether the operator's system asks for
// English. On Linux and the BSDs lang.SystemLocale also reports English when
// no locale is set (C, POSIX), which does not count.
func SystemPrefersEnglish() bool {
	if baseLanguage(lang.SystemLocale()) != "en" {
		return false
	}
	switch runtime.GOOS {
	case "windows", "darwin", "ios", "android", "js":
		return true
	}
	// The same order go-locale follows (gettext's).
	v := ""
	for _, name := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if v = os.Getenv(name); v != "" {
			break
		}
	}
	if v != "C" && v != "POSIX" {
		if l := os.Getenv("LANGUAGE"); l != "" {
			v = l
		}
	}
	return strings.HasPrefix(strings.ToLower(v), "en")
}
