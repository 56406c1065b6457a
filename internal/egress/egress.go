// Package egress builds the only HTTP client through which a script's
// traffic leaves the machine. Its dialer refuses, on the resolved address
// and before any connection is made, loopback, private, link-local
// (including the cloud metadata addresses), CGNAT, multicast and unspecified
// destinations, unless an allowlist names them. The check runs in the
// dialer's Control hook, so it covers every dial: DNS answers that rebind to
// such an address and redirects to them are refused alike.
package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// MaxRedirects is how many redirects a client follows, each re-checked.
const MaxRedirects = 5

// RefusedError is the error of a dial to a destination the guard refuses.
type RefusedError struct {
	Host string         // the host asked for (a name or an address)
	Addr netip.AddrPort // the resolved address refused
	Why  string         // "loopback", "private", "link-local", ...
}

func (e *RefusedError) Error() string {
	if e.Host != "" && e.Host != e.Addr.Addr().String() {
		return fmt.Sprintf("destination %s (%s) is refused: a %s address (allow it with the egress allowlist)", e.Host, e.Addr, e.Why)
	}
	return fmt.Sprintf("destination %s is refused: a %s address (allow it with the egress allowlist)", e.Addr, e.Why)
}

// Allowlist names the destinations opened despite the guard: host names
// (any port), host:port, addresses, and CIDR prefixes.
type Allowlist struct {
	hosts     map[string]bool // "name" or "name:port", lowercase
	prefixes  []netip.Prefix
	addrPorts map[netip.AddrPort]bool
}

// ParseAllowlist reads comma-separated entries (host, host:port, IP, IP:port,
// CIDR); blanks are ignored. An entry that is none of these is an error.
func ParseAllowlist(lists ...string) (*Allowlist, error) {
	a := &Allowlist{hosts: map[string]bool{}, addrPorts: map[netip.AddrPort]bool{}}
	for _, list := range lists {
		for _, e := range strings.Split(list, ",") {
			e = strings.ToLower(strings.TrimSpace(e))
			if e == "" {
				continue
			}
			if err := a.add(e); err != nil {
				return nil, err
			}
		}
	}
	return a, nil
}

func (a *Allowlist) add(e string) error {
	if p, err := netip.ParsePrefix(e); err == nil {
		a.prefixes = append(a.prefixes, p.Masked())
		return nil
	}
	if ip, err := netip.ParseAddr(strings.Trim(e, "[]")); err == nil {
		a.prefixes = append(a.prefixes, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
		return nil
	}
	if ap, err := netip.ParseAddrPort(e); err == nil {
		a.addrPorts[netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())] = true
		return nil
	}
	host, port := e, ""
	if h, p, err := net.SplitHostPort(e); err == nil {
		host, port = h, p
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("egress allowlist entry %q: bad port", e)
		}
	}
	if !validHost(host) {
		return fmt.Errorf("egress allowlist entry %q is not a host, host:port, address or CIDR", e)
	}
	if port != "" {
		a.hosts[host+":"+port] = true
	} else {
		a.hosts[host] = true
	}
	return nil
}

func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, r := range h {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_') {
			return false
		}
	}
	return true
}

// Empty reports whether the allowlist names nothing.
func (a *Allowlist) Empty() bool {
	return a == nil || len(a.hosts) == 0 && len(a.prefixes) == 0 && len(a.addrPorts) == 0
}

// allows reports whether host (as asked for) resolved to addr is named.
func (a *Allowlist) allows(host string, addr netip.AddrPort) bool {
	if a.Empty() {
		return false
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	port := strconv.Itoa(int(addr.Port()))
	if host != "" && (a.hosts[host] || a.hosts[host+":"+port]) {
		return true
	}
	ip := addr.Addr().Unmap()
	if a.addrPorts[netip.AddrPortFrom(ip, addr.Port())] {
		return true
	}
	for _, p := range a.prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// Merge returns the union of a and b (either may be nil).
func Merge(a, b *Allowlist) *Allowlist {
	m := &Allowlist{hosts: map[string]bool{}, addrPorts: map[netip.AddrPort]bool{}}
	for _, x := range []*Allowlist{a, b} {
		if x == nil {
			continue
		}
		for k := range x.hosts {
			m.hosts[k] = true
		}
		for k := range x.addrPorts {
			m.addrPorts[k] = true
		}
		m.prefixes = append(m.prefixes, x.prefixes...)
	}
	return m
}

var (
	cgnat     = netip.MustParsePrefix("100.64.0.0/10")
	ula       = netip.MustParsePrefix("fc00::/7")
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	thisNet   = netip.MustParsePrefix("0.0.0.0/8")
	broadcast = netip.MustParseAddr("255.255.255.255")
	global6   = netip.MustParsePrefix("2000::/3")
)

// special lists the IPv4 and IPv6 ranges refused besides those the netip
// predicates name. Within 2000::/3 (the only IPv6 space treated as public)
// the ones that tunnel to or stand for other addresses are refused: 6to4
// and Teredo embed an IPv4 address the guard would not see dialed.
var special = []struct {
	p   netip.Prefix
	why string
}{
	{netip.MustParsePrefix("198.18.0.0/15"), "private"}, // benchmarking
	{netip.MustParsePrefix("192.0.0.0/24"), "reserved"}, // IETF protocol assignments
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation"},
	{netip.MustParsePrefix("2002::/16"), "6to4"},
	{netip.MustParsePrefix("2001::/32"), "Teredo"},
	{netip.MustParsePrefix("2001::/23"), "reserved"}, // IETF protocol assignments (benchmarking, ORCHID)
	{netip.MustParsePrefix("2001:db8::/32"), "documentation"},
	{netip.MustParsePrefix("3fff::/20"), "documentation"},
}

// Classify names why ip is refused, or "" when it is a public address.
// IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry, and
// NAT64 addresses (64:ff9b::/96) as the IPv4 address they embed. Any other
// IPv6 address outside global unicast (2000::/3) is refused, which covers
// IPv4-compatible (::/96), SIIT (::ffff:0:0/96), NAT64 local-use
// (64:ff9b:1::/48), discard (100::/64) and site-local (fec0::/10).
func Classify(ip netip.Addr) string {
	ip = ip.Unmap()
	if ip.Is6() && nat64.Contains(ip) {
		b := ip.As16()
		ip = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	}
	switch {
	case !ip.IsValid():
		return "invalid"
	case ip.IsUnspecified() || thisNet.Contains(ip):
		return "unspecified"
	case ip.IsLoopback():
		return "loopback"
	case ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast():
		return "link-local"
	case ip.IsMulticast() || ip.IsInterfaceLocalMulticast() || ip == broadcast:
		return "multicast"
	case ip.IsPrivate() || ula.Contains(ip):
		return "private"
	case cgnat.Contains(ip):
		return "CGNAT"
	}
	for _, s := range special {
		if s.p.Contains(ip) {
			return s.why
		}
	}
	if ip.Is6() && !global6.Contains(ip) {
		return "reserved"
	}
	return ""
}

// numericHost reports whether host (not a canonical address) looks like a
// numeric IPv4 spelling that a resolver (getaddrinfo's inet_aton) might
// read as an address: "2130706433", "0x7f.1", "017700000001", "127.1". No
// top-level domain is numeric, so such a name is never a real host name.
func numericHost(host string) bool {
	host = strings.TrimSuffix(host, ".")
	last := host[strings.LastIndexByte(host, '.')+1:]
	if l := strings.ToLower(last); strings.HasPrefix(l, "0x") {
		last = l[2:]
		if last == "" {
			return true
		}
		return strings.Trim(last, "0123456789abcdef") == ""
	}
	return last != "" && strings.Trim(last, "0123456789") == ""
}

// Options configure a client.
type Options struct {
	Allow *Allowlist
	// Resolver looks host names up (nil: net.DefaultResolver). Tests inject
	// one that answers what they want, including rebinding answers.
	Resolver interface {
		LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
	}
	// OnDial, when set, is called with every address the guard lets through,
	// just before the connection is made; an error aborts the dial. Tests
	// count dials with it and refuse any non-loopback address, so that no
	// traffic leaves the machine even if the guard were broken.
	OnDial func(addr netip.AddrPort) error
	// DialTimeout bounds one connection attempt (0: 10 s).
	DialTimeout time.Duration
}

// NewTransport returns a transport whose every dial is guarded. It uses no
// proxy from the environment: a proxy would dial on the script's behalf
// where the guard cannot see.
func NewTransport(o Options) *http.Transport {
	return newTransport(&dialer{o: o})
}

func newTransport(d *dialer) *http.Transport {
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           d.dial,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   10,
		IdleConnTimeout:       60 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		// A script's response headers become strings it holds: far less
		// than Go's 10 MiB default is plenty for any real server.
		MaxResponseHeaderBytes: MaxResponseHeaderBytes,
	}
}

// MaxResponseHeaderBytes bounds the headers of a response (then the request
// fails).
const MaxResponseHeaderBytes = 256 << 10

// NewClient returns a client over NewTransport that follows at most
// MaxRedirects redirects (each dialed through the guard again).
func NewClient(o Options) *http.Client {
	return newClient(NewTransport(o))
}

func newClient(t *http.Transport) *http.Client {
	return &http.Client{
		Transport: t,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > MaxRedirects {
				return fmt.Errorf("stopped after %d redirects", MaxRedirects)
			}
			if !sameOrigin(req.URL, via[0].URL) {
				stripHeaders(req)
			}
			return nil
		},
	}
}

// safeHeaders are the only headers a redirect to another origin keeps. Go's
// client drops just Authorization, Cookie and WWW-Authenticate there; a
// script's own secret header (X-Api-Key, ...) must not follow either.
var safeHeaders = []string{"Accept", "Accept-Encoding", "Accept-Language", "User-Agent"}

// stripHeaders leaves req (a redirect to another origin) with only the safe
// headers, and Content-Type when the body is sent again (307, 308).
func stripHeaders(req *http.Request) {
	h := http.Header{}
	for _, k := range safeHeaders {
		if v, ok := req.Header[k]; ok {
			h[k] = v
		}
	}
	if v, ok := req.Header["Content-Type"]; ok && req.Body != nil && req.Body != http.NoBody {
		h["Content-Type"] = v
	}
	req.Header = h
}

// sameOrigin reports whether a and b have the same scheme, host and port.
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) &&
		strings.EqualFold(strings.TrimSuffix(a.Hostname(), "."), strings.TrimSuffix(b.Hostname(), ".")) &&
		portOf(a) == portOf(b)
}

func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "https") {
		return "443"
	}
	return "80"
}

type dialer struct {
	o Options
	// noPrecheck leaves every check to the Control hook (tests prove that
	// the hook alone refuses).
	noPrecheck bool
}

// dial resolves addr itself and dials each address through a net.Dialer
// whose Control hook checks the address about to be connected: the check
// sees what the socket is connected to, whatever resolved it.
func (d *dialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{ip}
	} else if numericHost(host) {
		return nil, fmt.Errorf("egress: host %q is not a canonical IP address nor a host name", host)
	} else {
		r := d.o.Resolver
		if r == nil {
			r = net.DefaultResolver
		}
		ips, err = r.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return nil, err
		}
		if len(ips) == 0 {
			return nil, fmt.Errorf("no address for %s", host)
		}
	}
	// Any refused answer refuses the name: a resolver mixing public and
	// private answers is treated as rebinding. The Control hook checks
	// again what each socket is about to connect to.
	pn, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("egress: bad port %q", port)
	}
	for _, ip := range ips {
		if d.noPrecheck {
			break
		}
		if err := d.check(host, netip.AddrPortFrom(ip, uint16(pn)), false); err != nil {
			return nil, err
		}
	}
	nd := &net.Dialer{
		Timeout: d.o.DialTimeout,
		Control: func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("egress: unparsable address %q", address)
			}
			return d.check(host, ap, true)
		},
	}
	if nd.Timeout == 0 {
		nd.Timeout = 10 * time.Second
	}
	var first error
	for _, ip := range ips {
		c, err := nd.DialContext(ctx, network, net.JoinHostPort(ip.Unmap().String(), port))
		if err == nil {
			return c, nil
		}
		var re *RefusedError
		if errors.As(err, &re) {
			return nil, re
		}
		if first == nil {
			first = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, first
}

// check refuses ap unless it is public or allowlisted; dialing: called by
// the Control hook, just before the connection.
func (d *dialer) check(host string, ap netip.AddrPort, dialing bool) error {
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	if why := Classify(ap.Addr()); why != "" && !d.o.Allow.allows(host, ap) {
		return &RefusedError{Host: host, Addr: ap, Why: why}
	}
	if dialing && d.o.OnDial != nil {
		return d.o.OnDial(ap)
	}
	return nil
}
