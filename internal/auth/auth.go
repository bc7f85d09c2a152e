// Package auth holds operators' roles, what each role may do, and password
// hashing with Argon2id (memory-hard, RFC 9106), in the PHC string format so
// that parameters can be raised later without invalidating old hashes.
package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"

	"sportello/internal/application"
)

// Role is an operator's role.
type Role string

// Roles of the product (BRIEF.md, "Who uses it").
const (
	Sportellista   Role = "sportellista"
	Colloqui       Role = "operatore_colloqui"
	Protocollo     Role = "ufficio_protocollo"
	Referente      Role = "referente"
	Responsabile   Role = "responsabile"
	Amministratore Role = "amministratore"
)

// Roles lists every role.
var Roles = []Role{Sportellista, Colloqui, Protocollo, Referente, Responsabile, Amministratore}

// Label is the Italian name of the role.
func (r Role) Label() string {
	switch r {
	case Sportellista:
		return "Sportellista"
	case Colloqui:
		return "Operatore colloqui"
	case Protocollo:
		return "Ufficio protocollo"
	case Referente:
		return "Referente d'area"
	case Responsabile:
		return "Responsabile / URP"
	case Amministratore:
		return "Amministratore"
	}
	return string(r)
}

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	for _, x := range Roles {
		if x == r {
			return true
		}
	}
	return false
}

// Permission is an action subject to role checks.
type Permission string

// Permissions.
const (
	ManageCitizens     Permission = "citizens.manage"
	FileApplications   Permission = "applications.file"
	ReadConfidential   Permission = "applications.confidential"
	RegisterProtocol   Permission = "protocol.register"
	AnnulProtocol      Permission = "protocol.annul"
	ManageEmergency    Permission = "protocol.emergency"
	WorkApplications   Permission = "applications.work" // referente: change state, close
	ManageCatalog      Permission = "catalog.manage"
	ManageOperators    Permission = "operators.manage"
	ViewStatistics     Permission = "statistics.view"
	ViewProtocolRegist Permission = "protocol.view"
)

var grants = map[Role][]Permission{
	Sportellista:   {ManageCitizens, FileApplications, RegisterProtocol, ManageEmergency, ViewProtocolRegist},
	Colloqui:       {ManageCitizens, FileApplications, ReadConfidential, RegisterProtocol, ManageEmergency, ViewProtocolRegist},
	Protocollo:     {ManageCitizens, RegisterProtocol, AnnulProtocol, ManageEmergency, ViewProtocolRegist},
	Referente:      {WorkApplications, ViewProtocolRegist},
	Responsabile:   {ManageCitizens, ManageCatalog, ViewStatistics, ViewProtocolRegist, WorkApplications, AnnulProtocol},
	Amministratore: {ManageOperators, ManageCatalog, ViewStatistics},
}

// TablePermission is the permission an operator needs to write a
// replicated table: the server checks it on every change it receives, and a
// desk before it writes a change the server would refuse. Two grants also
// write applications and their history, only to move an application on:
// the offices' (WorkApplications) to the states application.State.OfficeStep
// names, and registering (RegisterProtocol) to protocollata, the move that
// is part of a registration (MayWrite).
func TablePermission(table string) (Permission, bool) {
	switch table {
	case "citizens", "citizen_delegations":
		return ManageCitizens, true
	case "applications", "application_attachments", "application_history":
		return FileApplications, true
	case "protocol_registrations", "protocol_documents":
		return RegisterProtocol, true
	case "protocol_interruptions", "protocol_interruption_extensions":
		return ManageEmergency, true
	case "protocol_annulments":
		return AnnulProtocol, true
	case "settings", "offices", "procedures":
		return ManageCatalog, true
	case "operators", "workstations":
		return ManageOperators, true
	}
	return "", false
}

// MayWrite reports whether role r may write a change of a replicated table:
// with the table's permission, or, for a change that only moves an
// application to the state moveTo (its state, or the history entry of that
// move; "" for any other change), with the grant that leads there: the
// offices' grant to the states its office moves an application to, the
// grant to register to protocollata (a protocol officer registers a
// complete application, and the move comes with the registration). The
// server and the desk both decide by it.
func (r Role) MayWrite(table string, moveTo application.State) bool {
	perm, ok := TablePermission(table)
	if !ok || r.Can(perm) {
		return true
	}
	if moveTo == "" || table != "applications" && table != "application_history" {
		return false
	}
	switch {
	case moveTo.OfficeStep():
		return r.Can(WorkApplications)
	case moveTo == application.Protocollata:
		return r.Can(RegisterProtocol)
	}
	return false
}

// Can reports whether role r holds permission p.
func (r Role) Can(p Permission) bool {
	for _, g := range grants[r] {
		if g == p {
			return true
		}
	}
	return false
}

// ErrForbidden is wrapped by Require's error.
var ErrForbidden = errors.New("auth: forbidden")

// Require returns an error (Italian for people, wrapping ErrForbidden) unless r holds p.
func (r Role) Require(p Permission) error {
	if r.Can(p) {
		return nil
	}
	return fmt.Errorf("%w: il ruolo «%s» non consente questa operazione (%s)", ErrForbidden, r.Label(), p)
}

// Argon2id parameters (RFC 9106 second recommended option, 64 MiB).
const (
	argonTime    = 3
	argonMemory  = 64 * 1024
	argonThreads = 2
	argonKeyLen  = 32
	saltLen      = 16
)

// HashPassword returns a PHC-format Argon2id hash of password.
func HashPassword(password string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// ErrBadHash means a stored hash cannot be parsed.
var ErrBadHash = errors.New("auth: malformed password hash")

// CheckPassword reports whether password matches the PHC hash, in constant time.
func CheckPassword(hash, password string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, ErrBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, ErrBadHash
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 {
		return false, ErrBadHash
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, ErrBadHash
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, ErrBadHash
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
