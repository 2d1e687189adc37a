package promapi

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// TestClientDecodes reads every endpoint Grafana's Prometheus data source, Explore and query
// editor call with Prometheus's own Go client.
func TestClientDecodes(t *testing.T) {
	db := openFixtureHistory(t)
	base := servePromAPI(t, New(Options{
		Queryable: db,
		Build:     BuildInfo{Version: "1.2.3"},
		Flags:     map[string]string{"history-retention": "168h"},
		Retention: 168 * time.Hour,
	}))
	client, err := api.NewClient(api.Config{Address: base})
	if err != nil {
		t.Fatal(err)
	}
	c := v1.NewAPI(client)
	ctx := context.Background()
	at := time.Unix(promT0+20, 0)

	if v, _, _, err := c.Query(ctx, `sum(demo_requests_total)`, at); err != nil || v.(model.Vector)[0].Value != 14 {
		t.Errorf("query: %v %v", v, err)
	}
	if v, _, _, err := c.QueryRange(ctx, `demo_requests_total`, v1.Range{Start: at.Add(-20 * time.Second), End: at, Step: 10 * time.Second}); err != nil || len(v.(model.Matrix)) != 2 {
		t.Errorf("query_range: %v %v", v, err)
	}
	if ex, err := c.QueryExemplars(ctx, `demo_requests_total`, at.Add(-time.Hour), at); err != nil || ex == nil || len(ex) != 0 {
		t.Errorf("query_exemplars: %#v %v", ex, err)
	}
	if ex, err := c.QueryExemplars(ctx, `1`, at.Add(-time.Hour), at); err != nil || len(ex) != 0 {
		t.Errorf("query_exemplars without selectors: %#v %v", ex, err)
	}
	if _, err := c.QueryExemplars(ctx, `sum(`, at.Add(-time.Hour), at); err == nil || !strings.Contains(err.Error(), "bad_data") {
		t.Errorf("query_exemplars of a bad query: %v", err)
	}
	// The client hands back the data's raw JSON, a string as Prometheus writes it.
	if raw, err := c.FormatQuery(ctx, `sum by(route)(rate(demo_requests_total{route="/a"}[5m]))`); err != nil {
		t.Errorf("format_query: %v", err)
	} else if s := ""; json.Unmarshal([]byte(raw), &s) != nil || s != `sum by (route) (rate(demo_requests_total{route="/a"}[5m]))` {
		t.Errorf("format_query: %s", raw)
	}
	if _, err := c.FormatQuery(ctx, `sum(`); err == nil || !strings.Contains(err.Error(), "bad_data") {
		t.Errorf("format_query of a bad query: %v", err)
	}
	if ri, err := c.Runtimeinfo(ctx); err != nil || ri.StartTime.IsZero() || ri.GOMAXPROCS < 1 || ri.StorageRetention != "168h0m0s" || !ri.ReloadConfigSuccess {
		t.Errorf("runtimeinfo: %+v %v", ri, err)
	}
	if fl, err := c.Flags(ctx); err != nil || fl["history-retention"] != "168h" {
		t.Errorf("flags: %v %v", fl, err)
	}
	if bi, err := c.Buildinfo(ctx); err != nil || bi.Version != "1.2.3" {
		t.Errorf("buildinfo: %+v %v", bi, err)
	}
	if names, _, _, err := c.LabelNames(ctx, nil, time.Time{}, time.Time{}); err != nil || len(names) != 4 {
		t.Errorf("labels: %v %v", names, err)
	}
	if vals, _, _, err := c.LabelValues(ctx, "__name__", nil, at.Add(-time.Hour), at); err != nil || len(vals) != 2 {
		t.Errorf("label values: %v %v", vals, err)
	}
	if series, _, _, err := c.Series(ctx, []string{`demo_temp`}, at.Add(-time.Hour), at); err != nil || len(series) != 1 {
		t.Errorf("series: %v %v", series, err)
	}
	if md, err := c.Metadata(ctx, "", ""); err != nil || md == nil {
		t.Errorf("metadata: %v %v", md, err)
	}
}
