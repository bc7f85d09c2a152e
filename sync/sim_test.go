package sync

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"sportello/internal/application"
	"sportello/internal/auth"
	"sportello/internal/catalog"
	"sportello/internal/citizen"
	"sportello/internal/codicefiscale"
	"sportello/internal/desk"
	"sportello/internal/hlc"
	"sportello/internal/protocol"
	"sportello/store"
)

// TestSimulation is a deterministic simulation of replication: a server and
// five replicas (a sixth joins half-way) file citizens, applications,
// attachments and protocol registrations, online and offline, while the
// network loses, duplicates, delays, replays and truncates messages and
// processes crash between any two steps (or in the middle of a sync). When
// the network heals every replica must hold exactly the server's data, and
// everything confirmed to an operator must be there.
//
//	go test -run TestSimulation ./sync/                         default seeds
//	SPORTELLO_SIM_SEEDS=200 go test -run TestSimulation ./sync/ soak
//	SPORTELLO_SIM_SEED=17 go test -run TestSimulation -v ./sync/ one seed, with its log
//	SPORTELLO_SIM_STEPS=600 …                                   longer runs
//
// The operation sequence of a seed is deterministic (the network and the
// operations draw from seeded generators, and the clock is simulated); IDs
// are random UUIDs.
func TestSimulation(t *testing.T) {
	// The simulated clock runs far ahead of the files' times: the files
	// of withdrawn applications go at once.
	idle := store.WithdrawnFileIdle
	store.WithdrawnFileIdle = 0
	t.Cleanup(func() { store.WithdrawnFileIdle = idle })
	seeds := []uint64{}
	switch {
	case os.Getenv("SPORTELLO_SIM_SEED") != "":
		s, err := strconv.ParseUint(os.Getenv("SPORTELLO_SIM_SEED"), 10, 64)
		if err != nil {
			t.Fatalf("SPORTELLO_SIM_SEED: %v", err)
		}
		seeds = append(seeds, s)
	default:
		n := 6
		if testing.Short() {
			n = 2
		}
		if v := os.Getenv("SPORTELLO_SIM_SEEDS"); v != "" {
			var err error
			if n, err = strconv.Atoi(v); err != nil || n <= 0 {
				t.Fatalf("SPORTELLO_SIM_SEEDS=%q", v)
			}
		}
		first := uint64(1)
		if v := os.Getenv("SPORTELLO_SIM_FIRST"); v != "" {
			f, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				t.Fatalf("SPORTELLO_SIM_FIRST: %v", err)
			}
			first = f
		}
		for i := range n {
			seeds = append(seeds, first+uint64(i))
		}
	}
	steps := 260
	if testing.Short() {
		steps = 150
	}
	if v := os.Getenv("SPORTELLO_SIM_STEPS"); v != "" {
		var err error
		if steps, err = strconv.Atoi(v); err != nil || steps <= 0 {
			t.Fatalf("SPORTELLO_SIM_STEPS=%q", v)
		}
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			s := newSimulation(t, seed, 5, steps)
			defer s.close()
			defer func() {
				if t.Failed() {
					note := ""
					if s.pipelined {
						note = " (pipelined clients: the same operations and faults, the order of requests in flight may differ)"
					}
					t.Logf("seed %d: %s\nrerun%s: SPORTELLO_SIM_SEED=%d SPORTELLO_SIM_STEPS=%d go test -run 'TestSimulation$' -v ./sync/", seed, s.summary(), note, seed, steps)
				}
			}()
			s.run(steps)
			s.heal()
			s.verify()
			t.Logf("seed %d: %d steps in %v; %s", seed, steps, time.Since(start).Round(time.Millisecond), s.summary())
		})
	}
}

// simClock is the simulated wall clock shared by the server and every
// replica: it moves forward at every step, so a write confirmed at a later
// step always carries a later hybrid logical clock than every earlier one.
type simClock struct{ ns atomic.Int64 }

func (c *simClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *simClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

type simServer struct {
	dir     string
	svc     *desk.Service
	handler http.Handler
}

type simReplica struct {
	sim    *simulation
	idx    int
	code   string
	dir    string
	svc    *desk.Service
	client *Client
	hc     *http.Client
	net    *simNet
	sess   desk.Session
	online bool // the last sync succeeded: the desk protocols online
	batch  int  // changes per push: small, so that pushes take several batches
	// confidential: an interview room, where an operator allowed
	// confidential records files confidential applications too.
	confidential bool
	// skew is how far the desk's clock is from the server's (simSkews).
	skew time.Duration
}

// Online and SyncNow make the replica the desk's Connector. Online is
// "the last sync succeeded" (Client.Online also looks at the wall clock,
// which would make the simulation depend on how fast the machine is).
func (r *simReplica) Online() bool { return r.online }

func (r *simReplica) SyncNow(ctx context.Context) error {
	err := r.client.SyncOnce(ctx)
	r.online = err == nil
	if err != nil {
		r.sim.countErr("sync (online protocol)", err)
	}
	return err
}

// simPerson is a citizen of the simulated town: the same people walk into
// different offices, so the same codice fiscale is registered on several
// replicas, often offline.
type simPerson struct {
	id, cf, surname, name string
	by                    string // the replica that registered them first
}

// simWrite is a value an operator saw confirmed, at a step. A write by the
// substitute operator, whom the server may have made a referent meanwhile,
// can be refused when it reaches the server: it carries its workstation and
// origin seq to be looked up in the server's refusals.
type simWrite struct {
	step    int
	replica string
	value   string
	ws      string
	seq     int64 // > 0: by the substitute
}

type simApp struct {
	id, procedure, citizenID, creator string
	delegateID                        string     // the citizen's delegate, who files it for them
	forms                             []simWrite // form_data written (canonical JSON)
	protocolled                       bool
	protocolForm                      string    // form data when it was protocolled
	moves                             []simMove // lifecycle moves after the protocol
}

// simMove is a move along an application's lifecycle an operator saw saved.
// seq is the origin seq of the application's change: a move of an
// application whose registration was refused (the substitute's) is
// refused too.
type simMove struct {
	to          application.State
	replica, ws string
	step        int
	seq         int64
	txSeqs      []int64 // the move's local transaction (with its history entry)
}

type simAttachment struct {
	id, appID, sha, by string
	optional           bool // a complaint's photo: the operator may take it off a draft
	withdrawn          bool // taken off, confirmed to the operator
}

// simAnnulment is an annulment the operator saw saved, by the substitute
// (a protocol officer): refused when it reached a server that had made
// them a referent, else on the server at the end.
type simAnnulment struct {
	id, regID, replica, ws string
	seq                    int64
}

type simRegistration struct {
	id, appID, replica string
	emergency          bool
	pending            bool
	label              string // what the operator was told
	// The substitute's, with its origin: refused when it reached a server
	// that had made them a referent (then nowhere; its emergency number
	// stays used: emKey, emNumber).
	sub      bool
	ws       string
	seq      int64
	txSeqs   []int64 // the registration's local transaction
	emKey    string
	emNumber int64
}

type simulation struct {
	t     *testing.T
	seed  uint64
	rng   *rand.Rand
	clock *simClock
	ctx   context.Context
	sess  desk.Session
	// sessRoom is the operator of the interview rooms (confidential
	// replicas), allowed confidential records.
	sessRoom desk.Session
	// sessSub is a substitute (a protocol officer) whom the administrator
	// makes a referent — no registry, no protocol — and a protocol officer
	// again on the server now and then, while desks that have not heard
	// of it yet keep saving that operator's edits and annulments: the
	// server judges every change by the role it holds now, refuses them,
	// and the desks must undo them (Tx.RepairRefused).
	sessSub     desk.Session
	subEntitled bool
	// The desks' operator is deactivated now and then for a few steps
	// (deskBackAt): what a desk that has not heard of it yet saves is kept
	// (store.Tx.DeactivationUnseen), and a desk that has heard of it saves
	// nothing more of that operator's (desk.ErrOperatorDeactivated).
	deskActive bool
	deskBackAt int
	// sessWork is the offices' referent (a responsabile), who takes
	// forwarded applications in charge and closes or rejects them, often
	// on a laptop that has not heard of another's move.
	sessWork desk.Session

	// On a third of the seeds the server's database and files are lost
	// late in the run and brought back from a backup taken earlier: the
	// workstations that synced in between must rejoin, pushing again what
	// was lost and giving back the definitive numbers the lost server gave;
	// the administrator resumes numbering at heal, after the last number
	// the lost server's daily exports show.
	backupDB    string
	backupBlobs map[string]bool
	lostNumbers map[string]bool // "aoo/year/number" given by the lost server
	lostTops    map[int64]int64 // the highest of them, per year
	resumedAt   int64           // where the administrator resumed numbering…
	resumedYear int64           // …in the register of this year
	restored    bool
	// On half of those seeds one workstation (late) comes back only after
	// the administrator resumed numbering: cut off from the loss until the
	// resume, it pushes its work again afterwards and gets back the numbers
	// the lost server gave its registrations (reserved for them). From the
	// backup until it is back, the others leave alone the records it
	// created meanwhile: a change of theirs waiting for those would be
	// refused at the resume (docs/sync-protocol.md, what a restore loses).
	late     *simReplica
	inBackup map[string]bool // citizens, applications, attachments and registrations the backup holds
	lateOn   bool            // from the backup until the late workstation is back

	faults    bool
	server    *simServer
	replicas  []*simReplica
	delayed   []simDelayed
	delivered int
	step      int

	people   []simPerson
	citizens map[string]map[string][]simWrite // citizen ID -> field -> confirmed writes
	apps     []*simApp
	appByID  map[string]*simApp
	atts     []simAttachment
	regs     []*simRegistration
	annuls   []simAnnulment
	// delegations confirmed to an operator
	delegations []citizen.Delegation
	pngSerial   int

	counts map[string]int
	errs   map[string]int

	// pipelined: the replicas' clients keep requests in flight together,
	// as in production (every fourth seed). The seed then reproduces the
	// operations and the faults drawn, but not the order in which two
	// requests in flight reach the network; the other seeds run clients
	// that send one request at a time and replay exactly.
	pipelined bool
	// start is when the simulated clock starts (simStartOf).
	start time.Time
	// mu guards what requests in flight at the same time share: counts,
	// the delayed copies and the delivery count.
	mu gosync.Mutex
}

// simFields are the citizen fields the simulation edits and checks.
var simFields = []string{"phone", "email", "pec", "notes", "address_street", "doc_number"}

func citizenField(c citizen.Citizen, f string) string {
	switch f {
	case "phone":
		return c.Phone
	case "email":
		return c.Email
	case "pec":
		return c.PEC
	case "notes":
		return c.Notes
	case "address_street":
		return c.Address.Street
	case "doc_number":
		return c.Document.Number
	}
	panic(f)
}

func setCitizenField(c *citizen.Citizen, f, v string) {
	switch f {
	case "phone":
		c.Phone = v
	case "email":
		c.Email = v
	case "pec":
		c.PEC = v
	case "notes":
		c.Notes = v
	case "address_street":
		c.Address.Street = v
	case "doc_number":
		c.Document.Number = v
	default:
		panic(f)
	}
}

var simSurnames = []string{"Rossi", "Ferrari", "Russo", "Bianchi", "Romano", "Colombo", "Ricci", "Marino", "Greco", "Bruno", "Gallo", "Conti"}
var simNames = []string{"Luca", "Giulia", "Marco", "Sara", "Paolo", "Anna", "Davide", "Elena", "Fabio", "Irene", "Nicola", "Chiara"}

func newSimulation(t *testing.T, seed uint64, replicas, steps int) *simulation {
	t.Helper()
	s := &simulation{t: t, seed: seed, rng: rand.New(rand.NewPCG(seed, 0x5EED)), clock: &simClock{}, ctx: context.Background(),
		citizens: map[string]map[string][]simWrite{}, appByID: map[string]*simApp{}, counts: map[string]int{}, errs: map[string]int{},
		pipelined: seed%4 == 0, start: simStartOf(seed, steps)}
	s.clock.ns.Store(s.start.Add(time.Minute).UnixNano())
	for i := range 14 {
		sur, name := simSurnames[i%len(simSurnames)], simNames[(i*5+int(seed))%len(simNames)]
		sex := []string{"M", "F"}[i%2]
		born := time.Date(1950+s.rng.IntN(55), time.Month(1+s.rng.IntN(12)), 1+s.rng.IntN(28), 0, 0, 0, 0, time.UTC)
		cf, err := codicefiscale.Compute(sur, name, born, sex, "H501")
		if err != nil {
			t.Fatalf("seed %d: codice fiscale: %v", seed, err)
		}
		s.people = append(s.people, simPerson{id: citizen.IDForCodiceFiscale(cf), cf: cf, surname: sur, name: name})
	}
	// A few people without a codice fiscale (just arrived from abroad): their
	// record gets a random ID on the desk that registers them first; the
	// others edit it once it reached them.
	for i := range 3 {
		s.people = append(s.people, simPerson{surname: "Nguyen", name: simNames[(i+int(seed))%len(simNames)]})
	}
	files, err := simTemplate()
	if err != nil {
		t.Fatalf("seed %d: server template: %v", seed, err)
	}
	dir := t.TempDir()
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatalf("seed %d: server template: %v", seed, err)
		}
	}
	s.startServer(dir)
	for i := range replicas {
		// The fourth is an interview room: the others must never see what
		// it files under a confidential procedure.
		s.enroll(fmt.Sprintf("SIM%02d", i+1), false, i == 3)
	}
	return s
}

var simStart = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

// simNewYear is midnight of 1 January 2027 in Rome (23:00 UTC).
var simNewYear = time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC)

// simStartOf is when a seed's clock starts. Every fifth seed starts on 31
// December so that midnight in Rome falls about two thirds into its steps
// (a step advances the clock by 10.5 s on average): definitive numbers
// start again at 1, emergency registrations made before it reach the
// server after it, and on the seeds with a restore (backup at 55% of the
// steps, loss at 80%) the copy is of the old year and numbering resumes
// in the new one. The regression tests that drive a simulation by hand
// (steps 0) keep the March morning.
func simStartOf(seed uint64, steps int) time.Time {
	if seed%5 == 1 && steps > 0 {
		return simNewYear.Add(-time.Duration(steps) * 65 / 100 * 10500 * time.Millisecond)
	}
	return simStart
}

// simTemplate is the server's database seeded with the demo municipality,
// made once per test process (the Argon2id hashes of the demo operators'
// passwords are most of the cost); each simulation starts from a copy.
var simTemplate = gosync.OnceValues(func() (map[string][]byte, error) {
	dir, err := os.MkdirTemp("", "sportello-sim-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	svc, err := desk.Open(context.Background(), dir, desk.Options{Synchronous: "NORMAL", Now: func() time.Time { return simStart }})
	if err != nil {
		return nil, err
	}
	if _, err := svc.SeedDemo(context.Background()); err != nil {
		svc.Close()
		return nil, err
	}
	if err := svc.Close(); err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	for _, name := range []string{"sportello.db", "sportello.db-wal"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		files[name] = b
	}
	return files, nil
})

func (s *simulation) fatalf(format string, a ...any) {
	s.t.Helper()
	s.t.Fatalf("seed %d (step %d): %s", append([]any{s.seed, s.step}, fmt.Sprintf(format, a...))...)
}

func (s *simulation) count(what string) {
	s.mu.Lock()
	s.counts[what]++
	s.mu.Unlock()
}

var (
	simHexRE = regexp.MustCompile(`[0-9a-f-]{16,}`)
	simNumRE = regexp.MustCompile(`[0-9]+`)
)

func (s *simulation) countErr(what string, err error) {
	// Collapse digests, IDs and numbers so that the log groups errors by kind.
	msg := simNumRE.ReplaceAllString(simHexRE.ReplaceAllString(err.Error(), "…"), "N")
	if len(msg) > 160 {
		msg = msg[:160]
	}
	s.mu.Lock()
	s.errs[what+": "+msg]++
	s.mu.Unlock()
}

func (s *simulation) close() {
	for _, r := range s.replicas {
		if r.svc != nil {
			r.svc.Close()
		}
	}
	if s.server != nil && s.server.svc != nil {
		s.server.svc.Close()
	}
}

func (s *simulation) deskOptions() desk.Options {
	return desk.Options{Synchronous: "NORMAL", Now: s.clock.Now}
}

// simSkews are the clocks the simulation gives the desks against the
// server's: right, a second or minutes off, and hours or a day off either
// way (a date typed wrong, a dead battery). The merge must not depend on
// them (hybrid logical clocks); each side must measure them.
var simSkews = []time.Duration{0, 0, 0, 1500 * time.Millisecond, -40 * time.Second, 7 * time.Minute,
	-(3*time.Hour + 12*time.Minute), 26 * time.Hour, -24 * time.Hour}

// replicaOptions opens a replica on its own clock.
func (r *simReplica) options() desk.Options {
	s, skew := r.sim, r.skew
	return desk.Options{Synchronous: "NORMAL", Now: func() time.Time { return s.clock.Now().Add(skew) }}
}

func (s *simulation) startServer(dir string) {
	svc, err := desk.Open(s.ctx, dir, s.deskOptions())
	if err != nil {
		s.fatalf("open server: %v", err)
	}
	ss, err := NewServer(svc.DB(), svc.Blobs(), dir, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		s.fatalf("sync server: %v", err)
	}
	mux := http.NewServeMux()
	ss.Register(mux)
	s.server = &simServer{dir: dir, svc: svc, handler: mux}
}

// restartServer closes the server's database and opens it again: every
// request in flight is lost, every committed change stays.
func (s *simulation) restartServer() {
	if err := s.server.svc.Close(); err != nil {
		s.fatalf("close server: %v", err)
	}
	s.startServer(s.server.dir)
	s.count("server restarted")
}

// backupServer takes a backup of the server's database and notes which
// files it has.
func (s *simulation) backupServer() {
	dir := s.t.TempDir()
	s.backupDB = filepath.Join(dir, "sportello.db")
	if err := s.server.svc.DB().BackupTo(s.ctx, s.backupDB); err != nil {
		s.fatalf("backup: %v", err)
	}
	s.backupBlobs = map[string]bool{}
	if err := s.server.svc.Blobs().Walk(func(d string) error { s.backupBlobs[d] = true; return nil }); err != nil {
		s.fatalf("backup: files: %v", err)
	}
	s.count("server backed up")
	if s.seed%6 == 5 {
		s.late, s.lateOn = s.replicas[s.rng.IntN(len(s.replicas))], true
		var ids []string
		s.jsonRows(s.server.svc.DB(), `SELECT json_quote(id) AS x FROM citizens UNION ALL SELECT json_quote(id) FROM applications
			UNION ALL SELECT json_quote(id) FROM application_attachments UNION ALL SELECT json_quote(id) FROM protocol_registrations`, &ids)
		s.inBackup = map[string]bool{}
		for _, id := range ids {
			s.inBackup[id] = true
		}
		s.count("a workstation will come back after the resume")
	}
}

// restoreServer loses the server's database and the files it received
// since the backup, and brings it back from the backup. Requests in
// flight are lost; delayed copies of older ones may still arrive.
func (s *simulation) restoreServer() {
	var given []struct {
		AOO    string `json:"aoo"`
		Year   int64  `json:"year"`
		Number int64  `json:"number"`
	}
	s.jsonRows(s.server.svc.DB(), `SELECT json_object('aoo', aoo, 'year', year, 'number', number) AS x FROM protocol_numbers`, &given)
	s.lostNumbers, s.lostTops = map[string]bool{}, map[int64]int64{}
	for _, g := range given {
		s.lostNumbers[fmt.Sprintf("%s/%d/%d", g.AOO, g.Year, g.Number)] = true
		s.lostTops[g.Year] = max(s.lostTops[g.Year], g.Number)
	}
	blobs := s.server.svc.Blobs()
	var lostFiles []string
	if err := blobs.Walk(func(d string) error {
		if !s.backupBlobs[d] {
			lostFiles = append(lostFiles, blobs.Path(d))
		}
		return nil
	}); err != nil {
		s.fatalf("restore: files: %v", err)
	}
	if err := s.server.svc.Close(); err != nil {
		s.fatalf("close server: %v", err)
	}
	for _, f := range lostFiles {
		if err := os.Remove(f); err != nil {
			s.fatalf("restore: lose file: %v", err)
		}
	}
	copyPath := s.backupDB + ".restore"
	data, err := os.ReadFile(s.backupDB)
	if err != nil {
		s.fatalf("restore: %v", err)
	}
	if err := os.WriteFile(copyPath, data, 0o600); err != nil {
		s.fatalf("restore: %v", err)
	}
	if err := store.ReplaceDatabase(copyPath, filepath.Join(s.server.dir, "sportello.db")); err != nil {
		s.fatalf("restore: %v", err)
	}
	s.startServer(s.server.dir)
	// The administrator redoes, on the restored server, what was done on
	// the lost one after the backup: here, the substitute's state.
	// (Twice when the restored copy already has that state: the record
	// must be written again, or the desks keep the lost write's time.)
	want := s.subEntitled
	if o, err := s.server.svc.DB().OperatorByUsername(s.ctx, "protocollo"); err != nil {
		s.fatalf("restore: substitute: %v", err)
	} else if (o.Role == string(auth.Protocollo)) == want {
		s.actToggleSub(nil)
	}
	s.subEntitled = !want
	s.actToggleSub(nil)
	// And the desks' operator's state: written again (the deactivation is
	// noted anew: the restored log has its own positions).
	wantDesk := s.deskActive
	if o, err := s.server.svc.DB().OperatorByUsername(s.ctx, "sportello"); err != nil {
		s.fatalf("restore: desk operator: %v", err)
	} else if o.Active == wantDesk {
		s.setDeskActive(!wantDesk)
	}
	s.setDeskActive(wantDesk)
	s.restored = true
	if s.late != nil {
		s.late.net.cut = true // until numbering resumes
	}
	s.count("server restored from the backup")
	s.counts["files lost with the server"] += len(lostFiles)
}

const simURL = "https://sportello.sim"

// enroll creates a workstation on the server and enrols a new replica with
// it over the simulated network (faulty or not: a failed enrolment is
// repeated with a new code, as an administrator would).
func (s *simulation) enroll(code string, faulty, confidential bool) *simReplica {
	r := &simReplica{sim: s, idx: len(s.replicas), code: code, dir: s.t.TempDir(), batch: 1 + s.rng.IntN(12), confidential: confidential}
	// Drawn apart from s.rng: the operations of a seed stay as they were.
	r.skew = simSkews[rand.New(rand.NewPCG(s.seed, uint64(2000+r.idx))).IntN(len(simSkews))]
	kind := "desk"
	if confidential {
		kind = "interview"
	}
	r.net = &simNet{sim: s, name: code, rng: rand.New(rand.NewPCG(s.seed, uint64(1000+r.idx)))}
	r.hc = &http.Client{Transport: r.net}
	saved := s.faults
	s.faults = faulty
	var err error
	for attempt := 0; ; attempt++ {
		if attempt == 5 {
			s.faults = false
		}
		var enrol string
		if _, enrol, err = CreateWorkstation(s.ctx, s.server.svc.DB(), code, "Postazione "+code, kind, confidential); err != nil {
			s.fatalf("create workstation %s: %v", code, err)
		}
		if _, err = EnrollAt(s.ctx, filepath.Join(r.dir, "sportello.db"), simURL, "", enrol, r.hc, r.options().Now); err == nil {
			break
		}
		s.countErr("enrol", err)
		if attempt > 5 {
			s.fatalf("enrol %s without faults: %v", code, err)
		}
	}
	s.faults = saved
	r.open()
	if r.idx == 0 {
		sess, err := r.svc.Login(s.ctx, "sportello", desk.DemoPassword)
		if err != nil {
			s.fatalf("login on %s: %v", code, err)
		}
		s.sess = sess
		if s.sessSub, err = r.svc.Login(s.ctx, "protocollo", desk.DemoPassword); err != nil {
			s.fatalf("login on %s: %v", code, err)
		}
		if s.sessWork, err = r.svc.Login(s.ctx, "urp", desk.DemoPassword); err != nil {
			s.fatalf("login on %s: %v", code, err)
		}
		s.subEntitled, s.deskActive = true, true
	}
	r.sess = s.sess // the same operator moves between desks (a login costs an Argon2id hash)
	if confidential {
		if s.sessRoom.OperatorID == "" {
			sess, err := r.svc.Login(s.ctx, "colloqui", desk.DemoPassword)
			if err != nil {
				s.fatalf("login on %s: %v", code, err)
			}
			s.sessRoom = sess
		}
		r.sess = s.sessRoom
	}
	s.replicas = append(s.replicas, r)
	return r
}

// open opens the replica's folder as the desktop app does at start.
func (r *simReplica) open() {
	s := r.sim
	svc, err := desk.Open(s.ctx, r.dir, r.options())
	if err != nil {
		s.fatalf("open replica %s: %v", r.code, err)
	}
	if got := svc.DB().WorkstationCode(); got != r.code {
		s.fatalf("replica %s reopened as %q", r.code, got)
	}
	cfg, err := LoadConfig(s.ctx, svc.DB())
	if err != nil {
		s.fatalf("load config of %s: %v", r.code, err)
	}
	if cfg.URL != simURL || cfg.Token == "" {
		s.fatalf("replica %s lost its enrolment: %+v", r.code, cfg)
	}
	cfg.HTTP, cfg.Batch = r.hc, r.batch
	r.svc, r.client, r.online = svc, NewClient(svc.DB(), svc.Blobs(), cfg), false
	r.client.sequential = !s.pipelined
	svc.SetConnector(r)
}

// crash closes the replica and opens it again from its folder.
func (r *simReplica) crash() {
	r.net.disarm()
	if err := r.svc.Close(); err != nil {
		r.sim.fatalf("close replica %s: %v", r.code, err)
	}
	r.open()
	r.sim.count("replica crashed")
}

// sync runs one sync; with crash, the replica dies at a random request of it
// (before or after the server saw it) and is restarted.
func (r *simReplica) sync(crash bool) error {
	s := r.sim
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	if crash {
		r.net.arm(cancel, s.rng.IntN(6), s.rng.IntN(2) == 0)
	}
	err := r.client.SyncOnce(ctx)
	r.online = err == nil
	if err != nil {
		s.countErr("sync", err)
	} else {
		s.count("sync ok")
	}
	if crash {
		r.crash()
	}
	return err
}

func (s *simulation) run(steps int) {
	type action struct {
		weight int
		name   string
		do     func(r *simReplica)
	}
	actions := []action{
		{18, "citizen", s.actCitizen},
		{10, "new application", s.actNewApplication},
		{6, "edit draft", s.actEditDraft},
		{7, "attachment", s.actAttachment},
		{9, "complete", s.actComplete},
		{9, "protocol", s.actProtocol},
		{22, "sync", func(r *simReplica) { r.sync(false) }},
		{3, "crash during sync", func(r *simReplica) { r.sync(true) }},
		{2, "crash", func(r *simReplica) { r.crash() }},
		{2, "resolve conflict", s.actResolveConflict},
		{1, "restore service", s.actRestoreService},
		{3, "citizen (substitute)", s.actCitizenSub},
		{1, "substitute's role changed on the server", s.actToggleSub},
		{1, "desks' operator deactivated on the server", s.actDeactivateDesk},
		{2, "annul a registration (substitute)", s.actAnnul},
		{2, "protocol (substitute)", s.actProtocolSub},
		{5, "move along the lifecycle", s.actMove},
		{2, "withdraw an attachment", s.actWithdraw},
		{2, "delegation", s.actDelegation},
		{1, "computer replaced", s.actReplaceComputer},
		{1, "application reclassified on the server", s.actReclassify},
	}
	total := 0
	for _, a := range actions {
		total += a.weight
	}
	s.faults = true
	lateJoin := steps / 2
	restore := s.seed%3 == 2
	for s.step = 1; s.step <= steps; s.step++ {
		s.clock.advance(time.Duration(1+s.rng.IntN(20)) * time.Second)
		s.deliverDue(false)
		if s.deskBackAt == s.step {
			s.setDeskActive(true)
			s.count("desks' operator active again")
		}
		if s.step == lateJoin {
			s.enroll("SIM06", true, s.seed%2 == 1) // an interview room or a desk, by seed
			s.count("late enrolment")
			continue
		}
		if restore && s.step == steps*55/100 {
			s.backupServer()
			continue
		}
		if restore && s.step == steps*80/100 {
			s.restoreServer()
			continue
		}
		if s.rng.IntN(150) == 0 {
			s.restartServer()
			continue
		}
		if s.rng.IntN(12) == 0 {
			r := s.replicas[s.rng.IntN(len(s.replicas))]
			r.net.link = []simLink{linkGood, linkGood, linkFlaky, linkFlaky, linkDown}[s.rng.IntN(5)]
			s.count("link " + r.net.link.String())
		}
		r := s.replicas[s.rng.IntN(len(s.replicas))]
		p := s.rng.IntN(total)
		for _, a := range actions {
			if p < a.weight {
				s.count("step: " + a.name)
				a.do(r)
				break
			}
			p -= a.weight
		}
	}
}

// actReplaceComputer gives a desk a new computer, as the administrator
// does when one breaks down: the old one is synced first (work it had not
// sent would be stranded on it), then a new code for the same workstation
// enrols an empty data folder, which goes on from where the server has the
// workstation (store.Floors). The old computer's requests still on the
// network reach a server that revoked its token. Not when the server is
// to be restored from a backup (a workstation enrolled after it must be
// enrolled again), nor while the desk holds what only it knows: refusals
// on its operators' list, changes to undo, emergency numbers of refused
// registrations.
func (s *simulation) actReplaceComputer(r *simReplica) {
	if s.seed%3 == 2 || r.net.cut {
		return
	}
	saved := s.faults
	s.faults = false
	defer func() { s.faults = saved }()
	for range 3 {
		if r.sync(false) == nil && r.client.State().Pending == 0 {
			break
		}
	}
	if st := r.client.State(); st.Pending != 0 || st.LastError != "" || len(st.Rejected) != 0 {
		return
	}
	var held int
	if err := r.svc.DB().Read(s.ctx, func(q store.Querier) error {
		return q.QueryRow(`SELECT count(*) FROM local_meta WHERE (key IN (?, ?) AND value NOT IN ('', '[]')) OR key LIKE 'emergency_used:%'`,
			MetaRejected, MetaRepair).Scan(&held)
	}); err != nil {
		s.fatalf("what only %s holds: %v", r.code, err)
	}
	if held > 0 {
		return
	}
	kind := "desk"
	if r.confidential {
		kind = "interview"
	}
	_, enrol, err := CreateWorkstation(s.ctx, s.server.svc.DB(), r.code, "Postazione "+r.code, kind, r.confidential)
	if err != nil {
		s.fatalf("new code for %s: %v", r.code, err)
	}
	dir := s.t.TempDir()
	if _, err := EnrollAt(s.ctx, filepath.Join(dir, "sportello.db"), simURL, "", enrol, r.hc, r.options().Now); err != nil {
		s.fatalf("enrol %s's new computer: %v", r.code, err)
	}
	if err := r.svc.Close(); err != nil {
		s.fatalf("close %s's old computer: %v", r.code, err)
	}
	r.dir = dir
	r.open()
	s.count("computer replaced")
}

// expected reports whether err is a refusal the desk shows the operator
// (nothing was written); any other error fails the simulation.
func (s *simulation) expected(what string, err error) bool {
	var de *desk.Error
	if errors.As(err, &de) || errors.Is(err, auth.ErrForbidden) {
		s.countErr(what+" refused", err)
		return true
	}
	return false
}

func (s *simulation) actCitizen(r *simReplica) { s.editCitizen(r, r.sess, false) }

// leftAlone reports whether replica r leaves alone a citizen or an
// application (or an application's citizen, or one with an attachment)
// because the late workstation created it, the backup does not hold it,
// and the late workstation is not back yet. (A registration of an
// application with such an attachment names its file, which the restored
// server lacks and only the late workstation has: its desk's pushes would
// wait for it — docs/sync-protocol.md, what a restore loses.)
func (s *simulation) leftAlone(r *simReplica, citizenID, appID string) bool {
	if !s.lateOn || r == s.late {
		return false
	}
	if a := s.appByID[appID]; a != nil {
		if a.creator == s.late.code && !s.inBackup[a.id] {
			return true
		}
		for _, att := range s.atts {
			if att.appID == a.id && att.by == s.late.code && !s.inBackup[att.id] {
				return true
			}
		}
		// Its registration, too: until it is back, the application is not
		// protocolled on the register, and moving it on would be refused.
		for _, reg := range s.regs {
			if reg.appID == a.id && reg.replica == s.late.code && !s.inBackup[reg.id] {
				return true
			}
		}
		if citizenID == "" {
			citizenID = a.citizenID
		}
		if s.personLeftAlone(a.delegateID) {
			return true
		}
	}
	return s.personLeftAlone(citizenID)
}

// personLeftAlone: the late workstation registered the citizen after the
// backup (see leftAlone).
func (s *simulation) personLeftAlone(citizenID string) bool {
	for _, p := range s.people {
		if p.id != "" && p.id == citizenID {
			return p.by == s.late.code && !s.inBackup[p.id]
		}
	}
	return false
}

// actCitizenSub edits a citizen the desk knows as the substitute operator.
func (s *simulation) actCitizenSub(r *simReplica) { s.editCitizen(r, s.sessSub, true) }

// actToggleSub makes the substitute a referent, or a protocol officer
// again, on the server.
func (s *simulation) actToggleSub(*simReplica) {
	s.subEntitled = !s.subEntitled
	role := auth.Referente
	if s.subEntitled {
		role = auth.Protocollo
	}
	s.changeOperator(s.sessSub.OperatorID, "change the substitute's role", func(o *store.Operator) { o.Role = string(role) })
}

// actReclassify makes an application filed under a procedure that is not
// confidential confidential, on the server (`catalog reclassify`, one
// application at a time): the interview rooms receive it, the desks
// remove it with its attachments, history and registrations — also those
// a desk made and has not pushed yet, once the push carried them.
func (s *simulation) actReclassify(*simReplica) {
	if s.rng.IntN(3) != 0 {
		return
	}
	var apps []string
	s.jsonRows(s.server.svc.DB(), `SELECT json_quote(id) AS x FROM applications WHERE confidential = 0 ORDER BY id`, &apps)
	if len(apps) == 0 {
		return
	}
	id := apps[s.rng.IntN(len(apps))]
	if err := s.server.svc.DB().Write(s.ctx, store.Actor{OperatorID: "op-admin"}, func(tx *store.Tx) error {
		_, err := tx.Reclassify(id, "simulazione: procedimento reso riservato", "op-admin")
		return err
	}); err != nil {
		s.fatalf("reclassify %s: %v", id, err)
	}
	s.count("application reclassified")
}

// actDeactivateDesk deactivates the desks' operator on the server for a
// few steps.
func (s *simulation) actDeactivateDesk(*simReplica) {
	if !s.deskActive {
		return
	}
	s.setDeskActive(false)
	s.deskBackAt = s.step + 3 + s.rng.IntN(20)
}

func (s *simulation) setDeskActive(active bool) {
	s.deskActive = active
	s.changeOperator(s.sess.OperatorID, "(de)activate the desks' operator", func(o *store.Operator) { o.Active = active })
}

func (s *simulation) changeOperator(id, what string, change func(*store.Operator)) {
	if err := s.server.svc.DB().Write(s.ctx, store.Actor{OperatorID: "op-admin"}, func(tx *store.Tx) error {
		o, err := tx.OperatorByID(id)
		if err != nil {
			return err
		}
		change(&o)
		_, err = tx.PutOperator(o)
		return err
	}); err != nil {
		s.fatalf("%s: %v", what, err)
	}
}

func (s *simulation) editCitizen(r *simReplica, sess desk.Session, sub bool) {
	p := &s.people[s.rng.IntN(len(s.people))]
	if s.leftAlone(r, p.id, "") {
		return
	}
	var old citizen.Citizen
	exists := false
	if p.id != "" {
		var err error
		old, err = r.svc.Citizen(s.ctx, p.id)
		exists = err == nil
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			s.fatalf("read citizen on %s: %v", r.code, err)
		}
		if !exists && p.cf == "" {
			return // registered elsewhere and not here yet: registering again would make a second person
		}
	}
	if sub && !exists {
		return // the substitute only edits records the desk has
	}
	c := old
	if !exists {
		c = citizen.Citizen{Surname: p.surname, Name: p.name, CodiceFiscale: p.cf, PrivacyConsent: true}
	}
	for range 1 + s.rng.IntN(3) {
		f := simFields[s.rng.IntN(len(simFields))]
		v := ""
		n := s.rng.IntN(1000)
		switch f {
		case "phone":
			v = fmt.Sprintf("+39 333 %07d", n)
		case "email":
			v = fmt.Sprintf("c%d@example.it", n)
		case "pec":
			v = fmt.Sprintf("c%d@pec.example.it", n)
		case "notes":
			v = fmt.Sprintf("Nota %d di %s", n, r.code)
		case "address_street":
			v = fmt.Sprintf("Via Roma %d", n)
		case "doc_number":
			v = fmt.Sprintf("CA%05dAB", n)
		}
		if exists && s.rng.IntN(6) == 0 {
			v = "" // cleared
		}
		setCitizenField(&c, f, v)
	}
	saved, err := r.svc.SaveCitizen(s.ctx, sess, c)
	if err != nil {
		if s.expected("citizen", err) {
			return
		}
		s.fatalf("save citizen on %s: %v", r.code, err)
	}
	if p.id == "" {
		p.id, p.by = saved.ID, r.code
	}
	if saved.ID != p.id {
		s.fatalf("citizen %s %s saved with ID %s, not %s", p.surname, p.cf, saved.ID, p.id)
	}
	w := s.citizens[p.id]
	if w == nil {
		w = map[string][]simWrite{}
		s.citizens[p.id] = w
	}
	var seq int64
	for _, f := range simFields {
		nv, ov := citizenField(saved, f), citizenField(old, f)
		if nv == ov || (!exists && nv == "") {
			continue // not written: an unchanged field, or an empty field of a new record
		}
		if sub && seq == 0 {
			if err := r.svc.DB().Read(s.ctx, func(q store.Querier) error {
				return q.QueryRow(`SELECT MAX(origin_seq) FROM sync_changes WHERE workstation_id = ? AND tbl = 'citizens' AND row_id = ?`,
					r.svc.DB().WorkstationID(), p.id).Scan(&seq)
			}); err != nil {
				s.fatalf("origin seq of the substitute's edit on %s: %v", r.code, err)
			}
		}
		w[f] = append(w[f], simWrite{step: s.step, replica: r.code, value: nv, ws: r.svc.DB().WorkstationID(), seq: seq})
	}
}

// localCitizens lists the people with a codice fiscale (the forms ask for
// it) the replica has in its registry.
func (s *simulation) localCitizens(r *simReplica) []citizen.Citizen {
	var out []citizen.Citizen
	for _, p := range s.people {
		if p.cf == "" || s.leftAlone(r, p.id, "") {
			continue
		}
		if c, err := r.svc.Citizen(s.ctx, p.id); err == nil {
			out = append(out, c)
		}
	}
	return out
}

// localApps lists the applications the replica has, in a given state
// ("" = any), in the order they were created.
func (s *simulation) localApps(r *simReplica, states ...application.State) []application.Application {
	var out []application.Application
	for _, a := range s.apps {
		if s.leftAlone(r, a.citizenID, a.id) {
			continue
		}
		got, err := r.svc.DB().Application(s.ctx, a.id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			s.fatalf("read application on %s: %v", r.code, err)
		}
		if len(states) == 0 || slices.Contains(states, got.State) {
			out = append(out, got)
		}
	}
	return out
}

func canonical(values map[string]string) string {
	b, _ := json.Marshal(values) // sorted keys
	return string(b)
}

func (s *simulation) procedure(r *simReplica, id string) catalog.Procedure {
	cat, err := r.svc.Catalog(s.ctx)
	if err != nil {
		s.fatalf("catalog on %s: %v", r.code, err)
	}
	p, ok := cat.Procedure(id)
	if !ok {
		s.fatalf("procedure %s missing on %s", id, r.code)
	}
	return p
}

// simValues fills the form of p with valid values, varied by n.
func simValues(p catalog.Procedure, c citizen.Citizen, n int) map[string]string {
	v := fill(p, c)
	if _, ok := v["provincia_residenza"]; ok {
		v["provincia_residenza"] = "BS" // a province's code, not free text
	}
	for _, f := range p.Fields {
		if f.Type == catalog.LongText || f.Type == catalog.Text && v[f.Key] == "Testo di prova" {
			v[f.Key] = fmt.Sprintf("Testo di prova %d", n)
		}
	}
	return v
}

func (s *simulation) actNewApplication(r *simReplica) {
	cs := s.localCitizens(r)
	if len(cs) == 0 {
		return
	}
	c := cs[s.rng.IntN(len(cs))]
	procID := []string{"reclamo", "richiesta-informazioni"}[s.rng.IntN(2)]
	if r.confidential && s.rng.IntN(3) == 0 {
		procID = simConfidentialProcedure
	}
	delegate := ""
	if d := cs[s.rng.IntN(len(cs))]; d.ID != c.ID && s.rng.IntN(4) == 0 {
		delegate = d.ID // filed by a delegate on the citizen's behalf
	}
	a, err := r.svc.NewApplication(s.ctx, r.sess, procID, c.ID, delegate)
	if err != nil {
		if s.expected("new application", err) {
			return
		}
		s.fatalf("new application on %s: %v", r.code, err)
	}
	app := &simApp{id: a.ID, procedure: procID, citizenID: c.ID, creator: r.code, delegateID: delegate}
	app.forms = append(app.forms, simWrite{step: s.step, replica: r.code, value: canonical(a.Values)})
	s.apps = append(s.apps, app)
	s.appByID[a.ID] = app
	if err := r.svc.SaveDraft(s.ctx, r.sess, a.ID, simValues(s.procedure(r, procID), c, s.rng.IntN(1000)), nil); err != nil {
		if s.expected("save draft", err) {
			return
		}
		s.fatalf("save draft on %s: %v", r.code, err)
	}
	s.recordForm(r, app)
	if procID == simConfidentialProcedure {
		s.count("confidential application")
		// Its required attachments: the ISEE statement and an identity document.
		s.pngSerial++
		isee := fmt.Sprintf("%%PDF-1.4\n%% sim %d %d\n1 0 obj <<>> endobj\ntrailer <<>>\n%%%%EOF\n", s.seed, s.pngSerial)
		for _, f := range []struct {
			typ, name string
			data      []byte
		}{{"attestazione_isee", "isee.pdf", []byte(isee)}, {"documento_identita", "documento.png", simPNG(s.pngSerial, s.seed)}} {
			att, err := r.svc.AddAttachment(s.ctx, r.sess, a.ID, f.typ, f.name, bytes.NewReader(f.data), false)
			if err != nil {
				s.fatalf("add %s on %s: %v", f.typ, r.code, err)
			}
			s.atts = append(s.atts, simAttachment{id: att.ID, appID: a.ID, sha: att.SHA256, by: r.code})
		}
	}
}

// actDelegation records that one citizen the desk knows may act for
// another.
func (s *simulation) actDelegation(r *simReplica) {
	cs := s.localCitizens(r)
	if len(cs) < 2 {
		return
	}
	i := s.rng.IntN(len(cs))
	j := (i + 1 + s.rng.IntN(len(cs)-1)) % len(cs)
	d, err := r.svc.AddDelegation(s.ctx, r.sess, citizen.Delegation{CitizenID: cs[i].ID, DelegateID: cs[j].ID,
		Scope: "Pratiche anagrafiche", ValidUntil: "2027-12-31", Note: fmt.Sprintf("Delega del passo %d", s.step)})
	if err != nil {
		if s.expected("delegation", err) {
			return
		}
		s.fatalf("delegation on %s: %v", r.code, err)
	}
	s.delegations = append(s.delegations, d)
}

// simConfidentialProcedure is the demo catalog's confidential procedure,
// filed only in interview rooms.
const simConfidentialProcedure = "contributo-economico"

// recordForm records the form data the replica now holds as confirmed when
// it differs from the last value the replica wrote or saw.
func (s *simulation) recordForm(r *simReplica, app *simApp) {
	a, err := r.svc.DB().Application(s.ctx, app.id)
	if err != nil {
		s.fatalf("read application back on %s: %v", r.code, err)
	}
	app.forms = append(app.forms, simWrite{step: s.step, replica: r.code, value: canonical(a.Values)})
}

func (s *simulation) actEditDraft(r *simReplica) {
	as := s.localApps(r, application.Bozza, application.Completa)
	if len(as) == 0 {
		return
	}
	a := as[s.rng.IntN(len(as))]
	c, err := r.svc.Citizen(s.ctx, a.CitizenID)
	if err != nil {
		s.fatalf("citizen of application on %s: %v", r.code, err)
	}
	values := simValues(s.procedure(r, a.ProcedureID), c, s.rng.IntN(1000))
	if err := r.svc.SaveDraft(s.ctx, r.sess, a.ID, values, nil); err != nil {
		if s.expected("edit draft", err) {
			return
		}
		s.fatalf("edit draft on %s: %v", r.code, err)
	}
	after, err := r.svc.DB().Application(s.ctx, a.ID)
	if err != nil {
		s.fatalf("read application back on %s: %v", r.code, err)
	}
	if !maps.Equal(after.Values, a.Values) {
		app := s.appByID[a.ID]
		app.forms = append(app.forms, simWrite{step: s.step, replica: r.code, value: canonical(after.Values)})
	}
}

// simPNG returns a small PNG image different from every other one.
func simPNG(serial int, seed uint64) []byte {
	img := image.NewGray(image.Rect(0, 0, 8, 8))
	for i := range 8 {
		img.Pix[i] = byte(uint64(serial) >> (8 * i))
		img.Pix[8+i] = byte(seed >> (8 * i))
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

func (s *simulation) actAttachment(r *simReplica) {
	var as []application.Application
	for _, a := range s.localApps(r, application.Bozza, application.Completa) {
		if a.ProcedureID == "reclamo" {
			as = append(as, a)
		}
	}
	if len(as) == 0 {
		return
	}
	a := as[s.rng.IntN(len(as))]
	s.pngSerial++
	att, err := r.svc.AddAttachment(s.ctx, r.sess, a.ID, "documentazione", fmt.Sprintf("foto%d.png", s.pngSerial),
		bytes.NewReader(simPNG(s.pngSerial, s.seed)), false)
	if err != nil {
		if s.expected("attachment", err) {
			return
		}
		s.fatalf("add attachment on %s: %v", r.code, err)
	}
	s.atts = append(s.atts, simAttachment{id: att.ID, appID: a.ID, sha: att.SHA256, by: r.code, optional: true})
}

// actWithdraw takes a photo off a complaint still being filed (a complete
// one goes back to draft) — sometimes while another desk, offline,
// protocols the application with it.
func (s *simulation) actWithdraw(r *simReplica) {
	var cands []int
	for i, att := range s.atts {
		if !att.optional || att.withdrawn || s.leftAlone(r, "", att.appID) {
			continue
		}
		cands = append(cands, i)
	}
	if len(cands) == 0 {
		return
	}
	att := &s.atts[cands[s.rng.IntN(len(cands))]]
	a, err := r.svc.DB().Application(s.ctx, att.appID)
	if errors.Is(err, store.ErrNotFound) || err == nil && !a.State.Editable() {
		return
	}
	if err != nil {
		s.fatalf("read application on %s: %v", r.code, err)
	}
	here, err := r.svc.Attachments(s.ctx, r.sess, att.appID)
	if err != nil {
		if s.expected("withdraw", err) {
			return
		}
		s.fatalf("attachments on %s: %v", r.code, err)
	}
	if !slices.ContainsFunc(here, func(x application.Attachment) bool { return x.ID == att.id }) {
		return // not here yet, or taken off here already
	}
	if err := r.svc.WithdrawAttachment(s.ctx, r.sess, att.appID, att.id); err != nil {
		if s.expected("withdraw", err) {
			return
		}
		s.fatalf("withdraw attachment %s on %s: %v", att.id, r.code, err)
	}
	att.withdrawn = true
	s.count("attachment withdrawn from " + string(a.State))
}

func (s *simulation) actComplete(r *simReplica) {
	as := s.localApps(r, application.Bozza)
	if len(as) == 0 {
		return
	}
	a := as[s.rng.IntN(len(as))]
	probs, err := r.svc.MarkComplete(s.ctx, r.sess, a.ID)
	if err != nil {
		if s.expected("complete", err) {
			return
		}
		s.fatalf("mark complete on %s: %v", r.code, err)
	}
	if app := s.appByID[a.ID]; len(probs) > 0 && canonical(a.Values) != app.forms[len(app.forms)-1].value {
		s.count("complete: form data not arrived yet")
		return
	}
	if len(probs) > 0 && !s.attachmentsArrived(r, a.ID) {
		s.count("complete: attachments not arrived yet")
		return
	}
	if len(probs) > 0 {
		s.fatalf("application %s filled with valid values is incomplete on %s: %+v\nits writes: %+v\nits history on %s:%s\non the server:%s", a.ID, r.code, probs,
			s.appByID[a.ID].forms, r.code, s.rowHistory(r.svc.DB(), "applications", a.ID), s.rowHistory(s.server.svc.DB(), "applications", a.ID))
	}
}

// attachmentsArrived reports whether every attachment confirmed for an
// application is on replica r.
func (s *simulation) attachmentsArrived(r *simReplica, appID string) bool {
	for _, att := range s.atts {
		if att.appID != appID {
			continue
		}
		var n int
		if err := r.svc.DB().Read(s.ctx, func(q store.Querier) error {
			return q.QueryRow(`SELECT count(*) FROM application_attachments WHERE id = ?`, att.id).Scan(&n)
		}); err != nil {
			s.fatalf("attachments on %s: %v", r.code, err)
		}
		if n == 0 {
			return false
		}
	}
	return true
}

func (s *simulation) actProtocol(r *simReplica) { s.protocol(r, r.sess, false) }

// actProtocolSub protocols as the substitute (a protocol officer, or a
// referent by now on the server): a registration the server refuses goes
// away everywhere, its emergency number stays used, and the application
// is to be protocolled again.
func (s *simulation) actProtocolSub(r *simReplica) { s.protocol(r, s.sessSub, true) }

// txSeqs are the origin seqs of every change of the local transaction
// that wrote replica r's change seq.
func (s *simulation) txSeqs(r *simReplica, seq int64) []int64 {
	ws := r.svc.DB().WorkstationID()
	var rows [][]int64
	s.jsonRows(r.svc.DB(), fmt.Sprintf(`SELECT json_array(origin_seq) AS x FROM sync_changes WHERE workstation_id = '%s'
		AND tx_id = (SELECT tx_id FROM sync_changes WHERE workstation_id = '%s' AND origin_seq = %d)`, ws, ws, seq), &rows)
	var seqs []int64
	for _, x := range rows {
		seqs = append(seqs, x...)
	}
	return seqs
}

// originSeq is the origin seq of replica r's latest change of a row.
func (s *simulation) originSeq(r *simReplica, table, rowID string) int64 {
	var seq int64
	if err := r.svc.DB().Read(s.ctx, func(q store.Querier) error {
		return q.QueryRow(`SELECT COALESCE(MAX(origin_seq), 0) FROM sync_changes WHERE workstation_id = ? AND tbl = ? AND row_id = ?`,
			r.svc.DB().WorkstationID(), table, rowID).Scan(&seq)
	}); err != nil || seq == 0 {
		s.fatalf("origin seq of %s %s on %s: %d %v", table, rowID, r.code, seq, err)
	}
	return seq
}

func (s *simulation) protocol(r *simReplica, sess desk.Session, sub bool) {
	as := s.localApps(r, application.Completa)
	if len(as) == 0 {
		return
	}
	a := as[s.rng.IntN(len(as))]
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	crash := r.online && s.rng.IntN(8) == 0 // the desk dies while waiting for the number
	if crash {
		r.net.arm(cancel, s.rng.IntN(4), s.rng.IntN(2) == 0)
	}
	online := r.online
	res, err := r.svc.ProtocolApplication(ctx, sess, a.ID)
	if crash {
		defer r.crash()
	}
	if err != nil {
		if s.expected("protocol", err) {
			return
		}
		s.fatalf("protocol on %s: %v", r.code, err)
	}
	if res.Emergency == online {
		s.fatalf("protocol on %s online=%v gave %+v", r.code, online, res)
	}
	switch {
	case res.Emergency:
		s.count("protocol: emergency")
	case res.Pending:
		s.count("protocol: online, number pending")
	default:
		s.count("protocol: online, number at once")
	}
	if sub {
		s.count("protocol by the substitute")
	}
	app := s.appByID[a.ID]
	app.protocolled = true
	app.protocolForm = canonical(a.Values)
	reg := &simRegistration{id: res.Registration.ID, appID: a.ID, replica: r.code, emergency: res.Emergency, pending: res.Pending, label: res.Label,
		sub: sub, ws: r.svc.DB().WorkstationID(), seq: s.originSeq(r, "protocol_registrations", res.Registration.ID)}
	reg.txSeqs = s.txSeqs(r, reg.seq)
	if res.Emergency {
		reg.emKey, reg.emNumber = fmt.Sprintf("%s/%d", res.Registration.EmergencyRegister, res.Registration.Year), res.Registration.EmergencyNumber
	}
	s.regs = append(s.regs, reg)
}

// actAnnul annuls, as the substitute (a protocol officer), a registration
// the replica holds: two desks may annul the same one offline (both
// entries stay: append-only); an annulment saved while the server had
// made the substitute a referent is refused, and the repair takes it away
// again. An interview room's confidential registrations are refused at
// the desk: the substitute may not read them.
func (s *simulation) actAnnul(r *simReplica) {
	if len(s.regs) == 0 {
		return
	}
	reg := s.regs[s.rng.IntN(len(s.regs))]
	if s.leftAlone(r, "", reg.appID) || s.lateOn && r != s.late && reg.replica == s.late.code && !s.inBackup[reg.id] {
		return
	}
	got, err := r.svc.Registration(s.ctx, s.sessSub, reg.id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return // not here (yet)
	case err == nil && got.Annulled:
		return
	case err != nil && !s.expected("annul", err):
		s.fatalf("read registration %s on %s: %v", reg.id, r.code, err)
	case err != nil:
		return
	}
	if err := r.svc.Annul(s.ctx, s.sessSub, reg.id, fmt.Sprintf("Registrazione ripetuta (passo %d)", s.step), "Disposizione del responsabile n. 1/2026"); err != nil {
		if s.expected("annul", err) {
			return
		}
		s.fatalf("annul %s on %s: %v", reg.id, r.code, err)
	}
	a := simAnnulment{regID: reg.id, replica: r.code, ws: r.svc.DB().WorkstationID()}
	if err := r.svc.DB().Read(s.ctx, func(q store.Querier) error {
		return q.QueryRow(`SELECT c.origin_seq, x.id FROM sync_changes c JOIN protocol_annulments x ON x.id = c.row_id
			WHERE c.workstation_id = ? AND c.tbl = 'protocol_annulments' AND x.registration_id = ? ORDER BY c.origin_seq DESC LIMIT 1`, a.ws, reg.id).Scan(&a.seq, &a.id)
	}); err != nil {
		s.fatalf("origin seq of the annulment on %s: %v", r.code, err)
	}
	s.annuls = append(s.annuls, a)
}

// actMove moves a protocolled application further along its lifecycle: the
// desk forwards it to the office, the office's referent takes it in charge
// and closes or rejects it — sometimes on two replicas that have not heard
// of each other's move (the state merge keeps the later state; two
// different outcomes are a conflict for a person).
func (s *simulation) actMove(r *simReplica) {
	as := s.localApps(r, application.Protocollata, application.Inoltrata, application.InLavorazione)
	if len(as) == 0 {
		return
	}
	a := as[s.rng.IntN(len(as))]
	to, sess := application.Inoltrata, r.sess
	switch a.State {
	case application.Inoltrata:
		to, sess = []application.State{application.InLavorazione, application.Conclusa, application.Respinta}[s.rng.IntN(3)], s.sessWork
	case application.InLavorazione:
		to, sess = []application.State{application.Conclusa, application.Respinta}[s.rng.IntN(2)], s.sessWork
	}
	var err error
	if to == application.Inoltrata {
		err = r.svc.Forward(s.ctx, sess, a.ID, "")
	} else {
		note := ""
		if to.Final() {
			note = fmt.Sprintf("Esito comunicato al passo %d", s.step)
		}
		err = r.svc.Move(s.ctx, sess, a.ID, to, note)
	}
	if err != nil {
		if s.expected("move", err) {
			return
		}
		s.fatalf("move %s from %s to %s on %s: %v", a.ID, a.State, to, r.code, err)
	}
	app := s.appByID[a.ID]
	m := simMove{to: to, replica: r.code, ws: r.svc.DB().WorkstationID(), step: s.step, seq: s.originSeq(r, "applications", a.ID)}
	m.txSeqs = s.txSeqs(r, m.seq)
	app.moves = append(app.moves, m)
	s.count("move to " + string(to))
}

func (s *simulation) actResolveConflict(r *simReplica) {
	cs, _, err := r.svc.Conflicts(s.ctx, r.sess, true)
	if err != nil {
		s.fatalf("conflicts on %s: %v", r.code, err)
	}
	if len(cs) == 0 {
		return
	}
	// In the simulation's order (IDs and clocks' nodes are random UUIDs).
	order := map[string]string{}
	for i, p := range s.people {
		order[p.id] = fmt.Sprintf("c%04d", i)
	}
	for i, a := range s.apps {
		order[a.id] = fmt.Sprintf("a%04d", i)
	}
	key := func(c store.Conflict) string {
		return fmt.Sprintf("%s %s %s %.22s %.22s", c.Table, order[c.RowID], c.Column, c.WinnerHLC, c.LoserHLC)
	}
	sort.Slice(cs, func(i, j int) bool { return key(cs[i]) < key(cs[j]) })
	cs = slices.DeleteFunc(cs, func(c store.Conflict) bool {
		return c.Table == "citizens" && s.leftAlone(r, c.RowID, "") || c.Table == "applications" && s.leftAlone(r, "", c.RowID)
	})
	if len(cs) == 0 {
		return
	}
	c := cs[s.rng.IntN(len(cs))]
	restore := s.rng.IntN(2) == 0
	var before citizen.Citizen
	if c.Table == "citizens" {
		before, _ = r.svc.Citizen(s.ctx, c.RowID)
	}
	if err := r.svc.ResolveConflict(s.ctx, r.sess, c.ID, restore); err != nil {
		if s.expected("resolve conflict", err) {
			return
		}
		s.fatalf("resolve conflict on %s: %v (conflict %+v)", r.code, err, c)
	}
	s.count(fmt.Sprintf("conflict resolved (%s.%s, restore=%v)", c.Table, c.Column, restore))
	switch c.Table {
	case "citizens":
		after, err := r.svc.Citizen(s.ctx, c.RowID)
		if err != nil {
			s.fatalf("citizen of conflict on %s: %v", r.code, err)
		}
		for _, f := range simFields {
			// A restored loser is written even when this desk held it
			// already (its conflict record came before the winner).
			if nv := citizenField(after, f); nv != citizenField(before, f) || (restore && f == c.Column) {
				s.citizens[c.RowID][f] = append(s.citizens[c.RowID][f], simWrite{step: s.step, replica: r.code, value: nv})
			}
		}
	case "applications":
		if app := s.appByID[c.RowID]; app != nil && c.Column == "form_data" && restore {
			s.recordForm(r, app)
		}
	}
}

func (s *simulation) actRestoreService(r *simReplica) {
	if !r.online {
		return
	}
	if err := r.svc.RestoreService(s.ctx); err != nil {
		s.fatalf("restore service on %s: %v", r.code, err)
	}
}

// heal delivers what is still in the network, switches faults off and syncs
// every replica until a whole round changes nothing.
func (s *simulation) heal() {
	s.step++
	s.deliverDue(true)
	s.faults = false
	s.healRounds()
	if !s.restored {
		return
	}
	held, err := s.server.svc.DB().NumberingHeld(s.ctx)
	if err != nil {
		s.fatalf("numbering held: %v", err)
	}
	if held {
		// Every workstation has rejoined (but the late one) and given back
		// what it held: the administrator resumes after the last number
		// the exports show, with nothing left parked. Changes parked for
		// the late workstation's records (made before the backup, pushed
		// after it) make the administrator wait for it, as `protocol
		// resume` asks.
		if parked, err := s.server.svc.DB().ParkedCount(s.ctx); err == nil && parked > 0 && s.late != nil && s.late.net.cut {
			s.late.net.cut, s.lateOn = false, false
			s.count("late workstation awaited before the resume (changes parked for it)")
			s.healRounds()
		}
		if parked, err := s.server.svc.DB().ParkedCount(s.ctx); err != nil || parked > 0 {
			var what []string
			s.jsonRows(s.server.svc.DB(), `SELECT json_quote(workstation_id || ' ' || origin_seq || ' ' || tbl || ' ' || row_id) AS x FROM sync_parked ORDER BY parked_at`, &what)
			late := ""
			if s.late != nil {
				late = s.late.code + " " + s.late.svc.DB().WorkstationID()
			}
			for _, r := range s.replicas {
				what = append(what, r.code+"="+r.svc.DB().WorkstationID())
			}
			s.fatalf("%d changes still parked at the resume (%v), late %s: %v", parked, err, late, what)
		}
		// Numbering resumes in this year's register, after the last
		// number of it the lost server's daily exports show.
		_, year := protocol.LegalDate(s.clock.Now())
		s.resumedYear = int64(year)
		s.resumedAt = s.lostTops[s.resumedYear]
		// Every desk that synced with the restored server says it holds
		// its numbering.
		for _, r := range s.replicas {
			if !r.net.cut && !r.client.State().NumberingHeld {
				s.fatalf("%s synced with the restored server and does not say it holds its numbering", r.code)
			}
		}
		if s.late != nil && s.seed%12 == 11 {
			// The exports the administrator read miss the last numbers
			// the lost server gave, which only the late workstation
			// holds: numbering resumes after the register's top, below
			// them, and they are replaced (reserveNumber).
			var top int64
			if err := s.server.svc.DB().Read(s.ctx, func(q store.Querier) error {
				return q.QueryRow(`SELECT COALESCE(MAX(number), 0) FROM protocol_numbers WHERE year = ?`, s.resumedYear).Scan(&top)
			}); err != nil {
				s.fatalf("register top: %v", err)
			}
			if top < s.resumedAt {
				s.resumedAt = top
				s.count("numbering resumed below numbers the lost server gave")
			}
		}
		res, err := ResumeNumbering(s.ctx, s.server.svc.DB(), s.resumedAt, 0)
		var ye *ResumeYearError
		if errors.As(err, &ye) && ye.Given == 0 && int64(ye.Current) == s.resumedYear {
			// The copy is of the year before: the administrator confirms
			// that the number is of this year's register.
			s.count("resume after the year turned, year confirmed")
			res, err = ResumeNumbering(s.ctx, s.server.svc.DB(), s.resumedAt, ye.Current)
		}
		if err != nil {
			s.fatalf("resume numbering after %d: %v", s.resumedAt, err)
		}
		s.count("numbering resumed")
		s.counts["registrations numbered at the resume"] += res.Count
		s.healRounds()
	}
	if s.late != nil && s.late.net.cut {
		// The late workstation comes back.
		s.late.net.cut, s.lateOn = false, false
		s.count("late workstation back after the resume")
		s.healRounds()
		var used int
		if err := s.server.svc.DB().Read(s.ctx, func(q store.Querier) error {
			return q.QueryRow(`SELECT count(*) FROM sync_reserved_numbers WHERE used_at <> ''`).Scan(&used)
		}); err != nil {
			s.fatalf("reserved numbers: %v", err)
		}
		s.counts["numbers the late workstation got back after the resume"] += used
	}
}

// healRounds syncs every replica, round after round, until nothing moves.
func (s *simulation) healRounds() {
	const maxRounds = 8
	for round := 1; ; round++ {
		before := s.serverSeq()
		var errs []string
		for _, r := range s.replicas {
			if r.net.cut {
				continue // away until numbering resumes
			}
			if err := r.client.SyncOnce(s.ctx); err != nil {
				errs = append(errs, fmt.Sprintf("%s: %v", r.code, err))
			}
		}
		quiet := len(errs) == 0 && s.serverSeq() == before
		for _, r := range s.replicas {
			if !quiet {
				break
			}
			st := r.client.State()
			cursor, _ := r.client.metaInt(s.ctx, MetaPullCursor)
			recover, _ := r.svc.DB().Meta(s.ctx, MetaRecoverNumbers)
			// While the late workstation is away, numbers of its
			// registrations wait for it on the others.
			quiet = (st.Pending == 0 || r.net.cut) && (cursor == before || r.net.cut) && (recover == "" || s.lateOn)
		}
		if quiet {
			s.count(fmt.Sprintf("healed in %d rounds", round))
			return
		}
		if round == maxRounds {
			for _, r := range s.replicas {
				cursor, _ := r.client.metaInt(s.ctx, MetaPullCursor)
				recover, _ := r.svc.DB().Meta(s.ctx, MetaRecoverNumbers)
				errs = append(errs, fmt.Sprintf("%s: %d pending, cursor %d of %d, numbers to give back %q", r.code, r.client.State().Pending, cursor, s.serverSeq(), recover))
				var list recoverList
				json.Unmarshal([]byte(recover), &list)
				for _, id := range list.Numbers {
					var reg, origin string
					var onServer int
					r.svc.DB().Read(s.ctx, func(q store.Querier) error {
						return q.QueryRow(`SELECT n.registration_id, r.workstation_id FROM protocol_numbers n JOIN protocol_registrations r ON r.id = n.registration_id WHERE n.id = ?`, id).Scan(&reg, &origin)
					})
					s.server.svc.DB().Read(s.ctx, func(q store.Querier) error {
						return q.QueryRow(`SELECT count(*) FROM protocol_registrations WHERE id = ?`, reg).Scan(&onServer)
					})
					code := "?"
					var local, pushed int64
					for _, o := range s.replicas {
						if o.svc.DB().WorkstationID() == origin {
							code = o.code
							pushed, _ = o.client.metaInt(s.ctx, MetaPushed)
							o.svc.DB().Read(s.ctx, func(q store.Querier) error {
								return q.QueryRow(`SELECT COALESCE(MAX(origin_seq), 0) FROM sync_changes WHERE workstation_id = ? AND row_id = ?`, origin, reg).Scan(&local)
							})
						}
					}
					var peer int64
					s.server.svc.DB().Read(s.ctx, func(q store.Querier) error {
						return q.QueryRow(`SELECT COALESCE(MAX(last_seq), -1) FROM sync_peers WHERE workstation_id = ?`, origin).Scan(&peer)
					})
					var rej string
					s.server.svc.DB().Read(s.ctx, func(q store.Querier) error {
						return q.QueryRow(`SELECT COALESCE(group_concat(code || ' ' || reason), '') FROM sync_rejections WHERE workstation_id = ? AND row_id = ?`, origin, reg).Scan(&rej)
					})
					errs = append(errs, fmt.Sprintf("  number %s: registration %s from %s (%s: change %d, pushed %d, server peer %d), on the server: %d, refused: %q", id, reg, origin, code, local, pushed, peer, onServer, rej))
				}
			}
			s.fatalf("not quiescent after %d rounds of sync without faults: %s", round, strings.Join(errs, "; "))
		}
	}
}

func (s *simulation) serverSeq() int64 {
	var n int64
	if err := s.server.svc.DB().Read(s.ctx, func(q store.Querier) error {
		return q.QueryRow(`SELECT COALESCE(MAX(seq), 0) FROM sync_changes`).Scan(&n)
	}); err != nil {
		s.fatalf("server seq: %v", err)
	}
	return n
}

// jsonRows runs a query whose single column is a JSON array per row.
func (s *simulation) jsonRows(db *store.DB, query string, dst any) {
	err := db.Read(s.ctx, func(qr store.Querier) error {
		var raw string
		if err := qr.QueryRow(`SELECT COALESCE(json_group_array(json(x)), '[]') FROM (` + query + `)`).Scan(&raw); err != nil {
			return err
		}
		return json.Unmarshal([]byte(raw), dst)
	})
	if err != nil {
		s.fatalf("query %q: %v", query, err)
	}
}

func (s *simulation) verify() {
	ctx := s.ctx
	srv := s.server.svc.DB()

	// Refused changes: only the substitute's edits may be refused (saved
	// while the server had made that operator a referent: what the desks'
	// operator saved while deactivated on the server, before the desk
	// heard of it, is kept); any other is
	// listed first (it explains most differences) and fails at the end.
	subWrites := map[string]bool{}
	for _, fields := range s.citizens {
		for _, ws := range fields {
			for _, w := range ws {
				if w.seq > 0 {
					subWrites[fmt.Sprintf("%s/%d", w.ws, w.seq)] = true
				}
			}
		}
	}
	for _, a := range s.annuls {
		subWrites[fmt.Sprintf("%s/%d", a.ws, a.seq)] = true
	}
	var refusals []struct {
		WS   string `json:"ws"`
		Seq  int64  `json:"seq"`
		What string `json:"what"`
	}
	s.jsonRows(srv, `SELECT json_object('ws', workstation_id, 'seq', origin_seq, 'what', code || ' ' || tbl || ' ' || row_id || ': ' || reason) AS x
		FROM sync_rejections ORDER BY workstation_id, origin_seq`, &refusals)
	refused := map[string]bool{}
	for _, rej := range refusals {
		refused[fmt.Sprintf("%s/%d", rej.WS, rej.Seq)] = true
	}
	// The substitute's registrations may be refused, the whole transaction
	// that made them; then the application is not protocolled on the
	// register, and what moves it on, or annuls the registration, is
	// refused in turn.
	key := func(ws string, seq int64) string { return fmt.Sprintf("%s/%d", ws, seq) }
	refusedReg := func(reg *simRegistration) bool { return reg.sub && refused[key(reg.ws, reg.seq)] }
	consequences := map[string]bool{}
	unprotocolled := map[string]bool{} // applications whose substitute's registration was refused
	for _, reg := range s.regs {
		if !refusedReg(reg) {
			continue
		}
		unprotocolled[reg.appID] = true
		for _, seq := range reg.txSeqs {
			consequences[key(reg.ws, seq)] = true
		}
	}
	for _, app := range s.apps {
		for _, m := range app.moves {
			for _, seq := range m.txSeqs {
				if unprotocolled[app.id] {
					consequences[key(m.ws, seq)] = true
				}
			}
		}
	}
	for _, a := range s.annuls {
		for _, reg := range s.regs {
			if reg.id == a.regID && refusedReg(reg) {
				consequences[key(a.ws, a.seq)] = true
			}
		}
	}
	var rejections []string
	for _, rej := range refusals {
		k := key(rej.WS, rej.Seq)
		sub := subWrites[k] && (strings.HasPrefix(rej.What, CodeForbidden+" citizens ") || strings.HasPrefix(rej.What, CodeForbidden+" protocol_annulments "))
		if !sub && !consequences[k] {
			rejections = append(rejections, rej.What)
			s.t.Logf("seed %d: rejection %s", s.seed, rej.What)
		}
	}
	if len(refused) > 0 {
		s.count("substitute's edits refused by the server")
		s.counts["substitute's edits refused by the server"] += len(refused) - 1
	}

	// 0. Every citizen's search keys describe the row as it is (the
	// replicas' equal the server's: check 1), however its writes merged.
	var stale []string
	s.jsonRows(srv, `SELECT json_quote(id || ': ' || search_name || ' / ' || surname || ' ' || name || ', ' || doc_number_folded || ' / ' || doc_number) AS x FROM citizens
		WHERE search_name <> sportello_fold(surname || ' ' || name) OR doc_number_folded <> sportello_fold_document(doc_number)`, &stale)
	if len(stale) > 0 {
		s.fatalf("%d citizens whose search keys are out of step with their values (first: %s)", len(stale), stale[0])
	}

	// 1. Every replicated table of every interview room is identical to
	// the server's; every desk's, to the server's without the confidential
	// records (what the initial copy of a new desk holds, made by a filter
	// of its own, not the pull's).
	deskView := s.deskView()
	tables := srv.ReplicatedTables()
	sort.Strings(tables)
	checksums := func(db *store.DB, who string) map[string]string {
		out := map[string]string{}
		for _, table := range tables {
			sum, n, err := db.TableChecksum(ctx, table)
			if err != nil {
				s.fatalf("checksum %s on %s: %v", table, who, err)
			}
			out[table] = fmt.Sprintf("%s (%d rows)", sum[:12], n)
		}
		return out
	}
	wantAll, wantDesk := checksums(srv, "the server"), checksums(deskView, "the server's desk view")
	for _, r := range s.replicas {
		want, ref, what := wantDesk, deskView, "the server without confidential records"
		if r.confidential {
			want, ref, what = wantAll, srv, "the server"
		}
		var diff []string
		for _, table := range tables {
			sum, n, err := r.svc.DB().TableChecksum(ctx, table)
			if err != nil {
				s.fatalf("checksum %s on %s: %v", table, r.code, err)
			}
			if got := fmt.Sprintf("%s (%d rows)", sum[:12], n); got != want[table] {
				diff = append(diff, fmt.Sprintf("%s: %s, %s %s", table, got, what, want[table]))
				s.explainDiff(r, ref, table)
			}
		}
		if !r.confidential {
			var n int
			if err := r.svc.DB().Read(ctx, func(q store.Querier) error {
				return q.QueryRow(`SELECT (SELECT count(*) FROM applications WHERE confidential = 1) + (SELECT count(*) FROM protocol_registrations WHERE confidential = 1)
					+ (SELECT count(*) FROM applications a JOIN reclassifications x ON x.application_id = a.id)
					+ (SELECT count(*) FROM protocol_registrations r JOIN reclassifications x ON x.application_id = r.application_id)`).Scan(&n)
			}); err != nil {
				s.fatalf("confidential rows on %s: %v", r.code, err)
			}
			if n > 0 {
				s.fatalf("desk %s holds %d confidential applications or registrations", r.code, n)
			}
		}
		if len(diff) > 0 {
			s.fatalf("replica %s differs from %s after healing:\n\t%s", r.code, what, strings.Join(diff, "\n\t"))
		}
		if err := r.svc.DB().IntegrityCheck(ctx); err != nil {
			s.fatalf("replica %s: %v", r.code, err)
		}
		if brk, err := r.svc.DB().VerifyAudit(ctx); err != nil || brk != nil {
			s.fatalf("audit chain of replica %s: %v %v", r.code, brk, err)
		}
		// Every refusal of this desk's changes is on the list its operators
		// read (kept across crashes), and every refused row was repaired.
		var listed []store.Rejection
		if raw, err := r.svc.DB().Meta(ctx, MetaRejected); err != nil {
			s.fatalf("refused changes on %s: %v", r.code, err)
		} else if raw != "" {
			if err := json.Unmarshal([]byte(raw), &listed); err != nil {
				s.fatalf("refused changes on %s: %v", r.code, err)
			}
		}
		onList := map[int64]bool{}
		for _, l := range listed {
			onList[l.OriginSeq] = true
		}
		for _, rej := range refusals {
			if rej.WS == r.svc.DB().WorkstationID() && !onList[rej.Seq] {
				s.fatalf("replica %s: refused change %d (%s) is not on the operators' list", r.code, rej.Seq, rej.What)
			}
		}
		if raw, err := r.svc.DB().Meta(ctx, MetaRepair); err != nil || raw != "" {
			s.fatalf("replica %s: refused changes still to repair after healing: %q %v", r.code, raw, err)
		}
		if n, err := r.svc.DB().PendingRemovals(ctx); err != nil || n > 0 {
			s.fatalf("replica %s: %d records the register does not have still to remove after healing (%v)", r.code, n, err)
		}
		var removed int
		if err := r.svc.DB().Read(ctx, func(q store.Querier) error {
			return q.QueryRow(`SELECT count(*) FROM audit_log WHERE workstation_id = ? AND action = 'sync_revert'`, r.svc.DB().WorkstationID()).Scan(&removed)
		}); err != nil {
			s.fatalf("removals on %s: %v", r.code, err)
		}
		if removed > 0 {
			s.count("records the restored server refused, removed where pulled (absent revert)")
			s.counts["records the restored server refused, removed where pulled (absent revert)"] += removed - 1
		}
	}
	if brk, err := srv.VerifyAudit(ctx); err != nil || brk != nil {
		s.fatalf("audit chains on the server: %v %v", brk, err)
	}

	// 2. Every citizen change confirmed to an operator is there: for every
	// field, the value of the last confirmed write (a later step has a later
	// clock, so it must win everywhere).
	for id, fields := range s.citizens {
		c, err := srv.Citizen(ctx, id)
		if err != nil {
			s.fatalf("confirmed citizen %s missing on the server: %v", id, err)
		}
		for f, ws := range fields {
			ws = slices.DeleteFunc(slices.Clone(ws), func(w simWrite) bool { return w.seq > 0 && refused[fmt.Sprintf("%s/%d", w.ws, w.seq)] })
			if len(ws) == 0 {
				continue
			}
			last := ws[len(ws)-1]
			if got := citizenField(c, f); got != last.value {
				hist := "server:" + s.rowHistory(srv, "citizens", id)
				for _, r := range s.replicas {
					if r.code == last.replica {
						hist += "\n" + r.code + ":" + s.rowHistory(r.svc.DB(), "citizens", id)
					}
				}
				s.fatalf("citizen %s %s: server has %q, last confirmed write is %q (step %d on %s); all writes %+v\n%s",
					c.CodiceFiscale, f, got, last.value, last.step, last.replica, ws, hist)
			}
		}
	}

	// 3. Applications, their form data, attachments and their files.
	onRegister := map[string]bool{} // protocolled, by a registration the server took
	for _, reg := range s.regs {
		if !refusedReg(reg) {
			onRegister[reg.appID] = true
		}
	}
	changedAfterProtocol := 0
	for _, app := range s.apps {
		a, err := srv.Application(ctx, app.id)
		if err != nil {
			s.fatalf("confirmed application %s (created on %s) missing on the server: %v", app.id, app.creator, err)
		}
		last := app.forms[len(app.forms)-1]
		if got := canonical(a.Values); got != last.value {
			hist := "server:" + s.rowHistory(srv, "applications", app.id)
			for _, r := range s.replicas {
				if r.code == last.replica {
					hist += "\n" + r.code + ":" + s.rowHistory(r.svc.DB(), "applications", app.id)
				}
			}
			s.fatalf("application %s form data: server has %s, last confirmed write is %s (step %d on %s)\n%s", app.id, got, last.value, last.step, last.replica, hist)
		}
		if onRegister[app.id] && a.State.Rank() < application.Protocollata.Rank() {
			s.fatalf("application %s was protocolled but is %q on the server", app.id, a.State)
		}
		// The lifecycle never moves back by a merge: the state is at least
		// as far along as every confirmed move, each move is in the
		// history, and two different outcomes are a conflict record.
		finals := map[application.State]bool{}
		moved := map[string]int{}
		for _, m := range app.moves {
			if refused[key(m.ws, m.seq)] {
				continue // its application's registration was refused
			}
			if a.State.Rank() < m.to.Rank() {
				s.fatalf("application %s was moved to %q (step %d on %s) but is %q on the server\n%s", app.id, m.to, m.step, m.replica, a.State,
					s.rowHistory(srv, "applications", app.id))
			}
			if m.to.Final() {
				finals[m.to] = true
			}
			moved[m.ws+"/"+string(m.to)]++
		}
		for key, n := range moved {
			ws, to, _ := strings.Cut(key, "/")
			var got int
			if err := srv.Read(ctx, func(q store.Querier) error {
				return q.QueryRow(`SELECT count(*) FROM application_history WHERE application_id = ? AND workstation_id = ? AND to_state = ?`, app.id, ws, to).Scan(&got)
			}); err != nil || got < n {
				s.fatalf("application %s: %d moves to %s confirmed on %s, %d in the server's history (%v)", app.id, n, to, ws, got, err)
			}
		}
		if len(finals) > 1 {
			var conflicts int
			if err := srv.Read(ctx, func(q store.Querier) error {
				return q.QueryRow(`SELECT count(*) FROM sync_conflicts WHERE tbl = 'applications' AND row_id = ? AND col = 'state'`, app.id).Scan(&conflicts)
			}); err != nil {
				s.fatalf("conflicts on the server: %v", err)
			}
			switch {
			case conflicts > 0:
				s.count("observation: application closed on one replica and rejected on another (a conflict)")
			case s.restored:
				// Both written before the restored server's first push: it
				// cannot tell whether the lost one forwarded the loser to
				// the winner's writer (ApplyOptions.SeenBefore).
				s.count("observation: application closed and rejected before a restore, no conflict record")
			default:
				s.fatalf("application %s was closed and rejected on two replicas, no conflict record; moves %+v\n%s", app.id, app.moves,
					s.rowHistory(srv, "applications", app.id))
			}
		}
		if onRegister[app.id] && canonical(a.Values) != app.protocolForm {
			changedAfterProtocol++
		}
	}
	if changedAfterProtocol > 0 {
		s.count("observation: protocolled applications whose form data was changed by a concurrent offline edit")
		s.counts["observation: protocolled applications whose form data was changed by a concurrent offline edit"] += changedAfterProtocol - 1
	}
	for _, att := range s.atts {
		var sha, appID string
		var withdrawn bool
		if err := srv.Read(ctx, func(q store.Querier) error {
			return q.QueryRow(`SELECT sha256, application_id, withdrawn FROM application_attachments WHERE id = ?`, att.id).Scan(&sha, &appID, &withdrawn)
		}); err != nil {
			s.fatalf("confirmed attachment %s missing on the server: %v", att.id, err)
		}
		if sha != att.sha || appID != att.appID {
			s.fatalf("attachment %s: server has %s of %s, confirmed %s of %s", att.id, sha, appID, att.sha, att.appID)
		}
		if att.withdrawn && !withdrawn {
			s.fatalf("attachment %s was taken off its application, the server still counts it", att.id)
		}
	}
	// Every file named by an attachment or protocol document is on the
	// server and on every replica whose rows name it, and matches its
	// digest; no desk holds a file only confidential records name.
	const named = `SELECT json_quote(sha256) AS x FROM application_attachments UNION SELECT json_quote(sha256) FROM protocol_documents`
	var shas, deskShas []string
	s.jsonRows(srv, named, &shas)
	s.jsonRows(deskView, named, &deskShas)
	for _, sha := range shas {
		if err := s.server.svc.Blobs().Verify(ctx, sha); err != nil {
			s.fatalf("file %s on the server: %v", sha, err)
		}
		for _, r := range s.replicas {
			switch {
			case r.confidential || slices.Contains(deskShas, sha):
				if err := r.svc.Blobs().Verify(ctx, sha); err != nil {
					s.fatalf("file %s on replica %s (its rows name it): %v", sha, r.code, err)
				}
			case r.svc.Blobs().Has(sha) && !s.addedHere(r, sha):
				// A desk keeps the files it added itself to an
				// application made confidential since (a restored
				// server may need them again).
				s.fatalf("desk %s holds file %s, which only confidential records name", r.code, sha)
			}
		}
	}

	// 4. Protocol: every registration has exactly one definitive number;
	// numbers are unique and gap-free per AOO and year; emergency numbers
	// too, per register and year; what the operator was told stays true.
	type regRow struct {
		ID, Kind, Register string
		EmNumber, Year     int64
		Numbers            int64
		Number, NumYear    int64
		AOO                string
	}
	var regs []regRow
	s.jsonRows(srv, `SELECT json_object('ID', r.id, 'Kind', r.register_kind, 'Register', r.emergency_register, 'EmNumber', COALESCE(r.emergency_number, 0),
		'Year', r.year, 'Numbers', (SELECT count(*) FROM protocol_numbers n WHERE n.registration_id = r.id),
		'Number', COALESCE((SELECT number FROM protocol_numbers n WHERE n.registration_id = r.id), 0),
		'NumYear', COALESCE((SELECT year FROM protocol_numbers n WHERE n.registration_id = r.id), 0),
		'AOO', COALESCE((SELECT aoo FROM protocol_numbers n WHERE n.registration_id = r.id), '')) AS x FROM protocol_registrations r`, &regs)
	byID := map[string]regRow{}
	numbers := map[string][]int64{}
	emergency := map[string][]int64{}
	for _, g := range regs {
		byID[g.ID] = g
		if g.Numbers != 1 {
			s.fatalf("registration %s (%s %s/%d) has %d definitive numbers", g.ID, g.Kind, g.Register, g.EmNumber, g.Numbers)
		}
		key := fmt.Sprintf("%s/%d", g.AOO, g.NumYear)
		numbers[key] = append(numbers[key], g.Number)
		if g.Kind == "emergenza" {
			key := fmt.Sprintf("%s/%d", g.Register, g.Year)
			emergency[key] = append(emergency[key], g.EmNumber)
		}
	}
	for _, reg := range s.regs {
		if refusedReg(reg) && reg.emergency {
			emergency[reg.emKey] = append(emergency[reg.emKey], reg.emNumber) // used, on the citizen's receipt
		}
	}
	years := map[int64]bool{}
	for _, g := range regs {
		years[g.NumYear] = true
	}
	if len(years) > 1 {
		s.count("observation: definitive numbers in the registers of two years")
	}
	var orphans int64
	srv.Read(ctx, func(q store.Querier) error {
		return q.QueryRow(`SELECT count(*) FROM protocol_numbers n WHERE NOT EXISTS (SELECT 1 FROM protocol_registrations r WHERE r.id = n.registration_id)`).Scan(&orphans)
	})
	if orphans > 0 {
		s.fatalf("%d definitive numbers without a registration", orphans)
	}
	for what, m := range map[string]map[string][]int64{"definitive": numbers, "emergency": emergency} {
		for key, ns := range m {
			slices.Sort(ns)
			// After a restore, a number the lost server gave that no
			// workstation held is missing from the register (its
			// registration got a new one): the daily exports show it.
			next := int64(1)
			for _, n := range ns {
				for ; what == "definitive" && n > next && s.lostNumbers[fmt.Sprintf("%s/%d", key, next)]; next++ {
					s.count("observation: number given by the lost server and held by no workstation")
				}
				if n != next {
					s.fatalf("%s numbers of %s are not unique and gap-free: %d where %d was due: %v", what, key, n, next, ns)
				}
				next++
			}
		}
	}
	// Numbers the lost server gave above where numbering resumed were
	// given again: what their operators were told is no longer true, and
	// they are listed for them (number_replaced).
	replaced := map[string]bool{}
	for key := range s.lostNumbers {
		var aoo string
		var year, n int64
		if _, err := fmt.Sscanf(strings.ReplaceAll(key, "/", " "), "%s %d %d", &aoo, &year, &n); err == nil && year == s.resumedYear && n > s.resumedAt {
			replaced[protocol.NumberLabel(n, int(year))] = true
		}
	}
	for _, reg := range s.regs {
		g, ok := byID[reg.id]
		if refusedReg(reg) {
			if ok {
				s.fatalf("registration %s (%s, told %q) was refused but is on the server", reg.id, reg.replica, reg.label)
			}
			s.count("registration refused (substitute no longer a protocol officer), taken back")
			continue
		}
		if !ok {
			s.fatalf("confirmed registration %s (%s, told %q) missing on the server", reg.id, reg.replica, reg.label)
		}
		if !reg.emergency && !reg.pending && replaced[reg.label] && protocol.NumberLabel(g.Number, int(g.NumYear)) != reg.label {
			s.count("observation: a number told above the resume point, replaced")
			continue
		}
		switch {
		case reg.emergency:
			if got := protocol.EmergencyLabel(g.Register, int(g.Year), g.EmNumber); got != reg.label || g.Kind != "emergenza" {
				s.fatalf("emergency registration %s was told %q, server has %s %q", reg.id, reg.label, g.Kind, got)
			}
		case !reg.pending:
			if got := protocol.NumberLabel(g.Number, int(g.NumYear)); got != reg.label {
				s.fatalf("online registration %s was told number %q, server has %q", reg.id, reg.label, got)
			}
		}
	}
	// Every delegation and every application's delegate is on the server.
	for _, d := range s.delegations {
		var citizenID, delegateID string
		if err := srv.Read(ctx, func(q store.Querier) error {
			return q.QueryRow(`SELECT citizen_id, delegate_id FROM citizen_delegations WHERE id = ?`, d.ID).Scan(&citizenID, &delegateID)
		}); err != nil || citizenID != d.CitizenID || delegateID != d.DelegateID {
			s.fatalf("confirmed delegation %s missing on the server: %q %q %v", d.ID, citizenID, delegateID, err)
		}
	}
	for _, app := range s.apps {
		if a, err := srv.Application(ctx, app.id); err != nil || a.DelegateID != app.delegateID {
			s.fatalf("application %s: delegate %q on the server, confirmed %q (%v)", app.id, a.DelegateID, app.delegateID, err)
		}
	}

	// 5. Every annulment saved at a desk is on the server, unless the server
	// refused it (the substitute was a referent): then it is nowhere (the
	// replicas equal the server, check 1).
	perReg := map[string]int{}
	for _, a := range s.annuls {
		var regID string
		err := srv.Read(ctx, func(q store.Querier) error {
			return q.QueryRow(`SELECT registration_id FROM protocol_annulments WHERE id = ?`, a.id).Scan(&regID)
		})
		switch refusedNow := refused[fmt.Sprintf("%s/%d", a.ws, a.seq)]; {
		case refusedNow && err == nil:
			s.fatalf("annulment %s of %s (on %s) was refused but is on the server", a.id, a.regID, a.replica)
		case refusedNow:
			s.count("annulment refused (substitute no longer a protocol officer), taken back")
		case err != nil || regID != a.regID:
			s.fatalf("confirmed annulment %s of %s (on %s) missing on the server: %q %v", a.id, a.regID, a.replica, regID, err)
		default:
			perReg[a.regID]++
		}
	}
	for _, n := range perReg {
		if n > 1 {
			s.count("observation: registration annulled on two desks (concurrently, offline)")
		}
	}
	perApp := map[string]int{}
	for _, reg := range s.regs {
		if !refusedReg(reg) {
			perApp[reg.appID]++
		}
	}
	for _, n := range perApp {
		if n > 1 {
			s.count("observation: application protocolled twice (concurrently, offline)")
		}
	}

	// Each desk's clock was measured, by the desk and by the server, as it
	// is (the simulated network takes no time).
	for _, r := range s.replicas {
		st := r.client.State()
		if !st.ClockKnown || st.ClockOffset != r.skew {
			s.fatalf("%s measured its clock off by %v (known %v), it is %v", r.code, st.ClockOffset, st.ClockKnown, r.skew)
		}
		var ms int64
		if err := srv.Read(ctx, func(q store.Querier) error {
			return q.QueryRow(`SELECT clock_offset_ms FROM sync_peers WHERE workstation_id = ?`, r.svc.DB().WorkstationID()).Scan(&ms)
		}); err != nil {
			s.fatalf("clock of %s on the server: %v", r.code, err)
		}
		if ms != r.skew.Milliseconds() {
			s.fatalf("the server measured the clock of %s off by %d ms, it is %v", r.code, ms, r.skew)
		}
		if r.skew != 0 {
			s.count(fmt.Sprintf("desk clock off by %v", r.skew))
		}
		if st.NumberingHeld {
			s.fatalf("%s still says the server holds its numbering", r.code)
		}
	}

	if len(rejections) > 0 {
		s.fatalf("%d changes refused by the server (first: %s)", len(rejections), rejections[0])
	}
}

// addedHere reports whether replica r added a file itself, as an
// attachment or a protocol document (its own change log says).
func (s *simulation) addedHere(r *simReplica, sha string) bool {
	var n int
	if err := r.svc.DB().Read(s.ctx, func(q store.Querier) error {
		return q.QueryRow(`SELECT count(*) FROM sync_changes WHERE workstation_id = ? AND op = 'insert'
			AND tbl IN ('application_attachments', 'protocol_documents') AND json_extract(data, '$.sha256') = ?`, r.svc.DB().WorkstationID(), sha).Scan(&n)
	}); err != nil {
		s.fatalf("files added on %s: %v", r.code, err)
	}
	return n > 0
}

// deskView is the server's database as a desk may hold it: the initial
// copy the server makes for a workstation outside the confidential scope.
func (s *simulation) deskView() *store.DB {
	path := filepath.Join(s.t.TempDir(), "desk-view.db")
	if _, err := s.server.svc.DB().Snapshot(s.ctx, path, store.SnapshotFor{WorkstationID: "sim-desk-view", WorkstationCode: "SIMVIEW"}); err != nil {
		s.fatalf("desk view of the server: %v", err)
	}
	db, err := store.Open(s.ctx, path, store.Options{Synchronous: "OFF"})
	if err != nil {
		s.fatalf("open the desk view: %v", err)
	}
	s.t.Cleanup(func() { db.Close() })
	return db
}

// explainDiff logs a few rows of a table that differ between a replica and
// a reference (the server, or its desk view), for the failure message of a
// seed.
func (s *simulation) explainDiff(r *simReplica, ref *store.DB, table string) {
	var cols []string
	s.jsonRows(ref, `SELECT json_quote(name) AS x FROM pragma_table_info('`+table+`')`, &cols)
	args := make([]string, len(cols))
	for i, c := range cols {
		args[i] = "'" + c + "', " + c
	}
	rows := func(db *store.DB) map[string]string {
		var rs [][]any
		s.jsonRows(db, `SELECT json_array(id, json_object(`+strings.Join(args, ", ")+`)) AS x FROM `+table, &rs)
		m := map[string]string{}
		for _, row := range rs {
			b, _ := json.Marshal(row[1])
			m[fmt.Sprint(row[0])] = string(b)
		}
		return m
	}
	a, b := rows(r.svc.DB()), rows(ref)
	n := 0
	for _, id := range slices.Sorted(maps.Keys(b)) {
		if a[id] != b[id] && n < 6 {
			s.t.Logf("seed %d: %s %s\n\tserver %s\n\t%s  %s", s.seed, table, id, b[id], r.code, a[id])
			if n < 2 {
				s.t.Logf("seed %d: history of %s %s on the server:%s\n\ton %s:%s", s.seed, table, id,
					s.rowHistory(s.server.svc.DB(), table, id), r.code, s.rowHistory(r.svc.DB(), table, id))
			}
			n++
		}
	}
	for _, id := range slices.Sorted(maps.Keys(a)) {
		if _, ok := b[id]; !ok && n < 6 {
			s.t.Logf("seed %d: %s %s only on %s: %s", s.seed, table, id, r.code, a[id])
			if n < 2 {
				s.t.Logf("seed %d: history of %s %s on %s:%s", s.seed, table, id, r.code, s.rowHistory(r.svc.DB(), table, id))
			}
			n++
		}
	}
}

// rowHistory lists the changes of one row a database recorded, in its
// order, with their origin and clocks, and the row's field versions.
func (s *simulation) rowHistory(db *store.DB, table, id string) string {
	codes := map[string]string{s.server.svc.DB().WorkstationID(): "server"}
	for _, r := range s.replicas {
		codes[r.svc.DB().WorkstationID()] = r.code
	}
	var rows [][]any
	s.jsonRows(db, `SELECT json_array(seq, workstation_id, origin_seq, op, hlc, data, base) AS x FROM sync_changes WHERE tbl = '`+table+`' AND row_id = '`+id+`' ORDER BY seq`, &rows)
	var b strings.Builder
	short := func(h any) string { // seconds since the start of the simulation, counter, origin
		ts, err := hlc.Parse(fmt.Sprint(h))
		if err != nil {
			return fmt.Sprint(h)
		}
		return fmt.Sprintf("%ds.%d@%s", (ts.WallMillis-s.start.UnixMilli())/1000, ts.Logical, codes[ts.Node])
	}
	for _, row := range rows {
		data := fmt.Sprint(row[5])
		if len(data) > 160 {
			data = data[:160] + "…"
		}
		var base map[string]string
		json.Unmarshal([]byte(fmt.Sprint(row[6])), &base)
		bs := []string{}
		for _, k := range slices.Sorted(maps.Keys(base)) {
			bs = append(bs, k+"←"+short(base[k]))
		}
		fmt.Fprintf(&b, "\n\t\t#%v %s/%v %s h=%s base{%s} %s", row[0], codes[fmt.Sprint(row[1])], row[2], row[3], short(row[4]), strings.Join(bs, " "), data)
	}
	// What sync did to the row beyond merging: repairs, reverts.
	var notes [][]any
	s.jsonRows(db, `SELECT json_array(hlc, action, data) AS x FROM audit_log WHERE workstation_id = '`+db.WorkstationID()+`' AND action LIKE 'sync%' AND tbl = '`+table+`' AND row_id = '`+id+`' ORDER BY seq`, &notes)
	for _, n := range notes {
		fmt.Fprintf(&b, "\n\t\t%s %v h=%s %v", "audit", n[1], short(n[0]), n[2])
	}
	var refusals [][]any
	s.jsonRows(db, `SELECT json_array(workstation_id, origin_seq, code, reason, late_seq) AS x FROM sync_rejections WHERE tbl = '`+table+`' AND row_id = '`+id+`'`, &refusals)
	for _, r := range refusals {
		fmt.Fprintf(&b, "\n\t\trefused %s/%v %v %v (late %v)", codes[fmt.Sprint(r[0])], r[1], r[2], r[3], r[4])
	}
	if raw, err := db.Meta(s.ctx, MetaRejected); err == nil && raw != "" {
		var listed []store.Rejection
		json.Unmarshal([]byte(raw), &listed)
		for _, l := range listed {
			if l.Table == table && l.RowID == id {
				fmt.Fprintf(&b, "\n\t\tlisted refusal of %d: %s %s", l.OriginSeq, l.Code, l.Reason)
			}
		}
	}
	var reverts [][]any
	s.jsonRows(db, `SELECT json_array(void_hlc, vals, versions) AS x FROM sync_reverts WHERE tbl = '`+table+`' AND row_id = '`+id+`'`, &reverts)
	for _, r := range reverts {
		fmt.Fprintf(&b, "\n\t\trevert of %s to %v %v", short(r[0]), r[1], r[2])
	}
	var versions string
	db.Read(s.ctx, func(q store.Querier) error {
		return q.QueryRow(`SELECT versions FROM sync_versions WHERE tbl = ? AND row_id = ?`, table, id).Scan(&versions)
	})
	var vs map[string]struct{ H, B string }
	json.Unmarshal([]byte(versions), &vs)
	parts := []string{}
	for _, k := range slices.Sorted(maps.Keys(vs)) {
		if k == "updated_at" || k == "form_data" || k == "state" || len(vs) < 8 {
			parts = append(parts, fmt.Sprintf("%s:%s(b %s)", k, short(vs[k].H), short(vs[k].B)))
		}
	}
	fmt.Fprintf(&b, "\n\t\tversions %s", strings.Join(parts, " "))
	var conflicts [][]any
	s.jsonRows(db, `SELECT json_array(col, winner_value, winner_hlc, loser_value, loser_hlc, resolution) AS x FROM sync_conflicts WHERE tbl = '`+table+`' AND row_id = '`+id+`' ORDER BY detected_at`, &conflicts)
	for _, c := range conflicts {
		w, l := fmt.Sprint(c[1]), fmt.Sprint(c[3])
		if len(w) > 40 {
			w, l = w[:40]+"…", l[:min(len(l), 40)]+"…"
		}
		fmt.Fprintf(&b, "\n\t\tconflict %v: winner %s (%s) loser %s (%s) resolution %q", c[0], w, short(c[2]), l, short(c[4]), c[5])
	}
	return b.String()
}

func (s *simulation) summary() string {
	keys := slices.Sorted(maps.Keys(s.counts))
	var b strings.Builder
	fmt.Fprintf(&b, "%d citizens, %d applications, %d attachments, %d registrations, %d requests delivered",
		len(s.citizens), len(s.apps), len(s.atts), len(s.regs), s.delivered)
	for _, k := range keys {
		fmt.Fprintf(&b, "\n\t%s: %d", k, s.counts[k])
	}
	ek := slices.Sorted(maps.Keys(s.errs))
	for _, k := range ek {
		fmt.Fprintf(&b, "\n\terror %s ×%d", k, s.errs[k])
	}
	return b.String()
}
