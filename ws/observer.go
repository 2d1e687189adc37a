package ws

import (
	"reflect"

	"github.com/gemini-flow/gemini-flow/monitoring"
)

// Observer receives the hub's metrics, from many goroutines at once; *monitoring.Registry
// satisfies it. eventType is always a known event type or "unknown".
type Observer interface {
	WSConnected()
	WSDisconnected()
	WSMessages(direction, eventType string, n int)
}

// Label values of the direction of a counted frame.
const (
	Inbound  = monitoring.Inbound
	Outbound = monitoring.Outbound
)

// nopObserver stands in when Options.Metrics is nil, so the hot paths never branch on it.
type nopObserver struct{}

func (nopObserver) WSConnected()                  {}
func (nopObserver) WSDisconnected()               {}
func (nopObserver) WSMessages(_, _ string, _ int) {}

// observerOrNop also treats a typed nil pointer (a nil *monitoring.Registry stored in the
// interface) as absent, since calling through it would panic far from the mistake.
func observerOrNop(o Observer) Observer {
	if o == nil {
		return nopObserver{}
	}
	if v := reflect.ValueOf(o); v.Kind() == reflect.Pointer && v.IsNil() {
		return nopObserver{}
	}
	return o
}
