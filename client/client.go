// Package client is the bieuquyet command-line client: it reads a command line, calls
// RosterService, AccessService, AuditService, PollService or ConfirmationService and prints the answer as
// aligned tables for people or as JSON for programs. Run is the whole program; cmd/bieuquyet only wires
// it to the process.
package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

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
	envToken       = "BIEUQUYET_TOKEN"
)

// app is one run of the program: the global flags, the streams and the connection,
// opened on the first call to the server.
type app struct {
	addr    string
	conf    connConfig
	json    bool
	timeout time.Duration
	stdin   io.Reader
	stdout  io.Writer
	stderr  io.Writer
	loc     *time.Location // --tz: the zone times are shown and read in
	conn    *grpc.ClientConn
	svc     services

	// names holds the display names of people and groups, by resource name, for label;
	// "" for one that could not be found. See lookupNames.
	names                      map[string]string
	groupsListed, peopleListed bool
	lookupsBroken              bool
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

// errReported ends a run whose failure the command has already reported on stdout, as
// its result (a broken audit trail): exit 1, with nothing more on stderr.
var errReported = errors.New("failure reported")

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
	case errors.Is(err, errReported):
		return exitFail
	case errors.As(err, &ue):
		prefix, hint := "", "bieuquyet help"
		if ue.cmd != "" {
			prefix, hint = ue.cmd+": ", "bieuquyet help "+ue.cmd
		}
		fmt.Fprintf(a.stderr, "bieuquyet: %s%s (run '%s')\n", prefix, printLine(ue.msg), hint)
		return exitUsage
	}
	var unsure *unsureError
	if errors.As(err, &unsure) {
		fmt.Fprintf(a.stderr, "bieuquyet: %s\n", a.describe(unsure.err))
		fmt.Fprintf(a.stderr, "bieuquyet: the server may have done it all the same; to be sure it is done once, run the same command again with --request-id %s\n", unsure.requestID)
		return exitFail
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
	tz := defaultTZ
	if v, ok := os.LookupEnv(envTZ); ok && v != "" {
		tz = v
	}
	output := enumFlag{value: "table", allowed: []string{"table", "json"}}
	fs.StringVar(&a.addr, "addr", addr, "server address HOST:PORT (env "+envAddr+")")
	fs.Var(&output, "output", "output format: table or json")
	fs.DurationVar(&a.timeout, "timeout", defaultTimeout, "deadline of each attempt of a call to the server")
	fs.StringVar(&a.conf.token, "token", os.Getenv(envToken), "bearer token (env "+envToken+")")
	fs.StringVar(&a.conf.tlsCA, "tls-ca", "", "PEM file of the CA that signed the server's certificate: turns TLS on")
	fs.StringVar(&a.conf.tlsCert, "tls-cert", "", "PEM client certificate, for servers that ask for one (with --tls-key)")
	fs.StringVar(&a.conf.tlsKey, "tls-key", "", "PEM key of --tls-cert")
	fs.StringVar(&tz, "tz", tz, "time zone of the times shown, and of those given without an offset (env "+envTZ+")")
	fs.BoolVar(&a.conf.insecure, "insecure", false, "allow plaintext to an address other than loopback, when something else encrypts the traffic")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(a.stdout)
			return errHelpShown
		}
		return usageErrorf("", "%v", err)
	}
	a.json = output.value == "json"
	var err error
	if a.loc, err = loadZone(tz); err != nil {
		return usageErrorf("", "%v", err)
	}
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
	if len(rest) > 1 && isHelp(rest[1]) && hasSubcommands(rest[0]) {
		// "bieuquyet poll --help" lists the poll commands, as "bieuquyet help poll" does.
		printUsage(a.stdout, rest[0])
		return errHelpShown
	}
	c, err := findCommand(rest)
	if err != nil {
		return err
	}
	return a.runCommand(ctx, c, rest[len(strings.Fields(c.path)):])
}

// connConfig is how the client reaches and proves itself to the server.
type connConfig struct {
	token                  string
	tlsCA, tlsCert, tlsKey string
	insecure               bool // plaintext beyond loopback is allowed
}

// tls reports whether the connection uses TLS.
func (c connConfig) tls() bool { return c.tlsCA != "" || c.tlsCert != "" }

// checkPlaintext refuses plaintext to an address other than loopback, unless --insecure
// says that something else encrypts the traffic: the bearer token would cross the
// network in clear. The server refuses to listen that way for the same reason.
func checkPlaintext(addr string, c connConfig) error {
	if c.tls() || c.insecure || loopbackTarget(addr) {
		return nil
	}
	return usageErrorf("", "refusing to send the token in clear to %s, which is not a loopback address: "+
		"give --tls-ca FILE to use TLS, or --insecure if something else encrypts the traffic", addr)
}

// loopbackTarget reports whether a gRPC target reaches this machine only: a loopback IP
// (127.0.0.0/8, ::1), localhost, or a Unix socket. It reads the forms grpc.NewClient
// takes: HOST:PORT, HOST alone, dns:///HOST:PORT, passthrough:///HOST:PORT,
// ipv4:IP:PORT,…, ipv6:[IP]:PORT,…, unix:PATH and unix-abstract:NAME.
func loopbackTarget(target string) bool {
	hosts := []string{target}
	if scheme, rest, ok := strings.Cut(target, ":"); ok {
		switch scheme {
		case "unix", "unix-abstract":
			return true
		case "dns", "passthrough":
			if r, ok := strings.CutPrefix(rest, "//"); ok {
				_, rest, _ = strings.Cut(r, "/") // drop the authority: the DNS server to ask
			}
			hosts = []string{rest}
		case "ipv4", "ipv6":
			hosts = strings.Split(rest, ",")
		}
	}
	for _, h := range hosts {
		host, _, err := net.SplitHostPort(h)
		if err != nil {
			host = strings.Trim(h, "[]") // no port
		}
		if strings.EqualFold(host, "localhost") {
			continue
		}
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			return false
		}
	}
	return len(hosts) > 0
}

// dial opens a connection to the server at addr. It does not connect yet: the first
// call does, so a server that is down shows up as UNAVAILABLE on that call. Every dial
// option lives here.
func dial(addr string, c connConfig) (*grpc.ClientConn, error) {
	creds := insecure.NewCredentials()
	if c.tls() {
		cfg, err := tlsConfig(c)
		if err != nil {
			return nil, err
		}
		creds = credentials.NewTLS(cfg)
	}
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithUserAgent("bieuquyet-cli"),
		grpc.WithUnaryInterceptor(withRequestID),
		grpc.WithStreamInterceptor(withStreamRequestID),
	}
	if c.token != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(bearer(strings.TrimSpace(c.token))))
	}
	return grpc.NewClient(addr, opts...)
}

func tlsConfig(c connConfig) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.tlsCA != "" {
		pem, err := os.ReadFile(c.tlsCA)
		if err != nil {
			return nil, fmt.Errorf("--tls-ca: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--tls-ca: %s holds no PEM certificate", c.tlsCA)
		}
	}
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	if c.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(c.tlsCert, c.tlsKey)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// bearer sends the token with every call. It does not insist on TLS itself: on loopback
// the server accepts plaintext, and elsewhere checkPlaintext has refused it unless told
// otherwise by --insecure.
type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

func (bearer) RequireTransportSecurity() bool { return false }

// withRequestID tags each call with an id, which the server writes into the audit trail,
// unless call has tagged it already, once for all its attempts.
func withRequestID(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if md, _ := metadata.FromOutgoingContext(ctx); len(md.Get("x-request-id")) == 0 {
		ctx = metadata.AppendToOutgoingContext(ctx, "x-request-id", newRequestID())
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}

// withStreamRequestID is withRequestID for streams, such as WatchPoll, or an upload
// tagged with its request id.
func withStreamRequestID(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	if md, _ := metadata.FromOutgoingContext(ctx); len(md.Get("x-request-id")) == 0 {
		ctx = metadata.AppendToOutgoingContext(ctx, "x-request-id", newRequestID())
	}
	return streamer(ctx, desc, cc, method, opts...)
}

// services is every service of the server as one client. No two services have an RPC
// of the same name, so a command names the RPC alone, as in services.ListPeople, and
// call runs it on the right service.
type services interface {
	pb.RosterServiceClient
	pb.AccessServiceClient
	pb.AuditServiceClient
	pb.PollServiceClient
	pb.ConfirmationServiceClient
}

// serviceClients is services over one connection.
type serviceClients struct {
	pb.RosterServiceClient
	pb.AccessServiceClient
	pb.AuditServiceClient
	pb.PollServiceClient
	pb.ConfirmationServiceClient
}

// services returns the clients of the server's services, dialing on first use so that
// usage errors and help never touch the network. They share one connection.
func (a *app) services() (services, error) {
	if a.svc != nil {
		return a.svc, nil
	}
	if err := checkPlaintext(a.addr, a.conf); err != nil {
		return nil, err
	}
	conn, err := dial(a.addr, a.conf)
	if err != nil {
		return nil, usageErrorf("", "%v", err)
	}
	a.conn = conn
	a.svc = serviceClients{
		RosterServiceClient:       pb.NewRosterServiceClient(conn),
		AccessServiceClient:       pb.NewAccessServiceClient(conn),
		AuditServiceClient:        pb.NewAuditServiceClient(conn),
		PollServiceClient:         pb.NewPollServiceClient(conn),
		ConfirmationServiceClient: pb.NewConfirmationServiceClient(conn),
	}
	return a.svc, nil
}

// oneLine keeps a message on one line of the terminal.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
