package vcard

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzImport checks that Import never panics, that it fails only with an
// *ImportError and returns nothing then, and that every citizen it returns
// has a surname or a name.
func FuzzImport(f *testing.F) {
	for _, pattern := range []string{"*.vcf", filepath.Join("invalid", "*")} {
		files, err := filepath.Glob(filepath.Join("testdata", pattern))
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add([]byte("BEGIN:VCARD\nVERSION:2.1\nN;ENCODING=QUOTED-PRINTABLE:=\n=\nEND:VCARD\n"))
	f.Add([]byte("BEGIN:VCARD\nFN:\\\nEND:VCARD"))
	f.Add([]byte("\xff\xfeB\x00E\x00"))

	f.Fuzz(func(t *testing.T, data []byte) {
		cs, err := Import(bytes.NewReader(data))
		if err != nil {
			var ie *ImportError
			if !errors.As(err, &ie) {
				t.Fatalf("error %T is not an *ImportError: %v", err, err)
			}
			if cs != nil {
				t.Fatalf("%d citizens returned with error %v", len(cs), err)
			}
			if ie.Error() == "" || ie.Reason == "" {
				t.Fatalf("incomplete error %#v", ie)
			}
			return
		}
		if len(cs) == 0 {
			t.Fatal("no citizens and no error")
		}
		for i, c := range cs {
			if c.Surname == "" && c.Name == "" {
				t.Fatalf("citizen %d has neither surname nor name: %#v", i, c)
			}
			if c.ID != "" || c.PrivacyConsent {
				t.Fatalf("citizen %d has ID or privacy consent set: %#v", i, c)
			}
		}
	})
}
