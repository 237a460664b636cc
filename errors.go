// Package bieuquyet is the domain of the service: the council's roster, its polls and
// votes, and the rules of their life (Điều 7.2 of the council's regulation); the written
// confirmations come next. It imports only the standard library; storage, transport and
// documents live in their own packages and speak in these types.
package bieuquyet

import (
	"errors"
	"fmt"
	"strings"
)

// Code classifies a domain error. The server maps each code to one gRPC code in one
// table, so the domain never needs to know about transports.
type Code string

// The error codes the domain uses.
const (
	CodeInvalid            Code = "invalid"
	CodeNotFound           Code = "not_found"
	CodeAlreadyExists      Code = "already_exists"
	CodeFailedPrecondition Code = "failed_precondition"
	CodeInternal           Code = "internal"
)

// Violation names one bad field and says what is wrong with it. Field is a path such as
// "person.phone" or, for imported files, "rows[12].phone" (row 12 of the spreadsheet).
type Violation struct {
	Field       string
	Description string
}

// Error is an error meant for the caller: its message is safe to show, and it carries the
// field violations behind an invalid request.
type Error struct {
	Code       Code
	Message    string
	Violations []Violation
}

func (e *Error) Error() string {
	if len(e.Violations) == 0 || (len(e.Violations) == 1 && e.Message == e.Violations[0].Field+": "+e.Violations[0].Description) {
		return e.Message // Invalid's message already is its one violation
	}
	parts := make([]string, 0, len(e.Violations))
	for _, v := range e.Violations {
		parts = append(parts, v.Field+": "+v.Description)
	}
	return e.Message + ": " + strings.Join(parts, "; ")
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns a CodeInvalid error for one field.
func Invalid(field, format string, args ...any) *Error {
	d := fmt.Sprintf(format, args...)
	return &Error{Code: CodeInvalid, Message: field + ": " + d, Violations: []Violation{{Field: field, Description: d}}}
}

// ErrorCode returns the code of the first *Error in err's chain, CodeInternal for any
// other error, and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// Violations collects field violations so that a whole request or file is checked before
// anything is refused: the caller sees every problem at once, not the first.
type Violations []Violation

// Add records one violation.
func (vs *Violations) Add(field, format string, args ...any) {
	*vs = append(*vs, Violation{Field: field, Description: fmt.Sprintf(format, args...)})
}

// Has reports whether a violation names field.
func (vs Violations) Has(field string) bool {
	for _, v := range vs {
		if v.Field == field {
			return true
		}
	}
	return false
}

// Err returns nil when nothing was recorded, else a CodeInvalid error with message msg.
func (vs Violations) Err(msg string) error {
	if len(vs) == 0 {
		return nil
	}
	return &Error{Code: CodeInvalid, Message: msg, Violations: vs}
}
