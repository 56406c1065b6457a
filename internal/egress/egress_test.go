package egress

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
)

// fakeResolver answers every name with addrs (a DNS answer that may rebind).
type fakeResolver struct{ addrs []netip.Addr }

func (f fakeResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return f.addrs, nil
}

// countingServer is a loopback server that counts the connections it accepts.
func countingServer(t *testing.T, h http.Handler) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			n.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &n
}

// loopbackOnly counts dials and refuses any non-loopback address, so that
// a test sends nothing off the machine even if the guard were broken.
func loopbackOnly(n *atomic.Int64) func(netip.AddrPort) error {
	return func(ap netip.AddrPort) error {
		n.Add(1)
		if !ap.Addr().Unmap().IsLoopback() {
			return errors.New("test: a non-loopback dial")
		}
		return nil
	}
}

func ok(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }

func TestClassify(t *testing.T) {
	for _, tt := range []struct{ ip, want string }{
		{"127.0.0.1", "loopback"}, {"127.1.2.3", "loopback"}, {"::1", "loopback"},
		{"10.0.0.1", "private"}, {"172.16.5.4", "private"}, {"192.168.1.1", "private"},
		{"fc00::1", "private"}, {"fd00:ec2::254", "private"},
		{"169.254.169.254", "link-local"}, {"169.254.0.1", "link-local"}, {"fe80::1", "link-local"},
		{"100.64.0.1", "CGNAT"}, {"100.127.255.255", "CGNAT"},
		{"224.0.0.1", "link-local"}, {"239.1.1.1", "multicast"}, {"ff02::1", "link-local"}, {"ff0e::1", "multicast"}, {"255.255.255.255", "multicast"},
		{"0.0.0.0", "unspecified"}, {"::", "unspecified"}, {"0.1.2.3", "unspecified"},
		{"::ffff:127.0.0.1", "loopback"}, {"::ffff:10.0.0.1", "private"}, {"::ffff:169.254.169.254", "link-local"},
		{"64:ff9b::7f00:1", "loopback"}, {"64:ff9b::a9fe:a9fe", "link-local"},
		{"8.8.8.8", ""}, {"1.1.1.1", ""}, {"100.128.0.1", ""}, {"2606:4700:4700::1111", ""},
	} {
		if got := Classify(netip.MustParseAddr(tt.ip)); got != tt.want {
			t.Errorf("Classify(%s) = %q, want %q", tt.ip, got, tt.want)
		}
	}
}

// TestRefusedBeforeConnecting: every refused destination is refused by the
// Control hook, before a connection: the loopback listener (the only place
// a dial could go, the port being the test server's) accepts none, and the
// guard's OnDial hook never fires.
func TestRefusedBeforeConnecting(t *testing.T) {
	srv, conns := countingServer(t, http.HandlerFunc(ok))
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	for _, tt := range []struct {
		name  string
		addrs []string
		url   string
	}{
		{"loopback literal", nil, srv.URL},
		{"rebind to 127.0.0.1", []string{"127.0.0.1"}, "http://rebind.example:PORT/"},
		{"rebind to 10.0.0.1", []string{"10.0.0.1"}, "http://rebind.example:PORT/"},
		{"rebind to metadata", []string{"169.254.169.254"}, "http://metadata.example:PORT/"},
		{"rebind to fd00:ec2::254", []string{"fd00:ec2::254"}, "http://metadata.example:PORT/"},
		{"rebind to mapped loopback", []string{"::ffff:127.0.0.1"}, "http://rebind.example:PORT/"},
		{"one bad answer after a good one", []string{"192.0.2.1", "127.0.0.1"}, "http://rebind.example:PORT/"},
		{"metadata literal", nil, "http://169.254.169.254:PORT/latest/meta-data/"},
		{"CGNAT literal", nil, "http://100.64.0.1:PORT/"},
		{"unspecified", nil, "http://0.0.0.0:PORT/"},
		{"ipv6 loopback", nil, "http://[::1]:PORT/"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var addrs []netip.Addr
			for _, a := range tt.addrs {
				addrs = append(addrs, netip.MustParseAddr(a))
			}
			var dials atomic.Int64
			o := Options{Resolver: fakeResolver{addrs}, OnDial: loopbackOnly(&dials)}
			url := strings.ReplaceAll(tt.url, "PORT", itoa(port))
			// Both with the check on the resolved answers and with the
			// Control hook alone.
			clients := []*http.Client{NewClient(o), newClient(newTransport(&dialer{o: o, noPrecheck: true}))}
			if tt.name == "one bad answer after a good one" {
				clients = clients[:1] // the Control hook alone would dial the good one
			}
			for _, c := range clients {
				_, err := c.Get(url)
				var re *RefusedError
				if !errors.As(err, &re) {
					t.Fatalf("GET %s: %v, want a RefusedError", url, err)
				}
				if dials.Load() != 0 || conns.Load() != 0 {
					t.Fatalf("GET %s: %d dials let through, %d connections accepted, want 0", url, dials.Load(), conns.Load())
				}
			}
		})
	}
}

func itoa(n int) string {
	return netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(n)).String()[len("0.0.0.0:"):]
}

func TestAllowlistedLoopback(t *testing.T) {
	srv, conns := countingServer(t, http.HandlerFunc(ok))
	port := itoa(srv.Listener.Addr().(*net.TCPAddr).Port)
	lo := []netip.Addr{netip.MustParseAddr("127.0.0.1")}
	for _, tt := range []struct {
		allow, url string
		ok         bool
	}{
		{"127.0.0.1", srv.URL, true},
		{"127.0.0.0/8", srv.URL, true},
		{"127.0.0.1:" + port, srv.URL, true},
		{"127.0.0.1:1", srv.URL, false},
		{"api.test", "http://api.test:" + port + "/", true},
		{"api.test:" + port, "http://api.test:" + port + "/", true},
		{"other.test", "http://api.test:" + port + "/", false},
		{"10.0.0.0/8", srv.URL, false},
	} {
		allow, err := ParseAllowlist(tt.allow)
		if err != nil {
			t.Fatal(err)
		}
		before := conns.Load()
		var dials atomic.Int64
		resp, err := NewClient(Options{Allow: allow, Resolver: fakeResolver{lo}, OnDial: loopbackOnly(&dials)}).Get(tt.url)
		if tt.ok {
			if err != nil {
				t.Errorf("allow %s, GET %s: %v", tt.allow, tt.url, err)
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != "ok" {
				t.Errorf("allow %s: body %q", tt.allow, b)
			}
			continue
		}
		var re *RefusedError
		if !errors.As(err, &re) || conns.Load() != before {
			t.Errorf("allow %s, GET %s: %v (%d new connections), want refused before connecting", tt.allow, tt.url, err, conns.Load()-before)
		}
	}
}

// TestRedirectRechecked: an allowlisted server redirecting to a refused
// address (the metadata endpoint, another loopback port) is refused at the
// redirect's dial.
func TestRedirectRechecked(t *testing.T) {
	target, conns := countingServer(t, http.HandlerFunc(ok))
	tport := itoa(target.Listener.Addr().(*net.TCPAddr).Port)
	var hops atomic.Int64
	origin, _ := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/meta":
			http.Redirect(w, r, "http://169.254.169.254:"+tport+"/latest/meta-data/", http.StatusFound)
		case "/other":
			http.Redirect(w, r, "http://localhost.test:"+tport+"/", http.StatusFound)
		case "/loop":
			hops.Add(1)
			http.Redirect(w, r, "/loop", http.StatusFound)
		default:
			ok(w, r)
		}
	}))
	oport := itoa(origin.Listener.Addr().(*net.TCPAddr).Port)
	allow, _ := ParseAllowlist("127.0.0.1:" + oport)
	var dials atomic.Int64
	c := NewClient(Options{Allow: allow, Resolver: fakeResolver{[]netip.Addr{netip.MustParseAddr("127.0.0.1")}}, OnDial: loopbackOnly(&dials)})
	for _, path := range []string{"/meta", "/other"} {
		_, err := c.Get(origin.URL + path)
		var re *RefusedError
		if !errors.As(err, &re) {
			t.Errorf("GET %s: %v, want refused", path, err)
		}
	}
	if conns.Load() != 0 {
		t.Errorf("the refused target accepted %d connections", conns.Load())
	}
	if _, err := c.Get(origin.URL + "/loop"); err == nil || !strings.Contains(err.Error(), "redirects") {
		t.Errorf("redirect loop: %v", err)
	}
	if hops.Load() != MaxRedirects+1 {
		t.Errorf("redirect loop: %d requests, want %d", hops.Load(), MaxRedirects+1)
	}
}

func TestParseAllowlist(t *testing.T) {
	a, err := ParseAllowlist(" api.example.com , 10.1.0.0/16,, [::1]:8080,127.0.0.1", "hooks.test:443")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		host, addr string
		want       bool
	}{
		{"api.example.com", "10.9.9.9:1", true},
		{"API.example.com.", "10.9.9.9:1", true},
		{"x.example.com", "10.9.9.9:1", false},
		{"", "10.1.2.3:80", true},
		{"", "[::1]:8080", true},
		{"", "[::1]:8081", false},
		{"", "[::ffff:127.0.0.1]:9", true},
		{"hooks.test", "10.0.0.1:443", true},
		{"hooks.test", "10.0.0.1:80", false},
	} {
		if got := a.allows(tt.host, netip.MustParseAddrPort(tt.addr)); got != tt.want {
			t.Errorf("allows(%q, %s) = %v", tt.host, tt.addr, got)
		}
	}
	for _, bad := range []string{"http://x", "a b", "host:0", "host:99999", "x/y"} {
		if _, err := ParseAllowlist(bad); err == nil {
			t.Errorf("ParseAllowlist(%q) accepted", bad)
		}
	}
}
