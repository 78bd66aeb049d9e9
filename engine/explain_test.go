package engine

import (
	"testing"

	"github.com/ruleatlas/ruleatlas/format/sigma"
)

func TestExplain(t *testing.T) {
	rules, errs := sigma.Parse("r.yml", []byte(`title: IAM CreateUser
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventSource: iam.amazonaws.com
        eventName: CreateUser
    filter:
        errorCode|exists: true
    condition: selection and not filter
`))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	events := `{"eventSource":"iam.amazonaws.com","eventName":"CreateUser"}
{"eventSource":"iam.amazonaws.com","eventName":"CreateUser","errorCode":"AccessDenied"}
{"eventSource":"iam.amazonaws.com","eventName":"DeleteUser"}
{"broken":
`
	traces, rerrs, err := Explain(rules[0], []byte(events))
	if err != nil {
		t.Fatal(err)
	}
	if len(traces) != 3 || len(rerrs) != 1 || rerrs[0].Record != 3 {
		t.Fatalf("%d traces, errors %v", len(traces), rerrs)
	}
	want := []bool{true, false, false}
	for i, tr := range traces {
		if tr.Matched != want[i] {
			t.Errorf("event %d matched %v, want %v", i, tr.Matched, want[i])
		}
	}
	// Event 1: the selection holds, the filter too (errorCode exists), so the rule does not.
	s := traces[1].Stages
	if len(s) != 2 || s[0].Name != "selection" || !s[0].Matched || s[1].Name != "filter" || !s[1].Matched {
		t.Fatalf("stages of event 1: %+v", s)
	}
	if f := s[1].Predicates[0]; f.Field != "errorCode" || !f.Matched || len(f.Found) != 1 || f.Found[0] != "AccessDenied" {
		t.Errorf("filter predicate: %+v", f)
	}
	// Event 2: eventName fails, eventSource holds.
	p := traces[2].Stages[0].Predicates
	if !p[0].Matched || p[1].Matched || p[1].Found[0] != "DeleteUser" {
		t.Errorf("selection predicates of event 2: %+v", p)
	}
}
