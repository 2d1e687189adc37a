package history

import (
	"context"
	"time"
)

// Run samples the exposition on every interval boundary (timestamps are multiples of the
// interval, so XOR timestamps compress to almost nothing), checkpoints open chunks, and
// enforces the retention. It returns when ctx is done; with a zero Interval or no Source
// it returns at once. Call it once per DB, and Close after it has returned.
func (d *DB) Run(ctx context.Context) {
	iv := d.opts.Interval.Milliseconds()
	if iv <= 0 || d.opts.Source == nil {
		return
	}
	// The first tick is checkpointed too: a process that dies within a minute leaves a trace.
	lastCheckpoint, lastRetention := time.Time{}, time.Time{}
	// Ticks land on interval boundaries; half an interval of slack keeps a checkpoint
	// interval equal to the tick interval from skipping ticks that come a little early.
	slack := d.opts.Interval / 2
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		now := time.Now().UnixMilli()
		next := (now/iv + 1) * iv
		timer.Reset(time.Duration(next-now) * time.Millisecond)
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		d.sample(time.Now().UnixMilli() / iv * iv)
		if time.Since(lastCheckpoint) >= d.opts.CheckpointInterval-slack {
			lastCheckpoint = time.Now()
			if err := d.checkpoint(); err != nil {
				d.log.Error("history checkpoint failed", "err", err)
			}
		}
		if time.Since(lastRetention) >= retentionEvery {
			lastRetention = time.Now()
			if err := d.enforceRetention(d.retentionCutoff(time.Now())); err != nil {
				d.log.Error("history retention failed", "err", err)
			}
		}
	}
}

// sample renders the exposition into a reused buffer and appends it at ts (Unix ms).
func (d *DB) sample(ts int64) {
	d.sampleBuf.Reset()
	d.opts.Source(&d.sampleBuf)
	n, err := d.appendTick(ts, d.sampleBuf.Bytes())
	if err != nil {
		d.log.Warn("history sample", "err", err)
	}
	if d.opts.OnSample != nil {
		d.opts.OnSample(time.UnixMilli(ts), n)
	}
}
