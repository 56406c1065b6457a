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
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/executor"
	"github.com/picloud/picloud/internal/httpapi"
	"github.com/picloud/picloud/internal/sqlite"
)

const runUsage = `usage: picloud run FILE [flags]

Runs one invocation of a platform script on this machine, with the server's
host modules, and prints the HTTP response the platform would send (status
line, headers, blank line, body). Exit status 0 when the script succeeds,
1 when it fails (the error and its position on stderr).

The request (by default GET /fn/NAME, NAME being FILE's name without .rhai):
  --request FILE     a JSON object {"method", "path", "query", "headers", "body"}
                     (query and headers: name -> string or array of strings;
                     body: a string is sent as is, any other value as its JSON)
  --method M         the method (default GET, POST with --body)
  --path P           the path after /fn/NAME (request.subpath), e.g. /orders/7
  --query k=v        a query parameter (repeatable)
  --header 'k: v'    a request header (repeatable; k=v also accepted)
  --body TEXT        the body (JSON gets Content-Type: application/json unless
                     a header sets one)

State:
  --kv DIR           kv:: in the SQLite database DIR/kv.db (default: the
                     directory .picloud-run beside FILE); --kv memory: a
                     throwaway database, deleted when the run ends
  --secrets FILE     secrets for secret(NAME): a JSON object of strings (a .json
                     file) or KEY=VALUE lines (# comments); the environment's
                     PICLOUD_SECRET_<NAME> wins over the file (PICLOUD_SECRET_KEY
                     is the server's key, never a secret named KEY)

The settings file beside FILE (NAME.toml or NAME.json, as for deploy) sets the
limits and kv settings. import "name" resolves to name.rhai beside FILE.
log:: lines and print() go to stderr, and so do the events a successful run
emits (events::emit), one per line: event TOPIC PAYLOAD_JSON (nothing
subscribes to them here). request.trigger is "http".
`

// kvMemory is the --kv value for a throwaway database.
const kvMemory = "memory"

// runRun implements `picloud run`.
func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, runUsage) }
	requestFile := fs.String("request", "", "a JSON request file")
	method := fs.String("method", "", "the request's method")
	subpath := fs.String("path", "", "the path after /fn/NAME")
	body := fs.String("body", "", "the request's body")
	var queries, headers multiFlag
	fs.Var(&queries, "query", "a query parameter k=v (repeatable)")
	fs.Var(&headers, "header", "a header 'k: v' (repeatable)")
	kvDir := fs.String("kv", "", "the kv directory, or memory")
	secretsFile := fs.String("secrets", "", "a secrets file")
	egressAllow := fs.String("egress-allow", "", "destinations http:: may reach besides public addresses: hosts, host:port, CIDRs (as serve's --egress-allow)")
	// No environment defaults (parse would read PICLOUD_BODY...): the flags
	// here describe one request, not a standing configuration.
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fmt.Fprint(stderr, runUsage)
		return errors.New("run: expected one FILE")
	}
	file := pos[0]
	src, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	name := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	sc, err := localScript(file, name, string(src))
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}

	var req *executor.Request
	if *requestFile != "" {
		if *method != "" || *subpath != "" || *body != "" || len(queries) > 0 || len(headers) > 0 {
			return errors.New("run: --request replaces --method, --path, --query, --header and --body")
		}
		req, err = readRequestFile(*requestFile, name)
	} else {
		req, err = flagRequest(name, *method, *subpath, *body, queries, headers)
	}
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}

	secrets, err := readSecrets(*secretsFile, os.Environ())
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	store, closeStore, err := openLocalKV(ctx, *kvDir, file)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	defer closeStore()

	x := executor.New(executor.Config{
		KV:      executor.KVConfig{Store: store},
		Secrets: secrets,
		HTTP:    executor.HTTPConfig{Allow: *egressAllow},
	}, slog.New(slog.NewTextHandler(stderr, nil)))
	dir := filepath.Dir(file)
	resolver := func(_ context.Context, mod string) (*executor.Program, *picloud.Script, error) {
		// A name is a slug, as on the server: never a path out of dir.
		if !picloud.ValidName(mod) {
			return nil, nil, picloud.Errorf(picloud.ENotFound, "module %q not found (not a script name)", mod)
		}
		b, err := os.ReadFile(filepath.Join(dir, mod+".rhai"))
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil, picloud.Errorf(picloud.ENotFound, "module %q not found (no %s.rhai beside %s)", mod, mod, filepath.Base(file))
		} else if err != nil {
			return nil, nil, err
		}
		return x.Compile(mod, string(b)), nil, nil // files beside the script: unconfined
	}
	lim := executor.Limits{
		Timeout:          time.Duration(sc.TimeoutMS) * time.Millisecond,
		MaxOperations:    uint64(sc.MaxOperations),
		MaxMemoryBytes:   sc.MaxMemoryBytes,
		MaxResponseBytes: sc.MaxResponseBytes,
	}
	res := x.Execute(ctx, x.Compile(name, sc.Source), lim, req, executor.Options{Resolver: resolver, Script: sc})

	for _, l := range res.Logs {
		line := l.Level + " " + l.Message
		if len(l.Data) > 0 && string(l.Data) != "null" {
			line += " " + string(l.Data)
		}
		fmt.Fprintln(stderr, line)
	}
	// Only a successful run has events (as on the server, where a failed
	// execution's events are not delivered).
	for _, ev := range res.Events {
		fmt.Fprintf(stderr, "event %s %s\n", ev.Topic, ev.Payload)
	}
	if res.Status == picloud.StatusSuccess {
		writeHTTPResponse(stdout, res.Response.Status, res.Response.Header, res.Response.Body)
		return nil
	}
	// The platform's answer to a failed execution: its public error body
	// (the full error goes to stderr).
	status, errBody := httpapi.ErrorJSON(res.PublicError())
	writeHTTPResponse(stdout, status, http.Header{"Content-Type": {"application/json"}}, errBody)
	e := res.Err
	return &sourceError{File: file, Source: sc.Source, Line: e.Line, Col: e.Column,
		Msg: fmt.Sprintf("%s (%s): %s", res.Status, e.Kind, e.Message)}
}

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ", ") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

// localScript is the stored script a local run stands for: FILE's name as
// its name and id (its kv namespace is script:NAME), the settings of the
// settings file beside it.
func localScript(file, name, src string) (*picloud.Script, error) {
	sc := &picloud.Script{ID: name, Name: name, Source: src, Version: 1}
	cfg, err := findDeployConfig(file)
	if err != nil || cfg == "" {
		return sc, err
	}
	u, err := readDeployConfig(cfg)
	if err != nil {
		return nil, err
	}
	u.Name = nil // the file's settings, not a rename
	u.Apply(sc)
	return sc, nil
}

// requestFile is the JSON of --request.
type requestFile struct {
	Method  string                     `json:"method"`
	Path    string                     `json:"path"`
	Query   map[string]json.RawMessage `json:"query"`
	Headers map[string]json.RawMessage `json:"headers"`
	Body    json.RawMessage            `json:"body"`
}

func readRequestFile(path, name string) (*executor.Request, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rf requestFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rf); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	req := newRequest(name, rf.Method, rf.Path)
	for k, raw := range rf.Query {
		vs, err := stringOrStrings(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: query %q: %w", path, k, err)
		}
		if req.Query == nil {
			req.Query = url.Values{}
		}
		req.Query[k] = append(req.Query[k], vs...)
	}
	for k, raw := range rf.Headers {
		vs, err := stringOrStrings(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: header %q: %w", path, k, err)
		}
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if len(rf.Body) > 0 && string(rf.Body) != "null" {
		var s string
		if json.Unmarshal(rf.Body, &s) == nil {
			req.Body = []byte(s)
		} else {
			req.Body = rf.Body
			if req.Header.Get("Content-Type") == "" {
				req.Header.Set("Content-Type", "application/json")
			}
		}
	}
	if rf.Method == "" && len(req.Body) > 0 {
		req.Method = http.MethodPost
	}
	return req, nil
}

func stringOrStrings(raw json.RawMessage) ([]string, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}, nil
	}
	var ss []string
	if json.Unmarshal(raw, &ss) == nil {
		return ss, nil
	}
	return nil, errors.New("a string or an array of strings")
}

func flagRequest(name, method, subpath, body string, queries, headers []string) (*executor.Request, error) {
	req := newRequest(name, method, subpath)
	for _, q := range queries {
		k, v, _ := strings.Cut(q, "=")
		if k == "" {
			return nil, fmt.Errorf("--query %q: expected k=v", q)
		}
		if req.Query == nil {
			req.Query = url.Values{}
		}
		req.Query.Add(k, v)
	}
	for _, h := range headers {
		i := strings.IndexAny(h, ":=")
		if i <= 0 {
			return nil, fmt.Errorf("--header %q: expected 'k: v'", h)
		}
		req.Header.Add(strings.TrimSpace(h[:i]), strings.TrimSpace(h[i+1:]))
	}
	if body != "" {
		req.Body = []byte(body)
		if method == "" {
			req.Method = http.MethodPost
		}
		if req.Header.Get("Content-Type") == "" && json.Valid(req.Body) {
			req.Header.Set("Content-Type", "application/json")
		}
	}
	return req, nil
}

// newRequest is a request to /fn/NAME + subpath, as the orchestrator makes it.
func newRequest(name, method, subpath string) *executor.Request {
	if subpath != "" && !strings.HasPrefix(subpath, "/") {
		subpath = "/" + subpath
	}
	return &executor.Request{
		Method:  strings.ToUpper(cmp.Or(method, http.MethodGet)),
		Path:    "/fn/" + name + subpath,
		Subpath: subpath,
		Header:  http.Header{},
		Trigger: picloud.TriggerHTTP,
	}
}

// writeHTTPResponse prints a response like curl -i: status line, headers
// in order, blank line, body (sent only for statuses that have one, as
// executor.WriteResponse does), then a newline when the body does not end
// with one, so that a shell's prompt starts on its own line (it is not
// counted in Content-Length).
func writeHTTPResponse(w io.Writer, status int, h http.Header, body []byte) {
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	fmt.Fprintf(bw, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	hasBody := len(body) > 0 && status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
	if hasBody && h.Get("Content-Length") == "" {
		h = h.Clone()
		h.Set("Content-Length", fmt.Sprint(len(body)))
	}
	h.Write(bw)
	bw.WriteString("\r\n")
	if hasBody {
		bw.Write(body)
		if body[len(body)-1] != '\n' {
			bw.WriteByte('\n')
		}
	}
}

// envSecretPrefix names a secret in the environment: PICLOUD_SECRET_<NAME>.
const envSecretPrefix = "PICLOUD_SECRET_"

// localSecrets reads secrets from a map (the file, then the environment).
type localSecrets map[string]string

func (s localSecrets) Secret(_ context.Context, _, name string) (string, error) {
	if v, ok := s[name]; ok {
		return v, nil
	}
	return "", picloud.Errorf(picloud.ENotFound, "secret %s is not set", name)
}

// readSecrets reads --secrets FILE (a .json object of strings, otherwise
// KEY=VALUE lines) and the PICLOUD_SECRET_<NAME> variables of environ, which
// win. PICLOUD_SECRET_KEY is the server's key: never a secret.
func readSecrets(path string, environ []string) (localSecrets, error) {
	s := localSecrets{}
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		if strings.EqualFold(filepath.Ext(path), ".json") {
			if err := json.Unmarshal(data, (*map[string]string)(&s)); err != nil {
				return nil, fmt.Errorf("%s: a JSON object of strings: %w", path, err)
			}
		} else {
			for i, line := range strings.Split(string(data), "\n") {
				line = strings.TrimSpace(line)
				if line == "" || strings.HasPrefix(line, "#") {
					continue
				}
				k, v, ok := strings.Cut(line, "=")
				if !ok {
					return nil, fmt.Errorf("%s:%d: expected KEY=VALUE", path, i+1)
				}
				s[strings.TrimSpace(k)] = v
			}
		}
		for k := range s {
			if !picloud.ValidSecretName(k) {
				return nil, fmt.Errorf("%s: %q is not a secret name ([A-Z_][A-Z0-9_]{0,63})", path, k)
			}
		}
	}
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		name, ok := strings.CutPrefix(k, envSecretPrefix)
		if ok && name != "KEY" && picloud.ValidSecretName(name) {
			s[name] = v
		}
	}
	return s, nil
}

// openLocalKV opens the kv database: DIR/kv.db (DIR by default .picloud-run
// beside file), or a temporary one removed by the returned close for
// "memory".
func openLocalKV(ctx context.Context, dir, file string) (picloud.KVStore, func(), error) {
	temp := dir == kvMemory
	switch {
	case temp:
		d, err := os.MkdirTemp("", "picloud-run-")
		if err != nil {
			return nil, nil, err
		}
		dir = d
	case dir == "":
		dir = filepath.Join(filepath.Dir(file), ".picloud-run")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, err
	}
	st, err := sqlite.Open(ctx, filepath.Join(dir, "kv.db"))
	if err != nil {
		if temp {
			os.RemoveAll(dir)
		}
		return nil, nil, err
	}
	return st, func() {
		st.Close()
		if temp {
			os.RemoveAll(dir)
		}
	}, nil
}
