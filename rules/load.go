package rules

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"
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
			return nil, fileError(src, errs)
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

// fileError is the first of errs on one line, as file:line: message. rulefmt gives some
// errors no line (template problems) or line 0 (a repeated group); those are found in
// the file's YAML.
func fileError(src Source, errs []error) error {
	msg := strings.Join(strings.Fields(errs[0].Error()), " ")
	line := 0
	if m := leadingPos.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	} else if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = "yaml:" + msg[len(m[0]):]
	}
	if line == 0 {
		line = locate(src.Data, errs[0], msg)
	}
	if len(errs) > 1 {
		msg += fmt.Sprintf(" (and %d more)", len(errs)-1)
	}
	if line > 0 {
		return fmt.Errorf("%s:%d: %s", src.File, line, msg)
	}
	return fmt.Errorf("%s: %s", src.File, msg)
}

var (
	leadingPos = regexp.MustCompile(`^(\d+):\d+: `)
	yamlLine   = regexp.MustCompile(`^yaml: line (\d+):`)
	repeated   = regexp.MustCompile(`^groupname: "(.*)" is repeated`)
)

// locate finds the line of the group or rule an error names, or 0.
func locate(data []byte, err error, msg string) int {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return 0
	}
	groups := mapValue(doc.Content[0], "groups")
	if groups == nil {
		return 0
	}
	var rerr *rulefmt.Error
	dup := repeated.FindStringSubmatch(msg)
	seen := 0
	for _, g := range groups.Content {
		name := mapValue(g, "name")
		if name == nil {
			continue
		}
		switch {
		case dup != nil && name.Value == dup[1]:
			if seen++; seen == 2 {
				return g.Line
			}
		case errors.As(err, &rerr) && name.Value == rerr.Group:
			if rs := mapValue(g, "rules"); rs != nil && rerr.Rule >= 1 && rerr.Rule <= len(rs.Content) {
				return rs.Content[rerr.Rule-1].Line
			}
			return g.Line
		}
	}
	return 0
}

// mapValue is the value of key in a YAML mapping node, or nil.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func buildGroup(file string, rg rulefmt.RuleGroup, defaultInterval time.Duration, p parser.Parser, log *slog.Logger) (*Group, error) {
	g := &Group{name: rg.Name, file: file, interval: time.Duration(rg.Interval), opts: evalOptions{limit: rg.Limit}}
	if rg.QueryOffset != nil {
		g.opts.queryOffset = time.Duration(*rg.QueryOffset)
	}
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
