package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
)

// BenchmarkRecordVoteWithWatchers records votes one after another, through the real
// server over bufconn, while 1 or 1,000 WatchPoll streams follow the poll. ns/op is a
// vote's latency; compare the two: the server's cost per change must not grow with the
// watchers. delay-p99-ms is, over every tenth vote, the 99th percentile of the time from
// the vote's answer to the moment the slowest watcher holds a tally at least that new.
//
// The watchers are other clients than the one who votes: they share a connection of
// their own. Their clients run in this process, on the same cores as the server, so they
// read only each tally's version (versionOnly): clients elsewhere would cost the server
// nothing to decode what it sent.
func BenchmarkRecordVoteWithWatchers(b *testing.B) {
	for _, watchers := range []int{1, 1000} {
		b.Run(fmt.Sprintf("watchers=%d", watchers), func(b *testing.B) {
			h := startPolls(b)
			poll := h.open(b, pb.DecisionRule_DECISION_RULE_MAJORITY_OF_ALL)
			voters := h.voters()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			conn, err := grpc.NewClient("passthrough:///bufnet",
				grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return h.lis.DialContext(ctx) }),
				grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			watch := pb.NewPollServiceClient(conn)

			// seen[i] is the newest version watcher i received, -1 before the first.
			seen := make([]atomic.Int64, watchers)
			var wg sync.WaitGroup
			for i := range watchers {
				seen[i].Store(-1)
				stream, err := watch.WatchPoll(withToken(ctx, h.admin), &pb.WatchPollRequest{Poll: poll.GetName()}, grpc.ForceCodec(versionOnly{}))
				if err != nil {
					b.Fatal(err)
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						m, err := stream.Recv()
						if err != nil {
							return
						}
						seen[i].Store(m.GetTally().GetVersion())
					}
				}()
			}
			// slowest is the oldest version a watcher holds.
			slowest := func() int64 {
				low := seen[0].Load()
				for i := range seen {
					low = min(low, seen[i].Load())
				}
				return low
			}
			for slowest() < 0 {
				time.Sleep(time.Millisecond)
			}
			// Each vote adds one to the poll's version.
			version := slowest()

			// Every vote changes the tally: the voters take turns, each switching option.
			options := []string{"Tán thành", "Không tán thành"}
			var delays []time.Duration
			var mu sync.Mutex
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				v := voters[i%len(voters)]
				_, err := h.polls.RecordVote(context.Background(), &pb.RecordVoteRequest{Poll: poll.GetName(), Person: v.GetPerson(),
					Options: []string{options[(i/len(voters))%2]}})
				if err != nil {
					b.Fatal(err)
				}
				version++
				// The delay of every tenth vote is measured off the vote path, by a
				// goroutine that polls the watchers.
				if i%10 == 0 {
					done := time.Now()
					wg.Add(1)
					go func(version int64) {
						defer wg.Done()
						for slowest() < version && ctx.Err() == nil {
							time.Sleep(200 * time.Microsecond)
						}
						mu.Lock()
						delays = append(delays, time.Since(done))
						mu.Unlock()
					}(version)
				}
			}
			b.StopTimer()
			deadline := time.Now().Add(30 * time.Second)
			for {
				mu.Lock()
				n := len(delays)
				mu.Unlock()
				if n == (b.N+9)/10 || time.Now().After(deadline) {
					break
				}
				time.Sleep(time.Millisecond)
			}
			cancel()
			wg.Wait()
			if len(delays) > 0 {
				sort.Slice(delays, func(i, j int) bool { return delays[i] < delays[j] })
				b.ReportMetric(float64(delays[len(delays)*99/100].Microseconds())/1000, "delay-p99-ms")
			}
		})
	}
}

// versionOnly is a client codec that decodes of a WatchPollResponse only its tally's
// version, and encodes requests as protobuf.
type versionOnly struct{}

func (versionOnly) Name() string { return "proto" }

func (versionOnly) Marshal(v any) ([]byte, error) { return proto.Marshal(v.(proto.Message)) }

func (versionOnly) Unmarshal(data []byte, v any) error {
	m, ok := v.(*pb.WatchPollResponse)
	if !ok {
		return proto.Unmarshal(data, v.(proto.Message))
	}
	m.Tally = &pb.Tally{}
	inTally := false
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return protowire.ParseError(n)
		}
		data = data[n:]
		if !inTally && num == 1 && typ == protowire.BytesType { // tally
			tally, n := protowire.ConsumeBytes(data)
			if n < 0 {
				return protowire.ParseError(n)
			}
			data, inTally = tally, true
			continue
		}
		if inTally && num == 2 && typ == protowire.VarintType { // tally.version
			version, n := protowire.ConsumeVarint(data)
			if n < 0 {
				return protowire.ParseError(n)
			}
			m.Tally.Version = int64(version)
			return nil
		}
		n = protowire.ConsumeFieldValue(num, typ, data)
		if n < 0 {
			return protowire.ParseError(n)
		}
		data = data[n:]
	}
	return errors.New("no tally version")
}
