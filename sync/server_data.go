package sync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	gosync "sync"
	"time"

	"sportello/internal/hlc"
	"sportello/store"
)

func (s *Server) pull(w http.ResponseWriter, r *http.Request) {
	ws := workstationOf(r)
	after, err := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	if err != nil || after < 0 {
		fail(w, http.StatusBadRequest, CodeBadRequest, "Cursore di sincronizzazione non valido", err)
		return
	}
	limit := DefaultPullLimit
	if v := r.URL.Query().Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit <= 0 || limit > MaxPullLimit {
			fail(w, http.StatusBadRequest, CodeBadRequest, "Limite non valido", err)
			return
		}
	}
	floor := r.Header.Get(HeaderFloor)
	if floor != "" {
		if _, err := hlc.Parse(floor); err != nil {
			fail(w, http.StatusBadRequest, CodeBadRequest, "Orologio della postazione non valido", err)
			return
		}
	}
	wsClock, hasClock := int64(0), false
	if v := r.Header.Get(HeaderClock); v != "" && floor != "" {
		if wsClock, hasClock = clockMillis(v); !hasClock {
			fail(w, http.StatusBadRequest, CodeBadRequest, "Data e ora della postazione non valide", fmt.Errorf("sync: %s %q", HeaderClock, v))
			return
		}
	}
	nextCert := strings.ToLower(r.Header.Get(HeaderNextCertificate))
	if nextCert != "" && !ValidFingerprint(nextCert) {
		fail(w, http.StatusBadRequest, CodeBadRequest, "Impronta del nuovo certificato non valida", fmt.Errorf("sync: %s %q", HeaderNextCertificate, nextCert))
		return
	}
	cs, err := s.db.ChangesAfter(r.Context(), after, limit)
	if err != nil {
		s.log.Error("pull", "err", err)
		s.internal(w, nil)
		return
	}
	epoch, base, err := s.logEpoch(r.Context())
	if err != nil {
		s.log.Error("pull", "err", err)
		s.internal(w, nil)
		return
	}
	if e := r.Header.Get(HeaderLogEpoch); e != "" && e != epoch && after > base {
		// The workstation pulled, from another epoch of this log, changes
		// past where this one starts: the server was restored from a
		// backup older than them, and its log has grown again since.
		s.log.Error("workstation pulled past a restored backup", "workstation", ws.Code, "cursor", after, "epoch_base", base)
		fail(w, http.StatusConflict, CodeServerBehind, serverBehindMessage, nil)
		return
	}
	w.Header().Set(HeaderLogEpoch, epoch)
	late, err := s.db.LastLateRejection(r.Context(), ws.ID)
	if err != nil {
		s.log.Error("pull", "err", err)
		s.internal(w, nil)
		return
	}
	if late > 0 {
		w.Header().Set(HeaderLateRefused, strconv.FormatInt(late, 10))
	}
	if len(cs) == 0 && after > 0 {
		// Nothing new: the cursor must still be a change of this log. A
		// server restored from a backup has a shorter log, and a workstation
		// that pulled past its end would otherwise skip, without a word,
		// every change that takes those positions again.
		at, err := s.db.ChangesAfter(r.Context(), after-1, 1)
		if err != nil {
			s.log.Error("pull", "err", err)
			s.internal(w, nil)
			return
		}
		if len(at) == 0 || at[0].Seq != after {
			s.log.Error("workstation ahead of the server's change log: restored from a backup?", "workstation", ws.Code, "cursor", after)
			fail(w, http.StatusConflict, CodeServerBehind, serverBehindMessage, nil)
			return
		}
	}
	if floor != "" {
		// The first page of a pull (the only one that reports the floor)
		// starts from the cursor the workstation has committed: the log up
		// to it has reached the workstation (Tx.DeactivationUnseen). Noted
		// once the cursor is known to be of this log.
		var offsetMs int64 // the workstation's clock minus the server's
		if err := s.db.Update(r.Context(), store.Actor{OperatorID: "server"}, func(tx BackendTx) error {
			if err := tx.RaiseFloor(ws.ID, floor); err != nil {
				return err
			}
			if hasClock {
				offsetMs = wsClock - tx.Now().UnixMilli()
				if err := tx.RecordClock(ws.ID, offsetMs); err != nil {
					return err
				}
			}
			if nextCert != "" {
				if err := tx.RecordNextCertificate(ws.ID, nextCert); err != nil {
					return err
				}
			}
			return tx.RecordPulled(ws.ID, after)
		}); err != nil {
			s.internal(w, err)
			return
		}
		if hasClock {
			s.noteClock(ws, time.Duration(offsetMs)*time.Millisecond)
		}
	}
	resp := PullResponse{Changes: []Change{}, Cursor: after, More: len(cs) == limit}
	var conf []bool
	if !ws.Confidential {
		if conf, err = s.db.Confidential(r.Context(), cs); err != nil {
			s.log.Error("pull filter", "err", err)
			s.internal(w, nil)
			return
		}
	}
	for i, c := range cs {
		resp.Cursor = c.Seq
		if c.WorkstationID == ws.ID || (conf != nil && conf[i]) {
			continue // the workstation's own change, or a record it may not read
		}
		resp.Changes = append(resp.Changes, toWire(c))
	}
	if accepts(r, ContentTypeBatch) {
		s.writeBatch(w, batch{Changes: resp.Changes, Cursor: resp.Cursor, More: resp.More})
		return
	}
	writeJSON(w, http.StatusOK, resp, true)
}

// noteClock logs a workstation's clock found beyond ClockTolerance from
// the server's, once for as long as it stays about as far off, and once
// when it is back within.
func (s *Server) noteClock(ws store.Workstation, offset time.Duration) {
	prev, seen := s.clockWarned.Load(ws.ID)
	switch {
	case ClockOff(offset) && (!seen || (offset-prev.(time.Duration)).Abs() > time.Minute):
		s.clockWarned.Store(ws.ID, offset)
		s.log.Warn("workstation clock off: the legal dates it writes (emergency registrations, application history) are wrong",
			"workstation", ws.Code, "offset", offset.Round(time.Second).String())
	case !ClockOff(offset) && seen:
		s.clockWarned.Delete(ws.ID)
		s.log.Info("workstation clock back within tolerance", "workstation", ws.Code, "offset", offset.Round(time.Second).String())
	}
}

// noteFutureClock logs changes of a workstation stamped ahead of the
// server's clock by more than ClockTolerance, at most once an hour per
// workstation: its clock was ahead while it worked without a fresh measure
// (offline, or just after its clock changed), so its edits win the
// concurrent edits of the next hours, and the clocks of the replicas that
// pull them move along (docs/sync-protocol.md, Workstation clocks).
func (s *Server) noteFutureClock(ws store.Workstation, stamp string) {
	ts, err := hlc.Parse(stamp)
	if err != nil {
		return // the change itself is judged, and refused, when applied
	}
	now := s.db.Now()
	ahead := time.UnixMilli(ts.WallMillis).Sub(now)
	if ahead <= ClockTolerance {
		return
	}
	if prev, seen := s.futureWarned.Load(ws.ID); seen && now.Sub(prev.(time.Time)).Abs() < time.Hour {
		return
	}
	s.futureWarned.Store(ws.ID, now)
	s.log.Warn("changes stamped ahead of the server's clock: the workstation's clock was ahead while it worked without measuring it",
		"workstation", ws.Code, "ahead", ahead.Round(time.Second).String())
}

func (s *Server) partPath(sha string) string { return filepath.Join(s.uploads, sha+".part") }

func validSHA(w http.ResponseWriter, r *http.Request) (string, bool) {
	sha := r.PathValue("sha")
	if !store.ValidDigest(sha) {
		fail(w, http.StatusBadRequest, CodeBadRequest, "Impronta SHA-256 non valida", nil)
		return "", false
	}
	return sha, true
}

func (s *Server) blobStatus(w http.ResponseWriter, r *http.Request) {
	sha, ok := validSHA(w, r)
	if !ok {
		return
	}
	if s.blobs.Has(sha) {
		fi, err := os.Stat(s.blobs.Path(sha))
		if err != nil {
			s.internal(w, err)
			return
		}
		writeJSON(w, http.StatusOK, BlobStatus{Size: fi.Size(), Complete: true}, false)
		return
	}
	var size int64
	if fi, err := os.Stat(s.partPath(sha)); err == nil {
		size = fi.Size()
	}
	writeJSON(w, http.StatusOK, BlobStatus{Size: size}, false)
}

// blobUpload appends a chunk at Sportello-Offset to the partial upload; when
// the declared size is reached the whole file is verified against its digest
// and only then stored. A mismatch is refused and the partial file dropped.
// The digest is computed while the bytes stream in when the upload runs in
// one server lifetime; after a restart the partial file is re-read once.
func (s *Server) blobUpload(w http.ResponseWriter, r *http.Request) {
	sha, ok := validSHA(w, r)
	if !ok {
		return
	}
	if s.blobs.Has(sha) {
		writeJSON(w, http.StatusOK, BlobStatus{Complete: true}, false)
		return
	}
	total, err1 := strconv.ParseInt(r.Header.Get(HeaderBlobSize), 10, 64)
	offset, err2 := strconv.ParseInt(r.Header.Get(HeaderOffset), 10, 64)
	if err1 != nil || err2 != nil || total < 0 || offset < 0 || offset > total {
		fail(w, http.StatusBadRequest, CodeBadRequest, "Intestazioni di caricamento non valide", errors.Join(err1, err2))
		return
	}
	up := s.upload(sha)
	up.mu.Lock()
	defer up.mu.Unlock()
	part := s.partPath(sha)
	f, err := os.OpenFile(part, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		s.internal(w, err)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		s.internal(w, err)
		return
	}
	if fi.Size() != offset {
		writeJSON(w, http.StatusConflict, ErrorBody{Code: CodeOffset, Message: "Ripresa del caricamento da un punto diverso", Offset: fi.Size()}, false)
		return
	}
	if up.hashed != offset {
		up.hash, up.hashed = nil, 0 // resumed after a restart: hash the file at the end
	}
	if offset == 0 {
		up.hash, up.hashed = sha256.New(), 0
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		s.internal(w, err)
		return
	}
	var dst io.Writer = f
	if up.hash != nil {
		dst = io.MultiWriter(f, up.hash)
	}
	n, copyErr := io.Copy(dst, io.LimitReader(r.Body, total-offset))
	if up.hash != nil {
		up.hashed = offset + n
	}
	if copyErr != nil {
		// What arrived stays: the client resumes from the file's size. It is
		// not fsynced per chunk: the final digest check catches any loss.
		fail(w, http.StatusBadRequest, CodeBadRequest, "Caricamento interrotto", copyErr)
		return
	}
	if offset+n < total {
		writeJSON(w, http.StatusAccepted, BlobStatus{Size: offset + n}, false)
		return
	}
	if err := f.Sync(); err != nil {
		s.internal(w, err)
		return
	}
	f.Close()
	var adoptErr error
	if up.hash != nil && up.hashed == total {
		if got := hex.EncodeToString(up.hash.Sum(nil)); got != sha {
			adoptErr = fmt.Errorf("%w: declared %s, received %s", store.ErrCorrupt, sha, got)
		} else {
			adoptErr = s.blobs.AdoptVerified(part, sha)
		}
	} else {
		adoptErr = s.adopt(r.Context(), part, sha)
	}
	s.doneUpload(sha)
	if adoptErr != nil {
		os.Remove(part)
		if errors.Is(adoptErr, store.ErrCorrupt) {
			fail(w, http.StatusUnprocessableEntity, CodeBlobMismatch, "Il file ricevuto non corrisponde alla sua impronta: va rinviato", adoptErr)
			return
		}
		fail(w, http.StatusInternalServerError, CodeInternal, "Errore interno del server", adoptErr)
		return
	}
	writeJSON(w, http.StatusCreated, BlobStatus{Size: total, Complete: true}, false)
}

// uploadState is the running digest of one blob being uploaded.
type uploadState struct {
	mu     gosync.Mutex
	hash   hash.Hash
	hashed int64 // bytes fed to hash
}

func (s *Server) upload(sha string) *uploadState {
	s.upMu.Lock()
	defer s.upMu.Unlock()
	if s.ups == nil {
		s.ups = map[string]*uploadState{}
	}
	u, ok := s.ups[sha]
	if !ok {
		u = &uploadState{}
		s.ups[sha] = u
	}
	return u
}

func (s *Server) doneUpload(sha string) {
	s.upMu.Lock()
	delete(s.ups, sha)
	s.upMu.Unlock()
}

// adopt verifies a completed upload and moves it into the blob store.
func (s *Server) adopt(ctx context.Context, part, sha string) error {
	return s.blobs.Adopt(ctx, part, sha)
}

func (s *Server) blobDownload(w http.ResponseWriter, r *http.Request) {
	sha, ok := validSHA(w, r)
	if !ok {
		return
	}
	if ws := workstationOf(r); !ws.Confidential {
		// Outside the confidential scope, only files a readable row names;
		// the answer is the same as for a file the server lacks, so that
		// a digest tells nothing about confidential documents.
		readable, err := s.db.BlobReadableOutsideConfidential(r.Context(), sha)
		if err != nil {
			s.internal(w, err)
			return
		}
		if !readable {
			fail(w, http.StatusNotFound, CodeBlobMissing, "Allegato non presente sul server", nil)
			return
		}
	}
	f, err := s.blobs.Open(sha)
	if errors.Is(err, store.ErrNotFound) {
		fail(w, http.StatusNotFound, CodeBlobMissing, "Allegato non presente sul server", nil)
		return
	}
	if err != nil {
		s.internal(w, err)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		s.internal(w, err)
		return
	}
	w.Header().Set(HeaderSHA256, sha)
	http.ServeContent(w, r, sha, fi.ModTime(), f) // Range requests: resumable downloads
}

// snapshot streams a ready database for a new workstation's initial copy:
// the server's replica copied with VACUUM INTO, without the server's secrets
// and change log, without confidential records the workstation may not read.
func (s *Server) snapshot(w http.ResponseWriter, r *http.Request) {
	ws := workstationOf(r)
	dir, err := os.MkdirTemp(s.uploads, "snapshot-")
	if err != nil {
		s.internal(w, err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "snapshot.db")
	// The copy's clock is at least the server's clock now, and so will be
	// every write the workstation makes: that is its floor. With it, the
	// field versions every workstation is past stay out of the copy.
	if err := s.db.Update(r.Context(), store.Actor{OperatorID: "server"}, func(tx BackendTx) error {
		return tx.RaiseFloorToClock(ws.ID)
	}); err != nil {
		s.internal(w, err)
		return
	}
	stable, err := s.db.StableHorizon(r.Context())
	if err != nil {
		s.internal(w, err)
		return
	}
	cursor, err := s.db.Snapshot(r.Context(), path, store.SnapshotFor{WorkstationID: ws.ID, WorkstationCode: ws.Code, Confidential: ws.Confidential, Stable: stable})
	if err != nil {
		s.log.Error("snapshot", "err", err)
		s.internal(w, nil)
		return
	}
	// The copy holds the log up to its cursor (deactivations included).
	if err := s.db.Update(r.Context(), store.Actor{OperatorID: "server"}, func(tx BackendTx) error {
		if err := tx.SetCopyHorizon(ws.ID, stable); err != nil {
			return err
		}
		return tx.RecordPulled(ws.ID, cursor)
	}); err != nil {
		s.internal(w, err)
		return
	}
	f, err := os.Open(path)
	if err != nil {
		s.internal(w, err)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		s.internal(w, err)
		return
	}
	// The digest is computed while the file streams out and sent as a
	// trailer: one read of the file instead of two.
	w.Header().Set("Trailer", HeaderSHA256)
	w.Header().Set("Content-Type", "application/vnd.sqlite3")
	w.Header().Set(HeaderBlobSize, strconv.FormatInt(fi.Size(), 10)) // not Content-Length: trailers need chunked encoding
	w.Header().Set(HeaderCursor, strconv.FormatInt(cursor, 10))
	h := sha256.New()
	if _, err := io.CopyBuffer(io.MultiWriter(w, h), f, make([]byte, 1<<20)); err != nil {
		s.log.Warn("snapshot send", "err", err)
		return
	}
	w.Header().Set(HeaderSHA256, hex.EncodeToString(h.Sum(nil)))
}

// refused answers a workstation that brings the rows of its refused changes
// back to the server's copy: only its own refused changes, and a row it may
// not read is given as absent (docs/sync-protocol.md, "Refused changes").
func (s *Server) refused(w http.ResponseWriter, r *http.Request) {
	var req RefusedRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
		fail(w, http.StatusBadRequest, CodeBadRequest, "Richiesta non valida", err)
		return
	}
	if len(req.OriginSeqs) == 0 || len(req.OriginSeqs) > MaxRefusedPerRequest {
		fail(w, http.StatusBadRequest, CodeBadRequest, "Richiesta non valida",
			fmt.Errorf("%d origin seqs: between 1 and %d", len(req.OriginSeqs), MaxRefusedPerRequest))
		return
	}
	ws := workstationOf(r)
	rows, err := s.db.RefusedRowStates(r.Context(), ws.ID, req.OriginSeqs, !ws.Confidential)
	if err != nil {
		s.internal(w, err)
		return
	}
	writeJSON(w, http.StatusOK, RefusedResponse{Rows: rows}, true)
}

// rejoin tells a workstation that found the server holding less than it
// synced with (a restore from a backup) where the server stands, so that
// it pushes again what was lost and pulls from a position the restored log
// has (docs/sync-protocol.md, "Backup and restore").
func (s *Server) rejoin(w http.ResponseWriter, r *http.Request) {
	ws := workstationOf(r)
	st, err := s.db.RejoinState(r.Context(), ws.ID)
	if err != nil {
		s.internal(w, err)
		return
	}
	epoch, base, err := s.logEpoch(r.Context())
	if err != nil {
		s.internal(w, err)
		return
	}
	s.log.Warn("workstation rejoins the server", "workstation", ws.Code, "acked_seq", st.AckedSeq, "epoch_base", base, "numbering_held", st.NumberingHeld)
	writeJSON(w, http.StatusOK, RejoinResponse{Epoch: epoch, Base: base, Head: st.Head, AckedSeq: st.AckedSeq, AckedAuditSeq: st.AckedAuditSeq,
		NumberingHeld: st.NumberingHeld, Registers: st.Registers, ConflictsSince: st.ConflictsSince, LateRefused: st.LateRefused}, true)
}

// lateRefused lists a workstation's late refusals after a cursor: changes
// it had acknowledged (parked on a restored server) and that were refused
// afterwards.
func (s *Server) lateRefused(w http.ResponseWriter, r *http.Request) {
	after, err := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	if err != nil || after < 0 {
		fail(w, http.StatusBadRequest, CodeBadRequest, "Richiesta non valida", fmt.Errorf("after=%q", r.URL.Query().Get("after")))
		return
	}
	rs, err := s.db.LateRejections(r.Context(), workstationOf(r).ID, after, MaxLateRefusedPerResponse+1)
	if err != nil {
		s.internal(w, err)
		return
	}
	resp := LateRefusedResponse{Rejected: rs, More: len(rs) > MaxLateRefusedPerResponse}
	if resp.More {
		resp.Rejected = rs[:MaxLateRefusedPerResponse]
	}
	writeJSON(w, http.StatusOK, resp, true)
}

// recoverNumbers takes back, while a restored server holds numbering, the
// definitive numbers it gave before it was lost, as a workstation holds
// them: each only if it contradicts nothing in the register
// (store.Tx.RecoverNumber) and the workstation may read its registration.
func (s *Server) recoverNumbers(w http.ResponseWriter, r *http.Request) {
	var req RecoverRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		fail(w, http.StatusBadRequest, CodeBadRequest, "Richiesta non valida", err)
		return
	}
	if len(req.Numbers)+len(req.Conflicts)+len(req.Reclassifications) == 0 || len(req.Numbers) > MaxRecoverPerRequest ||
		len(req.Notifications) > MaxRecoverPerRequest || len(req.Conflicts) > MaxRecoverPerRequest || len(req.Reclassifications) > MaxRecoverPerRequest {
		fail(w, http.StatusBadRequest, CodeBadRequest, "Richiesta non valida",
			fmt.Errorf("%d numbers, %d conflicts, %d reclassifications: some, at most %d of each", len(req.Numbers), len(req.Conflicts), len(req.Reclassifications), MaxRecoverPerRequest))
		return
	}
	ws := workstationOf(r)
	var resp RecoverResponse
	err := s.db.Update(r.Context(), store.Actor{OperatorID: "server"}, func(tx BackendTx) error {
		var err error
		if resp.Results, err = giveBack(tx, ws, "protocol_numbers", req.Numbers, tx.RecoverNumber); err != nil {
			return err
		}
		held, err := tx.NumberingHeld()
		if err != nil {
			return err
		}
		for _, res := range resp.Results {
			switch {
			case res.Outcome == store.RecoverRestored:
				s.log.Warn("definitive number given back", "workstation", ws.Code, "row", res.RowID)
			case res.Outcome == store.RecoverWaiting && !held:
				s.log.Info("definitive number given back after the resume, kept for its registration", "workstation", ws.Code, "row", res.RowID)
			case res.Outcome == store.RecoverVoid || res.Outcome == store.RecoverReplaced:
				s.log.Warn("definitive number given back that the register will not have", "workstation", ws.Code, "row", res.RowID, "outcome", res.Outcome, "reason", res.Reason)
			}
		}
		if resp.Notifications, err = giveBack(tx, ws, "notifications", req.Notifications, tx.RecoverNotification); err != nil {
			return err
		}
		if resp.Conflicts, err = giveBack(tx, ws, "sync_conflicts", req.Conflicts, tx.RecoverConflict); err != nil {
			return err
		}
		if resp.Reclassifications, err = giveBack(tx, ws, "reclassifications", req.Reclassifications, tx.RecoverReclassification); err != nil {
			return err
		}
		// What came back may be what parked changes wait for (the
		// resolution of a conflict record, an edit of a registration).
		stable, err := tx.StableHorizon()
		if err != nil {
			return err
		}
		if _, err = retryParked(tx, stable, false); err != nil {
			return err
		}
		_, err = tx.RevertsDue()
		return err
	})
	if errors.Is(err, store.ErrNumberingResumed) {
		fail(w, http.StatusConflict, CodeNumberingResumed, numbersLostMessage, err)
		return
	}
	if err != nil {
		s.internal(w, err)
		return
	}
	writeJSON(w, http.StatusOK, resp, true)
}

// giveBack puts back, with put, each row of table a workstation gives back
// to a restored server; a row of a confidential record is refused to a
// workstation outside that scope.
func giveBack(tx BackendTx, ws store.Workstation, table string, rows []store.RowState, put func(store.RowState) (store.RecoverOutcome, string, error)) ([]RecoverResult, error) {
	out := make([]RecoverResult, 0, len(rows))
	for _, st := range rows {
		res := RecoverResult{RowID: st.RowID}
		data, err := store.DecodeFields(st.Data)
		if err != nil {
			data = nil // put refuses it
		}
		conf, err := tx.RowConfidentialAsFiled(table, st.RowID, data)
		if err != nil {
			return nil, err
		}
		if conf && !ws.Confidential {
			res.Outcome, res.Reason = store.RecoverRefused, "dato riservato: la postazione non può trattarlo"
		} else if res.Outcome, res.Reason, err = put(st); err != nil {
			return nil, err
		}
		out = append(out, res)
	}
	return out, nil
}
