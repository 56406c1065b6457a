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
		{"::127.0.0.1", "reserved"}, {"::169.254.169.254", "reserved"}, {"::ffff:0:127.0.0.1", "reserved"},
		{"2002:7f00:1::", "6to4"}, {"2002:a9fe:a9fe::1", "6to4"}, {"2002:808:808::1", "6to4"},
		{"2001::1", "Teredo"}, {"2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"}, {"2001:2::1", "reserved"},
		{"64:ff9b:1::7f00:1", "reserved"}, {"64:ff9b:1::808:808", "reserved"},
		{"fec0::1", "reserved"}, {"100::1", "reserved"}, {"4000::1", "reserved"}, {"::2", "reserved"},
		{"2001:db8::1", "documentation"}, {"3fff::1", "documentation"},
		{"192.0.0.1", "reserved"}, {"192.0.0.170", "reserved"}, {"240.0.0.1", "reserved"}, {"254.1.2.3", "reserved"},
		{"198.18.0.1", "private"}, {"198.19.255.255", "private"},
		{"192.0.2.1", "documentation"}, {"198.51.100.7", "documentation"}, {"203.0.113.9", "documentation"},
		{"::ffff:240.0.0.1", "reserved"}, {"64:ff9b::c000:201", "documentation"},
		{"8.8.8.8", ""}, {"1.1.1.1", ""}, {"100.128.0.1", ""}, {"2606:4700:4700::1111", ""},
		{"2001:4860:4860::8888", ""}, {"::ffff:8.8.8.8", ""}, {"64:ff9b::808:808", ""}, {"192.0.1.1", ""}, {"198.20.0.1", ""},
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

// TestNumericHost: numeric IPv4 spellings that the URL layer passes on as
// host names (and getaddrinfo's inet_aton would read as 127.0.0.1) are
// refused before any lookup, even with a resolver answering loopback.
func TestNumericHost(t *testing.T) {
	srv, conns := countingServer(t, http.HandlerFunc(ok))
	port := itoa(srv.Listener.Addr().(*net.TCPAddr).Port)
	var lookups atomic.Int64
	res := countingResolver{n: &lookups, addrs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}}
	var dials atomic.Int64
	c := NewClient(Options{Resolver: res, OnDial: loopbackOnly(&dials)})
	for _, h := range []string{"2130706433", "0x7f.1", "017700000001", "0x7f000001", "127.1", "0177.0.0.1", "127.0.0.01", "127.0.0.1.", "0x7F.0x0.0x0.0x1"} {
		resp, err := c.Get("http://" + h + ":" + port + "/")
		if err == nil {
			resp.Body.Close()
			t.Errorf("GET http://%s: reached the server", h)
		}
	}
	if conns.Load() != 0 || dials.Load() != 0 || lookups.Load() != 0 {
		t.Errorf("%d connections, %d dials, %d lookups, want none", conns.Load(), dials.Load(), lookups.Load())
	}
	for _, h := range []string{"example.com", "1password.com", "x.0xfeed.io", "a-1.b2"} {
		if numericHost(h) {
			t.Errorf("numericHost(%q) = true", h)
		}
	}
}

type countingResolver struct {
	n     *atomic.Int64
	addrs []netip.Addr
}

func (r countingResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	r.n.Add(1)
	return r.addrs, nil
}

// TestRedirectStripsHeaders: a header the script set reaches the first
// server; after a redirect to another host (or port) only the safe headers
// follow; a same-origin redirect keeps them all.
func TestRedirectStripsHeaders(t *testing.T) {
	type seen struct{ key, ua, ctype string }
	got := make(chan seen, 10)
	record := func(w http.ResponseWriter, r *http.Request) {
		got <- seen{r.Header.Get("X-Api-Key"), r.Header.Get("User-Agent"), r.Header.Get("Content-Type")}
	}
	second, _ := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		record(w, r)
		ok(w, r)
	}))
	sport := itoa(second.Listener.Addr().(*net.TCPAddr).Port)
	first, _ := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		record(w, r)
		switch r.URL.Path {
		case "/cross":
			http.Redirect(w, r, "http://second.test:"+sport+"/", http.StatusFound)
		case "/cross307":
			io.Copy(io.Discard, r.Body)
			http.Redirect(w, r, "http://second.test:"+sport+"/", http.StatusTemporaryRedirect)
		case "/port":
			http.Redirect(w, r, "http://first.test:"+sport+"/", http.StatusFound)
		case "/same":
			http.Redirect(w, r, "/end", http.StatusFound)
		default:
			ok(w, r)
		}
	}))
	fport := itoa(first.Listener.Addr().(*net.TCPAddr).Port)
	allow, _ := ParseAllowlist("first.test,second.test")
	var dials atomic.Int64
	c := NewClient(Options{Allow: allow, Resolver: fakeResolver{[]netip.Addr{netip.MustParseAddr("127.0.0.1")}}, OnDial: loopbackOnly(&dials)})
	for _, tt := range []struct {
		path, method string
		keep         bool
		ctype        string
	}{
		{"/cross", "GET", false, ""},
		{"/port", "GET", false, ""},
		{"/same", "GET", true, ""},
		{"/cross307", "POST", false, "text/plain"},
	} {
		req, _ := http.NewRequest(tt.method, "http://first.test:"+fport+tt.path, strings.NewReader("body"))
		req.Header.Set("X-Api-Key", "secret")
		req.Header.Set("User-Agent", "PiCloud")
		req.Header.Set("Content-Type", "text/plain")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tt.path, err)
		}
		resp.Body.Close()
		a, b := <-got, <-got
		if a.key != "secret" {
			t.Errorf("%s: the first server saw X-Api-Key %q", tt.path, a.key)
		}
		if want := map[bool]string{true: "secret"}[tt.keep]; b.key != want {
			t.Errorf("%s: after the redirect X-Api-Key %q, want %q", tt.path, b.key, want)
		}
		if b.ua != "PiCloud" {
			t.Errorf("%s: after the redirect User-Agent %q", tt.path, b.ua)
		}
		if tt.method == "POST" && b.ctype != tt.ctype {
			t.Errorf("%s: after the redirect Content-Type %q, want %q", tt.path, b.ctype, tt.ctype)
		}
	}
}
