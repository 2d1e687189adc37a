// Package web is the built-in metrics page: one HTML file, a few ES modules (js/), a style
// sheet and the vendored uPlot, embedded so that the binary serves the page with no external
// request and no build step.
package web

import (
	"embed"
	"io/fs"
)

// vendor.sh fetches the pinned uPlot from npm, checks its integrity and copies it into
// static/vendor/; the copy is committed, so building never needs npm.
//go:generate sh vendor.sh

//go:embed static
var static embed.FS

// FS returns the page's files: index.html, js/, style.css and vendor/.
func FS() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the directory is embedded above; failing here is a build mistake
	}
	return sub
}
