package engine

import "sync"

// Several files are read at once (decompressing gzip is as costly as evaluating the events),
// and their chunks are written out in input order: all of one file's, then the next file's.
// flow bounds the chunks read but not yet written out, so that memory stays flat. The file
// being written out (the front file) has an allowance of its own: were every chunk in flight
// from later files, which wait to be written after it, the front file could never go on.

// place is a chunk's place in the output order.
type place struct {
	file, part int
}

type flow struct {
	mu      sync.Mutex
	cond    *sync.Cond
	limit   int // chunks in flight for the front file, and for the later files together
	front   int // index of the file being written out
	inFront int
	inRest  int
	closed  bool
}

func newFlow(limit int) *flow {
	f := &flow{limit: limit}
	f.cond = sync.NewCond(&f.mu)
	return f
}

// take waits until a chunk of file can be read ahead, and reports whether it was counted as
// the front file's (to give back with give), or false when the flow is closed.
func (f *flow) take(file int) (asFront, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for !f.closed {
		if file == f.front && f.inFront < f.limit {
			f.inFront++
			return true, true
		}
		if file != f.front && f.inRest < f.limit {
			f.inRest++
			return false, true
		}
		f.cond.Wait()
	}
	return false, false
}

// give returns a chunk's place once it is written out.
func (f *flow) give(asFront bool) {
	f.mu.Lock()
	if asFront {
		f.inFront--
	} else {
		f.inRest--
	}
	f.mu.Unlock()
	f.cond.Broadcast()
}

// advance makes file the front file. Chunks taken before keep the count they were taken on.
func (f *flow) advance(file int) {
	f.mu.Lock()
	f.front = file
	f.mu.Unlock()
	f.cond.Broadcast()
}

// close wakes every waiter: nothing more is read.
func (f *flow) close() {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	f.cond.Broadcast()
}
