// Package boltfile checks a bbolt file read-only before bbolt maps it: both meta pages'
// magic, version and checksum, and the file's size against the pages the newest valid meta
// page says it holds. bbolt itself maps a truncated file and faults reading past its end
// (SIGBUS), and falls back to the older meta page without a word.
package boltfile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"runtime/debug"
)

// ErrCorrupt is wrapped by every Check error that comes from the file's bytes.
var ErrCorrupt = errors.New("not a readable bbolt file")

// Layout of bbolt's page header and meta page (go.etcd.io/bbolt/internal/common).
const (
	pageHeaderSize = 16
	metaSize       = 64 // magic, version, pageSize, flags, root (2×8), freelist, pgid, txid, checksum
	checksumOffset = 56
	magic          = 0xED0CDAED
	version        = 2
	noFreelist     = ^uint64(0)
	minPageSize    = 1024
	maxPageSize    = 1 << 24
)

// Report is what Check found in a readable file.
type Report struct {
	Empty    bool   // absent or zero-length: bbolt will create it
	Fallback bool   // one meta page is damaged; bbolt opens the other, perhaps one commit behind
	TxID     uint64 // the transaction of the meta page bbolt will open
	Problem  string // with Fallback, what is wrong with the newer page
}

type meta struct {
	pageSize             uint32
	root, freelist, pgid uint64
	txid                 uint64
	err                  error
}

// Check reads path's meta pages without writing or mapping it.
func Check(path string) (Report, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return Report{Empty: true}, nil
	}
	if err != nil {
		return Report{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Report{}, err
	}
	size := fi.Size()
	if size == 0 {
		return Report{Empty: true}, nil
	}
	m0 := readMeta(f, 0)
	var pageSize int64
	if m0.err == nil {
		pageSize = int64(m0.pageSize)
	} else {
		// As bbolt does: look for the second meta page at every possible page size.
		for ps := int64(minPageSize); ps <= maxPageSize && ps < size; ps <<= 1 {
			if m := readMeta(f, ps); m.err == nil && int64(m.pageSize) == ps {
				pageSize = ps
				break
			}
		}
		if pageSize == 0 {
			return Report{}, fmt.Errorf("%w: neither meta page is valid (first: %v)", ErrCorrupt, m0.err)
		}
	}
	m1 := readMeta(f, pageSize)
	if m0.err != nil && m1.err != nil {
		return Report{}, fmt.Errorf("%w: both meta pages are damaged: %v; %v", ErrCorrupt, m0.err, m1.err)
	}
	// bbolt opens the newest meta page whose checksum holds, whatever it points at, so that
	// page must fit the file. The older page's pages may since have been reused by later
	// commits (its freelist page, once freed, is overwritten): it is not checked further.
	newest := m0
	if m0.err != nil || (m1.err == nil && m1.txid > m0.txid) {
		newest = m1
	}
	if err := newest.fits(f, pageSize, size); err != nil {
		return Report{}, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if m0.err == nil && m1.err == nil {
		return Report{TxID: max(m0.txid, m1.txid)}, nil
	}
	good, bad := m0, m1
	if m0.err != nil {
		good, bad = m1, m0
	}
	return Report{Fallback: true, TxID: good.txid, Problem: bad.err.Error()}, nil
}

// readMeta decodes the meta page at off.
func readMeta(f io.ReaderAt, off int64) meta {
	buf := make([]byte, pageHeaderSize+metaSize)
	if _, err := f.ReadAt(buf, off); err != nil {
		return meta{err: fmt.Errorf("meta page at %d unreadable: %v", off, err)}
	}
	b := buf[pageHeaderSize:]
	le := binary.LittleEndian
	m := meta{
		pageSize: le.Uint32(b[8:]),
		root:     le.Uint64(b[16:]),
		freelist: le.Uint64(b[32:]),
		pgid:     le.Uint64(b[40:]),
		txid:     le.Uint64(b[48:]),
	}
	h := fnv.New64a()
	_, _ = h.Write(b[:checksumOffset])
	switch {
	case le.Uint32(b[0:]) != magic:
		m.err = fmt.Errorf("meta page at %d: bad magic", off)
	case le.Uint32(b[4:]) != version:
		m.err = fmt.Errorf("meta page at %d: version %d", off, le.Uint32(b[4:]))
	case le.Uint64(b[checksumOffset:]) != h.Sum64():
		m.err = fmt.Errorf("meta page at %d: checksum mismatch", off)
	case m.pageSize < minPageSize || m.pageSize > maxPageSize || m.pageSize&(m.pageSize-1) != 0:
		m.err = fmt.Errorf("meta page at %d: page size %d", off, m.pageSize)
	}
	return m
}

// Page flags of bbolt's page header.
const (
	branchPageFlag   = 0x01
	leafPageFlag     = 0x02
	freelistPageFlag = 0x10
)

// fits checks that the pages a meta page refers to lie inside the file and are what it says:
// bbolt reads the freelist at open and panics on a damaged one.
func (m meta) fits(f io.ReaderAt, pageSize, size int64) error {
	if int64(m.pageSize) != pageSize {
		return fmt.Errorf("meta page size %d differs from %d", m.pageSize, pageSize)
	}
	if m.pgid < 3 || m.root < 2 || m.root >= m.pgid || (m.freelist != noFreelist && (m.freelist < 2 || m.freelist >= m.pgid)) {
		return fmt.Errorf("meta page (txid %d) points outside its pages (root %d, freelist %d, high water %d)", m.txid, m.root, m.freelist, m.pgid)
	}
	if need := int64(m.pgid) * pageSize; need > size {
		return fmt.Errorf("file is truncated: %d bytes, the meta page (txid %d) needs %d", size, m.txid, need)
	}
	if err := checkPageHeader(f, m.root, pageSize, m.pgid, branchPageFlag|leafPageFlag); err != nil {
		return fmt.Errorf("meta page (txid %d): root %w", m.txid, err)
	}
	if m.freelist != noFreelist {
		if err := checkPageHeader(f, m.freelist, pageSize, m.pgid, freelistPageFlag); err != nil {
			return fmt.Errorf("meta page (txid %d): freelist %w", m.txid, err)
		}
	}
	return nil
}

// checkPageHeader reads page id's header: it must carry its own id, one of the flags, and end
// (with its overflow pages) below the high water mark.
func checkPageHeader(f io.ReaderAt, id uint64, pageSize int64, highWater uint64, flags uint16) error {
	var hdr [pageHeaderSize]byte
	if _, err := f.ReadAt(hdr[:], int64(id)*pageSize); err != nil {
		return fmt.Errorf("page %d unreadable: %v", id, err)
	}
	le := binary.LittleEndian
	gotID, gotFlags, overflow := le.Uint64(hdr[0:]), le.Uint16(hdr[8:]), uint64(le.Uint32(hdr[12:]))
	switch {
	case gotID != id:
		return fmt.Errorf("page %d claims to be page %d", id, gotID)
	case gotFlags&flags == 0:
		return fmt.Errorf("page %d has flags %#x", id, gotFlags)
	case id+overflow >= highWater:
		return fmt.Errorf("page %d overflows past the high water mark %d", id, highWater)
	}
	return nil
}

// Guard turns a memory fault in the calling goroutine (a read of a mapped page the file no
// longer backs) into a panic that recover sees, until the returned function is called.
func Guard() (restore func()) {
	old := debug.SetPanicOnFault(true)
	return func() { debug.SetPanicOnFault(old) }
}
