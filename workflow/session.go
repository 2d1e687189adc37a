package workflow

// DefaultSessionTTL is how long a session lives, and how far extend pushes it, unless told.
const DefaultSessionTTL int64 = 60 * 60 * 1000

// Expired reports whether the session has passed its expiry at now (Unix ms) or was marked so.
func (s *Session) Expired(now int64) bool {
	return s.Status == SessionExpired || (s.ExpiresAt > 0 && s.ExpiresAt <= now)
}

// EffectiveStatus is the status a client should see at now: an active session past its expiry
// is reported as expired.
func (s *Session) EffectiveStatus(now int64) SessionStatus {
	if s.Status == SessionActive && s.Expired(now) {
		return SessionExpired
	}
	return s.Status
}

// NewSession returns an active session with a new id, expiring ttl ms after now
// (DefaultSessionTTL when ttl <= 0).
func NewSession(workflowID string, data map[string]any, now, ttl int64) *Session {
	if ttl <= 0 {
		ttl = DefaultSessionTTL
	}
	if data == nil {
		data = map[string]any{}
	}
	return &Session{
		ID: NewSessionID(), WorkflowID: workflowID, Status: SessionActive, Data: data,
		CreatedAt: now, UpdatedAt: now, ExpiresAt: now + ttl,
	}
}

// Extend pushes the expiry by ms (DefaultSessionTTL when ms <= 0) from the later of now and the
// current expiry, and reactivates a session that had only timed out.
func (s *Session) Extend(ms, now int64) {
	if ms <= 0 {
		ms = DefaultSessionTTL
	}
	base := max(s.ExpiresAt, now)
	s.ExpiresAt = base + ms
	if s.Status == SessionExpired {
		s.Status = SessionActive
	}
	s.UpdatedAt = now
}

// Terminate marks the session terminated.
func (s *Session) Terminate(now int64) {
	s.Status = SessionTerminated
	s.UpdatedAt = now
}
