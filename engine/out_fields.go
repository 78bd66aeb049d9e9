package engine

import "strings"

// Timeline columns, by index, read only for events that match; each has paths tried in order.
var outPaths = [][]string{
	0: {"eventTime", "Event.System.TimeCreated.#attributes.SystemTime", "@timestamp", "timestamp", "TimeCreated", "time"},
	1: {"eventName", "Event.System.EventID", "Event.System.EventID.#text", "EventID"},
	2: {"userIdentity.arn", "userIdentity.userName", "userIdentity.principalId", "Event.EventData.SubjectUserName", "Event.EventData.User", "Event.EventData.TargetUserName"},
	3: {"sourceIPAddress", "Event.EventData.IpAddress", "Event.EventData.SourceIp"},
	4: {"awsRegion"},
	5: {"recipientAccountId", "userIdentity.accountId", "Event.System.Computer"},
}

const colTimestamp = 0

// columns returns the detection's timeline columns, in the order of outPaths.
func (d *Detection) columns() [6]string {
	if d.colText != nil {
		var c [6]string
		for i, b := range d.colText {
			c[i] = string(b)
		}
		return c
	}
	return d.columnStrings()
}

// columnStrings returns the detection's timeline columns as its string fields hold them.
func (d *Detection) columnStrings() [6]string {
	return [6]string{d.Timestamp, d.EventName, d.User, d.SourceIP, d.Region, d.Account}
}

// fill sets a detection's timeline columns from the event.
// The six texts share one allocation.
func (s *Set) fill(d *Detection, e *Event) {
	var buf [6][]byte
	n := 0
	for col := range buf {
		buf[col] = s.column(e, col)
		n += len(buf[col])
	}
	var all strings.Builder
	all.Grow(n)
	for _, b := range buf {
		all.Write(b)
	}
	str := all.String()
	cut := func(col int) string {
		v := str[:len(buf[col])]
		str = str[len(buf[col]):]
		return v
	}
	d.Timestamp, d.EventName, d.User = cut(0), cut(1), cut(2)
	d.SourceIP, d.Region, d.Account = cut(3), cut(4), cut(5)
}
