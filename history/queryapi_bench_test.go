package history

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
	"unsafe"

	"github.com/fasthttp/router"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/valyala/fasthttp"

	"github.com/gemini-flow/gemini-flow/dashboards"
	"github.com/gemini-flow/gemini-flow/internal/testkit"
	"github.com/gemini-flow/gemini-flow/promapi"
)

// BenchmarkDashboardAPI loads every panel of the shipped dashboard through the query API over
// HTTP, as the page does, over 24 h and 7 d of the binary's series mix: uncached, repeated
// through the result cache, and the same requests against a real Prometheus holding the same
// samples in blocks (written as promtool's backfill writes them). One "op" is one whole
// dashboard load. Manual: go test -run '^$' -bench BenchmarkDashboardAPI -benchtime 5x ./history/
func BenchmarkDashboardAPI(b *testing.B) {
	for _, span := range []time.Duration{24 * time.Hour, 7 * 24 * time.Hour} {
		b.Run(spanName(span), func(b *testing.B) { benchDashboardAPI(b, span) })
	}
}

func benchDashboardAPI(b *testing.B, span time.Duration) {
	path, end := cachedMix(b, span)
	d, err := Open(Options{Path: path, Job: testJob, Instance: testInstance})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	forms := dashboardForms(span, end)
	cold := promapi.New(promapi.Options{Queryable: d, Timeout: time.Minute, MaxSamples: 50_000_000})
	warm := promapi.New(promapi.Options{Queryable: d, Timeout: time.Minute, MaxSamples: 50_000_000,
		// As on a live page: the last sample is a step before the end asked for.
		CacheBytes: 8 << 20, Watermark: func() (int64, uint64) { return end - step10s, 0 }})
	b.Run("uncached", func(b *testing.B) {
		base := serveAPI(b, cold)
		for range b.N {
			loadDashboard(b, base, forms)
		}
	})
	b.Run("cached-repeat", func(b *testing.B) {
		base := serveAPI(b, warm)
		loadDashboard(b, base, forms) // the first load fills the cache
		b.ResetTimer()
		for range b.N {
			loadDashboard(b, base, forms)
		}
		b.StopTimer()
		s := warm.CacheStats()
		b.ReportMetric(float64(s.Bytes)/(1<<10), "cache-KiB")
		b.ReportMetric(float64(s.Hits)/float64(s.Hits+s.Misses), "hit-ratio")
		b.ReportMetric(float64(thinnedHeadBytes(d))/(1<<10), "thinned-head-KiB")
	})
	b.Run("prometheus", func(b *testing.B) {
		base := startBackfilledPrometheus(b, d, span, end)
		loadDashboard(b, base, forms) // Prometheus reads its blocks in once
		b.ResetTimer()
		for range b.N {
			loadDashboard(b, base, forms)
		}
	})
}

// dashboardForms are the query_range requests of one dashboard load at the page's step.
func dashboardForms(span time.Duration, end int64) []url.Values {
	spanS := int(span.Seconds())
	step := max(10, (spanS+239)/240)
	endS := end / 1000
	startS := endS - int64(spanS/step*step)
	var out []url.Values
	for _, e := range dashboards.Targets() {
		out = append(out, url.Values{"query": {expandExpr(e, step, 10)}, "start": {strconv.FormatInt(startS, 10)},
			"end": {strconv.FormatInt(endS, 10)}, "step": {strconv.Itoa(step)}})
	}
	return out
}

// loadDashboard asks every panel's query_range and checks each answers with data.
func loadDashboard(b *testing.B, base string, forms []url.Values) {
	for _, f := range forms {
		res, err := http.PostForm(base+"/api/v1/query_range", f)
		if err != nil {
			b.Fatal(err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != http.StatusOK || len(body) < 80 {
			b.Fatalf("%s: %d %v %.300s", f.Get("query"), res.StatusCode, err, body)
		}
	}
}

// serveAPI serves api on a loopback port.
func serveAPI(b *testing.B, api *promapi.API) string {
	r := router.New()
	for _, route := range api.Routes() {
		r.GET(route.Path, route.Handler)
		r.POST(route.Path, route.Handler)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: r.Handler}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Shutdown() })
	return "http://" + ln.Addr().String()
}

// startBackfilledPrometheus writes the history's samples into daily TSDB blocks (kept in
// os.TempDir between runs) and starts Prometheus over a copy of them.
func startBackfilledPrometheus(b *testing.B, d *DB, span time.Duration, end int64) string {
	bin := testkit.RequireTool(b, "prometheus")
	blocks := filepath.Join(os.TempDir(), fmt.Sprintf("gemini-flow-prometheus-blocks-v1-%s", spanName(span)))
	if _, err := os.Stat(blocks); err != nil {
		tmp := blocks + ".tmp"
		_ = os.RemoveAll(tmp)
		if err := writeBlocks(d, tmp, end-(span+time.Hour).Milliseconds(), end); err != nil {
			b.Fatal(err)
		}
		if err := os.Rename(tmp, blocks); err != nil {
			b.Fatal(err)
		}
	}
	dir := b.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.CopyFS(data, os.DirFS(blocks)); err != nil {
		b.Fatal(err)
	}
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte("global: {}\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	testkit.Start(b, nil, "prometheus", bin, "--config.file="+cfg, "--storage.tsdb.path="+data,
		"--storage.tsdb.retention.time=100y", "--web.listen-address="+addr, "--log.level=warn")
	base := "http://" + addr
	testkit.PollUntil(b, "prometheus ready", time.Minute, func() bool { return testkit.StatusOK(base + "/-/ready") })
	return base
}

// writeBlocks copies every sample of d in [mint, maxt] into one TSDB block per day.
func writeBlocks(d *DB, dir string, mint, maxt int64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	day := (24 * time.Hour).Milliseconds()
	for from := mint / day * day; from <= maxt; from += day {
		if err := writeBlock(d, dir, max(from, mint), min(from+day-1, maxt)); err != nil {
			return err
		}
	}
	return nil
}

func writeBlock(d *DB, dir string, mint, maxt int64) error {
	w, err := tsdb.NewBlockWriter(slog.New(slog.DiscardHandler), dir, 2*(24*time.Hour).Milliseconds())
	if err != nil {
		return err
	}
	defer w.Close()
	q, err := d.Querier(mint, maxt)
	if err != nil {
		return err
	}
	defer q.Close()
	set := q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+"))
	for set.Next() {
		s := set.At()
		app := w.Appender(context.Background())
		var ref storage.SeriesRef
		it := s.Iterator(nil)
		for it.Next() == chunkenc.ValFloat {
			t, v := it.At()
			if t < mint || t > maxt || math.IsNaN(v) {
				continue // staleness markers are not backfilled, as promtool does not
			}
			if ref, err = app.Append(ref, s.Labels(), t, v); err != nil {
				return err
			}
		}
		if err := app.Commit(); err != nil {
			return err
		}
	}
	if err := set.Err(); err != nil {
		return err
	}
	_, err = w.Flush(context.Background())
	return err
}

// thinnedHeadBytes is the memory the series' open chunks kept thinned hold.
func thinnedHeadBytes(d *DB) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, s := range d.byID {
		n += cap(s.thinned) * 8
		for _, m := range s.thinned {
			if m != nil {
				n += int(unsafe.Sizeof(*m)) + 8*cap(m.ts) + 8*cap(m.vs)
			}
		}
	}
	return n
}
