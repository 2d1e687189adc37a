package server_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestPageE2EHistoryOff loads the page from a server whose history is off: instead of
// promising a first sample that never comes, the page says the history is off and that
// /metrics still serves, and shows no error under each panel.
func TestPageE2EHistoryOff(t *testing.T) {
	chromium := requireTool(t, "/usr/bin/chromium")
	ts := startLiveStack(t, 0)
	pg := openPage(t, chromium, ts.URL)
	if err := chromedp.Do(pg.ctx, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(ts.URL+"/")); err != nil {
		t.Fatalf("load page: %v", err)
	}
	const read = `(() => {
  const e = document.getElementById("empty");
  const errs = [...document.querySelectorAll("#panels .qerr")].filter((el) => !el.hidden && el.textContent);
  return (e && !e.hidden ? e.textContent : "") + "|" + errs.length;
})()`
	var got string
	for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		s, err := chromedp.Run(pg.ctx, chromedp.Evaluate[string](read))
		if err != nil {
			t.Fatalf("read page: %v", err)
		}
		if got = s; strings.Contains(got, "history is off") {
			break
		}
	}
	msg, errs, _ := strings.Cut(got, "|")
	if !strings.Contains(msg, "history is off") || !strings.Contains(msg, "/metrics") {
		t.Fatalf("empty state with history off = %q", msg)
	}
	if errs != "0" {
		t.Fatalf("%s panel errors shown with history off", errs)
	}
}
