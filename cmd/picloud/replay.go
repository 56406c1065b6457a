package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/picloud/picloud"
)

const replayUsage = `usage: picloud replay NAME [FILE] [--draft] [--last N] [--status S] [--since T] [--until T] [--grep TEXT]`

// runReplay is `picloud replay`: the script's latest captured http requests
// run through the live version and FILE (or the stored draft), side by side
// on the server (POST /api/scripts/{id}/replay; nothing is written). It
// prints a summary and, for each request whose answer differs, what
// differs. Differences are the command's result, not a failure: the exit
// status is 0 whether or not items differ, non-zero only on an error (a
// refused source, no draft, an unknown script, a bad filter).
func runReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c client
	fs := c.flagSet("replay", stderr)
	draft := fs.Bool("draft", false, "replay against the stored draft (the default without FILE)")
	last := fs.Int("last", 0, fmt.Sprintf("how many of the latest captured requests to run, 1..%d (default %d)", picloud.MaxReplayLast, picloud.DefaultReplayLast))
	status := fs.String("status", "", "only executions of these `statuses` (a comma list: success,error,timeout,...)")
	since := fs.String("since", "", "only requests from `TIME`: RFC 3339, or a duration ago (1h)")
	until := fs.String("until", "", "only requests before `TIME`")
	grep := fs.String("grep", "", "only executions whose logs or error contain `TEXT`")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 1 || len(pos) > 2 {
		fmt.Fprintln(stderr, replayUsage)
		return errors.New("replay: wrong number of arguments")
	}
	if len(pos) == 2 && *draft {
		return errors.New("replay: give FILE or --draft, not both")
	}
	if *last < 0 || *last > picloud.MaxReplayLast {
		return fmt.Errorf("replay: --last must be between 1 and %d", picloud.MaxReplayLast)
	}
	in := picloud.ReplayRequest{Last: *last}
	var file, src string
	if len(pos) == 2 {
		file = pos[1]
		b, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		src = string(b)
		in.Source = &src
	} else {
		in.Draft = true
	}
	if *status != "" || *since != "" || *until != "" || *grep != "" {
		in.Filter = &picloud.ReplayFilter{Status: *status, Since: *since, Until: *until, Q: *grep}
	}
	var out picloud.ReplayResponse
	printed, err := c.call(ctx, "POST", "/api/scripts/"+url.PathEscape(pos[0])+"/replay", in, &out, stdout)
	if err != nil {
		if file != "" {
			// A refused source is shown as file:line:col with a caret.
			return deploySourceError(err, file, src)
		}
		return err
	}
	if !printed {
		printReplay(stdout, &out)
	}
	return nil
}

// printReplay writes the summary line, then each differing item: its
// request line and one line per difference (live → draft).
func printReplay(w io.Writer, r *picloud.ReplayResponse) {
	differ := 0
	for _, it := range r.Items {
		if !it.Same {
			differ++
		}
	}
	fmt.Fprintf(w, "%d replayed: %d same, %d differ", len(r.Items), len(r.Items)-differ, differ)
	if n := len(r.NotReplayable); n > 0 {
		var reasons []string
		for _, nr := range r.NotReplayable {
			if !slices.Contains(reasons, nr.Reason) {
				reasons = append(reasons, nr.Reason)
			}
		}
		fmt.Fprintf(w, "; %d not replayable (%s)", n, strings.Join(reasons, "; "))
	}
	fmt.Fprintln(w)
	for _, it := range r.Items {
		if it.Same {
			continue
		}
		fmt.Fprintf(w, "\n%s  (execution %s)\n", requestLine(it.Request), it.ExecutionID)
		d := it.Diff
		if d.Status != nil {
			fmt.Fprintf(w, "  status  %s → %s\n", compactValue(d.Status.Live), compactValue(d.Status.Draft))
		}
		names := make([]string, 0, len(d.Headers))
		for k := range d.Headers {
			names = append(names, k)
		}
		slices.Sort(names)
		for _, k := range names {
			h := d.Headers[k]
			fmt.Fprintf(w, "  header  %s: %s → %s\n", k, compactValue(h.Live), compactValue(h.Draft))
		}
		for _, b := range d.Body {
			path := "(whole body)"
			if b.Path != nil && *b.Path != "" {
				path = *b.Path
			}
			fmt.Fprintf(w, "  body    %s: %s → %s\n", path, compactValue(b.Live), compactValue(b.Draft))
		}
		if d.Error != nil {
			fmt.Fprintf(w, "  error   %s → %s\n", compactValue(d.Error.Live), compactValue(d.Error.Draft))
		}
	}
}

// requestLine is "METHOD /path?query" of a captured request.
func requestLine(r *picloud.RequestRecord) string {
	if r == nil {
		return "(request not captured)"
	}
	s := r.Method + " " + r.Path
	if len(r.Query) > 0 {
		v := url.Values{}
		for k, x := range r.Query {
			v.Set(k, x)
		}
		s += "?" + v.Encode()
	}
	return s
}

// compactValue is one side of a change on one line: its JSON, "(none)"
// for an absent side, cut at 120 characters so that a large body does not
// flood the terminal (--json has it whole).
func compactValue(raw []byte) string {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return "(none)"
	}
	s = strings.NewReplacer("\n", `\n`, "\r", `\r`).Replace(s)
	if r := []rune(s); len(r) > 120 {
		s = string(r[:117]) + "..."
	}
	return s
}
