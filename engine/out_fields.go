package engine

// Timeline columns, by index, read only for events that match; each has paths tried in order.
var outPaths = [][]string{
	0: {"eventTime", "Event.System.TimeCreated.#attributes.SystemTime", "@timestamp", "timestamp", "TimeCreated", "time"},
	1: {"eventName", "Event.System.EventID", "Event.System.EventID.#text", "EventID"},
	2: {"userIdentity.arn", "userIdentity.userName", "userIdentity.principalId", "Event.EventData.SubjectUserName", "Event.EventData.User", "Event.EventData.TargetUserName"},
	3: {"sourceIPAddress", "Event.EventData.IpAddress", "Event.EventData.SourceIp"},
	4: {"awsRegion"},
	5: {"recipientAccountId", "userIdentity.accountId", "Event.System.Computer"},
}

// fill sets a detection's timeline columns from the event.
func (s *Set) fill(d *Detection, e *Event) {
	d.Timestamp = s.column(e, 0)
	d.EventName = s.column(e, 1)
	d.User = s.column(e, 2)
	d.SourceIP = s.column(e, 3)
	d.Region = s.column(e, 4)
	d.Account = s.column(e, 5)
}
