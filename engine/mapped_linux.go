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
