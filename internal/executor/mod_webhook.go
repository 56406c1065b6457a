package executor

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/picloud/picloud/rhai"
)

const (
	// DefaultStripeTolerance is verify_stripe's tolerance when none is
	// given: Stripe's libraries' default.
	DefaultStripeTolerance = 300
	// SlackTolerance is how far from now verify_slack accepts
	// X-Slack-Request-Timestamp, as Slack's documentation asks.
	SlackTolerance = 300
)

// webhookModule is webhook::verify_github/verify_stripe/verify_slack(secret,
// request[, tolerance_s]) → bool: a request's signature checked with each
// provider's documented scheme. request is the script's request map (its
// headers lower-case, raw_body the exact bytes received).
func webhookModule(count func()) *rhai.Module {
	return webhookModuleAt(time.Now, count)
}

// webhookModuleAt is webhookModule with the clock the timestamp checks use.
func webhookModuleAt(now func() time.Time, count func()) *rhai.Module {
	m := newHostModule(count)
	for _, t := range byteTypes {
		m.SetFn("verify_github", []rhai.Type{t, rhai.TypeMap}, func(c *rhai.Context, a []rhai.Value) (rhai.Value, error) {
			secret, body, headers, err := webhookArgs(c, "verify_github", a)
			if err != nil {
				return rhai.Unit, err
			}
			sig, ok := strings.CutPrefix(headers["x-hub-signature-256"], "sha256=")
			if !ok {
				return rhai.Bool(false), nil
			}
			return rhai.Bool(hexEqual(hmacSum(sha256.New, secret, body), sig)), nil
		})
		stripe := func(c *rhai.Context, a []rhai.Value, tolerance int64) (rhai.Value, error) {
			secret, body, headers, err := webhookArgs(c, "verify_stripe", a)
			if err != nil {
				return rhai.Unit, err
			}
			if tolerance <= 0 {
				return rhai.Unit, rhai.NewError(rhai.ErrRuntime, "webhook::verify_stripe: tolerance must be a positive number of seconds, not %d", tolerance)
			}
			var ts string
			var sigs []string
			for item := range strings.SplitSeq(headers["stripe-signature"], ",") {
				k, v, _ := strings.Cut(strings.TrimSpace(item), "=")
				switch k {
				case "t":
					ts = v
				case "v1":
					sigs = append(sigs, v)
				}
			}
			if !fresh(ts, tolerance, now()) || len(sigs) == 0 {
				return rhai.Bool(false), nil
			}
			want := hmacSum(sha256.New, secret, concat(ts, ".", body))
			ok := false
			for _, s := range sigs {
				ok = hexEqual(want, s) || ok // every candidate compared
			}
			return rhai.Bool(ok), nil
		}
		m.SetFn("verify_stripe", []rhai.Type{t, rhai.TypeMap}, func(c *rhai.Context, a []rhai.Value) (rhai.Value, error) {
			return stripe(c, a, DefaultStripeTolerance)
		})
		m.SetFn("verify_stripe", []rhai.Type{t, rhai.TypeMap, rhai.TypeInt}, func(c *rhai.Context, a []rhai.Value) (rhai.Value, error) {
			return stripe(c, a, a[2].AsInt())
		})
		m.SetFn("verify_slack", []rhai.Type{t, rhai.TypeMap}, func(c *rhai.Context, a []rhai.Value) (rhai.Value, error) {
			secret, body, headers, err := webhookArgs(c, "verify_slack", a)
			if err != nil {
				return rhai.Unit, err
			}
			ts := headers["x-slack-request-timestamp"]
			sig, ok := strings.CutPrefix(headers["x-slack-signature"], "v0=")
			if !ok || !fresh(ts, SlackTolerance, now()) {
				return rhai.Bool(false), nil
			}
			want := hmacSum(sha256.New, secret, concat("v0:"+ts, ":", body))
			return rhai.Bool(hexEqual(want, sig)), nil
		})
	}
	return m.Module
}

// webhookArgs reads a verify call's secret, the request's raw body and its
// string headers, and charges the bytes to be signed. An empty secret is an
// error: it would make any signature anyone can compute valid.
func webhookArgs(c *rhai.Context, fn string, a []rhai.Value) (secret, body []byte, headers map[string]string, err error) {
	secret = bytesOf(a[0])
	if len(secret) == 0 {
		return nil, nil, nil, rhai.NewError(rhai.ErrRuntime, "webhook::%s: the secret is empty", fn)
	}
	req := a[1].AsMap().M
	switch raw := req["raw_body"]; raw.Type() {
	case rhai.TypeString, rhai.TypeBlob:
		body = bytesOf(raw)
	case rhai.TypeUnit:
	default:
		return nil, nil, nil, rhai.NewError(rhai.ErrRuntime, "webhook::%s: request.raw_body is %s, not a string or a BLOB", fn, raw.TypeName())
	}
	headers = map[string]string{}
	if h := req["headers"]; h.Type() == rhai.TypeMap {
		for k, v := range h.AsMap().M {
			if v.Type() == rhai.TypeString {
				headers[k] = v.AsString()
			}
		}
	}
	return secret, body, headers, charge(c, len(secret)+len(body)+64)
}

// fresh reports whether ts, Unix seconds, is within tolerance seconds of
// now (either way: a clock a little ahead is not an attack).
func fresh(ts string, tolerance int64, now time.Time) bool {
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false
	}
	d := now.Unix() - t
	return d <= tolerance && d >= -tolerance
}

// hexEqual compares a MAC with a hex signature in constant time (either
// case of hex digits accepted).
func hexEqual(mac []byte, sig string) bool {
	got, err := hex.DecodeString(sig)
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(mac, got) == 1
}

func concat(prefix, sep string, body []byte) []byte {
	b := make([]byte, 0, len(prefix)+len(sep)+len(body))
	return append(append(append(b, prefix...), sep...), body...)
}
