package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// command is one subcommand of picloud: how to run it, and what its help
// says. The table is the one place the dispatcher, help, the top-level
// usage check and the shell completion read.
type command struct {
	name    string
	aliases []string
	// args is the synopsis after "picloud NAME"; about describes each
	// argument, positional ones included.
	args, about string
	// subs are its subcommands (the first is the one whose flags help
	// shows when none is given); names says which of its positional
	// arguments is a script's name, for completion: 1 the first (after the
	// subcommand, if any), 0 none.
	subs  []string
	names int
	run   func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error
}

func noStdin(f func(context.Context, []string, io.Writer, io.Writer) error) func(context.Context, []string, io.Reader, io.Writer, io.Writer) error {
	return func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
		return f(ctx, args, stdout, stderr)
	}
}

const clientAbout = `

The server is --server or PICLOUD_URL (default http://localhost:8000; a base URL
without a path), the API token --token or PICLOUD_TOKEN; --json prints the
server's JSON, and an error as one JSON object on stderr.`

// commands is filled in init: the help and completion commands read it.
var commands []*command

func init() {
	commands = []*command{
		{name: "serve", args: "[flags]", run: noStdin(runServe), about: `Run PiCloud in one process: the API, the dashboard, the functions at /fn/NAME,
the job queue and the executor. No arguments. The database is SQLite in
--data-dir (default ./picloud-data, created on the first start, which prints the
admin token once) or PostgreSQL with --database-url.`},
		{name: "manager", args: "--cluster-token TOKEN [flags]", run: noStdin(runManager), about: `Run a cluster's control plane: serve's flags and the cluster API the nodes
connect to; invocations and job attempts run on the nodes (docs/cluster.md).
No arguments.`},
		{name: "node", args: "--manager URL --cluster-token TOKEN [flags]", run: noStdin(runNode), about: `Run scripts for a manager, with its scripts, kv, secrets and queue
(docs/cluster.md). No arguments.`},
		{name: "nodes", args: "[ls] | rm NAME", subs: []string{"ls", "rm"}, run: noStdin(runNodes), about: `  ls        a cluster's nodes: address, status, load, journal, last heartbeat
  rm NAME   forget the node NAME (a lost one that will not return)` + clientAbout},
		{name: "token", aliases: []string{"tokens"}, args: "create|ls|revoke|rotate ...", subs: []string{"create", "ls", "revoke", "rotate"}, run: runToken,
			about: strings.TrimPrefix(tokenUsage, "usage:\n") + `

Online commands need a token with the admin scope. Offline rotation finds the
database as serve does (--data-dir, default ./picloud-data, or --database-url;
PICLOUD_DATA_DIR or PICLOUD_DATABASE_URL in the environment choose it too) and
never creates an empty one; a running server notices within seconds.` + clientAbout},
		{name: "export", args: "-o FILE [--with-executions] [--data-dir DIR | --database-url URL]", run: noStdin(runExport), about: `  -o FILE   the archive file to write`},
		{name: "import", args: "FILE [--data-dir DIR | --database-url URL]", run: noStdin(runImport), about: `  FILE      an archive written by 'picloud export'`},
		{name: "deploy", args: "FILE [--name NAME] [--config F] [settings flags]", names: 0, run: noStdin(runDeploy), about: `  FILE      the script's source (.rhai)
Creates the script, or updates the one of that name: a changed source makes a
new version; settings come from FILE's .toml/.json beside it (or --config F) and
the flags. It prints what changed.` + clientAbout},
		{name: "invoke", args: "NAME [-X METHOD] [-d BODY] [-H 'K: V'] [--path P] [--key pck_...] [--async | --test]", names: 1, run: runInvoke, about: `  NAME      the script to call at /fn/NAME
Prints the response body (--json: status, headers and body). A script whose
access is key asks for --key pck_... (one of its invoke keys); one whose
access is token for --key pct_... (an API token with invoke:NAME).` + clientAbout},
		{name: "logs", args: "[NAME] [-f] [--id ID] [--status S] [--trigger T] [--since T] [--until T] [--grep TEXT]", names: 1, run: noStdin(runLogs), about: `  NAME      the script whose recent executions to show, newest first
            (optional with -f, which then follows every script)
  -f        follow: print each execution as it completes (the live tail)
  --id ID   one execution in full, with its request, logs and error` + clientAbout},
		{name: "stats", args: "[NAME] [--since 1h] [--until T] [--step 1m] [--empty] | --by-script [--top 20]", names: 1, run: noStdin(runStats), about: `  NAME      the script whose executions to count (all scripts without it)
  --by-script  one row a script instead of a bucket: calls, errors, the time
            it ran in all, operations and outbound calls, the most called
            first (--top N of them, 20 by default, 0 for all)
A table of time buckets: calls, failed calls, p50/p95/p99 duration in ms,
Rhai operations and outbound http:: calls, then the totals. Buckets without
executions are left out unless --empty; at most 500 buckets.` + clientAbout},
		{name: "draft", aliases: []string{"drafts"}, args: "push|show|rm|promote NAME [FILE]", subs: []string{"push", "show", "rm", "promote"}, names: 1, run: noStdin(runDraft), about: strings.TrimPrefix(draftUsage, "usage:\n") + clientAbout},
		{name: "replay", args: "NAME [FILE] [--draft] [--last N] [--status S] [--since T] [--until T] [--grep TEXT]", names: 1, run: noStdin(runReplay), about: `  NAME      the script whose latest captured http requests to replay
  FILE      the source to compare with the live version (without it, or with
            --draft: the stored draft)
Each request runs through both versions on the server (nothing is written:
kv writes are discarded, http:: calls are stubbed). It prints a summary, then
each request whose answer differs: status, headers and body changes by JSON
path (live → new). The exit status is 0 whether or not answers differ.` + clientAbout},
		{name: "ls", args: "", run: noStdin(runList), about: `List the scripts: version, enabled, last run, its status, error rate. No arguments.` + clientAbout},
		{name: "rm", args: "NAME [--yes]", names: 1, run: runRemove, about: `  NAME      the script to delete, with its versions, kv, secrets, schedules and logs
It asks for confirmation on a terminal; --yes skips the question (required
when standard input is not a terminal).` + clientAbout},
		{name: "audit", args: "[--since 24h] [--action script.] [--actor NAME] [--target T] [--limit N]", run: noStdin(runAudit), about: `The audit trail, newest first: each administrative action (script, draft, kv,
secret, schedule, dead letter, node, token and key changes, sign-ins) with the
token that did it, how (bearer or session), the client address, the target
and what changed. Needs a token with the admin scope. No arguments.` + clientAbout},
		{name: "key", aliases: []string{"keys"}, args: "create|ls|revoke SCRIPT [ID|PREFIX]", subs: []string{"create", "ls", "revoke"}, names: 1, run: noStdin(runKey),
			about: strings.TrimPrefix(keyUsage, "usage:\n") + clientAbout},
		{name: "kv", args: "ls|get|set|rm SCRIPT [KEY] [VALUE]", subs: []string{"ls", "get", "set", "rm"}, names: 1, run: runKV, about: strings.TrimPrefix(kvUsage, "usage:\n") + clientAbout},
		{name: "secret", args: "set|ls|rm SCRIPT|--global [NAME]", subs: []string{"set", "ls", "rm"}, names: 1, run: runSecret, about: strings.TrimPrefix(secretUsage, "usage:\n") + clientAbout},
		{name: "schedule", aliases: []string{"schedules"}, args: "ls|add|show|pause|resume|run|rm|preview ...", subs: []string{"ls", "add", "show", "pause", "resume", "run", "rm", "preview"}, names: 1, run: runSchedule,
			about: strings.TrimPrefix(scheduleUsage, "usage:\n") + clientAbout},
		{name: "jobs", aliases: []string{"job"}, args: "show ID", subs: []string{"show"}, run: noStdin(runJobs), about: strings.TrimPrefix(jobsUsage, "usage:\n") + clientAbout},
		{name: "dead-letters", aliases: []string{"dead-letter"}, args: "ls|show|requeue|discard ...", subs: []string{"ls", "show", "requeue", "discard"}, run: noStdin(runDeadLetters),
			about: strings.TrimPrefix(deadLettersUsage, "usage:\n") + clientAbout},
		{name: "run", args: "FILE [flags]", run: noStdin(runRun), about: `  FILE      a platform script, run once locally (no server) with the server's
            modules; the HTTP response is printed`},
		{name: "rhai", args: "run|eval [flags] FILE", subs: []string{"run", "eval"}, run: runRhai, about: `  run FILE   run a plain Rhai script; print() goes to stdout
  eval FILE  evaluate it and print its value (FILE - reads standard input)`},
		{name: "completion", args: "bash|zsh|fish", subs: []string{"bash", "zsh", "fish"}, run: runCompletion, about: `  bash|zsh|fish   the shell to print a completion script for
Load it with, e.g.:
  bash:  source <(picloud completion bash)          (or into ~/.bashrc)
  zsh:   picloud completion zsh > "${fpath[1]}/_picloud"
  fish:  picloud completion fish > ~/.config/fish/completions/picloud.fish`},
		{name: "help", args: "[COMMAND [SUBCOMMAND]]", run: runHelp, about: `  COMMAND   the command to describe; without one, the list of commands`},
		{name: "version", args: "", run: func(_ context.Context, _ []string, _ io.Reader, stdout, _ io.Writer) error {
			fmt.Fprintln(stdout, "picloud", version())
			return nil
		}, about: "Print the version (also picloud --version)."},
	}
}

// lookupCommand finds a command by its name or an alias.
func lookupCommand(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
		for _, a := range c.aliases {
			if a == name {
				return c
			}
		}
	}
	return nil
}

// wantsHelp says whether args ask for help (-h, -help or --help before a
// "--"): every command answers it on stdout and succeeds.
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

func runHelp(ctx context.Context, args []string, _ io.Reader, stdout, _ io.Writer) error {
	if wantsHelp(args) {
		return printHelp(ctx, lookupCommand("help"), nil, stdout)
	}
	if len(args) == 0 {
		fmt.Fprint(stdout, usage)
		return nil
	}
	c := lookupCommand(args[0])
	if c == nil {
		return fmt.Errorf("help: unknown command %q (picloud help lists them)", args[0])
	}
	return printHelp(ctx, c, args[1:], stdout)
}

// printHelp writes a command's usage: its synopsis, what its arguments are,
// then its flags as its own flag set describes them (the command itself
// parses "-h" and prints them; nothing else of it runs, flag parsing fails
// first).
func printHelp(ctx context.Context, c *command, args []string, stdout io.Writer) error {
	fmt.Fprintf(stdout, "usage: picloud %s %s\n\n%s\n", c.name, c.args, strings.TrimLeft(c.about, "\n"))
	if len(c.aliases) > 0 {
		fmt.Fprintf(stdout, "(also: picloud %s)\n", strings.Join(c.aliases, ", "))
	}
	flags := commandFlags(ctx, c, args)
	// A command with its own usage text says more before its flags.
	lines := strings.Split(flags, "\n")
	i := 0
	for i < len(lines) && !strings.HasPrefix(lines[i], "  -") {
		i++
	}
	if prose := strings.Trim(strings.Join(lines[:i], "\n"), "\n"); prose != "" {
		fmt.Fprintf(stdout, "\n%s\n", prose)
	}
	if rest := strings.TrimRight(strings.Join(lines[i:], "\n"), "\n"); rest != "" {
		fmt.Fprintf(stdout, "\nflags:\n%s\n", rest)
	}
	return nil
}

// commandFlags is what a command prints for "-h", without its own first
// usage line: its flags, and for some a longer description.
func commandFlags(ctx context.Context, c *command, args []string) string {
	if c.name == "help" || c.name == "version" || c.name == "completion" {
		return ""
	}
	var rest []string
	for _, a := range args {
		if a != "-h" && a != "-help" && a != "--help" {
			rest = append(rest, a)
		}
	}
	if len(c.subs) > 0 && (len(rest) == 0 || !contains(c.subs, rest[0])) {
		rest = append([]string{c.subs[0]}, rest...)
	}
	var buf bytes.Buffer
	err := c.run(ctx, append(rest, "-h"), strings.NewReader(""), io.Discard, &buf)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		return ""
	}
	var out []string
	for _, line := range strings.Split(buf.String(), "\n") {
		if line == "usage:" || strings.HasPrefix(line, "usage: picloud") || strings.HasPrefix(line, "Usage of ") {
			continue
		}
		out = append(out, line)
	}
	return strings.TrimLeft(strings.Join(out, "\n"), "\n")
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// flagLine is a line naming a flag: flag.PrintDefaults' "  -name", or
// "  --name" in a usage text of its own (run, rhai).
var flagLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?m)^ +--?([A-Za-z0-9][A-Za-z0-9-]*)`) })

// flagNames are the flags a command takes, as its flag set prints them.
func flagNames(ctx context.Context, c *command) []string {
	seen := map[string]bool{}
	var names []string
	for _, m := range flagLine().FindAllStringSubmatch(commandFlags(ctx, c, nil), -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			names = append(names, m[1])
		}
	}
	sort.Strings(names)
	return names
}
