package history

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"time"

	"github.com/gemini-flow/gemini-flow/monitoring"
)

// mixRoute is one route template of the synthetic traffic and how it behaves.
type mixRoute struct {
	method, route string
	rate          float64 // mean requests per tick
	statuses      []int   // the first is the usual answer, the others rare
	latency       float64 // median seconds
}

// defaultMix drives a real monitoring.Registry with synthetic traffic, so the history
// holds the binary's own series mix: every family of the catalogue, HTTP series over ~50
// routes × a few statuses, DB series per operation and collection, WebSocket and Gemini
// series, and the process and runtime families of the running test process.
type defaultMix struct {
	r      *rand.Rand
	reg    *monitoring.Registry
	routes []mixRoute
	buf    bytes.Buffer
}

func newDefaultMix() *defaultMix { return newMix(10) }

// newMix is the default mix over the first n of its ten resources (five routes each).
func newMix(n int) *defaultMix {
	m := &defaultMix{r: rand.New(rand.NewPCG(3, 5)), reg: monitoring.New(monitoring.Options{Version: "1.0.0", Revision: "abc123"})}
	res := []string{"workflows", "sessions", "store", "nodes", "edges", "templates", "runs", "users", "keys", "exports"}
	for i, r := range res[:n] {
		base := "/api/" + r
		m.routes = append(m.routes,
			mixRoute{"GET", base, 2 + float64(i%3), []int{200, 304}, 0.004},
			mixRoute{"POST", base, 0.3, []int{201, 400, 413}, 0.012},
			mixRoute{"GET", base + "/{id}", 1, []int{200, 404}, 0.003},
			mixRoute{"PUT", base + "/{id}", 0.2, []int{200, 400, 404}, 0.015},
			mixRoute{"DELETE", base + "/{id}", 0.05, []int{204, 404}, 0.01},
		)
	}
	m.routes = append(m.routes, mixRoute{"GET", "/health", 0.1, []int{200}, 0.0005},
		mixRoute{"GET", "/metrics", 0.1, []int{200}, 0.002})
	m.reg.SetHistoryStats(func() monitoring.HistoryStats {
		return monitoring.HistoryStats{Series: 1500, SamplesAppended: 1, Bytes: 1 << 20, LastSample: time.Unix(1, 0)}
	})
	for range 20 {
		m.reg.WorkflowAdded(m.r.IntN(60))
	}
	m.reg.WSConnected()
	return m
}

// poisson draws a Poisson count of mean lambda (small lambdas only).
func (m *defaultMix) poisson(lambda float64) int {
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= m.r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

func (m *defaultMix) latency(median float64) time.Duration {
	return time.Duration(median * math.Exp(m.r.NormFloat64()*0.8) * float64(time.Second))
}

// step records one tick's worth of traffic.
func (m *defaultMix) step() {
	for _, rt := range m.routes {
		for range m.poisson(rt.rate) {
			st := rt.statuses[0]
			if len(rt.statuses) > 1 && m.r.Float64() < 0.05 {
				st = rt.statuses[1+m.r.IntN(len(rt.statuses)-1)]
			}
			if m.r.Float64() < 0.0005 {
				st = 500
				m.reg.IncError(monitoring.ErrValidation, rt.route)
			}
			m.reg.ObserveHTTP(rt.method, rt.route, st, m.latency(rt.latency))
			coll := monitoring.CollWorkflows
			if rt.route == "/api/sessions" {
				coll = monitoring.CollSessions
			}
			op := monitoring.OpRead
			switch rt.method {
			case "POST", "PUT":
				op = monitoring.OpWrite
			case "DELETE":
				op = monitoring.OpDelete
			}
			var err error
			if m.r.Float64() < 0.001 {
				err = errors.New("boom")
			}
			m.reg.ObserveDB(op, coll, err, m.latency(0.0008))
		}
	}
	n := m.poisson(3)
	m.reg.WSMessages(monitoring.Outbound, "metrics.sampled", 1)
	m.reg.WSMessages(monitoring.Outbound, "workflow.updated", n)
	m.reg.WSMessages(monitoring.Inbound, "ping", m.poisson(0.3))
	if m.r.Float64() < 0.02 {
		m.reg.ObserveGemini(monitoring.OutcomeSuccess, m.latency(1.5))
	}
	if m.r.Float64() < 0.002 {
		m.reg.ObserveGemini(monitoring.OutcomeTimeout, 30*time.Second)
	}
	if m.r.Float64() < 0.001 {
		m.reg.RateLimited("/api/workflows")
	}
}

// exposition renders the registry as /metrics does.
func (m *defaultMix) exposition() []byte {
	m.buf.Reset()
	m.reg.WritePrometheus(&m.buf)
	return m.buf.Bytes()
}
