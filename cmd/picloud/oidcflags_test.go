package main

import (
	"flag"
	"io"
	"strings"
	"testing"
)

// TestOIDCFlags: --oidc-grant repeats, PICLOUD_OIDC_GRANT holds several
// grants separated by commas, a malformed grant is refused naming it, and
// the client secret comes from PICLOUD_OIDC_CLIENT_SECRET.
func TestOIDCFlags(t *testing.T) {
	parseWith := func(args []string, env map[string]string) (*serveOptions, error) {
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		var o serveOptions
		o.register(fs)
		if _, err := parseArgs(fs, args); err != nil {
			return nil, err
		}
		return &o, envDefaults(fs, func(k string) string { return env[k] })
	}
	o, err := parseWith([]string{"--oidc-issuer", "https://idp.example.com", "--oidc-grant", "group:ops=admin",
		"--oidc-grant", "email:*@Example.com=read"}, map[string]string{"PICLOUD_OIDC_CLIENT_SECRET": "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	c := o.appConfig().OIDC
	if c.Issuer != "https://idp.example.com" || c.ClientSecret != "s3cret" || c.GroupsClaim != "groups" || len(c.Grants) != 2 ||
		c.Grants[0].String() != "group:ops=admin" || c.Grants[1].String() != "email:*@example.com=read" {
		t.Fatalf("oidc config = %+v", c)
	}

	o, err = parseWith(nil, map[string]string{"PICLOUD_OIDC_GRANT": "group:ops=admin+deploy, email:a@b.c=read"})
	if err != nil {
		t.Fatal(err)
	}
	if g := o.appConfig().OIDC.Grants; len(g) != 2 || g[0].String() != "group:ops=admin+deploy" || g[1].String() != "email:a@b.c=read" {
		t.Fatalf("grants from the environment = %+v", g)
	}

	if _, err := parseWith([]string{"--oidc-grant", "team:ops=admin"}, nil); err == nil || !strings.Contains(err.Error(), `"team:ops=admin"`) {
		t.Fatalf("a malformed grant: %v", err)
	}
}
