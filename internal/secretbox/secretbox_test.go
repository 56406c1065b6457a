package secretbox_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/secretbox"
)

func newBox(t *testing.T, fill byte) *secretbox.Box {
	t.Helper()
	b, err := secretbox.New(bytes.Repeat([]byte{fill}, secretbox.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	b := newBox(t, 1)
	for _, pt := range [][]byte{{}, []byte("s3cr3t-value"), bytes.Repeat([]byte{0, 0xff}, 40_000)} {
		sealed, err := b.Seal("script:a", "TOKEN", pt)
		if err != nil {
			t.Fatal(err)
		}
		if len(pt) > 4 && bytes.Contains(sealed, pt) {
			t.Fatal("the sealed value contains the plaintext")
		}
		got, err := b.Open("script:a", "TOKEN", sealed)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("open = %q, %v", got, err)
		}
	}
	// A random nonce per value: sealing twice differs.
	x, _ := b.Seal("global", "K", []byte("same"))
	y, _ := b.Seal("global", "K", []byte("same"))
	if bytes.Equal(x, y) {
		t.Fatal("two seals of the same value are equal (nonce reused)")
	}
	if x[0] != 1 || hex.EncodeToString(x[1:5]) != b.KeyID() {
		t.Fatalf("header = %x, key id %s", x[:5], b.KeyID())
	}
}

func TestTamperAndWrongKey(t *testing.T) {
	b := newBox(t, 1)
	sealed, _ := b.Seal("script:a", "TOKEN", []byte("s3cr3t-value"))
	for i := range sealed {
		if i >= 1 && i < 5 {
			continue // the key id: a wrong-key error, below
		}
		bad := bytes.Clone(sealed)
		bad[i] ^= 0x01
		if _, err := b.Open("script:a", "TOKEN", bad); !errors.Is(err, secretbox.ErrDamaged) {
			t.Fatalf("byte %d flipped: err = %v, want ErrDamaged", i, err)
		}
	}
	if _, err := b.Open("script:a", "TOKEN", sealed[:10]); !errors.Is(err, secretbox.ErrDamaged) {
		t.Fatalf("short: %v", err)
	}
	// Bound to its place: another name or scope does not open it.
	if _, err := b.Open("script:a", "OTHER", sealed); !errors.Is(err, secretbox.ErrDamaged) {
		t.Fatalf("other name: %v", err)
	}
	if _, err := b.Open("script:b", "TOKEN", sealed); !errors.Is(err, secretbox.ErrDamaged) {
		t.Fatalf("other scope: %v", err)
	}
	if _, err := newBox(t, 2).Open("script:a", "TOKEN", sealed); !errors.Is(err, secretbox.ErrWrongKey) {
		t.Fatalf("wrong key: %v", err)
	}
}

func TestParseKey(t *testing.T) {
	key := bytes.Repeat([]byte{0xab}, 32)
	for _, s := range []string{hex.EncodeToString(key), base64.StdEncoding.EncodeToString(key),
		base64.RawURLEncoding.EncodeToString(key), " " + base64.StdEncoding.EncodeToString(key) + "\n"} {
		got, err := secretbox.ParseKey(s)
		if err != nil || !bytes.Equal(got, key) {
			t.Fatalf("ParseKey(%q) = %x, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "short", hex.EncodeToString(key[:16]), base64.StdEncoding.EncodeToString(key[:31])} {
		if _, err := secretbox.ParseKey(s); err == nil || !strings.Contains(err.Error(), "32 bytes") {
			t.Fatalf("ParseKey(%q) err = %v", s, err)
		}
	}
}

func TestFromEnv(t *testing.T) {
	t.Setenv(secretbox.EnvKey, "")
	if _, ok, err := secretbox.FromEnv(); ok || err != nil {
		t.Fatalf("unset: ok %v, err %v", ok, err)
	}
	t.Setenv(secretbox.EnvKey, "not-a-key")
	if _, ok, err := secretbox.FromEnv(); !ok || err == nil || !strings.Contains(err.Error(), secretbox.EnvKey) {
		t.Fatalf("bad: ok %v, err %v", ok, err)
	}
	t.Setenv(secretbox.EnvKey, hex.EncodeToString(bytes.Repeat([]byte{1}, 32)))
	b, ok, err := secretbox.FromEnv()
	if !ok || err != nil || b.KeyID() != newBox(t, 1).KeyID() {
		t.Fatalf("hex: %v %v", ok, err)
	}
}

func TestKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), secretbox.KeyFileName)
	b1, was, err := secretbox.LoadOrCreateKeyFile(path)
	if err != nil || was != 0 {
		t.Fatalf("create: %v, %v", was, err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode = %v, %v", st.Mode(), err)
	}
	sealed, _ := b1.Seal("global", "K", []byte("value"))
	// The same key next time.
	b2, was, err := secretbox.LoadOrCreateKeyFile(path)
	if err != nil || was != 0 || b2.KeyID() != b1.KeyID() {
		t.Fatalf("reload: %v %v", was, err)
	}
	if got, err := b2.Open("global", "K", sealed); err != nil || string(got) != "value" {
		t.Fatalf("open with reloaded key = %q, %v", got, err)
	}
	// A file others may read is tightened, and reported.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, was, err = secretbox.LoadOrCreateKeyFile(path); err != nil || was != 0o644 {
		t.Fatalf("loose: was %04o, %v", was, err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("not tightened: %v", st.Mode())
	}
	// A damaged file is an error, never replaced by a new key.
	if err := os.WriteFile(path, []byte("garbage\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := secretbox.LoadOrCreateKeyFile(path); err == nil {
		t.Fatal("a damaged key file was accepted")
	}
}

type memStore struct {
	picloud.SecretStore
	m map[string][]byte
}

func (s memStore) SecretValue(_ context.Context, scope, name string) ([]byte, error) {
	if v, ok := s.m[scope+"/"+name]; ok {
		return v, nil
	}
	return nil, picloud.Errorf(picloud.ENotFound, "none")
}

func TestReaderScriptBeforeGlobal(t *testing.T) {
	b := newBox(t, 3)
	seal := func(scope, name, v string) []byte {
		s, _ := b.Seal(scope, name, []byte(v))
		return s
	}
	st := memStore{m: map[string][]byte{
		"script:a/TOKEN": seal("script:a", "TOKEN", "own"),
		"global/TOKEN":   seal("global", "TOKEN", "shared"),
		"global/ONLY":    seal("global", "ONLY", "global-only"),
		"global/MOVED":   seal("global", "ELSEWHERE", "x"), // a row copied under another name
	}}
	r := secretbox.Reader{Store: st, Box: b}
	ctx := context.Background()
	for _, c := range []struct{ script, name, want string }{
		{"a", "TOKEN", "own"}, {"b", "TOKEN", "shared"}, {"a", "ONLY", "global-only"},
	} {
		if got, err := r.Secret(ctx, c.script, c.name); err != nil || got != c.want {
			t.Fatalf("%s %s = %q, %v", c.script, c.name, got, err)
		}
	}
	if _, err := r.Secret(ctx, "a", "MISSING"); picloud.ErrorCode(err) != picloud.ENotFound {
		t.Fatalf("missing: %v", err)
	}
	if _, err := r.Secret(ctx, "a", "MOVED"); err == nil || picloud.ErrorCode(err) == picloud.ENotFound {
		t.Fatalf("moved row: %v", err)
	}
}
