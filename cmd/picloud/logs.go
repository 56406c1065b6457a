package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/picloud/picloud"
)

func runLogs(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("logs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c client
	c.register(fs)
	limit := fs.Int("limit", 20, "how many executions (at most 200)")
	offset := fs.Int("offset", 0, "skip this many of the newest")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("usage: picloud logs NAME [--limit N]")
	}
	sc, err := c.mustLookup(ctx, pos[0])
	if err != nil {
		return err
	}
	var page picloud.ExecutionList
	if printed, err := c.call(ctx, "GET", fmt.Sprintf("/api/scripts/%s/logs?limit=%d&offset=%d", sc.ID, *limit, *offset), nil, &page, stdout); printed || err != nil {
		return err
	}
	if len(page.Items) == 0 {
		fmt.Fprintf(stdout, "no executions of %s yet\n", sc.Name)
	}
	for _, l := range page.Items {
		line := fmt.Sprintf("%s  %-15s v%-3d %-5s %8.2fms %8d ops", formatTime(l.StartedAt), l.Status, l.ScriptVersion, l.Trigger, l.DurationMS, l.Operations)
		if l.Request != nil {
			line += "  " + l.Request.Method + " " + l.Request.Path
		}
		if l.Response != nil {
			line += fmt.Sprintf(" -> %d", l.Response.Status)
		}
		if l.JobID != "" {
			line += fmt.Sprintf("  job %s attempt %d", l.JobID, l.Attempt)
		}
		if l.ScheduleID != "" {
			line += "  schedule " + l.ScheduleID
		}
		// Only a cluster's rows name a node (a manager's test runs do not), so
		// an all-in-one server's lines read as they always did.
		if l.Node != "" {
			line += "  node " + l.Node
		}
		fmt.Fprintln(stdout, line)
		for _, g := range l.Logs {
			msg := "    [" + g.Level + "] " + g.Message
			if len(g.Data) > 0 && string(g.Data) != "null" {
				msg += " " + string(g.Data)
			}
			fmt.Fprintln(stdout, msg)
		}
		if l.Error != nil {
			fmt.Fprintf(stdout, "    error %s at %d:%d: %s\n", l.Error.Kind, l.Error.Line, l.Error.Column,
				strings.ReplaceAll(l.Error.Message, "\n", "\n      "))
		}
	}
	return nil
}
