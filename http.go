package picloud

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// The http:: defaults and the ranges of the per-script settings.
const (
	DefaultHTTPMaxRequests      int64 = 50       // outbound requests per execution
	DefaultHTTPMaxResponseBytes int64 = 10 << 20 // bytes of one response body
	DefaultHTTPTimeoutMS        int64 = 10_000   // one request, never beyond the script's remaining time

	MaxHTTPMaxRequestsLimit      int64 = 10_000    // the http_max_requests setting's range
	MaxHTTPMaxResponseBytesLimit int64 = 256 << 20 // the http_max_response_bytes setting's range
	MaxHTTPTimeoutMSLimit        int64 = 600_000   // the http_timeout_ms setting's range
	MaxEgressAllowBytes                = 4096      // the egress_allow setting's length
)

// OutboundCall is one http:: request an execution made, as its log keeps it:
// the path without its query (which may carry credentials), the status (0
// when no response came), the response body's bytes read, and the error when
// the call failed.
type OutboundCall struct {
	Method     string  `json:"method"`
	Host       string  `json:"host"`
	Path       string  `json:"path"`
	Status     int     `json:"status"`
	DurationMS float64 `json:"duration_ms"`
	Bytes      int64   `json:"bytes"`
	Error      string  `json:"error,omitempty"`
}

// EgressEntries splits an egress allowlist (comma-separated) into its
// entries, trimmed and lowercased, blanks dropped.
func EgressEntries(list string) []string {
	var out []string
	for _, e := range strings.Split(list, ",") {
		if e = strings.ToLower(strings.TrimSpace(e)); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// ValidEgressEntry checks one allowlist entry: a host name, host:port, an
// IP address, IP:port or a CIDR prefix.
func ValidEgressEntry(e string) error {
	if _, err := netip.ParsePrefix(e); err == nil {
		return nil
	}
	if _, err := netip.ParseAddr(strings.Trim(e, "[]")); err == nil {
		return nil
	}
	if _, err := netip.ParseAddrPort(e); err == nil {
		return nil
	}
	host := e
	if h, p, err := net.SplitHostPort(e); err == nil {
		host = h
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("egress entry %q: bad port", e)
		}
	}
	ok := host != "" && len(host) <= 253
	for _, r := range host {
		ok = ok && (r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_')
	}
	if !ok {
		return fmt.Errorf("egress entry %q is not a host, host:port, address or CIDR", e)
	}
	return nil
}
