package server

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestMalformedRequestIsUnmatched: a request fasthttp could not parse is counted under the
// unmatched route, not under "/" (the page).
func TestMalformedRequestIsUnmatched(t *testing.T) {
	ts := newTestServer(t)
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	_, _ = io.WriteString(conn, "G\x00T /x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	_, _ = io.Copy(io.Discard, conn)
	conn.Close()
	metrics := ts.scrape(t)
	for _, line := range strings.Split(metrics, "\n") {
		if strings.HasPrefix(line, "gemini_flow_http_requests_total{") && strings.Contains(line, `status_code="400"`) {
			if !strings.Contains(line, `route="unmatched"`) {
				t.Errorf("malformed request counted as %s", line)
			}
			return
		}
	}
	t.Fatalf("no 400 counted:\n%s", metrics)
}

// TestMissingAssetIsTheEnvelope: an unknown asset answers the JSON 404 like every other miss.
func TestMissingAssetIsTheEnvelope(t *testing.T) {
	ts := newTestServer(t)
	status, hdr, body := ts.do(t, "GET", "/assets/x", "", nil)
	if status != 404 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
		t.Fatalf("/assets/x: %d %s %s", status, hdr.Get("Content-Type"), body)
	}
	assertErrorEnvelope(t, body)
}
