package executor

import (
	"encoding/base64"
	"net/http"
	"slices"
	"testing"
)

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func TestStripValues(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   http.Header
		want http.Header // nil: the header is gone
	}{
		{"bearer PiCloud token", http.Header{"Authorization": {"Bearer pct_0123456789abcdef0123"}}, http.Header{}},
		{"bearer in lower case", http.Header{"Authorization": {"bearer PCT_abc"}}, http.Header{}},
		{"invoke key and session", http.Header{"Authorization": {"Bearer pck_1"}, "Proxy-Authorization": {"Bearer pcs_2"}}, http.Header{}},
		{"bearer of the script's own", http.Header{"Authorization": {"Bearer eyJhbGciOi.x.y"}},
			http.Header{"Authorization": {"Bearer eyJhbGciOi.x.y"}}},
		{"basic with a PiCloud password", http.Header{"Authorization": {basic("admin", "pct_secret")}}, http.Header{}},
		{"basic with a PiCloud user", http.Header{"Authorization": {basic("pck_key", "")}}, http.Header{}},
		{"basic of the script's own", http.Header{"Authorization": {basic("alice", "wonderland")}},
			http.Header{"Authorization": {basic("alice", "wonderland")}}},
		{"a bare token", http.Header{"Authorization": {"pct_abc"}}, http.Header{}},
		{"a token parameter", http.Header{"Authorization": {`Custom token="pct_abc"`}}, http.Header{}},
		{"joined by a proxy", http.Header{"Authorization": {"Bearer other, Bearer pct_abc"}}, http.Header{}},
		{"one of two values", http.Header{"Authorization": {"Bearer pct_abc", "Bearer mine"}},
			http.Header{"Authorization": {"Bearer mine"}}},
		{"X-PiCloud-Key", http.Header{"X-Picloud-Key": {"anything"}, "x-picloud-key": {"raw"}}, http.Header{}},
		{"PiCloud's cookies removed, others kept", http.Header{"Cookie": {"a=1; picloud_session=pcs_x; __Host-picloud=2;b=2"}},
			http.Header{"Cookie": {"a=1; b=2"}}},
		{"only PiCloud's cookies", http.Header{"Cookie": {"picloud_session=pcs_x"}}, http.Header{}},
		{"no PiCloud cookie: untouched", http.Header{"Cookie": {"a=1;b=2"}}, http.Header{"Cookie": {"a=1;b=2"}}},
		{"other headers untouched", http.Header{"Accept": {"a", "b"}, "X-Api-Key": {"theirs"}},
			http.Header{"Accept": {"a", "b"}, "X-Api-Key": {"theirs"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in.Clone()
			got := StripCredentials(in)
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for k, vs := range tc.want {
				if !slices.Equal(got[k], vs) {
					t.Fatalf("%s: got %q, want %q", k, got[k], vs)
				}
			}
			for k, vs := range tc.in {
				if !slices.Equal(in[k], vs) {
					t.Fatalf("the input was modified: %v", in)
				}
			}
			if len(got) > 0 && len(in) > 0 {
				for k := range got {
					if len(got[k]) > 0 && len(in[k]) > 0 && &got[k][0] == &in[k][0] {
						t.Fatalf("%s shares its values with the input", k)
					}
				}
			}
		})
	}
}
