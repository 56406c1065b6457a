package cluster

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/httpapi"
)

// MinTokenBytes is the shortest cluster token accepted: the token is the
// only thing between the network and every script's secrets and state.
const MinTokenBytes = 16

// CheckToken reports whether token can be the cluster token: at least
// MinTokenBytes bytes of printable ASCII without spaces (it travels in an
// HTTP header). The manager and the node both check it at start, so that a
// misconfigured process refuses to start rather than answering 401 forever.
func CheckToken(token string) error {
	const how = "set --cluster-token or PICLOUD_CLUSTER_TOKEN to the same secret on the manager and every node (e.g. openssl rand -hex 32)"
	if token == "" {
		return fmt.Errorf("cluster: a cluster token is required: %s", how)
	}
	if len(token) < MinTokenBytes {
		return fmt.Errorf("cluster: the cluster token (--cluster-token / PICLOUD_CLUSTER_TOKEN) is %d bytes, at least %d are required: %s",
			len(token), MinTokenBytes, how)
	}
	for i := 0; i < len(token); i++ {
		if c := token[i]; c <= ' ' || c > '~' {
			return fmt.Errorf("cluster: the cluster token (--cluster-token / PICLOUD_CLUSTER_TOKEN) must be printable ASCII without spaces (byte %d is not)", i)
		}
	}
	return nil
}

// RequireToken serves next only for requests that carry token as
// "Authorization: Bearer <token>"; any other request gets 401 unauthorized
// with the standard error body, and onFailure (when not nil) is called, for
// a metric or a log line. The comparison takes the same time whatever the
// presented token is: both sides are hashed first, so that not even the
// token's length leaks.
func RequireToken(token string, next http.Handler, onFailure func()) http.Handler {
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		presented, ok := bearer(r)
		if ok {
			got := sha256.Sum256([]byte(presented))
			if subtle.ConstantTimeCompare(got[:], want[:]) == 1 {
				next.ServeHTTP(w, r)
				return
			}
		}
		if onFailure != nil {
			onFailure()
		}
		msg := "the cluster API needs the cluster token (Authorization: Bearer <--cluster-token>)"
		if ok {
			msg = "wrong cluster token: the manager and the nodes must share one --cluster-token"
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="picloud-cluster"`)
		httpapi.WriteError(w, r, nil, picloud.Errorf(picloud.EUnauthorized, "%s", msg))
	})
}

// bearer returns the token of r's "Authorization: Bearer" header (the
// scheme is case-insensitive, RFC 9110).
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}
