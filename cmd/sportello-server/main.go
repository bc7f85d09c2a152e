// Command sportello-server is the central server: the hub replicas sync with
// (HTTPS only, self-signed certificate pinned by the workstations) and the
// home of the municipality's configuration.
//
//	sportello-server serve [-data DIR] [-addr HOST:PORT] [-tls-cert FILE -tls-key FILE] [-host NAME]...
//	                       [-aoo-code C] [-aoo-name N] [-smtp-host H] [-smtp-port P] [-smtp-user U] [-smtp-from A] [-no-demo]
//	                       [-backup-dir DIR [-backup-every 1h]] [-tls-next-cert FILE]
//	sportello-server status [-data DIR]
//	sportello-server operator add -username U -name "Nome Cognome" -role RUOLO [-office ID]
//	sportello-server workstation add -code DESK01 -name "..." -kind desk|interview|protocol|laptop [-confidential]
//	sportello-server workstation revoke -code DESK01
//	sportello-server workstation list [-json]
//	sportello-server workstation rejections [-code DESK01] [-json]
//	sportello-server catalog import FILE
//	sportello-server catalog export [-o FILE]
//	sportello-server protocol export -date AAAA-MM-GG [-o FILE]
//	sportello-server protocol resume -after N [-year Y] [-force]
//	sportello-server certificate next [-host NAME]... [-tls-next-cert FILE]
//	sportello-server certificate switch [-force]
//	sportello-server backup -o DIR
//
// Every subcommand accepts -data. Environment: SPORTELLO_SERVER_DATA,
// SPORTELLO_SERVER_ADDR, SPORTELLO_SERVER_HOSTS (comma-separated),
// SPORTELLO_TLS_CERT, SPORTELLO_TLS_KEY, SPORTELLO_TLS_NEXT_CERT, SPORTELLO_BACKUP_DIR, SPORTELLO_SMTP_HOST/PORT/USER/FROM,
// SPORTELLO_SMTP_PASSWORD (the SMTP password is read only from here),
// SPORTELLO_PASSWORD (operator add; otherwise read from standard input).
//
// Exit status: 0 ok, 1 failure, 2 wrong usage.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sportello/internal/cli"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
	_ "time/tzdata"

	"sportello/internal/auth"
	"sportello/internal/catalog"
	"sportello/internal/desk"
	"sportello/internal/protocol"
	"sportello/internal/replica"
	"sportello/internal/server"
	"sportello/store"
	"sportello/sync"
)

const usageText = `uso:
  sportello-server serve [-data DIR] [-addr HOST:PORTA] [-tls-cert FILE -tls-key FILE] [-host NOME]...
                         [-aoo-code CODICE] [-aoo-name NOME] [-smtp-host H] [-smtp-port P] [-smtp-user U] [-smtp-from INDIRIZZO] [-no-demo]
                         [-backup-dir CARTELLA [-backup-every 1h]] [-tls-next-cert FILE]
  sportello-server status [-data DIR]
  sportello-server operator add -username UTENTE -name "Nome Cognome" -role RUOLO [-office UFFICIO] [-data DIR]
  sportello-server operator list [-json] [-data DIR]
  sportello-server operator deactivate|activate -username UTENTE [-data DIR]
  sportello-server workstation add -code DESK01 -name "Sportello 1" -kind desk|interview|protocol|laptop [-confidential] [-data DIR]
  sportello-server workstation revoke -code DESK01 [-data DIR]
  sportello-server workstation list [-json] [-data DIR]
  sportello-server workstation rejections [-code DESK01] [-json] [-data DIR]
  sportello-server catalog import FILE [-data DIR]
  sportello-server catalog export [-o FILE] [-data DIR]
  sportello-server catalog reclassify -procedure ID -reason "MOTIVO" [-json] [-data DIR]
  sportello-server protocol export -date AAAA-MM-GG [-o FILE] [-data DIR]
  sportello-server protocol resume -after N [-year Y] [-force] [-data DIR]
  sportello-server certificate next [-host NOME]... [-tls-next-cert FILE] [-data DIR]
  sportello-server certificate switch [-force] [-data DIR]
  sportello-server backup -o CARTELLA [-data DIR]`

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	slog.SetDefault(log)
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usageText)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	args := os.Args[2:]
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(ctx, log, args)
	case "status":
		err = status(ctx, args)
	case "operator":
		err = sub(args, map[string]func([]string) error{
			"add":        func(a []string) error { return operatorAdd(ctx, a) },
			"list":       func(a []string) error { return operatorList(ctx, a) },
			"deactivate": func(a []string) error { return operatorSetActive(ctx, a, false) },
			"activate":   func(a []string) error { return operatorSetActive(ctx, a, true) },
		})
	case "workstation":
		err = sub(args, map[string]func([]string) error{
			"add":        func(a []string) error { return workstationAdd(ctx, a) },
			"revoke":     func(a []string) error { return workstationRevoke(ctx, a) },
			"list":       func(a []string) error { return workstationList(ctx, a) },
			"rejections": func(a []string) error { return workstationRejections(ctx, a) },
		})
	case "catalog":
		err = sub(args, map[string]func([]string) error{
			"import":     func(a []string) error { return catalogImport(ctx, a) },
			"export":     func(a []string) error { return catalogExport(ctx, a) },
			"reclassify": func(a []string) error { return catalogReclassify(ctx, a) },
		})
	case "protocol":
		err = sub(args, map[string]func([]string) error{
			"export": func(a []string) error { return protocolExport(ctx, a) },
			"resume": func(a []string) error { return protocolResume(ctx, a) },
		})
	case "certificate":
		err = sub(args, map[string]func([]string) error{
			"next":   func(a []string) error { return certificateNext(ctx, a) },
			"switch": func(a []string) error { return certificateSwitch(ctx, a) },
		})
	case "backup":
		err = backup(ctx, args)
	case "help", "-h", "-help", "--help":
		fmt.Fprintln(os.Stdout, usageText)
		return
	default:
		err = cli.Usagef("comando sconosciuto «%s»", os.Args[1])
	}
	cli.Exit(err, usageText, log)
}

func sub(args []string, cmds map[string]func([]string) error) error {
	if len(args) == 0 {
		return cli.UsageError{Msg: "indicare il sottocomando"}
	}
	f, ok := cmds[args[0]]
	if !ok {
		return cli.Usagef("sottocomando sconosciuto «%s»", args[0])
	}
	return f(args[1:])
}

func newFlags(name string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	data := fs.String("data", env("SPORTELLO_SERVER_DATA", "sportello-server-data"), "data folder")
	return fs, data
}

// parse parses flags placed before or after the positional arguments and
// checks their number.
func parse(fs *flag.FlagSet, args []string, positional int) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, cli.UsageError{}
			}
			return nil, cli.UsageError{Msg: "opzione non valida: " + err.Error()}
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != positional {
		if len(pos) > positional {
			return nil, cli.Usagef("argomento inatteso «%s»", pos[positional])
		}
		return nil, cli.UsageError{Msg: "argomenti mancanti"}
	}
	return pos, nil
}

func open(ctx context.Context, data string) (*desk.Service, error) {
	return desk.Open(ctx, data, desk.Options{})
}

// hostList collects -host flags.
type hostList []string

func (h *hostList) String() string { return strings.Join(*h, ",") }
func (h *hostList) Set(v string) error {
	for _, x := range strings.Split(v, ",") {
		if x = strings.TrimSpace(x); x != "" {
			*h = append(*h, x)
		}
	}
	return nil
}

// serveOptions are the settings of `serve` (flags, then environment).
type serveOptions struct {
	data, addr, cert, key, nextCert string
	hosts                           hostList
	setup                           server.Setup
	shutdown                        time.Duration
	backupDir                       string
	backupEvery                     time.Duration
}

// parseServe reads and checks the settings of `serve`.
func parseServe(args []string) (serveOptions, error) {
	var o serveOptions
	fs, data := newFlags("serve")
	fs.StringVar(&o.addr, "addr", env("SPORTELLO_SERVER_ADDR", "127.0.0.1:8443"), "listen address")
	fs.StringVar(&o.cert, "tls-cert", env("SPORTELLO_TLS_CERT", ""), "TLS certificate (PEM); default: self-signed in the data folder")
	fs.StringVar(&o.key, "tls-key", env("SPORTELLO_TLS_KEY", ""), "TLS key (PEM)")
	fs.StringVar(&o.nextCert, "tls-next-cert", env("SPORTELLO_TLS_NEXT_CERT", ""), "certificate (PEM) to announce to the workstations as the next one")
	o.hosts.Set(env("SPORTELLO_SERVER_HOSTS", ""))
	fs.Var(&o.hosts, "host", "extra host name or address of the self-signed certificate (repeatable)")
	fs.StringVar(&o.setup.AOOCode, "aoo-code", "", "AOO code stored in the catalog")
	fs.StringVar(&o.setup.AOOName, "aoo-name", "", "AOO name stored in the catalog")
	fs.StringVar(&o.setup.SMTP.Host, "smtp-host", env("SPORTELLO_SMTP_HOST", ""), "SMTP server for notifications")
	fs.StringVar(&o.setup.SMTP.Port, "smtp-port", env("SPORTELLO_SMTP_PORT", ""), "SMTP port")
	fs.StringVar(&o.setup.SMTP.User, "smtp-user", env("SPORTELLO_SMTP_USER", ""), "SMTP user")
	fs.StringVar(&o.setup.SMTP.From, "smtp-from", env("SPORTELLO_SMTP_FROM", ""), "sender address of notifications")
	fs.BoolVar(&o.setup.NoDemo, "no-demo", false, "do not load the demo municipality on first start")
	fs.DurationVar(&o.shutdown, "shutdown-timeout", 30*time.Second, "how long in-flight requests may take at shutdown")
	fs.StringVar(&o.backupDir, "backup-dir", env("SPORTELLO_BACKUP_DIR", ""), "back the data folder up here at start and every -backup-every")
	fs.DurationVar(&o.backupEvery, "backup-every", time.Hour, "interval between backups into -backup-dir")
	if _, err := parse(fs, args, 0); err != nil {
		return o, err
	}
	o.data = *data
	if (o.cert == "") != (o.key == "") {
		return o, cli.UsageError{Msg: "-tls-cert e -tls-key vanno indicati insieme"}
	}
	if o.backupDir != "" && o.backupEvery < time.Minute {
		return o, cli.UsageError{Msg: "-backup-every: almeno un minuto (es. 15m, 1h)"}
	}
	if p := o.setup.SMTP.Port; p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return o, cli.Usagef("porta SMTP «%s» non valida", p)
		}
	}
	o.setup.SMTP.Password = os.Getenv("SPORTELLO_SMTP_PASSWORD")
	return o, nil
}

func serve(ctx context.Context, log *slog.Logger, args []string) error {
	o, err := parseServe(args)
	if err != nil {
		return err
	}
	svc, err := open(ctx, o.data)
	if err != nil {
		return err
	}
	defer svc.Close()
	seeded, err := server.Initialize(ctx, svc, o.setup)
	if err != nil {
		return err
	}
	if seeded {
		fmt.Fprintf(os.Stderr, "Primo avvio: caricato il Comune dimostrativo (operatori dimostrativi con password %s)\n", desk.DemoPassword)
	}
	if held, err := svc.DB().NumberingHeld(ctx); err != nil {
		return err
	} else if held {
		log.Warn("definitive numbering held: this database is a restored backup")
		fmt.Fprintln(os.Stderr, numberingHeldNote)
	}
	srv, err := server.New(svc.DB(), svc.Blobs(), o.data, log)
	if err != nil {
		return err
	}
	err = srv.Run(ctx, server.Config{Addr: o.addr, ShutdownTimeout: o.shutdown, DataDir: o.data, TLSCert: o.cert, TLSKey: o.key, TLSNextCert: o.nextCert, Hosts: o.hosts,
		BackupDir: o.backupDir, BackupEvery: o.backupEvery})
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "listen" {
		return &desk.Error{Message: "Impossibile mettersi in ascolto su " + o.addr + " (indirizzo errato o porta già in uso)", Err: err}
	}
	return err
}

func status(ctx context.Context, args []string) error {
	fs, data := newFlags("status")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	return replica.WriteStatus(ctx, os.Stdout, *data, "Nessun database del server nella cartella")
}

func readPassword(username string) (string, error) {
	if p := os.Getenv("SPORTELLO_PASSWORD"); p != "" {
		return p, nil
	}
	if fi, err := os.Stdin.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		fmt.Fprintf(os.Stderr, "Password per %s (almeno 8 caratteri): ", username)
	}
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", &desk.Error{Message: "Password non letta: scriverla sullo standard input o in SPORTELLO_PASSWORD", Err: err}
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func operatorAdd(ctx context.Context, args []string) error {
	fs, data := newFlags("operator add")
	username := fs.String("username", "", "user name")
	name := fs.String("name", "", "full name")
	role := fs.String("role", "", "role: "+rolesList())
	office := fs.String("office", "", "office ID of the catalog")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	if strings.TrimSpace(*username) == "" || strings.TrimSpace(*name) == "" || *role == "" {
		return cli.UsageError{Msg: "indicare -username, -name e -role (" + rolesList() + ")"}
	}
	if !auth.Role(*role).Valid() {
		return cli.Usagef("ruolo «%s» sconosciuto: usare uno di %s", *role, rolesList())
	}
	password, err := readPassword(*username)
	if err != nil {
		return err
	}
	svc, err := open(ctx, *data)
	if err != nil {
		return err
	}
	defer svc.Close()
	created, err := server.AddOperator(ctx, svc, *username, *name, auth.Role(*role), *office, password)
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(os.Stderr, "Operatore %s creato con ruolo «%s»\n", strings.ToLower(*username), auth.Role(*role).Label())
	} else {
		fmt.Fprintf(os.Stderr, "Operatore %s aggiornato: ruolo «%s», nuova password (se disattivato, resta disattivato: operator activate)\n", strings.ToLower(*username), auth.Role(*role).Label())
	}
	return nil
}

func operatorList(ctx context.Context, args []string) error {
	svc, asJSON, err := openForList(ctx, "operator list", args, nil)
	if err != nil {
		return err
	}
	defer svc.Close()
	list, err := server.Operators(ctx, svc.DB())
	if err != nil {
		return err
	}
	return listing[server.OperatorInfo]{empty: "Nessun operatore registrato", header: "UTENTE\tNOME\tRUOLO\tUFFICIO\tSTATO",
		line: func(o server.OperatorInfo) string {
			state, office := "attivo", o.OfficeID
			if !o.Active {
				state = "disattivato"
			}
			if office == "" {
				office = "-"
			}
			return strings.Join([]string{o.Username, o.FullName, auth.Role(o.Role).Label(), office, state}, "\t")
		}}.print(list, asJSON)
}

// openForList parses a list subcommand's flags (-json, -data and those
// add defines) and opens the data folder.
func openForList(ctx context.Context, name string, args []string, add func(*flag.FlagSet)) (*desk.Service, bool, error) {
	fs, data := newFlags(name)
	asJSON := fs.Bool("json", false, "JSON output")
	if add != nil {
		add(fs)
	}
	if _, err := parse(fs, args, 0); err != nil {
		return nil, false, err
	}
	svc, err := open(ctx, *data)
	return svc, *asJSON, err
}

// listing prints a list subcommand's rows: as JSON with -json, else as a
// table under header, one line per row (tab-separated), or empty on the
// standard error when there is none.
type listing[T any] struct {
	empty, header string
	line          func(T) string
}

func (l listing[T]) print(list []T, asJSON bool) error {
	if asJSON {
		return printJSONList(list)
	}
	if len(list) == 0 {
		fmt.Fprintln(os.Stderr, l.empty)
		return nil
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, l.header)
	for _, x := range list {
		fmt.Fprintln(tw, l.line(x))
	}
	return tw.Flush()
}

func operatorSetActive(ctx context.Context, args []string, active bool) error {
	name := "operator deactivate"
	if active {
		name = "operator activate"
	}
	fs, data := newFlags(name)
	username := fs.String("username", "", "user name")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	if strings.TrimSpace(*username) == "" {
		return cli.UsageError{Msg: "indicare -username"}
	}
	svc, err := open(ctx, *data)
	if err != nil {
		return err
	}
	defer svc.Close()
	o, err := server.SetOperatorActive(ctx, svc, *username, active)
	if err != nil {
		return err
	}
	if active {
		fmt.Fprintf(os.Stderr, "Operatore %s attivo\n", o.Username)
	} else {
		fmt.Fprintf(os.Stderr, "Operatore %s disattivato: ogni postazione rifiuta il suo lavoro appena riceve la modifica; quanto ha fatto prima su postazioni non ancora aggiornate viene conservato (per fermare una postazione: workstation revoke)\n", o.Username)
	}
	return nil
}

func rolesList() string {
	names := make([]string, len(auth.Roles))
	for i, r := range auth.Roles {
		names[i] = string(r)
	}
	return strings.Join(names, ", ")
}

func workstationAdd(ctx context.Context, args []string) error {
	fs, data := newFlags("workstation add")
	code := fs.String("code", "", "workstation code, e.g. DESK01")
	name := fs.String("name", "", "workstation name")
	kind := fs.String("kind", "desk", "desk, interview, protocol or laptop")
	conf := fs.Bool("confidential", false, "may hold confidential records")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	if *code == "" || *name == "" {
		return cli.UsageError{Msg: "indicare -code e -name"}
	}
	svc, err := open(ctx, *data)
	if err != nil {
		return err
	}
	defer svc.Close()
	prev, err := svc.DB().WorkstationByCode(ctx, strings.ToUpper(strings.TrimSpace(*code)))
	existed := err == nil
	ws, enrol, err := server.CreateWorkstation(ctx, svc.DB(), *code, *name, *kind, *conf)
	if err != nil {
		return err
	}
	switch {
	case existed && prev.Confidential != ws.Confidential:
		fmt.Fprintf(os.Stderr, "La riservatezza della postazione %s è cambiata: l'installazione attuale non sincronizza più; abilitata di nuovo con questo codice, riceve la copia del server per il nuovo ambito (ciò che non aveva ancora inviato resta nella copia messa da parte).\n", ws.Code)
	case existed:
		fmt.Fprintf(os.Stderr, "La postazione %s esisteva già: abilitata con questo codice, l'installazione precedente non potrà più sincronizzare (se è ancora in uso, sincronizzarla prima). Lo stesso computer conserva i propri dati; un altro computer riceve la copia del server e prosegue la numerazione della postazione. I codici emessi prima per questa postazione e non usati non valgono più.\n", ws.Code)
	}
	fmt.Fprintf(os.Stderr, "Postazione %s («%s») registrata. Codice di abilitazione, valido 72 ore e utilizzabile una sola volta:\n", ws.Code, ws.Name)
	fmt.Fprintln(os.Stdout, enrol)
	return nil
}

func workstationRevoke(ctx context.Context, args []string) error {
	fs, data := newFlags("workstation revoke")
	code := fs.String("code", "", "workstation code")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	if *code == "" {
		return cli.UsageError{Msg: "indicare -code"}
	}
	svc, err := open(ctx, *data)
	if err != nil {
		return err
	}
	defer svc.Close()
	if err := server.RevokeWorkstation(ctx, svc.DB(), *code); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "Postazione %s revocata: le sue richieste saranno rifiutate\n", strings.ToUpper(*code))
	return nil
}

// rejectionsShown is how many refused changes `workstation rejections` lists.
const rejectionsShown = 500

func workstationRejections(ctx context.Context, args []string) error {
	var code *string
	svc, asJSON, err := openForList(ctx, "workstation rejections", args, func(fs *flag.FlagSet) {
		code = fs.String("code", "", "only this workstation's")
	})
	if err != nil {
		return err
	}
	defer svc.Close()
	list, err := server.Rejections(ctx, svc.DB(), strings.TrimSpace(*code), rejectionsShown)
	if err != nil {
		return err
	}
	if err := (listing[server.RejectionInfo]{empty: "Nessuna modifica rifiutata", header: "QUANDO\tPOSTAZIONE\tDATO\tRECORD\tMOTIVO",
		line: func(r server.RejectionInfo) string {
			record := r.Record
			if record == "" {
				record = r.RowID
			}
			return fmt.Sprintf("%s\t%s\t%s\t%s\t%s (%s)", italianInstant(r.At), r.Workstation, r.Table, record, r.Reason, r.Code)
		}}).print(list, asJSON); err != nil {
		return err
	}
	if !asJSON && len(list) == rejectionsShown {
		fmt.Fprintf(os.Stderr, "Mostrate le %d più recenti (-json per elaborarle)\n", rejectionsShown)
	}
	return nil
}

func workstationList(ctx context.Context, args []string) error {
	svc, asJSON, err := openForList(ctx, "workstation list", args, nil)
	if err != nil {
		return err
	}
	defer svc.Close()
	list, err := server.Workstations(ctx, svc.DB())
	if err != nil {
		return err
	}
	if err := (listing[server.WorkstationInfo]{empty: "Nessuna postazione registrata", header: "CODICE\tNOME\tTIPO\tRISERVATI\tSTATO\tULTIMA SINCRONIZZAZIONE",
		line: func(w server.WorkstationInfo) string {
			state := "in attesa di abilitazione"
			switch {
			case w.RevokedAt != "":
				state = "revocata il " + italianInstant(w.RevokedAt)
			case !w.Active:
				state = "disattivata"
			case w.Enrolled:
				state = "abilitata"
			}
			conf := "no"
			if w.Confidential {
				conf = "sì"
			}
			last := "mai"
			if w.LastSeenAt != "" {
				last = italianInstant(w.LastSeenAt)
			}
			return strings.Join([]string{w.Code, w.Name, w.Kind, conf, state, last}, "\t")
		}}).print(list, asJSON); err != nil || asJSON {
		return err
	}
	for _, w := range list {
		if note := horizonNote(w, time.Now()); note != "" {
			fmt.Fprintln(os.Stdout, note)
		}
		if note := clockNote(w); note != "" {
			fmt.Fprintln(os.Stdout, note)
		}
		if note := programNote(w); note != "" {
			fmt.Fprintln(os.Stdout, note)
		}
	}
	if note := serverClockNote(list); note != "" {
		fmt.Fprintln(os.Stdout, note)
	}
	return nil
}

// serverClockNote says when every workstation measured (two at least)
// found its clock off the same way: then the server's clock is the likely
// one to be wrong, and with it the definitive numbers' dates.
func serverClockNote(list []server.WorkstationInfo) string {
	measured, ahead, behind := 0, 0, 0
	for _, w := range list {
		if w.ClockCheckedAt == "" || w.RevokedAt != "" {
			continue
		}
		measured++
		switch offset := time.Duration(w.ClockOffsetMs) * time.Millisecond; {
		case !sync.ClockOff(offset):
		case offset > 0:
			ahead++
		default:
			behind++
		}
	}
	if measured < 2 || ahead < measured && behind < measured {
		return ""
	}
	way := "avanti"
	if behind == measured {
		way = "indietro"
	}
	return fmt.Sprintf("\nTutte le postazioni risultano %s rispetto al server: è più probabile che sia sbagliato l'orologio del server, da cui prendono la data i numeri di protocollo definitivi. Verificare data, ora e fuso orario del server.", way)
}

// clockNote names a workstation whose clock was off at its last pull by
// more than sync.ClockTolerance, and what that costs ("" otherwise).
func clockNote(w server.WorkstationInfo) string {
	offset := time.Duration(w.ClockOffsetMs) * time.Millisecond
	if w.ClockCheckedAt == "" || w.RevokedAt != "" || !sync.ClockOff(offset) {
		return ""
	}
	way := "avanti"
	if offset < 0 {
		way = "indietro"
	}
	return fmt.Sprintf("\n%s: all'ultima sincronizzazione (%s) il suo orologio era %s di %s rispetto al server. Le date che la postazione registra (protocollo di emergenza, storico delle pratiche, ricevute) sono sbagliate: correggere data e ora del computer o la loro sincronizzazione automatica.",
		w.Code, italianInstant(w.ClockCheckedAt), way, sync.OffsetAmount(offset))
}

// programNote names a workstation whose program is not the server's
// version, as of its last request: its syncs are refused until one of the
// two is updated ("" otherwise).
func programNote(w server.WorkstationInfo) string {
	if w.ProgramSchema == 0 || w.RevokedAt != "" || w.ProgramSchema == store.SchemaVersion() {
		return ""
	}
	if w.ProgramSchema < store.SchemaVersion() {
		return fmt.Sprintf("\n%s: all'ultima richiesta (%s) aveva una versione del programma precedente a quella del server (schema %d, server %d). Le sue sincronizzazioni sono rifiutate finché non viene aggiornata; intanto lavora in locale e conserva quanto fa.",
			w.Code, italianInstant(w.ProgramSeenAt), w.ProgramSchema, store.SchemaVersion())
	}
	return fmt.Sprintf("\n%s: all'ultima richiesta (%s) aveva una versione del programma più recente di quella del server (schema %d, server %d). Le sue sincronizzazioni sono rifiutate finché non si aggiorna il server; intanto lavora in locale e conserva quanto fa.",
		w.Code, italianInstant(w.ProgramSeenAt), w.ProgramSchema, store.SchemaVersion())
}

// horizonStale is how old the stable horizon gets before `workstation
// list` names the workstation holding it.
const horizonStale = 7 * 24 * time.Hour

// horizonNote explains, for the workstation holding the stable horizon
// back for more than horizonStale, what that costs and what to do ("" for
// every other workstation).
func horizonNote(w server.WorkstationInfo, now time.Time) string {
	if !w.HoldsHorizon {
		return ""
	}
	revoke := fmt.Sprintf("una postazione dismessa o smarrita va revocata (sportello-server workstation revoke -code %s)", w.Code)
	if w.SyncedUpTo == "" {
		if w.LastSeenAt == "" {
			return fmt.Sprintf("\n%s non si è mai sincronizzata: finché non lo fa, le copie iniziali delle nuove postazioni portano tutte le versioni dei campi; %s.", w.Code, revoke)
		}
		return ""
	}
	t, err := time.Parse(time.RFC3339, w.SyncedUpTo)
	if err != nil || now.Sub(t) < horizonStale {
		return ""
	}
	return fmt.Sprintf("\n%s non si sincronizza dal %s: finché non lo fa, le copie iniziali delle nuove postazioni portano anche le versioni dei campi scritte da allora; %s.",
		w.Code, italianInstant(w.SyncedUpTo), revoke)
}

func italianInstant(s string) string {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return s
	}
	return t.In(protocol.Rome).Format("02/01/2006 15:04")
}

func catalogImport(ctx context.Context, args []string) error {
	fs, data := newFlags("catalog import")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return &desk.Error{Message: "Impossibile aprire il file del catalogo", Err: err}
	}
	defer f.Close()
	c, err := catalog.Decode(f)
	if err != nil {
		return &desk.Error{Message: "Il catalogo non è valido", Err: err}
	}
	svc, err := open(ctx, *data)
	if err != nil {
		return err
	}
	defer svc.Close()
	if err := svc.ImportCatalog(ctx, server.Admin, c); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "Catalogo importato: %d uffici, %d procedimenti\n", len(c.Offices), len(c.Procedures))
	// A procedure made confidential leaves the applications filed before
	// as they were: say so, with the command that changes them.
	for _, p := range c.Procedures {
		if !p.Confidential {
			continue
		}
		apps, err := svc.DB().ApplicationsToReclassify(ctx, p.ID)
		if err != nil {
			return err
		}
		if len(apps) > 0 {
			fmt.Fprintf(os.Stderr, "Il procedimento «%s» è riservato ma %d pratiche presentate prima non lo sono: per renderle riservate e toglierle dalle postazioni non abilitate,\n  sportello-server catalog reclassify -procedure %s -reason \"MOTIVO\"\n",
				p.ID, len(apps), p.ID)
		}
	}
	return nil
}

func catalogExport(ctx context.Context, args []string) error {
	fs, data := newFlags("catalog export")
	out := fs.String("o", "", "output file (default standard output)")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	svc, err := open(ctx, *data)
	if err != nil {
		return err
	}
	defer svc.Close()
	c, err := svc.Catalog(ctx)
	if err != nil {
		return err
	}
	if *out == "" {
		return catalog.Encode(os.Stdout, c)
	}
	f, err := os.Create(*out)
	if err != nil {
		return &desk.Error{Message: "Impossibile creare " + *out, Err: err}
	}
	if err := catalog.Encode(f, c); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// catalogReclassify makes confidential the applications filed before their
// procedure was made confidential (server.Reclassify).
func catalogReclassify(ctx context.Context, args []string) error {
	fs, data := newFlags("catalog reclassify")
	proc := fs.String("procedure", "", "procedure ID, confidential in the catalog")
	reason := fs.String("reason", "", "why, kept with each application")
	asJSON := fs.Bool("json", false, "JSON output")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	if *proc == "" {
		return cli.UsageError{Msg: "indicare il procedimento con -procedure"}
	}
	svc, err := open(ctx, *data)
	if err != nil {
		return err
	}
	defer svc.Close()
	res, err := server.Reclassify(ctx, svc, *proc, *reason)
	if err != nil {
		return err
	}
	if *asJSON {
		if res.Reclassified == nil {
			res.Reclassified = []string{}
		}
		return json.NewEncoder(os.Stdout).Encode(res)
	}
	fmt.Fprintf(os.Stderr, "Pratiche del procedimento «%s» rese riservate: %d. Le postazioni non abilitate ai dati riservati le rimuovono alla prossima sincronizzazione.\n",
		res.Procedure, len(res.Reclassified))
	return nil
}

func protocolExport(ctx context.Context, args []string) error {
	fs, data := newFlags("protocol export")
	date := fs.String("date", "", "Europe/Rome day, YYYY-MM-DD")
	out := fs.String("o", "", "output CSV file (default standard output); its digest goes to FILE.sha256")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	if *date == "" {
		return cli.UsageError{Msg: "indicare il giorno del registro con -date AAAA-MM-GG"}
	}
	svc, err := open(ctx, *data)
	if err != nil {
		return err
	}
	defer svc.Close()
	reg, err := server.BuildDailyRegister(ctx, svc.DB(), *date)
	if err != nil {
		return err
	}
	cat, err := svc.Catalog(ctx)
	if err != nil {
		return err
	}
	csvData, digest, err := reg.CSV(cat)
	if err != nil {
		return err
	}
	if *out == "" {
		if _, err := os.Stdout.Write(csvData); err != nil {
			return err
		}
		if _, err := io.WriteString(os.Stdout, server.DigestLine(digest, "")); err != nil {
			return err
		}
	} else {
		if err := os.WriteFile(*out, csvData, 0o644); err != nil {
			return &desk.Error{Message: "Impossibile scrivere " + *out, Err: err}
		}
		if err := os.WriteFile(*out+".sha256", []byte(server.DigestLine(digest, filepath.Base(*out))), 0o644); err != nil {
			return &desk.Error{Message: "Impossibile scrivere " + *out + ".sha256", Err: err}
		}
	}
	if len(reg.Entries) == 0 {
		fmt.Fprintf(os.Stderr, "Registro giornaliero del %s: nessun numero di protocollo assegnato. Impronta SHA-256: %s\n", reg.Date, digest)
	} else {
		year := reg.Entries[0].Year
		fmt.Fprintf(os.Stderr, "Registro giornaliero del %s: %d registrazioni, dal n. %07d/%d al n. %07d/%d. Impronta SHA-256: %s\n",
			reg.Date, len(reg.Entries), reg.First(), year, reg.Last(), reg.Entries[len(reg.Entries)-1].Year, digest)
	}
	if gaps := reg.Gaps(); len(gaps) > 0 {
		fmt.Fprintf(os.Stderr, "Attenzione: mancano nel registro i numeri %v\n", gaps)
	}
	return nil
}

func backup(ctx context.Context, args []string) error {
	fs, data := newFlags("backup")
	out := fs.String("o", "", "backup folder (a data folder of its own; files already there are not copied again)")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	if *out == "" {
		return cli.UsageError{Msg: "indicare la cartella della copia con -o CARTELLA"}
	}
	rep, err := server.Backup(ctx, *data, *out, time.Now())
	if err != nil {
		return err
	}
	cert := "no (certificato indicato con -tls-cert/-tls-key: copiarlo a parte)"
	if rep.Certificate {
		cert = "sì"
	}
	fmt.Fprintf(os.Stdout, "Copia di sicurezza in %s (%s)\n", rep.Dir, rep.At.In(protocol.Rome).Format("02/01/2006 15:04:05"))
	fmt.Fprintf(os.Stdout, "  database: %.1f MiB, SHA-256 %s, integro, registro delle operazioni verificato\n", float64(rep.DBBytes)/(1<<20), rep.DBSHA256)
	fmt.Fprintf(os.Stdout, "  allegati: %d copiati (%.1f MiB), %d già presenti, tutti quelli nominati dai dati presenti\n", rep.FilesCopied, float64(rep.BytesCopied)/(1<<20), rep.FilesKept)
	fmt.Fprintf(os.Stdout, "  certificato del server: %s\n", cert)
	fmt.Fprintf(os.Stdout, "  registrazioni di protocollo: %d, cittadini: %d, pratiche: %d\n", rep.Rows["protocol_registrations"], rep.Rows["citizens"], rep.Rows["applications"])
	return nil
}

// printJSONList writes a list as an indented JSON array ([] when empty).
func printJSONList[T any](list []T) error {
	if list == nil {
		list = []T{}
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(list)
}

// numberingHeldNote tells the administrator of a restored server what to do.
const numberingHeldNote = `Numerazione definitiva sospesa: questo database è una copia di sicurezza ripristinata.
Il server prima della perdita può aver dato numeri di protocollo dopo la copia: nessun numero
definitivo viene assegnato finché non si indica l'ultimo numero dato nell'anno in corso (dai registri
giornalieri esportati e dalle postazioni), con: sportello-server protocol resume -after N
(se l'anno è cambiato dopo la copia, N è del registro del nuovo anno: confermarlo con -year AAAA).
Un numero più alto di N dato dal server perso, che una postazione restituisce dopo la ripresa, non
torna: la sua registrazione riceve un nuovo numero e il cittadino va avvisato (N va letto con cura).
Prima, lasciare sincronizzare le postazioni che hanno lavorato dopo la copia: rinviano il proprio
lavoro perso e restituiscono i numeri che il server aveva dato (nel log: "workstation rejoins the server"),
e rifare le modifiche amministrative (operatori, catalogo) fatte sul server perso dopo la copia.`

func protocolResume(ctx context.Context, args []string) error {
	fs, data := newFlags("protocol resume")
	after := fs.Int64("after", -1, "last definitive number of this year's register given before the loss")
	year := fs.Int("year", 0, "the year of that register, to confirm it (required when the year turned after the backup copy was made)")
	force := fs.Bool("force", false, "resume even though changes still wait for what other workstations have to push again (they are refused)")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	if *after < 0 {
		return cli.UsageError{Msg: "indicare con -after N l'ultimo numero di protocollo dato nell'anno in corso"}
	}
	svc, err := open(ctx, *data)
	if err != nil {
		return err
	}
	defer svc.Close()
	parked, err := svc.DB().ParkedCount(ctx)
	if err != nil {
		return err
	}
	if parked > 0 && !*force {
		return &desk.Error{Message: fmt.Sprintf("%d modifiche rinviate dalle postazioni attendono ancora dati che altre postazioni devono rinviare: "+
			"lasciare sincronizzare tutte le postazioni che hanno lavorato dopo la copia, oppure riprendere con -force (quelle modifiche saranno rifiutate)", parked)}
	}
	res, err := sync.ResumeNumbering(ctx, svc.DB(), *after, *year)
	var ye *sync.ResumeYearError
	switch {
	case errors.As(err, &ye):
		return &desk.Error{Message: ye.Message(), Err: err}
	case errors.Is(err, store.ErrNumberBelowRegister):
		return &desk.Error{Message: "Il registro contiene già un numero più alto di quello indicato", Err: err}
	case err != nil:
		return err
	}
	if res.Count == 0 {
		fmt.Fprintf(os.Stdout, "Numerazione ripresa nel registro del %d: il prossimo numero sarà %s\n", res.Year, protocol.NumberLabel(*after+1, res.Year))
		return nil
	}
	fmt.Fprintf(os.Stdout, "Numerazione ripresa nel registro del %d: %d registrazioni in attesa numerate dal %s al %s, in ordine di arrivo\n",
		res.Year, res.Count, protocol.NumberLabel(res.First, res.Year), protocol.NumberLabel(res.Last, res.Year))
	return nil
}
