package executor

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/rhai"
)

// Named layouts of time::format and time::parse. Times are always UTC.
var timeLayouts = map[string]string{
	"rfc3339":  picloud.TimeFormat,              // 2024-05-01T12:00:00.000Z
	"rfc1123":  "Mon, 02 Jan 2006 15:04:05 GMT", // HTTP dates
	"date":     "2006-01-02",
	"datetime": "2006-01-02 15:04:05",
}

// maxLayout bounds a strftime layout, and so the string format builds.
const maxLayout = 256

// timeModule is time::now() (Unix milliseconds), time::format(ms[, layout])
// and time::parse(text[, layout]).
func timeModule(count func()) *rhai.Module {
	m := newHostModule(count)
	m.SetFn("now", nil, func(c *rhai.Context, a []rhai.Value) (rhai.Value, error) {
		if err := charge(c, 0); err != nil {
			return rhai.Unit, err
		}
		return rhai.Int(now(c).UnixMilli()), nil
	})
	m.SetFn("format", []rhai.Type{rhai.TypeInt}, func(c *rhai.Context, a []rhai.Value) (rhai.Value, error) {
		if err := charge(c, 0); err != nil {
			return rhai.Unit, err
		}
		return rhai.String(time.UnixMilli(a[0].AsInt()).UTC().Format(picloud.TimeFormat)), nil
	})
	m.SetFn("format", []rhai.Type{rhai.TypeInt, rhai.TypeString}, func(c *rhai.Context, a []rhai.Value) (rhai.Value, error) {
		layout := a[1].AsString()
		if err := charge(c, len(layout)); err != nil {
			return rhai.Unit, err
		}
		t := time.UnixMilli(a[0].AsInt()).UTC()
		if l, ok := timeLayouts[layout]; ok {
			return rhai.String(t.Format(l)), nil
		}
		if !strings.Contains(layout, "%") {
			return rhai.Unit, rhai.NewError(rhai.ErrRuntime, "time::format: unknown layout %q: use rfc3339, rfc1123, date, datetime or a %%-pattern such as \"%%Y-%%m-%%d\"", clip(layout))
		}
		if len(layout) > maxLayout {
			return rhai.Unit, rhai.NewError(rhai.ErrRuntime, "time::format: layout of %d bytes, the limit is %d", len(layout), maxLayout)
		}
		s, err := strftime(t, layout)
		if err != nil {
			return rhai.Unit, rhai.NewError(rhai.ErrRuntime, "time::format: %v", err)
		}
		return rhai.String(s), nil
	})
	m.SetFn("parse", []rhai.Type{rhai.TypeString}, func(c *rhai.Context, a []rhai.Value) (rhai.Value, error) {
		s := a[0].AsString()
		if err := charge(c, len(s)); err != nil {
			return rhai.Unit, err
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return rhai.Unit, rhai.NewError(rhai.ErrRuntime, "time::parse: %q is not an RFC 3339 time such as 2024-05-01T12:00:00Z", clip(s))
		}
		return rhai.Int(t.UnixMilli()), nil
	})
	m.SetFn("parse", []rhai.Type{rhai.TypeString, rhai.TypeString}, func(c *rhai.Context, a []rhai.Value) (rhai.Value, error) {
		s, name := a[0].AsString(), a[1].AsString()
		if err := charge(c, len(s)); err != nil {
			return rhai.Unit, err
		}
		l, ok := timeLayouts[name]
		if !ok {
			return rhai.Unit, rhai.NewError(rhai.ErrRuntime, "time::parse: unknown layout %q: use rfc3339, rfc1123, date or datetime", clip(name))
		}
		if name == "rfc3339" {
			l = time.RFC3339Nano // fractional seconds optional, any offset
		}
		t, err := time.Parse(l, s)
		if err != nil {
			return rhai.Unit, rhai.NewError(rhai.ErrRuntime, "time::parse: %q is not a %s time such as %s", clip(s), name, time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC).Format(timeLayouts[name]))
		}
		return rhai.Int(t.UnixMilli()), nil
	})
	return m.Module
}

// clip is text as an error message may quote it: whole when short, else
// only its length. Never a prefix: secret redaction replaces whole values
// only, so the start of a long secret must not reach an error.
func clip(s string) string {
	const n = 64
	if len(s) <= n {
		return s
	}
	return fmt.Sprintf("<%d bytes>", len(s))
}

// strftime formats t with a subset of C's strftime: %Y %m %d %H %M %S, %L
// (milliseconds), %a %b (English abbreviations), %j (day of the year), %s
// (Unix seconds), %z (+0000), %Z (UTC) and %%. Anything else after a % is
// an error, so a typo does not silently print garbage.
func strftime(t time.Time, layout string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(layout); i++ {
		ch := layout[i]
		if ch != '%' {
			b.WriteByte(ch)
			continue
		}
		if i++; i == len(layout) {
			return "", fmt.Errorf("layout ends with a lone %%")
		}
		switch layout[i] {
		case 'Y':
			fmt.Fprintf(&b, "%04d", t.Year())
		case 'm':
			fmt.Fprintf(&b, "%02d", int(t.Month()))
		case 'd':
			fmt.Fprintf(&b, "%02d", t.Day())
		case 'H':
			fmt.Fprintf(&b, "%02d", t.Hour())
		case 'M':
			fmt.Fprintf(&b, "%02d", t.Minute())
		case 'S':
			fmt.Fprintf(&b, "%02d", t.Second())
		case 'L':
			fmt.Fprintf(&b, "%03d", t.Nanosecond()/int(time.Millisecond))
		case 'j':
			fmt.Fprintf(&b, "%03d", t.YearDay())
		case 'a':
			b.WriteString(t.Weekday().String()[:3])
		case 'b':
			b.WriteString(t.Month().String()[:3])
		case 's':
			b.WriteString(strconv.FormatInt(t.Unix(), 10))
		case 'z':
			b.WriteString("+0000")
		case 'Z':
			b.WriteString("UTC")
		case '%':
			b.WriteByte('%')
		default:
			r, _ := utf8.DecodeRuneInString(layout[i:])
			return "", fmt.Errorf("unknown directive %%%c in layout (known: %%Y %%m %%d %%H %%M %%S %%L %%j %%a %%b %%s %%z %%Z %%%%)", r)
		}
	}
	return b.String(), nil
}

// now is the execution's clock: a replay's fixed time, else the wall clock.
func now(c *rhai.Context) time.Time {
	if st := state(c); st != nil && st.replay != nil && !st.replay.Now.IsZero() {
		return st.replay.Now
	}
	return time.Now()
}
