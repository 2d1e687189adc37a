package monitoring

import (
	"time"

	"github.com/VictoriaMetrics/metrics"
)

type dbKey struct{ operation, collection string }

type dbSeries struct {
	duration         *metrics.PrometheusHistogram
	success, failure *metrics.Counter
}

// ObserveDB records one database transaction: operation (OpRead, OpWrite, OpDelete) on
// collection (CollWorkflows, CollStore, CollSessions), failed when err is non-nil.
func (r *Registry) ObserveDB(operation, collection string, err error, d time.Duration) {
	k := dbKey{operation: operationLabel(operation), collection: collectionLabel(collection)}
	s, ok := r.db.get(k)
	if !ok {
		s = r.newDBSeries(k)
	}
	s.duration.Update(max(d, 0).Seconds())
	if err != nil {
		s.failure.Inc()
		return
	}
	s.success.Inc()
}

func (r *Registry) newDBSeries(k dbKey) dbSeries {
	// Both statuses exist from the first operation on, so an error ratio reads 0, not nothing.
	s := dbSeries{
		duration: r.sets[famDBDuration].GetOrCreatePrometheusHistogramExt(
			seriesName(famDBDuration, k.operation, k.collection), catalogue[famDBDuration].Buckets),
		success: r.sets[famDBOperations].GetOrCreateCounter(seriesName(famDBOperations, k.operation, k.collection, StatusSuccess)),
		failure: r.sets[famDBOperations].GetOrCreateCounter(seriesName(famDBOperations, k.operation, k.collection, StatusError)),
	}
	return r.db.put(k, s)
}
