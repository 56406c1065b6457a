package audit

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/picloud/picloud"
)

func TestRecordRoundTrip(t *testing.T) {
	at := time.Date(2026, 12, 6, 10, 11, 12, 123456789, time.UTC)
	full := &picloud.ExecutionLog{
		ID: "e1", ScriptID: "s1", ScriptVersion: 3, Trigger: picloud.TriggerHTTP, Status: picloud.StatusTimeout,
		StartedAt: picloud.Time{Time: at}, DurationMS: 12.375, Operations: 1 << 40,
		Request: &picloud.RequestRecord{Method: "POST", Path: "/fn/x", Query: map[string]string{"a": "1"}, QueryTruncated: true,
			Headers: map[string]string{"content-type": "text/plain", "x": "<é>\u2028"}, HeadersTruncated: true,
			Body: "aGk=", BodyEncoding: "base64", BodySize: 2, BodyTruncated: true},
		Response: &picloud.ResponseRecord{Status: 504, Headers: map[string]string{}, Body: "late", BodySize: 4},
		Logs: []picloud.LogLine{{Level: picloud.LevelInfo, Message: "hi", Data: json.RawMessage(`{"k":[1,2]}`),
			Time: picloud.Time{Time: at.Truncate(time.Millisecond)}}},
		Error: &picloud.ExecError{Kind: "ErrorTerminated", Message: "timed out", Line: 2, Column: 5},
	}
	for _, l := range []*picloud.ExecutionLog{full, {ID: "e2", ScriptID: "s1"}} {
		rec, err := appendRecord(nil, l)
		if err != nil {
			t.Fatal(err)
		}
		if !json.Valid(rec) {
			t.Fatalf("record is not JSON: %s", rec)
		}
		got, err := parseRecord(rec)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, l) {
			t.Errorf("round trip of %s:\n got %+v\nwant %+v", rec, got, l)
		}
	}
	if _, err := appendRecord(nil, &picloud.ExecutionLog{Logs: []picloud.LogLine{{Data: json.RawMessage("{")}}}); err == nil {
		t.Error("a log line with invalid data was encoded")
	}
}
