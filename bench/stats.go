package main

// The stats query on a large execution log: `go run . stats` fills a fresh
// store (SQLite in a temporary directory; PostgreSQL in a schema of its own
// on -database-url, dropped afterwards) with -rows executions of 20 scripts
// spread over the last 7 days, then times picloud.StatsStore.ExecutionBuckets
// and ScriptBuckets for the ranges the dashboard and `picloud stats` ask for.
//
//	cd bench && go run . stats [-rows 1000000] [-runs 5] [-database-url postgres://...]

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/postgres"
	"github.com/picloud/picloud/internal/sqlite"
)

type statsOpts struct {
	rows        int
	runs        int
	databaseURL string
}

func runStats(args []string) int {
	var o statsOpts
	fs := flag.NewFlagSet("stats", flag.ExitOnError)
	fs.IntVar(&o.rows, "rows", 1_000_000, "executions to store")
	fs.IntVar(&o.runs, "runs", 5, "timed runs of each query (the median is reported)")
	fs.StringVar(&o.databaseURL, "database-url", os.Getenv("PICLOUD_BENCH_DATABASE_URL"), "postgres://... to also measure PostgreSQL (a schema of its own, dropped afterwards)")
	fs.Parse(args)
	if err := benchStats(o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench stats:", err)
		return 1
	}
	return 0
}

// statsScripts is how many scripts share the rows; the per-script queries
// read one of them (1/20 of the rows).
const statsScripts = 20

type statsStore interface {
	picloud.Store
}

func benchStats(o statsOpts, out io.Writer) error {
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "picloud-bench-stats-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	type target struct {
		name string
		open func() (statsStore, func(), error)
	}
	targets := []target{{"SQLite", func() (statsStore, func(), error) {
		s, err := sqlite.Open(ctx, filepath.Join(tmp, "picloud.db"))
		return s, func() { s.Close() }, err
	}}}
	if o.databaseURL != "" {
		targets = append(targets, target{"PostgreSQL", func() (statsStore, func(), error) {
			schema := "bench_stats_" + uuid.NewString()[:8]
			if err := psql(o.databaseURL, "", `CREATE SCHEMA `+schema); err != nil {
				return nil, nil, err
			}
			u, err := url.Parse(o.databaseURL)
			if err != nil {
				return nil, nil, err
			}
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			s, err := postgres.Open(ctx, u.String())
			drop := func() { psql(o.databaseURL, "", `DROP SCHEMA `+schema+` CASCADE`) }
			if err != nil {
				drop()
				return nil, nil, err
			}
			return s, func() { s.Close(); drop() }, nil
		}})
	}
	now := time.Now().UTC()
	fmt.Fprintf(out, "### The stats query on %d executions (%d scripts, 7 days)\n\n", o.rows, statsScripts)
	fmt.Fprintln(out, "| store | query | buckets | rows in range | median | min | max |")
	fmt.Fprintln(out, "|---|---|---:|---:|---:|---:|---:|")
	for _, tg := range targets {
		s, closeFn, err := tg.open()
		if err != nil {
			return fmt.Errorf("%s: %w", tg.name, err)
		}
		ids, fill, err := fillExecutions(ctx, s, o.rows, now)
		if err != nil {
			closeFn()
			return fmt.Errorf("%s: %w", tg.name, err)
		}
		logf("%s: %d rows stored in %s", tg.name, o.rows, fill.Round(time.Millisecond))
		for _, c := range []struct {
			what     string
			script   string
			span     time.Duration
			step     time.Duration
			byScript bool // ScriptBuckets (GET /api/stats/scripts)
		}{
			{"one script, last hour by 1m", ids[0], time.Hour, time.Minute, false},
			{"one script, last day by 5m", ids[0], 24 * time.Hour, 5 * time.Minute, false},
			{"one script, last week by 30m", ids[0], 7 * 24 * time.Hour, 30 * time.Minute, false},
			{"all scripts, last hour by 1m", "", time.Hour, time.Minute, false},
			{"all scripts, last day by 5m", "", 24 * time.Hour, 5 * time.Minute, false},
			{"all scripts, last week by 30m", "", 7 * 24 * time.Hour, 30 * time.Minute, false},
			{"per script, last hour by 2m", "", time.Hour, 2 * time.Minute, true},
			{"per script, last day by 1h", "", 24 * time.Hour, time.Hour, true},
			{"per script, last week by 6h", "", 7 * 24 * time.Hour, 6 * time.Hour, true},
		} {
			q := picloud.StatsQuery{ScriptID: c.script, Since: now.Add(-c.span).Truncate(c.step), Until: now, Step: c.step}
			var times []float64
			var n int64
			for range max(o.runs, 1) {
				start := time.Now()
				n, err = statsRun(ctx, s, q, c.byScript)
				if err != nil {
					closeFn()
					return fmt.Errorf("%s %s: %w", tg.name, c.what, err)
				}
				times = append(times, float64(time.Since(start)))
			}
			med, lo, hi := median(times)
			fmt.Fprintf(out, "| %s | %s | %d | %d | %s | %s | %s |\n", tg.name, c.what, q.Buckets(), n,
				ms(time.Duration(med)), ms(time.Duration(lo)), ms(time.Duration(hi)))
		}
		closeFn()
	}
	return nil
}

// statsRun runs q once, ExecutionBuckets or (byScript) ScriptBuckets, and
// counts the executions it found.
func statsRun(ctx context.Context, s statsStore, q picloud.StatsQuery, byScript bool) (int64, error) {
	var n int64
	if byScript {
		scripts, err := s.ScriptBuckets(ctx, q)
		for _, st := range scripts {
			n += st.Count
		}
		return n, err
	}
	bs, err := s.ExecutionBuckets(ctx, q)
	for _, b := range bs {
		n += b.Count
	}
	return n, err
}

// fillExecutions stores rows executions of statsScripts scripts, evenly
// spread over the 7 days before now (so a day holds 1/7 of them, an hour
// 1/168), with a realistic mix: 2% errors, 0.5% timeouts, durations
// log-normal around 2 ms, a third with one outbound call.
func fillExecutions(ctx context.Context, s statsStore, rows int, now time.Time) ([]string, time.Duration, error) {
	var ids []string
	for i := range statsScripts {
		sc := &picloud.Script{Name: fmt.Sprintf("s%02d", i), Source: "1"}
		if err := s.CreateScript(ctx, sc); err != nil {
			return nil, 0, err
		}
		ids = append(ids, sc.ID)
	}
	rng := rand.New(rand.NewPCG(7, 11))
	week := 7 * 24 * time.Hour
	start := time.Now()
	const batch = 2000
	logs := make([]*picloud.ExecutionLog, 0, batch)
	for i := range rows {
		st := picloud.StatusSuccess
		switch r := rng.IntN(1000); {
		case r < 20:
			st = picloud.StatusError
		case r < 25:
			st = picloud.StatusTimeout
		}
		l := &picloud.ExecutionLog{ID: uuid.NewString(), ScriptID: ids[i%statsScripts], ScriptVersion: 1,
			Trigger: picloud.TriggerHTTP, Status: st,
			StartedAt:  picloud.Time{Time: now.Add(-time.Duration(rng.Int64N(int64(week))))},
			DurationMS: 2 * rng.ExpFloat64(), Operations: uint64(50 + rng.IntN(500))}
		if i%3 == 0 {
			l.Outbound = []picloud.OutboundCall{{Method: "GET", Host: "api.example.com", Path: "/v1", Status: 200, DurationMS: 1}}
		}
		logs = append(logs, l)
		if len(logs) == batch || i == rows-1 {
			if err := s.InsertExecutions(ctx, logs); err != nil {
				return nil, 0, err
			}
			logs = logs[:0]
		}
	}
	return ids, time.Since(start), nil
}
