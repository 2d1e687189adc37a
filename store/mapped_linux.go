package store

import (
	"os"
	"syscall"
	"unsafe"
)

// releaseMapped drops the process's mappings of the file's pages (the page cache keeps
// them), so that the pages Open read, and the neighbours the kernel mapped along with them,
// stop counting as resident until a request reads them again. Only Open calls it, before any
// other transaction can remap the file.
func (s *Store) releaseMapped() {
	fi, err := os.Stat(s.path)
	if err != nil || fi.Size() == 0 {
		return
	}
	// Info().Data is the address of bbolt's mapping, outside Go's heap, which covers at
	// least the whole file.
	addr := s.db.Info().Data
	data := unsafe.Slice((*byte)(*(*unsafe.Pointer)(unsafe.Pointer(&addr))), fi.Size())
	_ = syscall.Madvise(data, syscall.MADV_DONTNEED)
}
