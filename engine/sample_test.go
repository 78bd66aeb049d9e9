package engine

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/ruleatlas/ruleatlas/internal/testcorpora"
)

var update = flag.Bool("update", false, "rewrite golden files")

// attacks names, for sample files recording an attack (stratus-red-team.cloud), the rules
// written for that attack: each must fire on the file.
var attacks = map[string][]string{
	"AttemptToLeaveAWSOrganization.json":                 {"AWS Organizations LeaveOrganization Attempt"},
	"ConsoleLoginWithoutMFA.json":                        {"AWS Successful Console Login Without MFA", "Console Login Without MFA"},
	"DeleteCloudtrailTrail.json":                         {"CloudTrail Log Deleted"},
	"DisableCloudtrailLoggingThroughEventSelectors.json": {"AWS CloudTrail PutEventSelectors"},
	"DownloadEC2InstanceUserData.json":                   {"AWS EC2 DescribeInstanceAttribute Attempt"},
	"ExfiltrateAMIBySharingIt.json":                      {"AWS EC2 ModifyImageAttribute"},
	"ExfiltrateEBSSnapshotBySharingIt.json":              {"AWS Snapshot Backup Exfiltration", "AWS EC2 ModifySnapshotAttribute"},
	"ExfiltrateRDSSnapshotBySharingIt.json":              {"AWS RDS ModifyDBSnapshotAttribute"},
	"InvokeBedrockModel.json":                            {"AWS Bedrock InvokeModel"},
	"LaunchUnusualEC2Instances.json":                     {"AWS EC2 RunInstances Attempt"},
	"OpenIngressPort22OnSecurityGroup.json":              {"Ingress Port 22 Opened", "Ingress/Egress Security Group Modification"},
	"RemoveVPCFlowLogs.json":                             {"AWS VPC Flow Logs Deleted"},
	"RetrieveAndDecryptSSMParameters.json":               {"AWS SSM GetParameters"},
	"RetrieveEC2PasswordData.json":                       {"EC2 Password Data Retrieved", "AWS EC2 GetPasswordData Attempt"},
	"RetrieveHighNumberOfSecretsManagerSecrets.json":     {"AWS SecretsManager GetSecretValue"},
	"StopCloudtrailTrail.json":                           {"CloudTrail Logging Stopped"},
	"UsageOfSSM-SendCommandOnMultipleInstances.json":     {"Potential Malicious Usage of CloudTrail System Manager"},
	"UsageOfSSM-StartSessionOnMultipleInstances.json":    {"AWS SSM StartSession"},
}

// TestSampleData runs every CloudTrail rule of sigma and suzaku-rules over the suzaku sample
// data: per-rule detection counts are compared with testdata/sample_counts.txt, the rules written
// for a recorded attack fire on it, and the IAM persistence chain correlation fires on the
// invictus-ir records where CreateUser is followed by CreateAccessKey.
func TestSampleData(t *testing.T) {
	if testing.Short() {
		t.Skip("reads the whole sample data")
	}
	dir := testcorpora.Dir(t)
	progs := cloudTrailPrograms(t, dir)
	if len(progs) < 800 {
		t.Fatalf("only %d CloudTrail rules compiled", len(progs))
	}
	set := NewSet(progs)
	type key struct{ title, id string }
	counts := map[key]int{}
	byFile := map[string]map[string]bool{}
	st, err := Run(context.Background(), set, []string{filepath.Join(dir, "suzaku-sample-data")}, Options{Threads: 2}, func(d *Detection) error {
		counts[key{d.Title, d.RuleID}]++
		f := filepath.Base(d.File)
		if byFile[f] == nil {
			byFile[f] = map[string]bool{}
		}
		byFile[f][d.Title] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Events < 30000 {
		t.Errorf("only %d events read", st.Events)
	}
	for file, titles := range attacks {
		for _, title := range titles {
			if !byFile[file][title] {
				t.Errorf("%s: rule %q did not fire", file, title)
			}
		}
	}
	chain := 0
	for k, n := range counts {
		if k.title == "IAM Persis Chain via User and Access Key Creation" {
			chain += n
		}
	}
	if chain == 0 {
		t.Error("the IAM persistence chain correlation did not fire")
	}

	var rows []string
	for k, n := range counts {
		rows = append(rows, fmt.Sprintf("%7d\t%s\t%s", n, k.title, k.id))
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i][8:] < rows[j][8:] })
	got := fmt.Sprintf("# per-rule detections over suzaku-sample-data: %d events, %d rules loaded\n%s\n",
		st.Events, len(progs), strings.Join(rows, "\n"))
	golden := filepath.Join("testdata", "sample_counts.txt")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("per-rule counts differ from %s (run with -update and review the diff)", golden)
	}
}
