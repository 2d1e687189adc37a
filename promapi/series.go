package promapi

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	jsoniter "github.com/json-iterator/go"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"
	"github.com/valyala/fasthttp"
)

// matchedRange is what the metadata-style endpoints read from the request.
type matchedRange struct {
	start, end time.Time
	sets       [][]*labels.Matcher
	limit      int
}

// matchRange reads limit, start, end and match[] shared by the metadata-style endpoints.
// A bad match[] is reported as onBadMatch says: /series names the parameter, the label
// endpoints do not (as in Prometheus).
func (a *API) matchRange(ctx *fasthttp.RequestCtx, onBadMatch func(error) *apiError) (matchedRange, *apiError) {
	var r matchedRange
	var err error
	if r.limit, err = parseLimitParam(FormValue(ctx, "limit")); err != nil {
		return r, invalidParam(err, "limit")
	}
	if r.start, err = parseTimeParam(ctx, "start", promMinTime); err != nil {
		return r, invalidParam(err, "start")
	}
	if r.end, err = parseTimeParam(ctx, "end", promMaxTime); err != nil {
		return r, invalidParam(err, "end")
	}
	matches := FormValues(ctx, "match[]")
	if len(matches) > a.limits.MaxMatchers {
		return r, badData(fmt.Errorf("%d match[] parameters, over the limit of %d (--query-max-match)", len(matches), a.limits.MaxMatchers))
	}
	for _, m := range matches {
		if err := checkText(m, a.limits); err != nil {
			return r, onBadMatch(err)
		}
	}
	if r.sets, err = a.parseMatchers(matches); err != nil {
		return r, onBadMatch(err)
	}
	return r, nil
}

// errTooManySeries answers a /series or label request whose answer would pass the samples limit.
func errTooManySeries(limit int) *apiError {
	return executionError(fmt.Errorf("the answer would hold more than %d series or names, the query samples limit; narrow match[] or set limit", limit))
}

func (a *API) series(ctx *fasthttp.RequestCtx) result {
	if len(FormValues(ctx, "match[]")) == 0 {
		return result{err: badData(errors.New("no match[] parameter provided"))}
	}
	onBadMatch := func(err error) *apiError { return invalidParam(err, "match[]") }
	return a.withQuerier(ctx, onBadMatch, execError, func(qc context.Context, q storage.Querier, r matchedRange) result {
		hints := &storage.SelectHints{Start: r.start.UnixMilli(), End: r.end.UnixMilli(), Func: "series", Limit: toHintLimit(r.limit)}
		var set storage.SeriesSet
		if len(r.sets) > 1 {
			all := make([]storage.SeriesSet, 0, len(r.sets))
			for _, ms := range r.sets {
				if err := qc.Err(); err != nil {
					return result{err: timedOut(err, "series and label lookup")}
				}
				all = append(all, q.Select(qc, true, hints, ms...))
			}
			set = storage.NewMergeSeriesSet(all, 0, storage.ChainedSeriesMerge)
		} else {
			set = q.Select(qc, false, hints, r.sets[0]...)
		}
		metrics := []labels.Labels{}
		warnings := set.Warnings()
		for set.Next() {
			if len(metrics)%1024 == 0 && qc.Err() != nil {
				return result{err: timedOut(qc.Err(), "series and label lookup"), warnings: warnings}
			}
			metrics = append(metrics, set.At().Labels())
			if r.limit > 0 && len(metrics) > r.limit {
				metrics = metrics[:r.limit]
				warnings = warnings.Add(errTruncated)
				break
			}
			if len(metrics) > a.maxSamples {
				return result{err: errTooManySeries(a.maxSamples), warnings: warnings}
			}
		}
		if err := set.Err(); err != nil {
			return result{err: execError(err), warnings: warnings}
		}
		return result{data: func(st *jsoniter.Stream) { writeLabelSets(st, metrics) }, warnings: warnings}
	})
}

// withQuerier reads the request's range and match[] sets, takes a turn, opens a querier over
// that range under the API's timeout and hands all to fn. onBadMatch maps a bad match[];
// querierErr a failure to open the querier.
func (a *API) withQuerier(ctx *fasthttp.RequestCtx, onBadMatch, querierErr func(error) *apiError, fn func(context.Context, storage.Querier, matchedRange) result) result {
	r, perr := a.matchRange(ctx, onBadMatch)
	if perr != nil {
		return result{err: perr}
	}
	if a.queryable == nil {
		return result{err: errStorageOff}
	}
	qc, cancel, perr := a.requestContext(ctx)
	if perr != nil {
		return result{err: perr}
	}
	defer cancel()
	leave, perr := a.gate.enter(qc)
	if perr != nil {
		return result{err: perr}
	}
	defer leave()
	q, err := a.queryable.Querier(r.start.UnixMilli(), r.end.UnixMilli())
	if err != nil {
		return result{err: querierErr(err)}
	}
	defer q.Close()
	res := fn(qc, q, r)
	if res.err == nil && qc.Err() != nil {
		return result{err: timedOut(qc.Err(), "series and label lookup")}
	}
	return res
}

func (a *API) labelNames(ctx *fasthttp.RequestCtx) result {
	return a.labelQuery(ctx, execError, func(qc context.Context, q storage.Querier, hints *storage.LabelHints, ms []*labels.Matcher) ([]string, annotations.Annotations, error) {
		return q.LabelNames(qc, hints, ms...)
	})
}

func (a *API) labelValues(ctx *fasthttp.RequestCtx) result {
	name, _ := ctx.UserValue("name").(string)
	if strings.HasPrefix(name, "U__") {
		name = model.UnescapeName(name, model.ValueEncodingEscaping)
	}
	if !model.UTF8Validation.IsValidLabelName(name) {
		return result{err: badData(fmt.Errorf("invalid label name: %q", name))}
	}
	// Prometheus reports any querier error here as an execution error, unmapped.
	return a.labelQuery(ctx, executionError, func(qc context.Context, q storage.Querier, hints *storage.LabelHints, ms []*labels.Matcher) ([]string, annotations.Annotations, error) {
		return q.LabelValues(qc, name, hints, ms...)
	})
}

// labelLookup is one label-name or label-value lookup over a matcher set.
type labelLookup func(context.Context, storage.Querier, *storage.LabelHints, []*labels.Matcher) ([]string, annotations.Annotations, error)

// labelQuery answers the label endpoints: one querier over the requested range, the sorted
// union of lookup over the match[] sets, cut to the limit. querierErr maps a failure to open
// the querier.
func (a *API) labelQuery(ctx *fasthttp.RequestCtx, querierErr func(error) *apiError, lookup labelLookup) result {
	return a.withQuerier(ctx, badData, querierErr, func(qc context.Context, q storage.Querier, r matchedRange) result {
		hints := &storage.LabelHints{Limit: toHintLimit(r.limit)}
		vals, warnings, err := collectLabels(qc, r.sets, func(ms []*labels.Matcher) ([]string, annotations.Annotations, error) {
			return lookup(qc, q, hints, ms)
		})
		if err != nil {
			if qc.Err() != nil {
				return result{err: timedOut(qc.Err(), "series and label lookup"), warnings: warnings}
			}
			return result{err: executionError(err), warnings: warnings}
		}
		if r.limit > 0 && len(vals) > r.limit {
			vals = vals[:r.limit]
			warnings = warnings.Add(errTruncated)
		}
		if len(vals) > a.maxSamples {
			return result{err: errTooManySeries(a.maxSamples), warnings: warnings}
		}
		return result{data: func(st *jsoniter.Stream) { writeStrings(st, vals) }, warnings: warnings}
	})
}

// collectLabels runs a label lookup once per matcher set (or once with none) and returns
// the sorted union, never nil; it stops when ctx ends.
func collectLabels(ctx context.Context, sets [][]*labels.Matcher, lookup func([]*labels.Matcher) ([]string, annotations.Annotations, error)) ([]string, annotations.Annotations, error) {
	if len(sets) <= 1 {
		var ms []*labels.Matcher
		if len(sets) == 1 {
			ms = sets[0]
		}
		vals, warnings, err := lookup(ms)
		if err != nil {
			return nil, warnings, err
		}
		vals = slices.Clone(vals)
		if vals == nil {
			vals = []string{}
		}
		slices.Sort(vals)
		return vals, warnings, nil
	}
	var warnings annotations.Annotations
	seen := map[string]struct{}{}
	for _, ms := range sets {
		if err := ctx.Err(); err != nil {
			return nil, warnings, err
		}
		vals, w, err := lookup(ms)
		if err != nil {
			return nil, warnings, err
		}
		warnings.Merge(w)
		for _, v := range vals {
			seen[v] = struct{}{}
		}
	}
	return sortedKeys(seen), warnings, nil
}

func (a *API) metricMetadata(ctx *fasthttp.RequestCtx) result {
	limit := -1
	if s := FormValue(ctx, "limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return result{err: badData(errors.New("limit must be a number"))}
		}
		limit = n
	}
	if s := FormValue(ctx, "limit_per_metric"); s != "" {
		if _, err := strconv.Atoi(s); err != nil {
			return result{err: badData(errors.New("limit_per_metric must be a number"))}
		}
	}
	all := a.metadata()
	metric := FormValue(ctx, "metric")
	names := make([]string, 0, len(all))
	for _, n := range sortedKeys(all) {
		if metric == "" || n == metric {
			names = append(names, n)
		}
	}
	if limit >= 0 && len(names) > limit {
		names = names[:limit]
	}
	out := make(map[string][]Metadata, len(names))
	for _, n := range names {
		out[n] = all[n]
	}
	return result{data: func(st *jsoniter.Stream) { st.WriteVal(out) }}
}

func (a *API) buildInfo(*fasthttp.RequestCtx) result {
	b := a.build
	return result{data: func(st *jsoniter.Stream) { st.WriteVal(b) }}
}
