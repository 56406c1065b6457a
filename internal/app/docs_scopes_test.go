package app_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/picloud/picloud/internal/app"
)

// docsScopeRow is one row of docs/api.md's "Scopes per route" table:
// | `METHOD /pattern` | scope | `audit.action` |
var docsScopeRow = regexp.MustCompile("^\\| `([A-Z]+ /[^`]*)` \\| (read|deploy|admin) \\| (?:`([a-z_.]+)`)? \\|$")

// TestDocsScopesMatchRoutes: the scope table users read in docs/api.md lists
// every admin route of `picloud serve` (the reference server: a cluster
// manager's admin routes are the same) with the Scope and Audit action the
// route table declares, and nothing else, so that the documentation cannot
// drift from what the guard enforces.
func TestDocsScopesMatchRoutes(t *testing.T) {
	doc, err := os.ReadFile("../../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(doc), "### Scopes per route")
	if !ok {
		t.Fatal(`docs/api.md has no "### Scopes per route" section`)
	}
	table, _, _ = strings.Cut(table, "\n## ")
	documented := map[string]string{}
	for _, line := range strings.Split(table, "\n") {
		m := docsScopeRow.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if _, dup := documented[m[1]]; dup {
			t.Errorf("docs/api.md lists %s twice", m[1])
		}
		documented[m[1]] = m[2] + " " + m[3]
	}
	routes := map[string]string{}
	for _, tables := range routeTables(t) {
		for _, r := range tables {
			if r.Auth == app.AuthAdmin {
				routes[r.String()] = r.Scope + " " + r.Audit
			}
		}
	}
	// /metrics is an admin route unless the server runs with
	// --public-metrics (routeTables' servers do not).
	if len(documented) < 10 {
		t.Fatalf("docs/api.md's scope table has %d rows; is its format still | `METHOD /path` | scope | `action` |?", len(documented))
	}
	for route, want := range routes {
		got, ok := documented[route]
		switch {
		case !ok:
			t.Errorf("docs/api.md's scope table misses %s (%s)", route, want)
		case got != want:
			t.Errorf("docs/api.md says %s needs %q; the route table says %q", route, got, want)
		}
	}
	for route := range documented {
		if _, ok := routes[route]; !ok {
			t.Errorf("docs/api.md's scope table lists %s, which no route table has as an admin route", route)
		}
	}
}
