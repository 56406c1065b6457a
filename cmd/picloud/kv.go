package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/picloud/picloud"
)

const kvUsage = `usage:
  picloud kv ls SCRIPT [PREFIX]          list a script's keys in byte order (--limit N, default all)
  picloud kv get SCRIPT KEY              print a key's value (JSON)
  picloud kv set SCRIPT KEY VALUE        store VALUE, JSON ('"text"', 42, '{"a":1}'; - reads it
                                         from stdin; --string stores VALUE as a string; --ttl SECONDS)
  picloud kv rm SCRIPT KEY               delete a key
--namespace NAME works on a shared namespace the script lists in kv_namespaces.`

// runKV is `picloud kv ls|get|set|rm`.
func runKV(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, kvUsage)
		return errors.New("no kv command given")
	}
	sub, rest := args[0], args[1:]
	var c client
	fs := c.flagSet("kv "+sub, stderr)
	ns := fs.String("namespace", "", "a shared namespace the script lists in kv_namespaces")
	limit := fs.Int("limit", 0, "ls: at most this many keys (0: all)")
	ttl := fs.Int64("ttl", 0, "set: seconds until the key expires (0: never)")
	asString := fs.Bool("string", false, "set: store VALUE as a string, not JSON")
	pos, err := c.parse(fs, rest)
	if err != nil {
		return err
	}
	arity := map[string][2]int{"ls": {1, 2}, "get": {2, 2}, "set": {3, 3}, "rm": {2, 2}}
	if err := checkArity("kv", sub, pos, arity, kvUsage, stderr); err != nil {
		return err
	}
	sc, err := c.mustLookup(ctx, pos[0])
	if err != nil {
		return err
	}
	base := "/api/scripts/" + sc.ID + "/kv"
	query := func(v url.Values) string {
		if *ns != "" {
			v.Set("namespace", *ns)
		}
		if len(v) == 0 {
			return ""
		}
		return "?" + v.Encode()
	}
	keyPath := func(key string) string { return base + "/" + url.PathEscape(key) + query(url.Values{}) }

	switch sub {
	case "ls":
		prefix := ""
		if len(pos) == 2 {
			prefix = pos[1]
		}
		var keys []string
		var usage picloud.KVUsage
		cursor := ""
		for {
			v := url.Values{"prefix": {prefix}, "limit": {fmt.Sprint(picloud.MaxKVListLimit)}}
			if cursor != "" {
				v.Set("cursor", cursor)
			}
			var page picloud.KVListResponse
			if err := c.do(ctx, "GET", base+query(v), nil, &page); err != nil {
				return err
			}
			keys, usage, cursor = append(keys, page.Keys...), page.Usage, page.Cursor
			if *limit > 0 && len(keys) >= *limit {
				keys = keys[:*limit]
				break
			}
			if cursor == "" {
				break
			}
		}
		if c.json {
			if keys == nil {
				keys = []string{}
			}
			return c.printJSON(stdout, picloud.KVListResponse{Keys: keys, Usage: usage})
		}
		for _, k := range keys {
			fmt.Fprintln(stdout, k)
		}
		return nil
	case "get":
		var e picloud.KVEntry
		if err := c.do(ctx, "GET", keyPath(pos[1]), nil, &e); err != nil {
			return err
		}
		if c.json {
			return c.printJSON(stdout, e)
		}
		fmt.Fprintln(stdout, string(e.Value))
		return nil
	case "set":
		text := pos[2]
		if text == "-" {
			b, err := io.ReadAll(io.LimitReader(stdin, picloud.MaxKVValueBytes+1))
			if err != nil {
				return err
			}
			text = strings.TrimSuffix(string(b), "\n")
		}
		value := json.RawMessage(text)
		if *asString {
			value, _ = json.Marshal(text)
		} else if !json.Valid(value) {
			return fmt.Errorf("kv set: VALUE is not JSON (quote a string as '\"%s\"' or pass --string)", text)
		}
		var e picloud.KVEntry
		if err := c.do(ctx, "PUT", keyPath(pos[1]), picloud.KVKeyRequest{Value: value, TTLSeconds: *ttl}, &e); err != nil {
			return err
		}
		if c.json {
			return c.printJSON(stdout, e)
		}
		fmt.Fprintf(stdout, "set %s in %s\n", pos[1], sc.Name)
		return nil
	default: // rm
		if err := c.do(ctx, "DELETE", keyPath(pos[1]), nil, nil); err != nil {
			return err
		}
		if c.json {
			return c.printJSON(stdout, map[string]string{"deleted": pos[1]})
		}
		fmt.Fprintf(stdout, "deleted %s from %s\n", pos[1], sc.Name)
		return nil
	}
}

// optString is a string flag that remembers whether it was given.
type optString struct{ v *string }

func (o *optString) String() string {
	if o == nil || o.v == nil {
		return ""
	}
	return *o.v
}

func (o *optString) Set(s string) error { o.v = &s; return nil }

// noEnv: deploy's string settings share names with the server's variables
// (PICLOUD_EGRESS_ALLOW), which must not reach every deployed script.
func (*optString) noEnv() {}
