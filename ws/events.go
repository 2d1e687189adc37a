package ws

import "github.com/gemini-flow/gemini-flow/monitoring"

// Event types the hub itself sends or understands; the vocabulary is monitoring's.
const (
	TypeConnected    = monitoring.EventClientConnected
	TypeDisconnected = monitoring.EventClientDisconnected
	TypePing         = monitoring.EventPing
	TypePong         = monitoring.EventPong
	TypeError        = monitoring.EventError
	TypeSubscribe    = monitoring.EventSubscribe
	TypeUnsubscribe  = monitoring.EventUnsubscribe
	TypeMetrics      = monitoring.EventMetricsSampled
)

// Event types the server broadcasts after a change, as the editor clients know them.
const (
	EventWorkflowCreated = monitoring.EventWorkflowCreated
	EventWorkflowUpdated = monitoring.EventWorkflowUpdated
	EventWorkflowDeleted = monitoring.EventWorkflowDeleted
	EventStoreUpdated    = monitoring.EventStoreUpdated
	EventStoreSynced     = monitoring.EventStoreSynced
)

// TopicMetrics is the topic whose subscribers receive metrics.sampled.
const TopicMetrics = "metrics"

// EventLabel returns t when it is a known event type, else "unknown" (monitoring.WSEventType).
func EventLabel(t string) string { return monitoring.WSEventType(t) }

// topics lists the topics a client may subscribe to; a client's subscriptions are a bit mask
// over this slice.
var topics = []string{TopicMetrics}

// topicIndex returns the position of a known topic in topics, or -1.
func topicIndex(topic string) int {
	for i, t := range topics {
		if t == topic {
			return i
		}
	}
	return -1
}

// topicOfEvent binds event types to the topic that gates them, so that even a Broadcast of
// metrics.sampled reaches only subscribers.
var topicOfEvent = map[string]string{TypeMetrics: TopicMetrics}
