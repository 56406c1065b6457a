package httpapi

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// TrustedProxies is the set of peers whose X-Forwarded-For PiCloud believes:
// the reverse proxies in front of it (--trusted-proxies). The zero value
// trusts nobody, so the client address is always the TCP peer's. It is a
// flag.Value.
type TrustedProxies struct {
	prefixes []netip.Prefix
}

// ParseTrustedProxies parses a comma- or space-separated list of CIDRs
// ("10.0.0.0/8, 127.0.0.1/32"); a bare address is a single host.
func ParseTrustedProxies(s string) (TrustedProxies, error) {
	var t TrustedProxies
	return t, t.Set(s)
}

// Set replaces the set with the CIDRs in s (flag.Value).
func (t *TrustedProxies) Set(s string) error {
	var ps []netip.Prefix
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return fmt.Errorf("httpapi: trusted proxy %q: not a CIDR (10.0.0.0/8) or an address", f)
			}
			a = a.Unmap()
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		ps = append(ps, p.Masked())
	}
	t.prefixes = ps
	return nil
}

// String lists the CIDRs, comma-separated (flag.Value).
func (t *TrustedProxies) String() string {
	if t == nil {
		return ""
	}
	s := make([]string, len(t.prefixes))
	for i, p := range t.prefixes {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

// Empty reports whether no proxy is trusted.
func (t TrustedProxies) Empty() bool { return len(t.prefixes) == 0 }

// Contains reports whether a is inside one of the trusted CIDRs.
func (t TrustedProxies) Contains(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range t.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientIP returns the address of the client that made r, as text: see
// ClientAddr. It is "" only when r.RemoteAddr is not an address (a test's
// hand-made request).
func ClientIP(r *http.Request, trusted TrustedProxies) string {
	a := ClientAddr(r, trusted)
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// ClientAddr returns the address of the client that made r. It is the TCP
// peer's unless the peer is a trusted proxy; then X-Forwarded-For is read from
// the right, each proxy having appended the address it was connected from, and
// the first address that is not a trusted proxy is the client. Everything left
// of it was written by the client and may be forged, so it is never read. When
// every address is trusted, the left-most is the client; when the proxy wrote
// something that is not an address, the peer is.
func ClientAddr(r *http.Request, trusted TrustedProxies) netip.Addr {
	peer := parseHostAddr(r.RemoteAddr)
	if !peer.IsValid() || !trusted.Contains(peer) {
		return peer
	}
	hops := r.Header.Values("X-Forwarded-For")
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		fields := strings.Split(hops[i], ",")
		for j := len(fields) - 1; j >= 0; j-- {
			f := strings.TrimSpace(fields[j])
			if f == "" {
				continue
			}
			a := parseHostAddr(f)
			if !a.IsValid() {
				return peer
			}
			client = a
			if !trusted.Contains(a) {
				return a
			}
		}
	}
	return client
}

// parseHostAddr parses "1.2.3.4", "1.2.3.4:80", "::1", "[::1]:80" or
// "fe80::1%eth0", with IPv4-mapped IPv6 addresses turned into IPv4.
func parseHostAddr(s string) netip.Addr {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone("")
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		if a, err := netip.ParseAddr(host); err == nil {
			return a.Unmap().WithZone("")
		}
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil {
			return a.Unmap().WithZone("")
		}
	}
	return netip.Addr{}
}
