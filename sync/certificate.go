package sync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"

	"sportello/store"
)

// The server's certificate can change without enrolling every workstation
// again: its administrator prepares the next one (`sportello-server
// certificate next`), the server announces its fingerprint on the answer to
// GET /v1/clock (HeaderNextCertificate) over the certificate the
// workstations pinned, and each workstation keeps it (MetaPinNext) and
// accepts it from then on. When the server presents it (`certificate
// switch` and a restart), the workstation pins it in place of the old one.
// A workstation that did not sync while it was announced refuses the new
// certificate and must be enrolled again.

// setPins sets the certificates the client accepts.
func (c *Client) setPins(pin, next string) {
	pins := []string{normalPin(pin)}
	if next != "" && next != pins[0] {
		pins = append(pins, normalPin(next))
	}
	c.pins.Store(&pins)
}

// Pin is the fingerprint of the server certificate the client has pinned
// ("" = the system's CA verification): the one of enrolment, or the next
// one the server announced once it presented it.
func (c *Client) Pin() string {
	c.pinMu.Lock()
	defer c.pinMu.Unlock()
	return c.cfg.Pin
}

// heldNextPin is the next certificate the client holds ("" none).
func (c *Client) heldNextPin() string {
	c.pinMu.Lock()
	defer c.pinMu.Unlock()
	return c.cfg.PinNext
}

// followCertificate handles the certificate parts of the answer to GET
// /v1/clock: it pins the announced next certificate once the server
// presents it, and keeps (or forgets) the announcement.
func (c *Client) followCertificate(ctx context.Context, resp *http.Response) error {
	if c.cfg.HTTP != nil || resp.TLS == nil || len(resp.TLS.PeerCertificates) == 0 {
		return nil // a client whose transport checks the server itself
	}
	c.pinMu.Lock()
	defer c.pinMu.Unlock()
	if c.cfg.Pin == "" {
		return nil // the system's CA verification: nothing pinned
	}
	sum := sha256.Sum256(resp.TLS.PeerCertificates[0].Raw)
	presented := hex.EncodeToString(sum[:])
	announced := normalPin(resp.Header.Get(HeaderNextCertificate))
	if announced != "" && !ValidFingerprint(announced) {
		return fmt.Errorf("sync: the server's next certificate: %q", announced)
	}
	pin, next := c.cfg.Pin, c.cfg.PinNext
	switch {
	case presented != normalPin(pin) && presented == next:
		// The server switched to the certificate it announced.
		pin, next = next, ""
		if announced != presented {
			next = announced
		}
	case announced != next && announced != presented:
		next = announced
	default:
		return nil
	}
	if err := c.db.Write(ctx, store.Actor{OperatorID: "sync"}, func(tx *store.Tx) error {
		if err := tx.SetMeta(MetaPin, pin); err != nil {
			return err
		}
		return tx.SetMeta(MetaPinNext, next)
	}); err != nil {
		return fmt.Errorf("sync: record the server's certificate: %w", err)
	}
	c.cfg.Pin, c.cfg.PinNext = pin, next
	c.setPins(pin, next)
	return nil
}
