package server

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/types/known/timestamppb"

	bq "github.com/bieuquyet/bieuquyet"
	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
	"github.com/bieuquyet/bieuquyet/store"
)

type auditServer struct {
	pb.UnimplementedAuditServiceServer
	base
	store store.AuditStore
}

func (a *auditServer) ListAuditEvents(ctx context.Context, req *pb.ListAuditEventsRequest) (*pb.ListAuditEventsResponse, error) {
	size, err := pageSize("page_size", req.GetPageSize())
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	f := store.AuditFilter{Limit: size + 1, Target: req.GetTarget(), Actor: req.GetActor()}
	var vs bq.Violations
	f.Since = timeField(&vs, "start_time", req.GetStartTime())
	f.Until = timeField(&vs, "end_time", req.GetEndTime())
	if err := vs.Err("invalid filter"); err != nil {
		return nil, a.fail(ctx, err)
	}
	filter := fmt.Sprintf("%s|%s|%d|%d", f.Target, f.Actor, f.Since.UnixNano(), f.Until.UnixNano())
	if f.AfterSeq, err = parsePageToken("page_token", req.GetPageToken(), filter); err != nil {
		return nil, a.fail(ctx, err)
	}
	events, err := a.store.ListAuditEvents(ctx, f)
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	resp := &pb.ListAuditEventsResponse{}
	if len(events) > size {
		events = events[:size]
		resp.NextPageToken = pageToken(events[size-1].Seq, filter)
	}
	for _, e := range events {
		resp.Events = append(resp.Events, &pb.AuditEvent{
			Seq: e.Seq, Time: timestamppb.New(e.Time), Actor: e.Actor, Credential: e.Credential, Action: e.Action,
			Outcome: e.Outcome, Target: e.Target, RequestId: e.RequestID, Summary: e.Summary, PrevHash: e.PrevHash, Hash: e.Hash,
		})
	}
	return resp, nil
}

func (a *auditServer) VerifyAuditLog(ctx context.Context, req *pb.VerifyAuditLogRequest) (*pb.VerifyAuditLogResponse, error) {
	var known []store.KnownHead
	var vs bq.Violations
	for i, h := range req.GetKnownHeads() {
		if h.GetSeq() < 0 || len(h.GetHash()) != 32 {
			vs.Add(fmt.Sprintf("known_heads[%d]", i), "needs a seq of 0 or more and a 32-byte SHA-256 hash")
		}
		known = append(known, store.KnownHead{Seq: h.GetSeq(), Hash: h.GetHash()})
	}
	if err := vs.Err("invalid known heads"); err != nil {
		return nil, a.fail(ctx, err)
	}
	v, err := a.store.VerifyAuditLog(ctx, known...)
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	return &pb.VerifyAuditLogResponse{
		Ok: v.OK, EventsChecked: v.Count, Head: &pb.AuditHead{Seq: v.HeadSeq, Hash: v.HeadHash},
		FirstBadSeq: v.BadSeq, Problem: v.Problem,
	}, nil
}

func (a *auditServer) GetAuditHead(ctx context.Context, _ *pb.GetAuditHeadRequest) (*pb.GetAuditHeadResponse, error) {
	seq, hash, err := a.store.AuditHead(ctx)
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	return &pb.GetAuditHeadResponse{Head: &pb.AuditHead{Seq: seq, Hash: hash}}, nil
}
