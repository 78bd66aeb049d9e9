package engine

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Writer writes detections in one output format, in the order it is given them. Given to Run
// as Options.Output, it receives most detections already formatted by Run's workers, in
// parallel, so that the one goroutine keeping input order only copies bytes out.
type Writer struct {
	bw      *bufio.Writer
	format  string
	r       renderer // for detections formatted here rather than in a worker
	buf     []byte
	started bool // the header (table, csv) is written
}

// NewWriter returns a writer for "table" (a readable timeline), "csv" or "jsonl".
func NewWriter(format string, w io.Writer) (*Writer, error) {
	if format == "" {
		format = "table"
	}
	r, err := newRenderer(format)
	if err != nil {
		return nil, err
	}
	return &Writer{bw: bufio.NewWriterSize(w, 64<<10), format: format, r: r}, nil
}

// Write formats and writes one detection.
func (w *Writer) Write(d *Detection) error {
	var verbatim []byte
	w.buf, verbatim = w.r.append(w.buf[:0], d)
	return w.writeLine(w.buf, verbatim)
}

// writeLine writes a line formatted by a renderer of the writer's format: head, then verbatim
// and the closing of a JSON object when verbatim is not nil.
func (w *Writer) writeLine(head, verbatim []byte) error {
	if !w.started {
		w.started = true
		if _, err := w.bw.Write(w.r.header(nil)); err != nil {
			return err
		}
	}
	if _, err := w.bw.Write(head); err != nil || verbatim == nil {
		return err
	}
	w.bw.Write(verbatim) // a failure sticks to the writer: the next write returns it
	_, err := w.bw.WriteString("}\n")
	return err
}

// Close flushes what is buffered.
func (w *Writer) Close() error { return w.bw.Flush() }

// A renderer formats detections. It keeps caches, so each goroutine has its own.
type renderer interface {
	header(b []byte) []byte
	// append appends d's line to b, or its head when verbatim is not nil: the line is then
	// the head, verbatim (the event as it was read, a slice of the input) and "}\n". Run's
	// workers format heads in parallel; the goroutine keeping input order copies events
	// straight from the input into the output buffer, which stays in the cache, where a
	// copy into a buffer per chunk would go through memory and back.
	append(b []byte, d *Detection) (out, verbatim []byte)
}

func newRenderer(format string) (renderer, error) {
	switch format {
	case "table":
		return tableRenderer{}, nil
	case "csv":
		var r csvRenderer
		r.w = csv.NewWriter(&r.buf)
		return &r, nil
	case "jsonl":
		return &jsonlRenderer{}, nil
	}
	return nil, fmt.Errorf("unknown output format %q (table, csv or jsonl)", format)
}

var timelineHeader = []string{"timestamp", "level", "rule", "eventName", "user", "sourceIP", "region", "account", "file", "record"}

func timelineRow(d *Detection) []string {
	c := d.columns()
	return []string{c[colTimestamp], d.Level, d.Title, c[1], c[2], c[3], c[4], c[5], d.File, strconv.FormatInt(d.Record, 10)}
}

// tableRenderer writes a timeline with a header and fixed column widths; long cells are cut so
// rows stay on one line.
type tableRenderer struct{}

var tableWidths = []int{24, 13, 48, 28, 40, 15, 14, 12}

func (tableRenderer) row(b []byte, cells []string) []byte {
	start := len(b)
	for i, c := range cells[:len(tableWidths)] {
		c = strings.Map(func(r rune) rune {
			if r == '\n' || r == '\t' || r == '\r' {
				return ' '
			}
			return r
		}, c)
		w := tableWidths[i]
		if r := []rune(c); len(r) > w {
			c = string(r[:w-1]) + "…"
		}
		b = append(b, c...)
		if i < len(tableWidths)-1 {
			for range w - utf8.RuneCountInString(c) + 2 {
				b = append(b, ' ')
			}
		}
	}
	end := len(b)
	for end > start && b[end-1] == ' ' {
		end--
	}
	return append(b[:end], '\n')
}

func (t tableRenderer) header(b []byte) []byte { return t.row(b, timelineHeader) }

func (t tableRenderer) append(b []byte, d *Detection) ([]byte, []byte) {
	return t.row(b, timelineRow(d)), nil
}

type csvRenderer struct {
	buf bytes.Buffer
	w   *csv.Writer
}

func (c *csvRenderer) record(b []byte, rec []string) []byte {
	c.buf.Reset()
	c.w.Write(rec) // writes to c.buf, which does not fail
	c.w.Flush()
	return append(b, c.buf.Bytes()...)
}

func (c *csvRenderer) header(b []byte) []byte {
	return c.record(b, append([]string{"rule_id"}, timelineHeader...))
}

func (c *csvRenderer) append(b []byte, d *Detection) ([]byte, []byte) {
	return c.record(b, append([]string{d.RuleID}, timelineRow(d)...)), nil
}

type jsonlRenderer struct {
	// heads and file cache escaped text that repeats from line to line: a rule's id, title and
	// level, and the file name; escaping them for every detection was a large part of writing.
	heads    map[*Program]*jsonlHead
	file     string
	fileJSON []byte
}

// jsonlHead is the start of a line for one rule, up to and including the level; the strings
// it was made from are kept so that a detection carrying other values is not given it.
type jsonlHead struct {
	id, title, level string
	b                []byte
}

func (j *jsonlRenderer) header(b []byte) []byte { return b }

func (j *jsonlRenderer) appendHead(b []byte, d *Detection) []byte {
	h := j.heads[d.Program]
	if h == nil || h.id != d.RuleID || h.title != d.Title || h.level != d.Level {
		var hb []byte
		hb = append(hb, `{"rule_id":`...)
		hb = appendJSONString(hb, d.RuleID)
		hb = append(hb, `,"title":`...)
		hb = appendJSONString(hb, d.Title)
		hb = append(hb, `,"level":`...)
		hb = appendJSONString(hb, d.Level)
		h = &jsonlHead{id: d.RuleID, title: d.Title, level: d.Level, b: hb}
		if j.heads == nil {
			j.heads = map[*Program]*jsonlHead{}
		}
		j.heads[d.Program] = h
	}
	return append(b, h.b...)
}

// optionalColumns are the jsonl names of the timeline columns after the timestamp, written
// only when the event has them.
var optionalColumns = [...]string{"event_name", "user", "source_ip", "region", "account"}

// appendTimeline appends the timeline members of a jsonl line: the timestamp, the file (as
// JSON), the record and the columns after the timestamp that the event has; from text, or
// from the event's bytes (see Detection.colText).
func appendTimeline[T ~string | ~[]byte](b []byte, cols *[6]T, fileJSON []byte, record int64) []byte {
	b = append(b, `,"timestamp":`...)
	b = appendJSONString(b, cols[colTimestamp])
	b = append(b, `,"file":`...)
	b = append(b, fileJSON...)
	b = append(b, `,"record":`...)
	b = strconv.AppendInt(b, record, 10)
	for col, name := range optionalColumns {
		if v := cols[col+1]; len(v) > 0 {
			b = append(b, ',', '"')
			b = append(b, name...)
			b = append(b, '"', ':')
			b = appendJSONString(b, v)
		}
	}
	return b
}

// append writes one JSON object by hand: encoding/json would re-validate and re-compact the
// event, which costs as much as decoding it.
func (j *jsonlRenderer) append(b []byte, d *Detection) ([]byte, []byte) {
	b = j.appendHead(b, d)
	if d.File != j.file || j.fileJSON == nil {
		j.file, j.fileJSON = d.File, appendJSONString(j.fileJSON[:0], d.File)
	}
	if d.colText != nil {
		b = appendTimeline(b, d.colText, j.fileJSON, d.Record)
	} else {
		cols := d.columnStrings()
		b = appendTimeline(b, &cols, j.fileJSON, d.Record)
	}
	if d.aggregated || len(d.Group) > 0 {
		b = append(b, `,"group":[`...)
		for i, g := range d.Group {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, g)
		}
		b = append(b, `],"value":`...)
		if math.IsInf(d.Value, 0) || math.IsNaN(d.Value) {
			b = append(b, "null"...) // JSON has no infinity (a sum past the largest float)
		} else {
			b = strconv.AppendFloat(b, d.Value, 'f', -1, 64)
		}
	}
	b = append(b, `,"event":`...)
	if d.flat || bytes.IndexByte(d.Event, '\n') < 0 && bytes.IndexByte(d.Event, '\r') < 0 {
		return b, d.Event
	}
	var c bytes.Buffer
	if json.Compact(&c, d.Event) == nil {
		b = append(b, c.Bytes()...)
	} else {
		// Not valid JSON in a part no rule read: keep the text as a string.
		b = appendJSONString(b, string(d.Event))
	}
	return append(b, '}', '\n'), nil
}

// appendJSONString appends s as a JSON string.
func appendJSONString[T ~string | ~[]byte](b []byte, s T) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		// Most values need no escaping: pass them eight bytes at a time.
		if i+8 <= len(s) && !wordNeedsEscape(s[i:i+8]) {
			i += 8
			continue
		}
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			if c == '"' || c == '\\' {
				b = append(b, '\\', c)
			} else {
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, n := decodeRune(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += n
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// decodeRune is utf8.DecodeRune of text or bytes.
func decodeRune[T ~string | ~[]byte](s T) (rune, int) {
	switch s := any(s).(type) {
	case string:
		return utf8.DecodeRuneInString(s)
	case []byte:
		return utf8.DecodeRune(s)
	}
	return utf8.DecodeRuneInString(string(s))
}

// wordNeedsEscape reports whether any of the 8 bytes of w is a control character, '"', '\\'
// or not ASCII. The appendJSONString loop, which writes detection fields in the one goroutine
// that keeps output in order, spent most of its time testing bytes one by one.
func wordNeedsEscape[T ~string | ~[]byte](w T) bool {
	x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
		uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	if x&highs != 0 {
		return true
	}
	// With every byte below 0x80, (v - ones) & ^v & highs is non-zero exactly when some byte of
	// v is zero, and x - 0x20*ones borrows into a high bit exactly when some byte is below 0x20.
	zero := func(v uint64) bool { return (v-ones)&^v&highs != 0 }
	return (x-0x20*ones)&^x&highs != 0 || zero(x^('"'*ones)) || zero(x^('\\'*ones))
}
