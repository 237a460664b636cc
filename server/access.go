package server

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	bq "github.com/bieuquyet/bieuquyet"
	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
	"github.com/bieuquyet/bieuquyet/store"
)

// DefaultTokenTTL is how long a token lives when its creator does not say.
const DefaultTokenTTL = 90 * 24 * time.Hour

type accessServer struct {
	pb.UnimplementedAccessServiceServer
	base
	store store.Store
	now   func() time.Time
}

var tokenRoles = map[pb.TokenRole]bq.TokenRole{
	pb.TokenRole_TOKEN_ROLE_ADMIN:       bq.TokenAdmin,
	pb.TokenRole_TOKEN_ROLE_SECRETARIAT: bq.TokenSecretariat,
	pb.TokenRole_TOKEN_ROLE_PERSON:      bq.TokenPerson,
}

func tokenRolePB(r bq.TokenRole) pb.TokenRole {
	for p, d := range tokenRoles {
		if d == r {
			return p
		}
	}
	return pb.TokenRole_TOKEN_ROLE_UNSPECIFIED
}

func (a *accessServer) CreateToken(ctx context.Context, req *pb.CreateTokenRequest) (*pb.CreateTokenResponse, error) {
	in := req.GetToken()
	if in == nil {
		return nil, a.fail(ctx, bq.Invalid("token", "is required"))
	}
	now := a.now()
	t := &bq.Token{Name: bq.CleanText(nfc(in.GetDisplayName())), Role: tokenRoles[in.GetRole()]}
	var vs bq.Violations
	if in.GetPerson() != "" {
		id, err := bq.ParseName("token.person", bq.People, in.GetPerson())
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		t.PersonID = id
	}
	ttl := DefaultTokenTTL
	if req.GetTtl() != nil {
		if ttl = req.GetTtl().AsDuration(); ttl <= 0 {
			vs.Add("ttl", "must be positive")
		}
	}
	t.ExpireTime = now.Add(ttl).UTC()
	for _, v := range t.Validate("token", now) {
		if v.Field == "token.expire_time" {
			v.Field = "ttl"
		}
		vs = append(vs, v)
	}
	key, err := requestKey(req)
	if err != nil {
		vs = append(vs, err.(*bq.Error).Violations...)
	}
	if err := vs.Err("invalid token"); err != nil {
		return nil, a.fail(ctx, err)
	}
	secret, hash, err := bq.NewTokenSecret()
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	t.Hash = hash
	out, err := a.store.CreateToken(ctx, auditFrom(ctx), t, key)
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	return &pb.CreateTokenResponse{Token: tokenPB(out), Secret: secret}, nil
}

func (a *accessServer) ListTokens(ctx context.Context, req *pb.ListTokensRequest) (*pb.ListTokensResponse, error) {
	size, err := pageSize("page_size", req.GetPageSize())
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	f := store.TokenFilter{Limit: size + 1, IncludeRevoked: req.GetShowRevoked()}
	if req.GetPerson() != "" {
		if f.PersonID, err = bq.ParseName("person", bq.People, req.GetPerson()); err != nil {
			return nil, a.fail(ctx, err)
		}
	}
	filter := fmt.Sprintf("%d|%t", f.PersonID, f.IncludeRevoked)
	if f.AfterID, err = parsePageToken("page_token", req.GetPageToken(), filter); err != nil {
		return nil, a.fail(ctx, err)
	}
	tokens, err := a.store.ListTokens(ctx, f)
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	resp := &pb.ListTokensResponse{}
	if len(tokens) > size {
		tokens = tokens[:size]
		resp.NextPageToken = pageToken(tokens[size-1].ID, filter)
	}
	for i := range tokens {
		resp.Tokens = append(resp.Tokens, tokenPB(&tokens[i]))
	}
	return resp, nil
}

func (a *accessServer) RevokeToken(ctx context.Context, req *pb.RevokeTokenRequest) (*pb.RevokeTokenResponse, error) {
	id, err := bq.ParseName("name", bq.Tokens, req.GetName())
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	t, err := a.store.RevokeToken(ctx, auditFrom(ctx), id)
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	a.access.fire()
	return &pb.RevokeTokenResponse{Token: tokenPB(t)}, nil
}

func (a *accessServer) WhoAmI(ctx context.Context, _ *pb.WhoAmIRequest) (*pb.WhoAmIResponse, error) {
	p := principalFrom(ctx)
	resp := &pb.WhoAmIResponse{
		Token: &pb.Token{Name: p.Credential(), DisplayName: p.TokenName, Role: tokenRolePB(p.Role), ExpireTime: ts(p.TokenExpiry)},
		Actor: p.Actor(),
	}
	if p.Person == nil {
		return resp, nil
	}
	resp.Token.Person = bq.PersonName(p.Person.ID)
	resp.Person = personPB(p.Person)
	groups, err := a.store.ListGroups(ctx, store.GroupFilter{MemberID: p.Person.ID, Limit: maxPageSize})
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	for _, g := range groups {
		resp.Memberships = append(resp.Memberships, &pb.Membership{Group: bq.GroupName(g.ID), DisplayName: g.DisplayName, Role: roles[p.Groups[g.ID]]})
	}
	return resp, nil
}

func tokenPB(t *bq.Token) *pb.Token {
	out := &pb.Token{
		Name: bq.TokenName(t.ID), DisplayName: t.Name, Role: tokenRolePB(t.Role), CreatedBy: t.CreatedBy,
		CreateTime: timestamppb.New(t.CreateTime), ExpireTime: timestamppb.New(t.ExpireTime),
	}
	if t.PersonID != 0 {
		out.Person = bq.PersonName(t.PersonID)
	}
	if !t.RevokeTime.IsZero() {
		out.RevokeTime = timestamppb.New(t.RevokeTime)
	}
	return out
}
