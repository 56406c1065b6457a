package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/picloud/picloud"
)

// client talks to a PiCloud server's API.
type client struct {
	server, token string
	json          bool
	http          *http.Client
}

func (c *client) register(fs *flag.FlagSet) {
	fs.StringVar(&c.server, "server", "http://localhost:8000", "PiCloud server URL (PICLOUD_URL)")
	fs.StringVar(&c.token, "token", "", "API token: the admin token or a named one (PICLOUD_TOKEN)")
	fs.BoolVar(&c.json, "json", false, "print JSON for machines")
}

// flagSet makes the flag set of the client command name, its messages going
// to stderr, with the client's flags (--server, --token, --json) on it.
func (c *client) flagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.register(fs)
	return fs
}

// parseClient parses a client command's flags; PICLOUD_URL names the server.
func (c *client) parse(fs *flag.FlagSet, args []string) ([]string, error) {
	pos, err := parse(fs, args)
	if err != nil {
		return nil, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if v := os.Getenv("PICLOUD_URL"); v != "" && !set["server"] {
		c.server = v
	}
	c.server = strings.TrimRight(c.server, "/")
	if err := checkServerURL(c.server); err != nil {
		return nil, err
	}
	c.http = &http.Client{Timeout: 2 * time.Minute, Transport: &identityTransport{base: http.DefaultTransport, server: c.server, token: c.token}}
	return pos, nil
}

// checkServerURL refuses a server URL that is not a server's base URL: with
// a path, the API's paths would be appended to it and answered by whatever
// is there (often a page, and empty results rather than an error).
func checkServerURL(server string) error {
	u, err := url.Parse(server)
	if err != nil {
		return fmt.Errorf("server URL %q (--server or PICLOUD_URL): %w", server, err)
	}
	const want = "it is the server's base URL, like http://localhost:8000"
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("server URL %q (--server or PICLOUD_URL): want http:// or https://; %s", server, want)
	case u.Host == "":
		return fmt.Errorf("server URL %q (--server or PICLOUD_URL) names no host; %s", server, want)
	case u.Path != "" || u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("server URL %q (--server or PICLOUD_URL) has a path or query (%s): %s", server, strings.TrimPrefix(server, u.Scheme+"://"+u.Host), want)
	}
	return nil
}

// identityTransport checks, before a command's first request, that the
// server is PiCloud: its GET /api/health answers with service "picloud".
// Another server (a proxy's page, a different service on the port) would
// otherwise answer with errors that are hard to read, or with JSON that
// decodes into empty results. One request per command; a server that
// cannot be reached is left to the command's own request to report.
type identityTransport struct {
	base          http.RoundTripper
	server, token string
	once          sync.Once
	err           error
}

func (t *identityTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.once.Do(func() { t.err = t.check(req.Context()) })
	if t.err != nil {
		return nil, t.err
	}
	return t.base.RoundTrip(req)
}

// notPiCloudError is identityTransport's refusal.
type notPiCloudError struct{ msg string }

func (e *notPiCloudError) Error() string { return e.msg }

// unwrapNotPiCloud returns identityTransport's refusal as it is, not wrapped
// in the request's method and URL (its message names the server), and any
// other error unchanged.
func unwrapNotPiCloud(err error) error {
	if np := (*notPiCloudError)(nil); errors.As(err, &np) {
		return np
	}
	return err
}

func (t *identityTransport) check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", t.server+"/api/health", nil)
	if err != nil {
		return err
	}
	if t.token != "" {
		req.Header.Set("Authorization", "Bearer "+t.token)
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil // unreachable: the command's request says so in its words
	}
	defer resp.Body.Close()
	var h picloud.Health
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(data, &h) == nil && h.Service == "picloud" {
		return nil // any status: a degraded or draining PiCloud is still PiCloud
	}
	return &notPiCloudError{fmt.Sprintf("%s is not a PiCloud server: its /api/health answered HTTP %d without \"service\": \"picloud\" "+
		"(check --server or PICLOUD_URL: the server's base URL, like http://localhost:8000)", t.server, resp.StatusCode)}
}

// apiError is an error body from the server.
type apiError struct {
	Status  int
	Code    string `json:"code"`
	Message string `json:"message"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	ExecID  string `json:"execution_id"`
	// Field and Position name what a request got wrong (position: the
	// 1-based field of a cron expression); RetryAfter is the seconds a
	// refused (429) request should wait.
	Field      string  `json:"field"`
	Position   int     `json:"position"`
	RetryAfter float64 `json:"retry_after"`
	// raw is the error object as the server sent it, which --json
	// writes on stderr unchanged.
	raw json.RawMessage
}

// httpError is an error answer that is not the API's JSON (a proxy's page,
// another server's).
type httpError struct {
	Status int
	Body   string
}

func (e *httpError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.Status, e.Body) }

func (e *apiError) Error() string {
	s := fmt.Sprintf("%s (HTTP %d): %s", e.Code, e.Status, e.Message)
	if e.Line > 0 {
		s += fmt.Sprintf(" at line %d, column %d", e.Line, e.Column)
	}
	if e.ExecID != "" {
		s += " [execution " + e.ExecID + "]"
	}
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry after %gs)", e.RetryAfter)
	}
	return s
}

// do sends an API request with the token and decodes a JSON answer into out.
// call is do for the commands that print: with --json it writes the
// server's answer as it came and reports printed; otherwise it decodes the
// answer into out for the command to print its way.
func (c *client) call(ctx context.Context, method, path string, in, out any, stdout io.Writer) (printed bool, err error) {
	var raw json.RawMessage
	if err := c.do(ctx, method, path, in, &raw); err != nil {
		return false, err
	}
	if c.json {
		_, err := stdout.Write(raw)
		return true, err
	}
	return false, json.Unmarshal(raw, out)
}

func (c *client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.server+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return unwrapNotPiCloud(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 400 {
		return responseError(resp.StatusCode, data)
	}
	if out != nil && len(data) > 0 {
		if raw, ok := out.(*json.RawMessage); ok {
			*raw = data
			return nil
		}
		return json.Unmarshal(data, out)
	}
	return nil
}

// responseError is the error an API answered with: an *apiError when the
// body is the API's {"error": {...}}.
func responseError(status int, data []byte) error {
	var eb struct {
		Error json.RawMessage `json:"error"`
	}
	var ae apiError
	if json.Unmarshal(data, &eb) != nil || json.Unmarshal(eb.Error, &ae) != nil || ae.Code == "" {
		return &httpError{Status: status, Body: strings.TrimSpace(string(data))}
	}
	ae.Status, ae.raw = status, eb.Error
	return &ae
}

// lookup finds a script by name (nil when there is none).
func (c *client) lookup(ctx context.Context, name string) (*picloud.ScriptSummary, error) {
	var list picloud.ScriptList
	if err := c.do(ctx, "GET", "/api/scripts?name="+url.QueryEscape(name), nil, &list); err != nil {
		return nil, err
	}
	if len(list.Items) == 0 {
		return nil, nil
	}
	return &list.Items[0], nil
}

func (c *client) mustLookup(ctx context.Context, name string) (*picloud.ScriptSummary, error) {
	sc, err := c.lookup(ctx, name)
	if err == nil && sc == nil {
		err = fmt.Errorf("no script named %q", name)
	}
	return sc, err
}

func (c *client) printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

var nonSlug = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[^a-z0-9-]+`) })

// nameFromFile turns "Hello World.rhai" into "hello-world".
func nameFromFile(path string) string {
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	s := strings.Trim(nonSlug().ReplaceAllString(strings.ToLower(base), "-"), "-")
	if len(s) > 63 {
		s = s[:63]
	}
	return s
}

func runDeploy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c client
	fs := c.flagSet("deploy", stderr)
	name := fs.String("name", "", "script name (default: the config file's name, else the file's name without extension)")
	config := fs.String("config", "", "settings file, TOML or JSON by extension (default: FILE's name with .toml or .json beside it, when one exists)")
	var flags settingFlags
	flags.register(fs)
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("usage: picloud deploy FILE [--name NAME] [--config FILE] [--timeout-ms N] [--max-operations N] [--max-concurrency N] [--max-memory-bytes N] [--max-response-bytes N] [--unsandboxed] [--kv-namespaces A,B] [--kv-max-keys N] [--kv-max-bytes N] [--http-max-requests N] [--http-max-response-bytes N] [--http-timeout-ms N] [--egress-allow A,B] [--enabled=true|false | --disabled] [--max-attempts N] [--subscriptions A,B] [--access public|key|token|library] [--rate-limit RPS] [--rate-burst N] [--rate-limit-by client|key] (picloud deploy -h)")
	}
	src, err := os.ReadFile(pos[0])
	if err != nil {
		return err
	}
	cfgPath := *config
	if cfgPath == "" {
		if cfgPath, err = findDeployConfig(pos[0]); err != nil {
			return err
		}
	}
	var in picloud.ScriptUpdate
	if cfgPath != "" {
		if in, err = readDeployConfig(cfgPath); err != nil {
			return err
		}
	}
	if err := flags.apply(&in); err != nil {
		return err
	}
	if *name != "" {
		in.Name = name
	} else if in.Name == nil {
		n := nameFromFile(pos[0])
		in.Name = &n
	}
	in.Source = ptr(string(src))
	existing, err := c.lookup(ctx, *in.Name)
	if err != nil {
		return err
	}
	var raw json.RawMessage
	verb := "created"
	if existing == nil {
		err = c.do(ctx, "POST", "/api/scripts", in, &raw)
	} else {
		verb = "updated"
		in.Name = nil // the script keeps its name: the lookup found it by that name
		err = c.do(ctx, "PUT", "/api/scripts/"+existing.ID, in, &raw)
	}
	if err != nil {
		return deploySourceError(err, pos[0], string(src)) // srcerr.go
	}
	if c.json {
		_, err := stdout.Write(raw)
		return err
	}
	var s picloud.Script
	if err := json.Unmarshal(raw, &s); err != nil {
		return err
	}
	var changed []string
	if existing != nil {
		changed = changedSettings(existing.Script, s)
		if existing.Version == s.Version && len(changed) == 0 {
			verb = "unchanged"
		}
	}
	fmt.Fprintf(stdout, "%s %s (version %d)\n  %s/fn/%s\n", verb, s.Name, s.Version, c.server, s.Name)
	if existing != nil && existing.Version != s.Version {
		fmt.Fprintf(stdout, "  source changed: version %d -> new version %d\n", existing.Version, s.Version)
	}
	if len(changed) > 0 {
		fmt.Fprintf(stdout, "  settings changed: %s\n", strings.Join(changed, ", "))
	}
	if cfgPath != "" {
		fmt.Fprintf(stdout, "  settings from %s\n", cfgPath)
	}
	if s.Disabled {
		fmt.Fprintln(stdout, "  disabled: it answers 503 and its schedules and subscriptions do not fire (--enabled to enable it)")
	}
	if s.ConfinedTo != "" {
		fmt.Fprintf(stdout, "  confined to %s: it reads only its own secrets, and events and imports reach only scripts matching %s (--confined-to '' with a token for every script clears it)\n", s.ConfinedTo, s.ConfinedTo)
	}
	switch s.Access {
	case picloud.AccessKey:
		fmt.Fprintf(stdout, "  access key: callers present one of its invoke keys (picloud key create %s)\n", s.Name)
	case picloud.AccessToken:
		fmt.Fprintf(stdout, "  access token: callers present an API token with invoke:%s, deploy or admin\n", s.Name)
	case picloud.AccessLibrary:
		fmt.Fprintln(stdout, "  access library: /fn answers 404; other scripts import it, schedules and events still run it")
	}
	return nil
}

// settingsOf is a script's settings alone (its JSON without the identity,
// source, version and times), to tell a settings change from nothing at
// all; every setting added later counts without a change here.
func settingsOf(s picloud.Script) string {
	s.ID, s.Name, s.Source, s.Version = "", "", "", 0
	s.CreatedAt, s.UpdatedAt = picloud.Time{}, picloud.Time{}
	b, _ := json.Marshal(s)
	return string(b)
}

// changedSettings names the settings that differ between two versions of a
// script, "name old -> new" in the API's names and JSON values, sorted.
func changedSettings(before, after picloud.Script) []string {
	var a, b map[string]json.RawMessage
	if json.Unmarshal([]byte(settingsOf(before)), &a) != nil || json.Unmarshal([]byte(settingsOf(after)), &b) != nil {
		return nil
	}
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	var out []string
	for k := range keys {
		if bytes.Equal(a[k], b[k]) {
			continue
		}
		out = append(out, fmt.Sprintf("%s %s -> %s", k, shown(a[k]), shown(b[k])))
	}
	sort.Strings(out)
	return out
}

// shown is a setting's JSON value as changedSettings prints it.
func shown(v json.RawMessage) string {
	if len(v) == 0 {
		return "(none)"
	}
	return string(v)
}

func ptr[T any](v T) *T { return &v }

func runList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c client
	fs := c.flagSet("ls", stderr)
	if _, err := c.parse(fs, args); err != nil {
		return err
	}
	var list picloud.ScriptList
	if printed, err := c.call(ctx, "GET", "/api/scripts", nil, &list, stdout); printed || err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	// CONFINED is a column only when a script is confined (written by a
	// token restricted to some scripts).
	confined := slices.ContainsFunc(list.Items, func(s picloud.ScriptSummary) bool { return s.ConfinedTo != "" })
	head := "NAME\tVERSION\tENABLED\tLAST RUN\tSTATUS\tERRORS\tUPDATED"
	if confined {
		head += "\tCONFINED"
	}
	fmt.Fprintln(tw, head)
	for _, s := range list.Items {
		last, status, rate := "-", "-", "-"
		if s.LastExecution != nil {
			last, status = formatTime(s.LastExecution.StartedAt), string(s.LastExecution.Status)
		}
		if s.ErrorRate != nil {
			rate = fmt.Sprintf("%.0f%%", *s.ErrorRate*100)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s", s.Name, s.Version, yesNo(!s.Disabled), last, status, rate, formatTime(s.UpdatedAt))
		if confined {
			fmt.Fprintf(tw, "\t%s", cmp.Or(s.ConfinedTo, "-"))
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// checkArity checks the subcommand sub of the command cmd and its arguments
// pos against arity, the least and the most arguments each subcommand takes:
// an unknown sub or a wrong count is an error, after usage on stderr.
func checkArity(cmd, sub string, pos []string, arity map[string][2]int, usage string, stderr io.Writer) error {
	a, known := arity[sub]
	if !known {
		fmt.Fprintln(stderr, usage)
		return fmt.Errorf("unknown %s command %q", cmd, sub)
	}
	if len(pos) < a[0] || len(pos) > a[1] {
		fmt.Fprintln(stderr, usage)
		return fmt.Errorf("%s %s: wrong number of arguments", cmd, sub)
	}
	return nil
}

// confirmed asks question on stderr, so that stdout stays the result, and
// reports whether the line read from stdin answers y or yes.
func confirmed(stdin io.Reader, stderr io.Writer, question string) bool {
	fmt.Fprint(stderr, question)
	answer, _ := bufio.NewReader(stdin).ReadString('\n')
	a := strings.ToLower(strings.TrimSpace(answer))
	return a == "y" || a == "yes"
}

func runRemove(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var c client
	fs := c.flagSet("rm", stderr)
	yes := fs.Bool("yes", false, "delete without asking (required when standard input is not a terminal)")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("usage: picloud rm NAME [--yes]")
	}
	sc, err := c.mustLookup(ctx, pos[0])
	if err != nil {
		return err
	}
	if !*yes {
		if !isTerminal(stdin) {
			return fmt.Errorf("rm: not deleting %s without confirmation: standard input is not a terminal (pass --yes)", sc.Name)
		}
		if !confirmed(stdin, stderr, fmt.Sprintf("Delete %s (version %d) with its versions, kv data, secrets, schedules and logs? [y/N] ", sc.Name, sc.Version)) {
			return fmt.Errorf("rm: %s not deleted", sc.Name)
		}
	}
	if err := c.do(ctx, "DELETE", "/api/scripts/"+sc.ID, nil, nil); err != nil {
		return err
	}
	if c.json {
		return c.printJSON(stdout, removed{Deleted: sc.Name, ID: sc.ID})
	}
	fmt.Fprintf(stdout, "deleted %s\n", sc.Name)
	return nil
}

// isTerminal says whether r is an interactive terminal (a character
// device); a variable so that tests can answer the question.
var isTerminal = func(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// removed is what rm --json prints.
type removed struct {
	Deleted string `json:"deleted"`
	ID      string `json:"id"`
}

// formatTime prints an API time as the API writes it.
func formatTime(t picloud.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(picloud.TimeFormat)
}

// formatOptTime is formatTime of *t, "-" when there is none (a key or token
// never used).
func formatOptTime(t *picloud.Time) string {
	if t == nil {
		return "-"
	}
	return formatTime(*t)
}
