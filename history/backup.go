package history

import (
	"io"

	bolt "go.etcd.io/bbolt"
)

// Backup checkpoints the samples held in memory, then writes a consistent copy of the file
// to w from one read transaction while sampling and queries carry on. The copy opens as a
// history like any other. It returns the bytes written.
func (d *DB) Backup(w io.Writer) (int64, error) {
	if err := d.checkpoint(); err != nil {
		return 0, err
	}
	var n int64
	err := d.bdb.View(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}
