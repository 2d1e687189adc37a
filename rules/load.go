package rules

import (
	"fmt"
	"log/slog"
	"maps"
	"os"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

// Source is one rule file in Prometheus's format: the name it is reported under, and its bytes.
type Source struct {
	File string
	Data []byte
}

// parseSources reads every rule file with Prometheus's rulefmt (YAML, PromQL and template
// checks); the error names the file and line of the first problem.
func parseSources(srcs []Source, defaultInterval time.Duration, p parser.Parser, log *slog.Logger) ([]*Group, error) {
	var groups []*Group
	for _, src := range srcs {
		rgs, errs := rulefmt.Parse(src.Data, false, model.UTF8Validation, p, log)
		if len(errs) > 0 {
			return nil, fileError(src.File, errs)
		}
		for _, rg := range rgs.Groups {
			g, err := buildGroup(src.File, rg, defaultInterval, p, log)
			if err != nil {
				return nil, err
			}
			groups = append(groups, g)
		}
	}
	return groups, nil
}

// fileError is the first of errs, prefixed with the file, on one line.
func fileError(file string, errs []error) error {
	err := fmt.Errorf("%s: %s", file, strings.Join(strings.Fields(errs[0].Error()), " "))
	if len(errs) > 1 {
		err = fmt.Errorf("%w (and %d more)", err, len(errs)-1)
	}
	return err
}

func buildGroup(file string, rg rulefmt.RuleGroup, defaultInterval time.Duration, p parser.Parser, log *slog.Logger) (*Group, error) {
	g := &Group{name: rg.Name, file: file, interval: time.Duration(rg.Interval)}
	if g.interval <= 0 {
		g.interval = defaultInterval
	}
	for i, r := range rg.Rules {
		expr, err := p.ParseExpr(r.Expr)
		if err != nil { // rulefmt has checked it; a parser with other options could still refuse
			return nil, fmt.Errorf("%s: group %q, rule %d: %w", file, rg.Name, i+1, err)
		}
		ruleLabels := maps.Clone(rg.Labels)
		if ruleLabels == nil {
			ruleLabels = map[string]string{}
		}
		maps.Copy(ruleLabels, r.Labels)
		if r.Record != "" {
			g.rules = append(g.rules, &RecordingRule{name: r.Record, expr: expr, labels: labels.FromMap(ruleLabels)})
			continue
		}
		g.rules = append(g.rules, &AlertingRule{
			name: r.Alert, expr: expr, holdDuration: time.Duration(r.For), keepFiringFor: time.Duration(r.KeepFiringFor),
			labels: labels.FromMap(ruleLabels), annotations: labels.FromMap(r.Annotations),
			log: log, active: map[uint64]*Alert{},
		})
	}
	g.prevSeries = make([]map[uint64]labels.Labels, len(g.rules))
	return g, nil
}

// Check parses rule files as New does, without anything to run them on.
func Check(srcs []Source) error {
	_, err := parseSources(srcs, time.Minute, parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
	return err
}

// ReadSources reads rule files from disk.
func ReadSources(paths []string) ([]Source, error) {
	out := make([]Source, 0, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		out = append(out, Source{File: p, Data: b})
	}
	return out, nil
}
