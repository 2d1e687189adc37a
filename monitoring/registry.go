// Package monitoring is the metric catalogue of gemini-flow, its VictoriaMetrics sets, the
// exposition writer (HELP/TYPE, samples, prefixed runtime and process metrics) and push.
//
// Usage:
//
//  1. Create one Registry with New at start and hand it to every component.
//  2. Record events with its methods (ObserveHTTP, ObserveDB, WSConnected, WorkflowAdded, ...).
//     Label values always come from bounded sets: out-of-set values become "unknown" (or
//     "OTHER" for methods, "unmatched" for an empty route).
//  3. Serve WritePrometheus at /metrics with ContentType; the history sampler and StartPush
//     read the very same text.
//
// Every family is listed once in the catalogue (catalogue.go) with its HELP, TYPE, labels and
// buckets; each family owns one metrics.Set, so the writer puts the catalogue's HELP and TYPE
// lines in front of exactly that family's samples.
package monitoring

import (
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/VictoriaMetrics/metrics"
)

// Options configures a Registry.
type Options struct {
	Version  string       // build_info version label; "" -> "unknown"
	Revision string       // build_info revision label; "" -> "unknown"
	Logger   *slog.Logger // push failures are logged here; nil -> slog.Default()
}

// Registry holds every metric of the process. It is safe for concurrent use.
type Registry struct {
	logger *slog.Logger

	// sets[i] holds the samples of catalogue[i] when the library renders them; nil for the
	// families written directly (workflow nodes, history, runtime, process).
	sets [numFamilies]*metrics.Set

	http     seriesMap[httpKey, httpSeries]
	errors   seriesMap[errorKey, *metrics.Counter]
	limited  seriesMap[string, *metrics.Counter]
	ws       seriesMap[wsKey, *metrics.Counter]
	db       seriesMap[dbKey, dbSeries]
	gemini   seriesMap[string, geminiSeries]
	wsActive *metrics.Gauge

	nodes nodeHistogram
	rules ruleSeries

	history    atomic.Pointer[func() HistoryStats]
	queryCache atomic.Pointer[func() QueryCacheStats]

	pushWG sync.WaitGroup
}

// New returns a Registry with every always-present series created at zero.
func New(opts Options) *Registry {
	r := &Registry{logger: opts.Logger}
	if r.logger == nil {
		r.logger = slog.Default()
	}
	for _, fam := range []int{
		famHTTPDuration, famHTTPRequests, famWSActive, famWSMessages, famDBDuration,
		famDBOperations, famErrors, famBuildInfo, famGeminiDuration, famGeminiRequests, famRateLimited,
		famRuleGroupLastDuration, famRuleGroupLastEvaluation, famRuleEvaluations, famRuleEvaluationFailures,
		famAlerts, famNotificationsSent, famNotificationsErrors, famNotificationsDropped,
		famNotificationsQueueLength, famNotificationsQueueCapacity,
		famRemoteWriteSent, famRemoteWriteDropped, famRemoteWriteRetries, famRemoteWriteQueue,
	} {
		r.sets[fam] = metrics.NewSet()
	}
	r.wsActive = r.sets[famWSActive].NewGauge(seriesName(famWSActive), nil)
	r.sets[famBuildInfo].NewGauge(seriesName(famBuildInfo, orUnknown(opts.Version), orUnknown(opts.Revision), runtime.Version()), nil).Set(1)
	r.initRules()
	r.nodes.init(catalogue[famWorkflowNodes].Buckets)
	return r
}

func orUnknown(s string) string {
	if s == "" {
		return Unknown
	}
	return s
}

// seriesMap caches the series of one bounded label set, so the hot path is a read-locked
// map lookup and the series name is built only the first time a label set is seen.
type seriesMap[K comparable, V any] struct {
	mu sync.RWMutex
	m  map[K]V
}

func (s *seriesMap[K, V]) get(k K) (V, bool) {
	s.mu.RLock()
	v, ok := s.m[k]
	s.mu.RUnlock()
	return v, ok
}

// put stores v unless k is already there, and returns the value kept.
func (s *seriesMap[K, V]) put(k K, v V) V {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.m[k]; ok {
		return old
	}
	if s.m == nil {
		s.m = make(map[K]V)
	}
	s.m[k] = v
	return v
}
