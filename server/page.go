package server

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"mime"
	"path"
	"sort"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/gemini-flow/gemini-flow/dashboards"
	"github.com/gemini-flow/gemini-flow/web"
)

// pageAsset is one file of the page, with its gzip form computed once at start.
type pageAsset struct {
	body, gz    []byte
	contentType string
	cache       string
}

// pageCSP keeps the page to its own origin: no CDN, no fonts, no third-party request.
const pageCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// bindPage registers the built-in metrics page, its assets and the dashboard it renders.
func (s *Server) bindPage() {
	assets, index, version := loadPageAssets(web.FS())
	s.handleRaw(fasthttp.MethodGet, "/", func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("Content-Security-Policy", pageCSP)
		ctx.Response.Header.Set("Referrer-Policy", "no-referrer")
		writeAsset(ctx, index)
	})
	s.handleRaw(fasthttp.MethodGet, "/assets/{file:*}", func(ctx *fasthttp.RequestCtx) {
		name, _ := ctx.UserValue("file").(string)
		name = strings.TrimPrefix(name, "/")
		// index.html names assets under the page's version, so that the modules' relative
		// imports carry it too; the unversioned names are served as well.
		if rest, ok := strings.CutPrefix(name, version+"/"); ok {
			name = rest
		}
		a, ok := assets[name]
		if !ok {
			s.writeError(ctx, errNotFound("asset"))
			return
		}
		writeAsset(ctx, a)
	})
	dash := newAsset(dashboards.Dashboard(), "application/json", "no-cache")
	s.handleRaw(fasthttp.MethodGet, "/dashboards/gemini-flow.json", func(ctx *fasthttp.RequestCtx) {
		writeAsset(ctx, dash)
	})
}

// loadPageAssets reads the embedded files. Asset URLs carry a hash of the whole page (the
// version it returns), so they can be cached for a year while index.html is revalidated on
// every load.
func loadPageAssets(fsys fs.FS) (map[string]*pageAsset, *pageAsset, string) {
	files := map[string][]byte{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		files[p] = b
		return err
	})
	if err != nil {
		panic("embedded page: " + err.Error()) // embedded at build time; cannot fail at run time
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		h.Write([]byte(n))
		h.Write(files[n])
	}
	version := hex.EncodeToString(h.Sum(nil))[:12]

	assets := map[string]*pageAsset{}
	for n, b := range files {
		if n == "index.html" {
			continue
		}
		assets[n] = newAsset(b, contentTypeOf(n), "public, max-age=31536000, immutable")
	}
	html := bytes.ReplaceAll(files["index.html"], []byte("__VERSION__"), []byte(version))
	return assets, newAsset(html, "text/html; charset=utf-8", "no-cache"), version
}

func contentTypeOf(name string) string {
	switch path.Ext(name) {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".html":
		return "text/html; charset=utf-8"
	case "", ".uPlot":
		return "text/plain; charset=utf-8"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

func newAsset(body []byte, contentType, cache string) *pageAsset {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(body)
	_ = zw.Close()
	a := &pageAsset{body: body, contentType: contentType, cache: cache}
	if buf.Len() < len(body) {
		a.gz = buf.Bytes()
	}
	return a
}

func writeAsset(ctx *fasthttp.RequestCtx, a *pageAsset) {
	h := &ctx.Response.Header
	h.SetContentType(a.contentType)
	h.Set("Cache-Control", a.cache)
	h.Set("Vary", "Accept-Encoding")
	if a.gz != nil && ctx.Request.Header.HasAcceptEncoding("gzip") {
		h.Set("Content-Encoding", "gzip")
		ctx.SetBody(a.gz)
		return
	}
	ctx.SetBody(a.body)
}
