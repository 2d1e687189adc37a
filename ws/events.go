package ws

// Event types the hub itself sends or understands.
const (
	TypeConnected    = "client.connected"
	TypeDisconnected = "client.disconnected"
	TypePing         = "ping"
	TypePong         = "pong"
	TypeError        = "error"
	TypeSubscribe    = "subscribe"
	TypeUnsubscribe  = "unsubscribe"
	TypeMetrics      = "metrics.sampled"
)

// TopicMetrics is the topic whose subscribers receive metrics.sampled.
const TopicMetrics = "metrics"

// labelUnknown is the metric label of every event type outside knownTypes.
const labelUnknown = "unknown"

// knownTypes is the bounded set of event-type labels; anything else is counted as "unknown"
// so that a client can never mint a new label value.
var knownTypes = map[string]string{
	TypeConnected:      TypeConnected,
	TypeDisconnected:   TypeDisconnected,
	TypePing:           TypePing,
	TypePong:           TypePong,
	TypeError:          TypeError,
	TypeSubscribe:      TypeSubscribe,
	TypeUnsubscribe:    TypeUnsubscribe,
	"workflow.created": "workflow.created",
	"workflow.updated": "workflow.updated",
	"workflow.deleted": "workflow.deleted",
	"store.updated":    "store.updated",
	"store.synced":     "store.synced",
	TypeMetrics:        TypeMetrics,
}

// eventLabel returns t when it is a known event type, else "unknown". The returned string is
// the map's own value, never the caller's, so no client bytes are retained as a label.
func eventLabel(t string) string {
	if l, ok := knownTypes[t]; ok {
		return l
	}
	return labelUnknown
}

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
