package picloud_test

import (
	"encoding/json"
	"testing"

	"github.com/picloud/picloud"
)

// TestScriptSummaryJSON: a summary keeps its own fields through JSON (the
// embedded Script's MarshalJSON, once promoted, dropped them) and the
// script's "enabled".
func TestScriptSummaryJSON(t *testing.T) {
	rate := 0.25
	in := picloud.ScriptSummary{
		Script:        picloud.Script{Name: "a", Disabled: true, Subscriptions: []string{"x.y"}},
		LastExecution: &picloud.LastExecution{Status: picloud.StatusError},
		ErrorRate:     &rate,
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out picloud.ScriptSummary
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.Name != "a" || !out.Disabled || len(out.Subscriptions) != 1 || out.LastExecution == nil ||
		out.LastExecution.Status != picloud.StatusError || out.ErrorRate == nil || *out.ErrorRate != rate {
		t.Fatalf("round trip of %s: %+v", b, out)
	}
}
