package executor

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/rhai"
)

// MinRedactBytes is the shortest secret value redaction replaces. Shorter
// values ("1", "yes", "dev") occur by chance in ordinary text, numbers and
// JSON: replacing every occurrence would garble logs while protecting almost
// nothing, as such a value can be guessed anyway.
const MinRedactBytes = 4

// secretsRead holds the secrets one execution read (name → value): the
// values redaction replaces, and a cache so a second read costs no query.
type secretsRead struct {
	scriptID string
	// confinedTo is the script's confinement (picloud.Script.ConfinedTo):
	// when set, only the script's own secrets are read.
	confinedTo string
	mu         sync.Mutex
	values     map[string]string
}

func (s *secretsRead) get(ctx context.Context, reader picloud.SecretReader, name string) (string, error) {
	s.mu.Lock()
	v, ok := s.values[name]
	s.mu.Unlock()
	if ok {
		return v, nil
	}
	var err error
	switch own, ok := reader.(picloud.OwnSecretReader); {
	case s.confinedTo == "":
		v, err = reader.Secret(ctx, s.scriptID, name)
	case ok:
		v, err = own.OwnSecret(ctx, s.scriptID, name)
	default:
		err = picloud.Errorf(picloud.ENotFound, "no secret named %s", name)
	}
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	if s.values == nil {
		s.values = map[string]string{}
	}
	s.values[name] = v
	s.mu.Unlock()
	return v, nil
}

// redactor builds the execution's Redactor (nil when no secret long enough
// was read).
func (s *secretsRead) redactor() *Redactor {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return NewRedactor(s.values)
}

// Results of secret() calls, as SecretReadResults names them for metrics.
const (
	SecretFound   = "found"
	SecretMissing = "missing"
	SecretFailed  = "error"
)

// SecretReadResults are the results Config.OnSecretRead is called with.
var SecretReadResults = []string{SecretFound, SecretMissing, SecretFailed}

// registerSecret adds secret(name) to the engine's global namespace, reading
// through reader and telling onRead (when set) how each read went.
func registerSecret(eng *rhai.Engine, reader picloud.SecretReader, onRead func(result string), logger *slog.Logger) {
	count := func(result string) {
		if onRead != nil {
			onRead(result)
		}
	}
	eng.RegisterFn("secret", []rhai.Type{rhai.TypeString}, func(c *rhai.Context, args []rhai.Value) (rhai.Value, error) {
		name := args[0].AsString()
		if err := c.Tick(1); err != nil {
			return rhai.Unit, err
		}
		var sr *secretsRead
		if st := state(c); st != nil {
			sr = &st.secrets
		}
		if sr == nil || reader == nil {
			return rhai.Unit, secretError("secret(%q): secrets are not available here", name)
		}
		if !picloud.ValidSecretName(name) {
			return rhai.Unit, secretError("secret(%q): not a secret name ([A-Z_][A-Z0-9_]{0,63})", name)
		}
		v, err := sr.get(c.Context(), reader, name)
		switch {
		case picloud.ErrorCode(err) == picloud.ENotFound && sr.confinedTo != "":
			count(SecretMissing)
			return rhai.Unit, secretError("secret %s is not set for this script (a script confined to %q reads no global secrets)", name, sr.confinedTo)
		case picloud.ErrorCode(err) == picloud.ENotFound:
			count(SecretMissing)
			return rhai.Unit, secretError("secret %s is not set (for this script or globally)", name)
		case err != nil:
			count(SecretFailed)
			if ctxErr := c.Context().Err(); ctxErr != nil {
				return rhai.Unit, c.Tick(0) // the execution is ending: let the engine say why
			}
			logger.Error("executor: reading a secret", "name", name, "err", err)
			return rhai.Unit, secretError("secret %s could not be read", name)
		}
		count(SecretFound)
		if err := c.Tick(len(v) / bytesPerOp); err != nil {
			return rhai.Unit, err
		}
		if err := c.CheckStringSize(len(v)); err != nil {
			return rhai.Unit, err
		}
		return rhai.String(v), nil
	})
}

// secretError is a runtime error whose caught value (`catch (e)`) is its
// message, as for a thrown string.
func secretError(format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	return &rhai.Error{Kind: rhai.ErrRuntime, Message: msg, Value: rhai.String(msg)}
}

// Redactor replaces the values of the secrets an execution read with
// [redacted:NAME] in what the execution log keeps. A nil *Redactor replaces
// nothing.
type Redactor struct {
	r *strings.Replacer
}

// NewRedactor makes a Redactor for the secrets (name → value); values
// shorter than MinRedactBytes are left alone. Each value is also replaced in
// its JSON-escaped form, as it appears inside encoded log data and bodies.
// It returns nil when there is nothing to replace.
func NewRedactor(secrets map[string]string) *Redactor {
	type pair struct{ old, new string }
	var pairs []pair
	for name, v := range secrets {
		if len(v) < MinRedactBytes {
			continue
		}
		repl := "[redacted:" + name + "]"
		pairs = append(pairs, pair{v, repl})
		if esc := jsonEscaped(v); esc != v {
			pairs = append(pairs, pair{esc, repl})
		}
	}
	if len(pairs) == 0 {
		return nil
	}
	// Longest first: where one value contains another, the longer one wins.
	slices.SortFunc(pairs, func(a, b pair) int { return cmp.Or(len(b.old)-len(a.old), strings.Compare(a.old, b.old)) })
	args := make([]string, 0, 2*len(pairs))
	for _, p := range pairs {
		args = append(args, p.old, p.new)
	}
	return &Redactor{r: strings.NewReplacer(args...)}
}

func jsonEscaped(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

// String redacts s.
func (r *Redactor) String(s string) string {
	if r == nil {
		return s
	}
	return r.r.Replace(s)
}

// Bytes redacts b (b itself when r is nil).
func (r *Redactor) Bytes(b []byte) []byte {
	if r == nil {
		return b
	}
	return []byte(r.r.Replace(string(b)))
}

// Header returns h with its values redacted (h itself when r is nil).
func (r *Redactor) Header(h http.Header) http.Header {
	if r == nil {
		return h
	}
	out := make(http.Header, len(h))
	for k, vs := range h {
		out[k] = r.all(vs)
	}
	return out
}

// Values returns q with its values redacted (q itself when r is nil).
func (r *Redactor) Values(q url.Values) url.Values {
	if r == nil {
		return q
	}
	out := make(url.Values, len(q))
	for k, vs := range q {
		out[r.String(k)] = r.all(vs)
	}
	return out
}

func (r *Redactor) all(vs []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = r.String(v)
	}
	return out
}

// JSON redacts encoded JSON, keeping it valid: should a replacement break it
// (a value that is also a number's digits), the whole datum reads
// "[redacted]".
func (r *Redactor) JSON(raw json.RawMessage) json.RawMessage {
	if r == nil || raw == nil {
		return raw
	}
	out := r.r.Replace(string(raw))
	if out == string(raw) {
		return raw
	}
	if !json.Valid([]byte(out)) {
		return json.RawMessage(`"[redacted]"`)
	}
	return json.RawMessage(out)
}

// redact applies r to what the executor's Result keeps of the execution:
// log lines and their data, and the error's message.
func (r *Redactor) redact(res *Result) {
	if r == nil {
		return
	}
	for i := range res.Logs {
		res.Logs[i].Message = r.String(res.Logs[i].Message)
		res.Logs[i].Data = r.JSON(res.Logs[i].Data)
	}
	if res.Err != nil {
		e := *res.Err
		e.Message = r.String(e.Message)
		res.Err = &e
	}
}
