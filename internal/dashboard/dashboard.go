// Package dashboard embeds the dashboard's built files (web/ builds into
// dist/). Until the dashboard lands, dist/ holds a placeholder page.
package dashboard

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// FS returns the dashboard's files, rooted at dist/.
func FS() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // dist/ is embedded at build time: it is there
	}
	return sub
}
