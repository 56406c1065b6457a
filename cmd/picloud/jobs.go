package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/picloud/picloud"
)

const jobsUsage = `usage:
  picloud jobs show ID     an asynchronous run (async, event or cron): its state, its request
                           and each attempt with its execution id, status and error`

const deadLettersUsage = `usage:
  picloud dead-letters ls [SCRIPT]     jobs out of attempts (of one script, or all), newest first (--limit N)
  picloud dead-letters show ID         a dead job: its request and each attempt's error
  picloud dead-letters requeue ID      queue it again (it gets at least one more attempt)
  picloud dead-letters discard ID      delete it
Dead letters are kept 30 days.`

func jobPath(id string) string { return "/api/jobs/" + url.PathEscape(id) }

func deadLetterPath(id string) string { return "/api/dead-letters/" + url.PathEscape(id) }

// runJobs is `picloud jobs show ID`.
func runJobs(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, jobsUsage)
		return errors.New("no jobs command given")
	}
	if h := args[0]; h == "-h" || h == "--help" || h == "help" {
		fmt.Fprintln(stdout, jobsUsage)
		return nil
	}
	sub, rest := args[0], args[1:]
	var c client
	fs := c.flagSet("jobs "+sub, stderr)
	pos, err := c.parse(fs, rest)
	if err != nil {
		return err
	}
	if sub != "show" {
		fmt.Fprintln(stderr, jobsUsage)
		return fmt.Errorf("unknown jobs command %q", sub)
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, jobsUsage)
		return errors.New("jobs show: wrong number of arguments")
	}
	return showJob(ctx, &c, jobPath(pos[0]), stdout)
}

// showJob prints the job at path (/api/jobs/{id} or /api/dead-letters/{id}).
func showJob(ctx context.Context, c *client, path string, stdout io.Writer) error {
	var j picloud.Job
	if printed, err := c.call(ctx, "GET", path, nil, &j, stdout); printed || err != nil {
		return err
	}
	writeJob(stdout, &j)
	return nil
}

// runDeadLetters is `picloud dead-letters ls|show|requeue|discard`.
func runDeadLetters(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, deadLettersUsage)
		return errors.New("no dead-letters command given")
	}
	if h := args[0]; h == "-h" || h == "--help" || h == "help" {
		fmt.Fprintln(stdout, deadLettersUsage)
		return nil
	}
	sub, rest := args[0], args[1:]
	var c client
	fs := c.flagSet("dead-letters "+sub, stderr)
	limit := fs.Int("limit", 50, "ls: at most this many")
	pos, err := c.parse(fs, rest)
	if err != nil {
		return err
	}
	arity := map[string][2]int{"ls": {0, 1}, "show": {1, 1}, "requeue": {1, 1}, "discard": {1, 1}}
	if err := checkArity("dead-letters", sub, pos, arity, deadLettersUsage, stderr); err != nil {
		return err
	}
	switch sub {
	case "ls":
		v := url.Values{"limit": {fmt.Sprint(*limit)}}
		if len(pos) == 1 {
			sc, err := c.mustLookup(ctx, pos[0])
			if err != nil {
				return err
			}
			v.Set("script", sc.ID)
		}
		var list picloud.JobList
		if printed, err := c.call(ctx, "GET", "/api/dead-letters?"+v.Encode(), nil, &list, stdout); printed || err != nil {
			return err
		}
		return writeDeadLetterTable(stdout, list.Items)
	case "show":
		return showJob(ctx, &c, deadLetterPath(pos[0]), stdout)
	case "requeue":
		var j picloud.Job
		if printed, err := c.call(ctx, "POST", deadLetterPath(pos[0])+"/requeue", nil, &j, stdout); printed || err != nil {
			return err
		}
		fmt.Fprintf(stdout, "requeued job %s (%s): %s\n", j.ID, scriptLabel(&j), j.State)
		return nil
	default: // discard
		if err := c.do(ctx, "DELETE", deadLetterPath(pos[0]), nil, nil); err != nil {
			return err
		}
		if c.json {
			return c.printJSON(stdout, map[string]string{"discarded": pos[0]})
		}
		fmt.Fprintf(stdout, "discarded job %s\n", pos[0])
		return nil
	}
}

// writeDeadLetterTable prints dead jobs, one a line, with the last error.
func writeDeadLetterTable(w io.Writer, items []*picloud.Job) error {
	if len(items) == 0 {
		_, err := fmt.Fprintln(w, "no dead letters")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "JOB\tSCRIPT\tTRIGGER\tATTEMPTS\tDIED\tLAST ERROR")
	for _, j := range items {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%s\t%s\n", j.ID, scriptLabel(j), j.Trigger, j.Attempt, j.MaxAttempts,
			formatTime(j.FinalizedAt), clip(oneLine(lastError(j)), 80))
	}
	return tw.Flush()
}

// jobAttemptRow is one line of a job's attempts table: its execution's
// outcome when the row is there, else the queue's record of the failure.
type jobAttemptRow struct {
	attempt                    int
	execution, status, started string
	err                        string
}

// attemptRows merges a job's attempts (execution rows) with the errors the
// queue recorded, by attempt number: an attempt whose execution row was
// pruned still shows its error.
func attemptRows(j *picloud.Job) []jobAttemptRow {
	byAttempt := map[int]*jobAttemptRow{}
	var rows []*jobAttemptRow
	row := func(n int) *jobAttemptRow {
		if r := byAttempt[n]; r != nil {
			return r
		}
		r := &jobAttemptRow{attempt: n, execution: "-", status: "-", started: "-"}
		byAttempt[n] = r
		rows = append(rows, r)
		return r
	}
	for _, a := range j.Attempts {
		r := row(a.Attempt)
		r.execution, r.status, r.started = a.ExecutionID, string(a.Status), formatTime(a.StartedAt)
		if a.Error != nil {
			r.err = execErrorText(a.Error)
		}
	}
	for _, e := range j.Errors {
		r := row(e.Attempt)
		if r.err == "" {
			r.err = e.Error
		}
		if r.started == "-" {
			r.started = formatTime(e.At)
		}
	}
	sort.SliceStable(rows, func(a, b int) bool { return rows[a].attempt < rows[b].attempt })
	out := make([]jobAttemptRow, len(rows))
	for i, r := range rows {
		out[i] = *r
	}
	return out
}

// writeJob prints a job: its state, what it runs with, and its attempts.
func writeJob(w io.Writer, j *picloud.Job) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "job\t%s\n", j.ID)
	fmt.Fprintf(tw, "script\t%s\n", scriptLabel(j))
	fmt.Fprintf(tw, "trigger\t%s\n", j.Trigger)
	fmt.Fprintf(tw, "state\t%s\n", j.State)
	fmt.Fprintf(tw, "attempts\t%d of %d\n", j.Attempt, j.MaxAttempts)
	fmt.Fprintf(tw, "created\t%s\n", formatTime(j.CreatedAt))
	switch j.State {
	case picloud.JobQueued, picloud.JobRetrying:
		fmt.Fprintf(tw, "next attempt\t%s\n", formatTime(j.ScheduledAt))
	case picloud.JobSucceeded, picloud.JobDead:
		fmt.Fprintf(tw, "finished\t%s\n", formatTime(j.FinalizedAt))
	}
	if j.IdempotencyKey != "" {
		fmt.Fprintf(tw, "idempotency key\t%s\n", j.IdempotencyKey)
	}
	if s := j.Schedule; s != nil {
		fmt.Fprintf(tw, "schedule\t%s (%q) for %s\n", s.ID, s.Cron, formatTime(s.ScheduledAt))
	}
	if e := j.Event; e != nil {
		fmt.Fprintf(tw, "event\t%s %s from %s (depth %d)\n", e.Topic, e.ID, e.EmittedBy, e.Depth)
		fmt.Fprintf(tw, "payload\t%s\n", clip(oneLine(string(e.Payload)), 200))
	}
	if r := j.Request; r != nil {
		line := r.Method + " " + r.Path
		if q := url.Values(r.Query).Encode(); q != "" {
			line += "?" + q
		}
		fmt.Fprintf(tw, "request\t%s\n", line)
		for _, k := range sortedKeys(r.Header) {
			fmt.Fprintf(tw, "\t%s: %s\n", k, strings.Join(r.Header[k], ", "))
		}
		if len(r.Body) > 0 {
			fmt.Fprintf(tw, "body\t%s\n", bodyPreview(r.Body, 500))
		}
	}
	tw.Flush()
	rows := attemptRows(j)
	if len(rows) == 0 {
		fmt.Fprintln(w, "attempts: none yet")
		return
	}
	fmt.Fprintln(w, "attempts:")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  #\tEXECUTION\tSTATUS\tSTARTED\tERROR")
	for _, r := range rows {
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\n", r.attempt, r.execution, r.status, r.started, clip(oneLine(r.err), 120))
	}
	tw.Flush()
}

// lastError is the newest failure of a job, as the queue or the execution
// recorded it.
func lastError(j *picloud.Job) string {
	rows := attemptRows(j)
	for i := len(rows) - 1; i >= 0; i-- {
		if rows[i].err != "" {
			return rows[i].err
		}
	}
	return ""
}

func scriptLabel(j *picloud.Job) string {
	if j.ScriptName != "" {
		return j.ScriptName
	}
	return j.ScriptID
}

// execErrorText is an execution's error in one phrase: "runtime at 2:5: boom".
func execErrorText(e *picloud.ExecError) string {
	if e == nil {
		return ""
	}
	if e.Line > 0 {
		return fmt.Sprintf("%s at %d:%d: %s", e.Kind, e.Line, e.Column, e.Message)
	}
	return e.Kind + ": " + e.Message
}

// bodyPreview is a body for a terminal: the text when it is UTF-8 (cut at
// max bytes), else its size.
func bodyPreview(b []byte, max int) string {
	switch {
	case len(b) == 0:
		return "(empty)"
	case !utf8.Valid(b):
		return fmt.Sprintf("(%d bytes, binary)", len(b))
	case len(b) > max:
		return fmt.Sprintf("%s… (%d bytes)", oneLine(strings.ToValidUTF8(string(b[:max]), "")), len(b))
	}
	return oneLine(string(b))
}

// oneLine keeps a table row on one line.
func oneLine(s string) string {
	return strings.NewReplacer("\r\n", "⏎", "\n", "⏎", "\r", "⏎", "\t", " ").Replace(s)
}

// clip cuts s to at most max runes.
func clip(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}

func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
