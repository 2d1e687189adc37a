// Package history keeps the binary's own metric history: it samples the exposition every
// interval, stores the samples as Gorilla XOR chunks in its own bbolt file, enforces
// retention, and answers the PromQL engine as a storage.Queryable.
//
// Long-range queries read downsampled data when their step allows: every two-hour block
// is also kept at 1 m, 5 m and 10 m resolution (the last sample of each window, with its
// own timestamp), and a selection reads the coarsest copy no coarser than the query's
// step that still puts four samples in its range, or 1 m for a plain selector
// (downsample.go).
// Queries without a step and functions that count samples or look for extremes read raw
// samples. The last two hours (the open chunks) are never stored downsampled: they are
// read from the raw samples, thinned as they are read to the resolution of the rest.
package history

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gemini-flow/gemini-flow/internal/boltfile"
	"github.com/gemini-flow/gemini-flow/monitoring"
	"github.com/prometheus/prometheus/model/labels"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Options configures a DB. Every zero value has a usable default, noted per field.
type Options struct {
	Path               string                         // history.db; required
	Interval           time.Duration                  // sampling interval; 0 -> Run returns at once
	Retention          time.Duration                  // 0 -> 7 days
	Job, Instance      string                         // the job and instance labels a scrape would add
	Source             func(w io.Writer)              // renders the exposition; nil -> Run samples nothing
	OnSample           func(ts time.Time, series int) // called after each tick; may be nil
	Logger             *slog.Logger                   // nil -> slog.Default()
	CheckpointInterval time.Duration                  // how often open chunks reach the file; 0 -> every tick
	LockTimeout        time.Duration                  // wait for the file lock; 0 -> 1 second
}

const (
	defaultRetention = 7 * 24 * time.Hour
	retentionEvery   = 10 * time.Minute
	fileGrowStep     = 1 << 20
)

// initialMmap is the size bbolt maps the file with at first. It is address space, not
// memory: a checkpoint that outgrows the mapping must remap, which waits for every open
// querier, so the mapping starts larger than a week of the default series mix. Windows
// would grow the file itself to the mapping, so there it starts at the file's size.
func initialMmap() int {
	if runtime.GOOS == "windows" {
		return 0
	}
	return 256 << 20
}

// DB is the metric history. Its methods are safe for concurrent use.
type DB struct {
	opts Options
	log  *slog.Logger
	bdb  *bolt.DB

	// writeMu serialises checkpoints and retention passes, the only writers of the file.
	writeMu sync.Mutex

	mu        sync.Mutex
	byID      map[uint32]*series
	byHash    map[uint64][]*series
	byName    map[string][]*series // postings of the metric name
	raw       map[string]*series   // exposition series text -> series, as a scrape cache does
	nextID    uint32
	tick      uint64
	prev, cur []*series // series seen in the last tick, and a scratch slice for the next
	meta      map[string]Metadata
	headSeq   uint64 // key of the newest head log record
	headLog   int    // bytes in the head log
	ckGen     uint64 // successful checkpoints; a querier's read transaction must be as new
	metaDirty bool

	symbols    *labels.SymbolTable
	scratch    labels.Labels
	lb         *labels.Builder
	sampleBuf  bytes.Buffer
	closed     bool
	closeErr   error
	samples    atomic.Uint64
	lastSample atomic.Int64  // ms; 0 before the first sample
	pastGen    atomic.Uint64 // counts changes to what was before lastSample (see Watermark)
	ckErrors   atomic.Uint64
	fileBytes  atomic.Int64
}

// Open opens or creates the history file. A file that cannot be read as history is moved
// aside to <path>.corrupt-<unix> with a warning, and an empty history starts in its place.
func Open(opts Options) (*DB, error) {
	if opts.Path == "" {
		return nil, errors.New("open history: empty path")
	}
	if opts.Retention <= 0 {
		opts.Retention = defaultRetention
	}
	if opts.CheckpointInterval <= 0 {
		// A delta of the open chunks costs a few bytes per series, so each tick reaches the
		// file: a crash loses at most the tick being taken.
		opts.CheckpointInterval = opts.Interval
	}
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	d := &DB{opts: opts, log: opts.Logger}
	err := d.openFile()
	if err != nil && errors.Is(err, errCorruptFile) {
		aside := fmt.Sprintf("%s.corrupt-%d", opts.Path, time.Now().Unix())
		d.log.Warn("history file is corrupt; moved aside, starting empty", "path", opts.Path, "moved_to", aside, "err", err)
		if rerr := os.Rename(opts.Path, aside); rerr != nil {
			return nil, fmt.Errorf("open history: move corrupt file aside: %w", rerr)
		}
		err = d.openFile()
	}
	if err != nil {
		return nil, fmt.Errorf("open history: %w", err)
	}
	d.updateFileSize()
	return d, nil
}

// errCorruptFile marks a file whose bytes are not a readable history.
var errCorruptFile = errors.New("corrupt history file")

// openFile opens the bbolt file and loads the index. Failures that come from the bytes of
// the file (not from the lock or the file system) wrap errCorruptFile.
func (d *DB) openFile() (err error) {
	d.reset()
	report, err := boltfile.Check(d.opts.Path)
	if err != nil {
		if errors.Is(err, boltfile.ErrCorrupt) {
			return fmt.Errorf("%w: %v", errCorruptFile, err)
		}
		return err
	}
	if report.Fallback {
		d.log.Error("history file's newest meta page is damaged; opened the previous one", "path", d.opts.Path, "problem", report.Problem)
	}
	var bdb *bolt.DB
	// A fault reading a mapped page, or a panic on a damaged one, is a corrupt file.
	defer boltfile.Guard()()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", errCorruptFile, r)
		}
		if err != nil && bdb != nil {
			_ = bdb.Close()
		}
	}()
	bdb, err = bolt.Open(d.opts.Path, 0o600, &bolt.Options{Timeout: d.opts.LockTimeout, FreelistType: bolt.FreelistMapType, InitialMmapSize: initialMmap()})
	if err != nil {
		var pe *fs.PathError
		if errors.Is(err, berrors.ErrTimeout) || errors.As(err, &pe) {
			return err
		}
		return fmt.Errorf("%w: %v", errCorruptFile, err)
	}
	// bbolt grows a file to its whole power-of-two mmap size until that passes AllocSize
	// (16 MiB by default), and by AllocSize beyond, which would leave a small history
	// mostly empty. Growing in 1 MiB steps keeps the file near its data, at one extra
	// truncate per step. Set before the first write, which grows a new file.
	bdb.AllocSize = fileGrowStep
	err = bdb.Update(func(tx *bolt.Tx) error {
		var backfill []int // copies the file does not hold yet
		for _, name := range [][]byte{bucketSeries, bucketBlocks, bucketHead, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		for i, r := range resolutions {
			if tx.Bucket(r.bucket) == nil {
				backfill = append(backfill, i)
			}
			if _, err := tx.CreateBucketIfNotExists(r.bucket); err != nil {
				return err
			}
		}
		return backfillDownsampled(tx, backfill)
	})
	if err != nil {
		return fmt.Errorf("%w: %v", errCorruptFile, err)
	}
	if err := bdb.View(d.load); err != nil {
		return fmt.Errorf("%w: %v", errCorruptFile, err)
	}
	d.bdb = bdb
	return nil
}

func (d *DB) reset() {
	d.pastGen.Add(1)
	d.byID = map[uint32]*series{}
	d.byHash = map[uint64][]*series{}
	d.byName = map[string][]*series{}
	d.raw = map[string]*series{}
	d.meta = map[string]Metadata{}
	d.nextID = 1
	d.headSeq, d.headLog = 0, 0
	d.prev, d.cur = nil, nil
	d.symbols = labels.NewSymbolTable()
	d.lb = labels.NewBuilder(labels.EmptyLabels())
}

// Close writes a final checkpoint and closes the file. Calling it again returns the
// first result.
func (d *DB) Close() error {
	d.writeMu.Lock()
	if d.closed {
		d.writeMu.Unlock()
		return d.closeErr
	}
	d.writeMu.Unlock()
	err := d.checkpoint()
	d.writeMu.Lock()
	defer d.writeMu.Unlock()
	d.closed = true
	d.closeErr = errors.Join(err, d.bdb.Close())
	return d.closeErr
}

// Watermark is the time (Unix ms) of the last sample, at or before which the history holds
// every sample it will, and a generation that moves whenever a write or retention changes
// what was already there: an answer about times up to the watermark holds while the
// generation does.
func (d *DB) Watermark() (int64, uint64) {
	return d.lastSample.Load(), d.pastGen.Load()
}

// wroteAt moves the generation when a sample at ts changes the past. Callers hold mu.
func (d *DB) wroteAt(ts int64) {
	if ts <= d.lastSample.Load() {
		d.pastGen.Add(1)
	}
}

// Stats reports the health of the history for the metrics exposition.
func (d *DB) Stats() monitoring.HistoryStats {
	d.mu.Lock()
	n := len(d.byID)
	d.mu.Unlock()
	st := monitoring.HistoryStats{
		Series:           n,
		SamplesAppended:  d.samples.Load(),
		Bytes:            d.fileBytes.Load(),
		CheckpointErrors: d.ckErrors.Load(),
	}
	if ms := d.lastSample.Load(); ms != 0 {
		st.LastSample = time.UnixMilli(ms)
	}
	return st
}

func (d *DB) updateFileSize() {
	if fi, err := os.Stat(d.opts.Path); err == nil {
		d.fileBytes.Store(fi.Size())
	}
}
