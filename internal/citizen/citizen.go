// Package citizen holds the registry record (anagrafica) of a citizen and the
// rules that do not need storage: normalisation and the identity derived from
// the codice fiscale that makes two offline workstations converge on one record.
package citizen

import (
	"strings"

	"github.com/google/uuid"
)

// Citizen is one registry record. Dates are ISO 8601 calendar dates
// (YYYY-MM-DD); empty strings mean "not known".
type Citizen struct {
	ID             string           `json:"id"`
	CodiceFiscale  string           `json:"codice_fiscale"`
	Surname        string           `json:"surname"`
	Name           string           `json:"name"`
	Sex            string           `json:"sex"` // "M", "F" or ""
	BirthDate      string           `json:"birth_date"`
	BirthPlace     string           `json:"birth_place"`
	BirthPlaceCode string           `json:"birth_place_code"` // cadastral code (e.g. H501, Z404)
	Phone          string           `json:"phone"`
	Email          string           `json:"email"`
	PEC            string           `json:"pec"`
	Address        Address          `json:"address"`
	Document       IdentityDocument `json:"document"`
	PrivacyConsent bool             `json:"privacy_consent"`
	// PrivacyConsentAt is the RFC 3339 instant the consent was given or withdrawn.
	PrivacyConsentAt string `json:"privacy_consent_at"`
	Notes            string `json:"notes"`
}

// Address is a postal address.
type Address struct {
	Street   string `json:"street"`
	CAP      string `json:"cap"`
	City     string `json:"city"`
	Province string `json:"province"`
	Country  string `json:"country"`
}

// IdentityDocument is the document the citizen was identified with.
type IdentityDocument struct {
	Type      string `json:"type"` // e.g. "carta_identita", "passaporto", "patente"
	Number    string `json:"number"`
	Issuer    string `json:"issuer"`
	IssuedOn  string `json:"issued_on"`
	ExpiresOn string `json:"expires_on"`
}

// Delegation records that Delegate may act for Citizen (delega).
type Delegation struct {
	ID         string `json:"id"`
	CitizenID  string `json:"citizen_id"`
	DelegateID string `json:"delegate_id"`
	Scope      string `json:"scope"`       // what the delegation covers, free text
	ValidUntil string `json:"valid_until"` // YYYY-MM-DD, empty = no limit
	Note       string `json:"note"`
}

// FullName returns "Surname Name" as used on Italian forms.
func (c Citizen) FullName() string {
	return strings.TrimSpace(c.Surname + " " + c.Name)
}

// namespace is the UUIDv5 namespace for citizen identities derived from the
// codice fiscale. It never changes: changing it would split every citizen.
var namespace = uuid.MustParse("6f1c2a0e-5b8e-4a53-9a1e-2f3c7d9b8a10")

// NormalizeCodiceFiscale upper-cases the code and drops spaces, the only
// normalisation that keeps distinct codes distinct (omocodic codes are
// different codes for different people and are left as they are).
func NormalizeCodiceFiscale(cf string) string {
	return strings.ToUpper(strings.Join(strings.Fields(cf), ""))
}

// IDForCodiceFiscale returns the record ID that every replica gives the
// citizen with this codice fiscale, so that two workstations registering the
// same person offline create the same row, which sync then merges.
func IDForCodiceFiscale(cf string) string {
	return uuid.NewSHA1(namespace, []byte("cf:"+NormalizeCodiceFiscale(cf))).String()
}
