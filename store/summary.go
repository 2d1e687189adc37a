package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unsafe"

	bolt "go.etcd.io/bbolt"

	"github.com/gemini-flow/gemini-flow/workflow"
)

// bucketSummaries holds, under each workflow's id, the summary its index entry and the counts
// are built from, written in the same transaction as the record. Open reads only this bucket,
// so the records' pages stay out of memory until they are served. A file without the bucket
// was written before summaries existed and gets them once, at its first Open.
var bucketSummaries = []byte("workflow-summaries")

// summaryVersion is the first byte of every encoded summary.
const summaryVersion = 1

// Flags of a summary.
const (
	// summaryCanonical marks a record written by encodeWorkflow, so served as stored.
	summaryCanonical = 1 << iota
)

// summary is what the index and the counts need of one workflow: its order, its searchable
// text and tags, lower-cased as the search compares them, and its size.
type summary struct {
	flags     byte
	createdAt int64
	nodes     int
	edges     int
	name      string // lower case
	desc      string // lower case
	tags      []string
	rawTags   []byte // decoded summaries only: the encoded tags
}

// summarize returns the summary of a workflow with metadata m and the counts; canonical says
// whether its record is encodeWorkflow's output.
func summarize(m *workflow.Metadata, nodes, edges int, canonical bool) *summary {
	sm := &summary{createdAt: m.CreatedAt, nodes: nodes, edges: edges,
		name: strings.ToLower(m.Name), desc: strings.ToLower(m.Description)}
	if canonical {
		sm.flags = summaryCanonical
	}
	if len(m.Tags) > 0 {
		sm.tags = make([]string, len(m.Tags))
		for i, t := range m.Tags {
			sm.tags[i] = strings.ToLower(t)
		}
	}
	return sm
}

// appendTo appends the summary's encoding: version, flags, then varints and length-prefixed
// strings.
func (sm *summary) appendTo(b []byte) []byte {
	b = append(b, summaryVersion, sm.flags)
	b = binary.AppendVarint(b, sm.createdAt)
	b = binary.AppendUvarint(b, uint64(sm.nodes))
	b = binary.AppendUvarint(b, uint64(sm.edges))
	b = appendString(b, sm.name)
	b = appendString(b, sm.desc)
	b = binary.AppendUvarint(b, uint64(len(sm.tags)))
	for _, t := range sm.tags {
		b = appendString(b, t)
	}
	return b
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

var errSummary = errors.New("malformed summary")

// summaryReader decodes a summary's fields in order; the first failure sticks.
type summaryReader struct {
	b   []byte
	err error
}

func (r *summaryReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err, r.b = errSummary, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *summaryReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err, r.b = errSummary, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

// bytes returns the next length-prefixed bytes, still in the stored value.
func (r *summaryReader) bytes() []byte {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.err, r.b = errSummary, nil
		return nil
	}
	b := r.b[:n]
	r.b = r.b[n:]
	return b
}

// decodeSummary decodes a stored summary into sm, reusing its tags' slice. Its strings
// point into v, so they last only as long as the transaction; rawTags is the tags' encoding,
// the same for equal lists.
func decodeSummary(sm *summary, id, v []byte) error {
	if len(v) < 2 || v[0] != summaryVersion {
		return fmt.Errorf("%w: summary of workflow %q: unknown version", ErrCorrupt, id)
	}
	r := summaryReader{b: v[2:]}
	sm.flags, sm.createdAt, sm.nodes, sm.edges = v[1], r.varint(), int(r.uvarint()), int(r.uvarint())
	sm.name, sm.desc = view(r.bytes()), view(r.bytes())
	sm.rawTags = r.b
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.err = errSummary
	}
	sm.tags = sm.tags[:0]
	for i := uint64(0); i < n && r.err == nil; i++ {
		sm.tags = append(sm.tags, view(r.bytes()))
	}
	if r.err != nil || len(r.b) != 0 {
		return fmt.Errorf("%w: summary of workflow %q: %v", ErrCorrupt, id, errSummary)
	}
	return nil
}

// view is b as a string, sharing its bytes.
func view(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// fillAppend is the fill used for buckets whose keys mostly arrive in order (workflow ids
// begin with their creation time): pages are filled before they split, not half-filled as
// bbolt's default leaves them.
const fillAppend = 1.0

// workflowBuckets returns the records' and the summaries' buckets of tx, set to fill pages.
func workflowBuckets(tx *bolt.Tx) (records, summaries *bolt.Bucket) {
	records, summaries = tx.Bucket(bucketWorkflows), tx.Bucket(bucketSummaries)
	if tx.Writable() {
		records.FillPercent, summaries.FillPercent = fillAppend, fillAppend
	}
	return records, summaries
}

// migrateSummaries writes every record's summary in one transaction if the file has none yet
// (it was written before summaries existed). It is the only time Open reads the records.
func (s *Store) migrateSummaries() error {
	var have bool
	if err := s.readTx(func(tx *bolt.Tx) error {
		have = tx.Bucket(bucketSummaries) != nil
		return nil
	}); err != nil || have {
		return err
	}
	start := time.Now()
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		sums, err := tx.CreateBucket(bucketSummaries)
		if err != nil {
			return err
		}
		sums.FillPercent = fillAppend
		return tx.Bucket(bucketWorkflows).ForEach(func(k, v []byte) error {
			var rec scanned
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("%w: workflow %q: %v", ErrCorrupt, k, err)
			}
			n++
			// bbolt keeps the value until the commit, so each gets its own.
			return sums.Put(k, summarize(&rec.Metadata, len(rec.Nodes), len(rec.Edges), false).appendTo(nil))
		})
	})
	if err != nil {
		return fmt.Errorf("build workflow summaries: %w", err)
	}
	if n > 0 {
		slog.Info("built the workflow summaries of a file written by an older version", "workflows", n, "took", time.Since(start))
	}
	return nil
}

// scanned is what the migration reads of each stored record: the metadata, and the counts
// (decoding into empty structs skips the nodes' and edges' contents).
type scanned struct {
	Metadata workflow.Metadata `json:"metadata"`
	Nodes    []struct{}        `json:"nodes"`
	Edges    []struct{}        `json:"edges"`
}
