package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/secretbox"
	"github.com/picloud/picloud/internal/sqlite"
)

const secretUsage = `usage:
  picloud secret set SCRIPT NAME    set a secret, its value read from stdin (one trailing newline dropped)
  picloud secret ls SCRIPT          list a script's secrets (names and update times; never values)
  picloud secret rm SCRIPT NAME     delete a secret
With --global instead of SCRIPT, the same for the global secrets every script can read.`

// runSecret is `picloud secret set|ls|rm`.
func runSecret(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, secretUsage)
		return errors.New("no secret command given")
	}
	sub, rest := args[0], args[1:]
	var c client
	fs := c.flagSet("secret "+sub, stderr)
	global := fs.Bool("global", false, "the global secrets instead of a script's")
	pos, err := c.parse(fs, rest)
	if err != nil {
		return err
	}
	want := map[string]int{"set": 2, "ls": 1, "rm": 2}[sub]
	if want == 0 {
		fmt.Fprintln(stderr, secretUsage)
		return fmt.Errorf("unknown secret command %q", sub)
	}
	if *global {
		want--
	}
	if len(pos) != want {
		fmt.Fprintln(stderr, secretUsage)
		return fmt.Errorf("secret %s: wrong number of arguments", sub)
	}
	base, what := "/api/secrets", "global"
	if !*global {
		sc, err := c.mustLookup(ctx, pos[0])
		if err != nil {
			return err
		}
		base, what, pos = "/api/scripts/"+sc.ID+"/secrets", sc.Name, pos[1:]
	}
	switch sub {
	case "set":
		if err := picloud.ValidateSecretName(pos[0]); err != nil {
			return errors.New(picloud.ErrorMessage(err))
		}
		if f, ok := stdin.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				fmt.Fprintf(stderr, "reading the value of %s from stdin (end with Ctrl-D)\n", pos[0])
			}
		}
		b, err := io.ReadAll(io.LimitReader(stdin, picloud.MaxSecretBytes+3))
		if err != nil {
			return err
		}
		v := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
		if len(v) > picloud.MaxSecretBytes {
			return fmt.Errorf("a secret's value is at most %d bytes", picloud.MaxSecretBytes)
		}
		if err := c.do(ctx, "PUT", base+"/"+pos[0], picloud.SecretValue{Value: &v}, nil); err != nil {
			return err
		}
		if !c.json {
			fmt.Fprintf(stdout, "set %s (%s)\n", pos[0], what)
		}
		return nil
	case "rm":
		if err := c.do(ctx, "DELETE", base+"/"+pos[0], nil, nil); err != nil {
			return err
		}
		if !c.json {
			fmt.Fprintf(stdout, "deleted %s (%s)\n", pos[0], what)
		}
		return nil
	}
	var list picloud.SecretList
	if err := c.do(ctx, "GET", base, nil, &list); err != nil {
		return err
	}
	if c.json {
		return c.printJSON(stdout, list)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tUPDATED")
	for _, s := range list.Items {
		fmt.Fprintf(tw, "%s\t%s\n", s.Name, s.UpdatedAt.Local().Format(time.DateTime))
	}
	return tw.Flush()
}

// loadSecretBox is serve's secret key: PICLOUD_SECRET_KEY when set, else the
// key file in the data directory, created (mode 0600) on first start.
func loadSecretBox(dataDir string, stderr io.Writer) (*secretbox.Box, error) {
	box, ok, err := secretbox.FromEnv()
	if ok || err != nil {
		return box, err
	}
	if was, err := sqlite.EnsureDir(dataDir); err != nil {
		return nil, err
	} else if was != 0 {
		fmt.Fprintf(stderr, "picloud: the data directory %s was mode %04o; it is now 0700\n", dataDir, was)
	}
	path := filepath.Join(dataDir, secretbox.KeyFileName)
	box, was, err := secretbox.LoadOrCreateKeyFile(path)
	if err != nil {
		return nil, err
	}
	if was != 0 {
		fmt.Fprintf(stderr, "picloud: WARNING: the secret key file %s was mode %04o (readable by others); it is now 0600. "+
			"If others may have read it, rotate the key (docs/operations.md).\n", path, was)
	}
	return box, nil
}
