package export

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/valyala/fasthttp"

	"github.com/gemini-flow/gemini-flow/promapi"
)

// Content types of the two formats.
const (
	contentTypeJSONLines   = "application/stream+json; charset=utf-8"
	contentTypeOpenMetrics = "application/openmetrics-text; version=1.0.0; charset=utf-8"
)

// maxMatchers bounds the match[] parameters of one request.
const maxMatchers = 64

// minTime is where an export without start begins: Prometheus's earliest timestamp.
var minTime = time.Unix(math.MinInt64/1000+62135596801, 0).UTC().UnixMilli()

// HandlerOptions configures Handler.
type HandlerOptions struct {
	Queryable storage.Queryable // nil: every request is answered 503 (history off)
	Metadata  Metadata
	Base      context.Context // exports end with it; nil: never
	Now       func() time.Time
	Logger    *slog.Logger
}

// Handler answers GET (and form POST) /api/v1/export: match[] (one or more, required),
// start and end (Unix seconds or RFC 3339; default: everything up to now) and format
// (jsonl, the default, or openmetrics). Bad parameters get 400 in Prometheus's error shape;
// the body is streamed as it is read.
func Handler(o HandlerOptions) fasthttp.RequestHandler {
	if o.Base == nil {
		o.Base = context.Background()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	p := parser.NewParser(parser.Options{})
	return func(ctx *fasthttp.RequestCtx) {
		if o.Queryable == nil {
			promapi.Unavailable(ctx, errors.New("the metrics history is turned off (history interval 0)"))
			return
		}
		req, err := parseRequest(ctx, p, o.Now())
		if err != nil {
			promapi.BadData(ctx, err)
			return
		}
		ctype := contentTypeJSONLines
		if req.Format == OpenMetrics {
			ctype = contentTypeOpenMetrics
		}
		ctx.SetStatusCode(fasthttp.StatusOK)
		ctx.SetContentType(ctype)
		ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
			began := time.Now()
			st, err := Write(o.Base, w, o.Queryable, o.Metadata, req)
			if err == nil {
				err = w.Flush()
			}
			if err != nil {
				// Headers are gone; the truncated chunked stream tells the client it failed.
				o.Logger.Error("export failed", "format", string(req.Format), "series", st.Series, "samples", st.Samples, "err", err)
				return
			}
			o.Logger.Info("export", "format", string(req.Format), "series", st.Series, "samples", st.Samples, "duration_ms", time.Since(began).Milliseconds())
		})
	}
}

// parseRequest reads and checks the parameters.
func parseRequest(ctx *fasthttp.RequestCtx, p parser.Parser, now time.Time) (Request, error) {
	var r Request
	var err error
	if r.Format, err = ParseFormat(promapi.FormValue(ctx, "format")); err != nil {
		return r, invalidParam("format", err)
	}
	if r.Start, err = parseTime(promapi.FormValue(ctx, "start"), minTime); err != nil {
		return r, invalidParam("start", err)
	}
	if r.End, err = parseTime(promapi.FormValue(ctx, "end"), now.UnixMilli()); err != nil {
		return r, invalidParam("end", err)
	}
	if r.End < r.Start {
		return r, invalidParam("end", errors.New("end timestamp must not be before start time"))
	}
	if r.Matchers, err = parseMatchers(p, promapi.FormValues(ctx, "match[]")); err != nil {
		return r, invalidParam("match[]", err)
	}
	return r, nil
}

func invalidParam(name string, err error) error {
	return fmt.Errorf("invalid parameter %q: %w", name, err)
}

// parseTime reads a timestamp as the query API does, returning Unix ms; "" is def.
func parseTime(s string, def int64) (int64, error) {
	if s == "" {
		return def, nil
	}
	t, err := promapi.ParseTime(s)
	if err != nil {
		return 0, err
	}
	return t.UnixMilli(), nil
}

// parseMatchers parses match[] and refuses none, too many, or a selector that would match
// every series, as Prometheus does.
func parseMatchers(p parser.Parser, in []string) ([][]*labels.Matcher, error) {
	switch {
	case len(in) == 0:
		return nil, errors.New("at least one match[] selector is required")
	case len(in) > maxMatchers:
		return nil, fmt.Errorf("at most %d match[] selectors are allowed, got %d", maxMatchers, len(in))
	}
	sets, err := p.ParseMetricSelectors(in)
	if err != nil {
		return nil, err
	}
	for _, ms := range sets {
		empty := true
		for _, m := range ms {
			if !m.Matches("") {
				empty = false
				break
			}
		}
		if empty {
			return nil, errors.New("match[] must contain at least one non-empty matcher")
		}
	}
	return sets, nil
}
