package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	bq "github.com/bieuquyet/bieuquyet"
	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
)

// What comes back for a written confirmation: digitally signed copies, scans of
// ink-signed paper the Office attests, declines, and the leader's settling of a mismatch;
// then, per delegate, the recorded vote beside the written one.
var returnCommands = []*command{
	{
		path:    "confirm show",
		args:    []string{"CONFIRMATION"},
		summary: "show a confirmation: its status, the choice written, why it was rejected or declined, how a mismatch was settled, the file that came back with its signer, and its history",
		setup: func(fs *flag.FlagSet) action {
			return func(ctx context.Context, a *app, args []string) error {
				name, err := confirmationName(fs.Name(), args[0])
				if err != nil {
					return err
				}
				resp, err := call(ctx, a, services.GetConfirmation, &pb.GetConfirmationRequest{Name: name})
				if err != nil {
					return err
				}
				refs := []string{resp.GetConfirmation().GetResolution().GetResolvedBy(), resp.GetConfirmation().GetEvidence().GetReceivedBy()}
				for _, s := range resp.GetHistory() {
					refs = append(refs, s.GetActor())
				}
				a.lookupNames(ctx, refs...)
				return a.show(resp, func(w io.Writer) error { return a.confirmationReport(w, resp) })
			}
		},
	},
	{
		path:     "confirm submit",
		args:     []string{"FILE..."},
		synopsis: "[--confirmation CONFIRMATION] [--request-id ID]",
		summary: "submit digitally signed confirmations, one PDF per FILE, each verified by the server and recorded as signed or rejected; " +
			"one line per file, then the counts; exit 1 when any was rejected or failed",
		setup: func(fs *flag.FlagSet) action {
			conf := fs.String("confirmation", "", "the confirmation the one FILE is for (default: the file says which it is)")
			reqID := requestIDVar(fs)
			return func(ctx context.Context, a *app, args []string) error {
				if len(args) == 0 {
					return usageErrorf(fs.Name(), "missing FILE: give the signed PDFs to submit")
				}
				set := visited(fs)
				var name string
				if set["confirmation"] {
					if len(args) > 1 {
						return usageErrorf(fs.Name(), "--confirmation names the confirmation of one FILE; %d were given", len(args))
					}
					var err error
					if name, err = confirmationName(fs.Name(), *conf); err != nil {
						return err
					}
				}
				ids, err := fileRequestIDs(fs, reqID, len(args))
				if err != nil {
					return err
				}
				return a.submitFiles(ctx, args, name, ids)
			}
		},
	},
	{
		path:     "confirm attest",
		args:     []string{"FILE"},
		synopsis: "[--confirmation CONFIRMATION] [--written OPTION]... [--request-id ID]",
		summary: "record an ink-signed paper confirmation the Office attests, with its scan (PDF, PNG or JPEG), found by its QR code unless named; " +
			"signed when the delegate marked the issued choice, mismatch when --written gives another",
		setup: func(fs *flag.FlagSet) action {
			var written listFlag
			conf := fs.String("confirmation", "", "the confirmation scanned (default: the server reads its QR code on the scan)")
			fs.Var(&written, "written", "an `OPTION` the delegate marked on paper, when not the issued choice (repeat it for several)")
			reqID := requestIDVar(fs)
			return func(ctx context.Context, a *app, args []string) error {
				var name string
				if visited(fs)["confirmation"] {
					var err error
					if name, err = confirmationName(fs.Name(), *conf); err != nil {
						return err
					}
				}
				id, err := requestID(fs, reqID)
				if err != nil {
					return err
				}
				options := []string(written)
				if name != "" && len(options) > 0 {
					// Without a name the poll is known only from the scan's QR code, which
					// the server reads: the options then go as typed.
					if options, err = a.resolveOptions(ctx, pollOf(name), options); err != nil {
						return err
					}
				}
				data, err := a.readUpload(args[0], "scan", maxUploadSize)
				if err != nil {
					return err
				}
				meta := &pb.PaperMetadata{Confirmation: name, FileName: baseName(args[0]), SizeBytes: int64(len(data)),
					WrittenOptions: options, RequestId: id}
				resp, err := upload(ctx, a, services.RecordPaperConfirmation,
					&pb.RecordPaperConfirmationRequest{Part: &pb.RecordPaperConfirmationRequest_Metadata{Metadata: meta}},
					func(b []byte) *pb.RecordPaperConfirmationRequest {
						return &pb.RecordPaperConfirmationRequest{Part: &pb.RecordPaperConfirmationRequest_Chunk{Chunk: b}}
					}, data, id, nil)
				if err != nil {
					return err
				}
				return a.show(resp, func(w io.Writer) error { return a.attestReport(w, resp) })
			}
		},
	},
	{
		path:     "confirm decline",
		args:     []string{"CONFIRMATION"},
		synopsis: "--reason TEXT [--choice OPTION]... [--request-id ID]",
		summary:  "record that the delegate declined to confirm in writing, with the reason they gave and, if they stated one, their choice",
		setup: func(fs *flag.FlagSet) action {
			var choice listFlag
			reason := fs.String("reason", "", "the delegate's stated reason for declining")
			fs.Var(&choice, "choice", "an `OPTION` the delegate states as their choice (repeat it for several)")
			reqID := requestIDVar(fs)
			return func(ctx context.Context, a *app, args []string) error {
				if err := requireFlags(fs, "reason"); err != nil {
					return err
				}
				name, err := confirmationName(fs.Name(), args[0])
				if err != nil {
					return err
				}
				id, err := requestID(fs, reqID)
				if err != nil {
					return err
				}
				options := []string(choice)
				if len(options) > 0 {
					if options, err = a.resolveOptions(ctx, pollOf(name), options); err != nil {
						return err
					}
				}
				resp, err := call(ctx, a, services.DeclineConfirmation, &pb.DeclineConfirmationRequest{Name: name, Reason: *reason,
					Options: options, RequestId: id})
				if err != nil {
					return err
				}
				return a.show(resp, func(w io.Writer) error { return a.changedConfirmation(w, resp.GetConfirmation(), resp.GetPoll()) })
			}
		},
	},
	{
		path:     "confirm resolve",
		args:     []string{"CONFIRMATION"},
		synopsis: "--note TEXT [--request-id ID]",
		summary:  "settle a mismatch, as the leader of the body that opened the poll: the delegate's written choice counts; the note says how it was settled",
		setup: func(fs *flag.FlagSet) action {
			note := fs.String("note", "", "how the mismatch was settled, e.g. who spoke to the delegate and when")
			reqID := requestIDVar(fs)
			return func(ctx context.Context, a *app, args []string) error {
				if err := requireFlags(fs, "note"); err != nil {
					return err
				}
				name, err := confirmationName(fs.Name(), args[0])
				if err != nil {
					return err
				}
				id, err := requestID(fs, reqID)
				if err != nil {
					return err
				}
				resp, err := call(ctx, a, services.ResolveMismatch, &pb.ResolveMismatchRequest{Name: name, Note: *note, RequestId: id})
				if err != nil {
					return err
				}
				a.lookupNames(ctx, resp.GetConfirmation().GetResolution().GetResolvedBy())
				return a.show(resp, func(w io.Writer) error { return a.changedConfirmation(w, resp.GetConfirmation(), resp.GetPoll()) })
			}
		},
	},
	{
		path:     "confirm reissue",
		args:     []string{"CONFIRMATION"},
		synopsis: "--choice OPTION [--choice OPTION]... --note TEXT [--request-id ID]",
		summary:  "settle a mismatch the other way, as the leader of the body that opened the poll: issue a new document confirming the corrected choice, for the delegate to sign again",
		setup: func(fs *flag.FlagSet) action {
			var choice listFlag
			note := fs.String("note", "", "why the confirmation is re-issued, e.g. the Office recorded the wrong choice from Zalo")
			fs.Var(&choice, "choice", "an `OPTION` of the corrected choice (repeat it for several)")
			reqID := requestIDVar(fs)
			return func(ctx context.Context, a *app, args []string) error {
				if err := requireFlags(fs, "note", "choice"); err != nil {
					return err
				}
				name, err := confirmationName(fs.Name(), args[0])
				if err != nil {
					return err
				}
				id, err := requestID(fs, reqID)
				if err != nil {
					return err
				}
				options, err := a.resolveOptions(ctx, pollOf(name), choice)
				if err != nil {
					return err
				}
				resp, err := call(ctx, a, services.ReissueConfirmation, &pb.ReissueConfirmationRequest{Name: name, Options: options,
					Note: *note, RequestId: id})
				if err != nil {
					return err
				}
				a.lookupNames(ctx, resp.GetConfirmation().GetReissue().GetResolvedBy())
				return a.show(resp, func(w io.Writer) error { return a.changedConfirmation(w, resp.GetConfirmation(), resp.GetPoll()) })
			}
		},
	},
}

// pollReconcileCommand is "poll reconcile", listed with the other poll commands.
var pollReconcileCommand = &command{
	path:    "poll reconcile",
	args:    []string{"POLL"},
	summary: "set each delegate's recorded choice beside the one confirmed in writing, then the recorded tally beside the confirmed one, which becomes the official result when the poll is finalized",
	setup: func(fs *flag.FlagSet) action {
		return func(ctx context.Context, a *app, args []string) error {
			poll, err := pollName(fs.Name(), args[0])
			if err != nil {
				return err
			}
			resp, err := call(ctx, a, services.GetReconciliation, &pb.GetReconciliationRequest{Poll: poll})
			if err != nil {
				return err
			}
			return a.show(resp, func(w io.Writer) error { return a.reconciliationReport(w, resp) })
		}
	},
}

// maxUploadSize is the server's limit on a file that comes back for a confirmation
// (server.MaxUpload). A larger file is refused here, before it crosses the network.
const maxUploadSize = 20 << 20

// uploadChunkSize is the size of the chunks a file is sent in.
const uploadChunkSize = 64 << 10

// maxConcurrentUploads bounds the files confirm submit sends at once: enough to keep the
// server's verifier busy while the next file crosses the network, few enough not to
// crowd out other callers.
const maxConcurrentUploads = 4

// confirmationName checks a CONFIRMATION argument: polls/ID/confirmations/ID.
func confirmationName(cmd, arg string) (string, error) {
	arg = strings.TrimSpace(arg)
	if _, _, err := bq.ParseConfirmationName("", arg); err != nil {
		return "", usageErrorf(cmd, "%q is not a confirmation: use polls/ID/confirmations/ID, as confirm list shows it", arg)
	}
	return arg, nil
}

// pollOf is the poll of a confirmation name already checked.
func pollOf(confirmation string) string {
	poll, _, _ := strings.Cut(strings.TrimPrefix(confirmation, string(bq.Polls)+"/"), "/")
	return string(bq.Polls) + "/" + poll
}

// baseName is the name of a file without its folder, as the server records it; "-" is
// standard input.
func baseName(path string) string {
	if path == "-" {
		return "stdin"
	}
	if i := strings.LastIndexAny(path, `/\`); i >= 0 {
		return path[i+1:]
	}
	return path
}

// fileRequestIDs returns one request id per file: --request-id itself for one file, and
// with "-1", "-2", … after it for several, so that running the same command again with
// the same --request-id sends each file under the id it had; new random ones otherwise.
func fileRequestIDs(fs *flag.FlagSet, given *string, n int) ([]string, error) {
	ids := make([]string, n)
	if !visited(fs)["request-id"] {
		for i := range ids {
			ids[i] = newRequestID()
		}
		return ids, nil
	}
	id, err := requestID(fs, given)
	if err != nil {
		return nil, err
	}
	if n == 1 {
		return []string{id}, nil
	}
	if suffix := len(fmt.Sprintf("-%d", n)); len(id)+suffix > maxRequestIDLen {
		return nil, usageErrorf(fs.Name(), "--request-id must have at most %d characters with %d files: each file's id adds -1 to -%d", maxRequestIDLen-suffix, n, n)
	}
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%d", id, i+1)
	}
	return ids, nil
}

// upload sends one file on a client stream: first the message that opens it, then the
// file in chunks of uploadChunkSize. Like call, it tries again from the start while the
// server cannot be reached or does not answer within --timeout; the request id makes the
// retry safe, and tags every attempt in the audit trail. sent, when not nil, hears of
// the bytes sent (negative when an attempt starts over).
func upload[Req, Resp any](ctx context.Context, a *app,
	open func(services, context.Context, ...grpc.CallOption) (grpc.ClientStreamingClient[Req, Resp], error),
	first *Req, chunk func([]byte) *Req, data []byte, id string, sent func(int64)) (*Resp, error) {
	svc, err := a.services()
	if err != nil {
		return nil, err
	}
	ctx = metadata.AppendToOutgoingContext(ctx, "x-request-id", id)
	backoff := firstBackoff
	for attempt := 1; ; attempt++ {
		var n int64
		resp, err := func() (*Resp, error) {
			actx, cancel := context.WithTimeout(ctx, a.timeout)
			defer cancel()
			s, err := open(svc, actx)
			if err != nil {
				return nil, err
			}
			if err := s.Send(first); err != nil && !errors.Is(err, io.EOF) {
				return nil, err
			}
			for off := 0; off < len(data); off += uploadChunkSize {
				b := data[off:min(off+uploadChunkSize, len(data))]
				// io.EOF means the server ended the call: CloseAndRecv says why.
				if err := s.Send(chunk(b)); errors.Is(err, io.EOF) {
					break
				} else if err != nil {
					return nil, err
				}
				n += int64(len(b))
				if sent != nil {
					sent(int64(len(b)))
				}
			}
			return s.CloseAndRecv()
		}()
		if err == nil || !transient(err) {
			return resp, err
		}
		if sent != nil {
			sent(-n)
		}
		err = &unsureError{err: err, requestID: id}
		if attempt == maxAttempts || ctx.Err() != nil {
			return nil, err
		}
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return nil, err
		}
		backoff *= 2
	}
}

// submitResult is what became of one file of confirm submit.
type submitResult struct {
	file string
	resp *pb.SubmitSignedConfirmationResponse
	err  error
}

// submitFiles sends each file as a signed confirmation, a few at a time, and prints one
// line per file in the order given, each as soon as it and those before it are done.
// name, when set, is the confirmation of the one file.
func (a *app) submitFiles(ctx context.Context, files []string, name string, ids []string) error {
	if _, err := a.services(); err != nil {
		return err
	}
	var total int64
	for _, f := range files {
		if size, ok := fileSize(f); ok {
			total += size
		}
	}
	bar := a.newUploadProgress(len(files), total)
	width := 0
	for _, f := range files {
		width = max(width, cellWidth.StringWidth(printable(f)))
	}

	results := make([]*submitResult, len(files))
	done := make([]chan struct{}, len(files))
	for i := range done {
		done[i] = make(chan struct{})
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(maxConcurrentUploads, len(files)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i] = a.submitOne(ctx, files[i], name, ids[i], bar)
				close(done[i])
			}
		}()
	}
	go func() {
		defer close(next)
		for i := range files {
			select {
			case next <- i:
			case <-ctx.Done():
				for j := i; j < len(files); j++ {
					results[j] = &submitResult{file: files[j], err: ctx.Err()}
					close(done[j])
				}
				return
			}
		}
	}()

	var accepted, rejected, failed int
	var finalized string
	var werr error
	for i := range files {
		<-done[i]
		r := results[i]
		switch {
		case r.err != nil:
			failed++
		case r.resp.GetAccepted():
			accepted++
		default:
			rejected++
		}
		if r.resp.GetPoll().GetState() == pb.PollState_POLL_STATE_FINALIZED {
			finalized = r.resp.GetPoll().GetName()
		}
		if werr == nil {
			bar.hide()
			werr = a.printSubmitResult(r, width)
			bar.show()
		}
	}
	wg.Wait()
	bar.hide()
	if werr != nil {
		return werr
	}
	if !a.json {
		line := fmt.Sprintf("%d accepted, %d rejected, %d failed", accepted, rejected, failed)
		if finalized != "" {
			line += "; " + finalized + " is finalized: every confirmation is settled, the confirmed result is official"
		}
		if _, err := fmt.Fprintln(a.stdout, line); err != nil {
			return err
		}
	}
	if rejected+failed > 0 {
		return errReported
	}
	return nil
}

// fileSize is the size of a file to send, when it can be known before reading it.
func fileSize(path string) (int64, bool) {
	if path == "-" {
		return 0, false
	}
	info, err := os.Stat(path)
	if err != nil || !info.Mode().IsRegular() {
		return 0, false
	}
	return info.Size(), true
}

// submitOne reads and sends one file.
func (a *app) submitOne(ctx context.Context, file, name, id string, bar *uploadProgress) *submitResult {
	r := &submitResult{file: file}
	defer bar.fileDone()
	data, err := a.readUpload(file, "file", maxUploadSize)
	if err != nil {
		r.err = err
		return r
	}
	meta := &pb.SubmissionMetadata{Confirmation: name, FileName: baseName(file), SizeBytes: int64(len(data)), RequestId: id}
	r.resp, r.err = upload(ctx, a, services.SubmitSignedConfirmation,
		&pb.SubmitSignedConfirmationRequest{Part: &pb.SubmitSignedConfirmationRequest_Metadata{Metadata: meta}},
		func(b []byte) *pb.SubmitSignedConfirmationRequest {
			return &pb.SubmitSignedConfirmationRequest{Part: &pb.SubmitSignedConfirmationRequest_Chunk{Chunk: b}}
		}, data, id, bar.add)
	return r
}

// printSubmitResult prints one file's line: ok, REJECTED or ERROR, the file, then the
// confirmation and who signed it or why it was refused; as JSON, one object on a line,
// with the file and the server's response or the error.
func (a *app) printSubmitResult(r *submitResult, width int) error {
	if a.json {
		return a.printSubmitJSON(r)
	}
	file := printable(r.file)
	file += strings.Repeat(" ", max(0, width-cellWidth.StringWidth(file)))
	var line string
	c := r.resp.GetConfirmation()
	switch {
	case r.err != nil:
		line = "ERROR    " + file + "  " + a.describe(r.err)
		var unsure *unsureError
		if errors.As(r.err, &unsure) {
			line += "; it may have arrived all the same: submitting the same file again is safe"
		}
	case r.resp.GetAccepted():
		line = "ok       " + file + "  " + printable(c.GetName()) + "  " + printLine(c.GetFullName())
		if s := r.resp.GetSigner(); s != nil {
			line += "  signed by " + quoted(s.GetSubject())
		}
		if r.resp.GetLate() {
			line += "  (late: recorded, not counted)"
		}
	default:
		line = "REJECTED " + file + "  " + printable(c.GetName()) + "  " + printLine(r.resp.GetReason()) + ": " + printLine(r.resp.GetMessage())
		if r.resp.GetLate() {
			line += "  (late)"
		}
	}
	_, err := fmt.Fprintln(a.stdout, strings.TrimRight(line, " "))
	return err
}

// printSubmitJSON prints {"file": …, "response": {…}} or {"file": …, "error": {"code":
// …, "message": …}} on one line: JSON Lines, one object per file as it is done.
func (a *app) printSubmitJSON(r *submitResult) error {
	out := struct {
		File     string          `json:"file"`
		Response json.RawMessage `json:"response,omitempty"`
		Error    *jsonError      `json:"error,omitempty"`
	}{File: r.file}
	if r.err != nil {
		st, _ := status.FromError(r.err)
		out.Error = &jsonError{Code: st.Code().String(), Message: st.Message()}
	} else {
		b, err := marshalJSON(r.resp, false)
		if err != nil {
			return err
		}
		out.Response = b
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := a.stdout.Write(jsonEscapeInvisible(buf.Bytes()))
	return err
}

// jsonError is an error as JSON output shows it: the gRPC code's name and the message.
type jsonError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// quoted is a value from the server in double quotes, on one line.
func quoted(s string) string {
	return `"` + printLine(s) + `"`
}

// uploadProgress draws a bar on stderr while files are sent, when stderr is a terminal:
// files done of all, bytes sent of all. Several uploads share it; a nil one draws
// nothing, and its methods may be called on nil.
type uploadProgress struct {
	mu    sync.Mutex
	bar   *progress
	sent  int64 // bytes sent of the files under way and done
	shown bool
}

func (a *app) newUploadProgress(files int, total int64) *uploadProgress {
	bar := a.newProgress(files, total)
	if bar == nil {
		return nil
	}
	return &uploadProgress{bar: bar, shown: true}
}

// add counts n bytes sent (negative when an attempt starts over).
func (u *uploadProgress) add(n int64) {
	if u == nil {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.sent += n
	u.bar.current = u.sent - u.bar.doneBytes
	if t := u.bar.now(); u.shown && t.Sub(u.bar.last) >= u.bar.interval {
		u.bar.last = t
		u.bar.draw()
	}
}

// fileDone counts one more file as done, sent or not.
func (u *uploadProgress) fileDone() {
	if u == nil {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.bar.doneFiles++
	if u.shown {
		u.bar.draw()
	}
}

// hide clears the bar for a line of output; show draws it again below.
func (u *uploadProgress) hide() {
	if u == nil {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.bar.clear()
	u.bar.drawn = false
	u.shown = false
}

func (u *uploadProgress) show() {
	if u == nil {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.shown = true
	u.bar.draw()
}

// attestReport prints the confirmation a paper copy settled, and what to do about a
// mismatch.
func (a *app) attestReport(w io.Writer, resp *pb.RecordPaperConfirmationResponse) error {
	c := resp.GetConfirmation()
	if err := fieldBlock(w,
		"confirmation", c.GetName(),
		"person", personWords(c),
		"status", a.statusWords(c),
		"issued", strings.Join(c.GetOptions(), "\n"),
		"written", strings.Join(c.GetWrittenOptions(), "\n"),
		"late", lateWords(resp.GetLate()),
		"scan", evidenceWords(c.GetEvidence()),
		"poll", pollStateLine(resp.GetPoll()),
	); err != nil {
		return err
	}
	if c.GetStatus() == pb.ConfirmationStatus_CONFIRMATION_STATUS_MISMATCH && c.GetResolution() == nil && !resp.GetLate() {
		_, err := fmt.Fprintf(w, "the written choice differs from the recorded one: it counts once the leader of the body settles it with 'bieuquyet confirm resolve %s --note TEXT'\n", printable(c.GetName()))
		return err
	}
	return nil
}

// changedConfirmation prints a confirmation after a decline or a resolution.
func (a *app) changedConfirmation(w io.Writer, c *pb.Confirmation, p *pb.Poll) error {
	return fieldBlock(w,
		"confirmation", c.GetName(),
		"person", personWords(c),
		"status", a.statusWords(c),
		"issued", strings.Join(c.GetOptions(), "\n"),
		"written", strings.Join(c.GetWrittenOptions(), "\n"),
		"reason", c.GetStatusReason(),
		"detail", oneLine(c.GetStatusDetail()),
		"resolution", resolutionWords(c.GetResolution()),
		"resolved_by", a.label(c.GetResolution().GetResolvedBy()),
		"resolved", a.when(c.GetResolution().GetResolveTime()),
		"reissued", resolutionWords(c.GetReissue()),
		"reissued_by", a.label(c.GetReissue().GetResolvedBy()),
		"reissued_at", a.when(c.GetReissue().GetResolveTime()),
		"poll", pollStateLine(p),
	)
}

// confirmationReport prints a confirmation's fields, then its history, oldest first.
func (a *app) confirmationReport(w io.Writer, resp *pb.GetConfirmationResponse) error {
	c := resp.GetConfirmation()
	ev := c.GetEvidence()
	s := ev.GetSigner()
	vote := a.when(c.GetVoteTime())
	if src := c.GetVoteSource(); src != pb.VoteSource_VOTE_SOURCE_UNSPECIFIED {
		vote = strings.TrimSpace(vote + " (" + enumWord(voteSourceWords, src) + ")")
	}
	if err := fieldBlock(w,
		"name", c.GetName(),
		"person", personWords(c),
		"choice", strings.Join(c.GetOptions(), "\n"),
		"vote", vote,
		"vote_note", oneLine(c.GetVoteNote()),
		"issued", a.when(c.GetIssueTime()),
		"deadline", a.when(c.GetDeadline()),
		"document", documentWords(c),
		"status", a.statusWords(c),
		"status_time", a.when(c.GetStatusTime()),
		"written", strings.Join(c.GetWrittenOptions(), "\n"),
		"reason", c.GetStatusReason(),
		"detail", oneLine(c.GetStatusDetail()),
		"resolution", resolutionWords(c.GetResolution()),
		"resolved_by", a.label(c.GetResolution().GetResolvedBy()),
		"resolved", a.when(c.GetResolution().GetResolveTime()),
		"reissued", resolutionWords(c.GetReissue()),
		"reissued_by", a.label(c.GetReissue().GetResolvedBy()),
		"reissued_at", a.when(c.GetReissue().GetResolveTime()),
		"evidence", evidenceWords(ev),
		"evidence_sha256", ev.GetSha256(),
		"received", receivedWords(a, ev),
		"signer", oneLine(s.GetSubject()),
		"signer_issuer", oneLine(s.GetIssuer()),
		"signer_serial", s.GetSerial(),
		"signer_sha256", s.GetSha256(),
		"signing_time", a.when(s.GetSigningTime()),
	); err != nil {
		return err
	}
	if _, err := fmt.Fprintln(w); err != nil {
		return err
	}
	return a.historyOfConfirmation(w, resp.GetHistory())
}

// historyOfConfirmation prints one line per step: when, who, what, the status it moved
// from and to, the choice written, and the reason or detail; "late" marks a step that
// came after the confirmation was overdue, recorded but not counted.
func (a *app) historyOfConfirmation(w io.Writer, steps []*pb.ConfirmationStep) error {
	if len(steps) == 0 {
		_, err := fmt.Fprintln(w, "history: issued, nothing since")
		return err
	}
	late := false
	for _, s := range steps {
		late = late || s.GetLate()
	}
	header := []string{"TIME", "ACTOR", "ACTION", "STATUS", "WRITTEN", "DETAIL"}
	if late {
		header = append(header[:4], append([]string{"LATE"}, header[4:]...)...)
	}
	t := newTable(header...)
	for _, s := range steps {
		move := enumWord(confirmationStatusWords, s.GetFromStatus()) + " → " + enumWord(confirmationStatusWords, s.GetToStatus())
		detail := oneLine(s.GetDetail())
		if r := s.GetReason(); r != "" && detail != "" {
			detail = r + ": " + detail
		} else if r != "" {
			detail = r
		}
		written := strings.Join(s.GetWrittenOptions(), "; ")
		row := []string{a.when(s.GetTime()), a.label(s.GetActor()), s.GetAction(), move}
		if late {
			row = append(row, yesNo(s.GetLate()))
		}
		t.add(append(row, dash(written), dash(detail))...)
	}
	return t.write(w)
}

// dash stands for an empty cell in the middle of a row.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func personWords(c *pb.Confirmation) string {
	if c.GetFullName() == "" {
		return c.GetPerson()
	}
	return c.GetFullName() + " (" + c.GetPerson() + ")"
}

// resolvedWords marks a mismatch the leader settled: it counts.
const resolvedWords = "(đã giải quyết)"

// statusWords is a confirmation's status, with the reason of a rejection and the mark
// of a resolved mismatch.
func (a *app) statusWords(c *pb.Confirmation) string {
	s := enumWord(confirmationStatusWords, c.GetStatus())
	switch c.GetStatus() {
	case pb.ConfirmationStatus_CONFIRMATION_STATUS_REJECTED:
		if r := c.GetStatusReason(); r != "" {
			s += ": " + r
		}
	case pb.ConfirmationStatus_CONFIRMATION_STATUS_MISMATCH:
		if c.GetResolution() != nil {
			s += " " + resolvedWords
		}
	}
	return s
}

func lateWords(late bool) string {
	if late {
		return "yes: the confirmation was overdue; the file is recorded, not counted"
	}
	return ""
}

func resolutionWords(r *pb.Resolution) string {
	if r == nil {
		return ""
	}
	s := r.GetKind()
	switch r.GetKind() {
	case bq.ResolutionWrittenCounts:
		s = "the written choice counts"
	case bq.ResolutionReissued:
		s = "re-issued with the corrected choice"
	}
	if n := oneLine(r.GetNote()); n != "" {
		s += ": " + n
	}
	return s
}

// documentWords describes the issued document.
func documentWords(c *pb.Confirmation) string {
	if c.GetSha256() == "" {
		return ""
	}
	parts := []string{}
	if c.GetFileName() != "" {
		parts = append(parts, c.GetFileName())
	}
	parts = append(parts, sizeWords(c.GetSizeBytes()), "sha256 "+c.GetSha256())
	return strings.Join(parts, ", ")
}

// evidenceWords describes a returned file: its kind, media type and size.
func evidenceWords(f *pb.ReturnedFile) string {
	if f == nil {
		return ""
	}
	kind := f.GetKind()
	switch kind {
	case string(bq.FileSignedPDF):
		kind = "signed PDF"
	case string(bq.FileScan):
		kind = "scan of the signed paper"
	}
	parts := []string{kind}
	if f.GetMediaType() != "" {
		parts = append(parts, f.GetMediaType())
	}
	return strings.Join(append(parts, sizeWords(f.GetSizeBytes())), ", ")
}

func receivedWords(a *app, f *pb.ReturnedFile) string {
	if f == nil {
		return ""
	}
	s := a.when(f.GetReceiveTime())
	if f.GetReceivedBy() != "" {
		s = strings.TrimSpace(s + " from " + a.label(f.GetReceivedBy()))
	}
	return s
}

// pollStateLine says where the poll is after a step, when it says.
func pollStateLine(p *pb.Poll) string {
	if p.GetName() == "" {
		return ""
	}
	s := p.GetName() + " is " + enumWord(pollStateWords, p.GetState())
	if p.GetState() == pb.PollState_POLL_STATE_FINALIZED {
		s += ": the confirmed result is official"
	}
	return s
}

// outcomeWordsEN are the outcomes as the English messages name them.
var outcomeWordsEN = map[pb.Outcome]string{
	pb.Outcome_OUTCOME_PASSED:         "passed",
	pb.Outcome_OUTCOME_FAILED:         "failed",
	pb.Outcome_OUTCOME_PENDING:        "pending",
	pb.Outcome_OUTCOME_NOT_APPLICABLE: "not_applicable",
}

// reconciliationReport prints the delegates' table, the two tallies side by side, a
// sentence when their outcomes differ, and whether the confirmed result is official.
func (a *app) reconciliationReport(w io.Writer, resp *pb.GetReconciliationResponse) error {
	t := newTable("DELEGATE", "RECORDED", "WRITTEN", "STATUS", "COUNTED")
	missing := map[string]int{}
	var order []string
	for _, r := range resp.GetRows() {
		v := r.GetVoter()
		who := v.GetFullName() + " (" + v.GetPerson() + ")"
		if v.GetDeactivated() {
			who += " (" + inactiveWords + ")"
		}
		c := r.GetConfirmation()
		status := "no vote, none issued"
		written := ""
		if c != nil {
			status = a.statusWords(c)
			written = strings.Join(c.GetWrittenOptions(), "; ")
			if !r.GetCounted() {
				why := notCountedWords(c)
				if missing[why] == 0 {
					order = append(order, why)
				}
				missing[why]++
			}
		}
		t.add(who, dash(strings.Join(r.GetRecordedOptions(), "; ")), dash(written), status, yesNo(r.GetCounted()))
	}
	if err := t.write(w); err != nil {
		return err
	}
	if _, err := fmt.Fprintln(w); err != nil {
		return err
	}
	rec, conf := resp.GetRecorded(), resp.GetConfirmed()
	tt := newTable("", "RECORDED", "CONFIRMED")
	for i, o := range rec.GetOptions() {
		var n int32
		if i < len(conf.GetOptions()) {
			n = conf.GetOptions()[i].GetCount()
		}
		tt.add(o.GetOption(), fmt.Sprint(o.GetCount()), fmt.Sprint(n))
	}
	tt.add("voted / confirmed", fmt.Sprintf("%d/%d", rec.GetVoted(), rec.GetEligible()), fmt.Sprintf("%d/%d", conf.GetConfirmed(), conf.GetEligible()))
	if rec.GetRequired() > 0 || conf.GetRequired() > 0 {
		tt.add("required", fmt.Sprint(rec.GetRequired()), fmt.Sprint(conf.GetRequired()))
	}
	tt.add("outcome", enumWord(outcomeWordsEN, rec.GetOutcome()), enumWord(outcomeWordsEN, conf.GetOutcome()))
	if err := tt.write(w); err != nil {
		return err
	}
	var b strings.Builder
	if s := outcomesDiffer(rec.GetOutcome(), conf.GetOutcome(), missing, order); s != "" {
		b.WriteString(s + "\n")
	}
	p := resp.GetPoll()
	switch {
	case conf.GetOfficial():
		fmt.Fprintf(&b, "The confirmed result is official: %s is finalized.\n", p.GetName())
	default:
		line := fmt.Sprintf("The confirmed result is not official yet: %s is %s until every confirmation is settled", p.GetName(), enumWord(pollStateWords, p.GetState()))
		if d := p.GetConfirmationDeadline(); d != nil {
			line += " or the deadline, " + a.when(d)
		}
		b.WriteString(line + ".\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// notCountedWords says why a confirmation is not in the confirmed tally.
func notCountedWords(c *pb.Confirmation) string {
	switch c.GetStatus() {
	case pb.ConfirmationStatus_CONFIRMATION_STATUS_AWAITING_SIGNATURE:
		return "awaiting signature"
	case pb.ConfirmationStatus_CONFIRMATION_STATUS_MISMATCH:
		return "a mismatch to resolve"
	}
	return enumWord(confirmationStatusWords, c.GetStatus())
}

// outcomesDiffer is the sentence that tells a recorded outcome from a different
// confirmed one, with the confirmations that do not count; "" when they agree or either
// does not apply.
func outcomesDiffer(rec, conf pb.Outcome, missing map[string]int, order []string) string {
	verb := map[pb.Outcome]string{pb.Outcome_OUTCOME_PASSED: "pass", pb.Outcome_OUTCOME_FAILED: "fail"}
	verb3 := map[pb.Outcome]string{pb.Outcome_OUTCOME_PASSED: "passes", pb.Outcome_OUTCOME_FAILED: "fails"}
	if rec == conf || verb[rec] == "" || verb[conf] == "" {
		return ""
	}
	s := fmt.Sprintf("The recorded votes %s, but the confirmed result %s", verb[rec], verb3[conf])
	n := 0
	for _, why := range order {
		n += missing[why]
	}
	if n == 0 {
		return s + "."
	}
	parts := make([]string, len(order))
	for i, why := range order {
		parts[i] = fmt.Sprintf("%d %s", missing[why], why)
	}
	are := "are"
	if n == 1 {
		are = "is"
	}
	return fmt.Sprintf("%s: %s %s missing (%s).", s, plural(n, "confirmation", "confirmations"), are, strings.Join(parts, ", "))
}
