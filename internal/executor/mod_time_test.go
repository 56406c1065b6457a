package executor

import (
	"strconv"
	"testing"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/rhai"
)

func TestTimeModule(t *testing.T) {
	// 2024-05-01T12:34:56.789Z
	const ms = "1714566896789"
	runHostCases(t, []hostCase{
		{name: "format", src: `time::format(` + ms + `)`, want: "2024-05-01T12:34:56.789Z"},
		{name: "format epoch", src: `time::format(0)`, want: "1970-01-01T00:00:00.000Z"},
		{name: "format before epoch", src: `time::format(-1)`, want: "1969-12-31T23:59:59.999Z"},
		{name: "format rfc3339", src: `time::format(` + ms + `, "rfc3339")`, want: "2024-05-01T12:34:56.789Z"},
		{name: "format rfc1123", src: `time::format(` + ms + `, "rfc1123")`, want: "Wed, 01 May 2024 12:34:56 GMT"},
		{name: "format date", src: `time::format(` + ms + `, "date")`, want: "2024-05-01"},
		{name: "format datetime", src: `time::format(` + ms + `, "datetime")`, want: "2024-05-01 12:34:56"},
		{name: "format strftime", src: `time::format(` + ms + `, "%Y/%m/%d %H:%M:%S.%L %a %b day %j %z %Z 100%%")`, want: "2024/05/01 12:34:56.789 Wed May day 122 +0000 UTC 100%"},
		{name: "format unix seconds", src: `time::format(` + ms + `, "%s")`, want: "1714566896"},
		{name: "format literal text", src: `time::format(` + ms + `, "Jan 2 %Y")`, want: "Jan 2 2024"},
		{name: "format unknown name", src: `time::format(0, "2006-01-02")`, kind: rhai.ErrRuntime, err: `time::format: unknown layout "2006-01-02": use rfc3339, rfc1123, date, datetime or a %-pattern`},
		{name: "format unknown directive", src: `time::format(0, "%Q")`, kind: rhai.ErrRuntime, err: "time::format: unknown directive %Q"},
		{name: "format unknown non-ASCII directive", src: `time::format(0, "%é")`, kind: rhai.ErrRuntime, err: "time::format: unknown directive %é"},
		{name: "format lone percent", src: `time::format(0, "%Y%")`, kind: rhai.ErrRuntime, err: "time::format: layout ends with a lone %"},
		{name: "parse", src: `time::parse("2024-05-01T12:34:56.789Z")`, want: ms},
		{name: "parse no fraction", src: `time::parse("2024-05-01T12:34:56Z")`, want: "1714566896000"},
		{name: "parse offset", src: `time::parse("2024-05-01T14:34:56.789+02:00")`, want: ms},
		{name: "parse round trip", src: `time::parse(time::format(` + ms + `))`, want: ms},
		{name: "parse rfc1123", src: `time::parse("Wed, 01 May 2024 12:34:56 GMT", "rfc1123")`, want: "1714566896000"},
		{name: "parse date", src: `time::parse("2024-05-01", "date")`, want: "1714521600000"},
		{name: "parse datetime", src: `time::parse("2024-05-01 12:34:56", "datetime")`, want: "1714566896000"},
		{name: "parse bad", src: `time::parse("yesterday")`, kind: rhai.ErrRuntime, err: `time::parse: "yesterday" is not an RFC 3339 time such as 2024-05-01T12:00:00Z`},
		{name: "parse bad date", src: `time::parse("01/05/2024", "date")`, kind: rhai.ErrRuntime, err: `time::parse: "01/05/2024" is not a date time such as 2024-05-01`},
		{name: "parse unknown layout", src: `time::parse("2024", "%Y")`, kind: rhai.ErrRuntime, err: `time::parse: unknown layout "%Y"`},
		{name: "coexists with timestamp", src: `type_of(timestamp()) + " " + type_of(time::now())`, want: "timestamp i64"},
	})
}

func TestTimeNow(t *testing.T) {
	x := newTestExecutor(t, Config{})
	before := time.Now().UnixMilli()
	res := run(t, x, `time::now()`, Limits{}, Options{})
	after := time.Now().UnixMilli()
	if res.Status != picloud.StatusSuccess {
		t.Fatal(res.Err)
	}
	got, err := strconv.ParseInt(string(res.Response.Body), 10, 64)
	if err != nil || got < before || got > after {
		t.Fatalf("time::now() = %s, want within [%d, %d]", res.Response.Body, before, after)
	}
}
