// Package ids creates record identifiers offline: UUIDv7, time-ordered so
// that B-tree inserts stay local, and unique without asking the server.
package ids

import (
	"fmt"

	"github.com/google/uuid"
)

// New returns a new UUIDv7 string. It falls back to a random UUIDv4 only if
// the system's random source fails for v7, which uuid reports as an error.
func New() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}

// Valid reports whether s is a canonical UUID string.
func Valid(s string) error {
	if _, err := uuid.Parse(s); err != nil || len(s) != 36 {
		return fmt.Errorf("ids: %q is not a canonical UUID", s)
	}
	return nil
}

// derivedSpace is the UUIDv5 namespace of Derived.
var derivedSpace = uuid.MustParse("7d0e5b1c-3f8a-4c62-9b1e-5a2f6c9d8e41")

// Derived returns the same UUID (v5) for the same parts wherever it is
// computed: for records that two replicas, or a server that lost its own
// copy, may write again and must find to be one.
func Derived(parts ...string) string {
	b := make([]byte, 0, 128)
	for _, p := range parts {
		b = append(b, p...)
		b = append(b, 0)
	}
	return uuid.NewSHA1(derivedSpace, b).String()
}

// DrawnOnce reports whether s was drawn at random where its record was
// created (a UUIDv7, or the v4 of New's fallback): no other replica ever
// writes a record with that identity again. A Derived identity (v5), or
// one that is no UUID, may be written again elsewhere.
func DrawnOnce(s string) bool {
	id, err := uuid.Parse(s)
	if err != nil || len(s) != 36 {
		return false
	}
	return id.Version() == 7 || id.Version() == 4
}
