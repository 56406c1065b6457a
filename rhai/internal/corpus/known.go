package corpus

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
)

// List is a known-differences list: the cases that still disagree with Rhai
// 1.25 in some respect, one `id<TAB>what differs` a line (# starts a comment).
// A test records every case's comparison with Record; Check then fails the test
// for a difference not listed (a regression, or a new case) and for a listed
// case that agrees now ("remove it from the list"), so the list only shrinks:
// fixing something forces its line out.
type List struct {
	Path    string
	reasons map[string]string
	seen    map[string]bool
	agree   []string
	differ  []string
}

// ReadList reads the list at path; a missing file is an empty list.
func ReadList(path string) (*List, error) {
	l := &List{Path: path, reasons: map[string]string{}, seen: map[string]bool{}}
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return l, nil
	}
	if err != nil {
		return nil, err
	}
	for n, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, reason, _ := strings.Cut(line, "\t")
		id = strings.TrimSpace(id)
		if _, dup := l.reasons[id]; dup {
			return nil, fmt.Errorf("%s:%d: %s is listed twice", path, n+1, id)
		}
		l.reasons[id] = strings.TrimSpace(reason)
	}
	return l, nil
}

// MustReadList is ReadList failing tb on an error.
func MustReadList(tb testing.TB, path string) *List {
	tb.Helper()
	l, err := ReadList(path)
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

// Len is the number of listed cases.
func (l *List) Len() int { return len(l.reasons) }

// Has reports whether id is listed.
func (l *List) Has(id string) bool {
	_, ok := l.reasons[id]
	return ok
}

// Record notes the comparison of one case: diff is "" when it agrees.
func (l *List) Record(id, diff string) {
	l.seen[id] = true
	switch {
	case diff == "" && l.Has(id):
		l.agree = append(l.agree, id)
	case diff != "" && !l.Has(id):
		l.differ = append(l.differ, id+"\t"+oneLine(diff))
	}
}

// Problems lists what makes the test fail: differences not listed (in the
// list's own line format, ready to read), listed cases that agree now, and
// listed cases no corpus holds (only when all is true: every case was run).
func (l *List) Problems(all bool) []string {
	var out []string
	for _, d := range l.differ {
		out = append(out, "differs from Rhai 1.25 and is not in "+l.Path+": "+d)
	}
	for _, id := range l.agree {
		out = append(out, fmt.Sprintf("%s agrees with Rhai 1.25 now: remove %s from %s", id, id, l.Path))
	}
	if all {
		var stale []string
		for id := range l.reasons {
			if !l.seen[id] {
				stale = append(stale, id)
			}
		}
		sort.Strings(stale)
		for _, id := range stale {
			out = append(out, fmt.Sprintf("%s is in no corpus: remove %s from %s", id, id, l.Path))
		}
	}
	return out
}

// Check fails tb for every problem (see Problems), and when the list holds
// more than max cases: the bound is the list's size when it was written, so a
// list cannot quietly grow back.
func (l *List) Check(tb testing.TB, all bool, max int) {
	tb.Helper()
	for _, p := range l.Problems(all) {
		tb.Error(p)
	}
	if l.Len() > max {
		tb.Errorf("%s lists %d cases, more than its bound %d: the list may only shrink", l.Path, l.Len(), max)
	}
}

// Unlisted returns the differences not listed, as list lines.
func (l *List) Unlisted() []string { return append([]string(nil), l.differ...) }

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", `\n`)
	return strings.ReplaceAll(s, "\t", " ")
}
