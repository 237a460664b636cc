package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	bq "github.com/bieuquyet/bieuquyet"
	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
)

// personFlags pairs each flag of people update with the field it sets, in the order of
// Person.
var personFlags = []string{
	"full-name", "full_name",
	"title", "title",
	"delegate", "delegate",
	"phone", "phone",
	"zalo-name", "zalo_name",
	"email", "email",
	"signing-identity", "signing_identity",
	"signing-cert", "signing_identity",
}

// personVars declares the flags that set a person's fields. The certificate named by
// --signing-cert is read by signingCert when the command runs.
func personVars(fs *flag.FlagSet, p *pb.Person, cert *string, delegateUsage string) {
	fs.StringVar(&p.FullName, "full-name", "", "full name, e.g. \"Nguyễn Văn Ân\"")
	fs.StringVar(&p.Title, "title", "", "title, e.g. \"Phó Chủ tịch HĐND tỉnh\"")
	fs.BoolVar(&p.Delegate, "delegate", false, delegateUsage)
	fs.StringVar(&p.Phone, "phone", "", "phone number of the person's Zalo account, e.g. \"0912 345 678\"")
	fs.StringVar(&p.ZaloName, "zalo-name", "", "display name in Zalo")
	fs.StringVar(&p.Email, "email", "", "e-mail address")
	fs.Var(&identityFlag{p}, "signing-identity", "signing identity `ID` of the person's certificates: cccd:079203000101, cmnd:271234567 or sha256:<fingerprint>; \"\" unbinds")
	fs.StringVar(cert, "signing-cert", "", "a signing certificate `FILE` (PEM or DER) whose SHA-256 fingerprint becomes the person's signing identity")
}

// identityFlag reads --signing-identity with the domain's parser, so that a mistyped
// number is refused before anything is sent.
type identityFlag struct{ p *pb.Person }

func (f *identityFlag) String() string {
	if f == nil || f.p == nil {
		return ""
	}
	return identityText(f.p.GetSigningIdentity())
}

func (f *identityFlag) Set(s string) error {
	id, err := bq.ParseSigningIdentity("signing_identity", s)
	if err != nil {
		if e := (*bq.Error)(nil); errors.As(err, &e) && len(e.Violations) == 1 {
			return errors.New(e.Violations[0].Description)
		}
		return err
	}
	f.p.SigningIdentity = identityPB(id)
	return nil
}

// signingCert binds the certificate named by --signing-cert, if given, as p's signing
// identity: the SHA-256 fingerprint of its DER encoding.
func (a *app) signingCert(fs *flag.FlagSet, p *pb.Person, file string) error {
	set := visited(fs)
	if !set["signing-cert"] {
		return nil
	}
	if set["signing-identity"] {
		return usageErrorf(fs.Name(), "give --signing-identity or --signing-cert, not both")
	}
	fp, err := a.certFingerprint(file)
	if err != nil {
		return err
	}
	p.SigningIdentity = &pb.SigningIdentity{Kind: pb.SigningIdentityKind_SIGNING_IDENTITY_KIND_CERT_SHA256, Value: fp}
	return nil
}

// maxCertSize bounds a certificate file; real ones are a few kilobytes.
const maxCertSize = 1 << 20

// certFingerprint reads one X.509 certificate, PEM or DER, and returns the lower-case hex
// SHA-256 of its DER encoding. A PEM file must hold exactly one certificate: a chain
// would leave it unclear which one signs.
func (a *app) certFingerprint(file string) (string, error) {
	content, err := a.readUpload(file, "certificate", maxCertSize)
	if err != nil {
		return "", err
	}
	der := content
	if bytes.Contains(content, []byte("-----BEGIN")) {
		der = nil
		rest := content
		for {
			var b *pem.Block
			b, rest = pem.Decode(rest)
			if b == nil {
				break
			}
			if b.Type != "CERTIFICATE" {
				continue
			}
			if der != nil {
				return "", fmt.Errorf("certificate %s holds more than one certificate; give the signer's own", file)
			}
			der = b.Bytes
		}
		if der == nil {
			return "", fmt.Errorf("certificate %s has no PEM CERTIFICATE block", file)
		}
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return "", fmt.Errorf("certificate %s is not an X.509 certificate (PEM or DER): %w", file, err)
	}
	sum := sha256.Sum256(cert.Raw)
	return hex.EncodeToString(sum[:]), nil
}

var identityKinds = map[bq.IdentityKind]pb.SigningIdentityKind{
	bq.IdentityCCCD:       pb.SigningIdentityKind_SIGNING_IDENTITY_KIND_CCCD,
	bq.IdentityCMND:       pb.SigningIdentityKind_SIGNING_IDENTITY_KIND_CMND,
	bq.IdentityCertSHA256: pb.SigningIdentityKind_SIGNING_IDENTITY_KIND_CERT_SHA256,
}

// identityPB is a parsed identity as the API sends it; the zero identity is an empty
// message, which unbinds.
func identityPB(id bq.SigningIdentity) *pb.SigningIdentity {
	return &pb.SigningIdentity{Kind: identityKinds[id.Kind], Value: id.Value}
}

// identityText is an identity for people to read: "CCCD 079203000101",
// "SHA256 3f0c…"; a value stored before identities had kinds is shown as it is, marked.
func identityText(id *pb.SigningIdentity) string {
	if id.GetValue() == "" {
		return ""
	}
	for kind, k := range identityKinds {
		if k == id.GetKind() {
			return bq.SigningIdentity{Kind: kind, Value: id.GetValue()}.Describe()
		}
	}
	return id.GetValue() + " (no kind: matches no certificate; set it anew)"
}

var peopleCommands = []*command{
	{
		path:     "people list",
		synopsis: "[--group GROUP] [--delegate|--delegate=false] [--active|--active=false] [--phone P] [--page-size N] [--page-token T] [--all]",
		summary:  "list people in id order: all of them, or a page at a time with --page-size",
		setup: func(fs *flag.FlagSet) action {
			var delegate, active optBool
			group := fs.String("group", "", "only members of this group")
			fs.Var(&delegate, "delegate", "only delegates (--delegate) or only non-delegates (--delegate=false)")
			fs.Var(&active, "active", "only active (--active) or only deactivated (--active=false) people")
			phone := fs.String("phone", "", "only the person with this phone number")
			pages := pageVars(fs, "people")
			return func(ctx context.Context, a *app, _ []string) error {
				if err := pages.check(fs.Name()); err != nil {
					return err
				}
				req := &pb.ListPeopleRequest{PageSize: pages.pageSize(), PageToken: pages.token, Phone: *phone,
					Delegate: delegate.ptr(), Active: active.ptr()}
				if *group != "" {
					name, err := a.groupName(ctx, fs.Name(), *group)
					if err != nil {
						return err
					}
					req.Group = name
				}
				people, next, err := listPages(ctx, a, services.ListPeople, req, &req.PageToken, pages.follow(),
					(*pb.ListPeopleResponse).GetPeople)
				if err != nil {
					return err
				}
				resp := &pb.ListPeopleResponse{People: people, NextPageToken: next}
				return a.showPage(resp, func(w io.Writer) error { return peopleTable(w, people) })
			}
		},
	},
	{
		path:    "people get",
		args:    []string{"PERSON"},
		summary: "show one person",
		setup: func(fs *flag.FlagSet) action {
			return func(ctx context.Context, a *app, args []string) error {
				name, err := a.personName(ctx, fs.Name(), args[0])
				if err != nil {
					return err
				}
				resp, err := call(ctx, a, services.GetPerson, &pb.GetPersonRequest{Name: name})
				if err != nil {
					return err
				}
				return a.show(resp, func(w io.Writer) error { return a.personFields(w, resp.GetPerson()) })
			}
		},
	},
	{
		path:     "people create",
		synopsis: "--full-name S --phone P [--title S] [--delegate] [--zalo-name S] [--email S] [--signing-identity ID | --signing-cert FILE]",
		summary:  "add a person (a delegate with --delegate; staff or a secretary without)",
		setup: func(fs *flag.FlagSet) action {
			p := &pb.Person{}
			var cert string
			personVars(fs, p, &cert, "the person is a delegate of the council, who votes")
			return func(ctx context.Context, a *app, _ []string) error {
				if err := requireFlags(fs, "full-name", "phone"); err != nil {
					return err
				}
				if err := a.signingCert(fs, p, cert); err != nil {
					return err
				}
				resp, err := call(ctx, a, services.CreatePerson, &pb.CreatePersonRequest{Person: p})
				if err != nil {
					return err
				}
				return a.show(resp, func(w io.Writer) error { return a.personFields(w, resp.GetPerson()) })
			}
		},
	},
	{
		path:     "people update",
		args:     []string{"PERSON"},
		synopsis: "[--full-name S] [--title S] [--delegate|--delegate=false] [--phone P] [--zalo-name S] [--email S] [--signing-identity ID | --signing-cert FILE]",
		summary:  "change a person's fields: exactly those given (an empty value clears a field)",
		setup: func(fs *flag.FlagSet) action {
			p := &pb.Person{}
			var cert string
			personVars(fs, p, &cert, "whether the person is a delegate: --delegate or --delegate=false")
			return func(ctx context.Context, a *app, args []string) error {
				paths := maskPaths(fs, personFlags...)
				if len(paths) == 0 {
					return nothingToUpdate(fs, personFlags...)
				}
				if err := a.signingCert(fs, p, cert); err != nil {
					return err
				}
				name, err := a.personName(ctx, fs.Name(), args[0])
				if err != nil {
					return err
				}
				p.Name = name
				resp, err := call(ctx, a, services.UpdatePerson, &pb.UpdatePersonRequest{
					Person: p, UpdateMask: &fieldmaskpb.FieldMask{Paths: paths}})
				if err != nil {
					return err
				}
				return a.show(resp, func(w io.Writer) error { return a.personFields(w, resp.GetPerson()) })
			}
		},
	},
	{
		path:    "people deactivate",
		args:    []string{"PERSON"},
		summary: "mark a person inactive and take them out of every group (people are never deleted)",
		setup: func(fs *flag.FlagSet) action {
			return func(ctx context.Context, a *app, args []string) error {
				name, err := a.personName(ctx, fs.Name(), args[0])
				if err != nil {
					return err
				}
				resp, err := call(ctx, a, services.DeactivatePerson, &pb.DeactivatePersonRequest{Name: name})
				if err != nil {
					return err
				}
				return a.show(resp, func(w io.Writer) error { return a.personFields(w, resp.GetPerson()) })
			}
		},
	},
}

func peopleTable(w io.Writer, people []*pb.Person) error {
	if len(people) == 0 {
		_, err := fmt.Fprintln(w, "no people")
		return err
	}
	t := newTable("PERSON", "FULL NAME", "TITLE", "DELEGATE", "PHONE", "SIGNING IDENTITY", "ACTIVE")
	for _, p := range people {
		id := identityText(p.GetSigningIdentity())
		if p.GetSigningIdentity().GetKind() == pb.SigningIdentityKind_SIGNING_IDENTITY_KIND_CERT_SHA256 && len(id) > len("SHA256 ")+16 {
			id = id[:len("SHA256 ")+16] + "…" // enough to tell certificates apart in a list; people get shows it whole
		}
		t.add(p.GetName(), p.GetFullName(), p.GetTitle(), yesNo(p.GetDelegate()), p.GetPhone(), id, yesNo(p.GetActive()))
	}
	return t.write(w)
}

func (a *app) personFields(w io.Writer, p *pb.Person) error {
	return fields(w,
		"name", p.GetName(),
		"full_name", p.GetFullName(),
		"title", p.GetTitle(),
		"delegate", yesNo(p.GetDelegate()),
		"phone", p.GetPhone(),
		"zalo_name", p.GetZaloName(),
		"email", p.GetEmail(),
		"signing_identity", identityText(p.GetSigningIdentity()),
		"active", yesNo(p.GetActive()),
		"created", a.when(p.GetCreateTime()),
		"updated", a.when(p.GetUpdateTime()),
	)
}
