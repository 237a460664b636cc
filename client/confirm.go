package client

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	bq "github.com/bieuquyet/bieuquyet"
	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
)

// The written confirmations of Điều 7.2: issuing them for a closed poll, listing them,
// and fetching the documents, each checked against the SHA-256 the server reports.
var confirmCommands = []*command{
	{
		path:     "confirm generate",
		args:     []string{"POLL"},
		synopsis: "[--deadline TIME | --for DURATION] [--request-id ID]",
		summary:  "issue the written confirmations of a closed poll, one PDF per delegate who voted, and move the poll to confirming; run again, it gives the same ones",
		setup: func(fs *flag.FlagSet) action {
			var deadline momentFlag
			fs.Var(&deadline, "deadline", "when the confirmations are due: `TIME`, RFC 3339 or \"2026-03-01 17:00\" in --tz (default: the poll's own, else seven days after issuing)")
			length := fs.Duration("for", 0, "how long the delegates have to confirm from now, e.g. 72h (instead of --deadline)")
			reqID := requestIDVar(fs)
			return func(ctx context.Context, a *app, args []string) error {
				set := visited(fs)
				switch {
				case set["deadline"] && set["for"]:
					return usageErrorf(fs.Name(), "give --deadline or --for, not both")
				case set["for"] && *length <= 0:
					return usageErrorf(fs.Name(), "--for must be positive, not %v", *length)
				}
				poll, err := pollName(fs.Name(), args[0])
				if err != nil {
					return err
				}
				id, err := requestID(fs, reqID)
				if err != nil {
					return err
				}
				req := &pb.GenerateConfirmationsRequest{Poll: poll, ConfirmationDeadline: deadline.timestamp(a.loc), RequestId: id}
				if set["for"] {
					req.ConfirmationDeadline = timestamppb.New(time.Now().Add(*length))
				}
				// The request id makes a retry of this call return the confirmations the
				// first one issued.
				resp, err := call(ctx, a, services.GenerateConfirmations, req)
				if err != nil {
					return err
				}
				return a.show(resp, func(w io.Writer) error { return a.generateReport(w, resp) })
			}
		},
	},
	{
		path:     "confirm list",
		args:     []string{"POLL"},
		synopsis: "[--status " + strings.Join(confirmationStatusList, "|") + "] [--page-size N] [--page-token T] [--all]",
		summary:  "list a poll's written confirmations in person order (a delegate sees their own): all of them, or a page at a time with --page-size",
		setup: func(fs *flag.FlagSet) action {
			st := enumFlag{allowed: confirmationStatusList}
			fs.Var(&st, "status", "only the confirmations in this status: "+orList(confirmationStatusList))
			pages := pageVars(fs, "confirmations")
			return func(ctx context.Context, a *app, args []string) error {
				if err := pages.check(fs.Name()); err != nil {
					return err
				}
				poll, err := pollName(fs.Name(), args[0])
				if err != nil {
					return err
				}
				req := &pb.ListConfirmationsRequest{Poll: poll, PageSize: pages.pageSize(), PageToken: pages.token,
					Status: enumFromWord(confirmationStatusWords, st.value)}
				confs, next, err := listPages(ctx, a, services.ListConfirmations, req, &req.PageToken, pages.follow(),
					(*pb.ListConfirmationsResponse).GetConfirmations)
				if err != nil {
					return err
				}
				resp := &pb.ListConfirmationsResponse{Confirmations: confs, NextPageToken: next}
				return a.showPage(resp, func(w io.Writer) error { return confirmationsTable(w, confs, true) })
			}
		},
	},
	{
		path:    "confirm remind",
		args:    []string{"POLL"},
		summary: "print, for the Office to paste into the Zalo group, a short Vietnamese message naming who still owes a signed confirmation (awaiting, or rejected and to send again) and by when",
		setup: func(fs *flag.FlagSet) action {
			return func(ctx context.Context, a *app, args []string) error {
				poll, err := pollName(fs.Name(), args[0])
				if err != nil {
					return err
				}
				p, err := call(ctx, a, services.GetPoll, &pb.GetPollRequest{Name: poll})
				if err != nil {
					return err
				}
				// Those awaiting a signature owe one, and so do those whose submission was
				// rejected: they owe another. One list keeps the service's order.
				req := &pb.ListConfirmationsRequest{Poll: poll, PageSize: maxPageSize}
				all, _, err := listPages(ctx, a, services.ListConfirmations, req, &req.PageToken, true,
					(*pb.ListConfirmationsResponse).GetConfirmations)
				if err != nil {
					return err
				}
				var owed []*pb.Confirmation
				for _, c := range all {
					switch c.GetStatus() {
					case pb.ConfirmationStatus_CONFIRMATION_STATUS_AWAITING_SIGNATURE, pb.ConfirmationStatus_CONFIRMATION_STATUS_REJECTED:
						owed = append(owed, c)
					}
				}
				_, err = io.WriteString(a.stdout, a.reminder(p.GetPoll(), owed))
				return err
			}
		},
	},
	{
		path:     "confirm download",
		args:     []string{"POLL|CONFIRMATION"},
		synopsis: "(--dir DIR | -o FILE)",
		summary: "save the documents of a poll's confirmations in DIR, one file per delegate named after them, skipping those already there; " +
			"or one confirmation in FILE (- for standard output); each is checked against the SHA-256 the server reports",
		setup: func(fs *flag.FlagSet) action {
			dir := fs.String("dir", "", "the folder to save a poll's confirmations in (created when missing); files already there with the right content are kept; on a terminal, a bar on stderr shows the progress")
			out := fs.String("o", "", "the `FILE` to save one confirmation in, - for standard output")
			return func(ctx context.Context, a *app, args []string) error {
				set := visited(fs)
				arg := strings.TrimSpace(args[0])
				if strings.Contains(arg, "/"+string(bq.Confirmations)+"/") {
					switch {
					case set["dir"]:
						return usageErrorf(fs.Name(), "--dir takes a POLL; save the one confirmation %s with -o FILE", arg)
					case !set["o"] || *out == "":
						return usageErrorf(fs.Name(), "-o FILE is required with a CONFIRMATION (- for standard output)")
					}
					if _, _, err := bq.ParseConfirmationName("", arg); err != nil {
						return usageErrorf(fs.Name(), "%q is not a confirmation: use polls/ID/confirmations/ID", arg)
					}
					return a.downloadOne(ctx, arg, *out)
				}
				switch {
				case set["o"]:
					return usageErrorf(fs.Name(), "-o takes one CONFIRMATION (polls/ID/confirmations/ID); save all of a poll's with --dir DIR")
				case !set["dir"] || *dir == "":
					return usageErrorf(fs.Name(), "--dir DIR is required with a POLL (or give a CONFIRMATION and -o FILE)")
				}
				poll, err := pollName(fs.Name(), arg)
				if err != nil {
					return usageErrorf(fs.Name(), "%q is neither a poll nor a confirmation: use polls/ID, ID or polls/ID/confirmations/ID", arg)
				}
				return a.downloadAll(ctx, poll, *dir)
			}
		},
	},
}

// pollReportCommand is "poll report", listed with the other poll commands.
var pollReportCommand = &command{
	path:     "poll report",
	args:     []string{"POLL"},
	synopsis: "-o FILE",
	summary:  "save a poll's tally report for its leaders, a PDF, in FILE (- for standard output), checked against the SHA-256 the server reports",
	setup: func(fs *flag.FlagSet) action {
		out := fs.String("o", "", "the `FILE` to save the report in, - for standard output")
		return func(ctx context.Context, a *app, args []string) error {
			if !visited(fs)["o"] {
				return usageErrorf(fs.Name(), "-o FILE is required (- for standard output)")
			}
			if *out == "" {
				return usageErrorf(fs.Name(), "-o is empty: give a FILE, or - for standard output")
			}
			poll, err := pollName(fs.Name(), args[0])
			if err != nil {
				return err
			}
			doc, err := a.saveDocument(ctx, reportStream(poll), *out, nil)
			if err != nil {
				return err
			}
			return a.reportSaved(*out, "the tally report of "+poll, doc)
		}
	},
}

// downloadOne saves one confirmation in out, or on stdout for "-". A file already there
// with the content the server reports is kept as it is.
func (a *app) downloadOne(ctx context.Context, name, out string) error {
	if out != "-" {
		if _, err := os.Stat(out); err == nil {
			resp, err := call(ctx, a, services.GetConfirmation, &pb.GetConfirmationRequest{Name: name})
			if err != nil {
				return err
			}
			c := resp.GetConfirmation()
			if ok, err := sameContent(out, c.GetSha256(), c.GetSizeBytes()); err != nil {
				return err
			} else if ok {
				return a.reportSaved(out, name, &document{fileName: c.GetFileName(), sha256: c.GetSha256(), size: c.GetSizeBytes(), conf: c, kept: true})
			}
		}
	}
	doc, err := a.saveDocument(ctx, confirmationStream(name), out, nil)
	if err != nil {
		return err
	}
	return a.reportSaved(out, name, doc)
}

// reportSaved tells what was saved in out: on stdout, unless the document itself went
// there; as JSON, the confirmation (or the report's description).
func (a *app) reportSaved(out, what string, doc *document) error {
	if out == "-" {
		return nil
	}
	if a.json {
		if doc.conf != nil {
			return a.printJSON(doc.conf)
		}
		return a.printJSON(&pb.GetTallyReportResponse{FileName: doc.fileName, Sha256: doc.sha256, SizeBytes: doc.size})
	}
	verb := "saved"
	if doc.kept {
		verb = "already there"
	}
	_, err := fmt.Fprintf(a.stdout, "%s: %s, %s, %s, sha256 %s\n", verb, printable(out), what, sizeWords(doc.size), doc.sha256)
	return err
}

// downloadAll saves every confirmation of poll that the caller may read in dir, one file
// each under the name the server gives it, and then says what it did.
func (a *app) downloadAll(ctx context.Context, poll, dir string) error {
	req := &pb.ListConfirmationsRequest{Poll: poll, PageSize: maxPageSize}
	confs, _, err := listPages(ctx, a, services.ListConfirmations, req, &req.PageToken, true,
		(*pb.ListConfirmationsResponse).GetConfirmations)
	if err != nil {
		return err
	}
	// Every file name is checked before anything is written: a bad or repeated name
	// would otherwise leave half a folder.
	paths := make([]string, len(confs))
	seen := map[string]string{}
	var total int64
	for i, c := range confs {
		fn, err := safeFileName(c)
		if err != nil {
			return err
		}
		if other, dup := seen[strings.ToLower(fn)]; dup {
			return fmt.Errorf("the server gives %s and %s the same file name %q; nothing was saved", printable(other), printable(c.GetName()), fn)
		}
		seen[strings.ToLower(fn)] = c.GetName()
		paths[i] = filepath.Join(dir, fn)
		total += c.GetSizeBytes()
	}
	if len(confs) > 0 {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create the folder: %w", err)
		}
	}
	bar := a.newProgress(len(confs), total)
	var saved, kept int
	var bytes int64
	for i, c := range confs {
		ok, err := sameContent(paths[i], c.GetSha256(), c.GetSizeBytes())
		if err == nil && !ok {
			_, err = a.saveDocument(ctx, confirmationStream(c.GetName()), paths[i], bar)
			saved++
			bytes += c.GetSizeBytes()
		} else if err == nil {
			kept++
		}
		if err != nil {
			bar.clear()
			return err
		}
		bar.fileDone(c.GetSizeBytes())
	}
	bar.clear()
	if a.json {
		return a.printJSON(&pb.ListConfirmationsResponse{Confirmations: confs})
	}
	if len(confs) == 0 {
		_, err := fmt.Fprintf(a.stdout, "no confirmations of %s to save\n", poll)
		return err
	}
	line := fmt.Sprintf("%s of %s in %s: %d saved (%s)", plural(len(confs), "confirmation", "confirmations"), poll,
		printable(dir), saved, sizeWords(bytes))
	if kept > 0 {
		line += fmt.Sprintf(", %d already there", kept)
	}
	_, err = fmt.Fprintln(a.stdout, line)
	return err
}

// safeFileName is the name under which a confirmation is saved: the server's file_name,
// or one made from the confirmation's name. Either must be a plain file name ending in
// .pdf, so that a server cannot make --dir write outside the folder (a backslash is a
// separator on Windows) or over a file of another kind that the user keeps there.
func safeFileName(c *pb.Confirmation) (string, error) {
	fn := c.GetFileName()
	if fn == "" {
		fn = strings.ReplaceAll(c.GetName(), "/", "-") + ".pdf"
	}
	if fn != filepath.Base(fn) || fn == "." || fn == ".." || strings.ContainsAny(fn, `/\:`) || strings.HasPrefix(fn, ".") ||
		printable(fn) != fn || strings.TrimSpace(fn) != fn || !strings.EqualFold(filepath.Ext(fn), ".pdf") {
		return "", fmt.Errorf("the server gives %s the file name %q, which is not a plain file name ending in .pdf; nothing was saved",
			printable(c.GetName()), printable(fn))
	}
	return fn, nil
}

// generateReport prints the confirmations issued, then one line: how many and when they
// are due.
func (a *app) generateReport(w io.Writer, resp *pb.GenerateConfirmationsResponse) error {
	confs := resp.GetConfirmations()
	if len(confs) > 0 {
		if err := confirmationsTable(w, confs, false); err != nil {
			return err
		}
	}
	deadline := resp.GetPoll().GetConfirmationDeadline()
	if deadline == nil && len(confs) > 0 {
		deadline = confs[0].GetDeadline()
	}
	line := fmt.Sprintf("%s issued for %s", plural(len(confs), "confirmation", "confirmations"), resp.GetPoll().GetName())
	if deadline != nil {
		line += ", due " + a.when(deadline)
	}
	if st := resp.GetPoll().GetState(); st != pb.PollState_POLL_STATE_UNSPECIFIED {
		line += "; the poll is " + enumWord(pollStateWords, st)
	}
	_, err := fmt.Fprintln(w, line)
	return err
}

// confirmationsTable lists confirmations, with their status when withStatus.
func confirmationsTable(w io.Writer, confs []*pb.Confirmation, withStatus bool) error {
	if len(confs) == 0 {
		_, err := fmt.Fprintln(w, "no confirmations")
		return err
	}
	header := []string{"NAME", "PERSON", "CHOICE"}
	if withStatus {
		header = append(header, "STATUS")
	}
	t := newTable(append(header, "SHA256", "SIZE")...)
	for _, c := range confs {
		row := []string{c.GetName(), c.GetFullName() + " (" + c.GetPerson() + ")", strings.Join(c.GetOptions(), "; ")}
		if withStatus {
			row = append(row, enumWord(confirmationStatusWords, c.GetStatus()))
		}
		t.add(append(row, shortHash(c.GetSha256()), sizeWords(c.GetSizeBytes()))...)
	}
	return t.write(w)
}

// shortHash is the start of a hex digest, enough to tell documents apart by eye.
func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// sizeWords is a size as people read it: bytes, or KB and MB with one decimal.
func sizeWords(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d B", n)
	case n < 1000*1000:
		return fmt.Sprintf("%.1f KB", float64(n)/1000)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/1000/1000)
}

var (
	confirmationStatusWords = map[pb.ConfirmationStatus]string{
		pb.ConfirmationStatus_CONFIRMATION_STATUS_AWAITING_SIGNATURE: "awaiting_signature",
		pb.ConfirmationStatus_CONFIRMATION_STATUS_SIGNED:             "signed",
		pb.ConfirmationStatus_CONFIRMATION_STATUS_MISMATCH:           "mismatch",
		pb.ConfirmationStatus_CONFIRMATION_STATUS_REJECTED:           "rejected",
		pb.ConfirmationStatus_CONFIRMATION_STATUS_DECLINED:           "declined",
		pb.ConfirmationStatus_CONFIRMATION_STATUS_OVERDUE:            "overdue",
	}
	confirmationStatusList = []string{"awaiting_signature", "signed", "mismatch", "rejected", "declined", "overdue"}
)

// errNoHeader is a stream that ended without saying what document it carried.
var errNoHeader = errors.New("the server sent the document without its SHA-256 and size")

// rejectedWords marks, in a reminder, a delegate whose submission was rejected: "the copy
// sent was refused, please send it again".
const rejectedWords = "(bản đã gửi bị từ chối, đề nghị gửi lại)"

// reminder is the message the Office pastes into the poll's Zalo group: who still owes a
// signed confirmation of the poll, whether awaited or rejected and owed again, and by when
// (Điều 7.2). Names are as in the electorate, in the order the service lists them.
func (a *app) reminder(p *pb.Poll, owed []*pb.Confirmation) string {
	what := "biểu quyết"
	if p.GetKind() == pb.PollKind_POLL_KIND_OPINION {
		what = "lấy ý kiến"
	}
	title := printLine(p.GetTitle())
	if len(owed) == 0 {
		return fmt.Sprintf("Các đại biểu đã gửi lại đủ Phiếu xác nhận kết quả %s \"%s\".\n", what, title)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Kính gửi các đồng chí đại biểu,\n")
	fmt.Fprintf(&b, "Thực hiện khoản 2 Điều 7 Quy chế, Văn phòng đề nghị các đồng chí có tên dưới đây ký và gửi lại Phiếu xác nhận kết quả %s \"%s\"", what, title)
	if d := owed[0].GetDeadline(); d != nil {
		fmt.Fprintf(&b, " trước %s", d.AsTime().In(a.loc).Format("15 giờ 04 phút, ngày 02/01/2006"))
	}
	b.WriteString(":\n")
	for i, c := range owed {
		fmt.Fprintf(&b, "%d. %s", i+1, printLine(c.GetFullName()))
		if c.GetStatus() == pb.ConfirmationStatus_CONFIRMATION_STATUS_REJECTED {
			b.WriteString(" " + rejectedWords)
		}
		b.WriteString("\n")
	}
	b.WriteString("Trân trọng cảm ơn.\n")
	return b.String()
}
