package engine

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Event files hold one or more JSON documents: one per line, or pretty-printed one after
// another; each document is an event, an array of events or a CloudTrail envelope
// {"Records": [...]}; any of these may be gzipped. The reader cuts files into chunks of whole
// lines (or whole documents for multi-line JSON) that workers parse in parallel; chunks are
// numbered so that output keeps input order.

const (
	// chunkSize is what a reader reads at once and a worker evaluates at once. Small enough
	// that the chunks in flight stay in the caches between the reader writing one, the
	// worker reading it and the writer copying its events out: with two workers, 256 KiB
	// chunks took 10% less time than 1 MiB ones (median of 15 paired runs), and one worker
	// no more.
	chunkSize = 256 << 10
	// maxRecord bounds one line or document: beyond it the record is reported and skipped, so
	// that memory stays flat whatever the input.
	maxRecord = 64 << 20
)

// ReadError is a problem reading events, with the file and record (0-based line, or position
// of the document) where it happened; Record is WholeFile when the file could not be read at
// all (it is missing, unreadable, or not gzip though it starts as gzip does).
type ReadError struct {
	File   string `json:"file"`
	Record int64  `json:"record"`
	Msg    string `json:"message"`
}

// WholeFile is ReadError.Record for a file none of which could be read.
const WholeFile = -1

func (e ReadError) Error() string {
	if e.Record == WholeFile {
		return e.File + ": " + e.Msg
	}
	return fmt.Sprintf("%s: record %d: %s", e.File, e.Record, e.Msg)
}

// chunk is a piece of one file handed to a worker.
type chunk struct {
	at    place
	last  bool // the file's last chunk (it may hold no data)
	front bool // counted as the front file's in the flow (see flow.take)
	file  string
	data  []byte
	first int64 // record number of the first line or document in data
	multi bool  // data holds whole multi-line documents rather than lines
	errs  []ReadError
	bytes int64 // input bytes this chunk accounts for (compressed files: uncompressed)
	// buf is the whole buffer data was cut from, when it can go back to the cutter's pool
	// once the chunk's detections are written.
	buf []byte
	// mapped is the mapping data is cut from, if any, and end where data ends in it.
	mapped *mapping
	end    int
}

// listInputs expands paths: files as given, directories walked recursively (files that look
// like event logs: .json, .jsonl, .ndjson, .log, .gz), "-" for stdin.
func listInputs(paths []string) ([]string, []ReadError) {
	var out []string
	var errs []ReadError
	for _, p := range paths {
		if p == "-" {
			out = append(out, p)
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			errs = append(errs, ReadError{File: p, Record: WholeFile, Msg: err.Error()})
			continue
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				errs = append(errs, ReadError{File: path, Record: WholeFile, Msg: err.Error()})
				return nil
			}
			if d.Type().IsRegular() && looksLikeLog(path) {
				out = append(out, path)
			}
			return nil
		})
		if err != nil {
			errs = append(errs, ReadError{File: p, Record: WholeFile, Msg: err.Error()})
		}
	}
	return out, errs
}

func looksLikeLog(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json", ".jsonl", ".ndjson", ".log", ".gz":
		return true
	}
	return false
}

// fileReader reads files one after another, reusing its buffer and gzip decompressor: a
// directory of thousands of small gzipped files (as CloudTrail delivers them) would otherwise
// allocate both for each.
type fileReader struct {
	br *bufio.Reader
	zr *gzip.Reader
}

// read cuts one file into chunks and sends them; it returns when the file is done or ctx
// is cancelled. Errors are attached to chunks so they are reported in input order.
func (fr *fileReader) read(ctx context.Context, name string, stdin io.Reader, pool chan []byte, send func(*chunk) bool) {
	c := fr.open(ctx, name, stdin, pool, send, 0)
	if c == nil {
		return
	}
	defer c.close()
	for c.step() {
	}
}

// open starts reading a file: it returns the cutter that cuts it into chunks, step by step,
// or nil when the file cannot be read (the error is sent). A regular file of at least mapMin
// bytes, not compressed, is mapped rather than read (0: none is). The caller closes the
// cutter.
func (fr *fileReader) open(ctx context.Context, name string, stdin io.Reader, pool chan []byte, send func(*chunk) bool, mapMin int64) *cutter {
	var r io.Reader
	var closer io.Closer
	size := int64(-1) // unknown
	if name == "-" {
		r = stdin
	} else {
		f, err := os.Open(name)
		if err != nil {
			send(&chunk{file: name, errs: []ReadError{{File: name, Record: WholeFile, Msg: err.Error()}}})
			return nil
		}
		r, closer = f, f
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			size = st.Size()
		}
	}
	if fr.br == nil {
		fr.br = bufio.NewReaderSize(r, 64<<10)
	} else {
		fr.br.Reset(r)
	}
	br := fr.br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		var err error
		if fr.zr == nil {
			fr.zr, err = gzip.NewReader(br)
		} else {
			err = fr.zr.Reset(br)
		}
		if err != nil {
			fr.zr = nil
			if closer != nil {
				closer.Close()
			}
			send(&chunk{file: name, errs: []ReadError{{File: name, Record: WholeFile, Msg: "gzip: " + err.Error()}}})
			return nil
		}
		r = fr.zr
		if size >= 0 {
			size *= 16 // a guess at the uncompressed size; the buffer grows if it is short
		}
	} else {
		r = br
	}
	c := &cutter{name: name, r: r, closer: closer, send: send, ctx: ctx, pool: pool, first: chunkSize}
	if f, ok := closer.(*os.File); ok && r == br && mapMin > 0 && size >= mapMin {
		if c.mapped = mapInput(f, size); c.mapped != nil {
			c.lim = chunkSize
			return c
		}
	}
	if size >= 0 && size < chunkSize {
		// Many inputs are directories of small files (CloudTrail delivers a file every few
		// minutes per region): a buffer of a full chunk for each would cost more to zero and
		// collect than the file does to read.
		c.first = max(int(size)+1, 4<<10)
	}
	return c
}

// cutter reads a stream and cuts it into chunks at line or document boundaries.
type cutter struct {
	ctx    context.Context
	name   string
	r      io.Reader
	closer io.Closer // the file, closed by close
	buf    []byte    // records read but not yet sent
	begun  bool      // buf has been given its first buffer
	done   bool      // nothing more is read
	send   func(*chunk) bool
	seen   bool  // the format has been decided
	multi  bool  // multi-line documents
	record int64 // record number of the next line or document
	skip   bool  // discarding an oversized line up to its newline
	stop   bool  // the rest of the input is skipped
	// pool, when not nil, holds buffers of chunkSize bytes given back after use (see
	// Options.Transient); whole is the buffer being filled as it was allocated, nil when it is
	// not of that size.
	pool  chan []byte
	whole []byte
	first int // capacity of the first buffer when none is in the pool (0: chunkSize)
	// mapped, when not nil, is the file mapped into memory, cut in place from pos, lim bytes
	// at a time (see stepMapped); the buffers above are then not used.
	mapped   *mapping
	pos, lim int
}

// alloc returns a buffer of length n and capacity chunkSize, from the pool when one is there.
// A fresh one costs zeroing a chunk and, across a run, garbage collections.
func (c *cutter) alloc(n int) []byte {
	select {
	case b := <-c.pool: // never ready when pool is nil
		c.whole = b
		return b[:n]
	default:
	}
	b := make([]byte, n, chunkSize)
	c.whole = b[:chunkSize]
	return b
}

// close closes the file the cutter reads.
func (c *cutter) close() {
	if c.closer != nil {
		c.closer.Close()
	}
}

// step fills the buffer once and sends the complete records it holds; it reports false when
// the file is done (or the run is over).
func (c *cutter) step() bool {
	if c.mapped != nil {
		return c.stepMapped()
	}
	if c.done {
		return false
	}
	if !c.begun {
		c.begun = true
		select {
		case b := <-c.pool: // never ready when pool is nil
			c.whole, c.buf = b, b[:0]
		default:
			if c.first <= 0 || c.first > chunkSize {
				c.first = chunkSize
			}
			c.buf = make([]byte, 0, c.first)
			if c.first == chunkSize {
				c.whole = c.buf[:chunkSize]
			}
		}
	}
	if c.ctx.Err() != nil {
		c.done = true
		return false
	}
	buf, eof := c.buf, false
	for len(buf) < cap(buf) && !eof {
		n, err := c.r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			eof = true
		} else if err != nil {
			msg := err.Error()
			if errors.Is(err, io.ErrUnexpectedEOF) {
				msg = "truncated input: " + msg
			}
			// Keep the complete records read so far; report the break where it is.
			c.flush(buf, true, true)
			c.emitErr(ReadError{File: c.name, Record: c.record, Msg: msg})
			c.done = true
			return false
		}
	}
	buf = c.flush(buf, eof, false)
	c.buf = buf
	if c.stop || eof {
		c.done = true
		return false
	}
	if len(buf) == cap(buf) {
		// One record fills the buffer: grow it, up to maxRecord.
		if cap(buf) >= maxRecord {
			if c.tooLong() {
				return false
			}
			c.skip = true
			c.buf = buf[:0]
			return true
		}
		nb := make([]byte, len(buf), 2*cap(buf))
		copy(nb, buf)
		c.buf = nb
		c.whole = nil
	}
	return true
}

// tooLong reports the record that fills maxRecord and whether the file ends there: in
// multi-line documents there is no way to find the next document boundary safely. Otherwise
// the caller skips to the next line.
func (c *cutter) tooLong() (done bool) {
	c.emitErr(ReadError{File: c.name, Record: c.record, Msg: fmt.Sprintf("record longer than %d MiB: skipped", maxRecord>>20)})
	c.done = c.multi
	return c.done
}

func (c *cutter) emitErr(e ReadError) {
	c.send(&chunk{file: c.name, errs: []ReadError{e}})
}

// flush sends the complete records at the start of buf and returns the rest, moved to a new
// buffer (the sent one now belongs to a worker). At eof the rest is sent too, unless broken
// (the input ended early), where it is reported.
func (c *cutter) flush(buf []byte, eof, broken bool) []byte {
	if c.skip {
		nl := bytes.IndexByte(buf, '\n')
		if nl < 0 {
			return buf[:0]
		}
		c.skip = false
		c.record++
		buf = buf[nl+1:]
	}
	if !c.seen {
		i, partial := skipLabels(buf, 0, eof)
		if partial || i == len(buf) && !eof {
			return c.keep(buf, 0, len(buf))
		}
		if i < len(buf) {
			if buf[i] != '{' && buf[i] != '[' {
				c.emitErr(ReadError{File: c.name, Record: int64(bytes.Count(buf[:i], []byte{'\n'})), Msg: "not JSON: skipped"})
				c.stop = true
				return nil
			}
			nl := bytes.IndexByte(buf[i:], '\n')
			if nl < 0 && !eof {
				return c.keep(buf, 0, len(buf))
			}
			line := buf[i:]
			if nl >= 0 {
				line = buf[i : i+nl]
			}
			_, err := skipContainer(line, 0)
			c.multi = err == errIncomplete
			if c.multi {
				c.record = 0
			} else {
				c.record = int64(bytes.Count(buf[:i], []byte{'\n'}))
				buf = buf[i-lineStart(buf, i):]
			}
		}
		c.seen = true
	}
	var end int // end of the complete records
	var n int64 // records they hold
	if c.multi {
		for i := 0; ; {
			j, partial := skipLabels(buf, i, eof)
			if partial {
				end = i
				break
			}
			if j == len(buf) {
				end = j
				break
			}
			k, err := skipContainer(buf, j)
			if err == errIncomplete || (err == nil && k > len(buf)) {
				if eof {
					c.send(&chunk{file: c.name, data: buf[:i], first: c.record, multi: true, bytes: int64(i)})
					c.record += n
					c.emitErr(ReadError{File: c.name, Record: c.record, Msg: "truncated JSON document at end of input"})
					c.stop = true
					return nil
				}
				break
			}
			if err != nil || (buf[j] != '{' && buf[j] != '[') {
				// No way to resynchronise inside a multi-line document: report and stop.
				c.send(&chunk{file: c.name, data: buf[:i], first: c.record, multi: true, bytes: int64(i)})
				c.record += n
				msg := "malformed JSON"
				if err != nil {
					msg += ": " + err.Error()
				}
				c.emitErr(ReadError{File: c.name, Record: c.record, Msg: msg + "; rest of file skipped"})
				c.stop = true
				return nil
			}
			n++
			i = k
			end = k
		}
	} else {
		end = bytes.LastIndexByte(buf, '\n') + 1
		if eof && !broken {
			end = len(buf)
		}
	}
	if end > 0 {
		ch := &chunk{file: c.name, data: buf[:end:end], first: c.record, multi: c.multi, bytes: int64(end), buf: c.whole}
		if c.mapped != nil {
			ch.mapped, ch.end = c.mapped, c.pos+end
		}
		if c.multi {
			c.record += n
		} else {
			c.record += int64(bytes.Count(buf[:end], []byte{'\n'}))
		}
		if !c.send(ch) {
			c.stop = true
			return nil
		}
	}
	if eof && (end == len(buf) || broken && len(bytes.TrimSpace(buf[end:])) > 0) {
		return nil // nothing more will be read
	}
	return c.keep(buf, end, len(buf))
}

// skipLabels skips white space and the lines "Record <id>" that evtx_dump writes before each
// event of its JSON output. partial reports a line that may be a label but is cut by the end
// of d (more input may complete it; at eof the end of d ends the line).
func skipLabels(d []byte, i int, eof bool) (j int, partial bool) {
	for {
		i = skipWS(d, i)
		n, cut := recordLabel(d[i:], eof)
		if cut {
			return i, true
		}
		if n == 0 {
			return i, false
		}
		i += n
	}
}

// recordLabel returns the length of the label "Record <digits>" d starts with, up to its line
// end, or 0; cut reports that d ends before it could tell.
func recordLabel(d []byte, eof bool) (n int, cut bool) {
	const word = "Record "
	if len(d) <= len(word) {
		return 0, !eof && len(d) > 0 && string(d) == word[:len(d)]
	}
	if string(d[:len(word)]) != word {
		return 0, false
	}
	j := len(word)
	for j < len(d) && d[j] >= '0' && d[j] <= '9' {
		j++
	}
	if j == len(word) {
		return 0, false // no digits
	}
	if j < len(d) && d[j] == '\r' {
		j++
	}
	switch {
	case j == len(d):
		return j, !eof
	case d[j] != '\n':
		return 0, false
	}
	return j, false
}

// lineStart returns how far back from i the line holding i starts (0 when i starts it).
func lineStart(buf []byte, i int) int {
	k := bytes.LastIndexByte(buf[:i], '\n')
	return i - (k + 1)
}

// keep moves buf[from:to] to the start of a fresh buffer of the same capacity.
func (c *cutter) keep(buf []byte, from, to int) []byte {
	if c.mapped != nil {
		return buf[from:to] // the mapping holds it
	}
	var nb []byte
	if to-from <= chunkSize {
		// Back to buffers of a chunk once a long record is past: keeping the grown size would
		// make every later chunk of the file as large.
		nb = c.alloc(to - from)
	} else {
		nb = make([]byte, to-from, cap(buf))
		c.whole = nil
	}
	copy(nb, buf[from:to])
	return nb
}
