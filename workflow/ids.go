package workflow

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"time"
)

// newID returns "<prefix>-<unix ms>-<12 random hex digits>": sortable by time, and unique even
// for many ids made within one millisecond (48 random bits each).
func newID(prefix string) string {
	var r [6]byte
	_, _ = rand.Read(r[:]) // crypto/rand.Read never fails on supported platforms.
	return prefix + "-" + strconv.FormatInt(time.Now().UnixMilli(), 10) + "-" + hex.EncodeToString(r[:])
}

// NewWorkflowID returns a new workflow id, "workflow-<ms>-<random>".
func NewWorkflowID() string { return newID("workflow") }

// NewSessionID returns a new session id, "session-<ms>-<random>".
func NewSessionID() string { return newID("session") }
