package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// serverProc is one run of the server binary.
type serverProc struct {
	cmd    *exec.Cmd
	addr   string
	log    string
	exited chan struct{}
	err    error // Wait's, once exited is closed
	conn   *grpc.ClientConn
}

// startServer starts the server on a free loopback port and waits until its health
// service says SERVING.
func (t *tester) startServer(ctx context.Context) (*serverProc, error) {
	var last error
	for range 3 { // the free port may be taken between asking and binding
		p, err := t.startOnce(ctx)
		if err == nil {
			return p, nil
		}
		last = err
	}
	return nil, last
}

func (t *tester) startOnce(ctx context.Context) (*serverProc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	p := &serverProc{addr: addr, log: filepath.Join(t.dir, fmt.Sprintf("server-%02d.log", t.cycle)), exited: make(chan struct{})}
	f, err := os.Create(p.log)
	if err != nil {
		return nil, err
	}
	p.cmd = exec.Command(t.bin, "--db", t.db, "--listen", addr, "--trust-roots", t.roots, "--log-level", "warn")
	p.cmd.Stdout, p.cmd.Stderr = f, f
	p.cmd.Env = append(os.Environ(), "GOMAXPROCS=2")
	if err := p.cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", t.bin, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		f.Close()
		close(p.exited)
	}()
	if err := p.waitServing(ctx, t.token); err != nil {
		p.kill()
		return nil, fmt.Errorf("%w; its log: %s", err, tail(p.log, 5))
	}
	return p, nil
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// waitServing dials the server and polls its health until SERVING.
func (p *serverProc) waitServing(ctx context.Context, token string) error {
	opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if token != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(bearer(token)))
	}
	conn, err := grpc.NewClient(p.addr, opts...)
	if err != nil {
		return err
	}
	p.conn = conn
	health := healthpb.NewHealthClient(conn)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return fmt.Errorf("the server exited before serving: %v", p.err)
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		r, err := health.Check(cctx, &healthpb.HealthCheckRequest{})
		cancel()
		if err == nil && r.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return errors.New("the server did not say SERVING within a minute")
}

// withToken dials the server again now that there is a token.
func (p *serverProc) withToken(token string) error {
	p.conn.Close()
	conn, err := grpc.NewClient(p.addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(bearer(token)))
	if err != nil {
		return err
	}
	p.conn = conn
	return nil
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *serverProc) kill() {
	p.sigkill()
	p.wait()
}

// sigkill sends SIGKILL and returns at once.
func (p *serverProc) sigkill() { _ = p.cmd.Process.Signal(syscall.SIGKILL) }

// wait waits for the process to be gone, then closes the connection to it.
func (p *serverProc) wait() {
	<-p.exited
	if p.conn != nil {
		p.conn.Close()
	}
}

// terminate sends SIGTERM and waits for a clean exit: the server lets calls in flight
// finish for up to 10 s, then closes the store.
func (p *serverProc) terminate() error {
	defer func() {
		if p.conn != nil {
			p.conn.Close()
		}
	}()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		p.kill()
		return fmt.Errorf("the server did not exit within 30 s of SIGTERM; its log: %s", tail(p.log, 5))
	}
	if p.err != nil {
		return fmt.Errorf("the server exited with %v after SIGTERM; its log: %s", p.err, tail(p.log, 5))
	}
	return nil
}

// tail returns the last n lines of a file, for error messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(string(bytes.TrimRight(b, "\n")), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// bearer sends the token with every call.
type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

func (bearer) RequireTransportSecurity() bool { return false }

// createToken makes the admin token offline, as an operator would.
func (t *tester) createToken(ctx context.Context) error {
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, t.bin, "token", "create", "--db", t.db, "--role", "admin", "--name", "Kiểm thử sự cố", "--ttl", "720h")
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("token create: %v: %s", err, strings.TrimSpace(errOut.String()))
	}
	t.token = strings.TrimSpace(out.String())
	if t.token == "" {
		return errors.New("token create printed no token")
	}
	return nil
}
