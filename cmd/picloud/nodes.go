package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/picloud/picloud"
)

const nodesUsage = `usage:
  picloud nodes [ls]       a cluster's nodes as the manager last heard from them: address, status
                           (ok, degraded, down; lost after 15 s without a heartbeat), load/capacity,
                           journal (execution rows not yet delivered), last heartbeat, version
  picloud nodes rm NAME    forget a node (a lost one that will not return; a live one
                           registers again with its next heartbeat)`

// runNodes is `picloud nodes [ls]` and `picloud nodes rm NAME`.
func runNodes(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		if h := args[0]; h == "-h" || h == "--help" || h == "help" {
			fmt.Fprintln(stdout, nodesUsage)
			return nil
		}
	}
	sub, rest := "ls", args
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, rest = args[0], args[1:]
	}
	var c client
	fs := c.flagSet("nodes "+sub, stderr)
	pos, err := c.parse(fs, rest)
	if err != nil {
		return err
	}
	switch {
	case sub == "ls" && len(pos) == 0:
		var list picloud.NodeList
		if printed, err := c.call(ctx, "GET", "/api/nodes", nil, &list, stdout); printed || err != nil {
			return err
		}
		return writeNodeTable(stdout, list.Items, time.Now())
	case sub == "rm" && len(pos) == 1:
		if err := c.do(ctx, "DELETE", "/api/nodes/"+url.PathEscape(pos[0]), nil, nil); err != nil {
			return err
		}
		if c.json {
			return c.printJSON(stdout, map[string]string{"deleted": pos[0]})
		}
		fmt.Fprintf(stdout, "forgot node %s\n", pos[0])
		return nil
	case sub == "ls" || sub == "rm":
		fmt.Fprintln(stderr, nodesUsage)
		return fmt.Errorf("nodes %s: wrong number of arguments", sub)
	}
	fmt.Fprintln(stderr, nodesUsage)
	return fmt.Errorf("unknown nodes command %q", sub)
}

// writeNodeTable prints nodes, one a line; the last heartbeat is its age at
// now.
func writeNodeTable(w io.Writer, items []*picloud.Node, now time.Time) error {
	if len(items) == 0 {
		_, err := fmt.Fprintln(w, "no nodes (start one with 'picloud node --manager URL --cluster-token TOKEN')")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tADDRESS\tSTATUS\tLOAD/CAP\tJOURNAL\tLAST HEARTBEAT\tVERSION")
	for _, n := range items {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%s\t%s\t%s\n", n.Name, n.Address, n.Status, n.Load, n.Capacity,
			humanBytes(n.JournalBytes), age(n.LastHeartbeat, now), n.Version)
	}
	return tw.Flush()
}

// age is how long before now t was, to the second ("4s ago"); "-" when t
// is zero.
func age(t picloud.Time, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := max(now.Sub(t.Time), 0) // a client clock behind the manager's
	return d.Round(time.Second).String() + " ago"
}

// humanBytes writes n as B, KiB, MiB or GiB with one decimal.
func humanBytes(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
}
