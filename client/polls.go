package client

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	bq "github.com/bieuquyet/bieuquyet"
	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
)

var pollCommands = []*command{
	{
		path: "poll open",
		synopsis: "--body GROUP --title T --question Q [--group GROUP] [--kind vote|opinion] [--option TEXT]... [--multiple]" +
			" [--rule " + strings.Join(ruleList, "|") + "] (--deadline TIME | --for DURATION) [--confirm-by TIME]" +
			" [--description D] [--zalo-ref REF] [--classification " + strings.Join(classificationList, "|") + "]",
		summary: "open a vote or an opinion poll and freeze its electorate: the delegates of the group at this moment",
		setup: func(fs *flag.FlagSet) action {
			var options listFlag
			var deadline, confirmBy momentFlag
			kind := enumFlag{value: "vote", allowed: pollKindList}
			rule := enumFlag{allowed: ruleList}
			class := enumFlag{allowed: classificationList}
			body := fs.String("body", "", "the body that opens the poll (GROUP): the Standing Committee, a Ban or a Tổ")
			group := fs.String("group", "", "where the poll is held (GROUP), if not the body's own group: the Standing Committee may poll all delegates")
			title := fs.String("title", "", "the poll's title")
			question := fs.String("question", "", "the question put to the delegates")
			description := fs.String("description", "", "more about the matter")
			fs.Var(&kind, "kind", "vote (Tán thành / Không tán thành / Không biểu quyết, decided by --rule) or opinion (the options of --option; decides nothing)")
			fs.Var(&options, "option", "an option of an opinion poll, in order (repeat it: 2 to 20)")
			multiple := fs.Bool("multiple", false, "an opinion poll in which a delegate may choose several options")
			fs.Var(&rule, "rule", "how a vote is decided: "+orList(ruleList)+" (default majority_of_all for a vote, none for an opinion poll)")
			fs.Var(&deadline, "deadline", "when the poll closes by itself: `TIME`, RFC 3339 or \"2026-03-01 17:00\" in --tz")
			length := fs.Duration("for", 0, "how long the poll stays open from now, e.g. 2h (instead of --deadline)")
			fs.Var(&confirmBy, "confirm-by", "when the written confirmations are due: `TIME`, after the deadline")
			zaloRef := fs.String("zalo-ref", "", "link or message id of the Zalo poll")
			fs.Var(&class, "classification", "the matter's security marking: "+orList(classificationList)+"; only none may be polled")
			reqID := requestIDVar(fs)
			return func(ctx context.Context, a *app, _ []string) error {
				if err := requireFlags(fs, "body", "title", "question"); err != nil {
					return err
				}
				id, err := requestID(fs, reqID)
				if err != nil {
					return err
				}
				set := visited(fs)
				switch {
				case set["deadline"] && set["for"]:
					return usageErrorf(fs.Name(), "give --deadline or --for, not both")
				case !set["deadline"] && !set["for"]:
					return usageErrorf(fs.Name(), "--deadline or --for is required")
				case set["for"] && *length <= 0:
					return usageErrorf(fs.Name(), "--for must be positive, not %v", *length)
				}
				p := &pb.Poll{
					Kind: enumFromWord(pollKindWords, kind.value), Title: *title, Question: *question, Description: *description,
					Options: options, MultipleChoice: *multiple, ZaloRef: *zaloRef,
					DecisionRule: enumFromWord(ruleWords, rule.value), Classification: enumFromWord(classificationWords, class.value),
					ConfirmationDeadline: confirmBy.timestamp(a.loc),
				}
				if !set["rule"] {
					p.DecisionRule = pb.DecisionRule_DECISION_RULE_MAJORITY_OF_ALL
					if p.Kind == pb.PollKind_POLL_KIND_OPINION {
						p.DecisionRule = pb.DecisionRule_DECISION_RULE_NONE
					}
				}
				if set["for"] {
					p.Deadline = timestamppb.New(time.Now().Add(*length))
				} else {
					p.Deadline = deadline.timestamp(a.loc)
				}
				if p.Body, err = a.groupName(ctx, fs.Name(), *body); err != nil {
					return err
				}
				if set["group"] {
					if p.Group, err = a.groupName(ctx, fs.Name(), *group); err != nil {
						return err
					}
				}
				// The request id makes a retry of this call return the poll the first one
				// opened, instead of opening a second.
				resp, err := call(ctx, a, services.CreatePoll, &pb.CreatePollRequest{Poll: p, RequestId: id})
				if err != nil {
					return err
				}
				return a.showPoll(ctx, resp, resp.GetPoll())
			}
		},
	},
	{
		path:     "poll list",
		synopsis: "[--group GROUP] [--state " + strings.Join(pollStateList, "|") + "] [--page-size N] [--page-token T] [--all]",
		summary:  "list polls, newest first: all of them, or a page at a time with --page-size",
		setup: func(fs *flag.FlagSet) action {
			state := enumFlag{allowed: pollStateList}
			group := fs.String("group", "", "only the polls held in this group (GROUP)")
			fs.Var(&state, "state", "only the polls in this state: "+orList(pollStateList))
			pages := pageVars(fs, "polls")
			return func(ctx context.Context, a *app, _ []string) error {
				if err := pages.check(fs.Name()); err != nil {
					return err
				}
				req := &pb.ListPollsRequest{PageSize: pages.pageSize(), PageToken: pages.token,
					State: enumFromWord(pollStateWords, state.value)}
				if *group != "" {
					var err error
					if req.Group, err = a.groupName(ctx, fs.Name(), *group); err != nil {
						return err
					}
				}
				polls, next, err := listPages(ctx, a, services.ListPolls, req, &req.PageToken, pages.follow(),
					(*pb.ListPollsResponse).GetPolls)
				if err != nil {
					return err
				}
				resp := &pb.ListPollsResponse{Polls: polls, NextPageToken: next}
				var refs []string
				for _, p := range polls {
					refs = append(refs, p.GetGroup())
				}
				a.lookupNames(ctx, refs...)
				return a.showPage(resp, func(w io.Writer) error { return a.pollsTable(w, polls) })
			}
		},
	},
	{
		path:    "poll show",
		args:    []string{"POLL"},
		summary: "show a poll and its frozen electorate",
		setup: func(fs *flag.FlagSet) action {
			return func(ctx context.Context, a *app, args []string) error {
				name, err := pollName(fs.Name(), args[0])
				if err != nil {
					return err
				}
				resp, err := call(ctx, a, services.GetPoll, &pb.GetPollRequest{Name: name})
				if err != nil {
					return err
				}
				p := resp.GetPoll()
				switch p.GetState() {
				case pb.PollState_POLL_STATE_CONFIRMING, pb.PollState_POLL_STATE_FINALIZED:
					if a.json {
						break
					}
					// Once confirmations are issued, what was confirmed in writing is the
					// result that will be official: show it with the poll.
					t, err := call(ctx, a, services.GetTally, &pb.GetTallyRequest{Poll: name})
					if err != nil {
						return err
					}
					a.lookupNames(ctx, p.GetBody(), p.GetGroup(), p.GetOpenedBy())
					return a.pollDetail(a.stdout, p, confirmedFields(t.GetTally())...)
				}
				return a.showPoll(ctx, resp, p)
			}
		},
	},
	{
		path:     "poll close",
		args:     []string{"POLL"},
		synopsis: "[--request-id ID]",
		summary:  "close an open poll before its deadline: no more votes",
		setup: func(fs *flag.FlagSet) action {
			reqID := requestIDVar(fs)
			return func(ctx context.Context, a *app, args []string) error {
				name, err := pollName(fs.Name(), args[0])
				if err != nil {
					return err
				}
				id, err := requestID(fs, reqID)
				if err != nil {
					return err
				}
				resp, err := call(ctx, a, services.ClosePoll, &pb.ClosePollRequest{Name: name, RequestId: id})
				if err != nil {
					return err
				}
				return a.showPoll(ctx, resp, resp.GetPoll())
			}
		},
	},
	{
		path:     "poll cancel",
		args:     []string{"POLL"},
		synopsis: "--reason TEXT [--request-id ID]",
		summary:  "cancel an open or closed poll, with the reason, which is recorded",
		setup: func(fs *flag.FlagSet) action {
			reason := fs.String("reason", "", "why the poll is cancelled")
			reqID := requestIDVar(fs)
			return func(ctx context.Context, a *app, args []string) error {
				if err := requireFlags(fs, "reason"); err != nil {
					return err
				}
				name, err := pollName(fs.Name(), args[0])
				if err != nil {
					return err
				}
				id, err := requestID(fs, reqID)
				if err != nil {
					return err
				}
				resp, err := call(ctx, a, services.CancelPoll, &pb.CancelPollRequest{Name: name, Reason: *reason, RequestId: id})
				if err != nil {
					return err
				}
				return a.showPoll(ctx, resp, resp.GetPoll())
			}
		},
	},
	{
		path:    "poll tally",
		args:    []string{"POLL"},
		summary: "count a poll: each option with a bar, the turnout, who has not voted, and the outcome under the poll's rule",
		setup: func(fs *flag.FlagSet) action {
			return func(ctx context.Context, a *app, args []string) error {
				name, err := pollName(fs.Name(), args[0])
				if err != nil {
					return err
				}
				resp, err := call(ctx, a, services.GetTally, &pb.GetTallyRequest{Poll: name})
				if err != nil {
					return err
				}
				return a.show(resp.GetTally(), func(w io.Writer) error { return tallyReport(w, resp.GetTally()) })
			}
		},
	},
	{
		path:     "poll watch",
		args:     []string{"POLL"},
		synopsis: "[--follow]",
		summary:  "show a poll's tally as votes come in, until the poll closes or is cancelled (--follow: on through the written confirmations, until it is finalized), or Ctrl-C",
		setup: func(fs *flag.FlagSet) action {
			follow := fs.Bool("follow", false, "go on watching after the poll closes, through its confirmations, until it is finalized or cancelled")
			return func(ctx context.Context, a *app, args []string) error {
				name, err := pollName(fs.Name(), args[0])
				if err != nil {
					return err
				}
				return a.watch(ctx, name, *follow)
			}
		},
	},
	pollReportCommand,
	pollReconcileCommand,
}

var voteCommands = []*command{
	{
		path:     "vote record",
		args:     []string{"POLL", "PERSON", "OPTION..."},
		synopsis: "[--source zalo|other] [--note TEXT] [--withdraw] [--request-id ID]",
		summary:  "record a delegate's choice (several OPTIONs in a multiple-choice poll), or take it back with --withdraw; the latest record counts",
		setup: func(fs *flag.FlagSet) action {
			source := enumFlag{allowed: voteSourceList}
			fs.Var(&source, "source", "how the choice reached you: zalo (the Zalo poll, the default) or other (a phone call when the app failed; needs --note)")
			note := fs.String("note", "", "how the choice was received, or anything the record should say")
			withdraw := fs.Bool("withdraw", false, "take the delegate's vote back (no OPTION)")
			reqID := requestIDVar(fs)
			return func(ctx context.Context, a *app, args []string) error {
				options := args[2:]
				switch {
				case !*withdraw && len(options) == 0:
					return usageErrorf(fs.Name(), "missing OPTION: give the option chosen, or --withdraw")
				case *withdraw && len(options) > 0:
					return usageErrorf(fs.Name(), "--withdraw takes no OPTION")
				}
				poll, err := pollName(fs.Name(), args[0])
				if err != nil {
					return err
				}
				person, err := a.personName(ctx, fs.Name(), args[1])
				if err != nil {
					return err
				}
				id, err := requestID(fs, reqID)
				if err != nil {
					return err
				}
				if len(options) > 0 {
					if options, err = a.resolveOptions(ctx, poll, options); err != nil {
						return err
					}
				}
				// The request id makes a retry of this call record nothing new.
				resp, err := call(ctx, a, services.RecordVote, &pb.RecordVoteRequest{Poll: poll, Person: person,
					Options: options, Withdraw: *withdraw, Source: enumFromWord(voteSourceWords, source.value),
					Note: *note, RequestId: id})
				if err != nil {
					return err
				}
				a.lookupNames(ctx, resp.GetVote().GetRecordedBy())
				return a.show(resp, func(w io.Writer) error { return a.voteFields(w, resp.GetVote()) })
			}
		},
	},
	{
		path:     "vote import",
		args:     []string{"POLL", "FILE"},
		synopsis: "[--dry-run] [--verbose] [--request-id ID]",
		summary:  "record the choices of a list (text pasted from the Zalo poll's voters, CSV or XLSX; - reads standard input), all or nothing, and count them by choice (--verbose: list each)",
		setup: func(fs *flag.FlagSet) action {
			dryRun := fs.Bool("dry-run", false, "say what would be recorded, record nothing; exit 1 when the list has problems, listing every one")
			verbose := fs.Bool("verbose", false, "list every vote recorded (or that would be), with the person it was matched to")
			reqID := requestIDVar(fs)
			return func(ctx context.Context, a *app, args []string) error {
				poll, err := pollName(fs.Name(), args[0])
				if err != nil {
					return err
				}
				id, err := requestID(fs, reqID)
				if err != nil {
					return err
				}
				content, err := a.readUpload(args[1], "vote list", maxVoteListSize)
				if err != nil {
					return err
				}
				resp, err := call(ctx, a, services.ImportVotes, &pb.ImportVotesRequest{Poll: poll, Content: content,
					Format: pb.VoteListFormat_VOTE_LIST_FORMAT_UNSPECIFIED, DryRun: *dryRun, RequestId: id})
				if err != nil {
					return err
				}
				if err := a.show(resp, func(w io.Writer) error { return voteImportReport(w, resp, *verbose) }); err != nil {
					return err
				}
				return a.reportProblems("the vote list", "nothing would be recorded", resp.GetProblems())
			}
		},
	},
	{
		path:     "vote list",
		args:     []string{"POLL"},
		synopsis: "[--page-size N] [--page-token T] [--all]",
		summary:  "list the current choice of each delegate who has one: all of them, or a page at a time with --page-size",
		setup: func(fs *flag.FlagSet) action {
			pages := pageVars(fs, "votes")
			return func(ctx context.Context, a *app, args []string) error {
				if err := pages.check(fs.Name()); err != nil {
					return err
				}
				poll, err := pollName(fs.Name(), args[0])
				if err != nil {
					return err
				}
				req := &pb.ListVotesRequest{Poll: poll, PageSize: pages.pageSize(), PageToken: pages.token}
				votes, next, err := listPages(ctx, a, services.ListVotes, req, &req.PageToken, pages.follow(),
					(*pb.ListVotesResponse).GetVotes)
				if err != nil {
					return err
				}
				resp := &pb.ListVotesResponse{Votes: votes, NextPageToken: next}
				a.lookupNames(ctx, recorders(votes)...)
				return a.showPage(resp, func(w io.Writer) error { return a.votesTable(w, votes) })
			}
		},
	},
	{
		path:    "vote history",
		args:    []string{"POLL", "PERSON"},
		summary: "list every record of a delegate's choice in a poll, oldest first",
		setup: func(fs *flag.FlagSet) action {
			return func(ctx context.Context, a *app, args []string) error {
				poll, err := pollName(fs.Name(), args[0])
				if err != nil {
					return err
				}
				person, err := a.personName(ctx, fs.Name(), args[1])
				if err != nil {
					return err
				}
				resp, err := call(ctx, a, services.ListVoteHistory, &pb.ListVoteHistoryRequest{Poll: poll, Person: person})
				if err != nil {
					return err
				}
				a.lookupNames(ctx, recorders(resp.GetVotes())...)
				return a.show(resp, func(w io.Writer) error { return a.historyTable(w, resp.GetVotes()) })
			}
		},
	},
}

// maxVoteListSize is the server's limit on a vote list (ImportVotesRequest.content). A
// larger file is refused here, before it crosses the network.
const maxVoteListSize = 2 << 20

// pollName turns a POLL argument, "polls/7" or "7", into a resource name.
func pollName(cmd, arg string) (string, error) {
	arg = strings.TrimSpace(arg)
	if name, ok := resourceName(bq.Polls, arg); ok {
		return name, nil
	}
	return "", usageErrorf(cmd, "%q is not a poll: use polls/ID or ID", arg)
}

// watch prints the tally of a poll each time it changes, until the poll stops taking
// votes or, with follow, until it can no longer change at all. The stream has no
// deadline of its own: it lasts until then, until ctx ends (Ctrl-C), which is a normal
// end too, or until the server ends it.
func (a *app) watch(ctx context.Context, poll string, follow bool) error {
	svc, err := a.services()
	if err != nil {
		return err
	}
	// Ending the stream's context ends the stream when watch stops first.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := svc.WatchPoll(ctx, &pb.WatchPollRequest{Poll: poll})
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	redraw := !a.json && isTerminal(a.stdout)
	for n := 0; ; n++ {
		resp, err := stream.Recv()
		switch {
		case errors.Is(err, io.EOF):
			return nil
		case err != nil && ctx.Err() != nil:
			return nil
		case err != nil:
			return err
		}
		t := resp.GetTally()
		if err := a.printWatched(t, redraw, n); err != nil {
			return err
		}
		switch t.GetState() {
		case pb.PollState_POLL_STATE_FINALIZED, pb.PollState_POLL_STATE_CANCELLED:
			return nil
		case pb.PollState_POLL_STATE_OPEN:
		default:
			if !follow {
				return nil // closed: the votes are in
			}
		}
	}
}

// printWatched prints the nth tally of a watch: a JSON line, or the report under its
// version, on a cleared screen when redraw.
func (a *app) printWatched(t *pb.Tally, redraw bool, n int) error {
	if a.json {
		b, err := marshalJSON(t, false)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(a.stdout, "%s\n", b)
		return err
	}
	var b strings.Builder
	switch {
	case redraw:
		b.WriteString("\x1b[H\x1b[2J") // home, then clear the screen
	case n > 0:
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "phiên bản %d\n", t.GetVersion())
	if err := tallyReport(&b, t); err != nil {
		return err
	}
	_, err := io.WriteString(a.stdout, b.String())
	return err
}

// isTerminal reports whether w is a terminal, which poll watch redraws in place.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// inactiveWords marks a delegate deactivated after the poll opened: "no longer active".
const inactiveWords = "không còn hoạt động"

// barWidth is the width of a full bar in a tally: every eligible delegate.
const barWidth = 30

// tallyReport prints a tally: one line per option with its count and a bar, the turnout,
// the names of those who have not voted, and the outcome in words; then, once
// confirmations are issued, the same for what was confirmed in writing.
func tallyReport(w io.Writer, t *pb.Tally) error {
	var b strings.Builder
	optionLines(&b, t.GetOptions(), t.GetEligible())
	fmt.Fprintf(&b, "Đã bỏ phiếu: %d/%d\n", t.GetVoted(), t.GetEligible())
	if missing := t.GetMissing(); len(missing) > 0 {
		names := make([]string, len(missing))
		for i, v := range missing {
			names[i] = printLine(v.GetFullName())
			if v.GetDeactivated() {
				names[i] += " (" + inactiveWords + ")"
			}
		}
		fmt.Fprintf(&b, "Chưa bỏ phiếu (%d): %s\n", len(missing), strings.Join(names, ", "))
	}
	// Delegates deactivated after the poll opened keep the vote they cast; say whose.
	var kept []string
	for _, o := range t.GetOptions() {
		for _, v := range o.GetVoters() {
			if v.GetDeactivated() {
				kept = append(kept, printLine(v.GetFullName()))
			}
		}
	}
	if len(kept) > 0 {
		fmt.Fprintf(&b, "Phiếu vẫn được tính của người %s (%d): %s\n", inactiveWords, len(kept), strings.Join(kept, ", "))
	}
	b.WriteString(outcomeWords(t) + "\n")
	if c := t.GetConfirmed(); c != nil {
		confirmedLines(&b, t, c)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// optionLines writes one line per option: its text, its count and a bar out of eligible.
func optionLines(b *strings.Builder, options []*pb.OptionCount, eligible int32) {
	width, digits := 0, 1
	for _, o := range options {
		width = max(width, cellWidth.StringWidth(printLine(o.GetOption())))
		digits = max(digits, len(strconv.Itoa(int(o.GetCount()))))
	}
	for _, o := range options {
		text := printLine(o.GetOption())
		line := text + strings.Repeat(" ", width-cellWidth.StringWidth(text)) + fmt.Sprintf("  %*d", digits, o.GetCount())
		if bar := tallyBar(o.GetCount(), eligible); bar != "" {
			line += "  " + bar
		}
		b.WriteString(line + "\n")
	}
}

// confirmedLines writes the tally of what was confirmed in writing (Điều 7.2), under a
// blank line: the written choices that count, how many of the eligible confirmed, the
// outcome under the same rule, and whether it is the official result, as it is once
// the poll is finalized.
func confirmedLines(b *strings.Builder, t *pb.Tally, c *pb.ConfirmedTally) {
	b.WriteString("\nXác nhận bằng văn bản:\n")
	optionLines(b, c.GetOptions(), c.GetEligible())
	fmt.Fprintf(b, "Đã xác nhận: %d/%d\n", c.GetConfirmed(), c.GetEligible())
	// The outcome in the same words as the recorded one's: a tally of the written choices.
	b.WriteString(outcomeWords(&pb.Tally{Options: c.GetOptions(), Voted: c.GetConfirmed(), Eligible: c.GetEligible(),
		DecisionRule: t.GetDecisionRule(), Required: c.GetRequired(), Outcome: c.GetOutcome(), State: t.GetState()}) + "\n")
	if c.GetOfficial() {
		b.WriteString("Đây là kết quả chính thức.\n")
	} else {
		b.WriteString("Chưa phải kết quả chính thức: đang chờ xác nhận bằng văn bản.\n")
	}
}

// tallyBar draws count out of eligible as up to barWidth blocks, rounded to the nearest;
// a count above zero gets at least one block.
func tallyBar(count, eligible int32) string {
	if count <= 0 || eligible <= 0 {
		return ""
	}
	n := (int64(count)*barWidth*2 + int64(eligible)) / (2 * int64(eligible))
	return strings.Repeat("█", int(min(max(n, 1), barWidth)))
}

// outcomeWords says a tally's outcome in Vietnamese, as the council says it: the votes in
// favour out of all eligible delegates (out of the votes cast under majority_of_cast) and
// the number needed.
func outcomeWords(t *pb.Tally) string {
	var inFavour int32
	if len(t.GetOptions()) > 0 {
		inFavour = t.GetOptions()[0].GetCount() // a vote's first option is "Tán thành"
	}
	of := fmt.Sprintf("%d/%d", inFavour, t.GetEligible())
	if t.GetDecisionRule() == pb.DecisionRule_DECISION_RULE_MAJORITY_OF_CAST {
		of = fmt.Sprintf("%d/%d phiếu", inFavour, t.GetVoted())
	}
	switch t.GetOutcome() {
	case pb.Outcome_OUTCOME_PASSED:
		return fmt.Sprintf("Thông qua: %s tán thành, cần %d", of, t.GetRequired())
	case pb.Outcome_OUTCOME_FAILED:
		return fmt.Sprintf("Không thông qua: %s tán thành, cần %d", of, t.GetRequired())
	case pb.Outcome_OUTCOME_PENDING:
		return fmt.Sprintf("Đang biểu quyết: %s tán thành, cần %d để thông qua", of, t.GetRequired())
	case pb.Outcome_OUTCOME_NOT_APPLICABLE:
		if t.GetState() == pb.PollState_POLL_STATE_CANCELLED {
			return "Đã hủy"
		}
		return "Lấy ý kiến: không áp dụng quy tắc biểu quyết"
	}
	return "Kết quả chưa xác định: " + t.GetOutcome().String()
}

func (a *app) pollsTable(w io.Writer, polls []*pb.Poll) error {
	if len(polls) == 0 {
		_, err := fmt.Fprintln(w, "no polls")
		return err
	}
	t := newTable("POLL", "TITLE", "GROUP", "KIND", "STATE", "DEADLINE", "ELIGIBLE")
	for _, p := range polls {
		t.add(p.GetName(), p.GetTitle(), a.label(p.GetGroup()), enumWord(pollKindWords, p.GetKind()),
			enumWord(pollStateWords, p.GetState()), a.when(p.GetDeadline()), strconv.Itoa(int(p.GetEligibleCount())))
	}
	return t.write(w)
}

// showPoll shows a response that carries a poll, with the names of its groups and of
// who opened it looked up for a table.
func (a *app) showPoll(ctx context.Context, resp proto.Message, p *pb.Poll) error {
	a.lookupNames(ctx, p.GetBody(), p.GetGroup(), p.GetOpenedBy())
	return a.show(resp, func(w io.Writer) error { return a.pollDetail(w, p) })
}

// recorders returns who recorded each vote.
func recorders(votes []*pb.Vote) []string {
	refs := make([]string, len(votes))
	for i, v := range votes {
		refs[i] = v.GetRecordedBy()
	}
	return refs
}

// pollDetail prints a poll's fields, its options numbered from 1, the pairs of extra
// fields, then its electorate as a table when the response carries it.
func (a *app) pollDetail(w io.Writer, p *pb.Poll, extra ...string) error {
	options := make([]string, len(p.GetOptions()))
	for i, o := range p.GetOptions() {
		options[i] = fmt.Sprintf("%d. %s", i+1, oneLine(o))
	}
	multiple := ""
	if p.GetKind() == pb.PollKind_POLL_KIND_OPINION {
		multiple = yesNo(p.GetMultipleChoice())
	}
	class := ""
	if c := p.GetClassification(); c != pb.Classification_CLASSIFICATION_UNSPECIFIED {
		class = enumWord(classificationWords, c)
	}
	if err := fieldBlock(w, append(fieldPairs(
		"name", p.GetName(),
		"title", p.GetTitle(),
		"question", oneLine(p.GetQuestion()),
		"description", oneLine(p.GetDescription()),
		"body", a.label(p.GetBody()),
		"group", a.label(p.GetGroup()),
		"kind", enumWord(pollKindWords, p.GetKind()),
		"options", strings.Join(options, "\n"),
		"multiple_choice", multiple,
		"rule", enumWord(ruleWords, p.GetDecisionRule()),
		"deadline", a.when(p.GetDeadline()),
		"confirm_by", a.when(p.GetConfirmationDeadline()),
		"classification", class,
		"state", enumWord(pollStateWords, p.GetState()),
		"eligible", strconv.Itoa(int(p.GetEligibleCount())),
		"electorate_hash", p.GetElectorateHash(),
		"opened_by", a.label(p.GetOpenedBy()),
		"zalo_ref", p.GetZaloRef(),
		"cancel_reason", p.GetCancelReason(),
		"created", a.when(p.GetCreateTime()),
		"closed", a.when(p.GetCloseTime()),
		"updated", a.when(p.GetUpdateTime()),
	), extra...)...); err != nil {
		return err
	}
	if len(p.GetElectorate()) == 0 {
		return nil
	}
	if _, err := fmt.Fprintln(w); err != nil {
		return err
	}
	// Delegates deactivated since the poll opened stay in its frozen electorate; say so
	// only when there are any.
	deactivated := false
	for _, v := range p.GetElectorate() {
		deactivated = deactivated || v.GetDeactivated()
	}
	header := []string{"PERSON", "NAME", "ZALO NAME"}
	if deactivated {
		header = append(header, "DEACTIVATED")
	}
	t := newTable(header...)
	for _, v := range p.GetElectorate() {
		row := []string{v.GetPerson(), v.GetFullName(), v.GetZaloName()}
		if deactivated {
			row = append(row, yesNo(v.GetDeactivated()))
		}
		t.add(row...)
	}
	return t.write(w)
}

// fieldPairs is its arguments, pairs of a field's name and value, as one list.
func fieldPairs(pairs ...string) []string { return pairs }

// confirmedFields are the fields of poll show for the result confirmed in writing: how
// many confirmed of the eligible and each option's count, then the outcome and whether it
// is official. None before confirmations are issued.
func confirmedFields(t *pb.Tally) []string {
	c := t.GetConfirmed()
	if c == nil {
		return nil
	}
	counts := make([]string, len(c.GetOptions()))
	for i, o := range c.GetOptions() {
		counts[i] = fmt.Sprintf("%s %d", oneLine(o.GetOption()), o.GetCount())
	}
	confirmed := fmt.Sprintf("%d/%d in writing", c.GetConfirmed(), c.GetEligible())
	if len(counts) > 0 {
		confirmed += ": " + strings.Join(counts, ", ")
	}
	result, official := enumWord(outcomeWordsEN, c.GetOutcome()), " (official)"
	if !c.GetOfficial() {
		result, official = result+" so far", " (official once the poll is finalized)"
	}
	if c.GetRequired() > 0 {
		result += fmt.Sprintf(", %d in favour needed", c.GetRequired())
	}
	result += official
	return []string{"confirmed", confirmed, "confirmed_result", result}
}

// fieldBlock is fields for values that may be lists: each line of a value is one item,
// printed on a line of its own and aligned under the first. Other values must be on one
// line already.
func fieldBlock(w io.Writer, pairs ...string) error {
	width := 0
	for i := 0; i+1 < len(pairs); i += 2 {
		width = max(width, len(pairs[i]))
	}
	var b strings.Builder
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			continue
		}
		name := pairs[i] + ":"
		for _, line := range strings.Split(pairs[i+1], "\n") {
			fmt.Fprintf(&b, "%-*s %s\n", width+1, name, printLine(line))
			name = ""
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// choiceWords is what a vote chose: its options, or "withdrawn".
func choiceWords(v *pb.Vote) string {
	if v.GetWithdrawn() {
		return "withdrawn"
	}
	return strings.Join(v.GetOptions(), "; ")
}

func (a *app) voteFields(w io.Writer, v *pb.Vote) error {
	return fields(w,
		"poll", v.GetPoll(),
		"person", v.GetPerson(),
		"full_name", v.GetFullName(),
		"choice", choiceWords(v),
		"source", enumWord(voteSourceWords, v.GetSource()),
		"note", v.GetNote(),
		"recorded_by", a.label(v.GetRecordedBy()),
		"recorded", a.when(v.GetRecordTime()),
		"request_id", v.GetRequestId(),
	)
}

// voteImportReport prints how many votes an import records (or would) for each choice,
// with verbose every vote first, then one summary line.
func voteImportReport(w io.Writer, resp *pb.ImportVotesResponse, verbose bool) error {
	votes := resp.GetVotes()
	if verbose && len(votes) > 0 {
		t := newTable("PERSON", "NAME", "CHOICE")
		for _, v := range votes {
			t.add(v.GetPerson(), v.GetFullName(), choiceWords(v))
		}
		if err := t.write(w); err != nil {
			return err
		}
	}
	var choices []string
	count := map[string]int{}
	for _, v := range votes {
		c := choiceWords(v)
		if count[c] == 0 {
			choices = append(choices, c)
		}
		count[c]++
	}
	t := &table{}
	for _, c := range choices {
		t.add(c, strconv.Itoa(count[c]))
	}
	if err := t.write(w); err != nil {
		return err
	}
	n := plural(len(votes), "vote", "votes")
	var err error
	switch problems := plural(len(resp.GetProblems()), "problem", "problems"); {
	case len(resp.GetProblems()) > 0 && len(votes) == 0:
		_, err = fmt.Fprintf(w, "dry run: nothing would be recorded while the list has %s\n", problems)
	case len(resp.GetProblems()) > 0:
		_, err = fmt.Fprintf(w, "dry run: would record %s, %d unchanged, but nothing will be recorded while the list has %s\n",
			n, resp.GetUnchanged(), problems)
	case resp.GetDryRun():
		_, err = fmt.Fprintf(w, "dry run: would record %s, %d unchanged\n", n, resp.GetUnchanged())
	default:
		_, err = fmt.Fprintf(w, "recorded: %s, %d unchanged\n", n, resp.GetUnchanged())
	}
	return err
}

func (a *app) votesTable(w io.Writer, votes []*pb.Vote) error {
	if len(votes) == 0 {
		_, err := fmt.Fprintln(w, "no votes")
		return err
	}
	t := newTable("PERSON", "NAME", "CHOICE", "SOURCE", "RECORDED BY", "TIME")
	for _, v := range votes {
		t.add(v.GetPerson(), v.GetFullName(), choiceWords(v), enumWord(voteSourceWords, v.GetSource()),
			a.label(v.GetRecordedBy()), a.when(v.GetRecordTime()))
	}
	return t.write(w)
}

func (a *app) historyTable(w io.Writer, votes []*pb.Vote) error {
	if len(votes) == 0 {
		_, err := fmt.Fprintln(w, "no votes")
		return err
	}
	t := newTable("TIME", "CHOICE", "SOURCE", "NOTE", "RECORDED BY")
	for _, v := range votes {
		note := v.GetNote()
		if note == "" {
			note = "-"
		}
		t.add(a.when(v.GetRecordTime()), choiceWords(v), enumWord(voteSourceWords, v.GetSource()), note, a.label(v.GetRecordedBy()))
	}
	return t.write(w)
}

// The words for the poll enums, as the command line takes them and tables show them.
var (
	pollKindWords = map[pb.PollKind]string{
		pb.PollKind_POLL_KIND_VOTE:    "vote",
		pb.PollKind_POLL_KIND_OPINION: "opinion",
	}
	pollKindList = []string{"vote", "opinion"}

	ruleWords = map[pb.DecisionRule]string{
		pb.DecisionRule_DECISION_RULE_MAJORITY_OF_ALL:   "majority_of_all",
		pb.DecisionRule_DECISION_RULE_TWO_THIRDS_OF_ALL: "two_thirds_of_all",
		pb.DecisionRule_DECISION_RULE_MAJORITY_OF_CAST:  "majority_of_cast",
		pb.DecisionRule_DECISION_RULE_NONE:              "none",
	}
	ruleList = []string{"majority_of_all", "two_thirds_of_all", "majority_of_cast", "none"}

	classificationWords = map[pb.Classification]string{
		pb.Classification_CLASSIFICATION_NONE:      "none",
		pb.Classification_CLASSIFICATION_MAT:       "mat",
		pb.Classification_CLASSIFICATION_TOI_MAT:   "toi_mat",
		pb.Classification_CLASSIFICATION_TUYET_MAT: "tuyet_mat",
	}
	classificationList = []string{"none", "mat", "toi_mat", "tuyet_mat"}

	pollStateWords = map[pb.PollState]string{
		pb.PollState_POLL_STATE_OPEN:       "open",
		pb.PollState_POLL_STATE_CLOSED:     "closed",
		pb.PollState_POLL_STATE_CONFIRMING: "confirming",
		pb.PollState_POLL_STATE_FINALIZED:  "finalized",
		pb.PollState_POLL_STATE_CANCELLED:  "cancelled",
	}
	pollStateList = []string{"open", "closed", "confirming", "finalized", "cancelled"}

	voteSourceWords = map[pb.VoteSource]string{
		pb.VoteSource_VOTE_SOURCE_ZALO:  "zalo",
		pb.VoteSource_VOTE_SOURCE_OTHER: "other",
	}
	voteSourceList = []string{"zalo", "other"}
)

// listFlag is a repeatable flag: each use adds a value.
type listFlag []string

func (f *listFlag) String() string {
	if f == nil {
		return ""
	}
	return strings.Join(*f, ", ")
}

func (f *listFlag) Set(s string) error {
	*f = append(*f, s)
	return nil
}

// momentFlag is a moment given to the minute: RFC 3339, or a date and time in --tz. The
// zone is known only once the command runs, so Set checks the form and timestamp reads
// the moment.
type momentFlag struct {
	set bool
	s   string
}

func (f *momentFlag) String() string {
	if f == nil || !f.set {
		return ""
	}
	return f.s
}

func (f *momentFlag) Set(s string) error {
	s = strings.TrimSpace(s)
	if _, err := parseMoment(s, time.UTC); err != nil {
		return err
	}
	f.set, f.s = true, s
	return nil
}

// timestamp is the moment, read in loc when it has no offset; nil when not given.
func (f *momentFlag) timestamp(loc *time.Location) *timestamppb.Timestamp {
	if !f.set {
		return nil
	}
	t, _ := parseMoment(f.s, loc) // checked by Set
	return timestamppb.New(t)
}

func parseMoment(s string, loc *time.Location) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t, err = time.ParseInLocation("2006-01-02 15:04", s, loc)
	}
	if err != nil {
		return time.Time{}, errors.New(`must be RFC 3339, as in 2026-03-01T17:00:00+07:00, or a date and time in --tz, as in "2026-03-01 17:00"`)
	}
	return t, nil
}
