package server_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gemini-flow/gemini-flow/dashboards"
	"github.com/gemini-flow/gemini-flow/web"
)

// pageWeightBudget is the most the page may weigh, gzipped, with everything it loads.
const pageWeightBudget = 100 << 10

func TestPageAssets(t *testing.T) {
	stack := startLiveStack(t, time.Hour)
	get := func(path string, gz bool) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, stack.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if gz {
			// Set by hand, so that the client hands back the compressed bytes.
			req.Header.Set("Accept-Encoding", "gzip")
		} else {
			req.Header.Set("Accept-Encoding", "identity")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res, b
	}

	res, index := get("/", false)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/html; charset=utf-8" || res.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("/: %d %q %q", res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Cache-Control"))
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "script-src 'self';") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("/ CSP %q", csp)
	}
	if bytes.Contains(index, []byte("__VERSION__")) {
		t.Error("index.html still holds the version placeholder")
	}
	if m := regexp.MustCompile(`https?://`).Find(index); m != nil {
		t.Errorf("index.html names an external address")
	}
	refs := regexp.MustCompile(`(?:src|href)="(/assets/[^"]+)"`).FindAllSubmatch(index, -1)
	// uPlot's script and style, the page's style, app.js, and a modulepreload link for each
	// module app.js imports (so that they load at once rather than one level at a time).
	modules, err := fs.Glob(web.FS(), "js/*.js")
	if err != nil {
		t.Fatal(err)
	}
	if want := 3 + len(modules); len(refs) != want {
		t.Fatalf("index.html loads %d assets, want %d (uPlot js+css, style, %d modules)", len(refs), want, len(modules))
	}

	types := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
	_, gzIndex := get("/", true)
	weight := len(gzIndex)
	for _, r := range refs {
		path := string(r[1])
		res, plain := get(path, false)
		ext := path[strings.LastIndex(strings.SplitN(path, "?", 2)[0], "."):]
		ext = strings.SplitN(ext, "?", 2)[0]
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != types[ext] {
			t.Errorf("%s: %d %q", path, res.StatusCode, res.Header.Get("Content-Type"))
		}
		if cc := res.Header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
			t.Errorf("%s: Cache-Control %q", path, cc)
		}
		gres, packed := get(path, true)
		if gres.Header.Get("Content-Encoding") != "gzip" {
			t.Errorf("%s: not gzipped when asked", path)
		}
		zr, err := gzip.NewReader(bytes.NewReader(packed))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		unpacked, _ := io.ReadAll(zr)
		if !bytes.Equal(unpacked, plain) {
			t.Errorf("%s: gzip body differs from the plain one", path)
		}
		if bytes.Contains(plain, []byte("fonts.googleapis")) || bytes.Contains(plain, []byte("cdn.")) {
			t.Errorf("%s: names an external host", path)
		}
	}
	// The weight counts every script and style sheet: the modules app.js imports too.
	version := regexp.MustCompile(`/assets/([0-9a-f]{12})/`).FindSubmatch(index)
	if version == nil {
		t.Fatal("index.html names no versioned asset")
	}
	loaded := 0
	err = fs.WalkDir(web.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || (!strings.HasSuffix(p, ".js") && !strings.HasSuffix(p, ".css")) {
			return err
		}
		res, packed := get("/assets/"+string(version[1])+"/"+p, true)
		if res.StatusCode != 200 {
			t.Errorf("%s under the version: %d", p, res.StatusCode)
		}
		weight += len(packed)
		loaded++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("page weight: %d bytes gzipped (index.html and %d scripts and style sheets)", weight, loaded)
	if weight > pageWeightBudget {
		t.Errorf("page weighs %d bytes gzipped, budget %d", weight, pageWeightBudget)
	}

	res, body := get("/dashboards/gemini-flow.json", false)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" || !bytes.Equal(body, dashboards.Dashboard()) {
		t.Errorf("dashboard: %d %q, %d bytes", res.StatusCode, res.Header.Get("Content-Type"), len(body))
	}
	if res, _ := get("/assets/nope.js", false); res.StatusCode != 404 {
		t.Errorf("missing asset: %d", res.StatusCode)
	}
	if res, _ := get("/assets/vendor/LICENSE.uPlot", false); res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
		t.Errorf("licence: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}

	// Every embedded file is reachable under /assets/.
	err = fs.WalkDir(web.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || p == "index.html" {
			return err
		}
		if res, _ := get("/assets/"+p, false); res.StatusCode != 200 {
			t.Errorf("/assets/%s: %d", p, res.StatusCode)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
