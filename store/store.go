// Package store keeps gemini-flow's workflows, editor state and sessions in one bbolt file.
// Every operation is one transaction, timed into the database metrics; writes go through
// bbolt's Batch so concurrent writers share a commit (and its fsync) without giving up
// durability.
package store

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/gemini-flow/gemini-flow/internal/boltfile"
	"github.com/gemini-flow/gemini-flow/monitoring"
)

// FileName is the name of the database file inside the data directory.
const FileName = "gemini-flow.db"

// Errors returned by the store.
var (
	// ErrNotFound is returned when the requested workflow or session does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict is returned by Create when the id is already stored.
	ErrConflict = errors.New("already exists")
	// ErrLocked is returned by Open when another process holds the file for longer than Timeout.
	ErrLocked = errors.New("database file is locked by another process")
	// ErrCorrupt is returned when the file is not a readable bbolt database or a record in it
	// cannot be decoded.
	ErrCorrupt = errors.New("database file is corrupt")
)

// Observer receives the store's metrics; *monitoring.Registry satisfies it.
type Observer interface {
	ObserveDB(operation, collection string, err error, d time.Duration)
	WorkflowAdded(nodes int)
	WorkflowRemoved(nodes int)
	SetWorkflowNodeCounts(counts []int)
}

// Label values of the database metrics.
const (
	opRead   = monitoring.OpRead
	opWrite  = monitoring.OpWrite
	opDelete = monitoring.OpDelete

	collWorkflows = monitoring.CollWorkflows
	collStore     = monitoring.CollStore
	collSessions  = monitoring.CollSessions
)

var (
	bucketWorkflows = []byte("workflows")
	bucketStore     = []byte("store")
	bucketSessions  = []byte("sessions")
	keyEditor       = []byte("editor")
)

// allocSize is how much the file grows by once past it: bbolt's 16 MiB default would leave
// up to that much unused at the end of a small host's file.
const allocSize = 1 << 20

// Options configures Open. The zero value is ready to use.
type Options struct {
	// Timeout is how long Open waits for another process's file lock; 0 means 1 s.
	Timeout time.Duration
	// BatchDelay is how long a write waits for others to share its commit; 0 means 1 ms.
	BatchDelay time.Duration
	// Metrics receives operation timings and workflow node counts; nil records nothing.
	Metrics Observer
}

// Store is the open database and its three collections.
type Store struct {
	Workflows *Workflows
	Editor    *Editor
	Sessions  *Sessions

	db      *bolt.DB
	path    string
	metrics Observer

	mu       sync.Mutex
	counts   Stats
	degraded string // set at Open, read-only after
}

// Stats are the store's counts, kept up to date after every commit.
type Stats struct {
	WorkflowCount   int   `json:"workflowCount"`
	NodeCount       int   `json:"nodeCount"` // nodes over all stored workflows
	EdgeCount       int   `json:"edgeCount"` // edges over all stored workflows
	SessionCount    int   `json:"sessionCount"`
	LastStoreUpdate int64 `json:"lastStoreUpdate"` // the editor state's lastUpdate, Unix ms
	FileSizeBytes   int64 `json:"fileSizeBytes"`
}

// Open opens (creating if needed) the database at path. A file locked by another process
// fails after opts.Timeout with ErrLocked; an unreadable file fails with ErrCorrupt, and is
// left byte for byte as it was: it is checked read-only before anything writes to it.
func Open(path string, opts Options) (st *Store, err error) {
	if opts.Timeout <= 0 {
		opts.Timeout = time.Second
	}
	if opts.BatchDelay <= 0 {
		opts.BatchDelay = time.Millisecond
	}
	report, err := boltfile.Check(path)
	if err != nil {
		if errors.Is(err, boltfile.ErrCorrupt) {
			return nil, fmt.Errorf("open %s: %w: %v", path, ErrCorrupt, err)
		}
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	var db *bolt.DB
	// A fault reading a mapped page, or a panic on a damaged one, is a corrupt file.
	defer boltfile.Guard()()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("open %s: %w: %v", path, ErrCorrupt, r)
		}
		if err != nil && db != nil {
			_ = db.Close()
		}
	}()
	db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.Timeout, InitialMmapSize: initialMmapSize})
	if err != nil {
		db = nil
		switch {
		case errors.Is(err, berrors.ErrTimeout):
			return nil, fmt.Errorf("open %s: %w (waited %s)", path, ErrLocked, opts.Timeout)
		case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum),
			errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, berrors.ErrInvalidMapping):
			return nil, fmt.Errorf("open %s: %w: %v", path, ErrCorrupt, err)
		}
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.MaxBatchDelay = opts.BatchDelay
	db.AllocSize = allocSize
	if err := checkPages(db); err != nil {
		return nil, fmt.Errorf("open %s: %w: %v", path, ErrCorrupt, err)
	}
	if err := ensureBuckets(db); err != nil {
		return nil, fmt.Errorf("open %s: %w: %v", path, ErrCorrupt, err)
	}
	st = &Store{db: db, path: path, metrics: nilIfTypedNil(opts.Metrics)}
	if report.Fallback {
		st.degraded = "the newest meta page is damaged; opened the previous one, which may lack the last write (" + report.Problem + ")"
	}
	st.Workflows = &Workflows{s: st}
	st.Editor = &Editor{s: st}
	st.Sessions = &Sessions{s: st}
	nodeCounts, err := st.scan()
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if st.metrics != nil {
		st.metrics.SetWorkflowNodeCounts(nodeCounts)
	}
	return st, nil
}

// initialMmapSize maps this much from the start, so that writes growing a small file do not
// remap it (a remap waits for every open read transaction).
const initialMmapSize = 256 << 20

// checkPages walks every page of the file read-only and reports the first inconsistency.
func checkPages(db *bolt.DB) error {
	return db.View(func(tx *bolt.Tx) error {
		var errs []error
		// Drained to the end: the checking goroutine holds the transaction until then.
		for err := range tx.Check() {
			if len(errs) < 3 {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	})
}

// ensureBuckets creates the collections a new file lacks; an existing file is not written.
func ensureBuckets(db *bolt.DB) error {
	names := [][]byte{bucketWorkflows, bucketStore, bucketSessions}
	missing := false
	if err := db.View(func(tx *bolt.Tx) error {
		for _, name := range names {
			missing = missing || tx.Bucket(name) == nil
		}
		return nil
	}); err != nil || !missing {
		return err
	}
	return db.Update(func(tx *bolt.Tx) error {
		for _, name := range names {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
}

// Degraded is why the file opened but may not hold everything acknowledged; "" when whole.
func (s *Store) Degraded() string { return s.degraded }

// nilIfTypedNil turns a nil pointer wrapped in the interface into a nil interface, so a
// caller passing a nil *monitoring.Registry gets "no metrics" rather than a panic.
func nilIfTypedNil(o Observer) Observer {
	if o == nil {
		return nil
	}
	if v := reflect.ValueOf(o); v.Kind() == reflect.Pointer && v.IsNil() {
		return nil
	}
	return o
}

// Close closes the database, waiting for running transactions.
func (s *Store) Close() error { return s.db.Close() }

// Ping reports whether the database answers a read.
func (s *Store) Ping() error {
	return s.readTx(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketWorkflows) == nil {
			return fmt.Errorf("%w: bucket workflows missing", ErrCorrupt)
		}
		return nil
	})
}

// Stats returns the kept counts and the file size; it does not scan the data.
func (s *Store) Stats() (Stats, error) {
	s.mu.Lock()
	st := s.counts
	s.mu.Unlock()
	fi, err := os.Stat(s.path)
	if err != nil {
		return st, fmt.Errorf("stat database: %w", err)
	}
	st.FileSizeBytes = fi.Size()
	return st, nil
}

// Backup writes a consistent copy of the database to w and returns the bytes written. The
// copy is taken into a temporary file first, so the read transaction lasts as long as a local
// disk copy, never as long as a slow w: no reader holds back a writer growing the file.
func (s *Store) Backup(w io.Writer) (int64, error) {
	f, err := s.snapshot()
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return io.Copy(w, f)
}

// snapshot copies the database into an unlinked temporary file beside it, rewound.
func (s *Store) snapshot() (*os.File, error) {
	f, err := os.CreateTemp(filepath.Dir(s.path), ".backup-*")
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	// Unlinked at once: the open file keeps its blocks until closed, and a crash leaves nothing.
	_ = os.Remove(f.Name())
	err = s.readTx(func(tx *bolt.Tx) error {
		_, err := tx.WriteTo(f)
		return err
	})
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("backup: %w", err)
	}
	return f, nil
}

// apply adds a committed write's effect to the kept counts. Effects are deltas, so commits
// applied out of order still sum to the right totals.
func (s *Store) apply(d Stats) {
	s.mu.Lock()
	s.counts.WorkflowCount += d.WorkflowCount
	s.counts.NodeCount += d.NodeCount
	s.counts.EdgeCount += d.EdgeCount
	s.counts.SessionCount += d.SessionCount
	s.counts.LastStoreUpdate = max(s.counts.LastStoreUpdate, d.LastStoreUpdate)
	s.mu.Unlock()
}
