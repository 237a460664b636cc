package client

import (
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
)

// show prints a response: as JSON with --output json, else as table prints it.
func (a *app) show(m proto.Message, table func(w io.Writer) error) error {
	if a.json {
		return a.printJSON(m)
	}
	return table(a.stdout)
}

// printJSON prints one message as one JSON document.
func (a *app) printJSON(m proto.Message) error {
	b, err := marshalJSON(m, true)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(a.stdout, "%s\n", b)
	return err
}

// marshalJSON encodes m as JSON, over several lines or on one, with every invisible
// character escaped (see jsonEscapeInvisible).
func marshalJSON(m proto.Message, multiline bool) ([]byte, error) {
	b, err := protojson.MarshalOptions{Multiline: multiline, EmitUnpopulated: false}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode %s as JSON: %w", m.ProtoReflect().Descriptor().Name(), err)
	}
	return jsonEscapeInvisible(b), nil
}

// jsonEscapeInvisible escapes the characters that JSON may carry raw but that a terminal
// or a JavaScript parser would take for something else: U+2028 and U+2029 end a line in
// JavaScript, and format characters such as U+202E (right-to-left override) reorder
// what is shown. Outside ASCII such characters occur only inside strings, where \uXXXX
// means the same character, so the document is unchanged for a JSON reader.
func jsonEscapeInvisible(b []byte) []byte {
	var out []byte
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r < utf8.RuneSelf || !invisible(r) {
			if out != nil {
				out = append(out, b[i:i+size]...)
			}
			i += size
			continue
		}
		if out == nil {
			out = append(make([]byte, 0, len(b)+16), b[:i]...)
		}
		if r > 0xffff {
			r1, r2 := utf16.EncodeRune(r)
			out = fmt.Appendf(out, `\u%04x\u%04x`, r1, r2)
		} else {
			out = fmt.Appendf(out, `\u%04x`, r)
		}
		i += size
	}
	if out == nil {
		return b
	}
	return out
}

// invisible reports whether a terminal would not show r as text of its own: control
// characters, format characters (Cf: U+200B zero width space, U+202E right-to-left
// override, U+FEFF, …), line and paragraph separators, private use, surrogates and
// unassigned code points. Letters, combining marks (Vietnamese typed decomposed) and
// spaces are shown.
func invisible(r rune) bool {
	return !unicode.IsGraphic(r)
}

// printable returns s with every invisible character escaped as Go writes it (\u202e,
// \U000e0001, \x1b for a control character, \xff for a byte that is not UTF-8), so
// that text from the server cannot move the cursor, hide itself or reverse what
// follows it on the terminal. Callers turn line breaks and tabs into spaces first where
// they want them kept as white space.
func printable(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || invisible(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < 0x80 && invisible(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case r > 0xffff && invisible(r):
			fmt.Fprintf(&b, `\U%08x`, r)
		case invisible(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// printLine is oneLine and printable: a value from the server on one line of the
// terminal, showing only what it says.
func printLine(s string) string {
	return printable(oneLine(s))
}

// describe turns an error into what follows "bieuquyet: ": one line, then for a bad
// request one indented line per field violation.
func (a *app) describe(err error) string {
	st, ok := status.FromError(err)
	if !ok {
		return printLine(err.Error())
	}
	msg := printLine(st.Message())
	switch st.Code() {
	case codes.Unavailable:
		s := "cannot reach the server at " + a.addr
		if r := reason(msg); r != "" {
			s += ": " + r
		}
		return s
	case codes.DeadlineExceeded:
		return fmt.Sprintf("deadline exceeded: no answer from %s within %v (see --timeout)", a.addr, a.timeout)
	case codes.Canceled:
		return "cancelled"
	case codes.Internal:
		if msg == "internal error" {
			return "internal error in the server; its log has the details"
		}
		return "internal error in the server: " + msg
	}
	s := codeWords(st.Code()) + ": " + msg
	if st.Code() != codes.InvalidArgument {
		return s
	}
	var b strings.Builder
	b.WriteString(s)
	for _, d := range st.Details() {
		br, ok := d.(*errdetails.BadRequest)
		if !ok {
			continue
		}
		for _, v := range br.GetFieldViolations() {
			line := printLine(v.GetDescription())
			if v.GetField() != "" {
				line = printLine(v.GetField()) + ": " + line
			}
			if line == msg {
				continue // the message already says it
			}
			b.WriteString("\n  " + line)
		}
	}
	return b.String()
}

// reason keeps the end of a transport error, the part a person can act on:
// "…dial tcp 127.0.0.1:1: connect: connection refused" gives "connection refused".
func reason(msg string) string {
	msg = strings.Trim(msg, `"`)
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return strings.Trim(msg, `" `)
}

// codeWords spells a gRPC code in lower-case words: NotFound is "not found".
func codeWords(c codes.Code) string {
	var b strings.Builder
	for i, r := range c.String() {
		if unicode.IsUpper(r) && i > 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// fields prints "field: value" lines with the values aligned; pairs alternates names
// and values. Empty values are left out.
func fields(w io.Writer, pairs ...string) error {
	width := 0
	for i := 0; i+1 < len(pairs); i += 2 {
		width = max(width, len(pairs[i]))
	}
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			continue
		}
		if _, err := fmt.Fprintf(w, "%-*s %s\n", width+1, pairs[i]+":", printLine(pairs[i+1])); err != nil {
			return err
		}
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// The words for the enums, as the command line takes them and tables show them.
var (
	kindWords = map[pb.GroupKind]string{
		pb.GroupKind_GROUP_KIND_ALL_DELEGATES:      "all_delegates",
		pb.GroupKind_GROUP_KIND_STANDING_COMMITTEE: "standing_committee",
		pb.GroupKind_GROUP_KIND_COMMITTEE:          "committee",
		pb.GroupKind_GROUP_KIND_DELEGATE_GROUP:     "delegate_group",
	}
	roleWords = map[pb.MemberRole]string{
		pb.MemberRole_MEMBER_ROLE_LEADER: "leader",
		pb.MemberRole_MEMBER_ROLE_MEMBER: "member",
		pb.MemberRole_MEMBER_ROLE_STAFF:  "staff",
	}
	kindList = []string{"all_delegates", "standing_committee", "committee", "delegate_group"}

	tokenRoleWords = map[pb.TokenRole]string{
		pb.TokenRole_TOKEN_ROLE_ADMIN:       "admin",
		pb.TokenRole_TOKEN_ROLE_SECRETARIAT: "secretariat",
		pb.TokenRole_TOKEN_ROLE_PERSON:      "person",
	}
	tokenRoleList = []string{"admin", "secretariat", "person"}
)

// enumWord is the word for an enum value, or its proto name when it has none.
func enumWord[E interface {
	comparable
	String() string
}](words map[E]string, e E) string {
	if w, ok := words[e]; ok {
		return w
	}
	return e.String()
}

// enumFromWord is the enum value of a word; the zero value (UNSPECIFIED) for "".
func enumFromWord[E comparable](words map[E]string, w string) E {
	for e, s := range words {
		if s == w {
			return e
		}
	}
	var zero E
	return zero
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
