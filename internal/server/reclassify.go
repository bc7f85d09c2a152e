package server

import (
	"context"
	"fmt"
	"strings"

	"sportello/internal/desk"
	"sportello/store"
)

// ReclassifyResult says what Reclassify did.
type ReclassifyResult struct {
	Procedure    string   `json:"procedure"`
	Reclassified []string `json:"reclassified"` // the applications made confidential now
}

// reclassifyBatch is how many applications one transaction makes
// confidential: a long list does not hold the writer for long, and a run
// cut off halfway is run again (applications already confidential are
// left as they are).
const reclassifyBatch = 200

// Reclassify makes confidential the applications of a procedure filed
// before the procedure was made confidential in the catalog (an
// application keeps the classification it was filed with): the interview
// rooms receive the change, and every other workstation removes the
// application with its attachments, history and registrations at its next
// sync (docs/sync-protocol.md, "Reclassification"). The procedure must be
// confidential in the server's catalog already. reason is kept in each
// application's reclassifications record, the legal trace of the change.
func Reclassify(ctx context.Context, svc *desk.Service, procedureID, reason string) (ReclassifyResult, error) {
	res := ReclassifyResult{Procedure: strings.TrimSpace(procedureID)}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return res, &desk.Error{Message: "Indicare il motivo della riclassificazione (-reason): resta agli atti con ogni pratica"}
	}
	cat, err := svc.Catalog(ctx)
	if err != nil {
		return res, err
	}
	found, confidential := false, false
	for _, p := range cat.Procedures {
		if p.ID == res.Procedure {
			found, confidential = true, p.Confidential
		}
	}
	if !found {
		return res, &desk.Error{Message: fmt.Sprintf("Nessun procedimento «%s» nel catalogo del server", res.Procedure)}
	}
	if !confidential {
		return res, &desk.Error{Message: fmt.Sprintf("Il procedimento «%s» non è riservato: renderlo riservato nel catalogo (catalog import) prima di riclassificarne le pratiche", res.Procedure)}
	}
	apps, err := svc.DB().ApplicationsToReclassify(ctx, res.Procedure)
	if err != nil {
		return res, err
	}
	for start := 0; start < len(apps); start += reclassifyBatch {
		batch := apps[start:min(start+reclassifyBatch, len(apps))]
		var done []string
		err := svc.DB().Write(ctx, store.Actor{OperatorID: Admin.OperatorID}, func(tx *store.Tx) error {
			done = done[:0]
			for _, id := range batch {
				ok, err := tx.Reclassify(id, reason, Admin.OperatorID)
				if err != nil {
					return err
				}
				if ok {
					done = append(done, id)
				}
			}
			return nil
		})
		if err != nil {
			return res, fmt.Errorf("server: reclassify the applications of %s: %w", res.Procedure, err)
		}
		res.Reclassified = append(res.Reclassified, done...)
	}
	return res, nil
}
