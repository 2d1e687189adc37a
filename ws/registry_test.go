package ws

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/gemini-flow/gemini-flow/monitoring"
)

var _ Observer = (*monitoring.Registry)(nil)

// The hub's counts reach the exposition through the real registry.
func TestRegistryExposition(t *testing.T) {
	reg := monitoring.New(monitoring.Options{})
	s := startServer(t, Options{Metrics: reg})
	c := s.dial(t)
	c.sendText(t, `{"type":"ping"}`)
	c.sendText(t, `{"type":"made.up"}`)
	c.sendText(t, `{"type":"ping"}`)
	c.next(t)
	c.next(t)

	var out bytes.Buffer
	// The second pong is counted once written, which may be just after the client read it.
	pongs := `gemini_flow_websocket_messages_total{direction="outbound",type="pong"} 2` + "\n"
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		out.Reset()
		reg.WritePrometheus(&out)
		if strings.Contains(out.String(), pongs) || time.Now().After(end) {
			break
		}
	}
	for _, want := range []string{
		"gemini_flow_websocket_connections_active 1\n",
		`gemini_flow_websocket_messages_total{direction="inbound",type="ping"} 2` + "\n",
		`gemini_flow_websocket_messages_total{direction="inbound",type="unknown"} 1` + "\n",
		`gemini_flow_websocket_messages_total{direction="outbound",type="pong"} 2` + "\n",
		`gemini_flow_websocket_messages_total{direction="outbound",type="client.connected"} 1` + "\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("exposition lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("exposition:\n%s", out.String())
	}

	c.closeCleanly(t)
	eventually(t, "gauge back to 0", func() bool {
		out.Reset()
		reg.WritePrometheus(&out)
		return strings.Contains(out.String(), "gemini_flow_websocket_connections_active 0\n")
	})
}

// A nil *monitoring.Registry stored in Options.Metrics is treated as no observer.
func TestTypedNilObserver(t *testing.T) {
	var reg *monitoring.Registry
	s := startServer(t, Options{Metrics: reg})
	c := s.dial(t)
	c.sendText(t, `{"type":"ping"}`)
	if f := c.next(t); f.Type != TypePong {
		t.Fatalf("got %q", f.Type)
	}
}
