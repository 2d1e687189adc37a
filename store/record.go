package store

import bolt "go.etcd.io/bbolt"

// The record operations below are shared by the keyed collections; coll names the
// collection in the metrics, bucket holds its records.

// getRecord decodes the record under key; ErrNotFound if absent.
func getRecord[T any](s *Store, coll string, bucket, key []byte, decode func(k, v []byte) (T, error)) (T, error) {
	var rec T
	err := s.view(coll, func(tx *bolt.Tx) error {
		v := tx.Bucket(bucket).Get(key)
		if v == nil {
			return ErrNotFound
		}
		var err error
		rec, err = decode(key, v)
		return err
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return rec, nil
}

// insertRecord stores data under key; ErrConflict if the key is taken.
func insertRecord(s *Store, coll string, bucket, key, data []byte) error {
	return s.batch(opWrite, coll, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		if b.Get(key) != nil {
			return ErrConflict
		}
		return b.Put(key, data)
	})
}

// updateRecord decodes the record under key, applies change and stores the result;
// ErrNotFound if absent. change and encode errors are the caller's, returned as they are.
// Like every batch function, change may run more than once, each time on a fresh copy.
func updateRecord[T any](s *Store, coll string, bucket, key []byte, decode func(k, v []byte) (T, error), change func(T) error, encode func(T) ([]byte, error)) (T, error) {
	var rec T
	err := s.batch(opWrite, coll, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		v := b.Get(key)
		if v == nil {
			return ErrNotFound
		}
		cur, err := decode(key, v)
		if err != nil {
			return err
		}
		if err := change(cur); err != nil {
			return &callerError{err}
		}
		data, err := encode(cur)
		if err != nil {
			return &callerError{err}
		}
		rec = cur
		return b.Put(key, data)
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return rec, nil
}

// deleteRecord removes the record under key and returns it decoded; ErrNotFound if absent.
func deleteRecord[T any](s *Store, coll string, bucket, key []byte, decode func(k, v []byte) (T, error)) (T, error) {
	var rec T
	err := s.batch(opDelete, coll, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		v := b.Get(key)
		if v == nil {
			return ErrNotFound
		}
		var err error
		if rec, err = decode(key, v); err != nil {
			return err
		}
		return b.Delete(key)
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return rec, nil
}
