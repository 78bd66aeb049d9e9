package engine

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Writer writes detections in one output format. Close flushes.
type Writer interface {
	Write(d *Detection) error
	Close() error
}

// NewWriter returns a writer for "table" (a readable timeline), "csv" or "jsonl".
func NewWriter(format string, w io.Writer) (Writer, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	switch format {
	case "", "table":
		return &tableWriter{w: bw}, nil
	case "csv":
		cw := csv.NewWriter(bw)
		return &csvWriter{w: cw, bw: bw}, nil
	case "jsonl":
		return &jsonlWriter{w: bw}, nil
	}
	return nil, fmt.Errorf("unknown output format %q (table, csv or jsonl)", format)
}

var timelineHeader = []string{"timestamp", "level", "rule", "eventName", "user", "sourceIP", "region", "account", "file", "record"}

func timelineRow(d *Detection) []string {
	return []string{d.Timestamp, d.Level, d.Title, d.EventName, d.User, d.SourceIP, d.Region, d.Account, d.File, strconv.FormatInt(d.Record, 10)}
}

// tableWriter writes a timeline with a header and fixed column widths; long cells are cut so
// rows stay on one line.
type tableWriter struct {
	w      *bufio.Writer
	header bool
}

var tableWidths = []int{24, 13, 48, 28, 40, 15, 14, 12}

func (t *tableWriter) row(cells []string) error {
	var b strings.Builder
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
		b.WriteString(c)
		if i < len(tableWidths)-1 {
			b.WriteString(strings.Repeat(" ", w-len([]rune(c))+2))
		}
	}
	b.WriteByte('\n')
	_, err := t.w.WriteString(strings.TrimRight(b.String(), " \n") + "\n")
	return err
}

func (t *tableWriter) Write(d *Detection) error {
	if !t.header {
		t.header = true
		if err := t.row(timelineHeader); err != nil {
			return err
		}
	}
	return t.row(timelineRow(d))
}

func (t *tableWriter) Close() error { return t.w.Flush() }

type csvWriter struct {
	w      *csv.Writer
	bw     *bufio.Writer
	header bool
}

func (c *csvWriter) Write(d *Detection) error {
	if !c.header {
		c.header = true
		if err := c.w.Write(append([]string{"rule_id"}, timelineHeader...)); err != nil {
			return err
		}
	}
	return c.w.Write(append([]string{d.RuleID}, timelineRow(d)...))
}

func (c *csvWriter) Close() error {
	c.w.Flush()
	if err := c.w.Error(); err != nil {
		return err
	}
	return c.bw.Flush()
}

type jsonlWriter struct {
	w   *bufio.Writer
	buf []byte
}

// Write appends one JSON object by hand: encoding/json would re-validate and re-compact the
// event, which costs as much as decoding it.
func (j *jsonlWriter) Write(d *Detection) error {
	b := j.buf[:0]
	b = append(b, `{"rule_id":`...)
	b = appendJSONString(b, d.RuleID)
	b = append(b, `,"title":`...)
	b = appendJSONString(b, d.Title)
	b = append(b, `,"level":`...)
	b = appendJSONString(b, d.Level)
	b = append(b, `,"timestamp":`...)
	b = appendJSONString(b, d.Timestamp)
	b = append(b, `,"file":`...)
	b = appendJSONString(b, d.File)
	b = append(b, `,"record":`...)
	b = strconv.AppendInt(b, d.Record, 10)
	for _, f := range [][2]string{{"event_name", d.EventName}, {"user", d.User}, {"source_ip", d.SourceIP}, {"region", d.Region}, {"account", d.Account}} {
		if f[1] != "" {
			b = append(b, ',', '"')
			b = append(b, f[0]...)
			b = append(b, '"', ':')
			b = appendJSONString(b, f[1])
		}
	}
	if len(d.Group) > 0 {
		b = append(b, `,"group":[`...)
		for i, g := range d.Group {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, g)
		}
		b = append(b, `],"count":`...)
		b = strconv.AppendInt(b, int64(d.Count), 10)
	}
	b = append(b, `,"event":`...)
	if bytes.IndexByte(d.Event, '\n') >= 0 || bytes.IndexByte(d.Event, '\r') >= 0 {
		var c bytes.Buffer
		if json.Compact(&c, d.Event) == nil {
			b = append(b, c.Bytes()...)
		} else {
			// Not valid JSON in a part no rule read: keep the text as a string.
			b = appendJSONString(b, string(d.Event))
		}
	} else {
		b = append(b, d.Event...)
	}
	b = append(b, '}', '\n')
	j.buf = b
	_, err := j.w.Write(b)
	return err
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
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
		r, n := utf8.DecodeRuneInString(s[i:])
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

func (j *jsonlWriter) Close() error { return j.w.Flush() }
