package ws

import (
	"encoding/json"
	"strings"
	"testing"
)

// Frames of every header size (7-bit, 16-bit and 64-bit lengths), written in one batch,
// arrive whole and in order as separate messages, and are counted once each.
func TestBatchFramesEveryLength(t *testing.T) {
	s := startServer(t, Options{})
	c := s.dial(t)
	sizes := []int{0, 40, 200, 60000, 70000, 300000}
	for i, n := range sizes {
		s.hub.Broadcast("store.updated", seqPayload{Seq: i, Blob: strings.Repeat("b", n)})
	}
	for i, n := range sizes {
		f := c.next(t)
		var p seqPayload
		if err := json.Unmarshal(f.Payload, &p); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if f.Type != "store.updated" || p.Seq != i || len(p.Blob) != n {
			t.Fatalf("frame %d: type %s seq %d blob %d bytes, want seq %d blob %d", i, f.Type, p.Seq, len(p.Blob), i, n)
		}
	}
	eventually(t, "outbound count", func() bool { return s.obs.count(Outbound, "store.updated") == len(sizes) })
}

// A frame larger than the whole queue bound still reaches a client that has caught up.
func TestFrameOverQueueBound(t *testing.T) {
	s := startServer(t, Options{SendQueueBytes: 1 << 10})
	c := s.dial(t)
	s.hub.Broadcast("store.updated", seqPayload{Seq: 7, Blob: strings.Repeat("o", 4<<10)})
	if f := c.next(t); f.Type != "store.updated" || !strings.Contains(string(f.Payload), `"seq":7`) {
		t.Fatalf("got %s %.40s", f.Type, f.Payload)
	}
	s.connectedEquals(t, 1)
}

// appendHeader picks the shortest length encoding at each boundary.
func TestAppendHeader(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want []byte
	}{
		{0, []byte{0x81, 0}},
		{125, []byte{0x81, 125}},
		{126, []byte{0x81, 126, 0, 126}},
		{65535, []byte{0x81, 126, 0xff, 0xff}},
		{65536, []byte{0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0}},
	} {
		got := appendHeader(nil, tc.n)
		if string(got) != string(tc.want) || len(got) != headerLen(tc.n) {
			t.Errorf("header of %d bytes: % x (len %d), want % x", tc.n, got, headerLen(tc.n), tc.want)
		}
	}
}
