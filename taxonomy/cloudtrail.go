package taxonomy

import (
	_ "embed"
	"strings"
)

// cloudtrailOperations is generated from the corpora by internal/gen; see the file's header.
//
//go:embed cloudtrail_operations.tsv
var cloudtrailOperations string

// operations maps eventName → eventSource, and lower-case eventName → eventSource for rules
// that miscase a name. Names emitted by two services are absent (listed in the file's
// comments), so a lookup never guesses.
var operations, operationsFold = parseOperations(cloudtrailOperations)

func parseOperations(tsv string) (exact, fold map[string]string) {
	exact, fold = map[string]string{}, map[string]string{}
	for _, line := range strings.Split(tsv, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) < 2 {
			continue
		}
		exact[f[0]] = f[1]
		fold[strings.ToLower(f[0])] = f[1]
	}
	return exact, fold
}

// CloudTrailService returns the eventSource (iam.amazonaws.com) of a CloudTrail operation
// (CreateUser), from the operations table built from rules and sample logs.
func CloudTrailService(eventName string) (eventSource string, ok bool) {
	if s, ok := operations[eventName]; ok {
		return s, true
	}
	s, ok := operationsFold[strings.ToLower(eventName)]
	return s, ok
}

// awsProvider names the provider of an eventSource: iam.amazonaws.com → AWS-iam.
func awsProvider(eventSource string) string {
	return "AWS-" + strings.TrimSuffix(strings.ToLower(eventSource), ".amazonaws.com")
}
