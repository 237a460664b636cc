// Package readme runs the README's walk-through against the real binaries, so that the
// README cannot drift from what they print.
package readme

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// step is one piece of the walk-through: a ```sh block, run as it stands, or one command
// of a ```text transcript ("$ command" and the lines it prints), whose output must match.
type step struct {
	line   int // in README.md, for messages
	script string
	want   *string // nil for a sh block
}

// walkThrough reads the steps of README.md's "A walk-through" section.
func walkThrough(t *testing.T, readme string) []step {
	t.Helper()
	b, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	var steps []step
	in := false
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if strings.HasPrefix(l, "## ") {
			in = l == "## A walk-through"
			continue
		}
		if !in || (l != "```sh" && l != "```text") {
			continue
		}
		kind := l
		var block []string
		start := i + 1
		for i++; i < len(lines) && lines[i] != "```"; i++ {
			block = append(block, lines[i])
		}
		if kind == "```sh" {
			steps = append(steps, step{line: start + 1, script: strings.Join(block, "\n")})
			continue
		}
		// A transcript: "$ command", then what it prints.
		for j := 0; j < len(block); j++ {
			cmd, ok := strings.CutPrefix(block[j], "$ ")
			if !ok {
				continue
			}
			var out []string
			for j+1 < len(block) && !strings.HasPrefix(block[j+1], "$ ") {
				j++
				out = append(out, block[j])
			}
			want := strings.Join(out, "\n")
			if want != "" {
				want += "\n"
			}
			steps = append(steps, step{line: start + j + 1 - len(out), script: cmd, want: &want})
		}
	}
	if len(steps) < 10 {
		t.Fatalf("README.md has %d walk-through steps: is the section still called \"A walk-through\"?", len(steps))
	}
	return steps
}

// skipped are the lines a person runs elsewhere: the server (the test starts it), and what
// runs in another terminal.
var skipped = regexp.MustCompile(`(?m)^make run$|^.*# in another terminal.*$`)

func TestREADMEWalkThrough(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash is not installed")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	steps := walkThrough(t, filepath.Join(root, "README.md"))

	// A folder laid out as the repository after `make build`: bin/, examples/, data/.
	dir := t.TempDir()
	for _, pkg := range []string{"./cmd/bieuquyet", "./cmd/bieuquyet-server", "./internal/cmd/bieuquyet-testca"} {
		name := filepath.Base(pkg)
		build := exec.Command("go", "build", "-o", filepath.Join(dir, "bin", name), pkg)
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", name, err, out)
		}
	}
	if err := os.Symlink(filepath.Join(root, "examples"), filepath.Join(dir, "examples")); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	env := append(os.Environ(), "BIEUQUYET_ADDR="+addr, "BIEUQUYET_TOKEN=", "BIEUQUYET_TZ=Asia/Ho_Chi_Minh", "NO_COLOR=1", "TERM=dumb")
	ctx, cancel := context.WithCancel(context.Background())
	srv := exec.CommandContext(ctx, filepath.Join(dir, "bin", "bieuquyet-server"), "--listen", addr)
	srv.Dir, srv.Env = dir, env
	var srvLog strings.Builder
	srv.Stderr = &srvLog
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { srv.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cancel()
			<-done
		}
		cancel()
	})
	waitServing(t, addr)

	// One bash runs the whole walk-through, so that what one step exports the next sees;
	// markers split its output back into steps.
	var script strings.Builder
	script.WriteString("cd " + shellQuote(dir) + "\n")
	for i, s := range steps {
		body := skipped.ReplaceAllString(s.script, "")
		if s.want == nil {
			fmt.Fprintf(&script, "echo '@@step %d'\nset -e\n%s\nset +e\n", i, body)
		} else {
			fmt.Fprintf(&script, "echo '@@step %d'\n%s 2>&1\necho \"@@exit $?\"\n", i, body)
		}
	}
	script.WriteString("echo '@@end'\n")
	run := exec.Command("bash", "--noprofile", "--norc", "-o", "pipefail")
	run.Dir, run.Env = dir, env
	run.Stdin = strings.NewReader(script.String())
	out, err := run.CombinedOutput()
	outputs, ended := splitSteps(string(out))
	for i, s := range steps {
		got, ran := outputs[i]
		switch {
		case !ran:
			t.Fatalf("README.md line %d did not run: the walk-through stopped before it (bash: %v)\nlast output:\n%s\nserver log:\n%s", s.line, err, lastLines(string(out), 30), lastLines(srvLog.String(), 20))
		case s.want == nil:
			if _, next := outputs[i+1]; !next && !(i == len(steps)-1 && ended) {
				t.Fatalf("README.md line %d failed:\n%s\nserver log:\n%s", s.line, got, lastLines(srvLog.String(), 20))
			}
		default:
			got = strings.TrimSuffix(got, "\n")
			body, _, _ := strings.Cut(got, "@@exit ")
			if body != *s.want {
				t.Errorf("README.md line %d: $ %s\nprints:\n%s\nREADME shows:\n%s", s.line, s.script, body, *s.want)
			}
		}
	}
	if !ended {
		t.Fatalf("the walk-through did not run to its end:\n%s", lastLines(string(out), 30))
	}
}

// splitSteps cuts the script's output at its markers.
func splitSteps(out string) (map[int]string, bool) {
	steps := map[int]string{}
	current, ended := -1, false
	var b strings.Builder
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	flush := func() {
		if current >= 0 {
			steps[current] = b.String()
		}
		b.Reset()
	}
	for sc.Scan() {
		l := sc.Text()
		var n int
		if _, err := fmt.Sscanf(l, "@@step %d", &n); err == nil && strings.HasPrefix(l, "@@step ") {
			flush()
			current = n
			continue
		}
		if l == "@@end" {
			flush()
			current, ended = -1, true
			continue
		}
		b.WriteString(l + "\n")
	}
	flush()
	return steps, ended
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitServing(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the server did not listen on %s", addr)
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
