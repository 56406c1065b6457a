// Package dashboard embeds the dashboard's built files. dist/ is the output of
// `npm run build` in web/ (a SvelteKit single-page app), committed so that
// building the binary needs no Node.js; CI rebuilds it and fails when the
// result differs. See docs/dashboard.md.
package dashboard

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// FS returns the dashboard's files, rooted at dist/. The server answers any
// path that is not a file with index.html, for the app's client-side routes.
func FS() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // dist/ is embedded at build time: it is there
	}
	return sub
}
