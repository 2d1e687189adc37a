//go:build !linux

package store

// releaseMapped does nothing where the pages' mappings are not released.
func (s *Store) releaseMapped() {}
