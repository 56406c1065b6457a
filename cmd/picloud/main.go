// Command picloud is PiCloud in one binary: the server (serve), or a
// cluster's roles (manager, node), its command-line client (deploy, invoke,
// logs, ls, rm, kv, secret, schedule, jobs, dead-letters, nodes, tokens and
// invoke keys), the admin token's offline rotation (token rotate --offline),
// moving a store (export, import), the local
// runner of platform scripts (run), the plain Rhai runner (rhai), and help,
// completion and version. help.go's table lists the commands.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

const usage = `usage: picloud <command> [flags]

Server:
  serve            run PiCloud (manager, orchestrator and executor in one process)
  token rotate --offline
                   replace the admin token in the database (no server) and print the new one
  export -o FILE   write the whole store (scripts, schedules, kv, sealed secrets, the token's
                   hash; --with-executions) to one archive file; stop the server first
  import FILE      load such an archive into an empty store, SQLite or PostgreSQL
                   (--data-dir / --database-url; docs/cluster.md)

Cluster (docs/cluster.md; every manager and node takes --cluster-token / PICLOUD_CLUSTER_TOKEN):
  manager          the control plane: serve's flags (--database-url for PostgreSQL), the
                   cluster API for the nodes; invocations and job attempts run on the nodes;
                   --tls-cert/--tls-key serve HTTPS, --cluster-ca trusts the nodes' CA
  node --manager URL
                   run scripts with a manager's scripts, kv, secrets and queue
                   (PICLOUD_MANAGER_URL); --addr (:8001), --data-dir (its journal,
                   ./picloud-node), --name (hostname:port), --advertise (the URL the
                   manager reaches it at), --tls-cert/--tls-key, --cluster-ca, and serve's
                   execution flags (gate, limits, journal, logging)

Client (--server / PICLOUD_URL: the server's base URL; --token / PICLOUD_TOKEN; --json, errors too):
  deploy FILE [--name N] [--config F]             create or update a script by name; settings from
                                                  FILE.toml/.json or F, and --timeout-ms, --max-operations,
                                                  --max-concurrency, --max-memory-bytes, --max-response-bytes,
                                                  --unsandboxed, --kv-namespaces, --kv-max-keys, --kv-max-bytes,
                                                  --http-*, --egress-allow, --enabled=false (--disabled),
                                                  --max-attempts, --subscriptions, --access,
                                                  --rate-limit, --rate-burst, --rate-limit-by
                                                  (picloud deploy -h)
  invoke NAME [-X METHOD] [-d BODY] [-H 'K: V']   call a script at /fn/NAME (--key pck_... for its access
                                                  key or token); --async queues the request and
                                                  prints the job's id (--idempotency-key K); --test runs it
                                                  through the admin API and prints its logs
  logs NAME [-f] [--status S] [--trigger T] [--since T] [--until T] [--grep TEXT] [--limit N]
                                                  a script's recent executions, with their trigger
                                                  (http, test, cron, async, event), job and, in a
                                                  cluster, node; -f follows them live; logs --id ID
                                                  shows one in full (picloud logs -h)
  stats [NAME] [--since 1h] [--step 1m]           a script's (or every script's) executions over time: calls,
                                                  failures, p50/p95/p99 ms, operations, outbound calls;
                                                  --by-script: the top scripts by calls, with errors and time
  ls                                              list scripts
  rm NAME [--yes]                                 delete a script (asks first on a terminal)
  draft push|show|rm|promote NAME [FILE]          a script's draft: stored, not served, until promoted
                                                  to the next version (picloud draft -h)
  replay NAME [FILE] [--draft] [--last N]         run a script's latest captured requests through the live
                                                  version and FILE (or the draft) and show what differs
  token create|ls|revoke|rotate                   named API tokens with scopes (admin, deploy, read,
                                                  invoke:SCRIPT), optionally restricted to scripts by
                                                  name; rotate [NAME] replaces one online (the admin
                                                  token without NAME; picloud token -h)
  key create|ls|revoke SCRIPT                     a script's invoke keys, for --access key (picloud key -h)
  audit [--since 24h] [--action script.] [--actor NAME]
                                                  the audit trail: who changed what, when, from where
                                                  (admin scope; picloud audit -h)
  kv ls|get|set|rm SCRIPT [KEY] [VALUE]           a script's kv keys (VALUE is JSON; picloud kv -h)
  secret set|ls|rm SCRIPT [NAME]                  a script's secrets (set reads the value from stdin;
                                                  --global for the global ones)
  schedule ls|add|show|pause|resume|run|rm        a script's cron schedules (picloud schedule -h)
  jobs show ID                                    an asynchronous run: state, attempts, errors
  dead-letters ls|show|requeue|discard            jobs out of attempts (picloud dead-letters -h)
  nodes [ls] | nodes rm NAME                      a cluster's nodes: status, load, journal, last heartbeat;
                                                  rm forgets one (a lost node that will not return)

Locally (no server):
  run FILE [--query k=v] [--header 'K: V'] [--body B] [--method M] [--path P] [--request F]
           [--kv DIR|memory] [--secrets F]
                   run one invocation of a platform script with the server's modules and
                   print the HTTP response (picloud run -h)
  rhai ...         run Rhai scripts locally with the plain engine (picloud rhai -h)

Help:
  help [COMMAND]   this list, or a command's usage, arguments and flags (also picloud COMMAND -h)
  completion bash|zsh|fish
                   print a shell completion script (picloud completion -h)
  version          print the version (also --version)

Run 'picloud help COMMAND' or 'picloud COMMAND -h' for a command's arguments and flags.
`

func main() {
	if len(os.Args) > 1 && os.Args[1] == "rhai" {
		tuneGCForOneScript(os.Getenv)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := mainCode(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// rhaiGCPercent is the collector's target for `picloud rhai run|eval`: a
// process that runs one script and exits gains from collecting half as often
// as Go's default (100), and loses little memory by it, because what such a
// script keeps alive dominates its peak. Measured on the six workloads of
// docs/performance.md ("Whole process"): strmap 0.31 s -> 0.24 s median with
// the same peak (58.6 MB), arraysum 0.09 -> 0.08 s, sieve +3 MB, the rest
// unchanged. The server keeps Go's default.
const rhaiGCPercent = 200

// tuneGCForOneScript sets rhaiGCPercent unless the user chose with GOGC.
func tuneGCForOneScript(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(rhaiGCPercent)
	}
}

// mainCode runs a command and reports its error on stderr: as text
// ("picloud: ..."), or with --json (or PICLOUD_JSON) as one JSON object,
// {"error": {"code", "message", ...}}, the API's own when the server
// answered with one. It returns the exit code.
func mainCode(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if !jsonRequested(args, os.Getenv) {
		err := run(ctx, args, stdin, stdout, stderr)
		if err == nil {
			return 0
		}
		var se *sourceError
		switch {
		case errors.As(err, &se):
			se.render(stderr) // file:line:col: message, the line and a caret (srcerr.go)
		case !errors.Is(err, flag.ErrHelp):
			fmt.Fprintln(stderr, "picloud:", err)
		}
		return 1
	}
	// A failing command's stderr is then the JSON object alone: what the
	// command wrote there (a flag set's usage, progress) is held back and
	// dropped on failure, passed on on success.
	held := &holdWriter{w: stderr}
	err := run(ctx, args, stdin, stdout, held)
	if err == nil {
		held.flush()
		return 0
	}
	writeJSONError(stderr, err)
	return 1
}

// jsonRequested says whether a command was given --json (or -json,
// --json=true), or PICLOUD_JSON is true, before a "--". Not for rhai:
// its eval --json is the conformance contract, whose stderr carries the
// script's print and debug lines, failing or not.
func jsonRequested(args []string, getenv func(string) string) bool {
	if len(args) > 0 && args[0] == "rhai" {
		return false
	}
	for _, a := range args {
		if a == "--" {
			break
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "json" {
			continue
		}
		if !hasVal {
			return true
		}
		b, err := strconv.ParseBool(val)
		return err == nil && b
	}
	b, err := strconv.ParseBool(getenv("PICLOUD_JSON"))
	return err == nil && b
}

// writeJSONError writes err as {"error": {...}}: the API's error object as
// the server sent it, else code "cli" (an error of the command itself, or
// of reaching the server) and the message.
func writeJSONError(w io.Writer, err error) {
	var ae *apiError
	if errors.As(err, &ae) && len(ae.raw) > 0 {
		fmt.Fprintf(w, "{\"error\":%s}\n", ae.raw)
		return
	}
	obj := map[string]any{"code": "cli", "message": err.Error()}
	if errors.Is(err, flag.ErrHelp) {
		obj["message"] = "invalid flags (picloud help)"
	}
	var he *httpError
	if errors.As(err, &he) {
		obj["status"] = he.Status
	}
	b, _ := json.Marshal(map[string]any{"error": obj})
	fmt.Fprintf(w, "%s\n", b)
}

// holdWriter keeps what is written until flush, up to 64 KiB; beyond that
// it passes everything on (a long-running command's stderr must not grow
// without bound).
type holdWriter struct {
	mu      sync.Mutex // a command may write from several goroutines
	w       io.Writer
	buf     bytes.Buffer
	passing bool
}

func (h *holdWriter) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.passing {
		return h.w.Write(p)
	}
	h.buf.Write(p)
	if h.buf.Len() > 64<<10 {
		h.flushLocked()
	}
	return len(p), nil
}

func (h *holdWriter) flush() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.flushLocked()
}

func (h *holdWriter) flushLocked() {
	h.passing = true
	h.w.Write(h.buf.Bytes())
	h.buf.Reset()
}

// run dispatches to a subcommand; each owns its flag set. -h, -help and
// --help anywhere (before "--") print the command's help on stdout.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given (picloud help lists the commands)")
	}
	name, rest := args[0], args[1:]
	switch name {
	case "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	case "--version", "-version":
		name = "version"
	}
	c := lookupCommand(name)
	if c == nil {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q (picloud help lists the commands)", name)
	}
	if c.name != "help" && wantsHelp(rest) {
		return printHelp(ctx, c, rest, stdout)
	}
	return c.run(ctx, rest, stdin, stdout, stderr)
}

// envDefaults sets each flag not given on the command line from its
// environment variable: PICLOUD_ + the flag's name in upper case, with _ for -,
// unless the flag's value names its own (envString).
func envDefaults(fs *flag.FlagSet, getenv func(string) string) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if _, ok := f.Value.(interface{ noEnv() }); ok || set[f.Name] || err != nil {
			return // a flag that must come from the command line (deploy's settings)
		}
		env := "PICLOUD_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if e, ok := f.Value.(interface{ envName() string }); ok {
			env = e.envName() // a flag whose variable says more than its name (node's --manager: PICLOUD_MANAGER_URL)
		}
		if v := getenv(env); v != "" {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s=%q: %w", env, v, e)
			}
		}
	})
	return err
}

// parse parses flags that may come before or after the positional arguments
// (picloud deploy hello.rhai --name hi), then applies the environment.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	pos, err := parseArgs(fs, args)
	if err != nil {
		return nil, err
	}
	return pos, envDefaults(fs, os.Getenv)
}

// parseArgs parses flags before or after the positional arguments, without
// the environment defaults parse applies.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos, args = append(pos, args[0]), args[1:]
	}
}
