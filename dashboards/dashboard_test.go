package dashboards

//lint:file-ignore SA1019 The v1 JSON model is what Grafana's import and grafana.com accept; v2 needs Grafana 12's new API.

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
)

// pageDashboard is the part of the JSON the built-in page reads; the checks below hold the
// file to what both the page and Grafana need.
type pageDashboard struct {
	Panels []struct {
		Title       string `json:"title"`
		Description string `json:"description"`
		Type        string `json:"type"`
		Datasource  struct {
			Type string `json:"type"`
			UID  string `json:"uid"`
		} `json:"datasource"`
		GridPos struct {
			H, W, X, Y int
		} `json:"gridPos"`
		Targets []struct {
			Expr         string `json:"expr"`
			LegendFormat string `json:"legendFormat"`
			RefID        string `json:"refId"`
			Datasource   struct {
				UID string `json:"uid"`
			} `json:"datasource"`
		} `json:"targets"`
		FieldConfig struct {
			Defaults struct {
				Unit string `json:"unit"`
			} `json:"defaults"`
		} `json:"fieldConfig"`
	} `json:"panels"`
	Templating struct {
		List []struct {
			Type       string `json:"type"`
			Name       string `json:"name"`
			Query      any    `json:"query"`
			Datasource struct {
				UID string `json:"uid"`
			} `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
}

func decodePage(t *testing.T) pageDashboard {
	t.Helper()
	var d pageDashboard
	if err := json.Unmarshal(Dashboard(), &d); err != nil {
		t.Fatalf("decode %s: %v", dashboardFile, err)
	}
	if len(d.Panels) == 0 {
		t.Fatalf("%s has no panels", dashboardFile)
	}
	return d
}

// sdkError undoes a quirk of the SDK's strict decoders: on success they return an empty
// cog.BuildErrors, a non-nil error value that means none.
func sdkError(err error) error {
	var errs cog.BuildErrors
	if errors.As(err, &errs) && len(errs) == 0 {
		return nil
	}
	return err
}

// strictDecode decodes with the SDK's schema, refusing unknown fields and wrong types.
func strictDecode(raw []byte) (dashboard.Dashboard, error) {
	plugins.RegisterDefaultPlugins()
	var d dashboard.Dashboard
	return d, sdkError(d.UnmarshalJSONStrict(raw))
}

// strictPanels decodes every panel, its options, field config and queries on their own: the
// dashboard-level decoder reports their errors but, through the quirk above, leaves what it
// decoded successfully empty.
func strictPanels(t *testing.T, raw []byte) []dashboard.Panel {
	t.Helper()
	var doc struct {
		Panels []struct {
			Targets     []json.RawMessage
			Options     json.RawMessage
			FieldConfig struct {
				Defaults struct{ Custom json.RawMessage }
			}
		}
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var rawPanels struct{ Panels []json.RawMessage }
	if err := json.Unmarshal(raw, &rawPanels); err != nil {
		t.Fatal(err)
	}
	variant, ok := cog.ConfigForPanelcfgVariant("timeseries")
	if !ok {
		t.Fatal("timeseries panel variant not registered")
	}
	panels := make([]dashboard.Panel, len(rawPanels.Panels))
	for i, rp := range rawPanels.Panels {
		p := &panels[i]
		if err := sdkError(p.UnmarshalJSONStrict(rp)); err != nil {
			t.Fatalf("panels[%d]: %v", i, err)
		}
		if p.Type != "timeseries" {
			t.Fatalf("panels[%d]: type %q", i, p.Type)
		}
		opts, err := variant.StrictOptionsUnmarshaler(doc.Panels[i].Options)
		if err = sdkError(err); err != nil {
			t.Fatalf("panels[%d].options: %v", i, err)
		}
		p.Options = opts
		if _, err := variant.StrictFieldConfigUnmarshaler(doc.Panels[i].FieldConfig.Defaults.Custom); sdkError(err) != nil {
			t.Fatalf("panels[%d].fieldConfig.defaults.custom: %v", i, err)
		}
		for j, rt := range doc.Panels[i].Targets {
			q := &prometheus.Dataquery{}
			if err := sdkError(q.UnmarshalJSONStrict(rt)); err != nil {
				t.Fatalf("panels[%d].targets[%d]: %v", i, j, err)
			}
			if err := q.Validate(); err != nil {
				t.Fatalf("panels[%d].targets[%d]: validate: %v", i, j, err)
			}
			p.Targets = append(p.Targets, q)
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("panels[%d]: validate: %v", i, err)
		}
	}
	return panels
}

func TestDashboardStrictSchema(t *testing.T) {
	// The decoder must be able to fail, or passing it proves nothing.
	for name, bad := range map[string][]byte{
		"unknown panel field": bytes.Replace(Dashboard(), []byte(`"type": "timeseries",`), []byte(`"type": "timeseries", "bogus": 1,`), 1),
		"unknown query field": bytes.Replace(Dashboard(), []byte(`"expr":`), []byte(`"bogus": 1, "expr":`), 1),
		"wrong type":          bytes.Replace(Dashboard(), []byte(`"schemaVersion": `), []byte(`"schemaVersion": "x", "s": `), 1),
		"unknown top field":   bytes.Replace(Dashboard(), []byte(`"uid":`), []byte(`"__inputs": [], "uid":`), 1),
	} {
		if bytes.Equal(bad, Dashboard()) {
			t.Fatalf("%s: mutation did not apply", name)
		}
		if _, err := strictDecode(bad); err == nil {
			t.Errorf("%s: strict decode accepted it", name)
		}
	}

	d, err := strictDecode(Dashboard())
	if err != nil {
		t.Fatalf("strict decode: %v", err)
	}
	if err := d.Validate(); err != nil {
		t.Fatalf("validate: %v", err)
	}
	if len(d.Panels) != len(panelSpecs) {
		t.Fatalf("decoded %d panels, want %d", len(d.Panels), len(panelSpecs))
	}
	for _, p := range strictPanels(t, Dashboard()) {
		if p.Type != "timeseries" || p.Title == nil || len(p.Targets) == 0 {
			t.Fatalf("panel %+v: want a titled timeseries with targets", p)
		}
		if p.FieldConfig == nil || p.FieldConfig.Defaults.Unit == nil || *p.FieldConfig.Defaults.Unit == "" {
			t.Errorf("panel %q: no unit in fieldConfig.defaults", *p.Title)
		}
	}
}

func TestDashboardVariables(t *testing.T) {
	d := decodePage(t)
	want := map[string]string{"datasource": "datasource", "job": "query", "instance": "query"}
	seen := map[string]bool{}
	for _, v := range d.Templating.List {
		typ, ok := want[v.Name]
		if !ok {
			// The page substitutes only these variables; any other would reach PromQL unreplaced.
			t.Errorf("variable %q: only datasource, job and instance are allowed", v.Name)
			continue
		}
		seen[v.Name] = true
		if v.Type != typ {
			t.Errorf("variable %q has type %q, want %q", v.Name, v.Type, typ)
		}
		switch v.Name {
		case "datasource":
			if v.Query != "prometheus" {
				t.Errorf("datasource variable queries %v, want prometheus", v.Query)
			}
		default:
			q, _ := v.Query.(string)
			if !strings.HasPrefix(q, "label_values(gemini_flow_build_info") || !strings.HasSuffix(q, ", "+v.Name+")") {
				t.Errorf("variable %q query %q: want label_values(gemini_flow_build_info…, %s)", v.Name, q, v.Name)
			}
			if v.Datasource.UID != "${datasource}" {
				t.Errorf("variable %q uses data source %q, want ${datasource}", v.Name, v.Datasource.UID)
			}
		}
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("variable %q missing", name)
		}
	}
}

func TestDashboardPanels(t *testing.T) {
	d := decodePage(t)
	titles := map[string]bool{}
	type cell struct{ x, y int }
	used := map[cell]string{}
	for _, p := range d.Panels {
		name := p.Title
		if name == "" {
			t.Errorf("a %s panel has no title", p.Type)
		}
		if titles[name] {
			t.Errorf("panel %q: duplicate title", name)
		}
		titles[name] = true
		if p.Type != "timeseries" {
			t.Errorf("panel %q: type %q, the page draws timeseries", name, p.Type)
		}
		if p.Description == "" {
			t.Errorf("panel %q: no description", name)
		}
		if p.FieldConfig.Defaults.Unit == "" {
			t.Errorf("panel %q: no unit", name)
		}
		if p.Datasource.Type != "prometheus" || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q: data source %+v, want prometheus ${datasource}", name, p.Datasource)
		}
		g := p.GridPos
		if g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 || g.Y < 0 {
			t.Errorf("panel %q: gridPos %+v outside the 24-column grid", name, g)
		}
		for x := g.X; x < g.X+g.W; x++ {
			for y := g.Y; y < g.Y+g.H; y++ {
				if other, ok := used[cell{x, y}]; ok {
					t.Fatalf("panel %q overlaps %q at (%d,%d)", name, other, x, y)
				}
				used[cell{x, y}] = name
			}
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q: no targets", name)
		}
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			if tg.Expr == "" || tg.LegendFormat == "" || tg.RefID == "" {
				t.Errorf("panel %q: target %+v lacks expr, legendFormat or refId", name, tg)
			}
			if refs[tg.RefID] {
				t.Errorf("panel %q: duplicate refId %q", name, tg.RefID)
			}
			refs[tg.RefID] = true
			if tg.Datasource.UID != "${datasource}" {
				t.Errorf("panel %q: target data source %q, want ${datasource}", name, tg.Datasource.UID)
			}
			if !strings.Contains(tg.Expr, `job=~"$job"`) || !strings.Contains(tg.Expr, `instance=~"$instance"`) {
				t.Errorf("panel %q: %q does not filter on $job and $instance", name, tg.Expr)
			}
		}
	}
	// The seed asks for these panels; the rest cover the families it defines.
	for _, title := range []string{
		"Request throughput", "Request latency", "Error rate", "WebSocket connections",
		"DB operation latency (p95)", "CPU usage", "Resident memory",
		"WebSocket messages", "DB operations", "Workflows stored", "Workflow size distribution",
		"GC pause", "Goroutines",
	} {
		if !titles[title] {
			t.Errorf("panel %q missing", title)
		}
	}
}
