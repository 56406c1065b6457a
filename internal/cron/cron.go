package cron

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	// The zone database is embedded so that a schedule's zone means the same
	// on a machine without /usr/share/zoneinfo (containers, Windows).
	_ "time/tzdata"
)

// Bounds of @every: a firing a second is the finest a planner can honour, and
// a year keeps a schedule's next firing within Next's horizon.
const (
	MinEvery = time.Second
	MaxEvery = 8760 * time.Hour
)

// Field names, as Error.Name reports them.
const (
	NameSecond     = "second"
	NameMinute     = "minute"
	NameHour       = "hour"
	NameDayOfMonth = "day of month"
	NameMonth      = "month"
	NameDayOfWeek  = "day of week"
	NameTimezone   = "timezone"
	NameExpression = "expression"
)

// Error is a parse error. Field is the 1-based position of the offending field
// in the expression (0 for the whole expression or the time zone), Name the
// field's name, Value the offending text (a list element, the field, the
// expression or the zone) and Msg what is wrong with it.
type Error struct {
	Field int
	Name  string
	Value string
	Msg   string
}

func (e *Error) Error() string {
	switch {
	case e.Field > 0:
		return fmt.Sprintf("cron: field %d (%s) %q: %s", e.Field, e.Name, e.Value, e.Msg)
	case e.Value != "":
		return fmt.Sprintf("cron: %s %q: %s", e.Name, e.Value, e.Msg)
	default:
		return "cron: " + e.Msg
	}
}

// Schedule is a parsed expression in its zone. It is immutable and safe for
// concurrent use.
type Schedule struct {
	expr string
	loc  *time.Location

	every int64 // seconds, for @every; 0 for field schedules

	// Bit sets of the allowed values: bit v set when value v matches.
	second, minute, hour, dom, month, dow uint64
	// domRestricted and dowRestricted say whether a day field restricts
	// (see the Vixie rule in the package comment).
	domRestricted, dowRestricted bool
}

// String returns the expression as given to Parse.
func (s *Schedule) String() string { return s.expr }

// Location returns the schedule's zone (UTC for "").
func (s *Schedule) Location() *time.Location { return s.loc }

type field struct {
	name     string
	min, max int
	names    map[string]int // symbolic values (months, weekdays)
}

var (
	fSecond = field{name: NameSecond, min: 0, max: 59}
	fMinute = field{name: NameMinute, min: 0, max: 59}
	fHour   = field{name: NameHour, min: 0, max: 23}
	fDom    = field{name: NameDayOfMonth, min: 1, max: 31}
	fMonth  = field{name: NameMonth, min: 1, max: 12, names: map[string]int{
		"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
		"jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
	}}
	// Day of week accepts 7 for Sunday; parseField folds it onto 0.
	fDow = field{name: NameDayOfWeek, min: 0, max: 7, names: map[string]int{
		"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6,
	}}
)

var shortcuts = map[string]string{
	"@yearly":   "0 0 1 1 *",
	"@annually": "0 0 1 1 *",
	"@monthly":  "0 0 1 * *",
	"@weekly":   "0 0 * * 0",
	"@daily":    "0 0 * * *",
	"@midnight": "0 0 * * *",
	"@hourly":   "0 * * * *",
}

// Parse parses expr in the zone tz (IANA name; "" = UTC). Errors are *Error.
//
// The expression is checked before the zone, so an error names the
// expression's first problem when both are wrong.
func Parse(expr, tz string) (*Schedule, error) {
	s := &Schedule{expr: expr}
	if err := s.parse(expr); err != nil {
		return nil, err
	}
	loc, err := loadZone(tz)
	if err != nil {
		return nil, err
	}
	s.loc = loc
	return s, nil
}

func (s *Schedule) parse(expr string) error {
	text := strings.TrimSpace(expr)
	if text == "" {
		return &Error{Name: NameExpression, Msg: "empty expression"}
	}
	if strings.HasPrefix(text, "@") {
		words := strings.Fields(text)
		word := strings.ToLower(words[0])
		rest := strings.Join(words[1:], " ")
		if word == "@every" {
			return s.parseEvery(text, rest)
		}
		fields, ok := shortcuts[word]
		if !ok {
			return &Error{Name: NameExpression, Value: text,
				Msg: "unknown shortcut (want @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or @every <duration>)"}
		}
		if rest != "" {
			return &Error{Name: NameExpression, Value: text, Msg: "a shortcut takes no fields after it (except @every <duration>)"}
		}
		text = fields
	}
	fs := strings.Fields(text)
	var specs []field
	switch len(fs) {
	case 5:
		specs = []field{fMinute, fHour, fDom, fMonth, fDow}
		s.second = 1 // second 0
	case 6:
		specs = []field{fSecond, fMinute, fHour, fDom, fMonth, fDow}
	default:
		return &Error{Name: NameExpression, Value: text,
			Msg: fmt.Sprintf("expected 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first), got %d", len(fs))}
	}
	for i, spec := range specs {
		set, err := parseField(fs[i], spec, i+1)
		if err != nil {
			return err
		}
		switch spec.name {
		case NameSecond:
			s.second = set
		case NameMinute:
			s.minute = set
		case NameHour:
			s.hour = set
		case NameDayOfMonth:
			s.dom = set
			s.domRestricted = set != fullSet(fDom)
		case NameMonth:
			s.month = set
		case NameDayOfWeek:
			s.dow = set
			s.dowRestricted = set != fullSet(field{min: 0, max: 6})
		}
	}
	return s.checkDaysOccur(fs, len(specs)-3)
}

func loadZone(tz string) (*time.Location, error) {
	tz = strings.TrimSpace(tz)
	if tz == "" || tz == "UTC" {
		return time.UTC, nil
	}
	// "Local" would make a schedule mean different things on different
	// servers.
	if tz == "Local" {
		return nil, &Error{Name: NameTimezone, Value: tz, Msg: `"Local" depends on the server; use an IANA zone name such as "Europe/Berlin"`}
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, &Error{Name: NameTimezone, Value: tz, Msg: `unknown time zone (want an IANA name such as "Europe/Berlin", or "" for UTC)`}
	}
	return loc, nil
}

func (s *Schedule) parseEvery(text, arg string) error {
	if arg == "" {
		return &Error{Name: NameExpression, Value: text, Msg: `@every needs a duration, e.g. "@every 5m"`}
	}
	d, err := time.ParseDuration(arg)
	if err != nil {
		return &Error{Name: NameExpression, Value: text, Msg: fmt.Sprintf("bad duration %q (want a Go duration such as 30s, 5m, 1h30m)", arg)}
	}
	if d < MinEvery || d > MaxEvery {
		return &Error{Name: NameExpression, Value: text, Msg: fmt.Sprintf("duration %v out of range 1s-8760h", d)}
	}
	if d%time.Second != 0 {
		return &Error{Name: NameExpression, Value: text, Msg: fmt.Sprintf("duration %v is not a whole number of seconds", d)}
	}
	s.every = int64(d / time.Second)
	return nil
}

func fullSet(f field) uint64 {
	return (uint64(1)<<(f.max+1) - 1) &^ (uint64(1)<<f.min - 1)
}

// parseField parses one field of the expression (pos is its 1-based position)
// into a bit set.
func parseField(text string, f field, pos int) (uint64, error) {
	var set uint64
	for _, elem := range strings.Split(text, ",") {
		bad := func(format string, args ...any) error {
			return &Error{Field: pos, Name: f.name, Value: elem, Msg: fmt.Sprintf(format, args...)}
		}
		if elem == "" {
			return 0, &Error{Field: pos, Name: f.name, Value: text, Msg: "empty list element"}
		}
		rng, stepText, hasStep := strings.Cut(elem, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepText)
			if err != nil || stepText[0] == '+' || stepText[0] == '-' {
				return 0, bad("step %q is not a number", stepText)
			}
			if n < 1 {
				return 0, bad("step must be at least 1")
			}
			step = min(n, 64) // a larger step keeps only lo; no overflow
		}
		var lo, hi int
		switch {
		case rng == "*" || (rng == "?" && (f.name == NameDayOfMonth || f.name == NameDayOfWeek)):
			lo, hi = f.min, f.max
			if f.name == NameDayOfWeek {
				hi = 6 // 7 would repeat Sunday
			}
		case rng == "?":
			return 0, bad("? is only allowed in the day-of-month and day-of-week fields")
		default:
			loText, hiText, isRange := strings.Cut(rng, "-")
			var err error
			if lo, err = value(loText, f); err != nil {
				return 0, bad("%v", err)
			}
			switch {
			case isRange:
				if hi, err = value(hiText, f); err != nil {
					return 0, bad("%v", err)
				}
				// FRI-SUN: a weekday range ending on Sunday ends on 7.
				if f.name == NameDayOfWeek && hi == 0 && lo > 0 {
					hi = 7
				}
				if hi < lo {
					return 0, bad("range %d-%d is reversed", lo, hi)
				}
			case hasStep:
				hi = f.max // a/n: from a to the maximum
				if f.name == NameDayOfWeek {
					hi = max(lo, 6) // 7 would repeat Sunday, unless it is a
				}
			default:
				hi = lo
			}
		}
		for v := lo; v <= hi; v += step {
			set |= 1 << v
		}
	}
	if f.name == NameDayOfWeek && set&(1<<7) != 0 {
		set = set&^(1<<7) | 1 // 7 is Sunday
	}
	return set, nil
}

// value parses a number or a name of field f and checks its range.
func value(text string, f field) (int, error) {
	if text == "" {
		return 0, fmt.Errorf("missing value")
	}
	if f.names != nil {
		if v, ok := f.names[strings.ToLower(text)]; ok {
			return v, nil
		}
	}
	for _, c := range text {
		if c < '0' || c > '9' {
			if f.names != nil {
				return 0, fmt.Errorf("unknown %s %q (want %d-%d or a name such as %s)", f.name, text, f.min, f.max, exampleName(f))
			}
			return 0, fmt.Errorf("%q is not a number", text)
		}
	}
	v, err := strconv.Atoi(text)
	if err != nil || v < f.min || v > f.max {
		return 0, fmt.Errorf("value %s out of range %d-%d", text, f.min, f.max)
	}
	return v, nil
}

func exampleName(f field) string {
	if f.name == NameMonth {
		return "JAN"
	}
	return "MON"
}

// maxDays is the longest each month can be (February: leap years).
var maxDays = [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

// checkDaysOccur rejects a schedule whose day of month never occurs in its
// months ("0 0 30 2 *"): it would never fire, and saying so beats a schedule
// that silently does nothing. domIndex is the 0-based index of the field.
func (s *Schedule) checkDaysOccur(fs []string, domIndex int) error {
	if s.dowRestricted || !s.domRestricted {
		return nil // some day of every month matches
	}
	for m := 1; m <= 12; m++ {
		if s.month&(1<<m) == 0 {
			continue
		}
		if s.dom&fullSet(field{min: 1, max: maxDays[m]}) != 0 {
			return nil
		}
	}
	return &Error{Field: domIndex + 1, Name: NameDayOfMonth, Value: fs[domIndex],
		Msg: "no day in this field occurs in the months chosen, so the schedule would never fire (February has at most 29 days; April, June, September and November 30)"}
}
