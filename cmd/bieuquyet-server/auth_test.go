package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/bieuquyet/bieuquyet/internal/testcert"
	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
	"github.com/bieuquyet/bieuquyet/store/sqlite"
)

// serve runs the server with args in the background until the test ends.
func serve(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, append([]string{"--listen", "127.0.0.1:0"}, args...), &bytes.Buffer{}, logs) }()
	addr := waitForAddr(t, logs, done)
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	return addr
}

func tokenCreate(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), append([]string{"token", "create"}, args...), &out, &errOut)
	return out.String(), err
}

func whoami(ctx context.Context, t *testing.T, conn *grpc.ClientConn, token string) (*pb.WhoAmIResponse, error) {
	t.Helper()
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	return pb.NewAccessServiceClient(conn).WhoAmI(ctx, &pb.WhoAmIRequest{})
}

func TestOfflineTokenCreateLetsTheFirstAdminIn(t *testing.T) {
	db := filepath.Join(t.TempDir(), "bq.db")
	if _, err := tokenCreate(t, "--db", db, "--role", "admin", "--name", "Quản trị"); err == nil {
		t.Fatal("token create made a database that did not exist")
	}
	addr := serve(t, "--db", db)
	// While the server runs, against the same file.
	out, err := tokenCreate(t, "--db", db, "--role", "admin", "--name", "Quản trị")
	if err != nil {
		t.Fatal(err)
	}
	secret := strings.TrimSpace(out)
	if strings.Count(out, "\n") != 1 || !strings.HasPrefix(secret, "bq_") {
		t.Fatalf("stdout must hold the token alone, got %q", out)
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	who, err := whoami(context.Background(), t, conn, secret)
	if err != nil || who.GetToken().GetRole() != pb.TokenRole_TOKEN_ROLE_ADMIN || who.GetToken().GetDisplayName() != "Quản trị" {
		t.Fatalf("whoami: %v, %v", who, err)
	}
	for _, bad := range [][]string{
		{"--db", db, "--role", "root", "--name", "x"},
		{"--db", db, "--role", "admin"},
		{"--db", db, "--role", "person", "--name", "x"},
		{"--db", db, "--role", "person", "--name", "x", "--person", "people/99"},
		{"--db", db, "--role", "admin", "--name", "x", "--ttl", "-1h"},
	} {
		if out, err := tokenCreate(t, bad...); err == nil || out != "" {
			t.Errorf("token create %v: %q, %v; want an error and nothing on stdout", bad, out, err)
		}
	}
}

func TestServingBeyondLoopbackNeedsTLS(t *testing.T) {
	db := filepath.Join(t.TempDir(), "bq.db")
	err := run(context.Background(), []string{"--listen", "0.0.0.0:0", "--db", db}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "--insecure") {
		t.Fatalf("plaintext on 0.0.0.0: %v", err)
	}
	if _, err := os.Stat(db); err == nil {
		t.Error("the refused start created the database")
	}
	for addr, want := range map[string]bool{"127.0.0.1:1": true, "[::1]:1": true, "localhost:1": true, ":1": false, "0.0.0.0:1": false, "192.0.2.1:1": false} {
		if loopback(addr) != want {
			t.Errorf("loopback(%q) = %v", addr, !want)
		}
	}
}

func tlsClient(t *testing.T, addr string, ca string, cert ...string) *grpc.ClientConn {
	t.Helper()
	pool := x509.NewCertPool()
	pemBytes, err := os.ReadFile(ca)
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(pemBytes)
	cfg := &tls.Config{RootCAs: pool}
	if len(cert) == 2 {
		c, err := tls.LoadX509KeyPair(cert[0], cert[1])
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func TestTLSAndMutualTLS(t *testing.T) {
	certs := testcert.New(t)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	db := filepath.Join(dir, "tls.db")
	addr := serve(t, "--db", db, "--tls-cert", certs.ServerCert, "--tls-key", certs.ServerKey)
	token, err := tokenCreate(t, "--db", db, "--role", "secretariat", "--name", "Thư ký")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := whoami(ctx, t, tlsClient(t, addr, certs.CA), strings.TrimSpace(token)); err != nil {
		t.Fatalf("TLS call: %v", err)
	}
	if _, err := whoami(ctx, t, tlsClient(t, addr, certs.OtherCA), strings.TrimSpace(token)); status.Code(err) != codes.Unavailable {
		t.Fatalf("a client that does not trust the server's CA: %v, want Unavailable", err)
	}

	mdb := filepath.Join(dir, "mtls.db")
	maddr := serve(t, "--db", mdb, "--tls-cert", certs.ServerCert, "--tls-key", certs.ServerKey, "--tls-client-ca", certs.CA)
	mtoken, err := tokenCreate(t, "--db", mdb, "--role", "admin", "--name", "Quản trị")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := whoami(ctx, t, tlsClient(t, maddr, certs.CA, certs.ClientCert, certs.ClientKey), strings.TrimSpace(mtoken)); err != nil {
		t.Fatalf("mutual TLS call: %v", err)
	}
	if _, err := whoami(ctx, t, tlsClient(t, maddr, certs.CA), strings.TrimSpace(mtoken)); status.Code(err) != codes.Unavailable {
		t.Fatalf("no client certificate: %v, want Unavailable", err)
	}
}

func TestTokenCreateSaysWhyItFailed(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "bq.db")
	st, err := sqlite.Open(context.Background(), db, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	missing := filepath.Join(dir, "missing.db")
	noFolder := filepath.Join(dir, "data", "bq.db")
	notDB := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notDB, []byte("not a database\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	admin := []string{"--role", "admin", "--name", "Quản trị"}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no database", append([]string{"--db", missing}, admin...),
			"no database at " + missing + ": start the server once with `make run` to create it, or give --db"},
		{"no folder", append([]string{"--db", noFolder}, admin...),
			"no database at " + noFolder + ", and the folder " + filepath.Dir(noFolder) + " does not exist either: start the server once"},
		{"a folder", append([]string{"--db", dir}, admin...), "--db " + dir + " is a folder"},
		{"not a database", append([]string{"--db", notDB}, admin...), "database " + notDB + ": "},
		{"no role", []string{"--db", db, "--name", "x"}, "--role is required"},
		{"bad role", []string{"--db", db, "--role", "root", "--name", "x"}, `--role "root" is not admin, secretariat or person`},
		{"no name", []string{"--db", db, "--role", "admin"}, "--name is required"},
		{"person without --person", []string{"--db", db, "--role", "person", "--name", "x"}, "--role person needs --person"},
		{"--person on an admin", []string{"--db", db, "--role", "admin", "--name", "x", "--person", "1"}, "--person is only for --role person"},
		{"bad --person", []string{"--db", db, "--role", "person", "--name", "x", "--person", "Huyền"}, `--person "Huyền" is not people/N or N`},
		{"unknown person", []string{"--db", db, "--role", "person", "--name", "x", "--person", "people/99"},
			"token create in " + db + ": --person people/99 does not exist"},
		{"past ttl", []string{"--db", db, "--role", "admin", "--name", "x", "--ttl", "-1h"}, "--ttl -1h0m0s must be positive"},
		{"long ttl", []string{"--db", db, "--role", "admin", "--name", "x", "--ttl", "20000h"}, "--ttl 20000h0m0s is longer than two years"},
		{"unquoted name", []string{"--db", db, "--role", "admin", "--name", "Quản", "trị"}, `unexpected argument "trị"`},
		{"unknown flag", []string{"--db", db, "--rol", "admin"}, "flag provided but not defined: -rol"},
	} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append([]string{"token", "create"}, tc.args...), &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v\nwant an error with: %s", tc.name, err, tc.want)
		}
		if out.Len() > 0 {
			t.Errorf("%s: stdout %q, want nothing", tc.name, out.String())
		}
	}
	for _, p := range []string{missing, filepath.Dir(noFolder)} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("a failed token create made %s", p)
		}
	}
}

func TestTokenCreateNamesTheFolderItLookedIn(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	_, err := tokenCreate(t, "--db", "./data/bieuquyet.db", "--role", "admin", "--name", "Quản trị")
	want := "no database at ./data/bieuquyet.db (looked for " + filepath.Join(dir, "data", "bieuquyet.db") +
		"), and the folder " + filepath.Join(dir, "data") + " does not exist either"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("token create from another folder: %v\nwant: %s", err, want)
	}
}
