package picloud

import (
	"encoding/json"
	"testing"
	"time"
)

func TestValidateScopes(t *testing.T) {
	for _, ok := range [][]string{
		{"admin"}, {"read"}, {"deploy"}, {"invoke:hello"}, {"invoke:*"}, {"read", "invoke:a-1", "invoke:b"},
	} {
		if err := ValidateScopes(ok); err != nil {
			t.Errorf("ValidateScopes(%q) = %v", ok, err)
		}
	}
	for _, bad := range [][]string{
		nil, {}, {"root"}, {"Admin"}, {"read", "read"}, {"invoke:"}, {"invoke:Hello"}, {"invoke:a b"},
		{"invoke:orders-*"}, {""}, {"read,deploy"},
	} {
		err := ValidateScopes(bad)
		var e *Error
		if err == nil || ErrorCode(err) != EInvalidRequest {
			t.Errorf("ValidateScopes(%q) = %v, want invalid_request", bad, err)
		} else if e = err.(*Error); e.Details["field"] != "scopes" {
			t.Errorf("ValidateScopes(%q) names field %v", bad, e.Details["field"])
		}
	}
}

func TestScopesAllow(t *testing.T) {
	tests := []struct {
		scopes []string
		need   string
		want   bool
	}{
		{[]string{"admin"}, "admin", true},
		{[]string{"admin"}, "deploy", true},
		{[]string{"admin"}, "read", true},
		{[]string{"admin"}, "invoke:x", true},
		{[]string{"deploy"}, "admin", false},
		{[]string{"deploy"}, "deploy", true},
		{[]string{"deploy"}, "read", true},
		{[]string{"deploy"}, "invoke:x", true},
		{[]string{"read"}, "read", true},
		{[]string{"read"}, "deploy", false},
		{[]string{"read"}, "admin", false},
		{[]string{"read"}, "invoke:x", false},
		{[]string{"invoke:x"}, "invoke:x", true},
		{[]string{"invoke:x"}, "invoke:y", false},
		{[]string{"invoke:x"}, "read", false},
		{[]string{"invoke:*"}, "invoke:y", true},
		{[]string{"invoke:*"}, "read", false},
		{[]string{"invoke:*"}, "invoke:", true},
		{[]string{"read", "invoke:x"}, "invoke:x", true},
		{[]string{"read", "invoke:x"}, "deploy", false},
		{nil, "read", false},
		{[]string{"read"}, "", false},
		{[]string{"invoke:read"}, "read", false},
	}
	for _, tt := range tests {
		if got := ScopesAllow(tt.scopes, tt.need); got != tt.want {
			t.Errorf("ScopesAllow(%q, %q) = %v, want %v", tt.scopes, tt.need, got, tt.want)
		}
	}
}

func TestScriptPatternMatch(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"", "anything", true},
		{"orders-*", "orders-api", true},
		{"orders-*", "orders-", true},
		{"orders-*", "order-api", false},
		{"orders-*", "x-orders-api", false},
		{"hello", "hello", true},
		{"hello", "hello-2", false},
		{"a?c", "abc", true},
		{"[", "[", false}, // a malformed pattern matches nothing
	}
	for _, tt := range tests {
		if got := ScriptPatternMatch(tt.pattern, tt.name); got != tt.want {
			t.Errorf("ScriptPatternMatch(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
	if ValidateScriptPattern("orders-*") != nil || ValidateScriptPattern("") != nil || ValidateScriptPattern("[") == nil {
		t.Error("ValidateScriptPattern")
	}
}

func TestAPITokenExpired(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		exp  *Time
		want bool
	}{
		{nil, false},
		{&Time{}, false},
		{&Time{now.Add(time.Second)}, false},
		{&Time{now}, true},
		{&Time{now.Add(-time.Second)}, true},
	} {
		if got := (&APIToken{ExpiresAt: tt.exp}).Expired(now); got != tt.want {
			t.Errorf("Expired(%v) = %v, want %v", tt.exp, got, tt.want)
		}
	}
	// The hash never leaves in JSON; unused and unexpiring read as null.
	b, _ := json.Marshal(APIToken{ID: "i", Name: "n", Hash: "sha256:secret", Scopes: []string{"read"}})
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	if _, ok := m["hash"]; ok || m["last_used_at"] != nil || m["expires_at"] != nil {
		t.Errorf("token JSON = %s", b)
	}
}

func TestAuditLimit(t *testing.T) {
	for in, want := range map[int]int{0: 100, -3: 100, 1: 1, 500: 500, 501: 500} {
		if got := (AuditQuery{Limit: in}).AuditLimit(); got != want {
			t.Errorf("AuditLimit(%d) = %d, want %d", in, got, want)
		}
	}
}

func TestScriptAccessSettings(t *testing.T) {
	sc := &Script{}
	if sc.ScriptAccess() != AccessPublic {
		t.Fatal("an unset access is not public")
	}
	ScriptUpdate{Access: ptrTo("token"), RateLimitRPS: ptrTo(1.5), RateLimitBurst: ptrTo(int64(3)), RateLimitBy: ptrTo("key")}.Apply(sc)
	if sc.Access != "token" || sc.RateLimitRPS != 1.5 || sc.RateLimitBurst != 3 || sc.RateLimitBy != "key" {
		t.Fatalf("applied = %+v", sc)
	}
	// The settings travel in the script's JSON (to nodes, export) and back.
	b, _ := json.Marshal(sc)
	var back Script
	if err := json.Unmarshal(b, &back); err != nil || back.Access != "token" || back.RateLimitRPS != 1.5 || back.RateLimitBurst != 3 || back.RateLimitBy != "key" {
		t.Fatalf("round trip = %+v, %v (%s)", back, err, b)
	}
	var u ScriptUpdate
	if err := json.Unmarshal([]byte(`{"access":"library","rate_limit_rps":0.5,"rate_limit_burst":2,"rate_limit_by":"client"}`), &u); err != nil ||
		*u.Access != "library" || *u.RateLimitRPS != 0.5 || *u.RateLimitBurst != 2 || *u.RateLimitBy != "client" || u.Validate() != nil {
		t.Fatalf("update = %+v, %v", u, err)
	}
	for _, field := range []string{"access", "rate_limit_rps", "rate_limit_burst", "rate_limit_by"} {
		var bad ScriptUpdate
		_ = json.Unmarshal([]byte(map[string]string{
			"access": `{"access":"open"}`, "rate_limit_rps": `{"rate_limit_rps":1000001}`,
			"rate_limit_burst": `{"rate_limit_burst":-1}`, "rate_limit_by": `{"rate_limit_by":"ip"}`,
		}[field]), &bad)
		err := bad.Validate()
		if e, ok := err.(*Error); !ok || e.Code != EInvalidRequest || e.Details["field"] != field {
			t.Errorf("%s: Validate = %v", field, err)
		}
	}
}
