package rhai

import (
	"errors"
	"testing"

	"github.com/picloud/picloud/rhai/syntax"
)

func TestErrorUnwrap(t *testing.T) {
	root := &Error{Kind: ErrDataTooLarge, Message: "Size of script data too large"}
	wrapped := &Error{Kind: ErrInFunctionCall, Fn: "f", Inner: &Error{Kind: ErrInModule, Inner: root}}
	if !errors.Is(wrapped, root) {
		t.Error("errors.Is does not reach the root through the call and module wrappers")
	}
	// A parse error met by eval at run time is not a compile error.
	pe := &syntax.Error{Kind: "BadInput", Message: "x"}
	var got *syntax.Error
	if errors.As(&Error{Kind: ErrParsing, Parse: pe}, &got) {
		t.Error("errors.As finds a *syntax.Error in a run-time ErrorParsing")
	}
	var re *Error
	if !errors.As(error(wrapped), &re) || re != wrapped {
		t.Error("errors.As does not find the *Error itself")
	}
	// No cause: a plain nil, not a typed nil that errors.Is would follow.
	if err := root.Unwrap(); err != nil {
		t.Errorf("Unwrap of a root error = %#v, want nil", err)
	}
}
