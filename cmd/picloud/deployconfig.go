package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/picloud/picloud"
)

// A deploy config file holds a script's settings beside its source: the
// same flat fields as the API (docs/api.md), plus an optional name. TOML
// files are a flat list of `key = value` lines (an array of strings for
// subscriptions); JSON files one object.
//
//	# hello.toml
//	name = "hello"
//	timeout_ms = 2_000
//	max_memory_bytes = 16_777_216
//	unsandboxed = false
//	enabled = true
//	max_attempts = 5
//	subscriptions = ["order.created", "order.paid"]
//	access = "key"
//	rate_limit_rps = 2.5
//	rate_limit_burst = 10

// findDeployConfig returns the settings file beside script that deploy reads
// without --config: the script's name with .toml or .json (hello.rhai ->
// hello.toml), or "" when there is none. Both existing is an error: which
// one wins would be a guess.
func findDeployConfig(script string) (string, error) {
	base := strings.TrimSuffix(script, filepath.Ext(script))
	var found []string
	for _, ext := range []string{".toml", ".json"} {
		if st, err := os.Stat(base + ext); err == nil && !st.IsDir() {
			found = append(found, base+ext)
		}
	}
	switch len(found) {
	case 0:
		return "", nil
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("both %s and %s exist: keep one, or choose with --config", found[0], found[1])
}

// readDeployConfig reads a settings file, TOML or JSON by its extension. A
// value out of its range is refused here, with its line in TOML, before the
// server sees it.
func readDeployConfig(path string) (picloud.ScriptUpdate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return picloud.ScriptUpdate{}, err
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".toml":
		return parseTOMLConfig(path, data)
	case ".json":
		return parseJSONConfig(path, data)
	}
	return picloud.ScriptUpdate{}, fmt.Errorf("%s: a settings file is .toml or .json", path)
}

// configKeys are the keys a settings file may set, with their kind.
var configKeys = map[string]string{
	"name":               "string",
	"timeout_ms":         "integer",
	"max_operations":     "integer",
	"max_concurrency":    "integer",
	"max_memory_bytes":   "integer",
	"max_response_bytes": "integer",
	"unsandboxed":        "boolean",
	"kv_namespaces":      "string",
	"kv_max_keys":        "integer",
	"kv_max_bytes":       "integer",

	"http_max_requests":       "integer",
	"http_max_response_bytes": "integer",
	"http_timeout_ms":         "integer",
	"egress_allow":            "string",

	"enabled":       "boolean",
	"max_attempts":  "integer",
	"subscriptions": "list",

	"access":           "string",
	"rate_limit_rps":   "number",
	"rate_limit_burst": "integer",
	"rate_limit_by":    "string",
}

// configKeyList names the known settings for an error message, in order.
func configKeyList() string {
	return strings.Join(slices.Sorted(maps.Keys(configKeys)), ", ")
}

// set stores one setting into u and checks its range.
func set(u *picloud.ScriptUpdate, key string, v any) error {
	var one picloud.ScriptUpdate // just this key, so that Validate speaks of it
	switch key {
	case "name":
		one.Name = ptr(v.(string))
		u.Name = one.Name
	case "timeout_ms":
		one.TimeoutMS = ptr(v.(int64))
		u.TimeoutMS = one.TimeoutMS
	case "max_operations":
		one.MaxOperations = ptr(v.(int64))
		u.MaxOperations = one.MaxOperations
	case "max_concurrency":
		n := v.(int64)
		if n != int64(int(n)) || n > int64(picloud.MaxConcurrencyLimit) || n < 0 {
			return fmt.Errorf("max_concurrency must be between 0 (the server default) and %d", picloud.MaxConcurrencyLimit)
		}
		one.MaxConcurrency = ptr(int(n))
		u.MaxConcurrency = one.MaxConcurrency
	case "max_memory_bytes":
		one.MaxMemoryBytes = ptr(v.(int64))
		u.MaxMemoryBytes = one.MaxMemoryBytes
	case "max_response_bytes":
		one.MaxResponseBytes = ptr(v.(int64))
		u.MaxResponseBytes = one.MaxResponseBytes
	case "unsandboxed":
		one.Unsandboxed = ptr(v.(bool))
		u.Unsandboxed = one.Unsandboxed
	case "kv_namespaces":
		one.KVNamespaces = ptr(v.(string))
		u.KVNamespaces = one.KVNamespaces
	case "kv_max_keys":
		one.KVMaxKeys = ptr(v.(int64))
		u.KVMaxKeys = one.KVMaxKeys
	case "kv_max_bytes":
		one.KVMaxBytes = ptr(v.(int64))
		u.KVMaxBytes = one.KVMaxBytes
	case "http_max_requests":
		one.HTTPMaxRequests = ptr(v.(int64))
		u.HTTPMaxRequests = one.HTTPMaxRequests
	case "http_max_response_bytes":
		one.HTTPMaxResponseBytes = ptr(v.(int64))
		u.HTTPMaxResponseBytes = one.HTTPMaxResponseBytes
	case "http_timeout_ms":
		one.HTTPTimeoutMS = ptr(v.(int64))
		u.HTTPTimeoutMS = one.HTTPTimeoutMS
	case "egress_allow":
		one.EgressAllow = ptr(v.(string))
		u.EgressAllow = one.EgressAllow
	case "enabled":
		one.Enabled = ptr(v.(bool))
		u.Enabled = one.Enabled
	case "max_attempts":
		one.MaxAttempts = ptr(v.(int64))
		u.MaxAttempts = one.MaxAttempts
	case "subscriptions":
		one.Subscriptions = ptr(v.([]string))
		u.Subscriptions = one.Subscriptions
	case "access":
		one.Access = ptr(v.(string))
		u.Access = one.Access
	case "rate_limit_rps":
		one.RateLimitRPS = ptr(v.(float64))
		u.RateLimitRPS = one.RateLimitRPS
	case "rate_limit_burst":
		one.RateLimitBurst = ptr(v.(int64))
		u.RateLimitBurst = one.RateLimitBurst
	case "rate_limit_by":
		one.RateLimitBy = ptr(v.(string))
		u.RateLimitBy = one.RateLimitBy
	}
	if err := one.Validate(); err != nil {
		return errors.New(picloud.ErrorMessage(err))
	}
	return nil
}

// parseTOMLConfig reads the flat subset of TOML a settings file needs:
// comments, blank lines and `key = value` with integers (decimal with _
// separators, 0x, 0o, 0b), decimal floats (for rate_limit_rps), booleans,
// strings ("basic" or 'literal') and one-line arrays of strings. Tables,
// inf, nan and dates are refused, naming the line.
func parseTOMLConfig(path string, data []byte) (picloud.ScriptUpdate, error) {
	var u picloud.ScriptUpdate
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	if !utf8.Valid(data) {
		return u, fmt.Errorf("%s: not UTF-8", path)
	}
	seen := map[string]int{}
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		fail := func(format string, args ...any) error {
			return fmt.Errorf("%s:%d: %s", path, n, fmt.Sprintf(format, args...))
		}
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" || line[0] == '#' {
			continue
		}
		if line[0] == '[' {
			return u, fail("tables are not supported: settings are flat `key = value` lines")
		}
		key, rest, ok := strings.Cut(line, "=")
		if !ok {
			return u, fail("want `key = value`")
		}
		key = strings.TrimSpace(key)
		kind, known := configKeys[key]
		if !known {
			return u, fail("unknown setting %q (known: %s)", key, configKeyList())
		}
		if prev, dup := seen[key]; dup {
			return u, fail("%s is already set on line %d", key, prev)
		}
		seen[key] = n
		v, err := parseTOMLValue(strings.TrimSpace(rest))
		if err != nil {
			return u, fail("%s: %v", key, err)
		}
		if f, isInt := v.(int64); isInt && kind == "number" {
			v = float64(f) // rate_limit_rps = 5
		}
		if got := tomlKind(v); got != kind {
			return u, fail("%s: want %s %s, got %s %s", key, article(kind), kindName(kind), article(got), kindName(got))
		}
		if err := set(&u, key, v); err != nil {
			return u, fail("%v", err)
		}
	}
	return u, nil
}

func tomlKind(v any) string {
	switch v.(type) {
	case int64:
		return "integer"
	case bool:
		return "boolean"
	case []string:
		return "list"
	case float64:
		return "number"
	}
	return "string"
}

func article(kind string) string {
	if kind == "integer" {
		return "an"
	}
	return "a"
}

// kindName is a kind as an error message says it.
func kindName(kind string) string {
	if kind == "list" {
		return "list of strings"
	}
	return kind
}

// parseTOMLValue parses the text after `=`: one value, then optionally a
// comment.
func parseTOMLValue(s string) (any, error) {
	if s == "" {
		return nil, errors.New("no value")
	}
	var v any
	var rest string
	switch c := s[0]; {
	case strings.HasPrefix(s, `"""`) || strings.HasPrefix(s, "'''"):
		return nil, errors.New("multi-line strings are not supported")
	case c == '"':
		str, n, err := basicString(s)
		if err != nil {
			return nil, err
		}
		v, rest = str, s[n:]
	case c == '\'':
		end := strings.IndexByte(s[1:], '\'')
		if end < 0 {
			return nil, errors.New("unterminated string")
		}
		v, rest = s[1:end+1], s[end+2:]
	case c == '[':
		list, n, err := stringArray(s)
		if err != nil {
			return nil, err
		}
		v, rest = list, s[n:]
	case c == '{':
		return nil, errors.New("inline tables are not supported")
	default:
		word, _, _ := strings.Cut(s, "#") // what follows # is a comment
		word = strings.TrimSpace(word)
		switch word {
		case "true":
			v = true
		case "false":
			v = false
		default:
			if strings.ContainsAny(word, ".eE") && !strings.HasPrefix(word, "0x") {
				f, err := tomlFloat(word)
				if err != nil {
					return nil, err
				}
				v = f
				break
			}
			n, err := tomlInteger(word)
			if err != nil {
				return nil, err
			}
			v = n
		}
	}
	if rest = strings.TrimSpace(rest); rest != "" && rest[0] != '#' {
		return nil, fmt.Errorf("unexpected %q after the value", rest)
	}
	return v, nil
}

// tomlInteger parses a TOML integer: decimal (no leading zeros, optional
// sign), 0x, 0o or 0b, with single underscores between digits.
func tomlInteger(s string) (int64, error) {
	bad := fmt.Errorf("%q is not an integer, a boolean or a quoted string", s)
	if strings.Contains(s, "__") || strings.HasPrefix(s, "_") || strings.HasSuffix(s, "_") {
		return 0, bad
	}
	digits := strings.ReplaceAll(s, "_", "")
	base := 10
	if len(digits) > 2 && digits[0] == '0' {
		switch digits[1] {
		case 'x':
			base = 16
		case 'o':
			base = 8
		case 'b':
			base = 2
		}
		if base != 10 {
			if strings.HasPrefix(s[2:], "_") {
				return 0, bad
			}
			digits = digits[2:]
		}
	}
	if base == 10 {
		unsigned := strings.TrimLeft(digits, "+-")
		if len(digits)-len(unsigned) > 1 || len(unsigned) > 1 && unsigned[0] == '0' {
			return 0, bad // TOML forbids leading zeros
		}
	}
	n, err := strconv.ParseInt(digits, base, 64)
	if errors.Is(err, strconv.ErrRange) {
		return 0, fmt.Errorf("%s is out of the 64-bit range", s)
	} else if err != nil || base != 10 && strings.ContainsAny(digits, "+-") {
		return 0, bad
	}
	return n, nil
}

// tomlFloat parses a TOML float in decimal: an optional sign, digits (no
// leading zeros), then a fraction, an exponent or both, with single
// underscores between digits. inf and nan are refused: no setting wants
// them.
func tomlFloat(s string) (float64, error) {
	bad := fmt.Errorf("%q is not a number, a boolean or a quoted string", s)
	if !tomlFloatSyntax().MatchString(s) {
		return 0, bad
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
	if err != nil {
		return 0, bad
	}
	return f, nil
}

// tomlFloatSyntax is TOML's decimal float (without inf and nan).
var tomlFloatSyntax = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[+-]?(0|[1-9](_?[0-9])*)(\.[0-9](_?[0-9])*)?([eE][+-]?[0-9](_?[0-9])*)?$`)
})

// stringArray reads a one-line TOML array of strings at the start of s
// (["a", 'b',] with an optional trailing comma) and returns it and the bytes
// it used.
func stringArray(s string) ([]string, int, error) {
	list := []string{} // [] is an empty list, not a missing one
	i := 1
	skip := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
	}
	for {
		skip()
		if i >= len(s) {
			return nil, 0, errors.New("unterminated array (arrays are on one line)")
		}
		if s[i] == ']' {
			return list, i + 1, nil
		}
		var str string
		switch s[i] {
		case '"':
			v, n, err := basicString(s[i:])
			if err != nil {
				return nil, 0, err
			}
			str, i = v, i+n
		case '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, 0, errors.New("unterminated string")
			}
			str, i = s[i+1:i+1+end], i+end+2
		default:
			return nil, 0, errors.New("an array holds quoted strings only")
		}
		list = append(list, str)
		skip()
		switch {
		case i >= len(s):
			return nil, 0, errors.New("unterminated array (arrays are on one line)")
		case s[i] == ',':
			i++
		case s[i] == ']':
		default:
			return nil, 0, errors.New("want , or ] after an array's string")
		}
	}
}

// basicString reads a TOML "basic string" at the start of s and returns it
// and the bytes it used.
func basicString(s string) (string, int, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return b.String(), i + 1, nil
		case '\\':
			i++
			if i >= len(s) {
				return "", 0, errors.New("unterminated string")
			}
			switch e := s[i]; e {
			case 'b':
				b.WriteByte('\b')
			case 't':
				b.WriteByte('\t')
			case 'n':
				b.WriteByte('\n')
			case 'f':
				b.WriteByte('\f')
			case 'r':
				b.WriteByte('\r')
			case '"', '\\':
				b.WriteByte(e)
			case 'u', 'U':
				size := 4
				if e == 'U' {
					size = 8
				}
				if i+size >= len(s) {
					return "", 0, errors.New("short unicode escape")
				}
				r, err := strconv.ParseUint(s[i+1:i+1+size], 16, 32)
				if err != nil || !utf8.ValidRune(rune(r)) {
					return "", 0, fmt.Errorf("bad unicode escape \\%c%s", e, s[i+1:i+1+size])
				}
				b.WriteRune(rune(r))
				i += size
			default:
				return "", 0, fmt.Errorf("unknown escape \\%c", e)
			}
		default:
			if c < 0x20 && c != '\t' || c == 0x7f {
				return "", 0, errors.New("control character in a string")
			}
			b.WriteByte(c)
		}
	}
	return "", 0, errors.New("unterminated string")
}

// parseJSONConfig reads a settings file that is one JSON object of the same
// keys. Errors name the line where the decoder stopped.
func parseJSONConfig(path string, data []byte) (picloud.ScriptUpdate, error) {
	var u picloud.ScriptUpdate
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&raw); err != nil {
		return u, fmt.Errorf("%s:%d: %v", path, lineAt(data, dec.InputOffset(), err), err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return u, fmt.Errorf("%s:%d: data after the object", path, lineAt(data, dec.InputOffset(), nil))
	}
	for _, key := range slices.Sorted(maps.Keys(raw)) { // sorted: the same file gives the same error
		msg := raw[key]
		kind, known := configKeys[key]
		if !known {
			return u, fmt.Errorf("%s: unknown setting %q", path, key)
		}
		var v any
		var err error
		switch kind {
		case "string":
			var s string
			err = json.Unmarshal(msg, &s)
			v = s
		case "integer":
			var n int64
			err = json.Unmarshal(msg, &n)
			v = n
		case "boolean":
			var b bool
			err = json.Unmarshal(msg, &b)
			v = b
		case "number":
			var f float64
			err = json.Unmarshal(msg, &f)
			v = f
		case "list":
			var l []string
			err = json.Unmarshal(msg, &l)
			v = l
		}
		if err != nil || string(msg) == "null" {
			return u, fmt.Errorf("%s: %s: want %s %s, got %s", path, key, article(kind), kindName(kind), msg)
		}
		if err := set(&u, key, v); err != nil {
			return u, fmt.Errorf("%s: %v", path, err)
		}
	}
	return u, nil
}

// lineAt is the 1-based line of the byte the JSON decoder stopped at: the
// syntax error's offset when there is one.
func lineAt(data []byte, offset int64, err error) int {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		offset = se.Offset
	}
	offset = min(max(offset, 0), int64(len(data)))
	return 1 + bytes.Count(data[:offset], []byte("\n"))
}

// settingFlags are deploy's setting flags. Unlike the other flags they do not
// read PICLOUD_* variables: PICLOUD_MAX_CONCURRENCY configures the server,
// and must not silently change every script deployed from the same shell.
type settingFlags struct {
	timeoutMS, maxOperations, maxConcurrency, maxMemoryBytes, maxResponseBytes optInt
	unsandboxed                                                                optBool
	kvMaxKeys, kvMaxBytes                                                      optInt
	kvNamespaces                                                               optString
	httpMaxRequests, httpMaxResponseBytes, httpTimeoutMS                       optInt
	egressAllow                                                                optString
	enabled, disabled                                                          optBool
	maxAttempts                                                                optInt
	subscriptions                                                              optString
	access, rateLimitBy                                                        optString
	confinedTo                                                                 optString
	rateLimit                                                                  optFloat
	rateBurst                                                                  optInt
}

func (f *settingFlags) register(fs *flag.FlagSet) {
	fs.Var(&f.timeoutMS, "timeout-ms", "the script's timeout_ms (0 = server default; default: leave as is)")
	fs.Var(&f.maxOperations, "max-operations", "the script's max_operations (0 = server default)")
	fs.Var(&f.maxConcurrency, "max-concurrency", "the script's max_concurrency (0 = server default)")
	fs.Var(&f.maxMemoryBytes, "max-memory-bytes", "the script's max_memory_bytes (0 = server default)")
	fs.Var(&f.maxResponseBytes, "max-response-bytes", "the script's max_response_bytes (0 = server default)")
	fs.Var(&f.kvNamespaces, "kv-namespaces", "the script's kv_namespaces: shared kv namespaces it may reach, comma-separated (\"\" for none)")
	fs.Var(&f.kvMaxKeys, "kv-max-keys", "the script's kv_max_keys (0 = server default)")
	fs.Var(&f.kvMaxBytes, "kv-max-bytes", "the script's kv_max_bytes (0 = server default)")
	fs.Var(&f.httpMaxRequests, "http-max-requests", "the script's http_max_requests: http:: requests per execution (0 = server default)")
	fs.Var(&f.httpMaxResponseBytes, "http-max-response-bytes", "the script's http_max_response_bytes (0 = server default)")
	fs.Var(&f.httpTimeoutMS, "http-timeout-ms", "the script's http_timeout_ms: one http:: request's timeout (0 = server default)")
	fs.Var(&f.egressAllow, "egress-allow", "the script's egress_allow: destinations its http:: calls may reach despite the egress guard, comma-separated hosts, host:port, addresses, CIDRs (\"\" for none)")
	fs.Var(&f.enabled, "enabled", "the script's enabled setting: --enabled=false stops its invocations, schedules and subscriptions")
	fs.Var(&f.disabled, "disabled", "the same as --enabled=false")
	fs.Var(&f.maxAttempts, "max-attempts", "the script's max_attempts: attempts of an async or event run (0 = 3)")
	fs.Var(&f.subscriptions, "subscriptions", "the script's subscriptions: event topics, comma-separated (\"\" for none)")
	fs.Var(&f.access, "access", "the script's access: who may invoke it: public (anyone), key (an invoke key: picloud key create), token (an API token with invoke:NAME, deploy or admin) or library (no one over HTTP; other scripts import it)")
	fs.Var(&f.rateLimit, "rate-limit", "the script's rate_limit_rps: requests per second per client (or per key), e.g. 5 or 0.5 (0 = no limit)")
	fs.Var(&f.rateBurst, "rate-burst", "the script's rate_limit_burst: requests allowed at once above the rate (0 = the rate, rounded up)")
	fs.Var(&f.rateLimitBy, "rate-limit-by", "the script's rate_limit_by: count requests per client address (client) or per invoke key (key)")
	fs.Var(&f.confinedTo, "confined-to", "the script's confined_to: set by the server when a token restricted to some scripts deploys; a token for every script may set a pattern or clear it (--confined-to '')")
	fs.Var(&f.unsandboxed, "unsandboxed", "serve the script's responses without the CSP sandbox (only with --functions-origin on the server); --unsandboxed=false restores it")
}

// apply overrides u's settings with the flags given.
func (f *settingFlags) apply(u *picloud.ScriptUpdate) error {
	for _, s := range []struct {
		key string
		v   *int64
	}{
		{"timeout_ms", f.timeoutMS.v}, {"max_operations", f.maxOperations.v}, {"max_concurrency", f.maxConcurrency.v},
		{"max_memory_bytes", f.maxMemoryBytes.v}, {"max_response_bytes", f.maxResponseBytes.v},
		{"kv_max_keys", f.kvMaxKeys.v}, {"kv_max_bytes", f.kvMaxBytes.v},
		{"http_max_requests", f.httpMaxRequests.v}, {"http_max_response_bytes", f.httpMaxResponseBytes.v},
		{"http_timeout_ms", f.httpTimeoutMS.v}, {"max_attempts", f.maxAttempts.v},
	} {
		if s.v == nil {
			continue
		}
		if err := set(u, s.key, *s.v); err != nil {
			return fmt.Errorf("--%s: %v", strings.ReplaceAll(s.key, "_", "-"), err)
		}
	}
	if f.unsandboxed.v != nil {
		u.Unsandboxed = f.unsandboxed.v
	}
	if f.kvNamespaces.v != nil {
		if err := set(u, "kv_namespaces", *f.kvNamespaces.v); err != nil {
			return fmt.Errorf("--kv-namespaces: %v", err)
		}
	}
	if f.egressAllow.v != nil {
		if err := set(u, "egress_allow", *f.egressAllow.v); err != nil {
			return fmt.Errorf("--egress-allow: %v", err)
		}
	}
	for _, s := range []struct {
		flag, key string
		v         *string
	}{{"access", "access", f.access.v}, {"rate-limit-by", "rate_limit_by", f.rateLimitBy.v}} {
		if s.v != nil {
			if err := set(u, s.key, *s.v); err != nil {
				return fmt.Errorf("--%s: %v", s.flag, err)
			}
		}
	}
	if f.confinedTo.v != nil {
		u.ConfinedTo = ptr(*f.confinedTo.v)
	}
	if f.rateLimit.v != nil {
		if err := set(u, "rate_limit_rps", *f.rateLimit.v); err != nil {
			return fmt.Errorf("--rate-limit: %v", err)
		}
	}
	if f.rateBurst.v != nil {
		if err := set(u, "rate_limit_burst", *f.rateBurst.v); err != nil {
			return fmt.Errorf("--rate-burst: %v", err)
		}
	}
	switch e, d := f.enabled.v, f.disabled.v; {
	case e != nil && d != nil && *e == *d:
		return errors.New("--enabled and --disabled contradict each other")
	case e != nil:
		u.Enabled = ptr(*e)
	case d != nil:
		u.Enabled = ptr(!*d)
	}
	if f.subscriptions.v != nil {
		topics := []string{}
		for _, t := range strings.Split(*f.subscriptions.v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				topics = append(topics, t)
			}
		}
		if err := set(u, "subscriptions", topics); err != nil {
			return fmt.Errorf("--subscriptions: %v", err)
		}
	}
	return nil
}

// optInt is an integer flag that remembers whether it was given.
type optInt struct{ v *int64 }

func (o *optInt) String() string {
	if o == nil || o.v == nil {
		return ""
	}
	return strconv.FormatInt(*o.v, 10)
}

func (o *optInt) Set(s string) error {
	n, err := tomlInteger(s) // 64_000_000 and 0x4000000 read as in the settings file
	if err != nil {
		return errors.New("want an integer")
	}
	o.v = &n
	return nil
}

func (*optInt) noEnv() {}

// optFloat is a number flag that remembers whether it was given.
type optFloat struct{ v *float64 }

func (o *optFloat) String() string {
	if o == nil || o.v == nil {
		return ""
	}
	return strconv.FormatFloat(*o.v, 'g', -1, 64)
}

func (o *optFloat) Set(s string) error {
	f, err := tomlFloat(s) // as in the settings file: 2.5, 10, 1e3
	if err != nil {
		n, ierr := tomlInteger(s)
		if ierr != nil {
			return errors.New("want a number")
		}
		f = float64(n)
	}
	o.v = &f
	return nil
}

func (*optFloat) noEnv() {}

// optBool is a boolean flag that remembers whether it was given.
type optBool struct{ v *bool }

func (o *optBool) String() string {
	if o == nil || o.v == nil {
		return ""
	}
	return strconv.FormatBool(*o.v)
}

func (o *optBool) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	o.v = &b
	return nil
}

func (*optBool) IsBoolFlag() bool { return true }
func (*optBool) noEnv()           {}
