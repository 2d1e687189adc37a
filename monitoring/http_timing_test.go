package monitoring_test

import (
	"bytes"
	"strconv"
	"testing"
	"time"

	"github.com/gemini-flow/gemini-flow/monitoring"
)

func BenchmarkObserveHTTP(b *testing.B) {
	r := monitoring.New(monitoring.Options{})
	r.ObserveHTTP("GET", "/api/workflows/{id}", 200, time.Millisecond)
	b.ReportAllocs()
	for b.Loop() {
		r.ObserveHTTP("GET", "/api/workflows/{id}", 200, 1500*time.Microsecond)
	}
}

func BenchmarkObserveHTTPParallel(b *testing.B) {
	r := monitoring.New(monitoring.Options{})
	routes := trafficRoutes(50)
	for _, route := range routes {
		r.ObserveHTTP("GET", route, 200, time.Millisecond)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			r.ObserveHTTP("GET", routes[i%len(routes)], 200, 1500*time.Microsecond)
			i++
		}
	})
}

// BenchmarkWritePrometheus renders the default series, one series of every labelled family,
// and 50 routes of traffic: statuses=1 gives each route one status (50 HTTP series),
// statuses=2 two (100 HTTP series, each route also counting an error).
func BenchmarkWritePrometheus(b *testing.B) {
	for _, statuses := range []int{1, 2} {
		b.Run("statuses="+strconv.Itoa(statuses), func(b *testing.B) {
			r := monitoring.New(monitoring.Options{Version: "1.2.3", Revision: "abc"})
			exercise(r)
			for _, route := range trafficRoutes(50) {
				r.ObserveHTTP("GET", route, 200, 3*time.Millisecond)
				if statuses == 2 {
					r.ObserveHTTP("POST", route, 400, time.Millisecond)
					r.IncError(monitoring.ErrValidation, route)
				}
			}
			for i := range 100 {
				r.WorkflowAdded(i * 7)
			}
			var buf bytes.Buffer
			r.WritePrometheus(&buf)
			b.ReportAllocs()
			for b.Loop() {
				buf.Reset()
				r.WritePrometheus(&buf)
			}
			b.ReportMetric(float64(buf.Len()), "bytes/scrape")
		})
	}
}

func trafficRoutes(n int) []string {
	routes := make([]string, n)
	for i := range routes {
		routes[i] = "/api/resource" + strconv.Itoa(i) + "/{id}"
	}
	return routes
}
