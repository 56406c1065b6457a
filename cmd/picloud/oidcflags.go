package main

import (
	"flag"
	"strings"

	"github.com/picloud/picloud/internal/manager"
)

// registerOIDC registers the single sign-on flags (serve and manager).
func registerOIDC(fs *flag.FlagSet, c *manager.OIDCConfig) {
	fs.StringVar(&c.Issuer, "oidc-issuer", "", "single sign-on for the dashboard: the OpenID Connect provider's issuer URL (https://accounts.example.com); unset: none (PICLOUD_OIDC_ISSUER)")
	fs.StringVar(&c.ClientID, "oidc-client-id", "", "the client id PiCloud is registered with at the provider (PICLOUD_OIDC_CLIENT_ID)")
	fs.StringVar(&c.ClientSecret, "oidc-client-secret", "", "the client's secret; prefer the environment, a flag shows in ps; unset for a public client (PKCE alone) (PICLOUD_OIDC_CLIENT_SECRET)")
	fs.StringVar(&c.RedirectURL, "oidc-redirect-url", "", "the callback registered at the provider: PiCloud's own address + "+manager.OIDCCallbackPath+" (PICLOUD_OIDC_REDIRECT_URL)")
	fs.Var((*oidcGrants)(&c.Grants), "oidc-grant", "repeatable: who may sign in, with which scopes: group:NAME=SCOPE or email:PATTERN=SCOPE ('group:ops=admin', 'email:*@example.com=read'; several scopes joined by +); a user no grant matches is refused (PICLOUD_OIDC_GRANT: comma-separated)")
	fs.StringVar(&c.GroupsClaim, "oidc-groups-claim", "groups", "the ID token's (or userinfo's) claim listing the user's groups (PICLOUD_OIDC_GROUPS_CLAIM)")
}

// oidcGrants is the repeatable --oidc-grant; one value may hold several
// grants separated by commas (as PICLOUD_OIDC_GRANT does).
type oidcGrants []manager.OIDCGrant

func (g *oidcGrants) String() string {
	if g == nil {
		return ""
	}
	s := make([]string, len(*g))
	for i, x := range *g {
		s[i] = x.String()
	}
	return strings.Join(s, ",")
}

func (g *oidcGrants) Set(v string) error {
	for _, part := range strings.Split(v, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		x, err := manager.ParseOIDCGrant(part)
		if err != nil {
			return err
		}
		*g = append(*g, x)
	}
	return nil
}
