package server

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxLimiters bounds the per-IP table; a flood from many addresses cannot grow it further.
const maxLimiters = 10000

// ipLimiter keeps one token bucket per client IP.
type ipLimiter struct {
	every rate.Limit
	burst int
	max   int

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

type decision struct {
	allowed           bool
	remaining         int
	resetSeconds      int // until the bucket is full again
	retryAfterSeconds int // until the next request would pass
}

// newIPLimiter allows perMinute requests a minute per IP: a bucket of perMinute tokens
// refilled at perMinute a minute, so a client quiet for a minute may send them back to back.
func newIPLimiter(perMinute, max int) *ipLimiter {
	return &ipLimiter{
		every:   rate.Limit(float64(perMinute) / 60),
		burst:   perMinute,
		max:     max,
		buckets: make(map[string]*bucket),
	}
}

// idleFor is how long an unused bucket takes to refill: after that it equals a new one, so
// dropping it loses nothing.
func (l *ipLimiter) idleFor() time.Duration {
	return time.Duration(float64(l.burst) / float64(l.every) * float64(time.Second))
}

func (l *ipLimiter) take(ip string, now time.Time) decision {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[ip]
	if b == nil {
		if len(l.buckets) >= l.max || now.Sub(l.lastSweep) > time.Minute {
			l.sweep(now)
		}
		b = &bucket{lim: rate.NewLimiter(l.every, l.burst)}
		l.buckets[ip] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	var d decision
	if delay := r.DelayFrom(now); !r.OK() || delay > 0 {
		r.CancelAt(now)
		d.retryAfterSeconds = ceilSeconds(delay)
		if d.retryAfterSeconds < 1 {
			d.retryAfterSeconds = 1
		}
	} else {
		d.allowed = true
	}
	tokens := b.lim.TokensAt(now)
	d.remaining = max(0, int(math.Floor(tokens)))
	d.resetSeconds = ceilSeconds(time.Duration((float64(l.burst) - tokens) / float64(l.every) * float64(time.Second)))
	return d
}

// sweep drops idle buckets; if the table is still full, it drops arbitrary ones, which only
// gives those clients a fresh budget.
func (l *ipLimiter) sweep(now time.Time) {
	l.lastSweep = now
	idle := l.idleFor()
	for ip, b := range l.buckets {
		if now.Sub(b.seen) >= idle {
			delete(l.buckets, ip)
		}
	}
	for ip := range l.buckets {
		if len(l.buckets) < l.max {
			break
		}
		delete(l.buckets, ip)
	}
}

func (l *ipLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

func ceilSeconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int((d + time.Second - 1) / time.Second)
}
