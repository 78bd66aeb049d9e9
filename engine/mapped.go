package engine

import (
	"bytes"
	"fmt"
	"os"
	"unsafe"
)

// When the workers read a file themselves (no core is left for a reader), a large regular
// file is mapped into memory and cut in place: reading it into buffers would cost a copy by
// the kernel, of every byte, taken from the workers' time. With a core to spare, the readers
// copy on that core instead, and the worker reads its chunk warm from the cache. With two
// workers on two cores, hunt over 502 MB of CloudTrail records went 3-9% faster so (medians
// of two sets of 9 and 15 paired runs); the faults that map the pages and the advice that
// gives them back cost less than the copy did.
const (
	// minMapped is the smallest file mapped: below it the copy costs less than the mapping.
	minMapped = 4 << 20
	// dropEvery is how much input is reported before its pages are given back, so that the
	// memory a hunt holds stays flat however large the file.
	dropEvery = 8 << 20
)

// mapping is a file mapped into memory for reading.
type mapping struct {
	name       string
	data       []byte
	dropped    int  // the pages before this offset were given back
	populated  int  // the pages before this offset were mapped ahead of their reading
	noPopulate bool // the system maps no pages ahead
}

// mapInput maps the file f of size bytes, or returns nil when it cannot be mapped (a system
// without mappings, a file too large for the address space); f may be closed once mapped.
func mapInput(f *os.File, size int64) *mapping {
	data := mapFile(f, size)
	if data == nil {
		return nil
	}
	return &mapping{name: f.Name(), data: data}
}

// reported tells the mapping that every chunk up to end has been reported: nothing reads
// those bytes any more, and their pages can go (they stay in the page cache).
func (m *mapping) reported(end int) {
	if end-m.dropped < dropEvery {
		return
	}
	end -= end % os.Getpagesize()
	dropPages(m.data[m.dropped:end])
	m.dropped = end
}

// populate maps the pages of data[from:to] that are not yet, in one system call, before they
// are read: the faults that would map them a few at a time cost more (page faults over
// 502 MB of CloudTrail records, two workers: 20k -> 13k, hunt +4.1% events/s, median of
// 15 paired runs).
func (m *mapping) populate(from, to int) {
	if m.noPopulate || to <= m.populated {
		return
	}
	from = max(from, m.populated)
	from -= from % os.Getpagesize()
	m.noPopulate = !populatePages(m.data[from:to])
	m.populated = to
}

// holds reports whether addr is inside the mapping.
func (m *mapping) holds(addr uintptr) bool {
	start := uintptr(unsafe.Pointer(unsafe.SliceData(m.data)))
	return addr >= start && addr-start < uintptr(len(m.data))
}

// faultError is what a run reports when a mapped file shrank under it.
func (m *mapping) faultError() error {
	return fmt.Errorf("%s: the file shrank while it was read (truncated or rotated?): run stopped", m.name)
}

// stepMapped is step for a mapped file: the chunk is the next stretch of the mapping, and what
// flush keeps of it stays where it is.
func (c *cutter) stepMapped() bool {
	if c.done {
		return false
	}
	if c.ctx.Err() != nil {
		c.done = true
		return false
	}
	data := c.mapped.data
	end := min(c.pos+c.lim, len(data))
	eof := end == len(data)
	buf := data[c.pos:end:end]
	c.mapped.populate(c.pos, end)
	rest := c.flush(buf, eof, false)
	if c.stop || eof {
		c.done = true
		return false
	}
	c.pos = end - len(rest)
	if len(rest) < len(buf) {
		c.lim = chunkSize
		return true
	}
	// One record fills the stretch: widen it, up to maxRecord.
	if c.lim < maxRecord {
		c.lim *= 2
		return true
	}
	if c.tooLong() {
		return false
	}
	nl := bytes.IndexByte(data[end:], '\n')
	if nl < 0 {
		c.done = true // no next line
		return false
	}
	c.record++
	c.pos, c.lim = end+nl+1, chunkSize
	return true
}
