package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/picloud/picloud"
)

// The users of TestDashboardOIDC: mockoidc's default user, whom the grant
// gives read by email, and one no grant matches, queued for the first
// sign-in so that it is refused.
const (
	oidcUser     = "jane.doe@example.com" // mockoidc.DefaultUser(), email verified, groups engineering and design
	oidcOutsider = "outsider@elsewhere.test"
)

// TestDashboardOIDC runs web/e2e/oidc.mjs in headless Chromium against a
// real `picloud serve` configured for single sign-on (--oidc-*) with a real
// OpenID Connect provider on loopback (mockoidc, authorization code with
// PKCE). The grant gives read to *@example.com. The sign-in page offers
// single sign-on beside the token form; the first sign-in is an outsider no
// grant matches, whom the server's own page refuses (403); the second is
// mockoidc's default user, who goes through the provider's redirect, lands
// signed in as jane.doe@example.com with read (the header says single
// sign-on, deploy controls are disabled) and signs out. This test then reads
// the audit trail: the sign-in is session.create via oidc with the user as
// actor, the refusal session.failed naming the outsider. Same environment and
// skips as TestDashboard.
func TestDashboardOIDC(t *testing.T) {
	root, web, chromium, node := e2eTools(t)

	idp, err := mockoidc.Run()
	if err != nil {
		t.Fatalf("e2e: start the OIDC provider: %v", err)
	}
	t.Cleanup(func() { idp.Shutdown() })
	// The first sign-in; every later one is mockoidc's default user.
	idp.QueueUser(&mockoidc.MockUser{Subject: "u-outsider", Email: oidcOutsider, EmailVerified: true, Groups: []string{"staff"}})

	bin := buildPicloud(t, root)
	// PiCloud's address is the redirect URL, so it is chosen first.
	addr := freeAddr(t)
	base, logs := serveWith(t, bin, t.TempDir(), addr, []string{
		"--oidc-issuer", idp.Issuer(),
		"--oidc-client-id", idp.ClientID,
		"--oidc-redirect-url", "http://" + addr + "/api/session/oidc/callback",
		"--oidc-grant", "email:*@example.com=read",
	}, []string{"PICLOUD_OIDC_CLIENT_SECRET=" + idp.ClientSecret})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	scriptID, err := createScript(ctx, base, "e2e-sso-hello", `"hi"`)
	if err != nil {
		t.Fatalf("e2e: %v", err)
	}

	shots := os.Getenv("E2E_SCREENSHOTS")
	if shots == "" {
		shots = filepath.Join(web, "e2e", "screenshots")
	}
	cmd := exec.CommandContext(ctx, node, filepath.Join("e2e", "oidc.mjs"))
	cmd.Dir = web
	cmd.Env = append(os.Environ(),
		"PICLOUD_URL="+base.url,
		"CHROMIUM="+chromium,
		"E2E_SCREENSHOTS="+shots,
		"OIDC_PROVIDER="+idp.Issuer(),
		"OIDC_USER="+oidcUser,
		"OIDC_OUTSIDER="+oidcOutsider,
		"SCRIPT_ID="+scriptID,
	)
	out, err := cmd.CombinedOutput()
	t.Logf("web/e2e/oidc.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("e2e: %v\nserver log:\n%s", err, logs.String())
	}

	// The server recorded both sign-ins as they happened.
	created, err := auditEvents(ctx, base, "session.create")
	if err != nil {
		t.Fatal(err)
	}
	var sso []*picloud.AuditEvent
	for _, ev := range created {
		if ev.Via == "oidc" {
			sso = append(sso, ev)
		}
	}
	if len(sso) != 1 || sso[0].Actor != oidcUser || !strings.Contains(string(sso[0].Detail), `"read"`) {
		t.Errorf("single sign-on session.create events = %s, want one by %s via oidc with the scopes [read]", jsonOf(sso), oidcUser)
	}
	failed, err := auditEvents(ctx, base, "session.failed")
	if err != nil {
		t.Fatal(err)
	}
	if len(failed) != 1 || failed[0].Target != oidcOutsider {
		t.Errorf("session.failed events = %s, want one naming %s", jsonOf(failed), oidcOutsider)
	}
}

// createScript creates a script through the API with the admin token and
// returns its id.
func createScript(ctx context.Context, base server, name, source string) (string, error) {
	body, _ := json.Marshal(map[string]string{"name": name, "source": source})
	req, err := http.NewRequestWithContext(ctx, "POST", base.url+"/api/scripts", strings.NewReader(string(body)))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+base.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("create the script %s: %w", name, err)
	}
	defer res.Body.Close()
	var sc picloud.Script
	if err := json.NewDecoder(res.Body).Decode(&sc); err != nil || res.StatusCode != http.StatusCreated || sc.ID == "" {
		return "", fmt.Errorf("create the script %s: HTTP %d, %v", name, res.StatusCode, err)
	}
	return sc.ID, nil
}

// auditEvents reads GET /api/audit?action=action with the admin token.
func auditEvents(ctx context.Context, base server, action string) ([]*picloud.AuditEvent, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", base.url+"/api/audit?action="+url.QueryEscape(action), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+base.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET /api/audit: %w", err)
	}
	defer res.Body.Close()
	var out struct {
		Items []*picloud.AuditEvent `json:"items"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /api/audit?action=%s: HTTP %d, %v", action, res.StatusCode, err)
	}
	return out.Items, nil
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
