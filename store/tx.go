package store

import (
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// callerError carries an error returned by a caller's function out of a transaction, so it is
// returned as is and not counted as a database failure.
type callerError struct{ err error }

func (e *callerError) Error() string { return e.err.Error() }

// unwrapCaller returns the caller's own error if err carries one.
func unwrapCaller(err error) error {
	var ce *callerError
	if errors.As(err, &ce) {
		return ce.err
	}
	return err
}

// dbFailure is the error the metrics should see: nil unless the database itself failed.
func dbFailure(err error) error {
	var ce *callerError
	if err == nil || errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) || errors.As(err, &ce) {
		return nil
	}
	return err
}

func (s *Store) observe(op, coll string, err error, start time.Time) {
	if s.metrics != nil {
		s.metrics.ObserveDB(op, coll, dbFailure(err), time.Since(start))
	}
}

// readTx runs fn in a read transaction. It manages the transaction itself rather than using
// db.View so that a bbolt panic on a corrupt page is turned into ErrCorrupt and the
// transaction is still released (db.View would leave it open and Close would then hang).
func (s *Store) readTx(fn func(tx *bolt.Tx) error) (err error) {
	tx, err := s.db.Begin(false)
	if err != nil {
		return err
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", ErrCorrupt, r)
		}
		_ = tx.Rollback()
	}()
	return fn(tx)
}

// view runs a timed read transaction.
func (s *Store) view(coll string, fn func(tx *bolt.Tx) error) error {
	start := time.Now()
	err := s.readTx(fn)
	s.observe(opRead, coll, err, start)
	return unwrapCaller(err)
}

// batch runs a timed write through db.Batch. fn may run more than once (bbolt re-runs a
// batch's functions after one fails), so it must only assign, never accumulate, outside tx.
func (s *Store) batch(op, coll string, fn func(tx *bolt.Tx) error) error {
	start := time.Now()
	err := s.db.Batch(fn)
	s.observe(op, coll, err, start)
	return unwrapCaller(err)
}
