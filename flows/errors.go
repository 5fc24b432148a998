package flows

import (
	"errors"
	"fmt"

	"herald/i18n"
)

// Code classifies an Error; the bot turns each class into a reply.
type Code string

// Error codes.
const (
	CodeInvalid   Code = "invalid"   // the input is wrong; the reply says how to fix it
	CodeNotFound  Code = "not_found" // the object is gone (deleted, or a forged id)
	CodeForbidden Code = "forbidden" // the actor's role does not allow this
	CodeConflict  Code = "conflict"  // the change collides with the current state
	CodeInternal  Code = "internal"  // a bug or an outage; logged with a reference id
	CodeNote      Code = "note"      // not an error: a step's short answer shown under its buttons
)

// Error is the one error type flows return. Key names the catalog text shown to the
// admin (with Data); Err is the cause, logged for internal errors only.
type Error struct {
	Code Code
	Key  string
	Data i18n.Data
	Err  error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Key, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Key)
}

func (e *Error) Unwrap() error { return e.Err }

// Invalid reports wrong input; key's text explains what is wrong and how to fix it.
func Invalid(key string, data i18n.Data) *Error {
	return &Error{Code: CodeInvalid, Key: key, Data: data}
}

// Note is what a step returns to answer a button with a short text (under the step's
// buttons, the way Invalid is shown) while staying where it is, without prompting again.
func Note(key string, data i18n.Data) *Error { return &Error{Code: CodeNote, Key: key, Data: data} }

// NotFound reports a missing object.
func NotFound(key string) *Error { return &Error{Code: CodeNotFound, Key: key} }

// Forbidden reports an action the actor's role does not allow.
func Forbidden() *Error { return &Error{Code: CodeForbidden, Key: "error.forbidden"} }

// Conflict reports a change refused because of the current state.
func Conflict(key string, data i18n.Data) *Error {
	return &Error{Code: CodeConflict, Key: key, Data: data}
}

// ErrorCode returns err's code: CodeInternal for anything that is not an *Error.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}
