package monitoring_test

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/gemini-flow/gemini-flow/monitoring"
)

func ExampleMethodLabel() {
	fmt.Println(monitoring.MethodLabel([]byte("PATCH")), monitoring.MethodLabel([]byte("BREW")))
	// Output: PATCH OTHER
}

func ExampleWSEventType() {
	fmt.Println(monitoring.WSEventType("workflow.created"), monitoring.WSEventType("chat.message"))
	// Output: workflow.created unknown
}

func ExampleRegistry_WritePrometheus() {
	r := monitoring.New(monitoring.Options{Version: "1.0.0"})
	r.ObserveHTTP("GET", "/api/workflows/{id}", 404, 2*time.Millisecond)

	var b bytes.Buffer
	r.WritePrometheus(&b)
	for line := range strings.Lines(b.String()) {
		if strings.Contains(line, "gemini_flow_http_requests_total") {
			fmt.Print(line)
		}
	}
	// Output:
	// # HELP gemini_flow_http_requests_total Total number of HTTP requests
	// # TYPE gemini_flow_http_requests_total counter
	// gemini_flow_http_requests_total{method="GET",route="/api/workflows/{id}",status_code="404"} 1
}
