package rules

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/template"
)

// templateDefs are the variables Prometheus defines in front of every alert template.
const templateDefs = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}"

// expander expands the labels and annotations of one alert of one evaluation.
type expander struct {
	ctx         context.Context
	name        string
	data        any
	ts          time.Time
	query       template.QueryFunc
	externalURL *url.URL
	errs        []string
}

func newExpander(ctx context.Context, rule string, smpl promql.Sample, ts time.Time, q QueryFunc, externalURL *url.URL) *expander {
	urlText := ""
	if externalURL != nil {
		urlText = externalURL.String()
	}
	return &expander{
		ctx:  ctx,
		name: "__alert_" + rule,
		data: template.AlertTemplateData(smpl.Metric.Map(), map[string]string{}, urlText, smpl),
		ts:   ts,
		query: func(ctx context.Context, qs string, t time.Time) (promql.Vector, error) {
			return q(ctx, qs, t)
		},
		externalURL: externalURL,
	}
}

// expand renders one template text; a failure renders as Prometheus renders it and is kept.
func (e *expander) expand(text string) string {
	tmpl := template.NewTemplateExpander(e.ctx, templateDefs+text, e.name, e.data,
		model.Time(e.ts.UnixMilli()), e.query, e.externalURL, nil)
	out, err := tmpl.Expand()
	if err != nil {
		e.errs = append(e.errs, err.Error())
		return fmt.Sprintf("<error expanding template: %s>", err)
	}
	return out
}

// expandAll renders every value of ls.
func (e *expander) expandAll(ls labels.Labels) labels.Labels {
	b := labels.NewScratchBuilder(ls.Len())
	ls.Range(func(l labels.Label) { b.Add(l.Name, e.expand(l.Value)) })
	return b.Labels()
}

// err is the template failures of this expansion, or nil.
func (e *expander) err() error {
	if len(e.errs) == 0 {
		return nil
	}
	return fmt.Errorf("expand templates: %s", strings.Join(e.errs, "; "))
}
