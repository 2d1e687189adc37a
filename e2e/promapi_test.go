package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sample is one point of a query result.
type sample struct {
	T float64 // seconds
	V float64
}

// series is one labelled result of an instant or range query.
type series struct {
	Metric map[string]string
	Points []sample
}

// key is the series' label set, sorted, as one comparable string.
func (s series) key() string { return labelKey(s.Metric) }

func labelKey(m map[string]string) string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteByte('{')
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", n, m[n])
	}
	b.WriteByte('}')
	return b.String()
}

// apiResponse is the Prometheus HTTP API envelope.
type apiResponse struct {
	Status    string          `json:"status"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
	Data      json.RawMessage `json:"data"`
}

// apiGet calls a Prometheus-compatible HTTP API (Prometheus, VictoriaMetrics or the binary)
// and returns its data, or an error carrying the API's own error text.
func apiGet(base, path string, params url.Values) (json.RawMessage, error) {
	resp, err := httpClient.Get(base + path + "?" + params.Encode())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var r apiResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("GET %s: status %d, not JSON: %.300s", path, resp.StatusCode, body)
	}
	if resp.StatusCode != http.StatusOK || r.Status != "success" {
		return nil, fmt.Errorf("GET %s?%s: status %d: %s: %s", path, params.Encode(), resp.StatusCode, r.ErrorType, r.Error)
	}
	return r.Data, nil
}

// queryResult is the data of /api/v1/query and /api/v1/query_range.
type queryResult struct {
	ResultType string          `json:"resultType"`
	Result     json.RawMessage `json:"result"`
}

// instantQuery evaluates expr at ts (zero: server's now) and returns the vector (a scalar
// becomes one series without labels).
func instantQuery(base, expr string, ts time.Time) ([]series, error) {
	params := url.Values{"query": {expr}}
	if !ts.IsZero() {
		params.Set("time", formatTime(ts))
	}
	data, err := apiGet(base, "/api/v1/query", params)
	if err != nil {
		return nil, err
	}
	return decodeResult(data)
}

// rangeQuery evaluates expr over [start, end] every step.
func rangeQuery(base, expr string, start, end time.Time, step time.Duration) ([]series, error) {
	params := url.Values{
		"query": {expr},
		"start": {formatTime(start)},
		"end":   {formatTime(end)},
		"step":  {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)},
	}
	data, err := apiGet(base, "/api/v1/query_range", params)
	if err != nil {
		return nil, err
	}
	return decodeResult(data)
}

func formatTime(ts time.Time) string {
	return strconv.FormatFloat(float64(ts.UnixMilli())/1000, 'f', 3, 64)
}

func decodeResult(data json.RawMessage) ([]series, error) {
	var qr queryResult
	if err := json.Unmarshal(data, &qr); err != nil {
		return nil, fmt.Errorf("query data: %w", err)
	}
	switch qr.ResultType {
	case "vector":
		var raw []struct {
			Metric map[string]string `json:"metric"`
			Value  []any             `json:"value"`
		}
		if err := json.Unmarshal(qr.Result, &raw); err != nil {
			return nil, err
		}
		out := make([]series, 0, len(raw))
		for _, r := range raw {
			p, err := decodePoint(r.Value)
			if err != nil {
				return nil, err
			}
			out = append(out, series{Metric: r.Metric, Points: []sample{p}})
		}
		return out, nil
	case "matrix":
		var raw []struct {
			Metric map[string]string `json:"metric"`
			Values [][]any           `json:"values"`
		}
		if err := json.Unmarshal(qr.Result, &raw); err != nil {
			return nil, err
		}
		out := make([]series, 0, len(raw))
		for _, r := range raw {
			s := series{Metric: r.Metric}
			for _, v := range r.Values {
				p, err := decodePoint(v)
				if err != nil {
					return nil, err
				}
				s.Points = append(s.Points, p)
			}
			out = append(out, s)
		}
		return out, nil
	case "scalar":
		var raw []any
		if err := json.Unmarshal(qr.Result, &raw); err != nil {
			return nil, err
		}
		p, err := decodePoint(raw)
		if err != nil {
			return nil, err
		}
		return []series{{Metric: map[string]string{}, Points: []sample{p}}}, nil
	default:
		return nil, fmt.Errorf("unexpected result type %q", qr.ResultType)
	}
}

// decodePoint reads [<unix seconds>, "<value>"], where the value may be "NaN" or "+Inf".
func decodePoint(v []any) (sample, error) {
	if len(v) != 2 {
		return sample{}, fmt.Errorf("point %v: want [time, value]", v)
	}
	ts, ok := v[0].(float64)
	if !ok {
		return sample{}, fmt.Errorf("point time %v is not a number", v[0])
	}
	s, ok := v[1].(string)
	if !ok {
		return sample{}, fmt.Errorf("point value %v is not a string", v[1])
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return sample{}, fmt.Errorf("point value %q: %w", s, err)
	}
	return sample{T: ts, V: f}, nil
}

// mustInstant runs an instant query and fails the test on an API error.
func mustInstant(t *testing.T, base, expr string) []series {
	t.Helper()
	res, err := instantQuery(base, expr, time.Time{})
	if err != nil {
		t.Fatalf("query %s at %s: %v", expr, base, err)
	}
	return res
}

// scalarOf returns the single value of a one-series result.
func scalarOf(res []series) (float64, bool) {
	if len(res) != 1 || len(res[0].Points) == 0 {
		return math.NaN(), false
	}
	return res[0].Points[len(res[0].Points)-1].V, true
}

// labelValues lists the values of a label through /api/v1/label/<name>/values.
func labelValues(base, name string, start, end time.Time) ([]string, error) {
	params := url.Values{}
	if !start.IsZero() {
		params.Set("start", formatTime(start))
		params.Set("end", formatTime(end))
	}
	data, err := apiGet(base, "/api/v1/label/"+name+"/values", params)
	if err != nil {
		return nil, err
	}
	var vals []string
	if err := json.Unmarshal(data, &vals); err != nil {
		return nil, err
	}
	return vals, nil
}

// seriesSets lists the label sets matching selector through /api/v1/series.
func seriesSets(base, selector string, start, end time.Time) ([]map[string]string, error) {
	params := url.Values{"match[]": {selector}, "start": {formatTime(start)}, "end": {formatTime(end)}}
	data, err := apiGet(base, "/api/v1/series", params)
	if err != nil {
		return nil, err
	}
	var sets []map[string]string
	if err := json.Unmarshal(data, &sets); err != nil {
		return nil, err
	}
	return sets, nil
}
