// Package export streams raw samples of a storage.Queryable (the metric history) in the
// formats other engines import: VictoriaMetrics' JSON lines, which its /api/v1/import
// takes, and OpenMetrics text with timestamps, which `promtool tsdb create-blocks-from
// openmetrics` takes. Staleness markers are left out; memory stays constant whatever the
// range, since one metric name is read at a time.
package export

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// Format is an export format.
type Format string

// The formats Write knows.
const (
	JSONLines   Format = "jsonl"       // VictoriaMetrics' /api/v1/export and /api/v1/import format
	OpenMetrics Format = "openmetrics" // OpenMetrics text with timestamps, ending in # EOF
)

// ParseFormat reads the format parameter; "" is JSONLines.
func ParseFormat(s string) (Format, error) {
	switch Format(s) {
	case "", JSONLines:
		return JSONLines, nil
	case OpenMetrics:
		return OpenMetrics, nil
	}
	return "", fmt.Errorf("unknown format %q: want %q (default) or %q", s, JSONLines, OpenMetrics)
}

// Metadata is the TYPE and HELP of one metric family, by the family's name as its TYPE
// line gives it; ok is false for a family without metadata.
type Metadata func(family string) (typ, help string, ok bool)

// Request is what to export: the series matching any of Matchers, samples in [Start, End]
// (Unix ms, both included).
type Request struct {
	Matchers   [][]*labels.Matcher
	Start, End int64
	Format     Format
}

// Stats counts what one export wrote.
type Stats struct {
	Series, Samples int
}

// sink is one format's writer: family starts a metric family (OpenMetrics groups by
// them), series writes one series' samples, end finishes the stream.
type sink interface {
	family(name, typ, help string) error
	series(lset labels.Labels, it chunkenc.Iterator, mint, maxt int64) (int, error)
	end() error
}

// Write streams the request's samples to w. Series come grouped by metric family, then by
// metric name and label set, each with its samples in time order.
func Write(ctx context.Context, w io.Writer, q storage.Queryable, meta Metadata, r Request) (Stats, error) {
	var st Stats
	if meta == nil {
		meta = func(string) (string, string, bool) { return "", "", false }
	}
	var out sink
	switch r.Format {
	case JSONLines, "":
		out = newJSONLines(w)
	case OpenMetrics:
		out = newOpenMetrics(w)
	default:
		return st, fmt.Errorf("unknown format %q", r.Format)
	}
	names, err := metricNames(ctx, q, r)
	if err != nil {
		return st, err
	}
	for _, f := range familiesOf(names, meta) {
		if err := out.family(f.name, f.typ, f.help); err != nil {
			return st, err
		}
		for _, name := range f.names {
			if err := exportName(ctx, q, r, name, out, &st); err != nil {
				return st, err
			}
		}
	}
	return st, out.end()
}

// metricNames returns the sorted metric names of the series matching the request.
func metricNames(ctx context.Context, q storage.Queryable, r Request) ([]string, error) {
	qr, err := q.Querier(r.Start, r.End)
	if err != nil {
		return nil, err
	}
	defer qr.Close()
	var names []string
	for _, ms := range r.Matchers {
		vals, _, err := qr.LabelValues(ctx, model.MetricNameLabel, nil, ms...)
		if err != nil {
			return nil, err
		}
		names = append(names, vals...)
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// exportName writes every matching series of one metric name, from a querier of its own
// so that no read of the storage outlives one name.
func exportName(ctx context.Context, q storage.Queryable, r Request, name string, out sink, st *Stats) (err error) {
	qr, err := q.Querier(r.Start, r.End)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, qr.Close()) }()
	byName := labels.MustNewMatcher(labels.MatchEqual, model.MetricNameLabel, name)
	hints := &storage.SelectHints{Start: r.Start, End: r.End} // no step: raw samples
	sets := make([]storage.SeriesSet, 0, len(r.Matchers))
	for _, ms := range r.Matchers {
		sets = append(sets, qr.Select(ctx, true, hints, append(slices.Clip(ms), byName)...))
	}
	set := sets[0]
	if len(sets) > 1 {
		set = storage.NewMergeSeriesSet(sets, 0, storage.ChainedSeriesMerge)
	}
	var it chunkenc.Iterator
	for set.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		s := set.At()
		it = s.Iterator(it)
		n, err := out.series(s.Labels(), it, r.Start, r.End)
		if err != nil {
			return err
		}
		if n > 0 {
			st.Series++
			st.Samples += n
		}
	}
	return set.Err()
}

// nextSample advances it to its next float sample in [mint, maxt] that is not a staleness
// marker; ok is false at the end.
func nextSample(it chunkenc.Iterator, mint, maxt int64) (t int64, v float64, ok bool) {
	for vt := it.Next(); vt != chunkenc.ValNone; vt = it.Next() {
		if vt != chunkenc.ValFloat {
			continue
		}
		t, v = it.At()
		if t > maxt {
			return 0, 0, false
		}
		if t < mint || value.IsStaleNaN(v) {
			continue
		}
		return t, v, true
	}
	return 0, 0, false
}

// family is one metric family to export: its name, metadata and the metric names in it.
type family struct {
	name, typ, help string
	names           []string
}

// familiesOf groups metric names into families: a histogram's or summary's _bucket,
// _count and _sum series join the family their metadata names; every other name is a
// family of its own. Families come sorted by name, their names sorted too.
func familiesOf(names []string, meta Metadata) []family {
	var out []family
	index := map[string]int{}
	for _, name := range names {
		fam := name
		if _, _, ok := meta(name); !ok {
			for _, suffix := range []string{"_bucket", "_count", "_sum"} {
				base, cut := strings.CutSuffix(name, suffix)
				if typ, _, ok := meta(base); cut && ok && (typ == "histogram" || typ == "summary") {
					fam = base
					break
				}
			}
		}
		i, ok := index[fam]
		if !ok {
			typ, help, _ := meta(fam)
			i = len(out)
			index[fam] = i
			out = append(out, family{name: fam, typ: typ, help: help})
		}
		out[i].names = append(out[i].names, name)
	}
	slices.SortFunc(out, func(a, b family) int { return strings.Compare(a.name, b.name) })
	return out
}
