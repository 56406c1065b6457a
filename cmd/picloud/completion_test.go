package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCompletionScripts: each shell's script is printed, names every
// command and their flags; bash's parses (bash -n) and completes
// commands, flags, subcommands and script names (from `picloud ls`, here a
// stand-in on PATH).
func TestCompletionScripts(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		out, _, err := cli(t, "completion", shell)
		if err != nil {
			t.Fatalf("%s: %v", shell, err)
		}
		for _, want := range []string{"serve", "deploy", "dead-letters", "completion", "data-dir", "yes", "follow", "picloud ls"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s script without %q", shell, want)
			}
		}
	}
	if _, _, err := cli(t, "completion", "tcsh"); err == nil || !strings.Contains(err.Error(), "want bash, zsh or fish") {
		t.Errorf("unknown shell: %v", err)
	}
	if _, _, err := cli(t, "completion"); err == nil {
		t.Error("no shell accepted")
	}

	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash: the script's syntax and behaviour are not checked")
	}
	script, _, _ := cli(t, "completion", "bash")
	dir := t.TempDir()
	file := filepath.Join(dir, "picloud.bash")
	os.WriteFile(file, []byte(script), 0o644)
	if out, err := exec.Command(bash, "-n", file).CombinedOutput(); err != nil {
		t.Fatalf("bash -n: %v\n%s", err, out)
	}
	// A stand-in picloud whose ls prints what the real one does.
	os.WriteFile(filepath.Join(dir, "picloud"), []byte("#!/bin/sh\nprintf 'NAME     VERSION\\nhello    1\\nhelper   2\\nother    1\\n'\n"), 0o755)
	complete := func(words ...string) string {
		t.Helper()
		line := `source ` + file + `; COMP_WORDS=(` + strings.Join(words, " ") + `); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _picloud; echo "${COMPREPLY[*]}"`
		cmd := exec.Command(bash, "-c", line)
		cmd.Env = append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", words, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	cases := []struct {
		words []string
		want  string
	}{
		{[]string{"picloud", "de"}, "deploy dead-letters"},
		{[]string{"picloud", "serve", "--data"}, "--data-dir --database-url"},
		{[]string{"picloud", "rm", "--y"}, "--yes"},
		{[]string{"picloud", "logs", "--fo"}, "--follow"},
		{[]string{"picloud", "logs", "hel"}, "hello helper"},
		{[]string{"picloud", "rm", "--yes", "o"}, "other"},
		{[]string{"picloud", "kv", "s"}, "set"},
		{[]string{"picloud", "kv", "get", "h"}, "hello helper"},
		{[]string{"picloud", "kv", "get", "hello", "h"}, ""}, // a key: nothing offered
		{[]string{"picloud", "help", "sch"}, "schedule"},
		{[]string{"picloud", "token", "r"}, "revoke rotate"},
		{[]string{"picloud", "token", "create", "ci", "--sc"}, "--scope --scripts"},
		{[]string{"picloud", "key", "ls", "o"}, "other"},
		{[]string{"picloud", "ke"}, "key"},
		{[]string{"picloud", "deploy", "--acc"}, "--access"},
		{[]string{"picloud", "invoke", "hello", "--k"}, "--key"},
		{[]string{"picloud", "completion", "z"}, "zsh"},
	}
	for _, c := range cases {
		if got := complete(c.words...); got != c.want {
			t.Errorf("%v: %q, want %q", c.words, got, c.want)
		}
	}
}
