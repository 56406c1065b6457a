package cron

import (
	"math/bits"
	"time"
)

const (
	secondsPerDay = 86400
	horizonYears  = 10
	// Next answers for instants from year 1 to year 9999; beyond, the
	// calendar arithmetic would overflow time.Time and nobody schedules there.
	minUnix = -62135596800 // 0001-01-01T00:00:00Z
	maxUnix = 253402300799 // 9999-12-31T23:59:59Z
)

// Next returns the first firing strictly after after, in the schedule's zone,
// or the zero time if there is none within ten years (or before the year
// 10000).
func (s *Schedule) Next(after time.Time) time.Time {
	a := after.Unix() // floor: a firing at a second equal to a is not after it
	if a < minUnix || a > maxUnix {
		return time.Time{}
	}
	if s.every > 0 {
		u := (floorDiv(a, s.every) + 1) * s.every
		if u > maxUnix {
			return time.Time{}
		}
		return time.Unix(u, 0).In(s.loc)
	}
	u, ok := s.next(a)
	if !ok {
		return time.Time{}
	}
	return time.Unix(u, 0).In(s.loc)
}

// NextN returns the next n firings after after, fewer if the schedule ends
// (see Next).
func (s *Schedule) NextN(after time.Time, n int) []time.Time {
	var out []time.Time
	for range max(n, 0) {
		after = s.Next(after)
		if after.IsZero() {
			break
		}
		out = append(out, after)
	}
	return out
}

// next walks the calendar of the schedule's zone from the wall time of a+1,
// skipping whole months and days that cannot match and, within a matching
// day, only the hours, minutes and seconds in the sets. Each wall time found
// is mapped to an instant by resolve (skipping times that do not exist); the
// first instant after a wins. Wall times map to instants in order, so the
// walk can stop there.
func (s *Schedule) next(a int64) (int64, bool) {
	start := a + 1
	wall := start + offsetAt(s.loc, start)
	day := floorDiv(wall, secondsPerDay)
	sod := int(wall - day*secondsPerDay)
	y, m, d := civil(day)
	h0, mi0, s0 := sod/3600, sod/60%60, sod%60
	first := true
	for end := min(y+horizonYears, 9999); y <= end; {
		if s.month&(1<<m) == 0 {
			m = nextBit(s.month, m+1)
			if m > 12 {
				y++
				m = nextBit(s.month, 1)
			}
			d, first = 1, false
			continue
		}
		if d > daysIn(y, m) {
			if m++; m > 12 {
				y, m = y+1, 1
			}
			d, first = 1, false
			continue
		}
		day := daysFromCivil(y, m, d)
		if s.dayMatches(d, weekday(day)) {
			if !first {
				h0, mi0, s0 = 0, 0, 0
			}
			if u, ok := s.inDay(day*secondsPerDay, h0, mi0, s0, a); ok {
				return u, true
			}
		}
		d, first = d+1, false
	}
	return 0, false
}

// inDay returns the first firing after a on the day whose midnight wall time
// is base, from the wall time h0:mi0:s0 on.
func (s *Schedule) inDay(base int64, h0, mi0, s0 int, a int64) (int64, bool) {
	for h := nextBit(s.hour, h0); h < 24; h = nextBit(s.hour, h+1) {
		mlo := 0
		if h == h0 {
			mlo = mi0
		}
		for mi := nextBit(s.minute, mlo); mi < 60; mi = nextBit(s.minute, mi+1) {
			slo := 0
			if h == h0 && mi == mi0 {
				slo = s0
			}
			for sec := nextBit(s.second, slo); sec < 60; sec = nextBit(s.second, sec+1) {
				w := base + int64(h*3600+mi*60+sec)
				if u, ok := resolve(s.loc, w); ok && u > a {
					return u, true
				}
			}
		}
	}
	return 0, false
}

func (s *Schedule) dayMatches(d, wd int) bool {
	domOK := s.dom&(1<<d) != 0
	dowOK := s.dow&(1<<wd) != 0
	switch {
	case s.domRestricted && s.dowRestricted:
		return domOK || dowOK // Vixie cron's rule
	case s.domRestricted:
		return domOK
	case s.dowRestricted:
		return dowOK
	}
	return true
}

// resolve maps the wall time w (seconds since 1970-01-01 00:00 of the zone's
// clock) to its instant: the earliest one when the clock shows w twice, none
// when it skips w. The offsets in force a day before and a day after w
// bracket any transition near w (real zones do not change twice in two days).
func resolve(loc *time.Location, w int64) (int64, bool) {
	if loc == time.UTC {
		return w, true
	}
	before := offsetAt(loc, w-secondsPerDay)
	after := offsetAt(loc, w+secondsPerDay)
	u1, ok1 := w-before, offsetAt(loc, w-before) == before
	if before == after {
		if ok1 {
			return u1, true
		}
		// Two transitions within two days; try the offset at w itself.
		o := offsetAt(loc, w)
		return w - o, offsetAt(loc, w-o) == o
	}
	u2, ok2 := w-after, offsetAt(loc, w-after) == after
	switch {
	case ok1 && ok2:
		return min(u1, u2), true
	case ok1:
		return u1, true
	case ok2:
		return u2, true
	}
	return 0, false
}

func offsetAt(loc *time.Location, u int64) int64 {
	_, off := time.Unix(u, 0).In(loc).Zone()
	return int64(off)
}

// nextBit returns the smallest value >= from in set, or 64 when none.
func nextBit(set uint64, from int) int {
	if from >= 64 {
		return 64
	}
	return bits.TrailingZeros64(set >> from << from)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysIn(y, m int) int {
	if m == 2 && isLeap(y) {
		return 29
	}
	return [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m]
}

// daysFromCivil returns the days since 1970-01-01 of a proleptic Gregorian
// date (Howard Hinnant's algorithm: no loops, no time.Time).
func daysFromCivil(y, m, d int) int64 {
	yy := int64(y)
	if m <= 2 {
		yy--
	}
	era := floorDiv(yy, 400)
	yoe := yy - era*400
	mp := int64((m + 9) % 12)
	doy := (153*mp+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// civil is the inverse of daysFromCivil.
func civil(days int64) (y, m, d int) {
	z := days + 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	m = int(mp + 3)
	if m > 12 {
		m -= 12
	}
	yy := yoe + era*400
	if m <= 2 {
		yy++
	}
	return int(yy), m, d
}

// weekday returns 0 (Sunday) to 6 for days since 1970-01-01 (a Thursday).
func weekday(days int64) int {
	wd := (days + 4) % 7
	if wd < 0 {
		wd += 7
	}
	return int(wd)
}
