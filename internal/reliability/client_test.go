package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// client talks to one server.
type client struct {
	base string
	hc   *http.Client
}

// newClient keeps up to conns idle connections, one per load worker, so that
// the load measures the server rather than connection set-up.
func newClient(base string, conns int) *client {
	tr := &http.Transport{
		MaxIdleConns:        conns + 4,
		MaxIdleConnsPerHost: conns + 4,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}
	return &client{base: base, hc: &http.Client{Transport: tr}}
}

// clientFrom is a client whose connections come from the loopback address
// ip (any address in 127.0.0.0/8 reaches a server on 127.0.0.1), so that the
// server sees it as a client of its own.
func clientFrom(base string, ip net.IP) *client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}}
	tr := &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}
	return &client{base: base, hc: &http.Client{Transport: tr}}
}

// response is an answered request. bodyErr is set when the status line and
// headers arrived but reading the body failed (the connection was cut).
type response struct {
	status  int
	header  http.Header
	body    []byte
	bodyErr error
}

// errorBody is PiCloud's error body.
type errorBody struct {
	Error struct {
		Code        string `json:"code"`
		Message     string `json:"message"`
		ExecutionID string `json:"execution_id"`
	} `json:"error"`
}

func (r *response) errorBody() errorBody {
	var e errorBody
	json.Unmarshal(r.body, &e)
	return e
}

// do sends one request. An error means no answer: the status line never came.
func (c *client) do(ctx context.Context, method, path string, hdr http.Header, body []byte) (*response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	r := &response{status: resp.StatusCode, header: resp.Header}
	r.body, r.bodyErr = io.ReadAll(resp.Body)
	return r, nil
}

func (c *client) get(ctx context.Context, path string, hdr http.Header) (*response, error) {
	return c.do(ctx, http.MethodGet, path, hdr, nil)
}

// bearer is the admin token's Authorization header.
func bearer() http.Header { return http.Header{"Authorization": {"Bearer " + adminToken}} }

// admin calls an admin route with the token and decodes a 2xx answer into out.
func (c *client) admin(ctx context.Context, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	r, err := c.do(ctx, method, path, bearer(), body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if r.status < 200 || r.status > 299 {
		return fmt.Errorf("%s %s: %s: %s", method, path, statusText(r.status), r.body)
	}
	if out != nil {
		if err := json.Unmarshal(r.body, out); err != nil {
			return fmt.Errorf("%s %s: %w: %s", method, path, err, r.body)
		}
	}
	return nil
}

// deploy creates a script and returns its id. settings are extra fields of
// the create request (timeout_ms, max_memory_bytes, ...).
func (c *client) deploy(ctx context.Context, name, source string, settings map[string]any) (string, error) {
	in := map[string]any{"name": name, "source": source}
	for k, v := range settings {
		in[k] = v
	}
	var out struct {
		ID string `json:"id"`
	}
	if err := c.admin(ctx, http.MethodPost, "/api/scripts", in, &out); err != nil {
		return "", err
	}
	return out.ID, nil
}

// logRow is the part of an execution log the scenarios read; raw is the
// whole row as the API returned it.
type logRow struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	Request struct {
		Query   map[string]string `json:"query"`
		Headers map[string]string `json:"headers"`
	} `json:"request"`
	raw json.RawMessage
}

// logs reads every execution log of a script through the admin API, paging
// by 200 (the API's most).
func (c *client) logs(ctx context.Context, scriptID string) ([]logRow, error) {
	var rows []logRow
	for offset := 0; ; {
		var page struct {
			Items []json.RawMessage `json:"items"`
		}
		path := "/api/scripts/" + url.PathEscape(scriptID) + "/logs?limit=200&offset=" + strconv.Itoa(offset)
		if err := c.admin(ctx, http.MethodGet, path, nil, &page); err != nil {
			return nil, err
		}
		for _, raw := range page.Items {
			var r logRow
			if err := json.Unmarshal(raw, &r); err != nil {
				return nil, fmt.Errorf("execution log: %w: %s", err, raw)
			}
			r.raw = raw
			rows = append(rows, r)
		}
		if len(page.Items) < 200 {
			return rows, nil
		}
		offset += len(page.Items)
	}
}

// health is the body of /api/health.
type health struct {
	Service    string `json:"service"`
	Status     string `json:"status"`
	Components map[string]struct {
		Status string `json:"status"`
	} `json:"components"`
}

// awaitLogs reads a script's execution logs until there are n (the store is
// fed from the journal in batches, a moment after the answers).
func awaitLogs(ctx context.Context, c *client, scriptID string, n int) ([]logRow, error) {
	for {
		rows, err := c.logs(ctx, scriptID)
		if err != nil {
			return nil, err
		}
		if len(rows) >= n {
			return rows, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("script %s has %d execution logs, want %d: %w", scriptID, len(rows), n, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
