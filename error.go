package picloud

import (
	"errors"
	"fmt"
)

// Error codes: the contract every API error body carries. The HTTP status of
// each lives in one table in internal/httpapi.
const (
	EInvalidRequest   = "invalid_request"
	EInvalidSource    = "invalid_source"
	EUnauthorized     = "unauthorized"
	EForbidden        = "forbidden"
	ENotFound         = "not_found"
	ENameTaken        = "name_taken"
	EPayloadTooLarge  = "payload_too_large"
	EOverloaded       = "overloaded"
	ERateLimited      = "rate_limited"
	EScriptError      = "script_error"
	EInvalidResponse  = "invalid_response"
	EBudgetExceeded   = "budget_exceeded"
	EUnavailable      = "unavailable"
	ETimeout          = "timeout"
	EInternal         = "internal"
	EMethodNotAllowed = "method_not_allowed"
)

// Error is an error meant for the API's caller: a code from the list above and
// a message safe to show. Details carries extra body fields (line, column,
// execution_id).
type Error struct {
	Code    string
	Message string
	Details map[string]any
}

func (e *Error) Error() string { return fmt.Sprintf("picloud: %s: %s", e.Code, e.Message) }

// Errorf makes an *Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EInternal for
// any other error and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the message of the first *Error in err's chain, or a
// generic text that reveals nothing internal.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
