package monitoring

import (
	"math"
	rm "runtime/metrics"
	"sort"
)

// runtimeSamples names, per family, the runtime/metrics value it is read from. Memory
// families sum several classes the way runtime.MemStats defines them, without its
// stop-the-world.
var runtimeSamples = [...]string{
	rtGoroutines:   "/sched/goroutines:goroutines",
	rtThreads:      "/sched/threads/total:threads",
	rtAllocs:       "/gc/heap/allocs:bytes",
	rtHeapObjects:  "/memory/classes/heap/objects:bytes",
	rtHeapUnused:   "/memory/classes/heap/unused:bytes",
	rtHeapFree:     "/memory/classes/heap/free:bytes",
	rtHeapReleased: "/memory/classes/heap/released:bytes",
	rtHeapCount:    "/gc/heap/objects:objects",
	rtHeapGoal:     "/gc/heap/goal:bytes",
	rtStacks:       "/memory/classes/heap/stacks:bytes",
	rtTotal:        "/memory/classes/total:bytes",
	rtGCCycles:     "/gc/cycles/total:gc-cycles",
	rtGCPauses:     "/sched/pauses/total/gc:seconds",
	rtSchedLatency: "/sched/latencies:seconds",
}

const (
	rtGoroutines = iota
	rtThreads
	rtAllocs
	rtHeapObjects
	rtHeapUnused
	rtHeapFree
	rtHeapReleased
	rtHeapCount
	rtHeapGoal
	rtStacks
	rtTotal
	rtGCCycles
	rtGCPauses
	rtSchedLatency
	rtCount
)

// runtimeSnapshot is one read of every runtime/metrics value the exposition needs.
type runtimeSnapshot [rtCount]rm.Sample

func (s *runtimeSnapshot) read() {
	for i := range s {
		s[i].Name = runtimeSamples[i]
	}
	rm.Read(s[:])
}

// get returns a scalar sample; one unsupported by the running Go reads as 0.
func (s *runtimeSnapshot) get(i int) float64 {
	switch v := s[i].Value; v.Kind() {
	case rm.KindUint64:
		return float64(v.Uint64())
	case rm.KindFloat64:
		return v.Float64()
	}
	return 0
}

// runtimeFamilySamples lists, per scalar runtime family, the samples whose sum is its value.
var runtimeFamilySamples = [numFamilies][]int{
	famGoGoroutines:  {rtGoroutines},
	famGoThreads:     {rtThreads},
	famGoAllocBytes:  {rtAllocs},
	famGoHeapAlloc:   {rtHeapObjects},
	famGoHeapInuse:   {rtHeapObjects, rtHeapUnused},
	famGoHeapSys:     {rtHeapObjects, rtHeapUnused, rtHeapFree, rtHeapReleased},
	famGoHeapObjects: {rtHeapCount},
	famGoNextGC:      {rtHeapGoal},
	famGoStackInuse:  {rtStacks},
	famGoSys:         {rtTotal},
	famGoGCCycles:    {rtGCCycles},
}

func (s *runtimeSnapshot) value(fam int) float64 {
	samples := runtimeFamilySamples[fam]
	if len(samples) == 0 {
		panic("monitoring: not a runtime family: " + catalogue[fam].Name)
	}
	var v float64
	for _, i := range samples {
		v += s.get(i)
	}
	return v
}

// histogram re-buckets a runtime histogram into bounds. Each runtime bucket [lo, hi) counts
// under the first bound >= hi, so a quantile is never under-estimated; the runtime keeps no
// sum, so it is estimated from bucket midpoints.
func (s *runtimeSnapshot) histogram(i int, bounds []float64) (cumulative []uint64, count uint64, sum float64) {
	cumulative = make([]uint64, len(bounds))
	if s[i].Value.Kind() != rm.KindFloat64Histogram {
		return cumulative, 0, 0
	}
	h := s[i].Value.Float64Histogram()
	for j, c := range h.Counts {
		if c == 0 {
			continue
		}
		lo, hi := max(h.Buckets[j], 0), h.Buckets[j+1]
		count += c
		switch {
		case math.IsInf(hi, 1):
			sum += float64(c) * lo
		default:
			sum += float64(c) * (lo + hi) / 2
		}
		if k := sort.SearchFloat64s(bounds, hi); k < len(bounds) {
			cumulative[k] += c
		}
	}
	for k := 1; k < len(cumulative); k++ {
		cumulative[k] += cumulative[k-1]
	}
	return cumulative, count, sum
}
