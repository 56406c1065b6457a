package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/manager"
)

const tokenUsage = `usage:
  picloud token create NAME --scope S [--scope S ...] [--scripts PATTERN] [--expires 720h]
                               create a named API token and print it (shown once); scopes:
                               admin, deploy, read, invoke:SCRIPT (invoke:* any script)
  picloud token ls             list the tokens: name, prefix, scopes, scripts, created, last used, expiry
  picloud token revoke NAME|ID [--yes]
                               delete a token: it stops working and its dashboard sessions end
  picloud token rotate [NAME]  replace a token's secret on the server and print the new one
                               (NAME omitted or "admin": the admin token); its sessions end
  picloud token rotate --offline [--data-dir DIR | --database-url URL]
                               replace the admin token in the database directly, without a
                               server (the database is found as serve finds it)`

// storedToken is a token as the API lists it; a create or rotate answer
// adds the secret, shown once.
type storedToken struct {
	picloud.APIToken
	Token string `json:"token,omitempty"`
}

// tokenPage is GET /api/tokens' answer.
type tokenPage struct {
	Items []storedToken `json:"items"`
}

// scopeFlags collects repeated --scope (a comma list is split too).
type scopeFlags []string

func (s *scopeFlags) String() string { return strings.Join(*s, ",") }
func (s *scopeFlags) Set(v string) error {
	for _, one := range strings.Split(v, ",") {
		if one = strings.TrimSpace(one); one != "" {
			*s = append(*s, one)
		}
	}
	return nil
}
func (*scopeFlags) noEnv() {}

// runToken is `picloud token create|ls|revoke|rotate`.
func runToken(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, tokenUsage)
		return errors.New("no token command given")
	}
	sub, rest := args[0], args[1:]
	var c client
	fs := c.flagSet("token "+sub, stderr)
	switch sub {
	case "create":
		return tokenCreate(ctx, &c, fs, rest, stdout, stderr)
	case "ls", "list":
		return tokenLs(ctx, &c, fs, rest, stdout)
	case "revoke", "rm":
		return tokenRevoke(ctx, &c, fs, rest, stdin, stdout, stderr)
	case "rotate":
		return tokenRotate(ctx, &c, fs, rest, stdout, stderr)
	}
	fmt.Fprintln(stderr, tokenUsage)
	return fmt.Errorf("unknown token command %q", sub)
}

func tokenCreate(ctx context.Context, c *client, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	var scopes scopeFlags
	fs.Var(&scopes, "scope", "a scope the token holds: admin, deploy, read or invoke:SCRIPT (repeatable, or comma-separated)")
	scripts := fs.String("scripts", "", "restrict the token to the scripts whose names match this `PATTERN` (orders-*)")
	expires := fs.String("expires", "", "the token expires after this `DURATION` (720h, 30d); default: never")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("usage: picloud token create NAME --scope S [--scope S ...] [--scripts PATTERN] [--expires 720h]")
	}
	if err := picloud.ValidateScopes(scopes); err != nil {
		return fmt.Errorf("--scope: %s", picloud.ErrorMessage(err))
	}
	if err := picloud.ValidateScriptPattern(*scripts); err != nil {
		return fmt.Errorf("--scripts: %s", picloud.ErrorMessage(err))
	}
	in := map[string]any{"name": pos[0], "scopes": []string(scopes)}
	if *scripts != "" {
		in["scripts"] = *scripts
	}
	if *expires != "" {
		d, err := parseDays(*expires)
		if err != nil || d <= 0 {
			return fmt.Errorf("--expires %q: want a positive duration such as 720h or 30d", *expires)
		}
		in["expires_at"] = picloud.Time{Time: time.Now().Add(d).UTC()}
	}
	var t storedToken
	if printed, err := c.call(ctx, "POST", "/api/tokens", in, &t, stdout); printed || err != nil {
		return err
	}
	fmt.Fprintln(stdout, t.Token)
	fmt.Fprintf(stderr, "Created the token %s (%s%s, %s). It is shown only now: store it (PICLOUD_TOKEN).\n",
		t.Name, strings.Join(t.Scopes, ", "), scriptsNote(t.Scripts), expiryNote(t.ExpiresAt))
	return nil
}

// parseDays is time.ParseDuration that also reads whole days ("30d").
func parseDays(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		var days int
		if _, err := fmt.Sscanf(n, "%d", &days); err != nil || fmt.Sprint(days) != n {
			return 0, fmt.Errorf("bad duration %q", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

func scriptsNote(pattern string) string {
	if pattern == "" {
		return ""
	}
	return "; scripts " + pattern
}

func expiryNote(at *picloud.Time) string {
	if at == nil || at.IsZero() {
		return "never expires"
	}
	return "expires " + formatTime(*at)
}

func tokenLs(ctx context.Context, c *client, fs *flag.FlagSet, args []string, stdout io.Writer) error {
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return errors.New("usage: picloud token ls")
	}
	var list tokenPage
	if printed, err := c.call(ctx, "GET", "/api/tokens", nil, &list, stdout); printed || err != nil {
		return err
	}
	now := time.Now()
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPREFIX\tSCOPES\tSCRIPTS\tCREATED\tLAST USED\tEXPIRES")
	for _, t := range list.Items {
		scripts, prefix, exp := t.Scripts, t.Prefix, "never"
		if scripts == "" {
			scripts = "*"
		}
		if prefix == "" {
			prefix = "-"
		}
		if t.ExpiresAt != nil && !t.ExpiresAt.IsZero() {
			exp = formatTime(*t.ExpiresAt)
			if t.Expired(now) {
				exp += " (expired)"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Name, prefix, strings.Join(t.Scopes, ","), scripts, formatTime(t.CreatedAt), formatOptTime(t.LastUsedAt), exp)
	}
	return tw.Flush()
}

// findToken finds a token by its name or id in the server's list.
func findToken(ctx context.Context, c *client, nameOrID string) (*storedToken, error) {
	var list tokenPage
	if err := c.do(ctx, "GET", "/api/tokens", nil, &list); err != nil {
		return nil, err
	}
	for i, t := range list.Items {
		if t.ID == nameOrID || t.Name == nameOrID {
			return &list.Items[i], nil
		}
	}
	return nil, fmt.Errorf("no token named %q (picloud token ls lists them)", nameOrID)
}

func tokenRevoke(ctx context.Context, c *client, fs *flag.FlagSet, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	yes := fs.Bool("yes", false, "revoke without asking (required when standard input is not a terminal)")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("usage: picloud token revoke NAME|ID [--yes]")
	}
	t, err := findToken(ctx, c, pos[0])
	if err != nil {
		return err
	}
	if t.ID == picloud.AdminTokenID {
		return errors.New("the admin token cannot be revoked: rotate it (picloud token rotate)")
	}
	if !*yes {
		if !isTerminal(stdin) {
			return fmt.Errorf("token revoke: not revoking %s without confirmation: standard input is not a terminal (pass --yes)", t.Name)
		}
		if !confirmed(stdin, stderr, fmt.Sprintf("Revoke the token %s (%s)? It stops working and its dashboard sessions end. [y/N] ", t.Name, strings.Join(t.Scopes, ", "))) {
			return fmt.Errorf("token revoke: %s not revoked", t.Name)
		}
	}
	if err := c.do(ctx, "DELETE", "/api/tokens/"+url.PathEscape(t.ID), nil, nil); err != nil {
		return err
	}
	if c.json {
		return c.printJSON(stdout, removed{Deleted: t.Name, ID: t.ID})
	}
	fmt.Fprintf(stdout, "revoked %s\n", t.Name)
	return nil
}

// tokenRotate replaces a token's secret: online through the server (the
// admin token, or a named one), or, with --offline, --data-dir or
// --database-url (flag or environment), the admin token in the database
// itself, as before the server could.
func tokenRotate(ctx context.Context, c *client, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	var sf storeFlags
	sf.register(fs)
	offline := fs.Bool("offline", false, "rotate the admin token in the database itself, without a server (--data-dir or --database-url name it)")
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	named := false
	fs.Visit(func(f *flag.Flag) { named = named || f.Name == "data-dir" || f.Name == "database-url" })
	if !named && !*offline {
		for _, env := range []string{"PICLOUD_DATA_DIR", "PICLOUD_DATABASE_URL"} {
			if os.Getenv(env) != "" {
				fmt.Fprintf(stderr, "picloud: %s is set: rotating the admin token in that database, not through a server\n", env)
				named = true
				break
			}
		}
	}
	if *offline || named {
		return tokenRotateOffline(ctx, fs, &sf, args, stdout, stderr)
	}
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return errors.New("usage: picloud token rotate [NAME] (the admin token without NAME), or picloud token rotate --offline [--data-dir DIR | --database-url URL]")
	}
	id, name := picloud.AdminTokenID, picloud.AdminTokenID
	if len(pos) == 1 && pos[0] != picloud.AdminTokenID {
		t, err := findToken(ctx, c, pos[0])
		if err != nil {
			return err
		}
		id, name = t.ID, t.Name
	}
	var t storedToken
	if printed, err := c.call(ctx, "POST", "/api/tokens/"+url.PathEscape(id)+"/rotate", nil, &t, stdout); printed || err != nil {
		return rotateError(err)
	}
	fmt.Fprintln(stdout, t.Token)
	if id == picloud.AdminTokenID {
		fmt.Fprintf(stderr, "The admin token of %s was replaced; the old one stops working and every dashboard session (whatever signed it in) is signed out. Update PICLOUD_TOKEN.\n", c.server)
	} else {
		fmt.Fprintf(stderr, "The token %s was replaced; the old secret and its dashboard sessions stop working.\n", name)
	}
	return nil
}

// rotateError adds, to an online rotation that could not reach the server,
// how to rotate without one.
func rotateError(err error) error {
	if err == nil {
		return nil
	}
	var ae *apiError
	var he *httpError
	if errors.As(err, &ae) || errors.As(err, &he) {
		return err
	}
	return fmt.Errorf("%w (to replace the admin token without a server: picloud token rotate --offline --data-dir DIR or --database-url URL)", err)
}

func tokenRotateOffline(ctx context.Context, fs *flag.FlagSet, sf *storeFlags, args []string, stdout, stderr io.Writer) error {
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 || len(pos) == 1 && pos[0] != picloud.AdminTokenID {
		return errors.New("token rotate --offline replaces the admin token only: rotate named tokens through the server (picloud token rotate NAME)")
	}
	// Which database: the one named, else serve's default, said out loud
	// (rotating the token of a database no server uses locks nobody out
	// and helps nobody).
	named := false
	fs.Visit(func(f *flag.Flag) { named = named || f.Name == "data-dir" || f.Name == "database-url" })
	if !named {
		fmt.Fprintf(stderr, "picloud: no --data-dir or --database-url: using serve's default data directory %s\n", sf.dataDir)
	}
	if err := sf.mustExist(ctx); err != nil {
		return fmt.Errorf("token rotate: %w; nothing was created", err)
	}
	store, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	token, err := manager.RotateToken(ctx, store)
	if err != nil {
		return err
	}
	// The audit trail: no token acted and no address sent a request.
	if err := store.RecordAudit(ctx, &picloud.AuditEvent{Via: "offline", Action: "token.rotate",
		Target: picloud.AdminTokenID, TargetID: picloud.AdminTokenID}); err != nil {
		fmt.Fprintf(stderr, "picloud: the audit trail could not record the rotation: %v\n", err)
	}
	fmt.Fprintf(stdout, "%s\n", token)
	fmt.Fprintf(stderr, "The admin token of %s was replaced; the old one and every dashboard session stop working (a running server notices within seconds).\n", sf.describe())
	return nil
}
