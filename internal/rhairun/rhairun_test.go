package rhairun

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/picloud/picloud/rhai"
)

// The JSON keeps Rhai's exact output (no position where Rhai reports none);
// AtLine/AtCol, outside the JSON, locate the error for the command's text.
func TestPositions(t *testing.T) {
	cases := []struct {
		name, src      string
		opts           Options
		jsonLine       int // the JSON's line: Rhai's
		atLine, atCol  int
		wantInJSONText string
	}{
		{name: "division", src: "let n = 1;\nn / 0", jsonLine: 0, atLine: 2, atCol: 3, wantInJSONText: `"error":"Division by zero: 1 / 0"`},
		{name: "thrown", src: "\nthrow 1;", jsonLine: 2, atLine: 2, atCol: 1},
		{name: "parse", src: "let x = ;", jsonLine: 1, atLine: 1, atCol: 9},
		{name: "operations", src: "let n = 0;\nloop { }", opts: Options{Limits: limits(100)}, jsonLine: 0, atLine: 2, atCol: 1,
			wantInJSONText: `"error":"Too many operations"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Run(context.Background(), c.src, c.opts)
			if r.OK {
				t.Fatal("the script succeeded")
			}
			b, _ := json.Marshal(r)
			if r.Line != c.jsonLine || (c.jsonLine == 0 && strings.Contains(string(b), `"line"`)) {
				t.Errorf("JSON line %d, want Rhai's %d: %s", r.Line, c.jsonLine, b)
			}
			if c.wantInJSONText != "" && !strings.Contains(string(b), c.wantInJSONText) {
				t.Errorf("JSON %s lacks %s", b, c.wantInJSONText)
			}
			if strings.Contains(string(b), "AtLine") || r.AtLine != c.atLine || r.AtCol != c.atCol {
				t.Errorf("at %d:%d, want %d:%d (%s)", r.AtLine, r.AtCol, c.atLine, c.atCol, b)
			}
		})
	}
}

func limits(ops uint64) rhai.Limits { return rhai.Limits{MaxOperations: ops} }
