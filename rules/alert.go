package rules

import (
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/gemini-flow/gemini-flow/monitoring"
)

// AlertState is where an alert stands: inactive, pending (its `for` is running) or firing.
type AlertState int

// The states of an alert, ordered so that a rule's state is the largest of its alerts'.
const (
	StateInactive AlertState = iota
	StatePending
	StateFiring
)

// String is the state as Prometheus names it in its API and in the alertstate label.
func (s AlertState) String() string {
	switch s {
	case StatePending:
		return monitoring.AlertStatePending
	case StateFiring:
		return monitoring.AlertStateFiring
	default:
		return "inactive"
	}
}

// Alert is one alert of an alerting rule: one label set of the rule's result.
type Alert struct {
	State       AlertState
	Labels      labels.Labels
	Annotations labels.Labels
	Value       float64 // the expression's value at the last evaluation that returned it

	ActiveAt        time.Time // when the expression first returned this label set
	FiredAt         time.Time // when the alert went from pending to firing
	ResolvedAt      time.Time // when the expression stopped returning it; zero while active
	LastSentAt      time.Time // when it was last handed to the notifiers
	ValidUntil      time.Time // the endsAt sent with a firing alert
	KeepFiringSince time.Time // when keep_firing_for started holding it; zero otherwise
}

// needsSending reports whether the alert is due to be sent at ts: never while pending, at
// once when it resolved after the last send, otherwise every resendDelay.
func (a *Alert) needsSending(ts time.Time, resendDelay time.Duration) bool {
	if a.State == StatePending {
		return false
	}
	if a.ResolvedAt.After(a.LastSentAt) {
		return true
	}
	return a.LastSentAt.Add(resendDelay).Before(ts)
}
