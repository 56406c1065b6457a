package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/picloud/picloud"
)

const logsUsage = `usage: picloud logs NAME [flags] | picloud logs -f [flags] | picloud logs --id ID
Lists NAME's executions, newest first (--limit, --offset). -f follows: it prints
each execution as it completes, reconnects by itself without losing any, and
stops on Ctrl-C; without NAME it follows every script, each line starting with
the script's name. --id shows one execution in full. --status and --trigger take
comma lists; --since and --until an RFC 3339 time or a duration ago (15m, 24h);
--grep finds text in the log lines' messages and the error, ignoring case. With
-f, --status, --trigger and --grep select what is printed.
`

// queryFlag is a logs flag that comes from the command line only: the
// environment's PICLOUD_STATUS or PICLOUD_ID must not filter every listing.
type queryFlag string

func (q *queryFlag) String() string     { return string(*q) }
func (q *queryFlag) Set(v string) error { *q = queryFlag(v); return nil }
func (*queryFlag) noEnv()               {}

// followFlag is -f/--follow, command line only like queryFlag.
type followFlag bool

func (f *followFlag) String() string { return strconv.FormatBool(bool(*f)) }
func (f *followFlag) Set(v string) error {
	b, err := strconv.ParseBool(v)
	*f = followFlag(b)
	return err
}
func (*followFlag) IsBoolFlag() bool { return true }
func (*followFlag) noEnv()           {}

// logsFilter is what the filter flags select.
type logsFilter struct {
	status, trigger, since, until, grep queryFlag
}

// values are the filters as the logs routes' query parameters.
func (f *logsFilter) values() url.Values {
	v := url.Values{}
	for _, p := range []struct {
		name string
		val  queryFlag
	}{{"status", f.status}, {"trigger", f.trigger}, {"since", f.since}, {"until", f.until}, {"q", f.grep}} {
		if s := strings.TrimSpace(string(p.val)); s != "" {
			v.Set(p.name, s)
		}
	}
	return v
}

// match applies --status, --trigger and --grep to a followed execution: the
// tail route streams every execution of the script, and a user following
// only the errors wants the list's meaning. (--since and --until have none
// for executions that complete from now on.)
func (f *logsFilter) match(l *picloud.ExecutionLog) bool {
	if !inList(string(f.status), string(l.Status)) || !inList(string(f.trigger), string(l.Trigger)) {
		return false
	}
	q := strings.ToLower(strings.TrimSpace(string(f.grep)))
	if q == "" {
		return true
	}
	for _, g := range l.Logs {
		if strings.Contains(strings.ToLower(g.Message), q) {
			return true
		}
	}
	return l.Error != nil && strings.Contains(strings.ToLower(l.Error.Message), q)
}

// inList reports whether v is in the comma list (an empty list holds all).
func inList(list, v string) bool {
	if strings.TrimSpace(list) == "" {
		return true
	}
	for _, s := range strings.Split(list, ",") {
		if strings.TrimSpace(s) == v {
			return true
		}
	}
	return false
}

func runLogs(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("logs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), logsUsage)
		fs.PrintDefaults()
	}
	var c client
	c.register(fs)
	limit := fs.Int("limit", 20, "how many executions (at most 200)")
	offset := fs.Int("offset", 0, "skip this many of the newest")
	var follow followFlag
	fs.Var(&follow, "f", "follow: print each execution as it completes, until Ctrl-C")
	fs.Var(&follow, "follow", "the same as -f")
	var id queryFlag
	fs.Var(&id, "id", "show the execution `ID` in full")
	var f logsFilter
	fs.Var(&f.status, "status", "only these `STATUSES` (comma list: success,error,timeout,budget_exceeded,...)")
	fs.Var(&f.trigger, "trigger", "only these `TRIGGERS` (comma list: http,test,cron,async,event)")
	fs.Var(&f.since, "since", "started at or after `TIME`: RFC 3339, or a duration ago (15m)")
	fs.Var(&f.until, "until", "started before `TIME`: RFC 3339, or a duration ago")
	fs.Var(&f.grep, "grep", "case-insensitive `TEXT` in log messages or the error")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if id != "" {
		if len(pos) != 0 || follow {
			return errors.New("usage: picloud logs --id ID (no NAME, no -f)")
		}
		return showExecution(ctx, &c, string(id), stdout)
	}
	if len(pos) == 0 && follow {
		return followLogs(ctx, &c, nil, &f, stdout, stderr)
	}
	if len(pos) != 1 {
		return errors.New("usage: picloud logs NAME [-f] [--limit N] [--status S] [--trigger T] [--since T] [--until T] [--grep TEXT], picloud logs -f (every script), or picloud logs --id ID")
	}
	sc, err := c.mustLookup(ctx, pos[0])
	if err != nil {
		return err
	}
	if follow {
		return followLogs(ctx, &c, sc, &f, stdout, stderr)
	}
	q := f.values()
	q.Set("limit", strconv.Itoa(*limit))
	q.Set("offset", strconv.Itoa(*offset))
	var page picloud.ExecutionList
	if printed, err := c.call(ctx, "GET", "/api/scripts/"+url.PathEscape(sc.ID)+"/logs?"+q.Encode(), nil, &page, stdout); printed || err != nil {
		return err
	}
	if len(page.Items) == 0 {
		if len(f.values()) > 0 {
			fmt.Fprintf(stdout, "no executions of %s match\n", sc.Name)
		} else {
			fmt.Fprintf(stdout, "no executions of %s yet\n", sc.Name)
		}
	}
	for _, l := range page.Items {
		printExecution(stdout, l)
	}
	return nil
}

// printExecution writes an execution as picloud logs lists it: one line,
// then its log lines and its error indented.
func printExecution(w io.Writer, l *picloud.ExecutionLog) { printExecutionAs(w, l, "") }

// printExecutionAs is printExecution with prefix (a script's name, when
// following every script) before its first line.
func printExecutionAs(w io.Writer, l *picloud.ExecutionLog, prefix string) {
	line := prefix + fmt.Sprintf("%s  %-15s v%-3d %-5s %8.2fms %8d ops", formatTime(l.StartedAt), l.Status, l.ScriptVersion, l.Trigger, l.DurationMS, l.Operations)
	if l.Request != nil {
		line += "  " + l.Request.Method + " " + l.Request.Path
	}
	if l.Response != nil {
		line += fmt.Sprintf(" -> %d", l.Response.Status)
	}
	if l.JobID != "" {
		line += fmt.Sprintf("  job %s attempt %d", l.JobID, l.Attempt)
	}
	if l.ScheduleID != "" {
		line += "  schedule " + l.ScheduleID
	}
	// Only a cluster's rows name a node (a manager's test runs do not), so
	// an all-in-one server's lines read as they always did.
	if l.Node != "" {
		line += "  node " + l.Node
	}
	fmt.Fprintln(w, line)
	for _, g := range l.Logs {
		fmt.Fprintln(w, "    "+logLine(g))
	}
	if l.Error != nil {
		fmt.Fprintf(w, "    error %s at %d:%d: %s\n", l.Error.Kind, l.Error.Line, l.Error.Column,
			strings.ReplaceAll(l.Error.Message, "\n", "\n      "))
	}
}

func logLine(g picloud.LogLine) string {
	msg := "[" + g.Level + "] " + g.Message
	if len(g.Data) > 0 && string(g.Data) != "null" {
		msg += " " + string(g.Data)
	}
	return msg
}

// showExecution prints GET /api/executions/{id} in full.
func showExecution(ctx context.Context, c *client, id string, w io.Writer) error {
	var l picloud.ExecutionLog
	if printed, err := c.call(ctx, "GET", "/api/executions/"+url.PathEscape(id), nil, &l, w); printed || err != nil {
		return err
	}
	script := l.ScriptID
	// The name reads better than the id; an execution of a deleted script
	// still shows (by its id).
	var sc picloud.Script
	if err := c.do(ctx, "GET", "/api/scripts/"+url.PathEscape(l.ScriptID), nil, &sc); err == nil && sc.Name != "" {
		script = fmt.Sprintf("%s (%s)", sc.Name, l.ScriptID)
	}
	fmt.Fprintf(w, "execution  %s\n", l.ID)
	fmt.Fprintf(w, "script     %s v%d\n", script, l.ScriptVersion)
	fmt.Fprintf(w, "status     %s\n", l.Status)
	fmt.Fprintf(w, "trigger    %s\n", l.Trigger)
	fmt.Fprintf(w, "started    %s\n", formatTime(l.StartedAt))
	if !l.StartedAt.IsZero() {
		end := l.StartedAt.Add(time.Duration(l.DurationMS * float64(time.Millisecond)))
		fmt.Fprintf(w, "finished   %s\n", end.UTC().Format(picloud.TimeFormat))
	}
	fmt.Fprintf(w, "duration   %.2fms\n", l.DurationMS)
	fmt.Fprintf(w, "operations %d\n", l.Operations)
	if l.Node != "" {
		fmt.Fprintf(w, "node       %s\n", l.Node)
	}
	if l.JobID != "" {
		fmt.Fprintf(w, "job        %s attempt %d\n", l.JobID, l.Attempt)
	}
	if l.ScheduleID != "" {
		fmt.Fprintf(w, "schedule   %s\n", l.ScheduleID)
	}
	if r := l.Request; r != nil {
		target := r.Path
		if len(r.Query) > 0 {
			q := url.Values{}
			for k, v := range r.Query {
				q.Set(k, v)
			}
			target += "?" + q.Encode()
		}
		fmt.Fprintf(w, "request    %s %s (%d bytes)\n", r.Method, target, r.BodySize)
	}
	if r := l.Response; r != nil {
		fmt.Fprintf(w, "response   %d (%d bytes)\n", r.Status, r.BodySize)
	}
	if len(l.Logs) > 0 {
		fmt.Fprintln(w, "logs")
		for _, g := range l.Logs {
			fmt.Fprintf(w, "  %s %s\n", formatTime(g.Time), logLine(g))
		}
	}
	if e := l.Error; e != nil {
		fmt.Fprintf(w, "error      %s at %d:%d: %s\n", e.Kind, e.Line, e.Column,
			strings.ReplaceAll(e.Message, "\n", "\n           "))
	}
	return nil
}

// followLogs prints the script's executions (every script's for a nil sc,
// each line then starting with the script's name) as the tail route streams them,
// until ctx ends (Ctrl-C: not an error). A stream that ends or fails is
// reopened after the server's retry interval with Last-Event-ID, so the
// server first replays what completed in between (or, after a drop for
// falling behind, what was missed).
func followLogs(ctx context.Context, c *client, sc *picloud.ScriptSummary, f *logsFilter, stdout, stderr io.Writer) error {
	// The API client's timeout would cut a stream that is meant to stay open.
	hc := &http.Client{Transport: c.http.Transport}
	path, what := "/api/tail", "every script"
	var names *scriptNames
	if sc != nil {
		path, what = "/api/scripts/"+url.PathEscape(sc.ID)+"/tail", sc.Name
	} else {
		names = &scriptNames{c: c}
	}
	if !c.json {
		fmt.Fprintf(stderr, "following %s (Ctrl-C to stop)\n", what)
	}
	var lastID string
	retry := 2 * time.Second
	failures := 0
	for {
		got, err := tailOnce(ctx, hc, c, path, lastID, func(ev sseEvent) error {
			switch ev.event {
			case "execution":
				var l picloud.ExecutionLog
				if err := json.Unmarshal([]byte(ev.data), &l); err != nil {
					return fmt.Errorf("tail: bad execution event: %w", err)
				}
				if ev.id != "" {
					lastID = ev.id
				}
				if !f.match(&l) {
					return nil
				}
				if c.json {
					_, err := fmt.Fprintln(stdout, ev.data)
					return err
				}
				if names != nil {
					printExecutionAs(stdout, &l, names.name(ctx, l.ScriptID)+"  ")
				} else {
					printExecution(stdout, &l)
				}
			case "dropped":
				fmt.Fprintf(stderr, "picloud: the server dropped this tail (%s); reconnecting\n", strings.TrimSpace(ev.data))
			}
			return nil
		}, &retry)
		if ctx.Err() != nil {
			return nil
		}
		var apiErr *apiError
		if errors.As(err, &apiErr) && apiErr.Status < 500 {
			return err // refused (no such script, bad token): retrying will not help
		}
		if got {
			failures = 0
		} else {
			failures++
		}
		if err != nil {
			fmt.Fprintf(stderr, "picloud: tail: %v; reconnecting\n", err)
		}
		// Back off while the server stays away, up to 30 s.
		wait := retry
		for i := 1; i < failures && wait < 30*time.Second; i++ {
			wait *= 2
		}
		wait = min(wait, 30*time.Second)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// scriptNames names the scripts a global tail streams: the list is read
// once, and again for an id it does not hold (a script created since).
type scriptNames struct {
	c      *client
	byID   map[string]string
	missed map[string]bool
}

func (n *scriptNames) name(ctx context.Context, id string) string {
	if name, ok := n.byID[id]; ok {
		return name
	}
	if !n.missed[id] {
		if n.missed == nil {
			n.missed = map[string]bool{}
		}
		n.missed[id] = true // one reading per unknown id: a deleted script's stays unknown
		var list picloud.ScriptList
		if n.c.do(ctx, "GET", "/api/scripts", nil, &list) == nil {
			n.byID = map[string]string{}
			for _, s := range list.Items {
				n.byID[s.ID] = s.Name
			}
		}
		if name, ok := n.byID[id]; ok {
			return name
		}
	}
	return id
}

// sseEvent is one server-sent event.
type sseEvent struct{ id, event, data string }

// tailOnce reads one stream until it ends; got says the server accepted it.
// A "retry:" field updates *retry.
func tailOnce(ctx context.Context, hc *http.Client, c *client, path, lastID string, on func(sseEvent) error, retry *time.Duration) (got bool, err error) {
	req, err := http.NewRequestWithContext(ctx, "GET", c.server+path, nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Accept", "text/event-stream")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return false, responseError(resp.StatusCode, data)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		return false, fmt.Errorf("%s answered %q, not an event stream: is it a PiCloud server of this version?", c.server, ct)
	}
	return true, readSSE(resp.Body, on, retry)
}

// readSSE parses a text/event-stream (the WHATWG rules this server's stream
// needs: id, event, data over several lines, retry, comments) and calls on
// for each event.
func readSSE(r io.Reader, on func(sseEvent) error, retry *time.Duration) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20) // an execution's logs can make a long line
	var ev sseEvent
	var data []string
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			if len(data) > 0 {
				ev.data = strings.Join(data, "\n")
				if ev.event == "" {
					ev.event = "message"
				}
				if err := on(ev); err != nil {
					return err
				}
			}
			ev, data = sseEvent{}, nil
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue // a comment: the server's heartbeat
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			ev.id = value
		case "event":
			ev.event = value
		case "data":
			data = append(data, value)
		case "retry":
			if ms, err := strconv.Atoi(value); err == nil && ms > 0 {
				*retry = time.Duration(ms) * time.Millisecond
			}
		}
	}
	return sc.Err()
}
