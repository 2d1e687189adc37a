package ws

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gemini-flow/gemini-flow/monitoring"
)

func TestHandleFrame(t *testing.T) {
	f := func(in string, max int64, want action) {
		t.Helper()
		got := handleFrame([]byte(in), max)
		if got.kind != want.kind || got.label != want.label || got.topic != want.topic ||
			got.err.Code != want.err.Code || got.close != want.close {
			t.Fatalf("handleFrame(%q) = %+v, want %+v", in, got, want)
		}
	}
	const max = 64
	f(`{"type":"ping"}`, max, action{kind: actPong, label: TypePing})
	f(`{"type":"ping","payload":null,"extra":[1,2]}`, max, action{kind: actPong, label: TypePing})
	f(`{"type":"subscribe","payload":{"topic":"metrics"}}`, max, action{kind: actSubscribe, label: TypeSubscribe, topic: TopicMetrics})
	f(`{"type":"unsubscribe","payload":{"topic":"metrics"}}`, max, action{kind: actUnsubscribe, label: TypeUnsubscribe, topic: TopicMetrics})
	f(`{"type":"subscribe","payload":{"topic":"Metrics"}}`, max, action{kind: actError, label: TypeSubscribe, err: errorPayload{Code: CodeInvalidTopic}})
	f(`{"type":"subscribe","payload":[]}`, max, action{kind: actError, label: TypeSubscribe, err: errorPayload{Code: CodeParseError}})
	f(`{"type":"store.updated"}`, max, action{kind: actIgnore, label: "store.updated"})
	f(`{"type":"nope"}`, max, action{kind: actIgnore, label: monitoring.Unknown})
	f(`{"type":""}`, max, action{kind: actIgnore, label: monitoring.Unknown})
	f(`{"type":null}`, max, action{kind: actError, label: monitoring.Unknown, err: errorPayload{Code: CodeParseError}})
	f(`null`, max, action{kind: actError, label: monitoring.Unknown, err: errorPayload{Code: CodeParseError}})
	f(``, max, action{kind: actError, label: monitoring.Unknown, err: errorPayload{Code: CodeParseError}})
	f("\xff\xfe", max, action{kind: actError, label: monitoring.Unknown, err: errorPayload{Code: CodeParseError}})
	f(`{"type":"ping"}`+strings.Repeat(" ", max), max, action{kind: actError, label: monitoring.Unknown, close: true, err: errorPayload{Code: CodeMessageTooLarge}})
}

func TestClip(t *testing.T) {
	long := strings.Repeat("é", maxEchoedBytes) // two bytes each: the cut lands mid-rune or not
	if got := clip(long); len(got) > maxEchoedBytes || strings.ContainsRune(got, '\uFFFD') {
		t.Fatalf("clip gave %d bytes %q", len(got), got)
	}
	if got := clip("short"); got != "short" {
		t.Fatalf("clip(short) = %q", got)
	}
}

// FuzzHandleFrame: no input panics, labels stay in the bounded set, and every reply encodes.
func FuzzHandleFrame(f *testing.F) {
	for _, s := range []string{`{"type":"ping"}`, `{"type":"subscribe","payload":{"topic":"metrics"}}`, `not json`} {
		f.Add([]byte(s))
	}
	id := "client-fuzz"
	f.Fuzz(func(t *testing.T, data []byte) {
		act := handleFrame(data, 256)
		if act.label != monitoring.Unknown && monitoring.WSEventType(act.label) != act.label {
			t.Fatalf("label %q outside the known set", act.label)
		}
		switch act.kind {
		case actIgnore, actPong:
		case actError:
			out, err := encode(TypeError, act.err, &id)
			if err != nil || !json.Valid(out.data) {
				t.Fatalf("error reply does not encode: %v", err)
			}
		case actSubscribe, actUnsubscribe:
			if topicIndex(act.topic) < 0 {
				t.Fatalf("topic %q outside the known set", act.topic)
			}
		default:
			t.Fatalf("unknown action %d", act.kind)
		}
	})
}
