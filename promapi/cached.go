package promapi

import (
	"maps"
	"slices"
	"time"

	jsoniter "github.com/json-iterator/go"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/util/annotations"
	"github.com/valyala/fasthttp"
)

// runCached answers a range query from the cache's final points and evaluates only the steps
// after them, then keeps the steps now final for the next request. Annotations may describe
// the steps evaluated (histogram_quantile's monotonicity info names their range and a sample
// count the engine does not add up exactly): a tail keeps the cached annotations when it has
// none and the cache holds exactly the steps before it, or when its own read the same;
// otherwise it is thrown away and the whole range evaluated, so the answer is always the one
// a whole evaluation gives, and the query is remembered as direct: its next requests are
// evaluated whole at once, without a tail first.
func (a *API) runCached(ctx *fasthttp.RequestCtx, limit int, start, end time.Time, step time.Duration) result {
	if step%time.Millisecond != 0 {
		return a.runQuery(ctx, limit, start, end, step)
	}
	q, perr := a.admit(ctx)
	if perr != nil {
		return result{err: perr}
	}
	defer q.done()
	stepMs, startMs, endMs := step.Milliseconds(), start.UnixMilli(), end.UnixMilli()
	key := cacheKey{query: q.qs, step: step, lookback: q.lookback, phase: startMs % stepMs}
	watermark, gen := a.watermark()

	var matrix promql.Matrix
	var warnings annotations.Annotations
	hit, rangeDependent := false, false
	entry := a.cache.get(key, gen, startMs)
	if entry != nil && entry.direct {
		a.cache.misses.Add(1)
		return a.runDirect(q, limit, start, end, step)
	}
	if entry != nil {
		held := window(entry.series, startMs, min(endMs, entry.end))
		if evalFrom := entry.end + stepMs; evalFrom > endMs {
			// The same steps as cached: their annotations, unless the range starts elsewhere.
			hit = len(entry.warnings) == 0 || startMs == entry.start
			matrix, warnings = joinMatrix(held, nil), entry.warnings
		} else {
			tail, ws, perr := a.evalRange(q, start, time.UnixMilli(evalFrom), end, step)
			if perr != nil {
				return result{err: perr, warnings: ws, query: q.qs}
			}
			matrix, warnings = joinMatrix(held, tail), ws
			switch {
			case startMs == entry.start && len(ws) == 0: // the tail adds nothing to the cached steps
				warnings, hit = entry.warnings, true
			default:
				hit = sameAnnotations(entry.warnings, ws, q.qs)
				rangeDependent = !hit
			}
		}
	}
	if hit {
		a.cache.hits.Add(1)
	} else {
		qry, perr := a.newQuery(q, start, start, end, step)
		if perr != nil {
			return result{err: perr}
		}
		if !cacheable(qry.Statement().(*parser.EvalStmt).Expr) {
			return a.runRendered(q, qry, limit)
		}
		a.cache.misses.Add(1)
		var perr2 *apiError
		if matrix, warnings, perr2 = a.exec(q, qry); perr2 != nil {
			return result{err: perr2, warnings: warnings, query: q.qs}
		}
	}
	if points(matrix) > a.maxSamples {
		return result{err: execError(promql.ErrTooManySamples("query execution")), query: q.qs}
	}
	if rangeDependent {
		a.cache.put(&cacheEntry{key: key, direct: true}, gen)
	} else {
		a.keep(key, gen, matrix, warnings, startMs, endMs, stepMs, watermark)
	}
	if limit > 0 && len(matrix) > limit {
		matrix = matrix[:limit]
		warnings = maps.Clone(warnings)
		warnings.Add(errTruncated)
	}
	return result{data: func(st *jsoniter.Stream) { writeQueryData(st, matrix) }, warnings: warnings, query: q.qs}
}

// runDirect evaluates a range query whole, without the cache.
func (a *API) runDirect(q admitted, limit int, start, end time.Time, step time.Duration) result {
	qry, perr := a.newQuery(q, start, start, end, step)
	if perr != nil {
		return result{err: perr}
	}
	return a.runRendered(q, qry, limit)
}

// runRendered runs qry and renders its answer before the query's memory and the turn are
// given back.
func (a *API) runRendered(q admitted, qry promql.Query, limit int) result {
	res := a.run(q.ctx, qry, q.qs, limit)
	out := rendered(res)
	res.finalize()
	return out
}

// evalRange evaluates [start, end] of a query asked over [from, end], owning the answer.
func (a *API) evalRange(q admitted, from, start, end time.Time, step time.Duration) (promql.Matrix, annotations.Annotations, *apiError) {
	qry, perr := a.newQuery(q, from, start, end, step)
	if perr != nil {
		return nil, nil, perr
	}
	return a.exec(q, qry)
}

// exec runs a range query and copies its matrix out of the engine's memory.
func (a *API) exec(q admitted, qry promql.Query) (promql.Matrix, annotations.Annotations, *apiError) {
	defer qry.Close()
	out := qry.Exec(q.ctx)
	if out.Err != nil {
		return nil, out.Warnings, execError(out.Err)
	}
	m, _ := out.Value.(promql.Matrix)
	return ownedMatrix(m), out.Warnings, nil
}

// sameAnnotations tells whether two sets of annotations read the same, as written for qs.
func sameAnnotations(x, y annotations.Annotations, qs string) bool {
	if len(x) != len(y) {
		return false
	}
	xw, xi := x.AsStrings(qs, len(x), len(x))
	yw, yi := y.AsStrings(qs, len(y), len(y))
	slices.Sort(xw)
	slices.Sort(xi)
	slices.Sort(yw)
	slices.Sort(yi)
	return slices.Equal(xw, yw) && slices.Equal(xi, yi)
}

// keep caches the steps of matrix at or before the watermark.
func (a *API) keep(key cacheKey, gen uint64, matrix promql.Matrix, warnings annotations.Annotations, startMs, endMs, stepMs, watermark int64) {
	last := min(endMs, watermark)
	last -= (last - startMs) % stepMs // the last step of the grid at or before it
	if last < startMs {
		return
	}
	a.cache.put(&cacheEntry{key: key, start: startMs, end: last, series: window(matrix, startMs, last), warnings: maps.Clone(warnings)}, gen)
}

// rendered turns a result whose data borrows the engine's memory into one that owns its
// bytes and has nothing left to finalize; the caller still finalizes res.
func rendered(res result) result {
	res.finalize = nil
	if res.data == nil {
		return res
	}
	st := jsonAPI.BorrowStream(nil)
	res.data(st)
	body := string(st.Buffer())
	jsonAPI.ReturnStream(st)
	res.data = func(s *jsoniter.Stream) { s.WriteRaw(body) }
	return res
}
