package cluster

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/httpapi"
)

// PathAuthorize is the manager's route a node asks whether an invocation's
// credential may invoke a script whose access is key or token: POST
// AuthorizeRequest, answer AuthorizeResponse. The node sends the
// credential's hash (as the store keeps it), never the credential.
const PathAuthorize = "/cluster/v1/authorize"

// maxAuthorizeBodyBytes bounds an AuthorizeRequest.
const maxAuthorizeBodyBytes = 4 << 10

// AuthorizeRequest is the body of POST PathAuthorize.
type AuthorizeRequest struct {
	ScriptID string `json:"script_id"`
	Kind     string `json:"kind"` // "key" or "token"
	Hash     string `json:"hash"`
}

// AuthorizeResponse is its answer: allowed (with the key's id for a key),
// or refused with the error the caller gets (unauthorized or forbidden).
// A refusal is a 200 answer, not an error status: a 401 between node and
// manager means the cluster token, and the caller's credential is not the
// node's.
type AuthorizeResponse struct {
	Allowed bool   `json:"allowed"`
	KeyID   string `json:"key_id,omitempty"`
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
	Reason  string `json:"reason,omitempty"` // the unauthorized kind: "unknown" or "expired"
}

// handleAuthorize answers a node's AuthorizeRequest through
// ServerConfig.Authorize, for the script as the manager's store has it.
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	var q AuthorizeRequest
	if err := decode(w, r, maxAuthorizeBodyBytes, &q); err != nil {
		s.fail(w, r, err)
		return
	}
	if q.ScriptID == "" || q.Kind == "" || q.Hash == "" {
		s.fail(w, r, picloud.Errorf(picloud.EInvalidRequest, "an authorize request needs script_id, kind and hash"))
		return
	}
	if s.cfg.Authorize == nil {
		s.fail(w, r, picloud.Errorf(picloud.EUnavailable, "this manager cannot check invoke credentials"))
		return
	}
	sc, err := s.cfg.Store.Script(r.Context(), q.ScriptID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	keyID, err := s.cfg.Authorize(r.Context(), sc, q.Kind, q.Hash)
	var pe *picloud.Error
	switch {
	case err == nil:
		httpapi.WriteJSON(w, http.StatusOK, AuthorizeResponse{Allowed: true, KeyID: keyID})
	case errors.As(err, &pe) && (pe.Code == picloud.EUnauthorized || pe.Code == picloud.EForbidden):
		reason, _ := pe.Details["reason"].(string)
		httpapi.WriteJSON(w, http.StatusOK, AuthorizeResponse{Code: pe.Code, Message: pe.Message, Reason: reason})
	default:
		s.fail(w, r, err)
	}
}

// Authorize asks the manager whether the credential of kind whose hash is
// hash may invoke script scriptID: nil (and the key's id for a key), the
// refusal as an unauthorized (Details["reason"]) or forbidden
// *picloud.Error, or the error of a manager that did not answer.
func (c *Client) Authorize(ctx context.Context, scriptID, kind, hash string) (keyID string, err error) {
	var a AuthorizeResponse
	if err := c.call(ctx, http.MethodPost, PathAuthorize, replay, AuthorizeRequest{ScriptID: scriptID, Kind: kind, Hash: hash}, &a); err != nil {
		return "", err
	}
	return a.KeyID, a.refusal()
}

// refusal is a's refusal as an error, nil when allowed.
func (a AuthorizeResponse) refusal() error {
	if a.Allowed {
		return nil
	}
	e := &picloud.Error{Code: a.Code, Message: a.Message}
	if e.Code != picloud.EForbidden {
		e.Code = picloud.EUnauthorized // a refusal is never anything else
	}
	if a.Reason != "" {
		e.Details = map[string]any{"reason": a.Reason}
	}
	return e
}

// The node's memory of the manager's answers.
const (
	// DefaultAuthorizeTTL is how long a node believes an answer: a key or
	// token revoked on the manager stops working on every node within it.
	DefaultAuthorizeTTL = 5 * time.Second
	// AuthorizeStaleFor is how long past its TTL an answer that allowed a
	// call is still used while the manager cannot be reached, so that
	// protected scripts keep serving their callers through a short manager
	// outage as scripts are served from the cache (a revocation made
	// meanwhile takes effect once the manager answers).
	AuthorizeStaleFor = 5 * time.Minute
	// maxAuthorizeEntries bounds the answers a node remembers.
	maxAuthorizeEntries = 10_000
)

// NodeAuthorizer is a node's invocation credential check: the manager's
// answers (Client.Authorize), remembered for a TTL per script and
// credential. Its Authorize is an orchestrator.HashAuthorizer.
type NodeAuthorizer struct {
	client *Client
	ttl    time.Duration

	mu      sync.Mutex
	answers map[authorizeKey]authorizeAnswer
}

type authorizeKey struct{ scriptID, kind, hash string }

type authorizeAnswer struct {
	keyID string
	err   error // the refusal; nil: allowed
	at    time.Time
}

// NewNodeAuthorizer makes a NodeAuthorizer asking c, believing answers for
// ttl (0: DefaultAuthorizeTTL).
func NewNodeAuthorizer(c *Client, ttl time.Duration) *NodeAuthorizer {
	if ttl <= 0 {
		ttl = DefaultAuthorizeTTL
	}
	return &NodeAuthorizer{client: c, ttl: ttl, answers: map[authorizeKey]authorizeAnswer{}}
}

// Authorize answers from memory while the answer is fresh, else asks the
// manager. Errors other than a refusal are not remembered; while the
// manager is unreachable, an answer that allowed the call is used for
// AuthorizeStaleFor past its TTL.
func (a *NodeAuthorizer) Authorize(ctx context.Context, sc *picloud.Script, kind, hash string) (string, error) {
	k := authorizeKey{sc.ID, kind, hash}
	now := time.Now()
	a.mu.Lock()
	old, ok := a.answers[k]
	a.mu.Unlock()
	if ok && now.Sub(old.at) < a.ttl {
		return old.keyID, old.err
	}
	keyID, err := a.client.Authorize(ctx, sc.ID, kind, hash)
	var pe *picloud.Error
	if err != nil && (!errors.As(err, &pe) || (pe.Code != picloud.EUnauthorized && pe.Code != picloud.EForbidden)) {
		if ok && old.err == nil && picloud.ErrorCode(err) == picloud.EUnavailable && now.Sub(old.at) < a.ttl+AuthorizeStaleFor {
			return old.keyID, nil
		}
		return "", err
	}
	a.mu.Lock()
	if len(a.answers) >= maxAuthorizeEntries {
		for k, v := range a.answers {
			if now.Sub(v.at) >= a.ttl+AuthorizeStaleFor {
				delete(a.answers, k)
			}
		}
		if len(a.answers) >= maxAuthorizeEntries {
			clear(a.answers)
		}
	}
	a.answers[k] = authorizeAnswer{keyID: keyID, err: err, at: now}
	a.mu.Unlock()
	return keyID, err
}
