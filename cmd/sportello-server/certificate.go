package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"sportello/internal/cli"
	"sportello/internal/desk"
	"sportello/internal/server"
)

// certificateNext prepares the server's next self-signed certificate (or
// shows the one prepared) and which workstations already hold it.
func certificateNext(ctx context.Context, args []string) error {
	fs, data := newFlags("certificate next")
	var hosts hostList
	hosts.Set(env("SPORTELLO_SERVER_HOSTS", ""))
	fs.Var(&hosts, "host", "extra host name or address of the new certificate (repeatable)")
	file := fs.String("tls-next-cert", env("SPORTELLO_TLS_NEXT_CERT", ""), "the next certificate the municipality obtained (PEM), announced by serve -tls-next-cert: only show which workstations hold it")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	if *file != "" {
		fp, err := server.NextFingerprint(*data, *file)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stdout, "Impronta del nuovo certificato: %s (%s)\n", fp, *file)
		missing, err := missingNext(ctx, *data, fp)
		if err != nil {
			return err
		}
		fmt.Fprintln(os.Stdout, "Il server avviato con -tls-next-cert lo annuncia alle postazioni a ogni sincronizzazione. Quando tutte lo hanno, riavviare il server con -tls-cert e -tls-key del nuovo certificato.")
		printMissing(missing)
		return nil
	}
	c, created, err := server.PrepareNextCertificate(*data, hosts)
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(os.Stdout, "Nuovo certificato preparato: %s\n", c.CertPath)
	} else {
		fmt.Fprintf(os.Stdout, "Nuovo certificato già preparato: %s\n", c.CertPath)
	}
	fmt.Fprintf(os.Stdout, "Impronta del nuovo certificato: %s\n", c.Fingerprint)
	missing, err := missingNext(ctx, *data, c.Fingerprint)
	if err != nil {
		return err
	}
	fmt.Fprintln(os.Stdout, "Il server in funzione lo annuncia alle postazioni a ogni sincronizzazione (entro un minuto dalla preparazione);")
	fmt.Fprintln(os.Stdout, "ogni postazione che si sincronizza lo accetterà da allora. Quando tutte lo hanno, eseguire «certificate switch» e riavviare il server.")
	printMissing(missing)
	return nil
}

// printMissing says which workstations do not hold the next certificate.
func printMissing(missing []string) {
	if len(missing) == 0 {
		fmt.Fprintln(os.Stdout, "Tutte le postazioni abilitate hanno il nuovo certificato.")
	} else {
		fmt.Fprintf(os.Stdout, "Non lo hanno ancora: %s\n", strings.Join(missing, ", "))
	}
}

// certificateSwitch makes the prepared certificate the server's, from its
// next start. It refuses while enrolled workstations lack it, unless -force:
// they would have to be enrolled again.
func certificateSwitch(ctx context.Context, args []string) error {
	fs, data := newFlags("certificate switch")
	force := fs.Bool("force", false, "switch even if some workstations do not hold the new certificate (they must be enrolled again)")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	next, err := server.NextFingerprint(*data, "")
	if err != nil {
		return err
	}
	if next == "" {
		return cli.UsageError{Msg: "nessun nuovo certificato preparato: eseguire prima «certificate next»"}
	}
	missing, err := missingNext(ctx, *data, next)
	if err != nil {
		return err
	}
	if len(missing) > 0 && !*force {
		return &desk.Error{Message: fmt.Sprintf("Non hanno ancora ricevuto il nuovo certificato: %s. Dopo il cambio non potrebbero più sincronizzarsi senza una nuova abilitazione: attendere che si sincronizzino con il server in funzione, o ripetere con -force", strings.Join(missing, ", "))}
	}
	old, fresh, err := server.SwitchCertificate(*data)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stdout, "Certificato sostituito: riavviare il server, che presenterà da allora il certificato %s\n", fresh)
	if old != "" {
		fmt.Fprintf(os.Stdout, "Il precedente (%s) resta in %s\n", old, server.PreviousCertFile)
	}
	if len(missing) > 0 {
		fmt.Fprintf(os.Stdout, "Da abilitare di nuovo (workstation add con lo stesso codice, impronta %s): %s\n", fresh, strings.Join(missing, ", "))
	}
	return nil
}

// missingNext lists the enrolled, active workstations that have not said
// they hold the next certificate fp.
func missingNext(ctx context.Context, data, fp string) ([]string, error) {
	svc, err := open(ctx, data)
	if err != nil {
		return nil, err
	}
	defer svc.Close()
	list, err := server.Workstations(ctx, svc.DB())
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, w := range list {
		if w.Enrolled && w.Active && w.RevokedAt == "" && w.NextCertificate != fp {
			missing = append(missing, w.Code)
		}
	}
	return missing, nil
}
