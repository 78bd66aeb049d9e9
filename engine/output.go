package engine

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
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
	w *bufio.Writer
}

func (j *jsonlWriter) Write(d *Detection) error {
	b, err := json.Marshal(d)
	if err != nil {
		// The event's text is not valid JSON in a part no rule read: keep it as a string.
		c := *d
		s, _ := json.Marshal(string(d.Event))
		c.Event = s
		if b, err = json.Marshal(&c); err != nil {
			return err
		}
	}
	b = append(b, '\n')
	_, err = j.w.Write(b)
	return err
}

func (j *jsonlWriter) Close() error { return j.w.Flush() }
