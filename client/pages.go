package client

import (
	"context"
	"flag"
	"fmt"
	"io"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// pageFlags are the flags of every list command: --page-size, --page-token and --all.
// A list shows every item unless --page-size or --page-token asks for one page.
type pageFlags struct {
	fs    *flag.FlagSet
	size  int
	token string
	all   bool
}

// maxPageSize is the most items the server gives in one page.
const maxPageSize = 500

// pageVars declares the paging flags on fs; items names what a page holds ("people").
func pageVars(fs *flag.FlagSet, items string) *pageFlags {
	p := &pageFlags{fs: fs}
	fs.IntVar(&p.size, "page-size", 0, "show one page of this many "+items+" (server default 50, at most 500), and how to get the next")
	fs.StringVar(&p.token, "page-token", "", "start from this page, as printed after the previous page")
	fs.BoolVar(&p.all, "all", false, "with --page-size or --page-token, follow every page to the end (without them, the default)")
	return p
}

// check refuses a negative --page-size.
func (p *pageFlags) check(cmd string) error {
	if p.size < 0 {
		return usageErrorf(cmd, "--page-size must not be negative")
	}
	return nil
}

// follow reports whether to list every page: unless --page-size or --page-token asks
// for one page, or --all asks for every page all the same.
func (p *pageFlags) follow() bool {
	set := visited(p.fs)
	return p.all || (!set["page-size"] && !set["page-token"])
}

// pageSize is --page-size as a request's page_size: the most the server gives when every
// page is wanted and no size was asked for, so that a list takes few calls.
func (p *pageFlags) pageSize() int32 {
	if p.size == 0 && p.follow() {
		return maxPageSize
	}
	return int32(min(p.size, 1<<30))
}

// listPages calls a List RPC for the page req asks for and, with all, for every page
// after it, and returns the items of those pages in order and the token of the page after
// the last ("" when there is none). token points at req's page token, which it moves on
// from page to page.
func listPages[Req any, Resp interface{ GetNextPageToken() string }, Item any](ctx context.Context, a *app,
	rpc func(services, context.Context, Req, ...grpc.CallOption) (Resp, error), req Req, token *string, all bool,
	items func(Resp) []Item) ([]Item, string, error) {
	var out []Item
	for {
		page, err := call(ctx, a, rpc, req)
		if err != nil {
			return nil, "", err
		}
		out = append(out, items(page)...)
		next := page.GetNextPageToken()
		if !all || next == "" {
			return out, next, nil
		}
		if next == *token {
			return nil, "", fmt.Errorf("the server returned the same page token twice; stopping")
		}
		*token = next
	}
}

// showPage prints a page of a list, as show does, then says on stderr how to get the
// next page, when there is one.
func (a *app) showPage(resp interface {
	proto.Message
	GetNextPageToken() string
}, table func(w io.Writer) error) error {
	if err := a.show(resp, table); err != nil {
		return err
	}
	if token := resp.GetNextPageToken(); token != "" {
		fmt.Fprintf(a.stderr, "more: --page-token %s (or leave out --page-size and --page-token for every page)\n", printable(token))
	}
	return nil
}
