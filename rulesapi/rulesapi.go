// Package rulesapi answers Prometheus's /api/v1/rules and /api/v1/alerts from the rule
// manager, in Prometheus's JSON, so that Grafana's alert list and its data source's rules
// view read the binary as they read a Prometheus.
package rulesapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/valyala/fasthttp"

	"github.com/gemini-flow/gemini-flow/rules"
)

// API serves the rules of one manager; a nil manager (evaluation off) has no rules.
type API struct {
	m *rules.Manager
}

// New returns the API over m, which may be nil.
func New(m *rules.Manager) *API { return &API{m: m} }

// Alert is one alert as /api/v1/alerts and /api/v1/rules write it.
type Alert struct {
	Labels          labels.Labels `json:"labels"`
	Annotations     labels.Labels `json:"annotations"`
	State           string        `json:"state"`
	ActiveAt        *time.Time    `json:"activeAt,omitempty"`
	KeepFiringSince *time.Time    `json:"keepFiringSince,omitempty"`
	Value           string        `json:"value"`
}

// Rule is an alerting or a recording rule of /api/v1/rules; the fields of the other kind stay out.
type Rule struct {
	State          string         `json:"state,omitempty"`
	Name           string         `json:"name"`
	Query          string         `json:"query"`
	Duration       *float64       `json:"duration,omitempty"`
	KeepFiringFor  *float64       `json:"keepFiringFor,omitempty"`
	Labels         labels.Labels  `json:"labels"`
	Annotations    *labels.Labels `json:"annotations,omitempty"`
	Alerts         []Alert        `json:"alerts,omitempty"`
	Health         rules.Health   `json:"health"`
	LastError      string         `json:"lastError,omitempty"`
	EvaluationTime float64        `json:"evaluationTime"`
	LastEvaluation time.Time      `json:"lastEvaluation"`
	Type           string         `json:"type"`
}

// Group is one rule group of /api/v1/rules.
type Group struct {
	Name           string    `json:"name"`
	File           string    `json:"file"`
	Rules          []Rule    `json:"rules"`
	Interval       float64   `json:"interval"`
	Limit          int       `json:"limit"`
	EvaluationTime float64   `json:"evaluationTime"`
	LastEvaluation time.Time `json:"lastEvaluation"`
}

// The type values of a rule, and of the type parameter that filters them.
const (
	typeAlerting  = "alerting"
	typeRecording = "recording"
	filterAlert   = "alert"
	filterRecord  = "record"
)

// Rules answers GET /api/v1/rules: every group with its rules and their alerts. The type
// parameter (alert or record) keeps one kind, exclude_alerts=true leaves the alerts out.
func (a *API) Rules(ctx *fasthttp.RequestCtx) {
	typ := string(ctx.FormValue("type"))
	if typ != "" && typ != filterAlert && typ != filterRecord {
		writeError(ctx, "bad_data", "unsupported type "+strconv.Quote(typ))
		return
	}
	exclude := false
	if v := ctx.FormValue("exclude_alerts"); len(v) > 0 {
		b, err := strconv.ParseBool(string(v))
		if err != nil {
			writeError(ctx, "bad_data", "exclude_alerts: "+err.Error())
			return
		}
		exclude = b
	}
	var matchers [][]*labels.Matcher
	for _, m := range ctx.QueryArgs().PeekMulti("match[]") {
		ms, err := selectorParser.ParseMetricSelector(string(m))
		if err != nil {
			writeError(ctx, "bad_data", "match[]: "+err.Error())
			return
		}
		matchers = append(matchers, ms)
	}
	groups := []Group{}
	for _, g := range a.groups() {
		last, d := g.LastEvaluation()
		out := Group{Name: g.Name(), File: g.File(), Rules: []Rule{}, Interval: g.Interval().Seconds(), Limit: g.Limit(),
			EvaluationTime: d.Seconds(), LastEvaluation: last}
		for _, r := range g.Rules() {
			rule, ok := ruleOf(r, exclude)
			if ok && (typ == "" || (typ == filterAlert) == (rule.Type == typeAlerting)) && matchesAny(r.Labels(), matchers) {
				out.Rules = append(out.Rules, rule)
			}
		}
		if typ == "" || len(out.Rules) > 0 {
			groups = append(groups, out)
		}
	}
	writeData(ctx, map[string]any{"groups": groups})
}

// Alerts answers GET /api/v1/alerts: every pending and firing alert.
func (a *API) Alerts(ctx *fasthttp.RequestCtx) {
	alerts := []Alert{}
	for _, g := range a.groups() {
		for _, r := range g.Rules() {
			if ar, ok := r.(*rules.AlertingRule); ok {
				alerts = append(alerts, alertsOf(ar)...)
			}
		}
	}
	writeData(ctx, map[string]any{"alerts": alerts})
}

func (a *API) groups() []*rules.Group {
	if a.m == nil {
		return nil
	}
	return a.m.Groups()
}

// matchesAny reports whether a rule's labels match one of the match[] selectors, as
// Prometheus filters rules; without selectors every rule matches.
func matchesAny(ls labels.Labels, selectors [][]*labels.Matcher) bool {
	if len(selectors) == 0 {
		return true
	}
	for _, sel := range selectors {
		ok := true
		for _, m := range sel {
			if !m.Matches(ls.Get(m.Name)) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func ruleOf(r rules.Rule, excludeAlerts bool) (Rule, bool) {
	st := r.Status()
	out := Rule{Name: r.Name(), Query: r.Query(), Labels: r.Labels(), Health: st.Health, LastError: st.LastError,
		EvaluationTime: st.EvaluationTime.Seconds(), LastEvaluation: st.LastEvaluation}
	switch r := r.(type) {
	case *rules.AlertingRule:
		hold, keep := r.HoldDuration().Seconds(), r.KeepFiringFor().Seconds()
		ann := r.Annotations()
		out.Type, out.State, out.Duration, out.KeepFiringFor, out.Annotations = typeAlerting, r.State().String(), &hold, &keep, &ann
		out.Alerts = []Alert{}
		if !excludeAlerts {
			out.Alerts = alertsOf(r)
		}
	case *rules.RecordingRule:
		out.Type = typeRecording
	default:
		return Rule{}, false
	}
	return out, true
}

func alertsOf(r *rules.AlertingRule) []Alert {
	list := r.Alerts()
	out := make([]Alert, 0, len(list))
	for _, a := range list {
		active := a.ActiveAt.UTC()
		out = append(out, Alert{Labels: a.Labels, Annotations: a.Annotations, State: a.State.String(), ActiveAt: &active,
			KeepFiringSince: timeOrNil(a.KeepFiringSince), Value: strconv.FormatFloat(a.Value, 'e', -1, 64)})
	}
	slices.SortStableFunc(out, func(x, y Alert) int { return labels.Compare(x.Labels, y.Labels) })
	return out
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// writeData writes Prometheus's success envelope.
func writeData(ctx *fasthttp.RequestCtx, data any) {
	b, err := json.Marshal(map[string]any{"status": "success", "data": data})
	if err != nil {
		writeError(ctx, "internal", err.Error())
		return
	}
	ctx.SetStatusCode(http.StatusOK)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}

// writeError writes Prometheus's error envelope.
func writeError(ctx *fasthttp.RequestCtx, errType, msg string) {
	status := http.StatusBadRequest
	if errType != "bad_data" {
		status = http.StatusInternalServerError
	}
	b, _ := json.Marshal(map[string]string{"status": "error", "errorType": errType, "error": msg})
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}

// selectorParser reads match[] selectors.
var selectorParser = parser.NewParser(parser.Options{})
