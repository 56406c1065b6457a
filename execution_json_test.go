package picloud

import (
	"encoding/json"
	"testing"
	"time"
)

// The appenders must write what encoding/json writes, byte for byte.
func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	strs := []string{"", "plain", `quote " and \ backslash`, "<script>&amp;</script>", "tab\tnl\nret\rbs\bff\f",
		"nul\x00 bell\x07 del\x7f", "bad utf-8 \xff\xfe end", "é ü 中文 🎉", "sep \u2028 \u2029", "\xe2\x80"}
	check := func(t *testing.T, v any, got []byte) {
		t.Helper()
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("\n got %s\nwant %s", got, want)
		}
	}
	for _, s := range strs {
		req := &RequestRecord{Method: "POST", Path: "/fn/" + s, Query: map[string]string{s: s, "b": "2", "a": "1"},
			Headers: map[string]string{"content-type": "application/json", "x-" + s: s}, Body: s, BodySize: len(s)}
		check(t, req, req.AppendJSON(nil))
		resp := &ResponseRecord{Status: 201, Headers: map[string]string{"a": s}, Body: s, BodyEncoding: "base64", BodySize: 70000, BodyTruncated: true}
		check(t, resp, resp.AppendJSON(nil))
		xe := &ExecError{Kind: "ErrorRuntime", Message: s, Line: 3, Column: 14}
		check(t, xe, xe.AppendJSON(nil))
	}
	many := map[string]string{}
	for i := range 40 { // more keys than the appender's stack array
		many[string(rune('a'+i%26))+string(rune('a'+i/26))] = "v"
	}
	for _, req := range []*RequestRecord{nil, {}, {Query: map[string]string{}, Headers: many}, {QueryTruncated: true, HeadersTruncated: true}} {
		check(t, req, req.AppendJSON(nil))
	}
	check(t, (*ResponseRecord)(nil), (*ResponseRecord)(nil).AppendJSON(nil))
	check(t, (*ExecError)(nil), (*ExecError)(nil).AppendJSON(nil))

	now := Time{time.Date(2026, 1, 2, 3, 4, 5, 678_900_000, time.FixedZone("x", 3600))}
	for _, lines := range [][]LogLine{nil, {}, {
		{Level: LevelInfo, Message: "hi <b>", Time: now},
		{Level: LevelWarn, Message: "with data", Data: json.RawMessage(`{"a":[1,2.5,"x"],"b":null}`), Time: now},
		{Level: LevelDebug, Message: "spaced data", Data: json.RawMessage(" { \"a\" : [ 1 , 2 ] } "), Time: now},
		{Level: LevelError, Message: "zero time"},
	}} {
		got, err := AppendLogLinesJSON(nil, lines)
		if err != nil {
			t.Fatal(err)
		}
		check(t, lines, got)
	}
	for _, s := range strs {
		for _, calls := range [][]OutboundCall{nil, {}, {
			{Method: "GET", Host: "api.example.com:8443", Path: "/v1/" + s, Status: 200, DurationMS: 12.345, Bytes: 1 << 40},
			{Method: "POST", Host: s, Path: "/", DurationMS: 1e-7, Error: s},
			{DurationMS: 3e21}, {DurationMS: 0.000001}, {DurationMS: 1234567},
		}} {
			check(t, calls, AppendOutboundJSON(nil, calls))
		}
	}
	if _, err := AppendLogLinesJSON(nil, []LogLine{{Data: json.RawMessage(`{bad`)}}); err == nil {
		t.Error("invalid data: no error")
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	req := &RequestRecord{Method: "GET", Path: "/fn/hello", Query: map[string]string{},
		Headers: map[string]string{"accept-encoding": "gzip", "user-agent": "Go-http-client/1.1"}}
	resp := &ResponseRecord{Status: 200, Headers: map[string]string{"content-type": "application/json"},
		Body: `{"hello":"world","n":42}`, BodySize: 24}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = req.AppendJSON(buf[:0])
		buf = resp.AppendJSON(buf)
		buf, _ = AppendLogLinesJSON(buf, []LogLine{})
		buf = (*ExecError)(nil).AppendJSON(buf)
	}
}
