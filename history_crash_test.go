package main

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/gemini-flow/gemini-flow/internal/testkit"
)

// TestSIGKILLLosesAtMostTwoTicks kills the binary a few seconds into its life, twice,
// and counts the history samples of each killed process that survived: at most the last two
// ticks may be missing, and none of the trials may leave nothing behind.
func TestSIGKILLLosesAtMostTwoTicks(t *testing.T) {
	dataDir := t.TempDir()
	args := []string{"--data-dir", dataDir, "--rate-limit", "0", "--history-interval", "1s"}
	type trial struct {
		instance    string
		start, kill time.Time
	}
	var trials []trial
	for i := range 2 {
		bin := testkit.StartBinary(t, nil, args...)
		start := time.Now()
		time.Sleep(time.Duration(3500+500*i) * time.Millisecond)
		kill := time.Now()
		bin.Kill(t)
		trials = append(trials, trial{bin.Addr, start, kill})
	}
	bin := testkit.StartBinary(t, nil, args...)
	for _, tr := range trials {
		// Ticks on whole seconds strictly after the process was ready and before the kill.
		ticks := int(math.Floor(float64(tr.kill.UnixMilli())/1000)) - int(math.Ceil(float64(tr.start.UnixMilli())/1000)) + 1
		got := countSamples(t, bin.URL, tr.instance, tr.kill)
		lost := ticks - got
		t.Logf("instance %s: %d ticks before SIGKILL, %d kept, %d lost", tr.instance, ticks, got, lost)
		if got == 0 || lost > 2 {
			t.Errorf("instance %s: %d of %d ticks kept after SIGKILL; at most 2 may be lost", tr.instance, got, ticks)
		}
	}
}

// countSamples asks the query API how many samples of gemini_flow_build_info one instance left.
func countSamples(t *testing.T, base, instance string, at time.Time) int {
	t.Helper()
	q := url.Values{
		"query": {fmt.Sprintf(`count_over_time(gemini_flow_build_info{instance=%q}[10m])`, instance)},
		"time":  {strconv.FormatFloat(float64(at.UnixMilli())/1000+1, 'f', 3, 64)},
	}
	resp, err := http.Get(base + "/api/v1/query?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if len(body.Data.Result) == 0 {
		return 0
	}
	s, _ := body.Data.Result[0].Value[1].(string)
	n, _ := strconv.Atoi(s)
	return n
}
