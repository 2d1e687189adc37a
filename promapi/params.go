package promapi

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/valyala/fasthttp"
)

// Request parameters are read the way Prometheus's web/api/v1 reads them, so that clients
// written for Prometheus (Grafana, promtool) get the same answers and the same errors.

var (
	// promMinTime and promMaxTime are Prometheus's defaults for an open time range.
	promMinTime = time.Unix(math.MinInt64/1000+62135596801, 0).UTC()
	promMaxTime = time.Unix(math.MaxInt64/1000-62135596801, 999999999).UTC()

	promMinTimeFormatted = promMinTime.Format(time.RFC3339Nano)
	promMaxTimeFormatted = promMaxTime.Format(time.RFC3339Nano)
)

// formValue is http.Request.FormValue for fasthttp: the URL query first, then a
// form-encoded body.
func FormValue(ctx *fasthttp.RequestCtx, name string) string {
	if v := ctx.QueryArgs().Peek(name); v != nil {
		return string(v)
	}
	return string(ctx.PostArgs().Peek(name))
}

// formValues returns every value of a repeated parameter (match[]), body values first as
// net/http's Request.Form holds them.
func FormValues(ctx *fasthttp.RequestCtx, name string) []string {
	var out []string
	for _, v := range ctx.PostArgs().PeekMulti(name) {
		out = append(out, string(v))
	}
	for _, v := range ctx.QueryArgs().PeekMulti(name) {
		out = append(out, string(v))
	}
	return out
}

func invalidParam(err error, name string) *apiError {
	return badData(fmt.Errorf("invalid parameter %q: %w", name, err))
}

func parseTimeParam(ctx *fasthttp.RequestCtx, name string, def time.Time) (time.Time, error) {
	v := FormValue(ctx, name)
	if v == "" {
		return def, nil
	}
	t, err := ParseTime(v)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid time value for '%s': %w", name, err)
	}
	return t, nil
}

// Unix seconds of the first and last instants RFC 3339 can write (years 0000 to 9999).
const (
	minUnixSeconds = -62167219200
	maxUnixSeconds = 253402300799
)

// ParseTime accepts a Unix timestamp in seconds (fractions allowed) or RFC 3339; a
// number outside years 0000 to 9999 (which RFC 3339 cannot write either) is refused.
func ParseTime(s string) (time.Time, error) {
	if t, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(t) || t < minUnixSeconds || t > maxUnixSeconds {
			return time.Time{}, fmt.Errorf("cannot parse %q to a valid timestamp: outside years 0000 to 9999", s)
		}
		sec, ns := math.Modf(t)
		ns = math.Round(ns*1000) / 1000
		return time.Unix(int64(sec), int64(ns*float64(time.Second))).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	switch s {
	case promMinTimeFormatted:
		return promMinTime, nil
	case promMaxTimeFormatted:
		return promMaxTime, nil
	}
	return time.Time{}, fmt.Errorf("cannot parse %q to a valid timestamp", s)
}

// parsePromDuration accepts float seconds or a Prometheus duration ("15s", "1h30m").
func parsePromDuration(s string) (time.Duration, error) {
	if d, err := strconv.ParseFloat(s, 64); err == nil {
		ts := d * float64(time.Second)
		if math.IsNaN(ts) || ts >= float64(math.MaxInt64) || ts < float64(math.MinInt64) {
			return 0, fmt.Errorf("cannot parse %q to a valid duration. It overflows int64", s)
		}
		return time.Duration(ts), nil
	}
	if d, err := model.ParseDuration(s); err == nil {
		return time.Duration(d), nil
	}
	return 0, fmt.Errorf("cannot parse %q to a valid duration", s)
}

// parseLimitParam returns 0 for "no limit".
func parseLimitParam(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	limit, err := strconv.Atoi(s)
	if err != nil {
		return limit, err
	}
	if limit < 0 {
		return limit, errors.New("limit must be non-negative")
	}
	return limit, nil
}

// toHintLimit asks storage for one more than the limit so that truncation can be reported.
func toHintLimit(limit int) int {
	if limit > 0 && limit < math.MaxInt {
		return limit + 1
	}
	return limit
}

func queryTimeoutParam(ctx *fasthttp.RequestCtx) (time.Duration, *apiError) {
	v := FormValue(ctx, "timeout")
	if v == "" {
		return 0, nil
	}
	d, err := parsePromDuration(v)
	if err != nil {
		return 0, invalidParam(err, "timeout")
	}
	if d <= 0 {
		return 0, invalidParam(fmt.Errorf("timeout must be positive, got %s", d), "timeout")
	}
	return d, nil
}

func lookbackDeltaParam(ctx *fasthttp.RequestCtx) (time.Duration, error) {
	v := FormValue(ctx, "lookback_delta")
	if v == "" {
		return 0, nil
	}
	d, err := parsePromDuration(v)
	if err != nil {
		return 0, fmt.Errorf("error parsing lookback delta duration: %w", err)
	}
	return d, nil
}

// parseMatchers parses match[] selectors and refuses a set that would select every series.
func (a *API) parseMatchers(in []string) ([][]*labels.Matcher, error) {
	sets, err := a.parser.ParseMetricSelectors(in)
	if err != nil {
		return nil, err
	}
outer:
	for _, ms := range sets {
		for _, m := range ms {
			if m != nil && !m.Matches("") {
				continue outer
			}
		}
		return nil, errors.New("match[] must contain at least one non-empty matcher")
	}
	return sets, nil
}
