package audit

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/picloud/picloud"
)

// A journal record is one execution row in a compact binary form: the writer
// reads rows back from the journal after an outage, a burst or a crash, and
// decoding JSON took about 16 µs a row, this about 1 µs. Every field of
// picloud.ExecutionLog is kept exactly (times to the nanosecond, nil apart
// from empty), which TestRecordRoundTrip checks field by field, so a field
// added to the row must be added here.
//
// The first byte is the format's version. A record outlives the binary that
// wrote it (an upgrade restarts on a journal), so a new version keeps reading
// the older ones.
//
// Strings are a uvarint length and the bytes; a map, a list and an optional
// part start with a uvarint count plus one, 0 meaning nil; a time is a
// zigzag varint of Unix seconds and a uvarint of nanoseconds, with seconds
// math.MinInt64 for the zero time.

// Version 2 adds the outbound calls after the error; a version 1 record
// reads with none. Version 3 adds the job fields (job id, attempt, schedule
// id) after the outbound calls; older records read with none. Version 4
// adds the node that ran it (cluster mode) after the job fields; older
// records read with none ("", as the stores' default).
const (
	recordV1 = 1
	recordV2 = 2
	recordV3 = 3
	recordV4 = 4
)

var errShortRecord = errors.New("audit: journal record cut short")

type encoder struct{ b []byte }

func (e *encoder) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) varint(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) str(s string)     { e.uvarint(uint64(len(s))); e.b = append(e.b, s...) }
func (e *encoder) bytes(p []byte) {
	if p == nil {
		e.uvarint(0)
		return
	}
	e.uvarint(uint64(len(p)) + 1)
	e.b = append(e.b, p...)
}

func (e *encoder) boolean(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}

func (e *encoder) time(t time.Time) {
	if t.IsZero() {
		e.varint(math.MinInt64)
		return
	}
	e.varint(t.Unix())
	e.uvarint(uint64(t.Nanosecond()))
}

func (e *encoder) strMap(m map[string]string) {
	if m == nil {
		e.uvarint(0)
		return
	}
	e.uvarint(uint64(len(m)) + 1)
	for k, v := range m {
		e.str(k)
		e.str(v)
	}
}

// appendRecord appends l's record to b.
func appendRecord(b []byte, l *picloud.ExecutionLog) ([]byte, error) {
	e := encoder{b: append(b, recordV4)}
	e.str(l.ID)
	e.str(l.ScriptID)
	e.varint(int64(l.ScriptVersion))
	e.str(string(l.Trigger))
	e.str(string(l.Status))
	e.time(l.StartedAt.Time)
	e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(l.DurationMS))
	e.uvarint(l.Operations)
	if r := l.Request; r == nil {
		e.boolean(false)
	} else {
		e.boolean(true)
		e.str(r.Method)
		e.str(r.Path)
		e.strMap(r.Query)
		e.boolean(r.QueryTruncated)
		e.strMap(r.Headers)
		e.boolean(r.HeadersTruncated)
		e.str(r.Body)
		e.str(r.BodyEncoding)
		e.varint(int64(r.BodySize))
		e.boolean(r.BodyTruncated)
	}
	if r := l.Response; r == nil {
		e.boolean(false)
	} else {
		e.boolean(true)
		e.varint(int64(r.Status))
		e.strMap(r.Headers)
		e.str(r.Body)
		e.str(r.BodyEncoding)
		e.varint(int64(r.BodySize))
		e.boolean(r.BodyTruncated)
	}
	if l.Logs == nil {
		e.uvarint(0)
	} else {
		e.uvarint(uint64(len(l.Logs)) + 1)
		for i := range l.Logs {
			ln := &l.Logs[i]
			if len(ln.Data) > 0 && !json.Valid(ln.Data) { // the store could not write it either
				return e.b, fmt.Errorf("audit: encode execution %s: log line data is not JSON", l.ID)
			}
			e.str(ln.Level)
			e.str(ln.Message)
			e.bytes(ln.Data)
			e.time(ln.Time.Time)
		}
	}
	if x := l.Error; x == nil {
		e.boolean(false)
	} else {
		e.boolean(true)
		e.str(x.Kind)
		e.str(x.Message)
		e.varint(int64(x.Line))
		e.varint(int64(x.Column))
	}
	if l.Outbound == nil {
		e.uvarint(0)
	} else {
		e.uvarint(uint64(len(l.Outbound)) + 1)
		for i := range l.Outbound {
			o := &l.Outbound[i]
			e.str(o.Method)
			e.str(o.Host)
			e.str(o.Path)
			e.varint(int64(o.Status))
			e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(o.DurationMS))
			e.varint(o.Bytes)
			e.str(o.Error)
		}
	}
	e.str(l.JobID)
	e.varint(int64(l.Attempt))
	e.str(l.ScheduleID)
	e.str(l.Node)
	return e.b, nil
}

// decoder reads a record; its strings share one copy of the record.
type decoder struct {
	s   string
	off int
	err error
}

func (d *decoder) uvarint() uint64 {
	var v uint64
	for shift := uint(0); shift < 64; shift += 7 {
		if d.off >= len(d.s) {
			break
		}
		c := d.s[d.off]
		d.off++
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v
		}
	}
	d.fail()
	return 0
}

// varint reads what binary.AppendVarint wrote (zigzag).
func (d *decoder) varint() int64 {
	u := d.uvarint()
	x := int64(u >> 1)
	if u&1 != 0 {
		x = ^x
	}
	return x
}

func (d *decoder) float64() float64 {
	s := d.take(8)
	if len(s) != 8 {
		return 0
	}
	var bits uint64
	for i := 7; i >= 0; i-- {
		bits = bits<<8 | uint64(s[i])
	}
	return math.Float64frombits(bits)
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errShortRecord
	}
	d.off = len(d.s)
}

func (d *decoder) take(n uint64) string {
	if n > uint64(len(d.s)-d.off) {
		d.fail()
		return ""
	}
	s := d.s[d.off : d.off+int(n)]
	d.off += int(n)
	return s
}

func (d *decoder) str() string { return d.take(d.uvarint()) }

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if n == 0 {
		return nil
	}
	return []byte(d.take(n - 1))
}

func (d *decoder) boolean() bool { return d.take(1) == "\x01" }

func (d *decoder) time() time.Time {
	sec := d.varint()
	if sec == math.MinInt64 {
		return time.Time{}
	}
	return time.Unix(sec, int64(d.uvarint())).UTC()
}

func (d *decoder) strMap() map[string]string {
	n := d.uvarint()
	if n == 0 {
		return nil
	}
	m := make(map[string]string, min(n-1, 64))
	for range n - 1 {
		if d.err != nil {
			return nil
		}
		k := d.str()
		m[k] = d.str()
	}
	return m
}

// parseRecord reads a record back.
func parseRecord(rec []byte) (*picloud.ExecutionLog, error) {
	if len(rec) == 0 || rec[0] < recordV1 || rec[0] > recordV4 {
		return nil, fmt.Errorf("audit: journal record of unknown version")
	}
	d := &decoder{s: string(rec), off: 1}
	l := &picloud.ExecutionLog{}
	l.ID = d.str()
	l.ScriptID = d.str()
	l.ScriptVersion = int(d.varint())
	l.Trigger = picloud.Trigger(d.str())
	l.Status = picloud.ExecutionStatus(d.str())
	l.StartedAt = picloud.Time{Time: d.time()}
	l.DurationMS = d.float64()
	l.Operations = d.uvarint()
	if d.boolean() {
		r := &picloud.RequestRecord{}
		r.Method = d.str()
		r.Path = d.str()
		r.Query = d.strMap()
		r.QueryTruncated = d.boolean()
		r.Headers = d.strMap()
		r.HeadersTruncated = d.boolean()
		r.Body = d.str()
		r.BodyEncoding = d.str()
		r.BodySize = int(d.varint())
		r.BodyTruncated = d.boolean()
		l.Request = r
	}
	if d.boolean() {
		r := &picloud.ResponseRecord{}
		r.Status = int(d.varint())
		r.Headers = d.strMap()
		r.Body = d.str()
		r.BodyEncoding = d.str()
		r.BodySize = int(d.varint())
		r.BodyTruncated = d.boolean()
		l.Response = r
	}
	if n := d.uvarint(); n > 0 {
		l.Logs = make([]picloud.LogLine, 0, min(n-1, 1024))
		for range n - 1 {
			if d.err != nil {
				break
			}
			var ln picloud.LogLine
			ln.Level = d.str()
			ln.Message = d.str()
			ln.Data = d.bytes()
			ln.Time = picloud.Time{Time: d.time()}
			l.Logs = append(l.Logs, ln)
		}
	}
	if d.boolean() {
		x := &picloud.ExecError{}
		x.Kind = d.str()
		x.Message = d.str()
		x.Line = int(d.varint())
		x.Column = int(d.varint())
		l.Error = x
	}
	if rec[0] >= recordV2 {
		if n := d.uvarint(); n > 0 {
			l.Outbound = make([]picloud.OutboundCall, 0, min(n-1, 1024))
			for range n - 1 {
				if d.err != nil {
					break
				}
				var o picloud.OutboundCall
				o.Method = d.str()
				o.Host = d.str()
				o.Path = d.str()
				o.Status = int(d.varint())
				o.DurationMS = d.float64()
				o.Bytes = d.varint()
				o.Error = d.str()
				l.Outbound = append(l.Outbound, o)
			}
		}
	}
	if rec[0] >= recordV3 {
		l.JobID = d.str()
		l.Attempt = int(d.varint())
		l.ScheduleID = d.str()
	}
	if rec[0] >= recordV4 {
		l.Node = d.str()
	}
	if d.err != nil {
		return nil, d.err
	}
	if d.off != len(d.s) {
		return nil, fmt.Errorf("audit: journal record has %d bytes too many", len(d.s)-d.off)
	}
	return l, nil
}
