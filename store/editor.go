package store

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gemini-flow/gemini-flow/workflow"
)

// Editor is the one shared editor state, stored under one key of the store bucket.
type Editor struct{ s *Store }

func readEditor(tx *bolt.Tx) (workflow.EditorState, error) {
	var st workflow.EditorState
	if v := tx.Bucket(bucketStore).Get(keyEditor); v != nil {
		if err := json.Unmarshal(v, &st); err != nil {
			return st, fmt.Errorf("%w: editor state: %v", ErrCorrupt, err)
		}
	}
	st.Normalize()
	return st, nil
}

// Get returns the editor state, normalised; an empty state when none was ever stored.
func (e *Editor) Get() (workflow.EditorState, error) {
	var st workflow.EditorState
	err := e.s.view(collStore, func(tx *bolt.Tx) error {
		var err error
		st, err = readEditor(tx)
		return err
	})
	return st, err
}

// Update applies fn to the state, normalises it, sets LastUpdate to now (Unix ms), stores it
// and returns it. fn may run more than once, each time on a fresh copy; its error aborts the
// update and is returned as is.
func (e *Editor) Update(fn func(*workflow.EditorState) error) (workflow.EditorState, error) {
	var st workflow.EditorState
	err := e.s.batch(opWrite, collStore, func(tx *bolt.Tx) error {
		cur, err := readEditor(tx)
		if err != nil {
			return err
		}
		if err := fn(&cur); err != nil {
			return &callerError{err}
		}
		cur.Normalize()
		cur.LastUpdate = time.Now().UnixMilli()
		data, err := json.Marshal(&cur)
		if err != nil {
			return &callerError{fmt.Errorf("encode editor state: %w", err)}
		}
		st = cur
		return tx.Bucket(bucketStore).Put(keyEditor, data)
	})
	if err != nil {
		return workflow.EditorState{}, err
	}
	e.s.apply(Stats{LastStoreUpdate: st.LastUpdate})
	return st, nil
}
