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
