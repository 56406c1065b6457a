package httpapi

import (
	"net/http/httptest"
	"testing"
)

func TestParseTrustedProxies(t *testing.T) {
	tp, err := ParseTrustedProxies("10.0.0.0/8, 127.0.0.1/32 ::1 fd00::/8,192.168.1.7")
	if err != nil {
		t.Fatal(err)
	}
	if got := tp.String(); got != "10.0.0.0/8,127.0.0.1/32,::1/128,fd00::/8,192.168.1.7/32" {
		t.Fatalf("String = %q", got)
	}
	for _, bad := range []string{"10.0.0.0/33", "localhost", "10.0.0.0/8,x"} {
		if _, err := ParseTrustedProxies(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if tp, err := ParseTrustedProxies(""); err != nil || !tp.Empty() {
		t.Fatalf("empty = %v, %v", tp, err)
	}
	// A CIDR with host bits set is the network it names.
	if tp, _ := ParseTrustedProxies("10.1.2.3/8"); tp.String() != "10.0.0.0/8" {
		t.Fatalf("masked = %q", tp.String())
	}
}

func TestClientIP(t *testing.T) {
	trusted, err := ParseTrustedProxies("10.0.0.0/8,127.0.0.1/32,::1/128")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name    string
		trusted TrustedProxies
		peer    string
		xff     []string
		want    string
	}{
		{"no proxies trusted: the peer", TrustedProxies{}, "203.0.113.5:4000", []string{"198.51.100.1"}, "203.0.113.5"},
		{"untrusted peer's XFF is ignored", trusted, "203.0.113.5:4000", []string{"198.51.100.1"}, "203.0.113.5"},
		{"trusted peer without XFF", trusted, "127.0.0.1:5555", nil, "127.0.0.1"},
		{"trusted peer: the appended address", trusted, "127.0.0.1:5555", []string{"198.51.100.1"}, "198.51.100.1"},
		{"spoofed left entries are skipped", trusted, "127.0.0.1:5555", []string{"1.1.1.1, 2.2.2.2, 198.51.100.1"}, "198.51.100.1"},
		{"a chain of trusted proxies", trusted, "127.0.0.1:5555", []string{"1.1.1.1, 198.51.100.1, 10.0.0.3, 10.0.0.2"}, "198.51.100.1"},
		{"spoofed trusted address left of the client", trusted, "127.0.0.1:5555", []string{"10.9.9.9, 198.51.100.1"}, "198.51.100.1"},
		{"several header lines: the last is the nearest", trusted, "127.0.0.1:5555", []string{"1.1.1.1", "198.51.100.1"}, "198.51.100.1"},
		{"all trusted: the left-most", trusted, "127.0.0.1:5555", []string{"10.0.0.9, 10.0.0.8"}, "10.0.0.9"},
		{"junk written by the proxy: the peer", trusted, "127.0.0.1:5555", []string{"198.51.100.1, not-an-ip"}, "127.0.0.1"},
		{"empty entries are skipped", trusted, "127.0.0.1:5555", []string{"198.51.100.1, ,"}, "198.51.100.1"},
		{"an address with a port", trusted, "127.0.0.1:5555", []string{"198.51.100.1:1234"}, "198.51.100.1"},
		{"IPv6 peer and client", trusted, "[::1]:5555", []string{"[2001:db8::1]:443"}, "2001:db8::1"},
		{"IPv6 client bare", trusted, "[::1]:5555", []string{"2001:db8::2"}, "2001:db8::2"},
		{"IPv4-mapped peer counts as IPv4", trusted, "[::ffff:127.0.0.1]:5555", []string{"198.51.100.1"}, "198.51.100.1"},
		{"IPv4-mapped client is shown as IPv4", trusted, "127.0.0.1:5555", []string{"::ffff:198.51.100.1"}, "198.51.100.1"},
		{"untrusted IPv6 peer", trusted, "[2001:db8::9]:1", []string{"198.51.100.1"}, "2001:db8::9"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.peer
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := ClientIP(r, tt.trusted); got != tt.want {
				t.Fatalf("ClientIP = %q, want %q", got, tt.want)
			}
		})
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "pipe"
	if got := ClientIP(r, trusted); got != "" {
		t.Fatalf("non-address peer = %q", got)
	}
}
