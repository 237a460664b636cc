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

	"github.com/bieuquyet/bieuquyet/server"
	"github.com/bieuquyet/bieuquyet/store"
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

// run serves until ctx ends, then shuts down cleanly. Tests call it as main does.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bieuquyet-server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", env("BIEUQUYET_LISTEN", "127.0.0.1:50051"), "address to serve gRPC on (env BIEUQUYET_LISTEN)")
	dbPath := fs.String("db", env("BIEUQUYET_DB", "./data/bieuquyet.db"), "SQLite database file, created if missing (env BIEUQUYET_DB)")
	logLevel := fs.String("log-level", env("BIEUQUYET_LOG_LEVEL", "info"), "debug, info, warn or error (env BIEUQUYET_LOG_LEVEL)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %q is not debug, info, warn or error", *logLevel)
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))

	if err := os.MkdirAll(filepath.Dir(*dbPath), 0o750); err != nil {
		return fmt.Errorf("create database folder: %w", err)
	}
	st, err := store.Open(ctx, *dbPath, store.Options{Logger: log})
	if err != nil {
		return err
	}
	defer st.Close()

	lis, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := server.New(server.Config{Store: st, Logger: log})
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	log.Info("serving", "addr", lis.Addr().String(), "db", *dbPath, "schema_version", store.SchemaVersion())

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
