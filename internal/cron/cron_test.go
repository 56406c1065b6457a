package cron

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		expr, tz string
		field    int
		name     string
		value    string
		msg      string // a part of Msg
	}{
		{"", "", 0, NameExpression, "", "empty expression"},
		{"   ", "", 0, NameExpression, "", "empty expression"},
		{"* * * *", "", 0, NameExpression, "* * * *", "got 4"},
		{"* * * * * * *", "", 0, NameExpression, "* * * * * * *", "got 7"},
		{"@often", "", 0, NameExpression, "@often", "unknown shortcut"},
		{"@daily 5", "", 0, NameExpression, "@daily 5", "no fields after"},
		{"@every", "", 0, NameExpression, "@every", "needs a duration"},
		{"@every soon", "", 0, NameExpression, "@every soon", "bad duration"},
		{"@every 500ms", "", 0, NameExpression, "@every 500ms", "out of range"},
		{"@every 0s", "", 0, NameExpression, "@every 0s", "out of range"},
		{"@every -5m", "", 0, NameExpression, "@every -5m", "out of range"},
		{"@every 8761h", "", 0, NameExpression, "@every 8761h", "out of range"},
		{"@every 1500ms", "", 0, NameExpression, "@every 1500ms", "whole number of seconds"},
		{"* * * * *", "Mars/Olympus", 0, NameTimezone, "Mars/Olympus", "unknown time zone"},
		{"* * * * *", "Local", 0, NameTimezone, "Local", "IANA"},
		{"* * * * *", "../../etc/passwd", 0, NameTimezone, "../../etc/passwd", "unknown time zone"},
		{"60 * * * *", "", 1, NameMinute, "60", "value 60 out of range 0-59"},
		{"0 25 * * *", "Bad/Zone", 2, NameHour, "25", "out of range"}, // the expression first
		{"0 25 * * *", "", 2, NameHour, "25", "value 25 out of range 0-23"},
		{"0 0 0 * *", "", 3, NameDayOfMonth, "0", "out of range 1-31"},
		{"0 0 32 * *", "", 3, NameDayOfMonth, "32", "out of range 1-31"},
		{"0 0 * 13 *", "", 4, NameMonth, "13", "out of range 1-12"},
		{"0 0 * 0 *", "", 4, NameMonth, "0", "out of range 1-12"},
		{"0 0 * * 8", "", 5, NameDayOfWeek, "8", "out of range 0-7"},
		{"0 0 * FOO *", "", 4, NameMonth, "FOO", `unknown month "FOO"`},
		{"0 0 * * FRY", "", 5, NameDayOfWeek, "FRY", `unknown day of week "FRY"`},
		{"0 0 * * MONDAY", "", 5, NameDayOfWeek, "MONDAY", "unknown day of week"},
		{"x * * * *", "", 1, NameMinute, "x", "not a number"},
		{"-1 * * * *", "", 1, NameMinute, "-1", "missing value"},
		{"5- * * * *", "", 1, NameMinute, "5-", "missing value"},
		{"1-2-3 * * * *", "", 1, NameMinute, "1-2-3", "not a number"},
		{"*/0 * * * *", "", 1, NameMinute, "*/0", "step must be at least 1"},
		{"1-10/0 * * * *", "", 1, NameMinute, "1-10/0", "step must be at least 1"},
		{"*/x * * * *", "", 1, NameMinute, "*/x", "not a number"},
		{"*/ * * * *", "", 1, NameMinute, "*/", "not a number"},
		{"*/+2 * * * *", "", 1, NameMinute, "*/+2", "not a number"},
		{"*/-2 * * * *", "", 1, NameMinute, "*/-2", "not a number"},
		{"30-10 * * * *", "", 1, NameMinute, "30-10", "range 30-10 is reversed"},
		{"0 0 * DEC-JAN *", "", 4, NameMonth, "DEC-JAN", "range 12-1 is reversed"},
		{"0 0 * * 5-1", "", 5, NameDayOfWeek, "5-1", "range 5-1 is reversed"},
		{"1,,2 * * * *", "", 1, NameMinute, "1,,2", "empty list element"},
		{"1, * * * *", "", 1, NameMinute, "1,", "empty list element"},
		{"0 0,1,99 * * *", "", 2, NameHour, "99", "value 99 out of range 0-23"},
		{"? * * * *", "", 1, NameMinute, "?", "only allowed in the day"},
		{"0 ? * * *", "", 2, NameHour, "?", "only allowed in the day"},
		{"99999999999999999999 * * * *", "", 1, NameMinute, "99999999999999999999", "out of range"},
		{"0 0 30 2 *", "", 3, NameDayOfMonth, "30", "never fire"},
		{"0 0 31 4,6,9,11 *", "", 3, NameDayOfMonth, "31", "never fire"},
		// Six fields: the first is seconds, so every other field moves right.
		{"60 * * * * *", "", 1, NameSecond, "60", "out of range 0-59"},
		{"0 60 * * * *", "", 2, NameMinute, "60", "out of range 0-59"},
		{"0 0 24 * * *", "", 3, NameHour, "24", "out of range 0-23"},
		{"0 0 0 32 * *", "", 4, NameDayOfMonth, "32", "out of range 1-31"},
		{"0 0 0 * 13 *", "", 5, NameMonth, "13", "out of range 1-12"},
		{"0 0 0 * * 9", "", 6, NameDayOfWeek, "9", "out of range 0-7"},
		{"0 0 0 31 2 *", "", 4, NameDayOfMonth, "31", "never fire"},
	}
	for _, tt := range tests {
		t.Run(tt.expr+"|"+tt.tz, func(t *testing.T) {
			t.Parallel()
			s, err := Parse(tt.expr, tt.tz)
			if err == nil {
				t.Fatalf("Parse(%q, %q) = %v, want an error", tt.expr, tt.tz, s)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v is not *Error", err, err)
			}
			if e.Field != tt.field || e.Name != tt.name || e.Value != tt.value || !strings.Contains(e.Msg, tt.msg) {
				t.Errorf("got Field=%d Name=%q Value=%q Msg=%q\nwant Field=%d Name=%q Value=%q Msg containing %q",
					e.Field, e.Name, e.Value, e.Msg, tt.field, tt.name, tt.value, tt.msg)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	t.Parallel()
	tests := []struct{ expr, tz, want string }{
		{"0 25 * * *", "", `cron: field 2 (hour) "25": value 25 out of range 0-23`},
		{"", "", "cron: empty expression"},
		{"* * *", "", `cron: expression "* * *": expected 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first), got 3`},
		{"* * * * *", "Nowhere/City", `cron: timezone "Nowhere/City": unknown time zone (want an IANA name such as "Europe/Berlin", or "" for UTC)`},
	}
	for _, tt := range tests {
		_, err := Parse(tt.expr, tt.tz)
		if err == nil || err.Error() != tt.want {
			t.Errorf("Parse(%q, %q) error = %v, want %s", tt.expr, tt.tz, err, tt.want)
		}
	}
}

func TestParseValid(t *testing.T) {
	t.Parallel()
	for _, expr := range []string{
		"* * * * *", "*/5 * * * *", "0 9-17/2 * * MON-FRI", "0 0 1,15 * *",
		"0 0 * jan,Jul *", "0 0 * * sun", "0 0 * * 7", "0 0 * * 0-7", "0 0 ? * ?",
		"5/10 * * * *", "0 0 29 2 *", "  0  0  *  *  *  ", "*/2 * * * * *",
		"@yearly", "@ANNUALLY", "@monthly", "@weekly", "@daily", "@midnight", "@hourly",
		"@every 1s", "@every 1h30m", "@every 8760h", "@Every  5m", "0 0 * * FRI-SUN",
		"0 0 31 1-12 *", "0 0 31 2 FRI", "*/100 * * * *", "@every\t5m", "0\t0 * * *",
	} {
		s, err := Parse(expr, "Europe/Berlin")
		if err != nil {
			t.Errorf("Parse(%q): %v", expr, err)
			continue
		}
		if s.String() != expr {
			t.Errorf("String() = %q, want %q (as given)", s.String(), expr)
		}
		if s.Location().String() != "Europe/Berlin" {
			t.Errorf("Location() = %v", s.Location())
		}
	}
	for _, tz := range []string{"", "UTC", " UTC "} {
		s, err := Parse("@daily", tz)
		if err != nil || s.Location() != time.UTC {
			t.Errorf("Parse(@daily, %q) = %v, %v; want UTC", tz, s, err)
		}
	}
}

// TestSets checks the parsed bit sets of the field syntax directly.
func TestSets(t *testing.T) {
	t.Parallel()
	bitsOf := func(vs ...int) uint64 {
		var b uint64
		for _, v := range vs {
			b |= 1 << v
		}
		return b
	}
	tests := []struct {
		expr     string
		get      func(*Schedule) uint64
		want     uint64
		restrict *bool // dom or dow restricted, when checked
	}{
		{"*/15 * * * *", func(s *Schedule) uint64 { return s.minute }, bitsOf(0, 15, 30, 45), nil},
		{"5/20 * * * *", func(s *Schedule) uint64 { return s.minute }, bitsOf(5, 25, 45), nil},
		{"10-20/5,59 * * * *", func(s *Schedule) uint64 { return s.minute }, bitsOf(10, 15, 20, 59), nil},
		{"*/100 * * * *", func(s *Schedule) uint64 { return s.minute }, bitsOf(0), nil},
		{"0 0 * FEB-apr *", func(s *Schedule) uint64 { return s.month }, bitsOf(2, 3, 4), nil},
		{"0 0 * * 7", func(s *Schedule) uint64 { return s.dow }, bitsOf(0), nil},
		{"0 0 * * 5-7", func(s *Schedule) uint64 { return s.dow }, bitsOf(0, 5, 6), nil},
		{"0 0 * * FRI-SUN", func(s *Schedule) uint64 { return s.dow }, bitsOf(0, 5, 6), nil},
		{"0 0 * * */2", func(s *Schedule) uint64 { return s.dow }, bitsOf(0, 2, 4, 6), nil},
		{"0 0 * * 7/3", func(s *Schedule) uint64 { return s.dow }, bitsOf(0), nil},
		{"0 0 * * 1/2", func(s *Schedule) uint64 { return s.dow }, bitsOf(1, 3, 5), nil},
		{"0 0 */10 * *", func(s *Schedule) uint64 { return s.dom }, bitsOf(1, 11, 21, 31), nil},
		{"* * * * *", func(s *Schedule) uint64 { return s.second }, bitsOf(0), nil},
		{"*/20 * * * * *", func(s *Schedule) uint64 { return s.second }, bitsOf(0, 20, 40), nil},
	}
	for _, tt := range tests {
		s, err := Parse(tt.expr, "")
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.expr, err)
			continue
		}
		if got := tt.get(s); got != tt.want {
			t.Errorf("%q: set %b, want %b", tt.expr, got, tt.want)
		}
	}

	restricted := []struct {
		expr     string
		dom, dow bool
	}{
		{"0 0 * * *", false, false},
		{"0 0 ? * ?", false, false},
		{"0 0 */1 * 0-7", false, false},
		{"0 0 1-31 * SUN-SAT", false, false},
		{"0 0 */2 * *", true, false},
		{"0 0 * * */2", false, true},
		{"0 0 13 * FRI", true, true},
	}
	for _, tt := range restricted {
		s, err := Parse(tt.expr, "")
		if err != nil {
			t.Fatal(err)
		}
		if s.domRestricted != tt.dom || s.dowRestricted != tt.dow {
			t.Errorf("%q: restricted dom=%v dow=%v, want %v %v", tt.expr, s.domRestricted, s.dowRestricted, tt.dom, tt.dow)
		}
	}
}
