package picloud

import (
	"testing"
	"time"
)

func TestStatsQueryValidate(t *testing.T) {
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name    string
		q       StatsQuery
		ok      bool
		buckets int
	}{
		{"hour by minute", StatsQuery{Since: base, Until: base.Add(time.Hour), Step: time.Minute}, true, 60},
		{"partial last bucket", StatsQuery{Since: base, Until: base.Add(61 * time.Second), Step: time.Minute}, true, 2},
		{"exactly the bound", StatsQuery{Since: base, Until: base.Add(MaxStatsBuckets * time.Second), Step: time.Second}, true, MaxStatsBuckets},
		{"one over", StatsQuery{Since: base, Until: base.Add((MaxStatsBuckets + 1) * time.Second), Step: time.Second}, false, MaxStatsBuckets + 1},
		{"week by minute", StatsQuery{Since: base, Until: base.Add(7 * 24 * time.Hour), Step: time.Minute}, false, 10080},
		{"reversed", StatsQuery{Since: base, Until: base.Add(-time.Hour), Step: time.Minute}, false, 0},
		{"sub-second step", StatsQuery{Since: base, Until: base.Add(time.Second), Step: time.Millisecond}, false, 1000},
		{"no since", StatsQuery{Until: base, Step: time.Minute}, false, 0},
	} {
		err := c.q.Validate()
		if (err == nil) != c.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", c.name, err, c.ok)
		}
		if c.q.Since.IsZero() {
			continue
		}
		if got := c.q.Buckets(); got != c.buckets {
			t.Errorf("%s: Buckets() = %d, want %d", c.name, got, c.buckets)
		}
	}
}

func TestPercentile(t *testing.T) {
	s := []float64{1, 2, 3, 4}
	for _, c := range []struct{ p, want float64 }{{0, 1}, {.5, 2.5}, {1, 4}, {.99, 3.97}} {
		if got := Percentile(s, c.p); got < c.want-1e-9 || got > c.want+1e-9 {
			t.Errorf("Percentile(%v) = %v, want %v", c.p, got, c.want)
		}
	}
	if Percentile(nil, .5) != 0 || Percentile([]float64{7}, .99) != 7 {
		t.Error("empty or single-value percentile")
	}
}
