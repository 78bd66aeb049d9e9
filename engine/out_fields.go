package engine

import "strings"

// outFields extracts, from matched events only, what a timeline shows: time, event name, user,
// source IP, region and account, for CloudTrail and Windows event logs.
type outFields struct {
	root  *pathNode
	sc    scanner
	ev    Event
	nslot int
}

// Timeline columns, by slot; each has paths tried in order.
var outPaths = [][]string{
	0: {"eventTime", "Event.System.TimeCreated.#attributes.SystemTime", "@timestamp", "timestamp", "TimeCreated", "time"},
	1: {"eventName", "Event.System.EventID", "Event.System.EventID.#text", "EventID"},
	2: {"userIdentity.arn", "userIdentity.userName", "userIdentity.principalId", "Event.EventData.SubjectUserName", "Event.EventData.User", "Event.EventData.TargetUserName"},
	3: {"sourceIPAddress", "Event.EventData.IpAddress", "Event.EventData.SourceIp"},
	4: {"awsRegion"},
	5: {"recipientAccountId", "userIdentity.accountId", "Event.System.Computer"},
}

func newOutFields() outFields {
	o := outFields{root: newPathNode()}
	for _, paths := range outPaths {
		for _, p := range paths {
			o.root.add(strings.Split(p, ".")).slot = o.nslot
			o.nslot++
		}
	}
	return o
}

// extract scans a matched event's text for the timeline columns.
func (o *outFields) extract(raw []byte) {
	o.ev.reset(raw, o.nslot)
	o.ev.sc.value(0, o.root) //nolint:errcheck // the event was scanned already
}

// column returns the first value found for a column.
func (o *outFields) column(col int) string {
	slot := 0
	for c := 0; c < col; c++ {
		slot += len(outPaths[c])
	}
	for range outPaths[col] {
		if vs := o.ev.values(slot); len(vs) > 0 && vs[0].kind != kNull && vs[0].kind != kObject && vs[0].kind != kArray {
			return string(o.ev.text(&vs[0]))
		}
		slot++
	}
	return ""
}

func (o *outFields) fill(d *Detection) {
	d.Timestamp = o.column(0)
	d.EventName = o.column(1)
	d.User = o.column(2)
	d.SourceIP = o.column(3)
	d.Region = o.column(4)
	d.Account = o.column(5)
}
