package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/picloud/picloud"
)

// auditPage is GET /api/audit's answer.
type auditPage struct {
	Items []*picloud.AuditEvent `json:"items"`
	Next  string                `json:"next"`
}

// runAudit is `picloud audit [--since 24h] [--action script.] [--actor NAME]
// [--target T] [--limit N] [--json]`: the audit trail, newest first, as a
// table (or the API's JSON), following the pages until --limit events.
func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c client
	fs := c.flagSet("audit", stderr)
	since := fs.String("since", "", "from `TIME`: RFC 3339, or a duration ago (24h); default all that is kept")
	until := fs.String("until", "", "up to `TIME`, exclusive")
	action := fs.String("action", "", "one `ACTION` (script.update), or a prefix ending in . (script.)")
	actor := fs.String("actor", "", "the `NAME` of the token that acted (admin for the admin token)")
	target := fs.String("target", "", "what was acted on: a script's, secret's or token's `NAME`, a schedule's id")
	limit := fs.Int("limit", 50, "at most `N` events (the newest)")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return errors.New("usage: picloud audit [--since 24h] [--action script.] [--actor NAME] [--target T] [--limit N] [--json]")
	}
	if *limit < 1 {
		return errors.New("--limit must be at least 1")
	}
	q := url.Values{}
	for k, v := range map[string]string{"since": *since, "until": *until, "action": *action, "actor": *actor, "target": *target} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var all auditPage
	for len(all.Items) < *limit {
		q.Set("limit", strconv.Itoa(min(*limit-len(all.Items), picloud.MaxAuditLimit)))
		var p auditPage
		if err := c.do(ctx, "GET", "/api/audit?"+q.Encode(), nil, &p); err != nil {
			return err
		}
		all.Items, all.Next = append(all.Items, p.Items...), p.Next
		if p.Next == "" {
			break
		}
		q.Set("before", p.Next)
	}
	if all.Items == nil {
		all.Items = []*picloud.AuditEvent{}
	}
	if c.json {
		return c.printJSON(stdout, all)
	}
	if len(all.Items) == 0 {
		fmt.Fprintln(stdout, "no audit events")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tACTOR\tVIA\tIP\tACTION\tTARGET\tDETAIL")
	for _, e := range all.Items {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.At.UTC().Format("2006-01-02 15:04:05"), dash(e.Actor), dash(e.Via),
			dash(e.IP), e.Action, dash(e.Target), auditDetail(e.Detail))
	}
	tw.Flush()
	if all.Next != "" && len(all.Items) >= *limit {
		fmt.Fprintf(stdout, "(the %d newest; --limit shows more)\n", len(all.Items))
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// auditDetail is an event's detail on one line: the changed settings as
// "name: before → after", the versions as "version 2 → 3", the rest as
// key=value.
func auditDetail(raw json.RawMessage) string {
	var d map[string]any
	if len(raw) == 0 || json.Unmarshal(raw, &d) != nil {
		return ""
	}
	var parts []string
	before, _ := d["before"].(map[string]any)
	after, _ := d["after"].(map[string]any)
	if after != nil {
		keys := make([]string, 0, len(after))
		for k := range after {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s: %s → %s", k, compact(before[k]), compact(after[k])))
		}
	}
	if v, ok := d["version"]; ok {
		if from, ok := d["from_version"]; ok {
			parts = append(parts, fmt.Sprintf("version %s → %s", compact(from), compact(v)))
		} else {
			parts = append(parts, "version "+compact(v))
		}
	}
	var rest []string
	for k, v := range d {
		switch k {
		case "before", "after", "version", "from_version":
			continue
		}
		rest = append(rest, k+"="+compact(v))
	}
	sort.Strings(rest)
	return strings.Join(append(parts, rest...), "; ")
}

// compact is v as JSON, strings without their quotes.
func compact(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}
