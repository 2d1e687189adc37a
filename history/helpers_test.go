package history

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"
	bolt "go.etcd.io/bbolt"
)

const testJob, testInstance = "gemini-flow-backend", "127.0.0.1:3001"

// openTest opens a history at path and, at cleanup, closes it and runs bbolt's
// consistency check on the file.
func openTest(t testing.TB, path string, mods ...func(*Options)) *DB {
	t.Helper()
	opts := Options{Path: path, Job: testJob, Instance: testInstance, Interval: 10 * time.Second}
	for _, m := range mods {
		m(&opts)
	}
	d, err := Open(opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		checkFile(t, path)
	})
	return d
}

func checkFile(t testing.TB, path string) {
	t.Helper()
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, ReadOnly: true})
	if err != nil {
		t.Errorf("reopen for check: %v", err)
		return
	}
	defer bdb.Close()
	err = bdb.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	})
	if err != nil {
		t.Errorf("bbolt check: %v", err)
	}
}

func tempPath(t testing.TB) string { return filepath.Join(t.TempDir(), "history.db") }

// exposition renders a small but realistic exposition for tick i: a counter per route,
// a wobbling gauge and a histogram with three buckets.
func exposition(i int, routes ...string) []byte {
	var b strings.Builder
	b.WriteString("# HELP app_requests_total Requests served.\n# TYPE app_requests_total counter\n")
	for r, route := range routes {
		fmt.Fprintf(&b, "app_requests_total{route=%q} %d\n", route, (r+1)*i)
	}
	b.WriteString("# HELP app_queue_depth Items waiting.\n# TYPE app_queue_depth gauge\n")
	fmt.Fprintf(&b, "app_queue_depth %g\n", 10+5*math.Sin(float64(i)/7))
	b.WriteString("# HELP app_latency_seconds Latency.\n# TYPE app_latency_seconds histogram\n")
	// Per tick: 2 requests under 0.1 s, 1 more under 0.5 s, 1 more beyond.
	fmt.Fprintf(&b, "app_latency_seconds_bucket{le=\"0.1\"} %d\n", 2*i)
	fmt.Fprintf(&b, "app_latency_seconds_bucket{le=\"0.5\"} %d\n", 3*i)
	fmt.Fprintf(&b, "app_latency_seconds_bucket{le=\"+Inf\"} %d\n", 4*i)
	fmt.Fprintf(&b, "app_latency_seconds_sum %g\n", 0.9*float64(i))
	fmt.Fprintf(&b, "app_latency_seconds_count %d\n", 4*i)
	return []byte(b.String())
}

const step10s = int64(10_000)

// t0 is an aligned start time for synthetic histories.
var t0 = time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC).UnixMilli()

func appendTicks(t testing.TB, d *DB, from, to int, routes ...string) {
	t.Helper()
	for i := from; i < to; i++ {
		if err := d.Append(t0+int64(i)*step10s, exposition(i, routes...)); err != nil {
			t.Fatalf("append tick %d: %v", i, err)
		}
	}
}

func newEngine() *promql.Engine {
	return promql.NewEngine(promql.EngineOpts{MaxSamples: 50_000_000, Timeout: time.Minute, LookbackDelta: 5 * time.Minute})
}

// execQuery runs a built query and hands its result to read before the query is closed.
func execQuery[T any](t testing.TB, expr string, qry promql.Query, err error, read func(*promql.Result) (T, error)) T {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	defer qry.Close()
	res := qry.Exec(context.Background())
	if res.Err != nil {
		t.Fatalf("%s: %v", expr, res.Err)
	}
	out, err := read(res)
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return out
}

func rangeQuery(t testing.TB, q storage.Queryable, expr string, start, end int64, step time.Duration) promql.Matrix {
	t.Helper()
	qry, err := newEngine().NewRangeQuery(context.Background(), q, nil, expr, time.UnixMilli(start), time.UnixMilli(end), step)
	return execQuery(t, expr, qry, err, func(res *promql.Result) (promql.Matrix, error) {
		m, err := res.Matrix()
		// Close returns the point slices to the engine's pool: keep copies.
		out := make(promql.Matrix, len(m))
		for i, s := range m {
			out[i] = promql.Series{Metric: s.Metric, Floats: slices.Clone(s.Floats)}
		}
		return out, err
	})
}

func instantQuery(t testing.TB, q storage.Queryable, expr string, ts int64) promql.Vector {
	t.Helper()
	qry, err := newEngine().NewInstantQuery(context.Background(), q, nil, expr, time.UnixMilli(ts))
	return execQuery(t, expr, qry, err, func(res *promql.Result) (promql.Vector, error) {
		v, err := res.Vector()
		return slices.Clone(v), err
	})
}

// referenceStorage is the same samples as plain lists, the engine's simplest input: what
// the history answers must equal what this answers.
type referenceStorage struct{ series []storage.Series }

// referenceFrom reads every sample of d back with Next alone into plain lists.
func referenceFrom(t testing.TB, d *DB) *referenceStorage {
	t.Helper()
	q, _ := d.Querier(math.MinInt64, math.MaxInt64)
	defer q.Close()
	ss := q.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+"))
	r := &referenceStorage{}
	for ss.Next() {
		s := ss.At()
		it := s.Iterator(nil)
		var list []chunks.Sample
		for it.Next() == chunkenc.ValFloat {
			ts, v := it.At()
			list = append(list, fSample{t: ts, v: v})
		}
		if it.Err() != nil {
			t.Fatal(it.Err())
		}
		r.series = append(r.series, storage.NewListSeries(s.Labels(), list))
	}
	if ss.Err() != nil {
		t.Fatal(ss.Err())
	}
	return r
}

type fSample struct {
	t int64
	v float64
}

func (s fSample) T() int64                    { return s.t }
func (fSample) ST() int64                     { return 0 }
func (s fSample) F() float64                  { return s.v }
func (fSample) H() *histogram.Histogram       { return nil }
func (fSample) FH() *histogram.FloatHistogram { return nil }
func (fSample) Type() chunkenc.ValueType      { return chunkenc.ValFloat }
func (s fSample) Copy() chunks.Sample         { return s }

func (r *referenceStorage) Querier(int64, int64) (storage.Querier, error) { return r, nil }
func (r *referenceStorage) Close() error                                  { return nil }
func (r *referenceStorage) Select(_ context.Context, _ bool, _ *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	var out []storage.Series
	for _, s := range r.series {
		if matches(s.Labels(), ms) {
			out = append(out, s)
		}
	}
	return &seriesSet{list: out, i: -1}
}
func (*referenceStorage) LabelValues(context.Context, string, *storage.LabelHints, ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	return nil, nil, nil
}
func (*referenceStorage) LabelNames(context.Context, *storage.LabelHints, ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	return nil, nil, nil
}

// seriesSet lists series in order.
type seriesSet struct {
	list []storage.Series
	i    int
}

func (s *seriesSet) Next() bool                      { s.i++; return s.i < len(s.list) }
func (s *seriesSet) At() storage.Series              { return s.list[s.i] }
func (*seriesSet) Err() error                        { return nil }
func (*seriesSet) Warnings() annotations.Annotations { return nil }

// rawReads is a history whose selections read the raw samples whatever the query's step,
// to compare downsampled answers with.
type rawReads struct{ d *DB }

func (r rawReads) Querier(mint, maxt int64) (storage.Querier, error) {
	q, err := r.d.Querier(mint, maxt)
	return rawQuerier{q}, err
}

type rawQuerier struct{ storage.Querier }

// Select drops the step from the hints, which makes the history read raw samples.
func (q rawQuerier) Select(ctx context.Context, sortSeries bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	if hints != nil {
		h := *hints
		h.Step = 0
		hints = &h
	}
	return q.Querier.Select(ctx, sortSeries, hints, ms...)
}
