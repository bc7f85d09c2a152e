package sync

import (
	"context"
	"time"

	"sportello/internal/audit"
	"sportello/store"
)

// Backend is everything the sync server needs of its storage. The server's
// logic (checks, merge order, numbering, snapshots) talks only to this
// interface: the embedded SQLite store implements it (SQLiteBackend), and a
// PostgreSQL backend for a municipality that outgrows one machine implements
// the same methods without touching the sync logic.
type Backend interface {
	// TokenWorkstation resolves a token hash (store.ErrNotFound, store.ErrRevoked).
	TokenWorkstation(ctx context.Context, tokenHash string) (store.Workstation, error)
	WorkstationByID(ctx context.Context, id string) (store.Workstation, error)
	// ChangesAfter is the pull feed: the server's change log after a cursor.
	ChangesAfter(ctx context.Context, after int64, limit int) ([]store.Change, error)
	// Confidential reports, for each change, whether its row belongs to a
	// confidential record, seen in one consistent snapshot.
	Confidential(ctx context.Context, changes []store.Change) ([]bool, error)
	// BlobReadableOutsideConfidential reports whether a file is named by a
	// row that is not confidential (store.DB.BlobReadableOutsideConfidential).
	BlobReadableOutsideConfidential(ctx context.Context, sha string) (bool, error)
	// RefusedRowStates gives the server's copy of the rows of a
	// workstation's refused changes (store.DB.RefusedRowStates).
	RefusedRowStates(ctx context.Context, workstationID string, originSeqs []int64, hideConfidential bool) ([]store.RowState, error)
	// RejectionsBetween lists a workstation's refused changes with origin
	// seq in (after, upTo], in order (store.DB.RejectionsBetween).
	RejectionsBetween(ctx context.Context, workstationID string, after, upTo int64) ([]store.Rejection, error)
	// LastLateRejection and LateRejections: refusals of changes already
	// acknowledged (store.Tx.InsertLateRejection).
	LastLateRejection(ctx context.Context, workstationID string) (int64, error)
	LateRejections(ctx context.Context, workstationID string, after int64, limit int) ([]store.LateRejection, error)
	// RejoinState is where the server stands for a workstation that
	// rejoins it after a restore (store.DB.RejoinState).
	RejoinState(ctx context.Context, workstationID string) (store.RejoinState, error)
	// Snapshot writes a SQLite database file for a new workstation's initial
	// copy and returns the feed position it corresponds to.
	Snapshot(ctx context.Context, path string, f store.SnapshotFor) (int64, error)
	// StableHorizon is the clock below which no write can still arrive
	// (store.Tx.StableHorizon).
	StableHorizon(ctx context.Context) (string, error)
	// LogEpoch identifies the change log (store.DB.LogEpoch): a restored
	// backup starts an epoch of its own.
	LogEpoch(ctx context.Context) (epoch string, base int64, err error)
	// NumberingHeld: a restored backup gives no definitive number until
	// ResumeNumbering (store.DB.NumberingHeld).
	NumberingHeld(ctx context.Context) (bool, error)
	// Update runs fn in one write transaction.
	Update(ctx context.Context, actor store.Actor, fn func(BackendTx) error) error
	// Now is the server's clock (GET /v1/clock).
	Now() time.Time
}

// BackendTx is one write transaction of the Backend.
type BackendTx interface {
	Now() time.Time
	Savepoint(fn func() error) error
	ConsumeEnrolment(codeHash string) (string, error)
	InsertToken(tokenHash, workstationID string) error
	// RevokeTokens revokes a workstation's earlier tokens when it is
	// enrolled again (store.Tx.RevokeTokens).
	RevokeTokens(workstationID string) error
	Peer(ws string) (lastSeq, lastAudit int64, err error)
	// HeldChangeMatches: a change numbered as one the server already has
	// from its workstation is that change (store.Tx.HeldChangeMatches).
	HeldChangeMatches(c store.Change) (bool, error)
	SetPeer(ws string, lastSeq, lastAudit int64) error
	RaiseFloor(ws, hlc string) error
	RaiseFloorToClock(ws string) error
	// RecordPulled notes the committed cursor a workstation starts a pull
	// from (store.Tx.RecordPulled).
	RecordPulled(ws string, seq int64) error
	// RecordClock notes how far a workstation's clock is from the
	// server's (store.Tx.RecordClock).
	RecordClock(ws string, offsetMs int64) error
	// RecordNextCertificate notes the server's next certificate a
	// workstation holds (store.Tx.RecordNextCertificate).
	RecordNextCertificate(ws, fp string) error
	// RecordProgram notes the schema version of a workstation's program
	// (store.Tx.RecordProgram).
	RecordProgram(ws string, schema int) error
	// DeactivationUnseen: the operator's last deactivation had not reached
	// the workstation (store.Tx.DeactivationUnseen).
	DeactivationUnseen(ws, operatorID string) (bool, error)
	// PeerStanding and SetPeerStanding: how the operator of the
	// workstation's last local transaction was judged
	// (store.Tx.PeerStanding).
	PeerStanding(ws string) (store.TxStanding, error)
	SetPeerStanding(ws string, st store.TxStanding) error
	StableHorizon() (string, error)
	// SetCopyHorizon and StableFor: the horizon a workstation's initial
	// copy was made at, by which its writes with no base are judged
	// (store.Tx.StableFor).
	SetCopyHorizon(ws, stable string) error
	StableFor(ws, current string) (string, error)
	InsertRejection(ws string, r store.Rejection) error
	InsertLateRejection(ws string, r store.Rejection) error
	// TakeReservedNumber gives a registration the number reserved for it
	// after numbering resumed (store.Tx.TakeReservedNumber).
	TakeReservedNumber(regID string) (bool, error)
	// Parked changes: during the restore window (numbering held), a change
	// that refers to a row the server does not have yet waits for it.
	ParkChange(ws string, c store.Change) error
	RowParked(table, rowID string) (bool, error)
	RowExists(table, rowID string) (bool, error)
	// RefusedReference names a row a change refers to that will never
	// reach the server (store.Tx.RefusedReference).
	RefusedReference(table string, data store.Fields) (string, error)
	// RowRefused: a row that will never reach the server
	// (store.Tx.RowRefused).
	RowRefused(table, id string) (bool, error)
	// ApplicationRegistered: the register has a registration of the
	// application (store.Tx.ApplicationRegistered).
	ApplicationRegistered(appID string) (bool, error)
	// RevertForwarded writes the revert record of a change pushed again
	// that a restored server refused (store.Tx.RevertForwarded); created:
	// the data of a change that created the row, nil for an edit.
	RevertForwarded(table, rowID string, cols []string, void string, created store.Fields) error
	// RestoredBackup: the database is a restored backup copy
	// (store.Tx.RestoredBackup).
	RestoredBackup() (bool, error)
	// RestoredSince: on a restored server, the clock of its first push
	// (store.Tx.RestoredSince).
	RestoredSince() (string, error)
	// RevertsDue writes the reverts that waited for their rows
	// (store.Tx.RevertsDue).
	RevertsDue() (int, error)
	ParkedChanges() ([]store.Change, error)
	UnparkChange(ws string, originSeq int64) error
	ImportAudit(ws string, entries []audit.Entry, sealed []bool) (int64, error)
	OperatorByID(id string) (store.Operator, error)
	RowConfidentialAsFiled(table, rowID string, data store.Fields) (bool, error)
	// ReclassificationUnseen: the row's application was made confidential
	// after the workstation last pulled (store.Tx.ReclassificationUnseen).
	ReclassificationUnseen(ws, table, rowID string, data store.Fields) (bool, error)
	ApplyRemoteDecoded(c store.Change, d store.Decoded, o store.ApplyOptions) (store.ApplyResult, error)
	AssignProtocolNumber(registrationID, aoo string, year int) (int64, bool, error)
	// NumberingHeld: a restored backup gives no definitive number until
	// ResumeNumbering (store.Tx.NumberingHeld).
	NumberingHeld() (bool, error)
	QueueProtocolNotification(registrationID string) error
	// RecoverNumber puts a lost definitive number back (store.Tx.RecoverNumber).
	RecoverNumber(st store.RowState) (store.RecoverOutcome, string, error)
	// RecoverNotification puts a lost notification of such a number back
	// (store.Tx.RecoverNotification).
	RecoverNotification(st store.RowState) (store.RecoverOutcome, string, error)
	// RecoverConflict puts a lost conflict record back (store.Tx.RecoverConflict).
	RecoverConflict(st store.RowState) (store.RecoverOutcome, string, error)
	// RecoverReclassification puts a lost reclassification back
	// (store.Tx.RecoverReclassification).
	RecoverReclassification(st store.RowState) (store.RecoverOutcome, string, error)
	Setting(key string) (string, error)
}

// SQLiteBackend adapts the embedded store to Backend.
type SQLiteBackend struct{ DB *store.DB }

var _ Backend = SQLiteBackend{}

func (b SQLiteBackend) Now() time.Time { return b.DB.Now() }

func (b SQLiteBackend) TokenWorkstation(ctx context.Context, h string) (store.Workstation, error) {
	return b.DB.TokenWorkstation(ctx, h)
}

func (b SQLiteBackend) WorkstationByID(ctx context.Context, id string) (store.Workstation, error) {
	return b.DB.WorkstationByID(ctx, id)
}

func (b SQLiteBackend) ChangesAfter(ctx context.Context, after int64, limit int) ([]store.Change, error) {
	return b.DB.ChangesAfter(ctx, after, limit)
}

func (b SQLiteBackend) Snapshot(ctx context.Context, path string, f store.SnapshotFor) (int64, error) {
	return b.DB.Snapshot(ctx, path, f)
}

func (b SQLiteBackend) RefusedRowStates(ctx context.Context, ws string, seqs []int64, hide bool) ([]store.RowState, error) {
	return b.DB.RefusedRowStates(ctx, ws, seqs, hide)
}

func (b SQLiteBackend) RejectionsBetween(ctx context.Context, ws string, after, upTo int64) ([]store.Rejection, error) {
	return b.DB.RejectionsBetween(ctx, ws, after, upTo)
}

func (b SQLiteBackend) LastLateRejection(ctx context.Context, ws string) (int64, error) {
	return b.DB.LastLateRejection(ctx, ws)
}

func (b SQLiteBackend) LateRejections(ctx context.Context, ws string, after int64, limit int) ([]store.LateRejection, error) {
	return b.DB.LateRejections(ctx, ws, after, limit)
}

func (b SQLiteBackend) RejoinState(ctx context.Context, ws string) (store.RejoinState, error) {
	return b.DB.RejoinState(ctx, ws)
}

func (b SQLiteBackend) StableHorizon(ctx context.Context) (string, error) {
	return b.DB.StableHorizon(ctx)
}

func (b SQLiteBackend) NumberingHeld(ctx context.Context) (bool, error) {
	return b.DB.NumberingHeld(ctx)
}

func (b SQLiteBackend) BlobReadableOutsideConfidential(ctx context.Context, sha string) (bool, error) {
	return b.DB.BlobReadableOutsideConfidential(ctx, sha)
}

func (b SQLiteBackend) Confidential(ctx context.Context, changes []store.Change) ([]bool, error) {
	out := make([]bool, len(changes))
	err := b.DB.Read(ctx, func(q store.Querier) error {
		for i, c := range changes {
			if !store.MayBeConfidential(c.Table) {
				continue
			}
			data, err := store.DecodeFields(c.Data)
			if err != nil {
				return err
			}
			if out[i], err = store.RowConfidentialQ(q, c.Table, c.RowID, data); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// PrepareInsert builds a remote insert's statement ahead of the write
// transaction (store.DB.PrepareInsert).
func (b SQLiteBackend) PrepareInsert(c store.Change, d *store.Decoded) { b.DB.PrepareInsert(c, d) }

func (b SQLiteBackend) LogEpoch(ctx context.Context) (string, int64, error) {
	return b.DB.LogEpoch(ctx)
}

func (b SQLiteBackend) Update(ctx context.Context, actor store.Actor, fn func(BackendTx) error) error {
	return b.DB.Write(ctx, actor, func(tx *store.Tx) error { return fn(tx) })
}
