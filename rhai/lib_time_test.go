package rhai

import (
	"testing"
	"time"
)

func TestTimeNatives(t *testing.T) {
	now, err := collCall(t, stdTime, "timestamp")
	if err != nil || now.Type() != TypeTimestamp {
		t.Fatalf("timestamp() = %v, %v", now.TypeName(), err)
	}
	later, _ := collCall(t, stdTime, "+", now, Int(10))
	d, _ := collCall(t, stdTime, "-", later, now)
	if d.Type() != TypeFloat || d.AsFloat() != 10 {
		t.Fatalf("later - now = %v", collShow(d))
	}
	earlier, _ := collCall(t, stdTime, "-", now, Float(2.5))
	d, _ = collCall(t, stdTime, "-", now, earlier)
	if d.AsFloat() != 2.5 {
		t.Fatalf("now - earlier = %v", collShow(d))
	}
	u := now
	args := []Value{u, Int(60)}
	collCall(t, stdTime, "+=", args...)
	d, _ = collCall(t, stdTime, "-", args[0], now)
	if d.AsFloat() != 60 {
		t.Fatalf("+= : %v", collShow(d))
	}
	for op, want := range map[string]bool{"<": true, "<=": true, ">": false, ">=": false, "==": false, "!=": true} {
		r, _ := collCall(t, stdTime, op, now, later)
		if r.AsBool() != want {
			t.Errorf("now %s later = %v", op, r.AsBool())
		}
	}
	old := NewTimestamp(time.Now().Add(-2 * time.Second))
	e, _ := collCall(t, stdTime, "get$elapsed", old)
	if e.Type() != TypeFloat || e.AsFloat() < 2 {
		t.Fatalf("elapsed = %v", collShow(e))
	}
}
