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
	limit, err := parseLimitParam(FormValue(ctx, "limit"))
	if err != nil {
		return result{err: invalidParam(err, "limit")}
	}
	ts, err := parseTimeParam(ctx, "time", time.Now())
	if err != nil {
		return result{err: invalidParam(err, "time")}
	}
	return a.runQuery(ctx, limit, ts, ts, 0)
}

func (a *API) queryRange(ctx *fasthttp.RequestCtx) result {
	limit, err := parseLimitParam(FormValue(ctx, "limit"))
	if err != nil {
		return result{err: invalidParam(err, "limit")}
	}
	start, err := ParseTime(FormValue(ctx, "start"))
	if err != nil {
		return result{err: invalidParam(err, "start")}
	}
	end, err := ParseTime(FormValue(ctx, "end"))
	if err != nil {
		return result{err: invalidParam(err, "end")}
	}
	if end.Before(start) {
		return result{err: invalidParam(errors.New("end timestamp must not be before start time"), "end")}
	}
	step, err := parsePromDuration(FormValue(ctx, "step"))
	if err != nil {
		return result{err: invalidParam(err, "step")}
	}
	if step <= 0 {
		return result{err: invalidParam(errors.New("zero or negative query resolution step widths are not accepted. Try a positive integer"), "step")}
	}
	if end.Sub(start)/step > maxPointsPerSeries {
		return result{err: badData(errors.New("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"))}
	}
	if a.cache != nil {
		return a.runCached(ctx, limit, start, end, step)
	}
	return a.runQuery(ctx, limit, start, end, step)
}

// admitted is a query request past its parameters and its turn: the context it runs under,
// its lookback and text, and done, which gives the turn back.
type admitted struct {
	ctx      context.Context
	lookback time.Duration
	qs       string
	done     func()
}

// admit reads the timeout and lookback, bounds the text and waits for a turn.
func (a *API) admit(ctx *fasthttp.RequestCtx) (admitted, *apiError) {
	qc, cancel, perr := a.requestContext(ctx)
	if perr != nil {
		return admitted{}, perr
	}
	d, err := lookbackDeltaParam(ctx)
	if err != nil {
		cancel()
		return admitted{}, badData(err)
	}
	if a.queryable == nil {
		cancel()
		return admitted{}, errStorageOff
	}
	qs := FormValue(ctx, "query")
	if err := checkText(qs, a.limits); err != nil { // before the engine parses it
		cancel()
		return admitted{}, invalidParam(err, "query")
	}
	leave, perr := a.gate.enter(qc)
	if perr != nil {
		cancel()
		return admitted{}, perr
	}
	return admitted{ctx: qc, lookback: d, qs: qs, done: func() { leave(); cancel() }}, nil
}

// newQuery makes the query of [start, end] and bounds its evaluation points over [from, end]:
// the whole range asked, even when only its tail is evaluated.
func (a *API) newQuery(q admitted, from, start, end time.Time, step time.Duration) (promql.Query, *apiError) {
	opts := promql.NewPrometheusQueryOpts(false, q.lookback, nil)
	var qry promql.Query
	var err error
	if step == 0 {
		qry, err = a.engine.NewInstantQuery(q.ctx, a.queryable, opts, q.qs, start)
	} else {
		qry, err = a.engine.NewRangeQuery(q.ctx, a.queryable, opts, q.qs, start, end, step)
	}
	if err != nil {
		return nil, queryConstructionError(err)
	}
	stmt := *qry.Statement().(*parser.EvalStmt)
	stmt.Start = from
	if err := checkPoints(&stmt, a.limits); err != nil {
		qry.Close()
		return nil, badData(err)
	}
	return qry, nil
}

// runQuery answers an instant query (step 0) or a range query evaluated whole.
func (a *API) runQuery(ctx *fasthttp.RequestCtx, limit int, start, end time.Time, step time.Duration) result {
	q, perr := a.admit(ctx)
	if perr != nil {
		return result{err: perr}
	}
	qry, perr := a.newQuery(q, start, start, end, step)
	if perr != nil {
		q.done()
		return result{err: perr}
	}
	res := a.run(q.ctx, qry, q.qs, limit)
	final := res.finalize
	res.finalize = func() { final(); q.done() }
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
