package engine

import "io"

// gather collects the pieces of the output (the heads workers formatted, the events as they
// were read) and writes them with one system call per batch, which takes them from where they
// are: writing the events, the larger part of a hunt's output, then costs no copy in user
// space. With two workers on two cores, where every copy is taken from the workers' time,
// hunt over 502 MB of CloudTrail records with jsonl output went 3.6% faster so (median of 9
// paired runs).
type gather struct {
	w      vectorWriter
	pieces [][]byte
	size   int    // bytes in pieces
	ours   []byte // bytes formatted by the Writer itself since the last flush
	err    error  // the first write error; it sticks
}

// vectorWriter writes pieces in order with as few system calls as it can and reports how
// many bytes it wrote.
type vectorWriter interface {
	writeVectors(pieces [][]byte) (int, error)
}

const (
	// maxPieces is the most pieces one system call takes (Linux's IOV_MAX).
	maxPieces = 1024
	// maxGathered bounds what is kept before it is written out.
	maxGathered = 4 << 20
)

// add keeps pieces to be written; they must stay as they are until flush.
func (g *gather) add(pieces ...[]byte) error {
	if err := g.room(len(pieces)); err != nil {
		return err
	}
	g.keep(pieces)
	return nil
}

// own adds what format appends to the gather's own buffer. Pieces added before keep the
// buffer they were cut from when it grows: append copies, and never writes the old array.
func (g *gather) own(format func([]byte) []byte) error {
	if err := g.room(1); err != nil { // before formatting: a flush empties the buffer
		return err
	}
	start := len(g.ours)
	g.ours = format(g.ours)
	g.keep([][]byte{g.ours[start:len(g.ours):len(g.ours)]})
	return nil
}

// room writes out what is kept when n more pieces would be too many.
func (g *gather) room(n int) error {
	if len(g.pieces)+n > maxPieces || g.size > maxGathered {
		return g.flush()
	}
	return g.err
}

func (g *gather) keep(pieces [][]byte) {
	for _, p := range pieces {
		if len(p) > 0 {
			g.pieces = append(g.pieces, p)
			g.size += len(p)
		}
	}
}

// flush writes every piece kept, and forgets them.
func (g *gather) flush() error {
	pieces := g.pieces
	for len(pieces) > 0 && g.err == nil {
		var n int
		n, g.err = g.w.writeVectors(pieces[:min(len(pieces), maxPieces)])
		if n == 0 && g.err == nil {
			g.err = io.ErrShortWrite
		}
		for n > 0 { // past what was written, in part or whole pieces
			if n < len(pieces[0]) {
				pieces[0] = pieces[0][n:]
				break
			}
			n -= len(pieces[0])
			pieces = pieces[1:]
		}
	}
	clear(g.pieces) // drop the references to the buffers
	g.pieces, g.size, g.ours = g.pieces[:0], 0, g.ours[:0]
	return g.err
}
