package httpapi

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/picloud/picloud"
)

func TestWriteErrorRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		status int
		header string
	}{
		{"queue full", &picloud.Error{Code: picloud.EQueueFull, Message: "full", Details: map[string]any{"retry_after": 5}}, 429, "5"},
		{"int64", &picloud.Error{Code: picloud.EQueueFull, Message: "full", Details: map[string]any{"retry_after": int64(30)}}, 429, "30"},
		{"fraction rounds up", &picloud.Error{Code: picloud.EOverloaded, Message: "busy", Details: map[string]any{"retry_after": 0.2}}, 429, "1"},
		{"none", &picloud.Error{Code: picloud.EQueueFull, Message: "full"}, 429, ""},
		{"not a number", &picloud.Error{Code: picloud.EUnavailable, Message: "x", Details: map[string]any{"retry_after": "soon"}}, 503, ""},
		{"not a picloud error", errors.New("boom"), 500, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			WriteError(w, httptest.NewRequest("GET", "/", nil), nil, tc.err)
			if w.Code != tc.status || w.Header().Get("Retry-After") != tc.header {
				t.Fatalf("got %d Retry-After %q, want %d %q", w.Code, w.Header().Get("Retry-After"), tc.status, tc.header)
			}
			var body struct {
				Error map[string]any `json:"error"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error["code"] != picloud.ErrorCode(tc.err) {
				t.Fatalf("body %s (%v)", w.Body, err)
			}
		})
	}
	if Status(picloud.EQueueFull) != 429 {
		t.Fatalf("status of queue_full = %d", Status(picloud.EQueueFull))
	}
}
