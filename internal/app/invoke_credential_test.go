package app_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/app"
)

// The credential an invocation presented to pass a script's access check is
// PiCloud's, not the script's: the script never sees it, even when it has no
// PiCloud prefix to be recognised by (the admin token may be
// PICLOUD_ADMIN_TOKEN's value, as testToken is), and a queued run does not
// store it in its job. Otherwise whoever deploys a token script could read
// the admin token of a caller.
func TestInvokeCredentialHiddenFromScript(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) picloud.Store) {
		e := newEnv(t, open(t), app.Config{Jobs: jobsConfig()})
		e.create("reports", `request.headers`, "access", "token")
		resp, b := e.request("GET", "/fn/reports", nil, "Authorization", "Bearer "+testToken, "X-Trace", "t-1")
		if resp.StatusCode != 200 || !strings.Contains(string(b), "t-1") {
			t.Fatalf("invoke = %d %s", resp.StatusCode, b)
		}
		if strings.Contains(string(b), testToken) {
			t.Fatalf("the script saw the admin token: %s", b)
		}

		resp, b = e.request("POST", "/fn/reports", nil, "Authorization", "Bearer "+testToken, "Prefer", "respond-async")
		var acc picloud.JobAccepted
		if json.Unmarshal(b, &acc); resp.StatusCode != 202 || acc.JobID == "" {
			t.Fatalf("async = %d %s", resp.StatusCode, b)
		}
		e.job(acc.JobID, picloud.JobSucceeded)
		code, out := e.admin("GET", "/api/jobs/"+acc.JobID, nil)
		raw, _ := json.Marshal(out)
		if code != 200 || strings.Contains(string(raw), testToken) {
			t.Fatalf("the job keeps the admin token: %d %s", code, raw)
		}
		j := e.job(acc.JobID, picloud.JobSucceeded)
		l := e.execution(j.Attempts[0].ExecutionID)
		if l.Response == nil || strings.Contains(l.Response.Body, testToken) {
			t.Fatalf("the queued run saw the admin token: %+v", l.Response)
		}
	})
}
