package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/picloud/picloud"
)

const scheduleUsage = `usage:
  picloud schedule ls [SCRIPT]              list the schedules (of one script, or all) with their next run
  picloud schedule add SCRIPT CRON          add a schedule and print its next five runs
        [--timezone TZ] [--body B | --body-file F] [--disabled]
        CRON: 5 fields (min hour day month weekday), 6 with seconds first,
        @hourly/@daily/..., or '@every 90s'; TZ an IANA name (default UTC)
  picloud schedule show ID                  a schedule, its next runs and its last runs (--limit N)
  picloud schedule pause ID                 stop a schedule firing
  picloud schedule resume ID                let it fire again
  picloud schedule run ID                   fire it now; prints the queued job's id
  picloud schedule rm ID                    delete a schedule
  picloud schedule preview CRON [--timezone TZ]   the next five runs of an expression`

// runSchedule is `picloud schedule ls|add|show|pause|resume|run|rm|preview`.
func runSchedule(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, scheduleUsage)
		return errors.New("no schedule command given")
	}
	if h := args[0]; h == "-h" || h == "--help" || h == "help" {
		fmt.Fprintln(stdout, scheduleUsage)
		return nil
	}
	sub, rest := args[0], args[1:]
	var c client
	fs := c.flagSet("schedule "+sub, stderr)
	var timezone, body, bodyFile optString
	var disabled optBool
	fs.Var(&timezone, "timezone", "add, preview: the IANA time zone the expression is read in (default UTC)")
	fs.Var(&body, "body", "add: the request body each firing gets")
	fs.Var(&bodyFile, "body-file", "add: read the body from a file (- for standard input)")
	fs.Var(&disabled, "disabled", "add: create the schedule paused")
	limit := fs.Int("limit", 10, "show: how many of the last runs")
	pos, err := c.parse(fs, rest)
	if err != nil {
		return err
	}
	arity := map[string][2]int{"ls": {0, 1}, "add": {2, 2}, "show": {1, 1}, "pause": {1, 1}, "resume": {1, 1},
		"run": {1, 1}, "rm": {1, 1}, "preview": {1, 1}}
	if err := checkArity("schedule", sub, pos, arity, scheduleUsage, stderr); err != nil {
		return err
	}
	if (body.v != nil || bodyFile.v != nil || disabled.v != nil) && sub != "add" {
		return fmt.Errorf("schedule %s: --body, --body-file and --disabled are for schedule add", sub)
	}

	switch sub {
	case "ls":
		return scheduleLs(ctx, &c, pos, stdout)
	case "add":
		in := picloud.ScheduleUpdate{Cron: &pos[1], Timezone: timezone.v, Body: body.v}
		if body.v != nil && bodyFile.v != nil {
			return errors.New("schedule add: give --body or --body-file, not both")
		}
		if bodyFile.v != nil {
			b, err := readBodyFile(*bodyFile.v, stdin)
			if err != nil {
				return err
			}
			in.Body = &b
		}
		if disabled.v != nil {
			in.Enabled = ptr(!*disabled.v)
		}
		sc, err := c.mustLookup(ctx, pos[0])
		if err != nil {
			return err
		}
		var s picloud.Schedule
		if printed, err := c.call(ctx, "POST", "/api/scripts/"+sc.ID+"/schedules", in, &s, stdout); err != nil {
			return cronError(err, pos[1])
		} else if printed {
			return nil
		}
		fmt.Fprintf(stdout, "created schedule %s for %s: %s\n", s.ID, sc.Name, describeSchedule(&s))
		printNextRuns(stdout, &s)
		return nil
	case "preview":
		tz := ""
		if timezone.v != nil {
			tz = *timezone.v
		}
		in := picloud.PreviewRequest{Cron: pos[0], Timezone: tz}
		var p picloud.PreviewResponse
		if printed, err := c.call(ctx, "POST", "/api/schedules/preview", in, &p, stdout); err != nil {
			return cronError(err, pos[0])
		} else if printed {
			return nil
		}
		printNextRuns(stdout, &picloud.Schedule{Cron: pos[0], Timezone: tz, Enabled: true, NextRuns: p.NextRuns})
		return nil
	case "show":
		return scheduleShow(ctx, &c, pos[0], *limit, stdout)
	case "run":
		var acc picloud.JobAccepted
		if printed, err := c.call(ctx, "POST", schedulePath(pos[0])+"/run", nil, &acc, stdout); printed || err != nil {
			return err
		}
		fmt.Fprintf(stdout, "queued job %s (picloud jobs show %s)\n", acc.JobID, acc.JobID)
		return nil
	case "rm":
		if err := c.do(ctx, "DELETE", schedulePath(pos[0]), nil, nil); err != nil {
			return err
		}
		if c.json {
			return c.printJSON(stdout, map[string]string{"deleted": pos[0]})
		}
		fmt.Fprintf(stdout, "deleted schedule %s\n", pos[0])
		return nil
	default: // pause, resume
		var s picloud.Schedule
		if printed, err := c.call(ctx, "POST", schedulePath(pos[0])+"/"+sub, nil, &s, stdout); printed || err != nil {
			return err
		}
		verb := map[string]string{"pause": "paused", "resume": "resumed"}[sub]
		fmt.Fprintf(stdout, "%s schedule %s: %s\n", verb, s.ID, describeSchedule(&s))
		printNextRuns(stdout, &s)
		return nil
	}
}

func schedulePath(id string) string { return "/api/schedules/" + url.PathEscape(id) }

// readBodyFile reads a body from a file, or standard input for "-".
func readBodyFile(name string, stdin io.Reader) (string, error) {
	var b []byte
	var err error
	if name == "-" {
		b, err = io.ReadAll(io.LimitReader(stdin, picloud.MaxScheduleBodyBytes+1))
	} else {
		b, err = os.ReadFile(name)
	}
	return string(b), err
}

// scheduleLs lists schedules as a table (or the API's JSON).
func scheduleLs(ctx context.Context, c *client, pos []string, stdout io.Writer) error {
	path := "/api/schedules"
	names := map[string]string{}
	if len(pos) == 1 {
		sc, err := c.mustLookup(ctx, pos[0])
		if err != nil {
			return err
		}
		path, names[sc.ID] = "/api/scripts/"+sc.ID+"/schedules", sc.Name
	}
	var list picloud.ScheduleList
	if printed, err := c.call(ctx, "GET", path, nil, &list, stdout); printed || err != nil {
		return err
	}
	if len(pos) == 0 && len(list.Items) > 0 {
		all, err := c.scriptNames(ctx)
		if err != nil {
			return err
		}
		names = all
	}
	return writeScheduleTable(stdout, list.Items, names)
}

// writeScheduleTable prints schedules, one a line; names maps script ids to
// names (an unknown id is printed as it is).
func writeScheduleTable(w io.Writer, items []*picloud.Schedule, names map[string]string) error {
	if len(items) == 0 {
		_, err := fmt.Fprintln(w, "no schedules")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSCRIPT\tCRON\tTIMEZONE\tENABLED\tNEXT RUN\tLAST SCHEDULED")
	for _, s := range items {
		name := names[s.ScriptID]
		if name == "" {
			name = s.ScriptID
		}
		next := "-"
		if s.Enabled && len(s.NextRuns) > 0 {
			next = formatTime(s.NextRuns[0])
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, name, s.Cron, zoneName(s.Timezone), yesNo(s.Enabled), next, formatTime(s.LastScheduledAt))
	}
	return tw.Flush()
}

// scriptNames maps every script's id to its name.
func (c *client) scriptNames(ctx context.Context) (map[string]string, error) {
	var list picloud.ScriptList
	if err := c.do(ctx, "GET", "/api/scripts", nil, &list); err != nil {
		return nil, err
	}
	names := make(map[string]string, len(list.Items))
	for _, s := range list.Items {
		names[s.ID] = s.Name
	}
	return names, nil
}

// scriptName is a script's name, or its id when it cannot be read (the
// name only decorates the output).
func (c *client) scriptName(ctx context.Context, id string) string {
	var sc picloud.Script
	if err := c.do(ctx, "GET", "/api/scripts/"+url.PathEscape(id), nil, &sc); err != nil || sc.Name == "" {
		return id
	}
	return sc.Name
}

// scheduleShowOutput is what schedule show --json prints.
type scheduleShowOutput struct {
	Schedule *picloud.Schedule       `json:"schedule"`
	LastRuns []*picloud.ExecutionLog `json:"last_runs"`
}

func scheduleShow(ctx context.Context, c *client, id string, limit int, stdout io.Writer) error {
	var s picloud.Schedule
	if err := c.do(ctx, "GET", schedulePath(id), nil, &s); err != nil {
		return err
	}
	var runs picloud.ExecutionList
	if err := c.do(ctx, "GET", fmt.Sprintf("%s/executions?limit=%d", schedulePath(id), limit), nil, &runs); err != nil {
		return err
	}
	if runs.Items == nil {
		runs.Items = []*picloud.ExecutionLog{}
	}
	if c.json {
		return c.printJSON(stdout, scheduleShowOutput{Schedule: &s, LastRuns: runs.Items})
	}
	writeScheduleDetail(stdout, &s, c.scriptName(ctx, s.ScriptID), runs.Items)
	return nil
}

// writeScheduleDetail prints a schedule, its next runs and its last runs.
func writeScheduleDetail(w io.Writer, s *picloud.Schedule, script string, runs []*picloud.ExecutionLog) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "schedule\t%s\n", s.ID)
	fmt.Fprintf(tw, "script\t%s\n", script)
	fmt.Fprintf(tw, "cron\t%s\n", s.Cron)
	fmt.Fprintf(tw, "timezone\t%s\n", zoneName(s.Timezone))
	fmt.Fprintf(tw, "enabled\t%s\n", yesNo(s.Enabled))
	fmt.Fprintf(tw, "body\t%s\n", bodyPreview([]byte(s.Body), 200))
	fmt.Fprintf(tw, "last scheduled\t%s\n", formatTime(s.LastScheduledAt))
	fmt.Fprintf(tw, "created\t%s\n", formatTime(s.CreatedAt))
	fmt.Fprintf(tw, "updated\t%s\n", formatTime(s.UpdatedAt))
	tw.Flush()
	printNextRuns(w, s)
	if len(runs) == 0 {
		fmt.Fprintln(w, "last runs: none yet")
		return
	}
	fmt.Fprintln(w, "last runs:")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  STARTED\tSTATUS\tDURATION\tJOB\tATTEMPT\tEXECUTION\tERROR")
	for _, l := range runs {
		job, attempt := "-", "-"
		if l.JobID != "" {
			job, attempt = l.JobID, fmt.Sprint(l.Attempt)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%.2fms\t%s\t%s\t%s\t%s\n", formatTime(l.StartedAt), l.Status, l.DurationMS, job, attempt, l.ID, execErrorText(l.Error))
	}
	tw.Flush()
}

// describeSchedule is a schedule in one phrase: `"*/5 * * * *" UTC, enabled`.
func describeSchedule(s *picloud.Schedule) string {
	state := "enabled"
	if !s.Enabled {
		state = "paused"
	}
	return fmt.Sprintf("%q %s, %s", s.Cron, zoneName(s.Timezone), state)
}

// printNextRuns prints a schedule's next runs in UTC, and in its own time
// zone beside them when it has one (what a reader checks a DST change by).
func printNextRuns(w io.Writer, s *picloud.Schedule) {
	switch {
	case !s.Enabled:
		fmt.Fprintln(w, "next runs: none (paused)")
		return
	case len(s.NextRuns) == 0:
		fmt.Fprintln(w, "next runs: none")
		return
	}
	fmt.Fprintln(w, "next runs:")
	loc, err := time.LoadLocation(s.Timezone)
	if s.Timezone == "" || s.Timezone == "UTC" || err != nil {
		loc = nil
	}
	for _, t := range s.NextRuns {
		line := "  " + formatTime(t)
		if loc != nil {
			line += "  (" + t.In(loc).Format("2006-01-02 15:04:05 MST") + ")"
		}
		fmt.Fprintln(w, line)
	}
}

// cronError adds a caret under the field of expr the server refused, when
// err names one (details field "cron" and its 1-based position).
func cronError(err error, expr string) error {
	var ae *apiError
	if !errors.As(err, &ae) || ae.Field != "cron" || ae.Position < 1 {
		return err
	}
	caret := cronCaret(expr, ae.Position)
	if caret == "" {
		return err
	}
	return fmt.Errorf("%w\n  %s\n  %s", err, expr, caret)
}

// cronCaret returns a line that underlines the pos-th (1-based) field of
// expr, or "" when expr has fewer fields.
func cronCaret(expr string, pos int) string {
	n := 0
	for i := 0; i < len(expr); {
		if expr[i] == ' ' || expr[i] == '\t' {
			i++
			continue
		}
		j := i
		for j < len(expr) && expr[j] != ' ' && expr[j] != '\t' {
			j++
		}
		if n++; n == pos {
			return strings.Repeat(" ", i) + strings.Repeat("^", j-i)
		}
		i = j
	}
	return ""
}

func zoneName(tz string) string {
	if tz == "" {
		return "UTC"
	}
	return tz
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
