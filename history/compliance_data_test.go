package history

import (
	"context"
	"errors"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/tsdb"
)

// The compliance history: the binary's own families and label sets (a real
// monitoring.Registry under synthetic traffic, newMix), sampled every 30 s for a little
// over two hours, so that the first two-hour window reaches the file as blocks and
// downsampled copies while the rest stays in open chunks. On top of the traffic:
//   - gauges that move (WebSocket connections, workflows);
//   - series that vanish and come back (one route's series, the WebSocket gauge): a
//     staleness marker ends them and a new sample starts them again;
//   - a restart: the history is closed, the binary is down for a few ticks and comes back
//     with a fresh registry, so every counter starts again from zero.
const (
	complianceStep    = 30_000 // ms between samples
	complianceTicks   = 270    // 2 h 15 m
	complianceDownAt  = 170    // the binary stops before this tick (5100 s)
	complianceUpAt    = 172    // and is sampled again from this one (5160 s)
	complianceCkEvery = 20     // a checkpoint every simulated 10 minutes, as Run does
)

// complianceGaps are the ticks [from, to) in which the series whose exposition line
// contains the marker are missing.
var complianceGaps = []struct {
	from, to int
	marker   string
}{
	{70, 90, `route="/api/workflows/{id}"`},   // 2100–2700 s
	{205, 215, `route="/api/workflows/{id}"`}, // 6150–6450 s
	{100, 110, "gemini_flow_websocket_connections_active"},
	{235, 240, "gemini_flow_websocket_connections_active"},
}

// complianceSource renders the exposition of each tick.
type complianceSource struct {
	mix *defaultMix
	buf []byte
}

func newComplianceSource() *complianceSource {
	return &complianceSource{mix: newMix(1)}
}

// restart starts a fresh registry: counters from zero, the same label sets as traffic
// comes.
func (c *complianceSource) restart() { c.mix = newMix(1) }

// exposition steps the traffic and renders tick i, without the series missing then.
func (c *complianceSource) exposition(i int) []byte {
	m := c.mix
	m.step()
	switch m.r.IntN(4) {
	case 0:
		m.reg.WSConnected()
	case 1:
		m.reg.WSDisconnected()
	}
	if m.r.IntN(3) == 0 {
		m.reg.WorkflowAdded(1 + m.r.IntN(9))
	}
	full := m.exposition()
	c.buf = c.buf[:0]
	for line := range strings.SplitAfterSeq(string(full), "\n") {
		if !complianceMissing(i, line) {
			c.buf = append(c.buf, line...)
		}
	}
	return c.buf
}

func complianceMissing(i int, line string) bool {
	for _, g := range complianceGaps {
		if i >= g.from && i < g.to && !strings.HasPrefix(line, "#") && strings.Contains(line, g.marker) {
			return true
		}
	}
	return false
}

// scrapeAppender appends an exposition to a Prometheus TSDB as a Prometheus scrape does:
// every sample at the scrape's time with the job and instance labels, and a staleness
// marker for each series of the previous scrape that this one lacks.
type scrapeAppender struct {
	db   *tsdb.DB
	prev map[string]labels.Labels
}

func (s *scrapeAppender) append(ts int64, exposition []byte) error {
	app := s.db.Appender(context.Background())
	cur := map[string]labels.Labels{}
	p := textparse.NewPromParser(exposition, labels.NewSymbolTable(), false)
	lb := labels.NewBuilder(labels.EmptyLabels())
	var lset labels.Labels
	for {
		e, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return errors.Join(err, app.Rollback())
		}
		if e != textparse.EntrySeries {
			continue
		}
		met, _, v := p.Series()
		p.Labels(&lset)
		lb.Reset(lset)
		lb.Set("job", testJob)
		lb.Set("instance", testInstance)
		l := lb.Labels()
		cur[string(met)] = l
		if _, err := app.Append(0, l, ts, v); err != nil {
			return errors.Join(err, app.Rollback())
		}
	}
	stale := math.Float64frombits(value.StaleNaN)
	for k, l := range s.prev {
		if _, ok := cur[k]; !ok {
			if _, err := app.Append(0, l, ts, stale); err != nil {
				return errors.Join(err, app.Rollback())
			}
		}
	}
	s.prev = cur
	return app.Commit()
}

// buildCompliance writes the compliance history to a history at path and to a Prometheus
// TSDB in a temporary directory, and returns both, open, and the last tick's time.
func buildCompliance(t *testing.T) (*DB, *tsdb.DB, int64) {
	t.Helper()
	tdb, err := tsdb.Open(t.TempDir(), nil, nil, tsdb.DefaultOptions(), nil)
	if err != nil {
		t.Fatal(err)
	}
	tdb.DisableCompactions() // the whole history stays in the head
	t.Cleanup(func() {
		if err := tdb.Close(); err != nil {
			t.Error(err)
		}
	})
	prom := &scrapeAppender{db: tdb}
	path := tempPath(t)
	d := openTest(t, path)
	src := newComplianceSource()
	for i := range complianceTicks {
		if i >= complianceDownAt && i < complianceUpAt {
			continue
		}
		if i == complianceUpAt {
			// The binary comes back: a new history handle over the same file, a new
			// registry, and no memory of the series seen before the restart on either side.
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
			d = openTest(t, path)
			src.restart()
			prom.prev = nil
		}
		ts := t0 + int64(i)*complianceStep
		expo := src.exposition(i)
		if err := d.Append(ts, expo); err != nil {
			t.Fatalf("history, tick %d: %v", i, err)
		}
		if err := prom.append(ts, expo); err != nil {
			t.Fatalf("tsdb, tick %d: %v", i, err)
		}
		if i%complianceCkEvery == complianceCkEvery-1 {
			if err := d.checkpoint(); err != nil {
				t.Fatal(err)
			}
		}
	}
	return d, tdb, t0 + int64(complianceTicks-1)*complianceStep
}
