package promapi

import (
	"errors"
	"os"
	"runtime"
	"runtime/debug"
	"time"

	jsoniter "github.com/json-iterator/go"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/valyala/fasthttp"
)

// The endpoints below complete what Grafana's Prometheus data source, Explore and query
// editor ask of a server, answered as Prometheus answers them.

// runtimeInfo is /api/v1/status/runtimeinfo's data, Prometheus's RuntimeInfo.
type runtimeInfo struct {
	StartTime           time.Time `json:"startTime"`
	CWD                 string    `json:"CWD"`
	Hostname            string    `json:"hostname"`
	ServerTime          time.Time `json:"serverTime"`
	ReloadConfigSuccess bool      `json:"reloadConfigSuccess"`
	LastConfigTime      time.Time `json:"lastConfigTime"`
	CorruptionCount     int64     `json:"corruptionCount"`
	GoroutineCount      int       `json:"goroutineCount"`
	GOMAXPROCS          int       `json:"GOMAXPROCS"`
	GOMEMLIMIT          int64     `json:"GOMEMLIMIT"`
	GOGC                string    `json:"GOGC"`
	GODEBUG             string    `json:"GODEBUG"`
	StorageRetention    string    `json:"storageRetention"`
}

// queryExemplars answers that no series carries exemplars: the history keeps none. As in
// Prometheus, a query without selectors answers without data.
func (a *API) queryExemplars(ctx *fasthttp.RequestCtx) result {
	start, err := parseTimeParam(ctx, "start", promMinTime)
	if err != nil {
		return result{err: invalidParam(err, "start")}
	}
	end, err := parseTimeParam(ctx, "end", promMaxTime)
	if err != nil {
		return result{err: invalidParam(err, "end")}
	}
	if end.Before(start) {
		return result{err: badData(errors.New("end timestamp must not be before start timestamp"))}
	}
	expr, err := a.parser.ParseExpr(FormValue(ctx, "query"))
	if err != nil {
		return result{err: badData(err)}
	}
	if len(parser.ExtractSelectors(expr)) == 0 {
		return result{}
	}
	return result{data: func(st *jsoniter.Stream) { st.WriteRaw(`[]`) }}
}

// formatQuery answers the query pretty-printed by Prometheus's own printer.
func (a *API) formatQuery(ctx *fasthttp.RequestCtx) result {
	expr, err := a.parser.ParseExpr(FormValue(ctx, "query"))
	if err != nil {
		return result{err: invalidParam(err, "query")}
	}
	s := expr.Pretty(0)
	return result{data: func(st *jsoniter.Stream) { st.WriteStringWithHTMLEscaped(s) }}
}

func (a *API) runtimeInfo(*fasthttp.RequestCtx) result {
	info := runtimeInfo{
		StartTime:           a.started.UTC(),
		ServerTime:          time.Now().UTC(),
		ReloadConfigSuccess: true,
		LastConfigTime:      a.started.UTC(),
		GoroutineCount:      runtime.NumGoroutine(),
		GOMAXPROCS:          runtime.GOMAXPROCS(0),
		GOMEMLIMIT:          debug.SetMemoryLimit(-1),
		GOGC:                os.Getenv("GOGC"),
		GODEBUG:             os.Getenv("GODEBUG"),
	}
	if a.retention > 0 {
		info.StorageRetention = a.retention.String()
	}
	info.CWD, _ = os.Getwd()
	host, err := os.Hostname()
	if err != nil {
		return result{err: &apiError{typ: errInternal, err: err}}
	}
	info.Hostname = host
	return result{data: func(st *jsoniter.Stream) { st.WriteVal(info) }}
}

func (a *API) statusFlags(*fasthttp.RequestCtx) result {
	flags := a.flags
	if flags == nil {
		flags = map[string]string{}
	}
	return result{data: func(st *jsoniter.Stream) { st.WriteVal(flags) }}
}
