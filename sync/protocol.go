// Package sync replicates the desk's SQLite replicas with the central
// server: the wire protocol (docs/sync-protocol.md), the server's endpoints,
// and the client loop that runs in the desktop app.
package sync

import (
	"encoding/json"

	"sportello/internal/audit"
	"sportello/store"
)

// ProtocolVersion is the version of the wire format; the schema version of
// the database travels separately (header Sportello-Schema).
const ProtocolVersion = 1

// Headers.
const (
	HeaderSchema    = "Sportello-Schema"
	HeaderBlobSize  = "Sportello-Blob-Size"
	HeaderOffset    = "Sportello-Offset"
	HeaderSHA256    = "Sportello-SHA256"
	HeaderCursor    = "Sportello-Cursor"
	HeaderWorkstion = "Sportello-Workstation"
	HeaderFloor     = "Sportello-Floor" // pull: every change the workstation will still push has a clock at least this
	// HeaderLogEpoch: in a pull response, the server's change-log epoch;
	// in a request, the epoch of the workstation's last pull (store.DB.LogEpoch).
	HeaderLogEpoch = "Sportello-Log-Epoch"
	// HeaderAcked: in a push, the last origin seq the workstation has
	// recorded as acknowledged. The response then lists every change
	// refused after it up to its acknowledgement, also those refused while
	// handling an earlier request whose answer never arrived.
	HeaderAcked = "Sportello-Acked"
	// HeaderRepushed: in a push after a rejoin, the last origin seq the
	// workstation had when it rejoined: changes up to it may have reached
	// the lost server (acknowledged or not), and one refused now may have
	// been forwarded by it.
	HeaderRepushed = "Sportello-Repushed"
	// HeaderClock: on the first request of a pull (the one with
	// HeaderFloor), the workstation's clock when it sent it; on the answer,
	// the server's clock. Both are milliseconds since the Unix epoch. Each
	// side records how far the workstation's clock is from the server's
	// (ClockTolerance).
	HeaderClock = "Sportello-Clock"
	// HeaderLateRefused, on every pull answer, is the workstation's
	// latest late refusal (LateRefusedResponse), when it has any.
	HeaderLateRefused = "Sportello-Late-Refused"
	// HeaderNumbering, on the answer to GET /v1/clock, is "held" while the
	// server, restored from a backup, gives no definitive numbers
	// (ResumeNumbering); absent otherwise.
	HeaderNumbering = "Sportello-Numbering"
	// HeaderNextCertificate, on the answer to GET /v1/clock, is the
	// SHA-256 (hex) of the certificate the server will present next, when
	// its administrator has prepared one; the workstation accepts it from
	// then on besides the pinned one, and takes it as the pinned one once
	// the server presents it. On the first request of a pull, the
	// workstation reports the one it holds.
	HeaderNextCertificate = "Sportello-Next-Certificate"
)

// Error codes returned in ErrorBody.Code.
const (
	CodeBadRequest     = "bad_request"
	CodeUnauthorized   = "unauthorized"
	CodeRevoked        = "revoked"
	CodeSchemaMismatch = "schema_mismatch"
	CodeTooLarge       = "too_large"
	CodeBlobMissing    = "blob_missing"
	CodeBlobMismatch   = "blob_mismatch"
	CodeOffset         = "offset_mismatch"
	CodeEnrolment      = "enrolment_invalid"
	CodeInternal       = "internal"
	// CodeServerBehind: the server holds less than this workstation already
	// synced with it (its database was restored from a backup): sync stops
	// until an administrator intervenes, rather than skip what was lost.
	CodeServerBehind = "server_behind"
	// CodeNumberingResumed: numbers are given back to a restored server
	// only while it holds definitive numbering (POST /v1/recover-numbers).
	CodeNumberingResumed = "numbering_resumed"
	// CodeOtherInstallation: a push numbers a change as one the server
	// already holds from the workstation, and it is not that change:
	// another installation of the workstation (a copy of its data folder
	// put back from before) numbered its own alike. Nothing of the push
	// is applied (sync.ErrOtherInstallation).
	CodeOtherInstallation = "other_installation"
	// Per-change rejection codes (PushResponse.Rejected).
	CodeForbidden     = "forbidden"
	CodeConfidential  = "confidential"
	CodeInvalidChange = "invalid_change"
	CodeServerOnly    = "server_only"
	CodeConstraint    = "constraint"
)

// ErrorBody is the JSON body of every non-2xx response.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"` // Italian, shown to the operator
	Detail  string `json:"detail,omitempty"`
	Offset  int64  `json:"offset,omitempty"` // for offset_mismatch: where to resume
}

// Change is one replicated change on the wire.
type Change struct {
	TxID          string          `json:"tx"`
	Table         string          `json:"t"`
	RowID         string          `json:"id"`
	Op            string          `json:"op"`
	Data          json.RawMessage `json:"d"`
	Base          json.RawMessage `json:"b,omitempty"`
	HLC           string          `json:"h"`
	OperatorID    string          `json:"o"`
	WorkstationID string          `json:"w"`
	OriginSeq     int64           `json:"s"`
}

func toWire(c store.Change) Change {
	return Change{TxID: c.TxID, Table: c.Table, RowID: c.RowID, Op: c.Op, Data: c.Data, Base: c.Base, HLC: c.HLC,
		OperatorID: c.OperatorID, WorkstationID: c.WorkstationID, OriginSeq: c.OriginSeq}
}

func fromWire(c Change) store.Change {
	return store.Change{TxID: c.TxID, Table: c.Table, RowID: c.RowID, Op: c.Op, Data: c.Data, Base: c.Base, HLC: c.HLC,
		OperatorID: c.OperatorID, WorkstationID: c.WorkstationID, OriginSeq: c.OriginSeq}
}

// EnrollRequest exchanges a one-time code for a token.
type EnrollRequest struct {
	Code string `json:"code"`
}

// EnrollResponse carries the workstation's identity and its token, and,
// for a workstation enrolled before, how far the server has its changes
// and audit entries: a replica that is that workstation and holds at least
// as much keeps its data (Enroll).
type EnrollResponse struct {
	WorkstationID   string `json:"workstation_id"`
	WorkstationCode string `json:"workstation_code"`
	Token           string `json:"token"`
	SchemaVersion   int    `json:"schema_version"`
	AckedSeq        int64  `json:"acked_seq,omitempty"`
	AckedAuditSeq   int64  `json:"acked_audit_seq,omitempty"`
	// Confidential: the workstation may hold confidential records.
	Confidential bool `json:"confidential,omitempty"`
}

// PushRequest carries a workstation's changes (in origin order) and its
// audit entries.
type PushRequest struct {
	Changes []Change    `json:"changes"`
	Audit   []auditWire `json:"audit,omitempty"`
}

// auditWire is audit.Entry with its hashes (audit.Entry hides them from JSON
// because they are not part of what is hashed).
type auditWire struct {
	audit.Entry
	PrevHash string `json:"prev_hash"`
	Hash     string `json:"hash"`
}

// PushResponse says what the server kept.
type PushResponse struct {
	AckedSeq      int64             `json:"acked_seq"`       // every change up to here is applied or rejected
	Rejected      []store.Rejection `json:"rejected"`        // refused changes of this batch, with reasons
	AckedAuditSeq int64             `json:"acked_audit_seq"` // audit entries stored up to here
}

// RefusedRequest asks for the server's copy of the rows of refused changes
// (POST /v1/refused), by their origin seq; at most MaxRefusedPerRequest.
type RefusedRequest struct {
	OriginSeqs []int64 `json:"origin_seqs"`
}

// RefusedResponse answers each refused change of the requesting
// workstation with its row as the server holds it (store.RowState);
// origin seqs the server did not refuse for it are left out.
type RefusedResponse struct {
	Rows []store.RowState `json:"rows"`
}

// MaxRefusedPerRequest bounds a RefusedRequest.
const MaxRefusedPerRequest = 500

// RejoinResponse (GET /v1/rejoin) is where a server restored from a backup
// stands for the workstation asking: its change log (epoch, where the
// restored log starts, its last change), what it holds of the
// workstation's changes and audit entries, whether definitive numbering
// is held, and the register's highest numbers.
type RejoinResponse struct {
	Epoch         string              `json:"epoch"`
	Base          int64               `json:"base"`
	Head          int64               `json:"head"`
	AckedSeq      int64               `json:"acked_seq"`
	AckedAuditSeq int64               `json:"acked_audit_seq"`
	NumberingHeld bool                `json:"numbering_held"`
	Registers     []store.RegisterTop `json:"registers"`
	// ConflictsSince: the conflict records detected from then on may have
	// been lost (the newest the backup holds; "" when it held none).
	ConflictsSince string `json:"conflicts_since"`
	// LateRefused is the workstation's latest late refusal the server
	// holds: a cursor past it (from the lost server) comes back to it.
	LateRefused int64 `json:"late_refused"`
}

// LateRefusedResponse lists a workstation's late refusals
// (GET /v1/late-refused?after=N): refusals of changes it already had
// acknowledged, changes parked on a restored server and refused when
// numbering resumed. More: ask again after the last one.
type LateRefusedResponse struct {
	Rejected []store.LateRejection `json:"rejected"`
	More     bool                  `json:"more"`
}

// MaxLateRefusedPerResponse bounds a LateRefusedResponse.
const MaxLateRefusedPerResponse = 500

// RecoverRequest gives a restored server back definitive numbers it gave
// before it was lost (POST /v1/recover-numbers), as the workstation holds
// them; at most MaxRecoverPerRequest.
type RecoverRequest struct {
	Numbers []store.RowState `json:"numbers"`
	// Notifications are the citizens' notifications of those numbers,
	// queued when the server gave them.
	Notifications []store.RowState `json:"notifications,omitempty"`
	// Conflicts are conflict records the lost server had written.
	Conflicts []store.RowState `json:"conflicts,omitempty"`
	// Reclassifications are the applications the lost server had made
	// confidential (store.Tx.RecoverReclassification).
	Reclassifications []store.RowState `json:"reclassifications,omitempty"`
}

// RecoverResult is what the server did with one number given back.
type RecoverResult struct {
	RowID   string               `json:"row_id"`
	Outcome store.RecoverOutcome `json:"outcome"`
	Reason  string               `json:"reason,omitempty"` // Italian, when refused
}

// RecoverResponse answers a RecoverRequest, number by number and
// notification by notification.
type RecoverResponse struct {
	Results       []RecoverResult `json:"results"`
	Notifications []RecoverResult `json:"notifications,omitempty"`
	Conflicts     []RecoverResult `json:"conflicts,omitempty"`
	// Reclassifications answered waiting are given back again later.
	Reclassifications []RecoverResult `json:"reclassifications,omitempty"`
}

// MaxRecoverPerRequest bounds a RecoverRequest.
const MaxRecoverPerRequest = 500

// PullResponse carries the changes after a cursor.
type PullResponse struct {
	Changes []Change `json:"changes"`
	Cursor  int64    `json:"cursor"` // pass as ?after= next time
	More    bool     `json:"more"`
}

// BlobStatus says how much of a blob the server holds.
type BlobStatus struct {
	Size     int64 `json:"size"`
	Complete bool  `json:"complete"`
}
