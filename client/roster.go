package client

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
)

// maxRosterSize is the server's limit on a roster file (ImportRosterRequest.content). A
// larger file is refused here, before it crosses the network.
const maxRosterSize = 8 << 20

var rosterCommands = []*command{
	{
		path:     "roster import",
		args:     []string{"FILE"},
		synopsis: "[--dry-run]",
		summary:  "apply a roster file (CSV or XLSX; - reads standard input), all or nothing, and list what changed",
		setup: func(fs *flag.FlagSet) action {
			dryRun := fs.Bool("dry-run", false, "say what would change, change nothing")
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
				if err := dryRunProblems("roster file", resp.GetProblems()); err != nil {
					return err
				}
				return a.show(resp, func(w io.Writer) error { return importReport(w, file, resp) })
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

// importReport prints the changes as a table, then one summary line.
func importReport(w io.Writer, file string, resp *pb.ImportRosterResponse) error {
	changes := resp.GetChanges()
	if len(changes) == 0 {
		_, err := fmt.Fprintf(w, "no changes: the roster already matches %s\n", file)
		return err
	}
	t := newTable("ACTION", "TARGET", "DETAIL")
	for _, c := range changes {
		t.add(c.GetAction(), c.GetTarget(), c.GetDetail())
	}
	if err := t.write(w); err != nil {
		return err
	}
	n := plural(len(changes), "change", "changes")
	var err error
	if resp.GetDryRun() {
		_, err = fmt.Fprintf(w, "dry run: would make %s; nothing was changed\n", n)
	} else {
		_, err = fmt.Fprintf(w, "imported: %s, %s, %s; %s\n",
			plural(int(resp.GetGroups()), "group", "groups"),
			plural(int(resp.GetPeople()), "person", "people"),
			plural(int(resp.GetMemberships()), "membership", "memberships"), n)
	}
	return err
}
