package manager

import (
	"encoding/json"
	"testing"

	"github.com/picloud/picloud"
)

func changes(t *testing.T, d picloud.ReplayDiff) string {
	t.Helper()
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestReplayDiff: JSON bodies are compared by value (key order and spacing
// do not count), arrays index by index, other bodies as a whole; headers by
// name with an absent side null; a failed run's error is compared too.
func TestReplayDiff(t *testing.T) {
	run := func(status int, body string, hdr map[string]string) *picloud.ReplayRun {
		return &picloud.ReplayRun{Status: status, Body: body, Headers: hdr}
	}
	h := map[string]string{"content-type": "application/json"}
	for _, tt := range []struct {
		name string
		a, b *picloud.ReplayRun
		want string
	}{
		{"same JSON, other order", run(200, `{"a":1, "b":[1,2]}`, h), run(200, `{"b":[1,2],"a":1}`, h), `{}`},
		{"array grows", run(200, `{"l":[1,2]}`, h), run(200, `{"l":[1,3,4]}`, h),
			`{"body":[{"path":"/l/1","live":2,"draft":3},{"path":"/l/2","live":null,"draft":4}]}`},
		{"key removed, escaped path", run(200, `{"a/b":1,"c":2}`, h), run(200, `{"c":2}`, h),
			`{"body":[{"path":"/a~1b","live":1,"draft":null}]}`},
		{"text", run(200, "hello", nil), run(200, "bye", nil), `{"body":[{"path":"","live":"hello","draft":"bye"}]}`},
		{"JSON against text", run(200, `1`, nil), run(200, "one", nil), `{"body":[{"path":"","live":"1","draft":"one"}]}`},
		{"status and header", run(200, "", map[string]string{"x": "1"}), run(201, "", map[string]string{"y": "2"}),
			`{"status":{"live":200,"draft":201},"headers":{"x":{"live":"1","draft":null},"y":{"live":null,"draft":"2"}}}`},
	} {
		if got := changes(t, replayDiff(tt.a, tt.b)); got != tt.want {
			t.Errorf("%s: diff %s, want %s", tt.name, got, tt.want)
		}
	}
	a := &picloud.ReplayRun{Status: 500, Error: &picloud.ExecError{Kind: "ErrorRuntime", Message: "boom", Line: 1, Column: 2}}
	b := &picloud.ReplayRun{Status: 500, Error: &picloud.ExecError{Kind: "ErrorRuntime", Message: "boom", Line: 1, Column: 3}}
	if d := replayDiff(a, b); d.Error == nil || d.Status != nil || d.Body != nil {
		t.Errorf("errors at other positions: %s", changes(t, d))
	}
	if d := replayDiff(a, a); changes(t, d) != `{}` {
		t.Errorf("same error: %s", changes(t, d))
	}
}
