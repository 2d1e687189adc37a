package monitoring

import "time"

// HistoryStats is the health of the built-in history, read at every scrape.
type HistoryStats struct {
	Series           int
	SamplesAppended  uint64
	Bytes            int64
	LastSample       time.Time
	CheckpointErrors uint64
}

// SetHistoryStats makes every scrape read fn for the gemini_flow_history_* families; with a
// nil fn those families carry HELP and TYPE but no samples. fn runs inside WritePrometheus,
// which the history sampler calls too, so fn must not wait on a lock held while sampling.
func (r *Registry) SetHistoryStats(fn func() HistoryStats) {
	if fn == nil {
		r.history.Store(nil)
		return
	}
	r.history.Store(&fn)
}

func (h HistoryStats) value(fam int) float64 {
	switch fam {
	case famHistorySeries:
		return float64(h.Series)
	case famHistorySamples:
		return float64(h.SamplesAppended)
	case famHistoryBytes:
		return float64(h.Bytes)
	case famHistoryLastSample:
		if h.LastSample.IsZero() {
			return 0
		}
		return float64(h.LastSample.UnixMilli()) / 1e3
	case famHistoryCheckpointErrors:
		return float64(h.CheckpointErrors)
	}
	panic("monitoring: not a history family: " + catalogue[fam].Name)
}
