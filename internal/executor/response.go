package executor

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/picloud/picloud/rhai"
)

// hopByHop are the headers a script may not set: they belong to the
// connection, not to the response, and the server computes them.
var hopByHop = map[string]bool{
	"connection": true, "keep-alive": true, "proxy-connection": true, "proxy-authenticate": true,
	"te": true, "trailer": true, "transfer-encoding": true, "upgrade": true, "content-length": true,
}

// toResponse maps the script's value to an HTTP response, its headers and
// body encoded by enc (within the response cap and the operation budget; a
// *limitError when one is crossed).
//
// A map whose keys are only status, headers and body, with an integer status,
// is a full response; its status must be 100 to 599. A map with a status that
// is not an integer (#{status: "ok"}) is plain JSON.
//
// resp is where the response is written (Execute's allocation); it is
// meaningful only when the error is nil.
func toResponse(enc *encoder, v rhai.Value, resp *Response) error {
	if m := v.AsMap(); v.Type() == rhai.TypeMap && isFullResponse(m) {
		return fullResponse(enc, m, resp)
	}
	*resp = Response{Status: http.StatusOK, Header: http.Header{}}
	if v.IsUnit() {
		resp.Status = http.StatusNoContent
		return nil
	}
	return setBody(enc, resp, v)
}

func isFullResponse(m *rhai.Map) bool {
	st, ok := m.M["status"]
	if !ok || st.Type() != rhai.TypeInt {
		return false
	}
	for k := range m.M {
		if k != "status" && k != "headers" && k != "body" {
			return false
		}
	}
	return true
}

func fullResponse(enc *encoder, m *rhai.Map, resp *Response) error {
	status := m.M["status"].AsInt()
	if status < 100 || status > 599 {
		return fmt.Errorf("status %d is not between 100 and 599", status)
	}
	*resp = Response{Status: int(status), Header: http.Header{}}
	if hv, ok := m.M["headers"]; ok && !hv.IsUnit() {
		if hv.Type() != rhai.TypeMap {
			return fmt.Errorf("headers must be a map, not %s", hv.TypeName())
		}
		hm := hv.AsMap()
		for _, name := range hm.SortedKeys() {
			n, err := addHeader(resp.Header, name, hm.M[name])
			if err != nil {
				return err
			}
			// Headers count toward the response cap: a script must not
			// get around it with a huge header instead of a huge body.
			if err := enc.spend(n); err != nil {
				return err
			}
		}
	}
	body, ok := m.M["body"]
	if !ok || body.IsUnit() {
		return nil
	}
	if resp.Header.Get("Content-Type") != "" {
		// The script chose the type: strings and BLOBs go out as they are.
		switch body.Type() {
		case rhai.TypeString:
			if err := enc.spend(len(body.AsString())); err != nil {
				return err
			}
			resp.Body = []byte(body.AsString())
			return nil
		case rhai.TypeBlob:
			if err := enc.spend(len(body.AsBlob().B)); err != nil {
				return err
			}
			resp.Body = body.AsBlob().B
			return nil
		}
		b, err := enc.json(body)
		resp.Body = b
		return err
	}
	return setBody(enc, resp, body)
}

// setBody applies the body rule: a string is text, anything else JSON.
func setBody(enc *encoder, resp *Response, v rhai.Value) error {
	if v.Type() == rhai.TypeString {
		if err := enc.spend(len(v.AsString())); err != nil {
			return err
		}
		resp.Header["Content-Type"] = textPlain
		resp.Body = []byte(v.AsString())
		return nil
	}
	b, err := enc.json(v)
	if err != nil {
		return err
	}
	resp.Header["Content-Type"] = applicationJSON
	resp.Body = b
	return nil
}

// The content types setBody sets, shared by every response: headers are
// only read, and adding a value to one appends to a copy.
var (
	textPlain       = []string{"text/plain; charset=utf-8"}
	applicationJSON = []string{"application/json"}
)

// addHeader adds the script's header name (a value or an array of values)
// to h, and returns the bytes it added.
func addHeader(h http.Header, name string, v rhai.Value) (int, error) {
	if !validHeaderName(name) {
		return 0, fmt.Errorf("invalid header name %q", name)
	}
	if hopByHop[strings.ToLower(name)] {
		return 0, fmt.Errorf("header %q is not allowed in a response", name)
	}
	n := 0
	values := []rhai.Value{v}
	if v.Type() == rhai.TypeArray {
		values = v.AsArray().Items
	}
	for _, e := range values {
		var s string
		switch e.Type() {
		case rhai.TypeString:
			s = e.AsString()
		case rhai.TypeInt, rhai.TypeFloat, rhai.TypeBool, rhai.TypeChar:
			s = e.String()
		default:
			return 0, fmt.Errorf("header %q: a value must be a string or a number, not %s", name, e.TypeName())
		}
		if !validHeaderValue(s) {
			return 0, fmt.Errorf("invalid value for header %q", name)
		}
		h.Add(name, s)
		n += len(name) + len(s) + 4 // ": " and CRLF
	}
	return n, nil
}

// validHeaderName reports whether name is an RFC 9110 token.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// validHeaderValue refuses control characters (CR, LF, NUL, ...) but tabs.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
