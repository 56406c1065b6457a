package dashboard_test

import (
	"encoding/json"
	"io/fs"
	"os"
	"regexp"
	"testing"

	"github.com/picloud/picloud/internal/dashboard"
)

// TestBuildIsComplete checks the committed build without Node.js: index.html
// is the app (not a placeholder), every file it loads is embedded, and the
// build's version is web/package.json's (kit.version.name).
func TestBuildIsComplete(t *testing.T) {
	t.Parallel()
	files := dashboard.FS()
	index, err := fs.ReadFile(files, "index.html")
	if err != nil {
		t.Fatalf("index.html: %v", err)
	}
	refs := regexp.MustCompile(`(?:href|import\()\s*=?\s*"(/_app/[^"]+)"`).FindAllSubmatch(index, -1)
	if len(refs) == 0 {
		t.Fatalf("index.html loads nothing from /_app/: is it the built app?\n%s", index)
	}
	for _, m := range refs {
		name := string(m[1][1:])
		if _, err := fs.Stat(files, name); err != nil {
			t.Errorf("index.html loads /%s, which is not embedded: %v", name, err)
		}
	}
	if !regexp.MustCompile(`http-equiv="content-security-policy"`).Match(index) {
		t.Error("index.html has no Content-Security-Policy")
	}

	var built struct{ Version string }
	b, err := fs.ReadFile(files, "_app/version.json")
	if err != nil {
		t.Fatalf("version.json: %v", err)
	}
	if err := json.Unmarshal(b, &built); err != nil {
		t.Fatal(err)
	}
	var pkg struct{ Version string }
	b, err = os.ReadFile("../../web/package.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &pkg); err != nil {
		t.Fatal(err)
	}
	if built.Version != pkg.Version {
		t.Errorf("dist was built as version %q, web/package.json says %q: rebuild with `npm run build` in web/", built.Version, pkg.Version)
	}
}
