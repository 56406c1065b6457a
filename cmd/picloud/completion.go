package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// summaries are the one-line descriptions zsh and fish show beside the
// commands.
var summaries = map[string]string{
	"serve":        "run PiCloud in one process",
	"manager":      "run a cluster's control plane",
	"node":         "run scripts for a cluster's manager",
	"nodes":        "list or forget a cluster's nodes",
	"token":        "create, list, revoke or rotate API tokens",
	"export":       "write the whole store to an archive",
	"import":       "load an archive into an empty store",
	"deploy":       "create or update a script from a file",
	"invoke":       "call a script",
	"logs":         "show or follow a script's executions",
	"stats":        "a script's executions over time",
	"replay":       "compare a source with the live version on real requests",
	"ls":           "list scripts",
	"rm":           "delete a script",
	"key":          "a script's invoke keys",
	"audit":        "who changed what: the audit trail",
	"kv":           "a script's kv keys",
	"secret":       "a script's secrets",
	"schedule":     "a script's cron schedules",
	"jobs":         "show an asynchronous run",
	"dead-letters": "jobs out of attempts",
	"run":          "run a platform script locally",
	"rhai":         "run plain Rhai scripts locally",
	"completion":   "print a shell completion script",
	"help":         "show a command's usage",
	"version":      "print the version",
}

// The script names offered for a command's NAME come from `picloud ls`
// (its first column), with the server and token of the environment: one
// request, and nothing when no server answers.
const namesCommand = `picloud ls 2>/dev/null | awk 'NR>1 {print $1}'`

func runCompletion(ctx context.Context, args []string, _ io.Reader, stdout, _ io.Writer) error {
	if len(args) != 1 {
		return errors.New("usage: picloud completion bash|zsh|fish (picloud completion -h)")
	}
	switch args[0] {
	case "bash":
		_, err := io.WriteString(stdout, bashCompletion(ctx))
		return err
	case "zsh":
		_, err := io.WriteString(stdout, zshCompletion(ctx))
		return err
	case "fish":
		_, err := io.WriteString(stdout, fishCompletion(ctx))
		return err
	}
	return fmt.Errorf("completion: unknown shell %q: want bash, zsh or fish", args[0])
}

// dashed is a flag as it is typed: -X for one letter, --name otherwise (Go's
// flag package takes either, the docs use these).
func dashed(flag string) string {
	if len(flag) == 1 {
		return "-" + flag
	}
	return "--" + flag
}

func commandNames() []string {
	var names []string
	for _, c := range commands {
		names = append(names, c.name)
	}
	return names
}

func bashCompletion(ctx context.Context) string {
	var b strings.Builder
	fmt.Fprintf(&b, `# bash completion for picloud: source <(picloud completion bash)
_picloud_names() {
	%s
}

_picloud() {
	local cur=${COMP_WORDS[COMP_CWORD]}
	COMPREPLY=()
	if [ "$COMP_CWORD" -eq 1 ]; then
		COMPREPLY=($(compgen -W %q -- "$cur"))
		return
	fi
	local cmd=${COMP_WORDS[1]}
	if [[ $cur == -* ]]; then
		local flags=
		case $cmd in
`, namesCommand, strings.Join(commandNames(), " "))
	for _, c := range commands {
		var fl []string
		for _, f := range flagNames(ctx, c) {
			fl = append(fl, dashed(f))
		}
		if len(fl) > 0 {
			fmt.Fprintf(&b, "\t\t%s) flags=%q ;;\n", strings.Join(append([]string{c.name}, c.aliases...), "|"), strings.Join(fl, " "))
		}
	}
	b.WriteString(`		esac
		COMPREPLY=($(compgen -W "$flags" -- "$cur"))
		return
	fi
	# n: the positional argument being completed (1: the first after the command).
	local i n=0
	for ((i = 2; i < COMP_CWORD; i++)); do
		[[ ${COMP_WORDS[i]} == -* ]] || n=$((n + 1))
	done
	n=$((n + 1))
	case $cmd in
`)
	fmt.Fprintf(&b, "\t\thelp) [ $n -eq 1 ] && COMPREPLY=($(compgen -W %q -- \"$cur\")) ;;\n", strings.Join(commandNames(), " "))
	for _, c := range commands {
		if c.name == "help" {
			continue
		}
		pats := strings.Join(append([]string{c.name}, c.aliases...), "|")
		var cases []string
		nameAt := 0
		if len(c.subs) > 0 {
			cases = append(cases, fmt.Sprintf("[ $n -eq 1 ] && COMPREPLY=($(compgen -W %q -- \"$cur\"))", strings.Join(c.subs, " ")))
			if c.names > 0 {
				nameAt = 2
			}
		} else if c.names > 0 {
			nameAt = 1
		}
		if nameAt > 0 {
			cases = append(cases, fmt.Sprintf("[ $n -eq %d ] && COMPREPLY=($(compgen -W \"$(_picloud_names)\" -- \"$cur\"))", nameAt))
		}
		if len(cases) > 0 {
			fmt.Fprintf(&b, "\t\t%s) %s ;;\n", pats, strings.Join(cases, "; "))
		}
	}
	b.WriteString(`	esac
	return 0
}

# -o default: files where nothing else is offered (deploy FILE, run FILE).
complete -o default -F _picloud picloud
`)
	return b.String()
}

func zshCompletion(ctx context.Context) string {
	var b strings.Builder
	b.WriteString(`#compdef picloud
# zsh completion for picloud: picloud completion zsh > "${fpath[1]}/_picloud"
# (or source <(picloud completion zsh) after compinit)

_picloud_names() {
	local -a names
	names=(${(f)"$(` + namesCommand + `)"})
	compadd -a names
}

_picloud() {
	local -a cmds
	cmds=(
`)
	for _, c := range commands {
		fmt.Fprintf(&b, "\t\t%s\n", zshQuote(c.name+":"+summaries[c.name]))
	}
	b.WriteString(`	)
	if (( CURRENT == 2 )); then
		_describe 'command' cmds
		return
	fi
	local cmd=${words[2]}
	if [[ ${words[CURRENT]} == -* ]]; then
		case $cmd in
`)
	for _, c := range commands {
		var fl []string
		for _, f := range flagNames(ctx, c) {
			fl = append(fl, dashed(f))
		}
		if len(fl) > 0 {
			fmt.Fprintf(&b, "\t\t\t(%s) compadd -- %s ;;\n", strings.Join(append([]string{c.name}, c.aliases...), "|"), strings.Join(fl, " "))
		}
	}
	b.WriteString(`		esac
		return
	fi
	# n: the positional argument being completed (1: the first after the command).
	local i n=1
	for (( i = 3; i < CURRENT; i++ )); do
		[[ ${words[i]} == -* ]] || (( n++ ))
	done
	case $cmd in
`)
	fmt.Fprintf(&b, "\t\t(help) (( n == 1 )) && compadd -- %s ;;\n", strings.Join(commandNames(), " "))
	for _, c := range commands {
		if c.name == "help" {
			continue
		}
		pats := strings.Join(append([]string{c.name}, c.aliases...), "|")
		var cases []string
		nameAt := 0
		if len(c.subs) > 0 {
			cases = append(cases, fmt.Sprintf("(( n == 1 )) && compadd -- %s", strings.Join(c.subs, " ")))
			if c.names > 0 {
				nameAt = 2
			}
		} else if c.names > 0 {
			nameAt = 1
		}
		if nameAt > 0 {
			cases = append(cases, fmt.Sprintf("(( n == %d )) && _picloud_names", nameAt))
		}
		if len(cases) == 0 {
			cases = append(cases, "_files")
		}
		fmt.Fprintf(&b, "\t\t(%s) %s ;;\n", pats, strings.Join(cases, "; "))
	}
	b.WriteString(`		(*) _files ;;
	esac
}

if [ "$funcstack[1]" = "_picloud" ]; then
	_picloud "$@"
else
	compdef _picloud picloud
fi
`)
	return b.String()
}

func fishCompletion(ctx context.Context) string {
	var b strings.Builder
	b.WriteString(`# fish completion for picloud: picloud completion fish > ~/.config/fish/completions/picloud.fish
function __picloud_names
	` + namesCommand + `
end

complete -c picloud -f
`)
	for _, c := range commands {
		fmt.Fprintf(&b, "complete -c picloud -n __fish_use_subcommand -a %s -d %s\n", c.name, fishQuote(summaries[c.name]))
	}
	for _, c := range commands {
		seen := "__fish_seen_subcommand_from " + strings.Join(append([]string{c.name}, c.aliases...), " ")
		for _, f := range flagNames(ctx, c) {
			opt := "-l " + f
			if len(f) == 1 {
				opt = "-s " + f
			}
			fmt.Fprintf(&b, "complete -c picloud -n %s %s\n", fishQuote(seen), opt)
		}
		switch {
		case c.name == "help":
			fmt.Fprintf(&b, "complete -c picloud -n %s -a %s\n", fishQuote(seen), fishQuote(strings.Join(commandNames(), " ")))
		case len(c.subs) > 0:
			fmt.Fprintf(&b, "complete -c picloud -n %s -a %s\n", fishQuote(seen+"; and not __fish_seen_subcommand_from "+strings.Join(c.subs, " ")), fishQuote(strings.Join(c.subs, " ")))
			if c.names > 0 {
				fmt.Fprintf(&b, "complete -c picloud -n %s -a '(__picloud_names)'\n", fishQuote(seen+"; and __fish_seen_subcommand_from "+strings.Join(c.subs, " ")))
			}
		case c.names > 0:
			fmt.Fprintf(&b, "complete -c picloud -n %s -a '(__picloud_names)'\n", fishQuote(seen))
		case c.name == "deploy" || c.name == "run" || c.name == "import":
			fmt.Fprintf(&b, "complete -c picloud -n %s -F\n", fishQuote(seen)) // their FILE
		}
		if c.name == "rhai" {
			fmt.Fprintf(&b, "complete -c picloud -n %s -F\n", fishQuote(seen+"; and __fish_seen_subcommand_from run eval"))
		}
	}
	return b.String()
}

// zshQuote and fishQuote single-quote a word for their shell.
func zshQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, "'", `\'`).Replace(s) + "'"
}
