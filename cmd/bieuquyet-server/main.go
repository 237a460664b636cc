// Command bieuquyet-server serves the bieuquyet gRPC API over the embedded SQLite store.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"

	"github.com/bieuquyet/bieuquyet/internal/metrics"
	"github.com/bieuquyet/bieuquyet/pdf"
	"github.com/bieuquyet/bieuquyet/qrscan"
	"github.com/bieuquyet/bieuquyet/server"
	"github.com/bieuquyet/bieuquyet/signedpdf"
	"github.com/bieuquyet/bieuquyet/store/sqlite"
)

// signatureMargin is how far, in millimetres, a signing app's stamp may stray beyond the
// confirmation's signature area: apps place it by hand or by coordinates rounded their
// own way, and 3 mm still keeps it off the delegate's name and the ticked choices.
const signatureMargin = 3

// shutdownGrace bounds how long calls in flight may run on after SIGINT or SIGTERM.
const shutdownGrace = 10 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bieuquyet-server:", err)
		os.Exit(1)
	}
}

// env returns the environment variable's value, or def when it is unset.
func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

// run serves until ctx ends, then shuts down cleanly; `run(ctx, "token", "create", …)`
// makes a token offline instead, `run(ctx, "backup", …)` copies the database, and
// `run(ctx, "help")` prints the usage. Help asked for
// returns nil, so that it exits 0. Tests call it as main does.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "token":
			return tokenCommand(ctx, args[1:], stdout, stderr)
		case "backup":
			return backupCommand(ctx, args[1:], stdout)
		case "help":
			return help(args[1:], stdout)
		}
	}
	return runServer(ctx, args, stdout, stderr)
}

// serveConfig holds the serve flags.
type serveConfig struct {
	listen, db, logLevel string
	metricsListen        string
	tls                  tlsFiles
	insecure             bool
	trustRoots           string
}

// serveFlags declares the serve flags into c.
func serveFlags(c *serveConfig) *flag.FlagSet {
	fs := quietFlagSet("bieuquyet-server")
	fs.StringVar(&c.listen, "listen", env("BIEUQUYET_LISTEN", "127.0.0.1:50051"), "address to serve gRPC on (env BIEUQUYET_LISTEN)")
	fs.StringVar(&c.db, "db", env("BIEUQUYET_DB", "./data/bieuquyet.db"), "SQLite database file, created with its folder if missing (env BIEUQUYET_DB)")
	fs.StringVar(&c.logLevel, "log-level", env("BIEUQUYET_LOG_LEVEL", "info"), "debug, info, warn or error (env BIEUQUYET_LOG_LEVEL)")
	fs.StringVar(&c.tls.cert, "tls-cert", env("BIEUQUYET_TLS_CERT", ""), "PEM server certificate: turns TLS on (env BIEUQUYET_TLS_CERT)")
	fs.StringVar(&c.tls.key, "tls-key", env("BIEUQUYET_TLS_KEY", ""), "PEM key of --tls-cert (env BIEUQUYET_TLS_KEY)")
	fs.StringVar(&c.tls.clientCA, "tls-client-ca", env("BIEUQUYET_TLS_CLIENT_CA", ""), "PEM CA bundle: require client certificates it signed (env BIEUQUYET_TLS_CLIENT_CA)")
	fs.StringVar(&c.metricsListen, "metrics-listen", env("BIEUQUYET_METRICS_LISTEN", ""),
		"`ADDR` to serve Prometheus metrics on, over plain HTTP at /metrics without authentication: keep it on loopback or a private network; off when empty (env BIEUQUYET_METRICS_LISTEN)")
	fs.BoolVar(&c.insecure, "insecure", false, "allow serving without TLS on an address other than loopback")
	fs.StringVar(&c.trustRoots, "trust-roots", env("BIEUQUYET_TRUST_ROOTS", "./data/trust-roots"),
		"`DIR` of PEM root certificates of the CAs whose signatures on confirmations are trusted, read for each file checked (env BIEUQUYET_TRUST_ROOTS)")
	return fs
}

// quietFlagSet returns a flag set that prints nothing itself: run reports errors once,
// through main, and help asked for goes to stdout.
func quietFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// printFlags lists fs's flags on w.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

const serveUsage = `bieuquyet-server serves the bieuquyet gRPC API over an SQLite database.

Usage:
  bieuquyet-server [flags]              serve until SIGINT or SIGTERM
  bieuquyet-server token create ...     make an access token offline (the first admin's)
  bieuquyet-server backup --out FILE    copy the database while it serves, and check the copy
  bieuquyet-server help [token|backup]  show this help, or a command's

Only one server may use a database at a time: a second one on the same --db is refused
while the first runs (it holds a lock on <db>.lock).

Flags:
`

// help prints the usage asked for by `help [topic]`, `--help` or `-h`.
func help(topics []string, stdout io.Writer) error {
	switch {
	case len(topics) == 0:
		fmt.Fprint(stdout, serveUsage)
		printFlags(stdout, serveFlags(&serveConfig{}))
		fmt.Fprint(stdout, "\n"+tokenAbout+"\nRun `bieuquyet-server help token` for its flags.\n")
		fmt.Fprint(stdout, "\n"+backupAbout+"\nRun `bieuquyet-server help backup` for its flags.\n")
		return nil
	case len(topics) == 1 && topics[0] == "token", len(topics) == 2 && topics[0] == "token" && topics[1] == "create":
		return tokenHelp(stdout)
	case len(topics) == 1 && topics[0] == "backup":
		return backupHelp(stdout)
	}
	return fmt.Errorf("no help on %q: run `bieuquyet-server help`", strings.Join(topics, " "))
}

// runServer is the server proper.
func runServer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c serveConfig
	fs := serveFlags(&c)
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return help(nil, stdout)
	} else if err != nil {
		return fmt.Errorf("%w (see `bieuquyet-server help`)", err)
	}
	if fs.NArg() > 0 {
		if a := fs.Arg(0); a == "token" || a == "backup" || a == "help" {
			return fmt.Errorf("%q must come first, before any flag: bieuquyet-server %s … (see `bieuquyet-server help`)", a, a)
		}
		return fmt.Errorf("unknown command or argument %q: the commands are token, backup and help (see `bieuquyet-server help`)", fs.Arg(0))
	}
	creds, err := c.tls.credentials()
	if err != nil {
		return err
	}
	if creds == nil && !c.insecure && !loopback(c.listen) {
		return fmt.Errorf("--listen %s is reachable from other machines, and tokens would cross the network in clear text: give --tls-cert and --tls-key, or --insecure if something else encrypts the traffic", c.listen)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %q is not debug, info, warn or error", c.logLevel)
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))

	if err := os.MkdirAll(filepath.Dir(c.db), 0o750); err != nil {
		return fmt.Errorf("create database folder: %w", err)
	}
	// Before the store opens: a second server would run its own scheduler and vote writer,
	// and its votes would never reach the first one's watchers.
	lock, err := lockDatabase(c.db)
	if err != nil {
		return err
	}
	defer lock.Close()
	opts := sqlite.Options{Logger: log}
	var mets *metrics.Metrics
	if c.metricsListen != "" {
		mets = metrics.New(log)
		opts.Observer = mets
	}
	st, err := sqlite.Open(ctx, c.db, opts)
	if err != nil {
		return err
	}
	defer st.Close()

	lis, err := net.Listen("tcp", c.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	_, roots, err := signedpdf.LoadRoots(c.trustRoots)
	if err != nil {
		return err
	}
	if roots == 0 {
		log.Warn("no trusted roots: every signed confirmation will be rejected as untrusted until the CAs' root certificates are put there", "trust_roots", c.trustRoots)
	}
	cfg := server.Config{Store: st, Logger: log, Renderer: pdf.New(), Scans: qrscan.New(),
		Verifier: &signedpdf.Checker{RootsDir: c.trustRoots, SignatureArea: pdf.SignatureRect(signatureMargin)}}
	if creds != nil {
		cfg.Options = append(cfg.Options, grpc.Creds(creds))
	}
	// served gets the first of the two servers' failures; Serve returns nil after Shutdown.
	served := make(chan error, 2)
	metricsAddr := ""
	var metricsSrv *http.Server
	if mets != nil {
		mlis, err := net.Listen("tcp", c.metricsListen)
		if err != nil {
			lis.Close()
			return fmt.Errorf("--metrics-listen: %w", err)
		}
		mets.CountStore(st)
		cfg.Metrics = mets
		metricsAddr = mlis.Addr().String()
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", mets.Handler())
		metricsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
		go func() {
			if err := metricsSrv.Serve(mlis); !errors.Is(err, http.ErrServerClosed) {
				served <- fmt.Errorf("serve metrics: %w", err)
			}
		}()
	}
	srv := server.New(cfg)
	go func() {
		if err := srv.Serve(lis); err != nil {
			served <- fmt.Errorf("serve: %w", err)
		}
	}()
	log.Info("serving", "addr", lis.Addr().String(), "metrics_addr", metricsAddr, "db", c.db, "schema_version", sqlite.SchemaVersion(),
		"tls", creds != nil, "client_certificates", c.tls.clientCA != "", "trust_roots", c.trustRoots, "trusted_roots", roots)

	var failed error
	select {
	case failed = <-served:
		log.Error("shutting down after a failure", "error", failed.Error())
	case <-ctx.Done():
		log.Info("shutting down", "grace", shutdownGrace.String())
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	srv.Shutdown(sctx)
	// The metrics go last, so that a scrape still sees the calls that drained.
	if metricsSrv != nil {
		if err := metricsSrv.Shutdown(sctx); err != nil {
			metricsSrv.Close()
		}
	}
	if failed != nil {
		return failed
	}
	if err := st.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	log.Info("stopped")
	return nil
}
