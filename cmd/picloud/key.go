package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/picloud/picloud"
)

const keyUsage = `usage:
  picloud key create SCRIPT [--name LABEL]   create an invoke key for SCRIPT and print it (shown once)
  picloud key ls SCRIPT                      list SCRIPT's keys: id, prefix, label, created, last used
  picloud key revoke SCRIPT ID|PREFIX        delete a key (by its id, its prefix or its label): callers
                                             holding it are refused from then on
A script whose access is "key" (picloud deploy --access key) answers only callers
that present one of its keys: X-PiCloud-Key: pck_... or Authorization: Bearer pck_...
(picloud invoke NAME --key pck_...).`

// storedKey is an invoke key as the API lists it; a create answer adds the
// secret, shown once.
type storedKey struct {
	picloud.InvokeKey
	Key string `json:"key,omitempty"`
}

// keyPage is GET /api/scripts/{id}/keys' answer.
type keyPage struct {
	Items []storedKey `json:"items"`
}

// runKey is `picloud key create|ls|revoke`.
func runKey(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, keyUsage)
		return errors.New("no key command given")
	}
	sub, rest := args[0], args[1:]
	var c client
	fs := c.flagSet("key "+sub, stderr)
	label := new(string)
	if sub == "create" {
		label = fs.String("name", "", "a label for the key (who holds it), at most 64 bytes")
	}
	pos, err := c.parse(fs, rest)
	if err != nil {
		return err
	}
	arity := map[string][2]int{"create": {1, 1}, "ls": {1, 1}, "list": {1, 1}, "revoke": {2, 2}, "rm": {2, 2}}
	if err := checkArity("key", sub, pos, arity, keyUsage, stderr); err != nil {
		return err
	}
	sc, err := c.mustLookup(ctx, pos[0])
	if err != nil {
		return err
	}
	base := "/api/scripts/" + sc.ID + "/keys"
	switch sub {
	case "create":
		if len(*label) > picloud.MaxInvokeKeyName {
			return fmt.Errorf("--name: a key's label is at most %d bytes", picloud.MaxInvokeKeyName)
		}
		var k storedKey
		if printed, err := c.call(ctx, "POST", base, map[string]string{"name": *label}, &k, stdout); printed || err != nil {
			return err
		}
		fmt.Fprintln(stdout, k.Key)
		fmt.Fprintf(stderr, "Created an invoke key for %s (%s). It is shown only now: give it to the caller.\n", sc.Name, k.Prefix)
		if a := sc.ScriptAccess(); a != picloud.AccessKey {
			fmt.Fprintf(stderr, "Note: %s's access is %s: it does not ask for a key until picloud deploy --access key.\n", sc.Name, a)
		}
		return nil
	case "revoke", "rm":
		k, err := findKey(ctx, &c, base, sc.Name, pos[1])
		if err != nil {
			return err
		}
		if err := c.do(ctx, "DELETE", base+"/"+url.PathEscape(k.ID), nil, nil); err != nil {
			return err
		}
		if c.json {
			return c.printJSON(stdout, removed{Deleted: k.Prefix, ID: k.ID})
		}
		fmt.Fprintf(stdout, "revoked %s's key %s\n", sc.Name, keyShown(k))
		return nil
	}
	var list keyPage
	if printed, err := c.call(ctx, "GET", base, nil, &list, stdout); printed || err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPREFIX\tNAME\tCREATED\tLAST USED")
	for _, k := range list.Items {
		name := k.Name
		if name == "" {
			name = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.Prefix, name, formatTime(k.CreatedAt), formatOptTime(k.LastUsedAt))
	}
	return tw.Flush()
}

// keyShown names a key in a message: its prefix and label.
func keyShown(k *storedKey) string {
	if k.Name != "" {
		return fmt.Sprintf("%s (%s)", k.Prefix, k.Name)
	}
	return k.Prefix
}

// findKey finds one of a script's keys by its id, its label, its prefix
// (or the start of it, "pck_1a2b"), or the whole key pasted. More than one
// match is an error that lists them.
func findKey(ctx context.Context, c *client, base, script, ref string) (*storedKey, error) {
	var list keyPage
	if err := c.do(ctx, "GET", base, nil, &list); err != nil {
		return nil, err
	}
	var found []*storedKey
	for i, k := range list.Items {
		if k.ID == ref {
			return &list.Items[i], nil
		}
		byPrefix := strings.HasPrefix(ref, "pck_") && k.Prefix != "" &&
			(strings.HasPrefix(k.Prefix, ref) || strings.HasPrefix(ref, k.Prefix))
		if byPrefix || k.Name != "" && k.Name == ref {
			found = append(found, &list.Items[i])
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("%s has no key %q (picloud key ls %s lists them)", script, ref, script)
	case 1:
		return found[0], nil
	}
	var ids []string
	for _, k := range found {
		ids = append(ids, k.ID+" "+keyShown(k))
	}
	return nil, fmt.Errorf("%q matches %d of %s's keys (%s): name one by its id", ref, len(found), script, strings.Join(ids, "; "))
}
