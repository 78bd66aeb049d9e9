package sigma

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ruleatlas/ruleatlas/internal/testcorpora"
	"github.com/ruleatlas/ruleatlas/rule"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// goldenFiles are hard corpus rules, each chosen for a construct.
var goldenFiles = []struct {
	golden string
	path   []string
}{
	{"iam_user_attempt", []string{"suzaku-rules", "suzaku", "aws", "cloudtrail", "aws_cloudtrail_attempt_to_create_iam_user.yml"}},
	{"iam_access_key_attempt", []string{"suzaku-rules", "suzaku", "aws", "cloudtrail", "aws_cloudtrail_attempt_to_create_iam_access_key.yml"}},
	{"iam_persistence_chain", []string{"suzaku-rules", "suzaku", "aws", "cloudtrail", "aws_cloudtrail_iam_persistence_chain.yml"}},
	{"nested_parentheses", []string{"sigma", "rules", "linux", "auditd", "execve", "lnx_auditd_system_shutdown_reboot.yml"}},
	{"one_of_patterns", []string{"sigma", "rules", "windows", "process_creation", "proc_creation_win_wscript_cscript_susp_child_processes.yml"}},
	{"keywords", []string{"sigma", "rules", "linux", "builtin", "lnx_shell_clear_cmd_history.yml"}},
	{"keywords_all", []string{"sigma", "rules", "windows", "file", "file_event", "file_event_win_office_uncommon_file_startup.yml"}},
	{"placeholder", []string{"sigma", "rules-placeholder", "windows", "builtin", "security", "win_security_potential_pass_the_hash.yml"}},
	{"legacy_count", []string{"sigma", "unsupported", "network", "net_firewall_susp_network_scan_by_port.yml"}},
	{"legacy_near_not", []string{"sigma", "unsupported", "windows", "win_security_susp_samr_pwset.yml"}},
	{"legacy_near", []string{"sigma", "unsupported", "linux", "lnx_auditd_debugfs_usage.yml"}},
	{"legacy_global_collection", []string{"sigma", "unsupported", "windows", "win_remote_service.yml"}},
	{"windash", []string{"sigma", "rules", "windows", "process_creation", "proc_creation_win_renamed_sysinternals_procdump.yml"}},
	{"base64offset", []string{"sigma", "rules", "windows", "process_creation", "proc_creation_win_powershell_base64_mppreference.yml"}},
	{"re_flags", []string{"sigma", "rules", "windows", "process_creation", "proc_creation_win_susp_copy_system_dir.yml"}},
	{"re_inline_flags", []string{"sigma", "rules", "windows", "process_creation", "proc_creation_win_hktl_wsass.yml"}},
	{"cidr", []string{"sigma", "rules", "web", "proxy_generic", "proxy_webdav_external_execution.yml"}},
	{"fieldref", []string{"sigma", "rules", "windows", "file", "file_delete", "file_delete_win_delete_own_image.yml"}},
	{"null_values", []string{"sigma", "rules", "windows", "process_creation", "proc_creation_win_rundll32_uncommon_dll_extension.yml"}},
	{"spec_correlation_value_count", []string{"sigma-spec", "tests", "schema", "correlation", "value_count.yml"}},
	{"spec_correlation_value_sum", []string{"sigma-spec", "tests", "schema", "correlation", "value_sum.yml"}},
	{"spec_correlation_value_percentile", []string{"sigma-spec", "tests", "schema", "correlation", "value_percentile.yml"}},
	{"spec_filter", []string{"sigma-spec", "tests", "schema", "filter", "filter_1.yml"}},
}

func TestGolden(t *testing.T) {
	for _, g := range goldenFiles {
		t.Run(g.golden, func(t *testing.T) {
			p := testcorpora.Path(t, g.path...)
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			rules, errs := Parse(filepath.Join(g.path...), data)
			if len(errs) > 0 {
				t.Fatalf("errors: %v", errs)
			}
			got := goldenJSON(t, rules)
			file := filepath.Join("testdata", g.golden+".json")
			if *update {
				if err := os.WriteFile(file, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("parsed rule differs from %s (go test -update rewrites it; read the diff):\n%s", file, firstDiff(string(want), string(got)))
			}
		})
	}
}

// goldenJSON renders rules without their bodies (the file itself) for review.
func goldenJSON(t *testing.T, rules []*rule.Rule) []byte {
	t.Helper()
	out := make([]rule.Rule, len(rules))
	for i, r := range rules {
		out[i] = *r
		out[i].Body = ""
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + itoa(i+1) + ":\n want: " + w + "\n  got: " + g
		}
	}
	return ""
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}
