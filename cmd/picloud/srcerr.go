package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// sourceError is an error at a place in a script the command read from a
// file: Error is the one-line "file:line:col: message" (what --json reports
// and logs keep); mainCode renders it as compilers do, with the source line
// and a caret under the column.
type sourceError struct {
	File      string
	Source    string
	Line, Col int // 1-based; Line 0 when the place is unknown
	Msg       string
	Err       error // the cause (an *apiError for deploy), for errors.As and --json
}

func (e *sourceError) Unwrap() error { return e.Err }

// deploySourceError is err, the server's refusal of file's source: an
// invalid_source error with a line becomes a sourceError (rendered with the
// line and a caret, wrapping the API's error for --json); any other error is
// returned as it is.
func deploySourceError(err error, file, source string) error {
	var ae *apiError
	if !errors.As(err, &ae) || ae.Code != "invalid_source" || ae.Line <= 0 {
		return err
	}
	return &sourceError{File: file, Source: source, Line: ae.Line, Col: ae.Column, Msg: ae.Error(), Err: err}
}

func (e *sourceError) Error() string {
	if e.Line <= 0 {
		return e.File + ": " + e.Msg
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

func (e *sourceError) render(w io.Writer) {
	renderSourceError(w, e.File, e.Source, e.Line, e.Col, e.Msg)
}

// renderSourceError writes an error at line:col of file (whose text is
// source) the way Go and Rust compilers do:
//
//	hello.rhai:3:11: Division by zero: 1 / 0
//	  3 | let d = n / 0;
//	    |           ^
//
// The message's first line follows the place; Rhai's own " (line L,
// position C)" suffix (or the API error's " at line L, column C") is dropped
// there when it names the same place; further
// lines of the message (the call chain of an error inside a function) come
// after the caret. Columns count characters, as Rhai's do; tabs before the
// column are kept so the caret lines up. Without a line (0) or a line
// beyond the source, only the message is written.
func renderSourceError(w io.Writer, file, source string, line, col int, msg string) {
	first, rest, _ := strings.Cut(msg, "\n")
	if line <= 0 {
		fmt.Fprintf(w, "%s: %s\n", file, first)
		if rest != "" {
			fmt.Fprintln(w, rest)
		}
		return
	}
	first = strings.TrimSuffix(first, fmt.Sprintf(" (line %d, position %d)", line, col))
	first = strings.TrimSuffix(first, fmt.Sprintf(" at line %d, column %d", line, col))
	fmt.Fprintf(w, "%s:%d:%d: %s\n", file, line, col, first)
	if text, ok := sourceLine(source, line); ok {
		num := fmt.Sprint(line)
		gutter := strings.Repeat(" ", len(num))
		fmt.Fprintf(w, " %s | %s\n", num, text)
		fmt.Fprintf(w, " %s | %s^\n", gutter, caretPad(text, col))
	}
	if rest != "" {
		fmt.Fprintln(w, rest)
	}
}

// sourceLine is the 1-based line of source, without its line ending.
func sourceLine(source string, line int) (string, bool) {
	for i := 1; ; i++ {
		text, after, more := strings.Cut(source, "\n")
		if i == line {
			return strings.TrimSuffix(text, "\r"), true
		}
		if !more {
			return "", false
		}
		source = after
	}
}

// caretPad is the blank space before a caret under the col-th character of
// text: a tab for a tab, a space for anything else.
func caretPad(text string, col int) string {
	var b strings.Builder
	for i := 1; i < col && text != ""; i++ {
		r, n := utf8.DecodeRuneInString(text)
		text = text[n:]
		if r == '\t' {
			b.WriteByte('\t')
		} else {
			b.WriteByte(' ')
		}
	}
	return b.String()
}
