package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/picloud/picloud"
)

// runStats is `picloud stats [NAME] [--since 1h] [--until T] [--step 1m]`:
// the executions of one script (or, without NAME, of all) in time buckets, as
// a compact table, one row a bucket, then the totals. With --by-script, one
// row a script instead: the most called first.
func runStats(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c client
	fs := c.flagSet("stats", stderr)
	since := fs.String("since", "1h", "from `TIME`: RFC 3339, or a duration ago (1h, 24h)")
	until := fs.String("until", "", "up to `TIME`, exclusive (default now)")
	step := fs.String("step", "", "bucket width, e.g. `1m` (default the range over 60; at most 500 buckets)")
	empty := fs.Bool("empty", false, "also print the buckets without executions")
	byScript := fs.Bool("by-script", false, "one row a script (calls, errors, time), the most called first")
	top := fs.Int("top", 20, "with --by-script, the first `N` scripts only (0: all)")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 || (*byScript && len(pos) > 0) {
		return errors.New("usage: picloud stats [NAME] [--since 1h] [--until T] [--step 1m] [--empty]\n       picloud stats --by-script [--since 1h] [--until T] [--top 20]")
	}
	if *top < 0 {
		return errors.New("--top must be 0 (all) or more")
	}
	q := url.Values{}
	q.Set("since", *since)
	if *until != "" {
		q.Set("until", *until)
	}
	if *step != "" {
		q.Set("step", *step)
	}
	if *byScript {
		var st picloud.ScriptsStats
		if printed, err := c.call(ctx, "GET", "/api/stats/scripts?"+q.Encode(), nil, &st, stdout); printed || err != nil {
			return err
		}
		printScriptsStats(stdout, &st, *top)
		return nil
	}
	path, what := "/api/stats?", "all scripts"
	if len(pos) == 1 {
		sc, err := c.mustLookup(ctx, pos[0])
		if err != nil {
			return err
		}
		path, what = "/api/scripts/"+url.PathEscape(sc.ID)+"/stats?", sc.Name
	}
	var st picloud.Stats
	if printed, err := c.call(ctx, "GET", path+q.Encode(), nil, &st, stdout); printed || err != nil {
		return err
	}
	printStats(stdout, what, &st, *empty)
	return nil
}

// printStats writes the table: a bucket's start (UTC), its calls, those that
// failed (any status but success), the duration percentiles in ms, the
// operations and the outbound http:: calls; empty buckets only with all.
func printStats(w io.Writer, what string, st *picloud.Stats, all bool) {
	fmt.Fprintf(w, "%s, %s to %s, step %s\n", what, st.Since.UTC().Format("2006-01-02 15:04:05"),
		st.Until.UTC().Format("2006-01-02 15:04:05 UTC"), fmtStep(st.StepMS))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "time\tcalls\tfailed\tp50 ms\tp95 ms\tp99 ms\toperations\toutbound\t")
	var calls, failed, ops, out int64
	shown := 0
	for _, b := range st.Buckets {
		f := b.Count - b.ByStatus[picloud.StatusSuccess]
		calls, failed, ops, out = calls+b.Count, failed+f, ops+b.Operations, out+b.Outbound
		if b.Count == 0 && !all {
			continue
		}
		shown++
		if b.Count == 0 {
			fmt.Fprintf(tw, "%s\t0\t0\t-\t-\t-\t0\t0\t\n", b.Start.UTC().Format("01-02 15:04:05"))
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%d\t%d\t\n", b.Start.UTC().Format("01-02 15:04:05"),
			b.Count, f, fmtMS(b.P50MS), fmtMS(b.P95MS), fmtMS(b.P99MS), b.Operations, b.Outbound)
	}
	fmt.Fprintf(tw, "total\t%d\t%d\t\t\t\t%d\t%d\t\n", calls, failed, ops, out)
	tw.Flush()
	if shown == 0 {
		fmt.Fprintf(w, "no executions in the range\n")
	}
}

// printScriptsStats writes one row a script, as the server ordered them
// (most calls first), at most top (0: all): its calls, errors (any status
// but success), the time it ran in all, its operations and outbound calls;
// then how many were left out and the totals.
func printScriptsStats(w io.Writer, st *picloud.ScriptsStats, top int) {
	fmt.Fprintf(w, "scripts by calls, %s to %s\n", st.Since.UTC().Format("2006-01-02 15:04:05"),
		st.Until.UTC().Format("2006-01-02 15:04:05 UTC"))
	if len(st.Scripts) == 0 {
		fmt.Fprintf(w, "no executions in the range\n")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tCALLS\tERRORS\tTIME\tOPERATIONS\tOUTBOUND")
	var calls, errs, ops, out int64
	var dur float64
	for i, s := range st.Scripts {
		calls, errs, dur, ops, out = calls+s.Count, errs+s.Errors, dur+s.DurationMS, ops+s.Operations, out+s.Outbound
		if top > 0 && i >= top {
			continue
		}
		name := s.Name
		if name == "" {
			name = "(deleted " + s.ScriptID + ")"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%d\t%d\n", name, s.Count, s.Errors, fmtTotal(s.DurationMS), s.Operations, s.Outbound)
	}
	if more := len(st.Scripts) - top; top > 0 && more > 0 {
		fmt.Fprintf(tw, "(%d more)\t\t\t\t\t\n", more)
	}
	fmt.Fprintf(tw, "total\t%d\t%d\t%s\t%d\t%d\n", calls, errs, fmtTotal(dur), ops, out)
	tw.Flush()
}

// fmtTotal is a sum of durations in ms, as a duration rounded to what
// matters at its size: 812.5ms, 12.35s, 1h2m3s.
func fmtTotal(ms float64) string {
	d := time.Duration(ms * float64(time.Millisecond))
	switch {
	case d < time.Second:
		return d.Round(10 * time.Microsecond).String()
	case d < time.Minute:
		return d.Round(10 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func fmtMS(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

func fmtStep(ms int64) string {
	switch {
	case ms%3_600_000 == 0:
		return fmt.Sprintf("%dh", ms/3_600_000)
	case ms%60_000 == 0:
		return fmt.Sprintf("%dm", ms/60_000)
	default:
		return strconv.FormatFloat(float64(ms)/1000, 'f', -1, 64) + "s"
	}
}
