package promapi

import (
	"context"
	"errors"
	"time"

	jsoniter "github.com/json-iterator/go"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/valyala/fasthttp"
)

func (a *API) query(ctx *fasthttp.RequestCtx) result {
	limit, err := parseLimitParam(formValue(ctx, "limit"))
	if err != nil {
		return result{err: invalidParam(err, "limit")}
	}
	ts, err := parseTimeParam(ctx, "time", time.Now())
	if err != nil {
		return result{err: invalidParam(err, "time")}
	}
	return a.runQuery(ctx, limit, func(qc context.Context, opts promql.QueryOpts, qs string) (promql.Query, error) {
		return a.engine.NewInstantQuery(qc, a.queryable, opts, qs, ts)
	})
}

func (a *API) queryRange(ctx *fasthttp.RequestCtx) result {
	limit, err := parseLimitParam(formValue(ctx, "limit"))
	if err != nil {
		return result{err: invalidParam(err, "limit")}
	}
	start, err := parsePromTime(formValue(ctx, "start"))
	if err != nil {
		return result{err: invalidParam(err, "start")}
	}
	end, err := parsePromTime(formValue(ctx, "end"))
	if err != nil {
		return result{err: invalidParam(err, "end")}
	}
	if end.Before(start) {
		return result{err: invalidParam(errors.New("end timestamp must not be before start time"), "end")}
	}
	step, err := parsePromDuration(formValue(ctx, "step"))
	if err != nil {
		return result{err: invalidParam(err, "step")}
	}
	if step <= 0 {
		return result{err: invalidParam(errors.New("zero or negative query resolution step widths are not accepted. Try a positive integer"), "step")}
	}
	if end.Sub(start)/step > maxPointsPerSeries {
		return result{err: badData(errors.New("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"))}
	}
	return a.runQuery(ctx, limit, func(qc context.Context, opts promql.QueryOpts, qs string) (promql.Query, error) {
		return a.engine.NewRangeQuery(qc, a.queryable, opts, qs, start, end, step)
	})
}

// runQuery takes a turn, builds the query under the request's timeout and lookback, bounds
// its evaluation points, then runs it.
func (a *API) runQuery(ctx *fasthttp.RequestCtx, limit int, build func(context.Context, promql.QueryOpts, string) (promql.Query, error)) result {
	qc, cancel, perr := a.requestContext(ctx)
	if perr != nil {
		return result{err: perr}
	}
	d, err := lookbackDeltaParam(ctx)
	if err != nil {
		cancel()
		return result{err: badData(err)}
	}
	if a.queryable == nil {
		cancel()
		return result{err: errStorageOff}
	}
	leave, perr := a.gate.enter(qc)
	if perr != nil {
		cancel()
		return result{err: perr}
	}
	done := func() { leave(); cancel() }
	qs := formValue(ctx, "query")
	if err := checkText(qs, a.limits); err != nil { // before the engine parses it
		done()
		return result{err: invalidParam(err, "query")}
	}
	qry, err := build(qc, promql.NewPrometheusQueryOpts(false, d, nil), qs)
	if err != nil {
		done()
		return result{err: queryConstructionError(err)}
	}
	if err := checkPoints(qry.Statement().(*parser.EvalStmt), a.limits); err != nil {
		qry.Close()
		done()
		return result{err: badData(err)}
	}
	res := a.run(qc, qry, qs, limit)
	final := res.finalize
	res.finalize = func() { final(); done() }
	return res
}

// run executes a built query; the result's finalizer closes it once the body is written,
// because the value's memory is pooled by the engine.
func (a *API) run(ctx context.Context, qry promql.Query, qs string, limit int) result {
	res := qry.Exec(ctx)
	if res.Err != nil {
		return result{err: execError(res.Err), warnings: res.Warnings, query: qs, finalize: qry.Close}
	}
	warnings := res.Warnings
	if limit > 0 && truncateResult(res, limit) {
		warnings = warnings.Add(errTruncated)
	}
	v := res.Value
	return result{data: func(st *jsoniter.Stream) { writeQueryData(st, v) }, warnings: warnings, query: qs, finalize: qry.Close}
}

func truncateResult(res *promql.Result, limit int) bool {
	switch v := res.Value.(type) {
	case promql.Matrix:
		if len(v) > limit {
			res.Value = v[:limit]
			return true
		}
	case promql.Vector:
		if len(v) > limit {
			res.Value = v[:limit]
			return true
		}
	}
	return false
}
