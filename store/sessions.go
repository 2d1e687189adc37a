package store

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gemini-flow/gemini-flow/workflow"
)

// Sessions is the sessions collection, keyed by id.
type Sessions struct{ s *Store }

// SessionFilter selects sessions in List; zero fields match all.
type SessionFilter struct {
	Status     workflow.SessionStatus
	WorkflowID string
}

func decodeSession(k, v []byte) (*workflow.Session, error) {
	var s workflow.Session
	if err := json.Unmarshal(v, &s); err != nil {
		return nil, fmt.Errorf("%w: session %q: %v", ErrCorrupt, k, err)
	}
	if s.Data == nil {
		s.Data = map[string]any{}
	}
	return &s, nil
}

func encodeSession(s *workflow.Session) ([]byte, error) {
	if err := workflow.ValidateID(s.ID); err != nil {
		return nil, fmt.Errorf("store session: %w", err)
	}
	if s.Data == nil {
		s.Data = map[string]any{}
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encode session %q: %w", s.ID, err)
	}
	return b, nil
}

// List returns the sessions matching f in id order; an active session past its expiry is
// reported (and filtered) with status "expired".
func (ss *Sessions) List(f SessionFilter) ([]workflow.Session, error) {
	now := time.Now().UnixMilli()
	out := []workflow.Session{}
	err := ss.s.view(collSessions, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSessions).ForEach(func(k, v []byte) error {
			s, err := decodeSession(k, v)
			if err != nil {
				return err
			}
			s.Status = s.EffectiveStatus(now)
			if (f.Status != "" && s.Status != f.Status) || (f.WorkflowID != "" && s.WorkflowID != f.WorkflowID) {
				return nil
			}
			out = append(out, *s)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Get returns the session, its status "expired" if past its expiry; ErrNotFound if absent.
func (ss *Sessions) Get(id string) (*workflow.Session, error) {
	s, err := getRecord(ss.s, collSessions, bucketSessions, []byte(id), decodeSession)
	if err != nil {
		return nil, err
	}
	s.Status = s.EffectiveStatus(time.Now().UnixMilli())
	return s, nil
}

// Create stores a new session; ErrConflict if its id is already stored.
func (ss *Sessions) Create(sess *workflow.Session) error {
	data, err := encodeSession(sess)
	if err != nil {
		return err
	}
	if err := insertRecord(ss.s, collSessions, bucketSessions, []byte(sess.ID), data); err != nil {
		return err
	}
	ss.s.apply(Stats{SessionCount: 1})
	return nil
}

// Update applies fn to the stored session and stores the result, keeping its id. fn may run
// more than once, each time on a fresh copy; its error aborts the update and is returned as is.
func (ss *Sessions) Update(id string, fn func(*workflow.Session) error) (*workflow.Session, error) {
	return updateRecord(ss.s, collSessions, bucketSessions, []byte(id), decodeSession, func(cur *workflow.Session) error {
		if err := fn(cur); err != nil {
			return err
		}
		cur.ID = id
		return nil
	}, encodeSession)
}

// Delete removes the session and returns it; ErrNotFound if absent.
func (ss *Sessions) Delete(id string) (*workflow.Session, error) {
	s, err := deleteRecord(ss.s, collSessions, bucketSessions, []byte(id), decodeSession)
	if err != nil {
		return nil, err
	}
	ss.s.apply(Stats{SessionCount: -1})
	return s, nil
}

// Cleanup removes every session expired at now (past its expiry or marked expired) and
// returns how many it removed.
func (ss *Sessions) Cleanup(now time.Time) (int, error) {
	ms := now.UnixMilli()
	var removed int
	err := ss.s.batch(opDelete, collSessions, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSessions)
		var gone [][]byte
		err := b.ForEach(func(k, v []byte) error {
			s, err := decodeSession(k, v)
			if err != nil {
				return err
			}
			if s.Expired(ms) {
				gone = append(gone, append([]byte(nil), k...))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range gone {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		removed = len(gone)
		return nil
	})
	if err != nil {
		return 0, err
	}
	ss.s.apply(Stats{SessionCount: -removed})
	return removed, nil
}
