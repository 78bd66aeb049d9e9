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
// comments), so a lookup never guesses. operationNames maps every lower-case name the file
// lists, ambiguous ones included, to its CloudTrail spelling.
var operations, operationsFold, operationNames = parseOperations(cloudtrailOperations)

// ambiguousPrefix starts the comment lines naming an operation left out of the table.
const ambiguousPrefix = "# ambiguous, left out: "

func parseOperations(tsv string) (exact, fold, names map[string]string) {
	exact, fold, names = map[string]string{}, map[string]string{}, map[string]string{}
	for _, line := range strings.Split(tsv, "\n") {
		if name, _, ok := strings.Cut(strings.TrimPrefix(line, ambiguousPrefix), ":"); ok && strings.HasPrefix(line, ambiguousPrefix) {
			names[strings.ToLower(name)] = name
			continue
		}
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) < 2 {
			continue
		}
		exact[f[0]] = f[1]
		fold[strings.ToLower(f[0])] = f[1]
		names[strings.ToLower(f[0])] = f[0]
	}
	return exact, fold, names
}

// cloudTrailName writes an operation name as CloudTrail does when the table knows it: Sigma
// compares values case-insensitively (rules specification v2.1, "Detection", "General"), so
// eventName: createuser and eventName: CreateUser watch the same operation and must name the
// same event. A name the table does not know is kept as written.
func cloudTrailName(name string) (string, bool) {
	if n, ok := operationNames[strings.ToLower(name)]; ok {
		return n, true
	}
	return name, true
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
