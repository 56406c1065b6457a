package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/picloud/picloud"
)

// headerFlags collects repeated -H 'Name: value'.
type headerFlags []string

func (h *headerFlags) String() string     { return strings.Join(*h, ", ") }
func (h *headerFlags) Set(v string) error { *h = append(*h, v); return nil }

func runInvoke(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var c client
	fs := c.flagSet("invoke", stderr)
	method := fs.String("X", "", "HTTP method (default GET, or POST with -d)")
	data := fs.String("d", "", "request body; @FILE reads a file, @- standard input")
	path := fs.String("path", "", "sub-path after /fn/NAME, e.g. /users/1?x=y")
	var headers headerFlags
	fs.Var(&headers, "H", "request header 'Name: value' (repeatable)")
	key := fs.String("key", "", "the credential a script whose access is key or token asks for: an invoke key (pck_..., sent as X-PiCloud-Key) or an API token (pct_..., sent as Authorization: Bearer) (PICLOUD_KEY)")
	var async, test optBool
	var idemKey optString
	fs.Var(&test, "test", "run the script as a test through the admin API (trigger test) and print its logs and outcome to stderr")
	fs.Var(&async, "async", "queue the request (Prefer: respond-async) and print the job's id instead of the response")
	fs.Var(&idemKey, "idempotency-key", "with --async: the same key within 24 h returns the first job instead of queuing another")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("usage: picloud invoke NAME [-X METHOD] [-d BODY] [-H 'K: V'] [--path P] [--key pck_...] [--test | --async [--idempotency-key K]]")
	}
	isAsync, isTest := async.v != nil && *async.v, test.v != nil && *test.v
	if idemKey.v != nil && !isAsync {
		return errors.New("--idempotency-key needs --async")
	}
	if isAsync && isTest {
		return errors.New("--test and --async: choose one")
	}
	if *key != "" && !strings.HasPrefix(*key, "pck_") && !strings.HasPrefix(*key, "pct_") {
		return errors.New("--key: want an invoke key (pck_...) or an API token (pct_...)")
	}
	var body []byte
	hasBody := false
	fs.Visit(func(f *flag.Flag) { hasBody = hasBody || f.Name == "d" })
	switch {
	case *data == "@-":
		body, err = io.ReadAll(stdin)
	case strings.HasPrefix(*data, "@"):
		body, err = os.ReadFile((*data)[1:])
	default:
		body = []byte(*data)
	}
	if err != nil {
		return err
	}
	if *method == "" {
		*method = "GET"
		if hasBody {
			*method = "POST"
		}
	}
	p := *path
	if p != "" && !strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "?") {
		p = "/" + p
	}
	req, err := http.NewRequestWithContext(ctx, strings.ToUpper(*method), c.server+"/fn/"+url.PathEscape(pos[0])+p, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if hasBody && json.Valid(body) {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, h := range headers {
		k, v, ok := strings.Cut(h, ":")
		if !ok {
			return fmt.Errorf("header %q: want 'Name: value'", h)
		}
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	switch {
	case strings.HasPrefix(*key, "pck_"):
		req.Header.Set("X-PiCloud-Key", *key)
	case *key != "":
		req.Header.Set("Authorization", "Bearer "+*key)
	}
	if isAsync {
		req.Header.Set("Prefer", "respond-async")
		if idemKey.v != nil {
			req.Header.Set("Idempotency-Key", *idemKey.v)
		}
	}
	if isTest {
		return invokeTest(ctx, &c, pos[0], req, hasBody, body, stdout, stderr)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return unwrapNotPiCloud(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if isAsync {
		return printAccepted(&c, resp, out, stdout)
	}
	if c.json {
		hs := map[string]string{}
		for k, vs := range resp.Header {
			hs[strings.ToLower(k)] = strings.Join(vs, ", ")
		}
		var jb any = string(out)
		if json.Valid(out) && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			jb = json.RawMessage(out)
		}
		if err := c.printJSON(stdout, invokeOutput{Status: resp.StatusCode, Headers: hs, Body: jb}); err != nil {
			return err
		}
	} else {
		stdout.Write(out)
		if len(out) > 0 && out[len(out)-1] != '\n' {
			fmt.Fprintln(stdout)
		}
	}
	if resp.StatusCode >= 400 {
		var wait int
		if _, err := fmt.Sscan(resp.Header.Get("Retry-After"), &wait); err == nil && wait > 0 {
			return fmt.Errorf("HTTP %d (retry after %ds)", resp.StatusCode, wait)
		}
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil
}

// invokeTest runs req as a test of the script name (POST
// /api/scripts/{id}/invoke): the response's body goes to stdout, the run's
// outcome and logs to stderr. A run that did not succeed is an error.
func invokeTest(ctx context.Context, c *client, name string, req *http.Request, hasBody bool, body []byte, stdout, stderr io.Writer) error {
	in := picloud.InvokeRequest{Method: req.Method, Path: req.URL.Path, Query: map[string]string{}, Headers: map[string]string{}}
	for k, vs := range req.URL.Query() {
		in.Query[k] = strings.Join(vs, ",")
	}
	for k, vs := range req.Header {
		in.Headers[strings.ToLower(k)] = strings.Join(vs, ", ")
	}
	if hasBody {
		in.Body = ptr(string(body))
	}
	sc, err := c.mustLookup(ctx, name)
	if err != nil {
		return err
	}
	var raw json.RawMessage
	if err := c.do(ctx, "POST", "/api/scripts/"+sc.ID+"/invoke", in, &raw); err != nil {
		return err
	}
	var res picloud.InvokeResponse
	if err := json.Unmarshal(raw, &res); err != nil {
		return err
	}
	if c.json {
		if _, err := stdout.Write(raw); err != nil {
			return err
		}
	} else {
		if r := res.Response; r != nil {
			out := []byte(r.Body)
			if r.BodyEncoding == "base64" {
				if out, err = base64.StdEncoding.DecodeString(r.Body); err != nil {
					return err
				}
			}
			stdout.Write(out)
			if len(out) > 0 && out[len(out)-1] != '\n' {
				fmt.Fprintln(stdout)
			}
		}
		status := ""
		if r := res.Response; r != nil {
			status = fmt.Sprintf(" -> %d", r.Status)
		}
		fmt.Fprintf(stderr, "test run %s: %s in %.2fms, %d ops%s\n", res.ExecutionID, res.Status, res.DurationMS, res.Operations, status)
		for _, g := range res.Logs {
			msg := "    [" + g.Level + "] " + g.Message
			if len(g.Data) > 0 && string(g.Data) != "null" {
				msg += " " + string(g.Data)
			}
			fmt.Fprintln(stderr, msg)
		}
	}
	if res.Status != picloud.StatusSuccess {
		if res.Error != nil {
			return fmt.Errorf("%s: %s", res.Status, execErrorText(res.Error))
		}
		return fmt.Errorf("%s", res.Status)
	}
	return nil
}

// asyncOutput is what invoke --async --json prints: the 202's body and its
// Location (absolute).
type asyncOutput struct {
	picloud.JobAccepted
	Location string `json:"location"`
}

// printAccepted prints the answer to an asynchronous invocation: the job's
// id and where to follow it. Anything but 202 is an error: a 2xx means the
// server ran the request at once instead of queuing it.
func printAccepted(c *client, resp *http.Response, body []byte, stdout io.Writer) error {
	if resp.StatusCode >= 400 {
		err := responseError(resp.StatusCode, body)
		if ae, ok := err.(*apiError); ok && ae.RetryAfter == 0 {
			fmt.Sscan(resp.Header.Get("Retry-After"), &ae.RetryAfter)
		}
		return err
	}
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("HTTP %d instead of 202: the server ran the request instead of queuing it (does it support Prefer: respond-async?)", resp.StatusCode)
	}
	var out asyncOutput
	if err := json.Unmarshal(body, &out.JobAccepted); err != nil || out.JobID == "" {
		return fmt.Errorf("202 without a job id: %s", strings.TrimSpace(string(body)))
	}
	if loc := resp.Header.Get("Location"); loc != "" {
		if u, err := resp.Request.URL.Parse(loc); err == nil {
			out.Location = u.String()
		}
	}
	if c.json {
		return c.printJSON(stdout, out)
	}
	if out.Existing {
		fmt.Fprintf(stdout, "job %s (accepted before with this idempotency key)\n", out.JobID)
	} else {
		fmt.Fprintf(stdout, "queued job %s\n", out.JobID)
	}
	if out.Location != "" {
		fmt.Fprintf(stdout, "  %s\n", out.Location)
	}
	fmt.Fprintf(stdout, "  picloud jobs show %s\n", out.JobID)
	return nil
}

// invokeOutput is what invoke --json prints: the response as the caller
// got it; Body is the JSON value when the response is JSON, else the text.
type invokeOutput struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    any               `json:"body"`
}
