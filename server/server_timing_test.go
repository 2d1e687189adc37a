package server

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/gemini-flow/gemini-flow/monitoring"
)

// BenchmarkMetricsMiddleware is the per-request cost of the HTTP instrumentation alone, on a
// RequestCtx without network: target < 150 ns and 0 allocs.
func BenchmarkMetricsMiddleware(b *testing.B) {
	label := any("/api/workflows/{id}")
	benchInstrument(b, "/api/workflows/workflow-1", func(ctx *fasthttp.RequestCtx) {
		ctx.SetUserValue(routeKey, label)
		ctx.SetStatusCode(fasthttp.StatusOK)
	})
}

// BenchmarkMetricsMiddlewareError adds the errors_total path of a failed request.
func BenchmarkMetricsMiddlewareError(b *testing.B) {
	benchInstrument(b, "/nowhere", func(ctx *fasthttp.RequestCtx) {
		ctx.SetUserValue(errKey, errRouteMissing)
		ctx.SetStatusCode(fasthttp.StatusNotFound)
	})
}

// benchInstrument times the instrumentation around inner, a GET of uri on one reused
// RequestCtx whose series already exist.
func benchInstrument(b *testing.B, uri string, inner fasthttp.RequestHandler) {
	s := &Server{deps: Deps{Metrics: monitoring.New(monitoring.Options{Version: "bench"})}}
	h := s.instrument(inner)
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(fasthttp.MethodGet)
	ctx.Request.SetRequestURI(uri)
	h(&ctx) // warm the series
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		h(&ctx)
	}
}

func benchServer(b *testing.B, instrumented bool) (*testServer, *fasthttp.HostClient) {
	b.Helper()
	ts := newTestServer(b, func(_ *Config, d *Deps) {
		if !instrumented {
			d.Metrics = nil // the switch: no metrics middleware at all
		}
	})
	hc := &fasthttp.HostClient{Addr: strings.TrimPrefix(ts.URL, "http://"), MaxConns: 64}
	b.Cleanup(hc.CloseIdleConnections)
	return ts, hc
}

func benchGet(b *testing.B, hc *fasthttp.HostClient, uri string, want int) {
	b.Helper()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req := fasthttp.AcquireRequest()
		resp := fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI("http://" + hc.Addr + uri)
		for pb.Next() {
			if err := hc.Do(req, resp); err != nil || resp.StatusCode() != want {
				b.Errorf("GET %s: %v %d", uri, err, resp.StatusCode())
				return
			}
		}
	})
}

// BenchmarkServerThroughput compares the whole server with and without instrumentation on
// one route (GET one workflow over loopback); the ns/op ratio is the instrumentation's share.
func BenchmarkServerThroughput(b *testing.B) {
	for _, instrumented := range []bool{false, true} {
		b.Run(fmt.Sprintf("instrumented=%v", instrumented), func(b *testing.B) {
			ts, hc := benchServer(b, instrumented)
			id := ts.createWorkflow(b, fullWorkflow("bench"))
			benchGet(b, hc, "/api/workflows/"+id, 200)
		})
	}
}

// BenchmarkHTTP measures the main API calls through the real server over loopback.
func BenchmarkHTTP(b *testing.B) {
	b.Run("get", func(b *testing.B) {
		ts, hc := benchServer(b, true)
		ts.createWorkflow(b, fullWorkflow("bench"))
		benchGet(b, hc, "/api/workflows/bench", 200)
	})
	b.Run("list50", func(b *testing.B) {
		ts, hc := benchServer(b, true)
		for i := range 60 {
			ts.createWorkflow(b, fullWorkflow(fmt.Sprintf("bench-%02d", i)))
		}
		benchGet(b, hc, "/api/workflows?limit=50", 200)
	})
	b.Run("create", func(b *testing.B) {
		_, hc := benchServer(b, true)
		var n atomic.Int64
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			req := fasthttp.AcquireRequest()
			resp := fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.Header.SetMethod(fasthttp.MethodPost)
			req.Header.SetContentType("application/json")
			req.SetRequestURI("http://" + hc.Addr + "/api/workflows")
			for pb.Next() {
				req.SetBodyString(fmt.Sprintf(`{"name":"bench %d","nodes":[{"id":"a","position":{"x":0,"y":0},"data":{"label":"A"}}]}`, n.Add(1)))
				if err := hc.Do(req, resp); err != nil || resp.StatusCode() != 201 {
					b.Errorf("create: %v %d %s", err, resp.StatusCode(), resp.Body())
					return
				}
			}
		})
	})
}

// BenchmarkWrite measures create and update through the real server over loopback.
func BenchmarkWrite(b *testing.B) {
	send := func(b *testing.B, method, path string, want int, body func(i int64) string) {
		_, hc := benchServer(b, true)
		if method == fasthttp.MethodPut {
			req := fasthttp.AcquireRequest()
			req.Header.SetMethod(fasthttp.MethodPost)
			req.Header.SetContentType("application/json")
			req.SetRequestURI("http://" + hc.Addr + "/api/workflows")
			req.SetBodyString(fullWorkflow("bench"))
			resp := fasthttp.AcquireResponse()
			if err := hc.Do(req, resp); err != nil || resp.StatusCode() != 201 {
				b.Fatalf("seed: %v %d", err, resp.StatusCode())
			}
		}
		var n atomic.Int64
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			req := fasthttp.AcquireRequest()
			resp := fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.Header.SetMethod(method)
			req.Header.SetContentType("application/json")
			req.SetRequestURI("http://" + hc.Addr + path)
			for pb.Next() {
				req.SetBodyString(body(n.Add(1)))
				if err := hc.Do(req, resp); err != nil || resp.StatusCode() != want {
					b.Errorf("%s %s: %v %d %s", method, path, err, resp.StatusCode(), resp.Body())
					return
				}
			}
		})
	}
	b.Run("create", func(b *testing.B) {
		send(b, fasthttp.MethodPost, "/api/workflows", 201, func(i int64) string { return benchFlow(fmt.Sprintf("bench %d", i), "") })
	})
	b.Run("update", func(b *testing.B) {
		send(b, fasthttp.MethodPut, "/api/workflows/bench", 200, func(i int64) string {
			return `{"metadata":{"name":"renamed ` + fmt.Sprint(i) + `"}}`
		})
	})
}

// BenchmarkCreateAllocs counts what one create allocates in the server, the handler called
// in-process on one reused RequestCtx (no client, no socket).
func BenchmarkCreateAllocs(b *testing.B) {
	ts := newTestServer(b)
	var ctx fasthttp.RequestCtx
	bodies := make([][]byte, 1024)
	for i := range bodies {
		bodies[i] = []byte(benchFlow(fmt.Sprintf("alloc %d", i), ""))
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.Header.SetMethod(fasthttp.MethodPost)
		ctx.Request.Header.SetHost("127.0.0.1")
		ctx.Request.Header.SetContentType("application/json")
		ctx.Request.SetRequestURI("/api/workflows")
		ctx.Request.SetBody(bodies[i%len(bodies)])
		i++
		ts.Server.handler(&ctx)
		if ctx.Response.StatusCode() != 201 {
			b.Fatalf("create: %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
}

// benchFlow is a ten-node, nine-edge short-form create body.
func benchFlow(name, _ string) string {
	var sb strings.Builder
	sb.WriteString(`{"name":"` + name + `","tags":["bench"],"nodes":[`)
	for i := range 10 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"id":"n%d","type":"default","position":{"x":%d,"y":%d},"data":{"label":"Step %d"},"selected":false}`, i, i*10, i*20, i)
	}
	sb.WriteString(`],"edges":[`)
	for i := range 9 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"id":"e%d","source":"n%d","target":"n%d","animated":false}`, i, i, i+1)
	}
	sb.WriteString(`]}`)
	return sb.String()
}
