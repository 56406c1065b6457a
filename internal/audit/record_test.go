package audit

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/picloud/picloud"
)

// fill sets every field reachable from v to a value that is not zero, so that
// a field the record format forgets shows up as a difference.
func fill(v reflect.Value, n *int) {
	*n++
	switch v.Type() {
	case reflect.TypeFor[time.Time]():
		v.Set(reflect.ValueOf(time.Date(2026, 12, 6, 10, 11, 12, 123456789+*n, time.UTC)))
		return
	case reflect.TypeFor[json.RawMessage]():
		v.Set(reflect.ValueOf(json.RawMessage(`{"k":[1,2]}`)))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString("s<é>\u2028" + string(rune('a'+*n%26)))
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(-1000 * *n))
	case reflect.Uint64:
		v.SetUint(1<<40 + uint64(*n))
	case reflect.Float64:
		v.SetFloat(0.1 + float64(*n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), n)
	case reflect.Struct:
		for i := range v.NumField() {
			fill(v.Field(i), n)
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		fill(v.Index(0), n)
		fill(v.Index(1), n)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for range 2 {
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			fill(k, n)
			fill(e, n)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	default:
		panic("fill: no value for " + v.Type().String())
	}
}

func TestRecordRoundTrip(t *testing.T) {
	full := &picloud.ExecutionLog{}
	fill(reflect.ValueOf(full).Elem(), new(int))
	empty := &picloud.ExecutionLog{ID: "e2", Request: &picloud.RequestRecord{Headers: map[string]string{}},
		Logs: []picloud.LogLine{}}
	for _, l := range []*picloud.ExecutionLog{full, empty, {}} {
		rec, err := appendRecord(nil, l)
		if err != nil {
			t.Fatal(err)
		}
		got, err := parseRecord(rec)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, l) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, l)
		}
		for cut := range len(rec) {
			if _, err := parseRecord(rec[:cut]); err == nil {
				t.Fatalf("a record cut at %d of %d bytes was read", cut, len(rec))
			}
		}
	}
	if _, err := appendRecord(nil, &picloud.ExecutionLog{Logs: []picloud.LogLine{{Data: json.RawMessage("{")}}}); err == nil {
		t.Error("a log line with invalid data was encoded")
	}
}

func BenchmarkRecordCodec(b *testing.B) {
	l := &picloud.ExecutionLog{}
	fill(reflect.ValueOf(l).Elem(), new(int))
	rec, _ := appendRecord(nil, l)
	b.Run("encode", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			buf, _ = appendRecord(buf[:0], l)
		}
	})
	b.Run("parse", func(b *testing.B) {
		for b.Loop() {
			parseRecord(rec)
		}
	})
}

// TestRecordOldVersions reads records of the older versions: version 3
// (before the node) is a version 4 record without its trailing empty node;
// version 2 (before the job fields) also lacks the empty job id, attempt and
// schedule id; version 1 (before the outbound calls) also lacks the outbound
// count before them.
func TestRecordOldVersions(t *testing.T) {
	l := &picloud.ExecutionLog{ID: "e1", ScriptID: "s", Logs: []picloud.LogLine{{Level: "info", Message: "m"}}}
	rec, err := appendRecord(nil, l)
	if err != nil {
		t.Fatal(err)
	}
	// The tail: outbound count 0 (nil), job id "", attempt 0, schedule id "", node "".
	if tail := rec[len(rec)-5:]; rec[0] != recordV4 || string(tail) != "\x00\x00\x00\x00\x00" {
		t.Fatalf("a version %d record with no outbound calls, no job and no node ends in %x", rec[0], tail)
	}
	v3 := append([]byte{recordV3}, rec[1:len(rec)-1]...)
	got, err := parseRecord(v3)
	if err != nil || !reflect.DeepEqual(got, l) {
		t.Fatalf("version 3: %+v, %v", got, err)
	}
	v2 := append([]byte{recordV2}, rec[1:len(rec)-4]...)
	if got, err = parseRecord(v2); err != nil || !reflect.DeepEqual(got, l) {
		t.Fatalf("version 2: %+v, %v", got, err)
	}
	v1 := append([]byte{recordV1}, rec[1:len(rec)-5]...)
	if got, err = parseRecord(v1); err != nil || !reflect.DeepEqual(got, l) {
		t.Fatalf("version 1: %+v, %v", got, err)
	}

	// A version 3 record as a version 3 writer wrote it: the job fields,
	// then nothing.
	job := &picloud.ExecutionLog{ID: "e2", JobID: "17", Attempt: 2, ScheduleID: "sch"}
	rec, _ = appendRecord(nil, job)
	v3 = append([]byte{recordV3}, rec[1:len(rec)-1]...)
	if got, err := parseRecord(v3); err != nil || got.JobID != "17" || got.Attempt != 2 || got.ScheduleID != "sch" || got.Node != "" {
		t.Fatalf("version 3 job fields: %+v, %v", got, err)
	}

	// The node round-trips in version 4, and an older version carrying
	// the newer tail has bytes too many.
	job.Node = "web-1:8001"
	rec, _ = appendRecord(nil, job)
	if got, err := parseRecord(rec); err != nil || got.Node != "web-1:8001" || got.JobID != "17" || got.ScheduleID != "sch" {
		t.Fatalf("version 4 node: %+v, %v", got, err)
	}
	for _, old := range []byte{recordV2, recordV3} {
		rec[0] = old
		if _, err := parseRecord(rec); err == nil {
			t.Fatalf("a version %d record with a version 4 tail was read", old)
		}
	}
	rec[0] = recordV4 + 1
	if _, err := parseRecord(rec); err == nil {
		t.Fatal("a record of an unknown version was read")
	}
}
