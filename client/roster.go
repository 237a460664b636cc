package client

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
)

// maxRosterSize is the server's limit on a roster file (ImportRosterRequest.content). A
// larger file is refused here, before it crosses the network.
const maxRosterSize = 8 << 20

var rosterCommands = []*command{
	{
		path:     "roster import",
		args:     []string{"FILE"},
		synopsis: "[--dry-run] [--verbose]",
		summary:  "apply a roster file (CSV or XLSX; - reads standard input), all or nothing, and count the changes by kind (--verbose: list each)",
		setup: func(fs *flag.FlagSet) action {
			dryRun := fs.Bool("dry-run", false, "say what would change, change nothing; exit 1 when the file has problems, listing every one")
			verbose := fs.Bool("verbose", false, "list every change, not only how many of each kind")
			return func(ctx context.Context, a *app, args []string) error {
				file := args[0]
				content, err := a.readRoster(file)
				if err != nil {
					return err
				}
				resp, err := call(ctx, a, services.ImportRoster, &pb.ImportRosterRequest{
					Content: content, Format: pb.RosterFormat_ROSTER_FORMAT_UNSPECIFIED, DryRun: *dryRun})
				if err != nil {
					return err
				}
				if err := a.show(resp, func(w io.Writer) error { return importReport(w, file, resp, *verbose) }); err != nil {
					return err
				}
				return a.reportProblems("the roster file", "nothing would change", resp.GetProblems())
			}
		},
	},
}

// readRoster reads a roster file, or standard input for "-", refusing one over the limit.
func (a *app) readRoster(file string) ([]byte, error) {
	return a.readUpload(file, "roster file", maxRosterSize)
}

// readUpload reads a file to send, or standard input for "-", refusing one over limit
// bytes before anything crosses the network. what names the file in messages.
func (a *app) readUpload(file, what string, limit int64) ([]byte, error) {
	var r io.Reader = a.stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", what, err)
		}
		defer f.Close()
		info, err := f.Stat()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", what, err)
		}
		if info.IsDir() {
			return nil, fmt.Errorf("read %s: %s is a directory", what, file)
		}
		if info.Size() > limit {
			return nil, tooLarge(what, file, info.Size(), limit)
		}
		r = f
	} else {
		file = "standard input"
	}
	// The file may have grown since Stat, and standard input has no size: read one byte
	// past the limit to know.
	content, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s %s: %w", what, file, err)
	}
	if int64(len(content)) > limit {
		return nil, tooLarge(what, file, -1, limit)
	}
	return content, nil
}

func tooLarge(what, file string, size, limit int64) error {
	if size < 0 {
		return fmt.Errorf("%s %s is larger than %d MiB, the limit; nothing was sent", what, file, limit>>20)
	}
	return fmt.Errorf("%s %s is %.1f MiB (%d bytes), over the limit of %d MiB; nothing was sent",
		what, file, float64(size)/(1<<20), size, limit>>20)
}

// importReport prints how many changes of each kind an import makes (or would), with
// verbose every change first, then one summary line.
func importReport(w io.Writer, file string, resp *pb.ImportRosterResponse, verbose bool) error {
	changes := resp.GetChanges()
	if len(changes) == 0 {
		var err error
		if n := len(resp.GetProblems()); n > 0 {
			_, err = fmt.Fprintf(w, "dry run: nothing would change while the file has %s\n", plural(n, "problem", "problems"))
		} else {
			_, err = fmt.Fprintf(w, "no changes: the roster already matches %s\n", printable(file))
		}
		return err
	}
	if verbose {
		t := newTable("ACTION", "TARGET", "DETAIL")
		for _, c := range changes {
			t.add(c.GetAction(), c.GetTarget(), c.GetDetail())
		}
		if err := t.write(w); err != nil {
			return err
		}
	}
	if err := changeCounts(w, changes); err != nil {
		return err
	}
	n := plural(len(changes), "change", "changes")
	var err error
	switch {
	case len(resp.GetProblems()) > 0:
		_, err = fmt.Fprintf(w, "dry run: would make %s, but nothing will change while the file has %s\n", n,
			plural(len(resp.GetProblems()), "problem", "problems"))
	case resp.GetDryRun():
		_, err = fmt.Fprintf(w, "dry run: would make %s; nothing was changed\n", n)
	default:
		_, err = fmt.Fprintf(w, "imported: %s, %s, %s; %s\n",
			plural(int(resp.GetGroups()), "group", "groups"),
			plural(int(resp.GetPeople()), "person", "people"),
			plural(int(resp.GetMemberships()), "membership", "memberships"), n)
	}
	return err
}

// changeCounts prints one line per kind of change, in the order they first come:
// "create      the council, 73 people, 12 groups", "add_member  173 memberships in 12
// groups".
func changeCounts(w io.Writer, changes []*pb.RosterChange) error {
	type tally struct {
		changes int
		targets map[string]map[string]bool // by collection: the targets
		order   []string                   // collections, in the order they first come
	}
	var actions []string
	byAction := map[string]*tally{}
	for _, c := range changes {
		t := byAction[c.GetAction()]
		if t == nil {
			t = &tally{targets: map[string]map[string]bool{}}
			byAction[c.GetAction()] = t
			actions = append(actions, c.GetAction())
		}
		t.changes++
		coll, _, _ := strings.Cut(c.GetTarget(), "/")
		if t.targets[coll] == nil {
			t.targets[coll] = map[string]bool{}
			t.order = append(t.order, coll)
		}
		t.targets[coll][c.GetTarget()] = true
	}
	width := 0
	for _, action := range actions {
		width = max(width, cellWidth.StringWidth(printable(action)))
	}
	var b strings.Builder
	for _, action := range actions {
		t := byAction[action]
		var what string
		switch action {
		case "add_member", "remove_member", "set_role":
			what = fmt.Sprintf("%s in %s", plural(t.changes, "membership", "memberships"),
				plural(len(t.targets["groups"]), "group", "groups"))
		default:
			var parts []string
			for _, coll := range t.order {
				n := len(t.targets[coll])
				switch coll {
				case "council":
					parts = append(parts, "the council")
				case "people":
					parts = append(parts, plural(n, "person", "people"))
				case "groups":
					parts = append(parts, plural(n, "group", "groups"))
				default:
					parts = append(parts, plural(n, printable(coll), printable(coll)))
				}
			}
			what = strings.Join(parts, ", ")
		}
		a := printable(action)
		fmt.Fprintf(&b, "%s%s  %s\n", a, strings.Repeat(" ", width-cellWidth.StringWidth(a)), what)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// reportProblems lists on stderr every problem a dry run found in what, and ends the run
// with exit 1 when there is any, so that scripts notice. consequence says what follows
// from them: "nothing would change".
func (a *app) reportProblems(what, consequence string, problems []*pb.Problem) error {
	if len(problems) == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "bieuquyet: %s has %s; %s\n", what, plural(len(problems), "problem", "problems"), consequence)
	for _, p := range problems {
		line := printLine(p.GetDescription())
		if p.GetField() != "" {
			line = printLine(p.GetField()) + ": " + line
		}
		b.WriteString("  " + line + "\n")
	}
	io.WriteString(a.stderr, b.String())
	return errReported
}
