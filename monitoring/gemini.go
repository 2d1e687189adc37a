package monitoring

import (
	"time"

	"github.com/VictoriaMetrics/metrics"
)

type geminiSeries struct {
	duration *metrics.PrometheusHistogram
	requests *metrics.Counter
}

// ObserveGemini records one call to the Gemini API by outcome (OutcomeSuccess, OutcomeError,
// OutcomeTimeout, OutcomeUnavailable) and how long it took.
func (r *Registry) ObserveGemini(outcome string, d time.Duration) {
	outcome = outcomeLabel(outcome)
	s, ok := r.gemini.get(outcome)
	if !ok {
		s = r.gemini.put(outcome, geminiSeries{
			duration: r.sets[famGeminiDuration].GetOrCreatePrometheusHistogramExt(
				seriesName(famGeminiDuration, outcome), catalogue[famGeminiDuration].Buckets),
			requests: r.sets[famGeminiRequests].GetOrCreateCounter(seriesName(famGeminiRequests, outcome)),
		})
	}
	s.duration.Update(max(d, 0).Seconds())
	s.requests.Inc()
}
