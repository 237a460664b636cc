package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/bieuquyet/bieuquyet/internal/signtest"
	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
	"github.com/bieuquyet/bieuquyet/store/sqlite"
)

// importRoster loads a roster file through the ImportRoster RPC.
func importRoster(ctx context.Context, cc *grpc.ClientConn, content []byte) error {
	_, err := pb.NewRosterServiceClient(cc).ImportRoster(ctx, &pb.ImportRosterRequest{Content: content})
	if err != nil {
		return fmt.Errorf("import the roster: %w", err)
	}
	return nil
}

// groupOf returns the name of the first group of a kind.
func groupOf(ctx context.Context, cc *grpc.ClientConn, kind pb.GroupKind) (string, error) {
	r, err := pb.NewRosterServiceClient(cc).ListGroups(ctx, &pb.ListGroupsRequest{Kind: kind, PageSize: 500})
	if err != nil {
		return "", err
	}
	if len(r.GetGroups()) == 0 {
		return "", fmt.Errorf("no group of kind %s", kind)
	}
	return r.GetGroups()[0].GetName(), nil
}

// openPoll opens a vote of body held in group, open for a day, and returns its name.
func openPoll(ctx context.Context, cc *grpc.ClientConn, body, group, title string) (string, error) {
	r, err := pb.NewPollServiceClient(cc).CreatePoll(ctx, &pb.CreatePollRequest{Poll: &pb.Poll{
		Body: body, Group: group, Kind: pb.PollKind_POLL_KIND_VOTE, Title: title,
		Question: "Đồng ý thông qua dự thảo nghị quyết?", DecisionRule: pb.DecisionRule_DECISION_RULE_MAJORITY_OF_ALL,
		Deadline: timestamppb.New(time.Now().Add(24 * time.Hour)),
	}})
	if err != nil {
		return "", fmt.Errorf("open a poll: %w", err)
	}
	return r.GetPoll().GetName(), nil
}

// councilPoll opens a vote of the Standing Committee held in the all-delegates group:
// every delegate of the roster (60 in examples/roster.csv) votes.
func councilPoll(ctx context.Context, cc *grpc.ClientConn, title string) (string, error) {
	body, err := groupOf(ctx, cc, pb.GroupKind_GROUP_KIND_STANDING_COMMITTEE)
	if err != nil {
		return "", err
	}
	all, err := groupOf(ctx, cc, pb.GroupKind_GROUP_KIND_ALL_DELEGATES)
	if err != nil {
		return "", err
	}
	return openPoll(ctx, cc, body, all, title)
}

// phones maps every person's name to their phone.
func phones(ctx context.Context, cc *grpc.ClientConn) (map[string]string, error) {
	out := map[string]string{}
	token := ""
	for {
		r, err := pb.NewRosterServiceClient(cc).ListPeople(ctx, &pb.ListPeopleRequest{PageSize: 500, PageToken: token})
		if err != nil {
			return nil, err
		}
		for _, p := range r.GetPeople() {
			out[p.GetName()] = p.GetPhone()
		}
		if token = r.GetNextPageToken(); token == "" {
			return out, nil
		}
	}
}

// voteList returns a CSV vote list that gives every voter of poll option round%3.
func voteList(ctx context.Context, cc *grpc.ClientConn, poll string, phoneOf map[string]string, round int) ([]byte, int, error) {
	r, err := pb.NewPollServiceClient(cc).GetPoll(ctx, &pb.GetPollRequest{Name: poll})
	if err != nil {
		return nil, 0, err
	}
	options := r.GetPoll().GetOptions()
	var b strings.Builder
	b.WriteString("phone,option\n")
	n := 0
	for _, v := range r.GetPoll().GetElectorate() {
		fmt.Fprintf(&b, "%s,%s\n", phoneOf[v.GetPerson()], options[round%len(options)])
		n++
	}
	return []byte(b.String()), n, nil
}

// importVotes records one vote list through ImportVotes.
func importVotes(ctx context.Context, cc *grpc.ClientConn, poll string, list []byte) (int, error) {
	r, err := pb.NewPollServiceClient(cc).ImportVotes(ctx, &pb.ImportVotesRequest{Poll: poll, Content: list, Format: pb.VoteListFormat_VOTE_LIST_FORMAT_CSV})
	if err != nil {
		return 0, fmt.Errorf("import votes into %s: %w", poll, err)
	}
	return len(r.GetVotes()), nil
}

// votedPoll opens a council poll and gives every voter a vote.
func votedPoll(ctx context.Context, cc *grpc.ClientConn, title string) (string, error) {
	poll, err := councilPoll(ctx, cc, title)
	if err != nil {
		return "", err
	}
	ph, err := phones(ctx, cc)
	if err != nil {
		return "", err
	}
	list, _, err := voteList(ctx, cc, poll, ph, 0)
	if err != nil {
		return "", err
	}
	_, err = importVotes(ctx, cc, poll, list)
	return poll, err
}

// bigDatabase returns the path of a database holding the sample roster and at least
// votes vote records in closed council polls, generating it through a server when the
// cache has none for this schema version, roster and count. The generated file is kept
// in cacheDir so that reruns are quick; the caller gets a copy to change.
func bigDatabase(ctx context.Context, bins *binaries, cacheDir, workDir string, roster []byte, votes int, logf func(string, ...any)) (string, time.Duration, error) {
	sum := sha256.Sum256(roster)
	name := fmt.Sprintf("votes-%d-schema-%d-roster-%s.db", votes, sqlite.SchemaVersion(), hex.EncodeToString(sum[:4]))
	cached := filepath.Join(cacheDir, name)
	var took time.Duration
	if _, err := os.Stat(cached); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(cacheDir, 0o750); err != nil {
			return "", 0, err
		}
		t0 := time.Now()
		tmp := filepath.Join(cacheDir, "generating-"+name)
		for _, f := range []string{tmp, tmp + "-wal", tmp + "-shm", tmp + ".lock"} {
			os.Remove(f)
		}
		if err := generateVotes(ctx, bins, tmp, roster, votes, logf); err != nil {
			return "", 0, fmt.Errorf("generate %d votes: %w", votes, err)
		}
		if err := os.Rename(tmp, cached); err != nil {
			return "", 0, err
		}
		took = time.Since(t0)
	} else if err != nil {
		return "", 0, err
	}
	dst := filepath.Join(workDir, "big.db")
	if err := copyFile(cached, dst); err != nil {
		return "", 0, err
	}
	return dst, took, nil
}

// generateVotes fills db with the roster and votes records through the server binary:
// council polls of every delegate, each given roundsPerPoll full vote lists that change
// every delegate's choice, then closed. Several polls are filled at once, so that the
// server's parsing overlaps the single writer.
func generateVotes(ctx context.Context, bins *binaries, db string, roster []byte, votes int, logf func(string, ...any)) error {
	const roundsPerPoll, workers = 17, 3
	s, err := startServer(ctx, bins.server, db, "")
	if err != nil {
		return err
	}
	defer s.stop()
	token, err := createToken(ctx, bins.server, db)
	if err != nil {
		return err
	}
	ctx = withToken(ctx, token)
	if err := importRoster(ctx, s.conn, roster); err != nil {
		return err
	}
	ph, err := phones(ctx, s.conn)
	if err != nil {
		return err
	}
	var made atomic.Int64
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	t0 := time.Now()
	for range workers {
		wg.Go(func() {
			for made.Load() < int64(votes) && ctx.Err() == nil {
				err := func() error {
					poll, err := councilPoll(ctx, s.conn, "Phiếu lấy mẫu")
					if err != nil {
						return err
					}
					for round := range roundsPerPoll {
						list, _, err := voteList(ctx, s.conn, poll, ph, round)
						if err != nil {
							return err
						}
						n, err := importVotes(ctx, s.conn, poll, list)
						if err != nil {
							return err
						}
						if total := made.Add(int64(n)); total/50000 != (total-int64(n))/50000 {
							logf("generated %d of %d votes (%.0f/s)", total, votes, float64(total)/time.Since(t0).Seconds())
						}
					}
					_, err = pb.NewPollServiceClient(s.conn).ClosePoll(ctx, &pb.ClosePollRequest{Name: poll})
					return err
				}()
				if err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	if first != nil {
		return first
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.stop()
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// syntheticVoter is one delegate of the synthetic roster.
type syntheticVoter struct {
	name, phone, identity string
}

var (
	familyNames = []string{"Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý"}
	middleNames = []string{"Văn", "Thị", "Hữu", "Đức", "Thanh", "Ngọc", "Minh", "Thu", "Quốc", "Bích"}
	givenNames  = []string{"An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Khoa", "Lan", "Long", "Mai", "Nam", "Phúc", "Quỳnh", "Sơn", "Tâm", "Thảo", "Trung", "Vy"}
)

// syntheticRoster returns a roster of n delegates, all members of one Ban, each with a
// CCCD signing identity: the issuing and verifying scenarios' 1,000-voter poll.
func syntheticRoster(n int) ([]byte, []syntheticVoter) {
	const group = "HĐND - Ban Thử tải"
	voters := make([]syntheticVoter, n)
	var b strings.Builder
	b.WriteString("record,name,term,place,kind,leader,title,delegate,phone,zalo_name,signing_identity,group,role\n")
	b.WriteString("council,Hội đồng nhân dân tỉnh Bình Dương,\"khóa X, nhiệm kỳ 2021 - 2026\",Bình Dương,,,,,,,,,\n")
	for i := range voters {
		v := &voters[i]
		v.name = fmt.Sprintf("%s %s %s", familyNames[i%len(familyNames)], middleNames[(i/len(familyNames))%len(middleNames)], givenNames[(i/7)%len(givenNames)])
		v.phone = fmt.Sprintf("091%07d", i+1)
		v.identity = fmt.Sprintf("CCCD:074%09d", 500000+i)
		fmt.Fprintf(&b, "person,%s,,,,,Đại biểu HĐND tỉnh,yes,%s,,%s,,\n", v.name, v.phone, v.identity)
	}
	fmt.Fprintf(&b, "group,%s,,,committee,%s,,,,,,,\n", group, voters[0].phone)
	for _, v := range voters {
		fmt.Fprintf(&b, "member,,,,,,,,%s,,,%s,member\n", v.phone, group)
	}
	return []byte(b.String()), voters
}

// issuingPoll opens a poll of the synthetic Ban, records every voter's choice and closes
// it, ready for GenerateConfirmations.
func issuingPoll(ctx context.Context, cc *grpc.ClientConn, voters []syntheticVoter, title string) (string, error) {
	group, err := groupOf(ctx, cc, pb.GroupKind_GROUP_KIND_COMMITTEE)
	if err != nil {
		return "", err
	}
	poll, err := openPoll(ctx, cc, group, group, title)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("phone,option\n")
	for i, v := range voters {
		fmt.Fprintf(&b, "%s,%s\n", v.phone, []string{"Tán thành", "Không tán thành", "Không biểu quyết"}[i%3])
	}
	if _, err := importVotes(ctx, cc, poll, []byte(b.String())); err != nil {
		return "", err
	}
	if _, err := pb.NewPollServiceClient(cc).ClosePoll(ctx, &pb.ClosePollRequest{Name: poll}); err != nil {
		return "", fmt.Errorf("close %s: %w", poll, err)
	}
	return poll, nil
}

// testPKI is a test CA with one certificate per synthetic voter. The certificates share
// one key: RSA generation would cost a second or more per voter on these machines, and
// the server checks each certificate's chain and holder, not that keys differ.
type testPKI struct {
	ca      *signtest.CA
	signers map[string]*signtest.Signer // by identity
}

func newTestPKI(voters []syntheticVoter, rootsDir string) (*testPKI, error) {
	ca, err := signtest.NewCAE("Bench CA")
	if err != nil {
		return nil, err
	}
	if err := signtest.WriteRootsE(rootsDir, ca); err != nil {
		return nil, err
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	p := &testPKI{ca: ca, signers: map[string]*signtest.Signer{}}
	now := time.Now()
	for i, v := range voters {
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(int64(1000 + i)),
			Subject: pkix.Name{CommonName: v.name, Country: []string{"VN"},
				ExtraNames: []pkix.AttributeTypeAndValue{{Type: signtest.OIDUID, Value: v.identity}}},
			NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0),
			BasicConstraintsValid: true,
			KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Intermediate, &key.PublicKey, ca.IntermediateKey)
		if err != nil {
			return nil, err
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, err
		}
		p.signers[v.identity] = &signtest.Signer{Certificate: cert, Key: key, Chain: []*x509.Certificate{cert, ca.Intermediate}, CA: ca}
	}
	return p, nil
}

// issuedDoc is a confirmation as issued and as signed.
type issuedDoc struct {
	name, person   string
	issue          time.Time
	issued, signed []byte
}

// download fetches every confirmation of poll.
func download(ctx context.Context, cc *grpc.ClientConn, poll string) ([]*issuedDoc, error) {
	client := pb.NewConfirmationServiceClient(cc)
	var docs []*issuedDoc
	token := ""
	for {
		r, err := client.ListConfirmations(ctx, &pb.ListConfirmationsRequest{Poll: poll, PageSize: 500, PageToken: token})
		if err != nil {
			return nil, err
		}
		for _, c := range r.GetConfirmations() {
			s, err := client.DownloadConfirmation(ctx, &pb.DownloadConfirmationRequest{Name: c.GetName()})
			if err != nil {
				return nil, err
			}
			d := &issuedDoc{name: c.GetName(), person: c.GetPerson(), issue: c.GetIssueTime().AsTime()}
			for {
				m, err := s.Recv()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					return nil, fmt.Errorf("download %s: %w", c.GetName(), err)
				}
				d.issued = append(d.issued, m.GetChunk()...)
			}
			docs = append(docs, d)
		}
		if token = r.GetNextPageToken(); token == "" {
			return docs, nil
		}
	}
}

// signAll signs every document as its delegate (identityOf maps people/N to their
// signing identity), on every core, and writes the signed files with the manifest
// bieuquyet-load's submit scenario reads.
func signAll(docs []*issuedDoc, pki *testPKI, identityOf map[string]string, dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	errs := make([]error, len(docs))
	parallel(len(docs), func(i int) {
		d := docs[i]
		signer := pki.signers[identityOf[d.person]]
		if signer == nil {
			errs[i] = fmt.Errorf("%s: %s has no certificate", d.name, d.person)
			return
		}
		d.signed, errs[i] = signer.SignE(d.issued, signtest.SignOptions{})
	})
	var manifest strings.Builder
	for i, d := range docs {
		if errs[i] != nil {
			return errs[i]
		}
		file := fmt.Sprintf("%04d.pdf", i)
		if err := os.WriteFile(filepath.Join(dir, file), d.signed, 0o600); err != nil {
			return err
		}
		fmt.Fprintf(&manifest, "%s\t%s\n", file, d.name)
	}
	return os.WriteFile(filepath.Join(dir, "manifest.tsv"), []byte(manifest.String()), 0o600)
}
