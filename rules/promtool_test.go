package rules_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"

	"github.com/gemini-flow/gemini-flow/history"
	"github.com/gemini-flow/gemini-flow/rules"
)

// unitTestFile is the part of promtool's rule unit test format the parity test reads.
type unitTestFile struct {
	RuleFiles          []string       `yaml:"rule_files"`
	EvaluationInterval model.Duration `yaml:"evaluation_interval"`
	Tests              []struct {
		Name        string         `yaml:"name"`
		Interval    model.Duration `yaml:"interval"`
		InputSeries []struct {
			Series string `yaml:"series"`
			Values string `yaml:"values"`
		} `yaml:"input_series"`
		AlertRuleTests []struct {
			EvalTime  model.Duration `yaml:"eval_time"`
			Alertname string         `yaml:"alertname"`
			ExpAlerts []struct {
				ExpLabels      map[string]string `yaml:"exp_labels"`
				ExpAnnotations map[string]string `yaml:"exp_annotations"`
			} `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

// TestPromtoolParity evaluates every case of the promtool unit test files with the
// binary's evaluator over the same input series, written into a real history, and checks
// the firing alerts, labels and annotations promtool expects at the same times. The same
// files pass `promtool test rules` (TestPromtoolAgrees).
func TestPromtoolParity(t *testing.T) {
	for _, file := range unitTestFiles {
		t.Run(filepath.Base(file), func(t *testing.T) {
			runUnitTests(t, file)
		})
	}
}

var unitTestFiles = []string{"../dashboards/alerts_test.yml", "testdata/semantics_test.yml"}

// TestPromtoolAgrees runs promtool on the files TestPromtoolParity reads, so that both
// answer the same expectations.
func TestPromtoolAgrees(t *testing.T) {
	bin := requireTool(t, "promtool")
	for _, file := range unitTestFiles {
		out, err := exec.Command(bin, "test", "rules", file).CombinedOutput()
		if err != nil {
			t.Fatalf("promtool test rules %s: %v\n%s", file, err, out)
		}
	}
}

func runUnitTests(t *testing.T, file string) {
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var tf unitTestFile
	if err := yaml.Unmarshal(b, &tf); err != nil {
		t.Fatal(err)
	}
	var srcs []rules.Source
	for _, rf := range tf.RuleFiles {
		path := filepath.Join(filepath.Dir(file), rf)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, rules.Source{File: path, Data: data})
	}
	evalEvery := time.Duration(tf.EvaluationInterval)
	for _, tc := range tf.Tests {
		t.Run(tc.Name, func(t *testing.T) {
			db := openHistory(t)
			for _, in := range tc.InputSeries {
				loadSeries(t, db, in.Series, in.Values, time.Duration(tc.Interval))
			}
			m := newManager(t, db, srcs, evalEvery)
			m.Restored()
			checks := map[time.Duration][]int{}
			var last time.Duration
			for i, at := range tc.AlertRuleTests {
				checks[time.Duration(at.EvalTime)] = append(checks[time.Duration(at.EvalTime)], i)
				last = max(last, time.Duration(at.EvalTime))
			}
			for ts := time.Duration(0); ts <= last; ts += evalEvery {
				m.EvalAll(context.Background(), time.Unix(0, 0).Add(ts).UTC())
				for _, i := range checks[ts] {
					at := tc.AlertRuleTests[i]
					var want []string
					for _, e := range at.ExpAlerts {
						lb := labels.NewBuilder(labels.FromMap(e.ExpLabels)).Set(labels.AlertName, at.Alertname)
						want = append(want, lb.Labels().String()+" "+labels.FromMap(e.ExpAnnotations).String())
					}
					got := firing(m, at.Alertname)
					slices.Sort(want)
					if !slices.Equal(got, want) {
						t.Errorf("%s at %v:\n got  %q\n want %q", at.Alertname, ts, got, want)
					}
				}
			}
		})
	}
}

// firing lists the firing alerts of the rule named name as "labels annotations".
func firing(m *rules.Manager, name string) []string {
	var out []string
	for _, g := range m.Groups() {
		for _, r := range g.Rules() {
			ar, ok := r.(*rules.AlertingRule)
			if !ok || ar.Name() != name {
				continue
			}
			for _, a := range ar.Alerts() {
				if a.State == rules.StateFiring {
					out = append(out, a.Labels.String()+" "+a.Annotations.String())
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// loadSeries appends a promtool series description at 0, step, 2·step, …
func loadSeries(t *testing.T, db *history.DB, series, values string, step time.Duration) {
	t.Helper()
	lset, vals, err := parser.NewParser(parser.Options{}).ParseSeriesDesc(series + " " + values)
	if err != nil {
		t.Fatalf("series %s %s: %v", series, values, err)
	}
	for i, v := range vals {
		if v.Omitted {
			continue
		}
		db.AppendSamples((time.Duration(i) * step).Milliseconds(), []history.Sample{{Labels: lset, Value: v.Value}})
	}
}

// requireTool finds a tool on PATH; it skips without one unless CI is set.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("%s not installed (CI unset): %v", name, err)
		}
		t.Fatalf("%s is required under CI: %v", name, err)
	}
	return path
}

func openHistory(t *testing.T) *history.DB {
	t.Helper()
	db, err := history.Open(history.Options{Path: filepath.Join(t.TempDir(), "history.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db
}
