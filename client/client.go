// Package client is the bieuquyet command-line client: it reads a command line, calls
// RosterService and prints the answer as aligned tables for people or as JSON for
// programs. Run is the whole program; cmd/bieuquyet only wires it to the process.
package client

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
)

// The exit codes Run returns.
const (
	exitOK    = 0
	exitFail  = 1 // the server refused, or an operation failed
	exitUsage = 2 // the command line is wrong
)

const (
	defaultAddr    = "127.0.0.1:50051"
	defaultTimeout = 30 * time.Second
	envAddr        = "BIEUQUYET_ADDR"
)

// app is one run of the program: the global flags, the streams and the connection,
// opened on the first call to the server.
type app struct {
	addr    string
	json    bool
	timeout time.Duration
	stdin   io.Reader
	stdout  io.Writer
	stderr  io.Writer
	conn    *grpc.ClientConn
	rc      pb.RosterServiceClient
}

// Run runs the command line args (without the program name) and returns the exit code:
// 0 when it worked, 1 when the server refused or an operation failed, 2 for a usage
// error. Every message for people goes to stderr; stdout carries only results.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	err := a.run(ctx, args)
	if a.conn != nil {
		a.conn.Close()
	}
	return a.exit(err)
}

// errHelpShown ends a run that printed help because it was asked for: exit 0.
var errHelpShown = errors.New("help shown")

// usageError is a mistake in the command line. cmd names the command, when known, so that
// the hint can point at its own help.
type usageError struct {
	cmd string
	msg string
}

func (e *usageError) Error() string { return e.msg }

func usageErrorf(cmd, format string, args ...any) error {
	return &usageError{cmd: cmd, msg: fmt.Sprintf(format, args...)}
}

// exit reports err on stderr and returns the exit code for it.
func (a *app) exit(err error) int {
	var ue *usageError
	switch {
	case err == nil || errors.Is(err, errHelpShown):
		return exitOK
	case errors.As(err, &ue):
		prefix, hint := "", "bieuquyet help"
		if ue.cmd != "" {
			prefix, hint = ue.cmd+": ", "bieuquyet help "+ue.cmd
		}
		fmt.Fprintf(a.stderr, "bieuquyet: %s%s (run '%s')\n", prefix, oneLine(ue.msg), hint)
		return exitUsage
	}
	fmt.Fprintf(a.stderr, "bieuquyet: %s\n", a.describe(err))
	return exitFail
}

func (a *app) run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bieuquyet", flag.ContinueOnError)
	// The flag package's own messages span several lines; parse errors are reported as
	// one line by exit instead, and help is printed by printUsage.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	addr := defaultAddr
	if v, ok := os.LookupEnv(envAddr); ok && v != "" {
		addr = v
	}
	output := enumFlag{value: "table", allowed: []string{"table", "json"}}
	fs.StringVar(&a.addr, "addr", addr, "server address HOST:PORT (env "+envAddr+")")
	fs.Var(&output, "output", "output format: table or json")
	fs.DurationVar(&a.timeout, "timeout", defaultTimeout, "deadline of each call to the server")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(a.stdout)
			return errHelpShown
		}
		return usageErrorf("", "%v", err)
	}
	a.json = output.value == "json"
	if a.timeout <= 0 {
		return usageErrorf("", "--timeout must be positive, not %v", a.timeout)
	}
	if strings.TrimSpace(a.addr) == "" {
		return usageErrorf("", "--addr is empty")
	}

	rest := fs.Args()
	if len(rest) == 0 {
		return usageErrorf("", "no command given")
	}
	if rest[0] == "help" {
		return a.help(rest[1:])
	}
	c, err := findCommand(rest)
	if err != nil {
		return err
	}
	return a.runCommand(ctx, c, rest[len(strings.Fields(c.path)):])
}

// dial opens a connection to the server at addr. It does not connect yet: the first
// call does, so a server that is down shows up as UNAVAILABLE on that call. Every dial
// option lives here, so that TLS can be added in one place.
func dial(addr string) (*grpc.ClientConn, error) {
	return grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUserAgent("bieuquyet-cli"),
	)
}

// client returns the RosterService client, dialing on first use so that usage errors
// and help never touch the network.
func (a *app) client() (pb.RosterServiceClient, error) {
	if a.rc != nil {
		return a.rc, nil
	}
	conn, err := dial(a.addr)
	if err != nil {
		return nil, usageErrorf("", "--addr %q: %v", a.addr, err)
	}
	a.conn, a.rc = conn, pb.NewRosterServiceClient(conn)
	return a.rc, nil
}

// call runs one RPC under its own deadline of --timeout.
func call[Req, Resp any](ctx context.Context, a *app, rpc func(pb.RosterServiceClient, context.Context, Req, ...grpc.CallOption) (Resp, error), req Req) (Resp, error) {
	var zero Resp
	rc, err := a.client()
	if err != nil {
		return zero, err
	}
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	return rpc(rc, ctx, req)
}

// oneLine keeps a message on one line of the terminal.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
