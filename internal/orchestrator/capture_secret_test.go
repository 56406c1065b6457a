package orchestrator

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/executor"
	"github.com/picloud/picloud/internal/metrics"
)

type oneSecret struct{ name, value string }

func (s oneSecret) Secret(_ context.Context, _, name string) (string, error) {
	if name == s.name {
		return s.value, nil
	}
	return "", picloud.Errorf(picloud.ENotFound, "no secret named %s", name)
}

// The secrets an execution read are replaced in the captured request and
// response before they are cut, so no prefix of one survives a cut; the
// caller still gets the real response.
func TestCaptureRedactsSecretsBeforeCutting(t *testing.T) {
	const value = "SECRET-0123456789"
	m := metrics.New(nil)
	sink := newFakeSink()
	x := executor.New(executor.Config{Secrets: oneSecret{"TOKEN", value}}, nil)
	store := newFakeStore(&picloud.Script{Name: "echo", Source: `let k = secret("TOKEN"); request.raw_body + k`})
	e := &env{o: New(Config{MaxLoggedBody: 40}, x, store, sink, m, nil), sink: sink, metrics: m}

	body := strings.Repeat("x", 30) + value // the value straddles the 40-byte cut
	w := e.do(httptest.NewRequest("POST", "/fn/echo?k="+value, strings.NewReader(body)))
	if w.Code != 200 || w.Body.String() != body+value {
		t.Fatalf("caller got %d %q", w.Code, w.Body)
	}
	row := e.sink.waitRows(t, 1)[0]
	for what, got := range map[string]string{"request body": row.Request.Body, "response body": row.Response.Body, "query": row.Request.Query["k"]} {
		if strings.Contains(got, value[:6]) {
			t.Errorf("%s keeps part of the secret: %q", what, got)
		}
	}
	if row.Request.Body != strings.Repeat("x", 30)+"[redacted:" || !row.Request.BodyTruncated {
		t.Errorf("request body = %q (truncated %v)", row.Request.Body, row.Request.BodyTruncated)
	}
	if row.Request.Query["k"] != "[redacted:TOKEN]" {
		t.Errorf("query = %q", row.Request.Query["k"])
	}
}
