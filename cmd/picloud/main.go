// Command picloud is PiCloud in one binary: the server (serve), or a
// cluster's roles (manager, node), its command-line client (deploy, invoke,
// logs, ls, rm, kv, secret, schedule, jobs, dead-letters, nodes), the admin token's rotation (token rotate), moving a
// store (export, import), the local runner of platform scripts (run) and the
// plain Rhai runner (rhai).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

const usage = `usage: picloud <command> [flags]

Server:
  serve            run PiCloud (manager, orchestrator and executor in one process)
  token rotate     replace the admin token and print the new one
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

Client (--server / PICLOUD_URL, --token / PICLOUD_TOKEN, --json):
  deploy FILE [--name N] [--config F]             create or update a script by name; settings from
                                                  FILE.toml/.json or F, and --timeout-ms, --max-operations,
                                                  --max-concurrency, --max-memory-bytes, --max-response-bytes,
                                                  --unsandboxed, --kv-namespaces, --kv-max-keys, --kv-max-bytes,
                                                  --http-*, --egress-allow, --enabled=false (--disabled),
                                                  --max-attempts, --subscriptions (picloud deploy -h)
  invoke NAME [-X METHOD] [-d BODY] [-H 'K: V']   call a script at /fn/NAME; --async queues the request and
                                                  prints the job's id (--idempotency-key K); --test runs it
                                                  through the admin API and prints its logs
  logs NAME [--limit N]                           show a script's recent executions, with their trigger
                                                  (http, test, cron, async, event), job and, in a
                                                  cluster, the node that ran them
  ls                                              list scripts
  rm NAME                                         delete a script
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

Run 'picloud <command> -h' for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "picloud:", err)
		}
		os.Exit(1)
	}
}

// run dispatches to a subcommand; each owns its flag set.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return runServe(ctx, rest, stdout, stderr)
	case "manager":
		return runManager(ctx, rest, stdout, stderr)
	case "node":
		return runNode(ctx, rest, stdout, stderr)
	case "nodes":
		return runNodes(ctx, rest, stdout, stderr)
	case "token":
		return runToken(ctx, rest, stdout, stderr)
	case "export":
		return runExport(ctx, rest, stdout, stderr)
	case "import":
		return runImport(ctx, rest, stdout, stderr)
	case "deploy":
		return runDeploy(ctx, rest, stdout, stderr)
	case "invoke":
		return runInvoke(ctx, rest, stdin, stdout, stderr)
	case "logs":
		return runLogs(ctx, rest, stdout, stderr)
	case "ls":
		return runList(ctx, rest, stdout, stderr)
	case "rm":
		return runRemove(ctx, rest, stdout, stderr)
	case "kv":
		return runKV(ctx, rest, stdin, stdout, stderr)
	case "secret":
		return runSecret(ctx, rest, stdin, stdout, stderr)
	case "schedule", "schedules":
		return runSchedule(ctx, rest, stdin, stdout, stderr)
	case "jobs", "job":
		return runJobs(ctx, rest, stdout, stderr)
	case "dead-letters", "dead-letter":
		return runDeadLetters(ctx, rest, stdout, stderr)
	case "run":
		return runRun(ctx, rest, stdout, stderr)
	case "rhai":
		return runRhai(ctx, rest, stdin, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	case "version", "--version":
		fmt.Fprintln(stdout, "picloud", version())
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
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
