package client

import (
	"context"
	"flag"
	"io"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
)

var councilCommands = []*command{
	{
		path:    "council get",
		summary: "show the council: its name, term and place",
		setup: func(fs *flag.FlagSet) action {
			return func(ctx context.Context, a *app, _ []string) error {
				resp, err := call(ctx, a, services.GetCouncil, &pb.GetCouncilRequest{})
				if err != nil {
					return err
				}
				return a.show(resp, func(w io.Writer) error { return a.councilFields(w, resp.GetCouncil()) })
			}
		},
	},
	{
		path:     "council update",
		synopsis: "[--name S] [--term S] [--place S]",
		summary:  "change the council's name, term or place (only those given); the first update creates the council",
		setup: func(fs *flag.FlagSet) action {
			c := &pb.Council{}
			fs.StringVar(&c.Name, "name", "", `full name, e.g. "Hội đồng nhân dân tỉnh Bình Dương"`)
			fs.StringVar(&c.Term, "term", "", `term, e.g. "khóa X, nhiệm kỳ 2021 - 2026"`)
			fs.StringVar(&c.Place, "place", "", `place written before the date on documents, e.g. "Bình Dương"`)
			return func(ctx context.Context, a *app, _ []string) error {
				fields := []string{"name", "name", "term", "term", "place", "place"}
				paths := maskPaths(fs, fields...)
				if len(paths) == 0 {
					return nothingToUpdate(fs, fields...)
				}
				resp, err := call(ctx, a, services.UpdateCouncil, &pb.UpdateCouncilRequest{
					Council: c, UpdateMask: &fieldmaskpb.FieldMask{Paths: paths}})
				if err != nil {
					return err
				}
				return a.show(resp, func(w io.Writer) error { return a.councilFields(w, resp.GetCouncil()) })
			}
		},
	},
}

func (a *app) councilFields(w io.Writer, c *pb.Council) error {
	return fields(w,
		"name", c.GetName(),
		"term", c.GetTerm(),
		"place", c.GetPlace(),
		"updated", a.when(c.GetUpdateTime()),
	)
}
