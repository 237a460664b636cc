package client

import (
	"context"
	"errors"
	"strings"
	"time"
	// The council's zone must work on a machine without a time zone database.
	_ "time/tzdata"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	bq "github.com/bieuquyet/bieuquyet"
	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
)

const (
	// defaultTZ is the council's zone: times are shown, and read when they carry no
	// offset, in it, whatever the machine's zone.
	defaultTZ = "Asia/Ho_Chi_Minh"
	envTZ     = "BIEUQUYET_TZ"
)

// loadZone reads --tz: an IANA zone name, UTC, or Local for the machine's zone.
func loadZone(name string) (*time.Location, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, errors.New("--tz is empty")
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, errors.New("--tz: unknown time zone " + printable(name) + `: give a zone such as Asia/Ho_Chi_Minh, UTC or Local`)
	}
	return loc, nil
}

// when shows a moment in --tz, to the second, with its offset.
func (a *app) when(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return ""
	}
	return ts.AsTime().In(a.loc).Format("2006-01-02 15:04:05 -07:00")
}

// label names a reference to a person or a group as people read it, by name with the
// resource name beside it: "Nguyễn Văn Ân (people/12)". Other references, and those
// whose name could not be found, stay as they are. lookupNames finds the names first.
func (a *app) label(ref string) string {
	if n := a.names[ref]; n != "" {
		return n + " (" + ref + ")"
	}
	return ref
}

// rememberName records the display name of a person or group seen in a response, so that
// label needs no lookup for it.
func (a *app) rememberName(ref, name string) {
	if a.names == nil {
		a.names = map[string]string{}
	}
	if ref != "" && name != "" {
		a.names[ref] = name
	}
}

// bulkPeople is how many unknown people make lookupNames list everyone at once instead
// of asking for each.
const bulkPeople = 10

// lookupNames finds the names of the people and groups among refs that label will show,
// for tables only (JSON shows the response as it is). It looks each distinct reference
// up once per run: all groups with one listing; people one by one, or with one listing
// when there are many. A name that cannot be found (not visible to the caller, gone) is
// left out, and so is everything after an error of another kind: names are a help to
// read, and the command has its answer already.
func (a *app) lookupNames(ctx context.Context, refs ...string) {
	if a.json || a.lookupsBroken {
		return
	}
	if a.names == nil {
		a.names = map[string]string{}
	}
	var people, groups []string
	seen := map[string]bool{}
	for _, ref := range refs {
		if _, known := a.names[ref]; known || seen[ref] {
			continue
		}
		seen[ref] = true
		switch {
		case isRef(bq.People, ref):
			people = append(people, ref)
		case isRef(bq.Groups, ref):
			groups = append(groups, ref)
		}
	}
	if len(groups) > 0 && !a.groupsListed {
		a.groupsListed = true
		all, _, err := a.listGroups(ctx, &pb.ListGroupsRequest{}, true)
		if !a.lookupOK(err) {
			return
		}
		for _, g := range all {
			a.rememberName(g.GetName(), g.GetDisplayName())
		}
	}
	for _, g := range groups {
		if _, known := a.names[g]; !known {
			a.names[g] = "" // not visible to this caller: not asked again
		}
	}
	if len(people) > bulkPeople && !a.peopleListed {
		a.peopleListed = true
		req := &pb.ListPeopleRequest{PageSize: maxPageSize}
		all, _, err := listPages(ctx, a, services.ListPeople, req, &req.PageToken, true, (*pb.ListPeopleResponse).GetPeople)
		if !a.lookupOK(err) {
			return
		}
		for _, p := range all {
			a.rememberName(p.GetName(), p.GetFullName())
		}
	}
	for _, p := range people {
		if _, known := a.names[p]; known {
			continue
		}
		a.names[p] = ""
		resp, err := call(ctx, a, services.GetPerson, &pb.GetPersonRequest{Name: p})
		if !a.lookupOK(err) {
			return
		}
		a.rememberName(p, resp.GetPerson().GetFullName())
	}
}

// lookupOK reports whether lookupNames may go on after err: yes when it worked or the
// one name was not to be had; no, and no more lookups this run, for anything else.
func (a *app) lookupOK(err error) bool {
	switch status.Code(err) {
	case codes.OK, codes.NotFound, codes.PermissionDenied:
		return true
	}
	a.lookupsBroken = true
	return false
}

// isRef reports whether ref is the canonical name of a resource of collection c.
func isRef(c bq.Collection, ref string) bool {
	_, err := bq.ParseName("", c, ref)
	return err == nil
}
