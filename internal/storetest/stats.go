package storetest

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/picloud/picloud"
)

// testStats: ExecutionBuckets counts by status, sums operations and outbound
// calls, interpolates percentiles like percentile_cont, keeps empty buckets,
// honours the range's bounds (since inclusive, until exclusive) and the
// script filter.
func testStats(t *testing.T, s picloud.Store) {
	ctx := context.Background()
	a := mustCreate(t, s, "alpha", "1")
	b := mustCreate(t, s, "beta", "1")
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var batch []*picloud.ExecutionLog
	add := func(script string, at time.Time, st picloud.ExecutionStatus, dur float64, ops uint64, calls int) {
		l := execLog(script, at, st)
		l.DurationMS, l.Operations = dur, ops
		for range calls {
			l.Outbound = append(l.Outbound, picloud.OutboundCall{Method: "GET", Host: "example.com", Path: "/", Status: 200})
		}
		batch = append(batch, l)
	}
	// Bucket 0 (12:00-12:01): alpha, durations 1..10, two errors, one timeout.
	for i := range 10 {
		st := picloud.StatusSuccess
		switch i {
		case 3, 7:
			st = picloud.StatusError
		case 9:
			st = picloud.StatusTimeout
		}
		add(a.ID, base.Add(time.Duration(i)*time.Second), st, float64(i+1), 10, i%2)
	}
	// Bucket 1 is empty. Bucket 2 (12:02-12:03): one alpha row at its very start.
	add(a.ID, base.Add(2*time.Minute), picloud.StatusSuccess, 7.5, 3, 2)
	// Beta in bucket 0, and rows just outside the range for both.
	add(b.ID, base.Add(30*time.Second), picloud.StatusBudgetExceeded, 100, 1000, 0)
	add(a.ID, base.Add(-time.Microsecond), picloud.StatusSuccess, 1, 1, 0)
	add(a.ID, base.Add(3*time.Minute), picloud.StatusSuccess, 1, 1, 0)
	if err := s.InsertExecutions(ctx, batch); err != nil {
		t.Fatal(err)
	}
	q := picloud.StatsQuery{ScriptID: a.ID, Since: base, Until: base.Add(3 * time.Minute), Step: time.Minute}
	got, err := s.ExecutionBuckets(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d buckets, want 3", len(got))
	}
	for i, bk := range got {
		if want := base.Add(time.Duration(i) * time.Minute); !bk.Start.Equal(want) {
			t.Errorf("bucket %d starts at %v, want %v", i, bk.Start.Time, want)
		}
	}
	b0 := got[0]
	if b0.Count != 10 || b0.ByStatus[picloud.StatusSuccess] != 7 || b0.ByStatus[picloud.StatusError] != 2 ||
		b0.ByStatus[picloud.StatusTimeout] != 1 || len(b0.ByStatus) != 3 {
		t.Errorf("bucket 0 counts: %d %v", b0.Count, b0.ByStatus)
	}
	if b0.Operations != 100 || b0.Outbound != 5 {
		t.Errorf("bucket 0 operations %d outbound %d, want 100 and 5", b0.Operations, b0.Outbound)
	}
	// percentile_cont over 1..10: rank p*9, interpolated.
	for _, c := range []struct{ got, want float64 }{{b0.P50MS, 5.5}, {b0.P95MS, 9.55}, {b0.P99MS, 9.91}} {
		if math.Abs(c.got-c.want) > 1e-9 {
			t.Errorf("bucket 0 percentiles %v %v %v, want 5.5 9.55 9.91", b0.P50MS, b0.P95MS, b0.P99MS)
			break
		}
	}
	if got[1].Count != 0 || len(got[1].ByStatus) != 0 || got[1].P99MS != 0 {
		t.Errorf("bucket 1 not empty: %+v", got[1])
	}
	if b2 := got[2]; b2.Count != 1 || b2.P50MS != 7.5 || b2.P99MS != 7.5 || b2.Operations != 3 || b2.Outbound != 2 {
		t.Errorf("bucket 2: %+v", b2)
	}

	// All scripts: beta's row joins bucket 0.
	q.ScriptID = ""
	all, err := s.ExecutionBuckets(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if all[0].Count != 11 || all[0].ByStatus[picloud.StatusBudgetExceeded] != 1 || all[0].Operations != 1100 {
		t.Errorf("global bucket 0: %+v", all[0])
	}
	if all[0].P99MS <= b0.P99MS {
		t.Errorf("global p99 %v should include beta's 100 ms", all[0].P99MS)
	}
	// A step that does not divide the range: the last bucket is partial and
	// the row at 12:03 (== until) stays out.
	q.Step = 2 * time.Minute
	two, err := s.ExecutionBuckets(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(two) != 2 || two[0].Count != 11 || two[1].Count != 1 {
		t.Errorf("2m buckets: %d, counts %v", len(two), counts(two))
	}
	// A script with no rows: every bucket empty.
	q.ScriptID = mustCreate(t, s, "gamma", "1").ID
	none, err := s.ExecutionBuckets(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	for _, bk := range none {
		if bk.Count != 0 {
			t.Errorf("gamma bucket: %+v", bk)
		}
	}
}

func counts(bs []picloud.StatsBucket) []int64 {
	var out []int64
	for _, b := range bs {
		out = append(out, b.Count)
	}
	return out
}

// testScriptStats: ScriptBuckets lists every script with executions in the
// range (and only those), with totals, errors (every status but success),
// summed durations, operations and outbound calls, every bucket of the
// range, names from the scripts table ("" for a script gone), sorted by
// count then name; CountScripts counts the scripts.
func testScriptStats(t *testing.T, s picloud.Store) {
	ctx := context.Background()
	a := mustCreate(t, s, "alpha", "1")
	b := mustCreate(t, s, "beta", "1")
	c := mustCreate(t, s, "gamma", "1")
	idle := mustCreate(t, s, "idle", "1")
	gone := "0190aaaa-0000-7000-8000-000000000000" // rows of a script deleted since
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var batch []*picloud.ExecutionLog
	add := func(script string, at time.Time, st picloud.ExecutionStatus, dur float64, ops uint64, calls int) {
		l := execLog(script, at, st)
		l.DurationMS, l.Operations = dur, ops
		for range calls {
			l.Outbound = append(l.Outbound, picloud.OutboundCall{Method: "GET", Host: "example.com", Path: "/", Status: 200})
		}
		batch = append(batch, l)
	}
	// alpha: 3 in bucket 0 (one error), 1 in bucket 2 (timeout).
	add(a.ID, base, picloud.StatusSuccess, 1.5, 10, 1)
	add(a.ID, base.Add(10*time.Second), picloud.StatusError, 2, 20, 0)
	add(a.ID, base.Add(59*time.Second), picloud.StatusSuccess, 3, 30, 2)
	add(a.ID, base.Add(2*time.Minute), picloud.StatusTimeout, 100, 5, 0)
	// beta: 2 in bucket 1, one over budget. gamma: 2 in bucket 0, both
	// fine — as many as beta, so the name orders them.
	add(b.ID, base.Add(time.Minute), picloud.StatusBudgetExceeded, 4, 1000, 0)
	add(b.ID, base.Add(90*time.Second), picloud.StatusSuccess, 5, 1, 0)
	add(c.ID, base.Add(time.Second), picloud.StatusSuccess, 1, 1, 0)
	add(c.ID, base.Add(2*time.Second), picloud.StatusSuccess, 1, 1, 0)
	add(gone, base.Add(150*time.Second), picloud.StatusSuccess, 1, 1, 0)
	// Outside the range: idle just before since and at until.
	add(idle.ID, base.Add(-time.Microsecond), picloud.StatusSuccess, 1, 1, 0)
	add(idle.ID, base.Add(3*time.Minute), picloud.StatusSuccess, 1, 1, 0)
	add(a.ID, base.Add(3*time.Minute), picloud.StatusError, 1, 1, 0)
	if err := s.InsertExecutions(ctx, batch); err != nil {
		t.Fatal(err)
	}
	q := picloud.StatsQuery{Since: base, Until: base.Add(3 * time.Minute), Step: time.Minute}
	got, err := s.ScriptBuckets(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, st := range got {
		names = append(names, st.Name)
	}
	if want := []string{"alpha", "beta", "gamma", ""}; !slices.Equal(names, want) {
		t.Fatalf("scripts %q, want %q", names, want)
	}
	for _, c := range []struct {
		st      picloud.ScriptStats
		id      string
		n, errs int64
		dur     float64
		ops     int64
		out     int64
		buckets []picloud.ScriptBucket
	}{
		{got[0], a.ID, 4, 2, 106.5, 65, 3, bks(3, 1, 0, 0, 1, 1)},
		{got[1], b.ID, 2, 1, 9, 1001, 0, bks(0, 0, 2, 1, 0, 0)},
		{got[2], c.ID, 2, 0, 2, 2, 0, bks(2, 0, 0, 0, 0, 0)},
		{got[3], gone, 1, 0, 1, 1, 0, bks(0, 0, 0, 0, 1, 0)},
	} {
		st := c.st
		if st.ScriptID != c.id || st.Count != c.n || st.Errors != c.errs || math.Abs(st.DurationMS-c.dur) > 1e-9 ||
			st.Operations != c.ops || st.Outbound != c.out || !slices.Equal(st.Buckets, c.buckets) {
			t.Errorf("%q: %+v, want id %s count %d errors %d duration %v operations %d outbound %d buckets %v",
				st.Name, st, c.id, c.n, c.errs, c.dur, c.ops, c.out, c.buckets)
		}
	}
	// A step that does not divide the range: two buckets, the last partial.
	q.Step = 2 * time.Minute
	two, err := s.ScriptBuckets(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(two) != 4 || !slices.Equal(two[0].Buckets, bks(3, 1, 1, 1)) {
		t.Errorf("2m buckets: %+v", two)
	}
	// A range with nothing: an empty list.
	q.Since, q.Until = base.Add(time.Hour), base.Add(2*time.Hour)
	none, err := s.ScriptBuckets(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if none == nil || len(none) != 0 {
		t.Errorf("an empty range: %#v, want an empty list", none)
	}
	if n, err := s.CountScripts(ctx); err != nil || n != 4 {
		t.Errorf("CountScripts = %d, %v; want 4", n, err)
	}
}

// bks is buckets from (count, errors) pairs.
func bks(pairs ...int64) []picloud.ScriptBucket {
	var out []picloud.ScriptBucket
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, picloud.ScriptBucket{Count: pairs[i], Errors: pairs[i+1]})
	}
	return out
}
