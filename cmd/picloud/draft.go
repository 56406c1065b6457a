package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/picloud/picloud"
)

const draftUsage = `usage:
  picloud draft push NAME FILE   store FILE as the draft of script NAME (replacing any): it must
                                 compile, and it is not served until promoted
  picloud draft show NAME        print the draft's source
  picloud draft rm NAME          drop the draft (the live version is untouched)
  picloud draft promote NAME     make the draft the script's next version (it is served from then on)
NAME is a script's name or id.`

func draftPath(name string) string { return "/api/scripts/" + url.PathEscape(name) + "/draft" }

// runDraft is `picloud draft push|show|rm|promote`.
func runDraft(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" {
		fmt.Fprintln(stderr, draftUsage)
		return fmt.Errorf("draft: which command? (push, show, rm, promote)")
	}
	sub := args[0]
	var c client
	fs := c.flagSet("draft "+sub, stderr)
	pos, err := c.parse(fs, args[1:])
	if err != nil {
		return err
	}
	arity := map[string][2]int{"push": {2, 2}, "show": {1, 1}, "rm": {1, 1}, "promote": {1, 1}}
	if err := checkArity("draft", sub, pos, arity, draftUsage, stderr); err != nil {
		return err
	}
	name := pos[0]
	switch sub {
	case "push":
		src, err := os.ReadFile(pos[1])
		if err != nil {
			return err
		}
		var d picloud.Draft
		printed, err := c.call(ctx, "PUT", draftPath(name), picloud.DraftRequest{Source: ptr(string(src))}, &d, stdout)
		if err != nil {
			// A refused source is shown as file:line:col with a caret.
			return deploySourceError(err, pos[1], string(src))
		}
		if !printed {
			fmt.Fprintf(stdout, "saved the draft of %s (on version %d; not served until 'picloud draft promote %s')\n", name, d.BaseVersion, name)
		}
		return nil
	case "show":
		var d picloud.Draft
		if printed, err := c.call(ctx, "GET", draftPath(name), nil, &d, stdout); printed || err != nil {
			return err
		}
		_, err := io.WriteString(stdout, d.Source)
		if err == nil && !strings.HasSuffix(d.Source, "\n") {
			_, err = io.WriteString(stdout, "\n")
		}
		return err
	case "rm":
		if err := c.do(ctx, "DELETE", draftPath(name), nil, nil); err != nil {
			return err
		}
		if c.json {
			return c.printJSON(stdout, map[string]string{"deleted_draft": name})
		}
		fmt.Fprintf(stdout, "dropped the draft of %s\n", name)
		return nil
	default: // promote
		var sc picloud.Script
		if printed, err := c.call(ctx, "POST", draftPath(name)+"/promote", nil, &sc, stdout); printed || err != nil {
			return err
		}
		fmt.Fprintf(stdout, "promoted the draft of %s: version %d is live\n", sc.Name, sc.Version)
		return nil
	}
}
