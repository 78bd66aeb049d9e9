package engine

import (
	"math"
	"os"
	"syscall"
)

func mapFile(f *os.File, size int64) []byte {
	if size > math.MaxInt {
		return nil
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil
	}
	return data
}

// dropPages gives back the pages of b: read again, they would come back from the page cache.
func dropPages(b []byte) {
	if len(b) > 0 {
		syscall.Madvise(b, syscall.MADV_DONTNEED) // only a hint; a failure costs memory, not data
	}
}

func unmapFile(data []byte) { syscall.Munmap(data) }

// madvPopulateRead is Linux's MADV_POPULATE_READ (5.14 and later), which the syscall package
// does not name.
const madvPopulateRead = 22

// populatePages maps the pages of b, page-aligned, for reading; it reports false when the
// system cannot (an older kernel), and the pages are then mapped as they are read.
func populatePages(b []byte) bool {
	return len(b) == 0 || syscall.Madvise(b, madvPopulateRead) != syscall.EINVAL
}
