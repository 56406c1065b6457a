package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestServeRefusesShortToken(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	t.Setenv("PICLOUD_ADMIN_TOKEN", "only-20-characters..")
	_, _, err := cli(t, "serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir)
	if err == nil || !strings.Contains(err.Error(), "at least 24") || !strings.Contains(err.Error(), "PICLOUD_ADMIN_TOKEN") {
		t.Fatalf("serve with a 20-character token: %v", err)
	}
	if _, err := os.Stat(dataDir); err == nil {
		t.Fatal("the data directory was created before the token was checked")
	}
}

func TestServeTrustedProxiesFlag(t *testing.T) {
	if _, _, err := cli(t, "serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--trusted-proxies", "10.0.0.0/8,nonsense"); err == nil ||
		!strings.Contains(err.Error(), "nonsense") {
		t.Fatalf("a bad --trusted-proxies: %v", err)
	}
	t.Setenv("PICLOUD_TRUSTED_PROXIES", "300.0.0.0/8")
	if _, _, err := cli(t, "serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir()); err == nil ||
		!strings.Contains(err.Error(), "PICLOUD_TRUSTED_PROXIES") {
		t.Fatalf("a bad PICLOUD_TRUSTED_PROXIES: %v", err)
	}
}

func TestServeDataDirMode(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	url, token, stop := startServer(t, dataDir, "--trusted-proxies", "127.0.0.1/32")
	defer stop()
	req, _ := http.NewRequest("GET", url+"/api/scripts", nil)
	req.Header.Set("Authorization", "bearer "+token) // the scheme is case-insensitive
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("lower-case bearer = %d", resp.StatusCode)
	}
	for path, want := range map[string]os.FileMode{dataDir: 0o700, filepath.Join(dataDir, "picloud.db"): 0o600} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s: mode %04o, want %04o", path, st.Mode().Perm(), want)
		}
	}
}
