package history

import (
	"github.com/prometheus/prometheus/model/labels"
)

// Sample is one value computed outside the exposition (a recording rule's result, an
// alert's ALERTS series) with its full label set.
type Sample struct {
	Labels labels.Labels
	Value  float64 // value.StaleNaN marks the series stale, as the rules engine writes it
}

// AppendSamples appends computed samples at ts (Unix ms) under their own labels, without
// adding job and instance and without touching the exposition's staleness tracking: the
// caller writes its own staleness markers. A sample not newer than its series' last is
// dropped; it returns how many were kept.
func (d *DB) AppendSamples(ts int64, samples []Sample) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.wroteAt(ts)
	added := 0
	for _, smp := range samples {
		if d.getOrCreate(smp.Labels).append(ts, smp.Value) {
			added++
		}
	}
	if added > 0 {
		d.samples.Add(uint64(added))
		if ts > d.lastSample.Load() {
			d.lastSample.Store(ts)
		}
	}
	return added
}
