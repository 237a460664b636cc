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
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"google.golang.org/grpc"

	"github.com/bieuquyet/bieuquyet/server"
	"github.com/bieuquyet/bieuquyet/store/sqlite"
)

// shutdownGrace bounds how long calls in flight may run on after SIGINT or SIGTERM.
const shutdownGrace = 10 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "bieuquyet-server:", err)
		}
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
// makes a token offline instead. Tests call it as main does.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "token" {
		return tokenCommand(ctx, args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("bieuquyet-server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", env("BIEUQUYET_LISTEN", "127.0.0.1:50051"), "address to serve gRPC on (env BIEUQUYET_LISTEN)")
	dbPath := dbFlag(fs)
	logLevel := fs.String("log-level", env("BIEUQUYET_LOG_LEVEL", "info"), "debug, info, warn or error (env BIEUQUYET_LOG_LEVEL)")
	var tc tlsFiles
	fs.StringVar(&tc.cert, "tls-cert", env("BIEUQUYET_TLS_CERT", ""), "PEM server certificate: turns TLS on (env BIEUQUYET_TLS_CERT)")
	fs.StringVar(&tc.key, "tls-key", env("BIEUQUYET_TLS_KEY", ""), "PEM key of --tls-cert (env BIEUQUYET_TLS_KEY)")
	fs.StringVar(&tc.clientCA, "tls-client-ca", env("BIEUQUYET_TLS_CLIENT_CA", ""), "PEM CA bundle: require client certificates it signed (env BIEUQUYET_TLS_CLIENT_CA)")
	insecureOK := fs.Bool("insecure", false, "allow serving without TLS on an address other than loopback")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	creds, err := tc.credentials()
	if err != nil {
		return err
	}
	if creds == nil && !*insecureOK && !loopback(*listen) {
		return fmt.Errorf("--listen %s is reachable from other machines, and tokens would cross the network in clear text: give --tls-cert and --tls-key, or --insecure if something else encrypts the traffic", *listen)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %q is not debug, info, warn or error", *logLevel)
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))

	if err := os.MkdirAll(filepath.Dir(*dbPath), 0o750); err != nil {
		return fmt.Errorf("create database folder: %w", err)
	}
	// Before the store opens: a second server would run its own scheduler and vote writer,
	// and its votes would never reach the first one's watchers.
	lock, err := lockDatabase(*dbPath)
	if err != nil {
		return err
	}
	defer lock.Close()
	st, err := sqlite.Open(ctx, *dbPath, sqlite.Options{Logger: log})
	if err != nil {
		return err
	}
	defer st.Close()

	lis, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	cfg := server.Config{Store: st, Logger: log}
	if creds != nil {
		cfg.Options = append(cfg.Options, grpc.Creds(creds))
	}
	srv := server.New(cfg)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	log.Info("serving", "addr", lis.Addr().String(), "db", *dbPath, "schema_version", sqlite.SchemaVersion(),
		"tls", creds != nil, "client_certificates", tc.clientCA != "")

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", shutdownGrace.String())
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	srv.Shutdown(sctx)
	if err := st.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	log.Info("stopped")
	return nil
}
