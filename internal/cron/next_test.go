package cron

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

func mustParse(t testing.TB, expr, tz string) *Schedule {
	t.Helper()
	s, err := Parse(expr, tz)
	if err != nil {
		t.Fatalf("Parse(%q, %q): %v", expr, tz, err)
	}
	return s
}

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestNext lists firings as UTC instants (RFC 3339), the zone's clock in
// the comments.
func TestNext(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, expr, tz, after string
		want                  []string
	}{
		// Strictly after, seconds and fractions.
		{"strictly after", "0 * * * *", "", "2026-01-01T10:00:00Z",
			[]string{"2026-01-01T11:00:00Z", "2026-01-01T12:00:00Z"}},
		{"fraction after a firing", "0 * * * *", "", "2026-01-01T10:00:00.5Z",
			[]string{"2026-01-01T11:00:00Z"}},
		{"fraction before a firing", "0 * * * *", "", "2026-01-01T09:59:59.999Z",
			[]string{"2026-01-01T10:00:00Z"}},
		{"every minute", "* * * * *", "", "2026-01-01T10:00:30Z",
			[]string{"2026-01-01T10:01:00Z", "2026-01-01T10:02:00Z"}},

		// Month ends and year ends.
		{"31st skips short months", "0 0 31 * *", "", "2026-01-31T00:00:00Z",
			[]string{"2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z", "2026-07-31T00:00:00Z", "2026-08-31T00:00:00Z", "2026-10-31T00:00:00Z"}},
		{"30th skips February", "0 12 30 * *", "", "2026-01-30T12:00:00Z",
			[]string{"2026-03-30T12:00:00Z"}},
		{"last minute of the month", "59 23 * * *", "", "2026-04-30T23:58:00Z",
			[]string{"2026-04-30T23:59:00Z", "2026-05-01T23:59:00Z"}},
		{"year wraps", "0 0 1 1 *", "", "2026-12-31T23:59:59Z",
			[]string{"2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z"}},
		{"december only", "0 0 1 DEC *", "", "2026-12-01T00:00:00Z",
			[]string{"2027-12-01T00:00:00Z"}},
		{"minute and hour roll over", "*/20 */6 * * *", "", "2026-02-28T23:50:00Z",
			[]string{"2026-03-01T00:00:00Z", "2026-03-01T00:20:00Z", "2026-03-01T00:40:00Z", "2026-03-01T06:00:00Z"}},

		// Leap years.
		{"Feb 29 waits for a leap year", "0 0 29 2 *", "", "2024-02-29T00:00:00Z",
			[]string{"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"}},
		{"Feb 29 across 2100 (not a leap year)", "0 0 29 2 *", "", "2096-03-01T00:00:00Z",
			[]string{"2104-02-29T00:00:00Z"}},
		{"2000 is a leap year", "0 0 29 2 *", "", "1997-01-01T00:00:00Z",
			[]string{"2000-02-29T00:00:00Z", "2004-02-29T00:00:00Z"}},
		{"Feb 28 and 29", "0 0 28,29 2 *", "", "2027-02-28T00:00:00Z",
			[]string{"2028-02-28T00:00:00Z", "2028-02-29T00:00:00Z", "2029-02-28T00:00:00Z"}},

		// Day of month and day of week (2026-02-13 is a Friday).
		{"dom and dow: either matches", "0 0 13 * FRI", "", "2026-02-01T00:00:00Z",
			[]string{"2026-02-06T00:00:00Z", "2026-02-13T00:00:00Z", "2026-02-20T00:00:00Z", "2026-02-27T00:00:00Z", "2026-03-06T00:00:00Z", "2026-03-13T00:00:00Z"}},
		{"dom only", "0 0 13 * *", "", "2026-02-01T00:00:00Z",
			[]string{"2026-02-13T00:00:00Z", "2026-03-13T00:00:00Z"}},
		{"dow only", "0 0 * * FRI", "", "2026-02-01T00:00:00Z",
			[]string{"2026-02-06T00:00:00Z", "2026-02-13T00:00:00Z"}},
		{"dom ? and dow", "0 0 ? * 1", "", "2026-02-01T00:00:00Z",
			[]string{"2026-02-02T00:00:00Z", "2026-02-09T00:00:00Z"}},
		{"full dom range does not widen dow", "0 0 1-31 * MON", "", "2026-02-01T00:00:00Z",
			[]string{"2026-02-02T00:00:00Z", "2026-02-09T00:00:00Z"}},
		{"dom step with dow: either", "0 0 */10 * SUN", "", "2026-02-01T00:00:00Z",
			[]string{"2026-02-08T00:00:00Z", "2026-02-11T00:00:00Z", "2026-02-15T00:00:00Z", "2026-02-21T00:00:00Z", "2026-02-22T00:00:00Z"}},
		{"never-existing dom rescued by dow", "0 0 30 2 MON", "", "2026-02-01T00:00:00Z",
			[]string{"2026-02-02T00:00:00Z", "2026-02-09T00:00:00Z", "2026-02-16T00:00:00Z", "2026-02-23T00:00:00Z", "2027-02-01T00:00:00Z"}},
		{"7 is Sunday", "0 0 * * 7", "", "2026-02-01T00:00:00Z",
			[]string{"2026-02-08T00:00:00Z"}},
		{"weekend range ending on Sunday", "0 9 * * SAT-SUN", "", "2026-02-02T00:00:00Z",
			[]string{"2026-02-07T09:00:00Z", "2026-02-08T09:00:00Z", "2026-02-14T09:00:00Z"}},
		{"working days", "30 8 * * MON-FRI", "", "2026-02-06T09:00:00Z",
			[]string{"2026-02-09T08:30:00Z", "2026-02-10T08:30:00Z"}},

		// Six fields: seconds first.
		{"every two seconds", "*/2 * * * * *", "", "2026-01-01T00:00:59Z",
			[]string{"2026-01-01T00:01:00Z", "2026-01-01T00:01:02Z", "2026-01-01T00:01:04Z"}},
		{"seconds within a minute", "15,45 30 * * * *", "", "2026-01-01T10:30:15Z",
			[]string{"2026-01-01T10:30:45Z", "2026-01-01T11:30:15Z"}},
		{"one second a day", "30 0 0 * * *", "", "2026-01-01T00:00:30Z",
			[]string{"2026-01-02T00:00:30Z"}},
		{"every second", "* * * * * *", "", "2026-12-31T23:59:59Z",
			[]string{"2027-01-01T00:00:00Z", "2027-01-01T00:00:01Z"}},

		// Shortcuts (2026-06-15 is a Monday).
		{"@yearly", "@yearly", "", "2026-06-15T12:00:00Z", []string{"2027-01-01T00:00:00Z"}},
		{"@monthly", "@monthly", "", "2026-06-15T12:00:00Z", []string{"2026-07-01T00:00:00Z"}},
		{"@weekly", "@weekly", "", "2026-06-15T12:00:00Z", []string{"2026-06-21T00:00:00Z"}},
		{"@daily", "@daily", "", "2026-06-15T12:00:00Z", []string{"2026-06-16T00:00:00Z"}},
		{"@hourly", "@hourly", "", "2026-06-15T12:00:00Z", []string{"2026-06-15T13:00:00Z"}},
		{"@daily in a zone", "@daily", "Asia/Tokyo", "2026-06-15T12:00:00Z", []string{"2026-06-15T15:00:00Z"}},
		{"@daily at +05:45", "0 0 * * *", "Asia/Kathmandu", "2026-06-15T12:00:00Z", []string{"2026-06-15T18:15:00Z"}},

		// @every: multiples of the duration since the Unix epoch.
		{"@every 90m", "@every 90m", "", "2026-01-01T00:10:00Z",
			[]string{"2026-01-01T01:30:00Z", "2026-01-01T03:00:00Z"}},
		{"@every on a multiple", "@every 1h", "", "2026-01-01T10:00:00Z",
			[]string{"2026-01-01T11:00:00Z"}},
		{"@every 7s", "@every 7s", "", "1970-01-01T00:00:00Z",
			[]string{"1970-01-01T00:00:07Z", "1970-01-01T00:00:14Z"}},
		{"@every before the epoch", "@every 7s", "", "1969-12-31T23:59:50Z",
			[]string{"1969-12-31T23:59:53Z", "1970-01-01T00:00:00Z"}},
		{"@every ignores DST", "@every 1h", "Europe/Berlin", "2026-10-25T00:30:00Z",
			[]string{"2026-10-25T01:00:00Z", "2026-10-25T02:00:00Z"}},
		{"@every a day is UTC days", "@every 24h", "America/New_York", "2026-06-15T12:00:00Z",
			[]string{"2026-06-16T00:00:00Z"}},

		// Europe/Berlin, spring forward 2026-03-29: 02:00 CET becomes 03:00 CEST.
		{"Berlin: 02:30 does not exist that day", "30 2 * * *", "Europe/Berlin", "2026-03-27T12:00:00Z",
			[]string{"2026-03-28T01:30:00Z" /* 02:30 CET */, "2026-03-30T00:30:00Z" /* 02:30 CEST */}},
		{"Berlin: half-hourly across the gap", "*/30 * * * *", "Europe/Berlin", "2026-03-29T00:00:00Z",
			[]string{"2026-03-29T00:30:00Z" /* 01:30 CET */, "2026-03-29T01:00:00Z" /* 03:00 CEST */, "2026-03-29T01:30:00Z"}},
		{"Berlin: 03:00 exists", "0 3 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z",
			[]string{"2026-03-29T01:00:00Z", "2026-03-30T01:00:00Z"}},
		{"Berlin: seconds across the gap", "58-59 59 1 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z",
			[]string{"2026-03-29T00:59:58Z", "2026-03-29T00:59:59Z", "2026-03-29T23:59:58Z"}},

		// Europe/Berlin, fall back 2026-10-25: 03:00 CEST becomes 02:00 CET.
		{"Berlin: 02:30 fires once, at the first occurrence", "30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z",
			[]string{"2026-10-25T00:30:00Z" /* 02:30 CEST */, "2026-10-26T01:30:00Z" /* 02:30 CET */}},
		{"Berlin: hourly, the repeated hour once", "0 * * * *", "Europe/Berlin", "2026-10-24T23:30:00Z",
			[]string{"2026-10-25T00:00:00Z" /* 02:00 CEST */, "2026-10-25T02:00:00Z" /* 03:00 CET */, "2026-10-25T03:00:00Z"}},
		{"Berlin: after, in the repeated hour's second pass", "*/20 * * * *", "Europe/Berlin", "2026-10-25T01:10:00Z",
			[]string{"2026-10-25T02:00:00Z" /* 03:00 CET */, "2026-10-25T02:20:00Z"}},
		{"Berlin: after, late in the first pass", "*/20 * * * *", "Europe/Berlin", "2026-10-25T00:50:00Z",
			[]string{"2026-10-25T02:00:00Z" /* 03:00 CET: 02:xx fired in the first pass */}},
		{"Berlin: daily 03:00 after fall back", "0 3 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z",
			[]string{"2026-10-25T02:00:00Z", "2026-10-26T02:00:00Z"}},

		// America/New_York: spring forward 2026-03-08 (02:00 EST -> 03:00 EDT),
		// fall back 2026-11-01 (02:00 EDT -> 01:00 EST).
		{"NY: 02:30 skipped in March", "30 2 * * *", "America/New_York", "2026-03-07T00:00:00Z",
			[]string{"2026-03-07T07:30:00Z" /* 02:30 EST */, "2026-03-09T06:30:00Z" /* 02:30 EDT */}},
		{"NY: 01:30 once in November", "30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z",
			[]string{"2026-11-01T05:30:00Z" /* 01:30 EDT */, "2026-11-02T06:30:00Z" /* 01:30 EST */}},
		{"NY: every 30 minutes across fall back", "0,30 * * * *", "America/New_York", "2026-11-01T04:45:00Z",
			[]string{"2026-11-01T05:00:00Z" /* 01:00 EDT */, "2026-11-01T05:30:00Z", "2026-11-01T07:00:00Z" /* 02:00 EST */}},
		{"NY: midnight around both changes", "0 0 * * *", "America/New_York", "2026-03-07T12:00:00Z",
			[]string{"2026-03-08T05:00:00Z", "2026-03-09T04:00:00Z"}},
		{"NY: Sunday 02:00 weekly, skipped in the gap", "0 2 * * SUN", "America/New_York", "2026-03-01T12:00:00Z",
			[]string{"2026-03-15T06:00:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := mustParse(t, tt.expr, tt.tz)
			got := s.NextN(mustTime(t, tt.after), len(tt.want))
			if len(got) != len(tt.want) {
				t.Fatalf("NextN = %v, want %v", got, tt.want)
			}
			for i, g := range got {
				w := mustTime(t, tt.want[i])
				if !g.Equal(w) {
					t.Errorf("firing %d = %s (%s), want %s (%s)", i, g.UTC().Format(time.RFC3339), g.Format(time.RFC3339), w.Format(time.RFC3339), w.In(s.Location()).Format(time.RFC3339))
				}
				if g.Location() != s.Location() {
					t.Errorf("firing %d in %v, want the schedule's zone %v", i, g.Location(), s.Location())
				}
			}
		})
	}
}

func TestNextZero(t *testing.T) {
	t.Parallel()
	s := mustParse(t, "* * * * *", "")
	for _, at := range []time.Time{
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC).Add(time.Second),
		time.Time{}.Add(-time.Hour),
	} {
		if got := s.Next(at); !got.IsZero() {
			t.Errorf("Next(%v) = %v, want zero", at, got)
		}
	}
	// At the end of the calendar, no firing is left to find.
	if got := mustParse(t, "0 0 1 1 *", "").Next(time.Date(9999, 6, 1, 0, 0, 0, 0, time.UTC)); !got.IsZero() {
		t.Errorf("Next in 9999 = %v, want zero", got)
	}
	if got := s.NextN(time.Now(), 0); len(got) != 0 {
		t.Errorf("NextN(0) = %v", got)
	}
	if got := s.NextN(time.Now(), -1); len(got) != 0 {
		t.Errorf("NextN(-1) = %v", got)
	}
}

var (
	bruteExprs = []string{
		"* * * * *", "*/7 * * * *", "0 * * * *", "30 2 * * *", "0,30 1-3 * * *",
		"15 */5 * * *", "0 0 13 * FRI", "0 0 * * MON", "0 12 1,15 * *", "59 23 31 * *",
		"0 0 29 2 *", "*/45 0-4 * * SUN", "5 4 * JAN,JUL *", "0 9-17 * * 1-5",
	}
	bruteZones = []string{"", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "America/Sao_Paulo"}
)

// brute is the specification, checked minute by minute: an instant fires if
// its wall clock matches the fields and it is the first instant with that
// wall clock (so a repeated wall time fires once; a skipped one never).
func brute(s *Schedule, after time.Time, limit time.Time) time.Time {
	u := after.Truncate(time.Minute).Add(time.Minute)
	for ; !u.After(limit); u = u.Add(time.Minute) {
		l := u.In(s.loc)
		if s.minute&(1<<l.Minute()) == 0 || s.hour&(1<<l.Hour()) == 0 || s.month&(1<<int(l.Month())) == 0 || !s.dayMatches(l.Day(), int(l.Weekday())) {
			continue
		}
		// An earlier instant with the same wall clock, up to the largest
		// DST shift in use (2 h).
		repeated := false
		for back := 30 * time.Minute; back <= 2*time.Hour; back += 30 * time.Minute {
			if e := u.Add(-back).In(s.loc); sameWall(e, l) {
				repeated = true
			}
		}
		if !repeated {
			return u
		}
	}
	return time.Time{}
}

func sameWall(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd && a.Hour() == b.Hour() && a.Minute() == b.Minute() && a.Second() == b.Second()
}

// TestNextMatchesBruteForce compares Next with the minute-by-minute
// specification around DST changes and at random times.
func TestNextMatchesBruteForce(t *testing.T) {
	t.Parallel()
	starts := []time.Time{
		time.Date(2026, 3, 28, 0, 0, 0, 0, time.UTC),  // Berlin spring forward
		time.Date(2026, 10, 24, 0, 0, 0, 0, time.UTC), // Berlin fall back
		time.Date(2026, 3, 7, 0, 0, 0, 0, time.UTC),   // New York spring forward
		time.Date(2026, 10, 31, 0, 0, 0, 0, time.UTC), // New York fall back
		time.Date(2026, 4, 4, 0, 0, 0, 0, time.UTC),   // Lord Howe: back 30 min
		time.Date(2026, 10, 3, 0, 0, 0, 0, time.UTC),  // Lord Howe: forward 30 min
		time.Date(2018, 11, 3, 0, 0, 0, 0, time.UTC),  // Sao Paulo: midnight skipped
		time.Date(2018, 2, 16, 0, 0, 0, 0, time.UTC),  // Sao Paulo: back at midnight
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 8 {
		starts = append(starts, time.Unix(rng.Int64N(60*365*86400)+946684800, 0).UTC())
	}
	for _, tz := range bruteZones {
		for _, expr := range bruteExprs {
			s := mustParse(t, expr, tz)
			for _, start := range starts {
				// Follow the firings for three days, checking each step.
				end := start.Add(72 * time.Hour)
				at := start
				for i := 0; i < 200 && at.Before(end); i++ {
					got := s.Next(at)
					limit := got
					if got.IsZero() || got.After(end) {
						limit = end
					}
					want := brute(s, at, limit)
					if got.After(end) && want.IsZero() {
						break // beyond the window, and none within it
					}
					if !got.Equal(want) {
						t.Fatalf("%q in %q: Next(%s) = %s, brute force says %s", expr, tz, at.Format(time.RFC3339), got.Format(time.RFC3339), want.Format(time.RFC3339))
					}
					at = got
				}
			}
		}
	}
}

func TestNextNMonotonic(t *testing.T) {
	t.Parallel()
	exprs := append([]string{"*/2 * * * * *", "@every 13s", "@every 25h", "@hourly", "0 0 * * 0", "* 2 * * *", "30 2 * * *"}, bruteExprs...)
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tz := range bruteZones {
		for _, expr := range exprs {
			s := mustParse(t, expr, tz)
			for range 20 {
				after := time.Unix(rng.Int64N(80*365*86400)+315532800, rng.Int64N(1e9))
				prev := after
				for i, n := range s.NextN(after, 25) {
					if !n.After(prev) {
						t.Fatalf("%q in %q from %s: firing %d %s is not after %s", expr, tz, after, i, n, prev)
					}
					if n.Nanosecond() != 0 {
						t.Fatalf("%q: firing %s not on a whole second", expr, n)
					}
					prev = n
				}
			}
		}
	}
}

func ExampleParse() {
	s, err := Parse("30 2 * * *", "Europe/Berlin")
	if err != nil {
		panic(err)
	}
	// 02:30 does not exist on 29 March 2026 in Berlin (clocks go from 02:00
	// to 03:00), so that day is skipped.
	for _, t := range s.NextN(time.Date(2026, 3, 27, 12, 0, 0, 0, time.UTC), 3) {
		fmt.Println(t)
	}
	_, err = Parse("0 25 * * *", "")
	fmt.Println(err)
	// Output:
	// 2026-03-28 02:30:00 +0100 CET
	// 2026-03-30 02:30:00 +0200 CEST
	// 2026-03-31 02:30:00 +0200 CEST
	// cron: field 2 (hour) "25": value 25 out of range 0-23
}

func FuzzParse(f *testing.F) {
	for _, expr := range append(bruteExprs, "@every 90m", "*/2 * * * * *", "@weekly", "0 0 ? * ?", "1-5/2,7 0 L * *", "", "@", "@every") {
		for _, tz := range []string{"", "Europe/Berlin", "bad"} {
			f.Add(expr, tz, int64(1774742400))
		}
	}
	f.Fuzz(func(t *testing.T, expr, tz string, unix int64) {
		s, err := Parse(expr, tz)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T is not *Error", err)
			}
			return
		}
		// Keep the start within the years Next answers for.
		unix = unix % (maxUnix - 20*366*86400)
		after := time.Unix(unix, 0)
		prev := after
		for range 3 {
			n := s.Next(prev)
			if n.IsZero() {
				return
			}
			if !n.After(prev) {
				t.Fatalf("Parse(%q, %q).Next(%s) = %s, not after", expr, tz, prev, n)
			}
			prev = n
		}
	})
}

func BenchmarkNext(b *testing.B) {
	after := time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC)
	for _, bc := range []struct{ expr, tz string }{
		{"* * * * *", ""},
		{"*/5 * * * *", "Europe/Berlin"},
		{"0 0 1 1 *", "America/New_York"},
		{"0 0 29 2 *", "Europe/Berlin"},
		{"0 0 13 * FRI", "Europe/Berlin"},
		{"*/2 * * * * *", "Europe/Berlin"},
		{"@every 90m", "Europe/Berlin"},
	} {
		s := mustParse(b, bc.expr, bc.tz)
		b.Run(fmt.Sprintf("%s|%s", bc.expr, bc.tz), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if s.Next(after).IsZero() {
					b.Fatal("no firing")
				}
			}
		})
	}
}
