package monitoring

import (
	"bytes"
	"io"
	"math"
	"strconv"
	"sync"
)

// ContentType is the Content-Type of WritePrometheus's output (text format 0.0.4).
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// Job is the job label of the binary's series: its scrape job in the shipped configs, and
// the label its own history and its pushes put on every sample.
const Job = "gemini-flow-backend"

// WritePrometheus writes every family of the catalogue, in catalogue order, each as its HELP
// and TYPE lines followed by its samples. Families with labels have samples only once
// observed; runtime and process values are read once per call.
func (r *Registry) WritePrometheus(w io.Writer) {
	b := bufPool.Get().(*bytes.Buffer)
	b.Reset()
	sc := r.collect()
	for fam := range catalogue {
		writeHeader(b, &catalogue[fam])
		if s := r.sets[fam]; s != nil {
			s.WritePrometheus(b)
			continue
		}
		sc.write(b, fam)
	}
	w.Write(b.Bytes())
	bufPool.Put(b)
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// scrape holds what one WritePrometheus reads once and shares between families, so that
// gemini_flow_workflows_total and gemini_flow_workflow_nodes_count come from one reading.
type scrape struct {
	nodes      nodeSnapshot
	history    HistoryStats
	hasHistory bool
	cache      QueryCacheStats
	hasCache   bool
	runtime    runtimeSnapshot
	proc       procStats
}

func (r *Registry) collect() *scrape {
	sc := &scrape{nodes: r.nodes.snapshot()}
	if fn := r.history.Load(); fn != nil {
		sc.history, sc.hasHistory = (*fn)(), true
	}
	if fn := r.queryCache.Load(); fn != nil {
		sc.cache, sc.hasCache = (*fn)(), true
	}
	sc.runtime.read()
	sc.proc.read()
	return sc
}

// write renders the samples of a family the library does not hold.
func (sc *scrape) write(b *bytes.Buffer, fam int) {
	f := &catalogue[fam]
	switch fam {
	case famWorkflows:
		writeSample(b, f.Name, "", float64(sc.nodes.count))
	case famWorkflowNodes:
		writeHistogram(b, f.Name, f.Buckets, sc.nodes.cumulative, sc.nodes.count, float64(sc.nodes.sum))
	case famHistorySeries, famHistorySamples, famHistoryBytes, famHistoryLastSample, famHistoryCheckpointErrors:
		if sc.hasHistory {
			writeSample(b, f.Name, "", sc.history.value(fam))
		}
	case famQueryCacheBytes, famQueryCacheHits, famQueryCacheMisses:
		if sc.hasCache {
			writeSample(b, f.Name, "", sc.cache.value(fam))
		}
	case famProcCPUUser, famProcCPUSystem, famProcCPU, famProcStartTime, famProcResident, famProcVirtual,
		famProcOpenFDs, famProcMaxFDs:
		if v, ok := sc.proc.value(fam); ok {
			writeSample(b, f.Name, "", v)
		}
	case famGoGCDuration:
		cum, count, sum := sc.runtime.histogram(rtGCPauses, f.Buckets)
		writeHistogram(b, f.Name, f.Buckets, cum, count, sum)
	case famGoSchedLatencies:
		cum, count, sum := sc.runtime.histogram(rtSchedLatency, f.Buckets)
		writeHistogram(b, f.Name, f.Buckets, cum, count, sum)
	default:
		writeSample(b, f.Name, "", sc.runtime.value(fam))
	}
}

func writeHeader(b *bytes.Buffer, f *Family) {
	b.WriteString("# HELP ")
	b.WriteString(f.Name)
	b.WriteByte(' ')
	b.WriteString(helpEscaper.Replace(f.Help))
	b.WriteString("\n# TYPE ")
	b.WriteString(f.Name)
	b.WriteByte(' ')
	b.WriteString(f.Type)
	b.WriteByte('\n')
}

// writeSample writes `name{labels} value`; labels is already rendered, without braces.
func writeSample(b *bytes.Buffer, name, labels string, v float64) {
	b.WriteString(name)
	if labels != "" {
		b.WriteByte('{')
		b.WriteString(labels)
		b.WriteByte('}')
	}
	b.WriteByte(' ')
	b.Write(appendFloat(b.AvailableBuffer(), v))
	b.WriteByte('\n')
}

// writeHistogram writes the _bucket series (cumulative per bound, then +Inf), _sum and _count.
func writeHistogram(b *bytes.Buffer, name string, bounds []float64, cumulative []uint64, count uint64, sum float64) {
	bucket := name + "_bucket"
	for i, ub := range bounds {
		writeSample(b, bucket, `le="`+formatBound(ub)+`"`, float64(cumulative[i]))
	}
	writeSample(b, bucket, `le="+Inf"`, float64(count))
	writeSample(b, name+"_sum", "", sum)
	writeSample(b, name+"_count", "", float64(count))
}

func formatBound(ub float64) string { return strconv.FormatFloat(ub, 'f', -1, 64) }

// appendFloat writes integers without exponent and fractions in the shortest exact form.
func appendFloat(dst []byte, v float64) []byte {
	switch a := math.Abs(v); {
	case v == math.Trunc(v) && a < 1e15:
		return strconv.AppendInt(dst, int64(v), 10)
	case a >= 1e-6 && a < 1e15:
		return strconv.AppendFloat(dst, v, 'f', -1, 64)
	}
	return strconv.AppendFloat(dst, v, 'g', -1, 64)
}
