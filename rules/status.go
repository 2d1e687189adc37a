package rules

import (
	"sync"
	"time"
)

// Health is a rule's health as Prometheus reports it: unknown before its first
// evaluation, ok, or err when the last evaluation failed.
type Health string

// The health values of a rule.
const (
	HealthUnknown Health = "unknown"
	HealthGood    Health = "ok"
	HealthBad     Health = "err"
)

// ruleStatus is the outcome of a rule's last evaluation.
type ruleStatus struct {
	statusMu sync.Mutex
	health   Health
	lastErr  string
	lastEval time.Time
	duration time.Duration
}

// Status is a snapshot of a rule's last evaluation.
type Status struct {
	Health         Health
	LastError      string
	LastEvaluation time.Time
	EvaluationTime time.Duration
}

// Status returns the outcome of the rule's last evaluation.
func (s *ruleStatus) Status() Status {
	s.statusMu.Lock()
	defer s.statusMu.Unlock()
	h := s.health
	if h == "" {
		h = HealthUnknown
	}
	return Status{Health: h, LastError: s.lastErr, LastEvaluation: s.lastEval, EvaluationTime: s.duration}
}

func (s *ruleStatus) record(ts time.Time, d time.Duration, err error) {
	s.statusMu.Lock()
	defer s.statusMu.Unlock()
	s.lastEval, s.duration, s.health, s.lastErr = ts, d, HealthGood, ""
	if err != nil {
		s.health, s.lastErr = HealthBad, err.Error()
	}
}
