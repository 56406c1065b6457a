package executor

import (
	"net/http"
	"slices"
	"testing"
)

func TestFinalHeaders(t *testing.T) {
	for _, tc := range []struct {
		name        string
		in          http.Header
		unsandboxed bool
		want        http.Header
	}{
		{"nothing set", http.Header{}, false,
			http.Header{"Content-Security-Policy": {"sandbox"}, "X-Content-Type-Options": {"nosniff"}}},
		{"the script's CSP is kept beside the sandbox", http.Header{"Content-Security-Policy": {"default-src 'none'"}}, false,
			http.Header{"Content-Security-Policy": {"sandbox", "default-src 'none'"}, "X-Content-Type-Options": {"nosniff"}}},
		{"a script cannot weaken nosniff", http.Header{"X-Content-Type-Options": {"sniff-away"}}, false,
			http.Header{"Content-Security-Policy": {"sandbox"}, "X-Content-Type-Options": {"nosniff"}}},
		{"unsandboxed keeps only the script's CSP", http.Header{"Content-Security-Policy": {"default-src 'self'"}}, true,
			http.Header{"Content-Security-Policy": {"default-src 'self'"}, "X-Content-Type-Options": {"nosniff"}}},
		{"unsandboxed without a CSP", http.Header{}, true,
			http.Header{"X-Content-Type-Options": {"nosniff"}}},
		{"PiCloud's cookies are dropped, others kept", http.Header{"Set-Cookie": {
			"picloud_session=pcs_x; Path=/api; HttpOnly", "theme=dark", "PICLOUD_other=1", "__Host-picloud_s=1; Path=/",
			"__Secure-PiCloud=1", " picloud_session =x", "picloud_session", "session=picloud_ok"}}, false,
			http.Header{"Set-Cookie": {"theme=dark", "session=picloud_ok"},
				"Content-Security-Policy": {"sandbox"}, "X-Content-Type-Options": {"nosniff"}}},
		{"only PiCloud's cookies: no Set-Cookie at all", http.Header{"Set-Cookie": {"picloud_session=a"}}, false,
			http.Header{"Content-Security-Policy": {"sandbox"}, "X-Content-Type-Options": {"nosniff"}}},
		{"Clear-Site-Data is dropped on the dashboard's origin", http.Header{"Clear-Site-Data": {`"cookies"`}}, false,
			http.Header{"Content-Security-Policy": {"sandbox"}, "X-Content-Type-Options": {"nosniff"}}},
		{"Clear-Site-Data is the script's on its own origin", http.Header{"Clear-Site-Data": {`"cache"`}}, true,
			http.Header{"Clear-Site-Data": {`"cache"`}, "X-Content-Type-Options": {"nosniff"}}},
		{"credentials are never allowed, other CORS headers are", http.Header{
			"Access-Control-Allow-Credentials": {"true"}, "Access-Control-Allow-Origin": {"https://a.example"},
			"Access-Control-Allow-Methods": {"GET"}}, true,
			http.Header{"Access-Control-Allow-Origin": {"https://a.example"}, "Access-Control-Allow-Methods": {"GET"},
				"X-Content-Type-Options": {"nosniff"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.in.Clone()
			finalHeaders(h, tc.unsandboxed)
			if len(h) != len(tc.want) {
				t.Fatalf("got %v, want %v", h, tc.want)
			}
			for k, vs := range tc.want {
				if !slices.Equal(h[k], vs) {
					t.Fatalf("%s: got %q, want %q (all: %v)", k, h[k], vs, h)
				}
			}
		})
	}
}

func TestIsPiCloudCookie(t *testing.T) {
	for name, want := range map[string]bool{
		"picloud_session": true, "PiCloud_Session": true, "picloud": true, "picloudx": true,
		"__Host-picloud_session": true, "__secure-PICLOUD": true,
		"": false, "pi": false, "session": false, "my_picloud": false, "__Host-session": false,
	} {
		if got := IsPiCloudCookie(name); got != want {
			t.Errorf("IsPiCloudCookie(%q) = %v, want %v", name, got, want)
		}
	}
}
