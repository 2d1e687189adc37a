package monitoring

import (
	"strings"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

type httpKey struct {
	method, route string
	status        int
}

type httpSeries struct {
	duration *metrics.PrometheusHistogram
	requests *metrics.Counter
}

// ObserveHTTP records one finished request: method (mapped like MethodLabel), the matched
// route template (or RouteUnmatched), the status sent and how long it took.
func (r *Registry) ObserveHTTP(method, route string, status int, d time.Duration) {
	k := httpKey{method: methodLabel(method), route: routeLabel(route), status: statusCode(status)}
	s, ok := r.http.get(k)
	if !ok {
		s = r.newHTTPSeries(k)
	}
	// The histogram drops negative values; a clock step must not split _count from the counter.
	s.duration.Update(max(d, 0).Seconds())
	s.requests.Inc()
}

func (r *Registry) newHTTPSeries(k httpKey) httpSeries {
	// The route may live in a request buffer; the key outlives the request.
	k.route = strings.Clone(k.route)
	code := statusCodeLabel(k.status)
	s := httpSeries{
		duration: r.sets[famHTTPDuration].GetOrCreatePrometheusHistogramExt(
			seriesName(famHTTPDuration, k.method, k.route, code), catalogue[famHTTPDuration].Buckets),
		requests: r.sets[famHTTPRequests].GetOrCreateCounter(seriesName(famHTTPRequests, k.method, k.route, code)),
	}
	return r.http.put(k, s)
}

type errorKey struct {
	typ  string
	path string
}

// IncError counts one error of type t answered on path (a route template or RouteUnmatched).
func (r *Registry) IncError(t ErrorType, path string) {
	k := errorKey{typ: errorTypeLabel(t), path: routeLabel(path)}
	c, ok := r.errors.get(k)
	if !ok {
		k.path = strings.Clone(k.path)
		c = r.errors.put(k, r.sets[famErrors].GetOrCreateCounter(seriesName(famErrors, k.typ, k.path)))
	}
	c.Inc()
}

// RateLimited counts one request on route refused by the rate limiter.
func (r *Registry) RateLimited(route string) {
	route = routeLabel(route)
	c, ok := r.limited.get(route)
	if !ok {
		route = strings.Clone(route)
		c = r.limited.put(route, r.sets[famRateLimited].GetOrCreateCounter(seriesName(famRateLimited, route)))
	}
	c.Inc()
}
