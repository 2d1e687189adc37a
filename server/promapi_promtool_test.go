package server_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestPromAPIPromtool runs Prometheus's own client, promtool, against the whole server with
// a history that holds real samples.
func TestPromAPIPromtool(t *testing.T) {
	promtool := requireTool(t, "/usr/bin/promtool")
	stack := startLiveStack(t, time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for stack.History.Stats().SamplesAppended == 0 || stack.History.Stats().LastSample.IsZero() {
		if time.Now().After(deadline) {
			t.Fatal("history took no sample in 10 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	now := time.Now().UTC()
	run := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, promtool, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	f := func(name string, args []string, want ...string) {
		t.Helper()
		out := run(args...)
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q:\n%s", name, w, out)
			}
		}
	}
	f("instant", []string{"query", "instant", stack.URL, `gemini_flow_build_info`},
		`gemini_flow_build_info{`, `job="gemini-flow-backend"`, `version="test"`, `=> 1 @[`)
	f("instant, JSON", []string{"query", "instant", "-o", "json", stack.URL, `count(gemini_flow_build_info)`},
		`"value":[`, `,"1"]`)
	f("range", []string{"query", "range",
		"--start", now.Add(-30 * time.Second).Format(time.RFC3339),
		"--end", now.Add(time.Second).Format(time.RFC3339),
		"--step", "1s", stack.URL, `gemini_flow_build_info`},
		`gemini_flow_build_info{`, "=>\n1 @[")
	f("series", []string{"query", "series", "--match", `gemini_flow_build_info`, stack.URL},
		`__name__="gemini_flow_build_info"`)
	f("labels", []string{"query", "labels", stack.URL, "job"}, "gemini-flow-backend")
}
