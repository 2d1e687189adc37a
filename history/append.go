package history

import (
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/prometheus/prometheus/model/textparse"
	"github.com/prometheus/prometheus/model/value"
)

// Append parses one text exposition with Prometheus's text parser and appends every
// sample at ts (Unix ms), with the job and instance labels a scrape would add. A series
// seen in the previous call but missing from this one gets a staleness marker, as a
// Prometheus scrape writes one. Samples not newer than their series' last are dropped, and
// timestamps written in the exposition are ignored: every sample is taken at ts.
func (d *DB) Append(ts int64, exposition []byte) error {
	_, err := d.appendTick(ts, exposition)
	return err
}

// appendTick is Append, also returning the number of series in the exposition.
func (d *DB) appendTick(ts int64, exposition []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.wroteAt(ts)
	d.tick++
	cur := d.cur[:0]
	var added uint64
	p := textparse.NewPromParser(exposition, d.symbols, false)
	var perr error
	for {
		e, err := p.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				perr = fmt.Errorf("parse exposition: %w", err)
			}
			break
		}
		switch e {
		case textparse.EntryHelp:
			name, help := p.Help()
			d.setHelp(name, help)
		case textparse.EntryType:
			name, typ := p.Type()
			d.setType(name, string(typ))
		case textparse.EntryUnit:
			name, unit := p.Unit()
			d.setUnit(name, unit)
		case textparse.EntrySeries:
			met, _, v := p.Series()
			s := d.raw[string(met)]
			if s == nil {
				p.Labels(&d.scratch)
				d.lb.Reset(d.scratch)
				d.lb.Set("job", d.opts.Job)
				d.lb.Set("instance", d.opts.Instance)
				s = d.getOrCreate(d.lb.Labels())
				d.raw[string(met)] = s
			}
			if s.lastTick == d.tick {
				continue // the same series twice in one exposition: keep the first
			}
			s.lastTick = d.tick
			cur = append(cur, s)
			if value.IsStaleNaN(v) {
				v = math.NaN() // only the history writes staleness markers
			}
			if s.append(ts, v) {
				added++
			}
		}
	}
	n := len(cur)
	stale := math.Float64frombits(value.StaleNaN)
	for _, s := range d.prev {
		if s.lastTick != d.tick && !s.stale && d.byID[s.id] == s && s.append(ts, stale) {
			added++
		}
	}
	d.cur, d.prev = d.prev[:0], cur
	if added > 0 {
		d.samples.Add(added)
		d.lastSample.Store(ts)
	}
	return n, perr
}
