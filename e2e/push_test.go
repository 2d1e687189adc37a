package e2e

import (
	"fmt"
	"sort"
	"testing"
	"time"
)

// gfNames lists the gemini_flow_ metric names a VictoriaMetrics holds for one job and instance.
func gfNames(base, job, instance string, since time.Time) (map[string]bool, error) {
	sets, err := seriesSets(base, fmt.Sprintf(`{__name__=~"gemini_flow_.*",job=%q,instance=%q}`, job, instance), since, time.Now().Add(time.Minute))
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, s := range sets {
		out[s["__name__"]] = true
	}
	return out, nil
}

// httpTuples lists the (method, route, status_code) label sets of gemini_flow_http_requests_total.
func httpTuples(base, job, instance string, since time.Time) (map[string]bool, error) {
	sets, err := seriesSets(base, fmt.Sprintf(`gemini_flow_http_requests_total{job=%q,instance=%q}`, job, instance), since, time.Now().Add(time.Minute))
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, s := range sets {
		out[labelKey(map[string]string{"method": s["method"], "route": s["route"], "status_code": s["status_code"]})] = true
	}
	return out, nil
}

func diffSets(a, b map[string]bool) (onlyA, onlyB []string) {
	for k := range a {
		if !b[k] {
			onlyA = append(onlyA, k)
		}
	}
	for k := range b {
		if !a[k] {
			onlyB = append(onlyB, k)
		}
	}
	sort.Strings(onlyA)
	sort.Strings(onlyB)
	return onlyA, onlyB
}

func TestPushAndVMAgentAgree(t *testing.T) {
	pushed := startVictoriaMetrics(t)
	scraped := startVictoriaMetrics(t)
	b := startBinary(t, "--push-url", pushed.URL+"/api/v1/import/prometheus", "--push-interval", "1s")
	startVMAgent(t, b.Addr, scraped.URL+"/api/v1/write")
	since := time.Now().Add(-time.Minute)

	sampleTraffic(t, b)
	knownTraffic(t, b)

	// Push labels its series job="gemini-flow-backend" and instance=<listen address>; vmagent's scrape
	// config names the job the same and the target is the same address, so the label sets of
	// both paths must match too.
	var pushNames, scrapeNames map[string]bool
	var onlyPush, onlyScrape []string
	deadline := time.Now().Add(20 * time.Second)
	for {
		var err error
		if pushNames, err = gfNames(pushed.URL, "gemini-flow-backend", b.Addr, since); err != nil {
			t.Fatalf("pushed names: %v", err)
		}
		if scrapeNames, err = gfNames(scraped.URL, "gemini-flow-backend", b.Addr, since); err != nil {
			t.Fatalf("scraped names: %v", err)
		}
		onlyPush, onlyScrape = diffSets(pushNames, scrapeNames)
		if pushNames["gemini_flow_http_requests_total"] && scrapeNames["gemini_flow_http_requests_total"] && len(onlyPush) == 0 && len(onlyScrape) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("metric names differ after 20s: %d pushed, %d scraped; only pushed: %v; only scraped: %v",
				len(pushNames), len(scrapeNames), onlyPush, onlyScrape)
		}
		time.Sleep(500 * time.Millisecond)
	}
	for _, want := range []string{
		"gemini_flow_http_requests_total", "gemini_flow_http_request_duration_seconds_bucket",
		"gemini_flow_websocket_connections_active", "gemini_flow_websocket_messages_total",
		"gemini_flow_db_operations_total", "gemini_flow_db_operation_duration_seconds_bucket",
		"gemini_flow_workflows_total", "gemini_flow_workflow_nodes_bucket", "gemini_flow_errors_total",
	} {
		if !pushNames[want] {
			t.Errorf("%s missing from both paths", want)
		}
	}
	t.Logf("%d gemini_flow_ metric names on both paths", len(pushNames))

	// The traffic stopped, so the label sets of the request counter settle on both sides:
	// the only new series are vmagent's own /metrics scrapes, which both paths see.
	deadline = time.Now().Add(15 * time.Second)
	for {
		p, err := httpTuples(pushed.URL, "gemini-flow-backend", b.Addr, since)
		if err != nil {
			t.Fatal(err)
		}
		s, err := httpTuples(scraped.URL, "gemini-flow-backend", b.Addr, since)
		if err != nil {
			t.Fatal(err)
		}
		onlyP, onlyS := diffSets(p, s)
		if len(onlyP) == 0 && len(onlyS) == 0 && len(p) > 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("gemini_flow_http_requests_total label sets differ: only pushed %v; only scraped %v", onlyP, onlyS)
		}
		time.Sleep(500 * time.Millisecond)
	}

	// The same counter read through both paths: the binary's own count of what the test sent.
	q := fmt.Sprintf(`sum(gemini_flow_http_requests_total{job="gemini-flow-backend",instance=%q,%s})`, b.Addr, probeRoutes)
	deadline = time.Now().Add(15 * time.Second)
	for {
		pv, ok1 := scalarOf(mustInstant(t, pushed.URL, q))
		sv, ok2 := scalarOf(mustInstant(t, scraped.URL, q))
		if ok1 && ok2 && pv == sv && pv > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: pushed %v, scraped %v; want equal and positive", q, pv, sv)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
