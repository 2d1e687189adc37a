package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRulesFileErrors: a rule file that cannot run stops the start with exit code 2 and
// one line naming the file and the line of the problem.
func TestRulesFileErrors(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"yaml syntax", "groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: up == 0\n       for: 5m\n", "bad.yml:3: yaml:"},
		{"invalid PromQL", "groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: up ==\n", "bad.yml:5: group \"a\", rule 1, \"X\": could not parse expression"},
		{"duplicate group", "groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: up == 0\n  - name: a\n    rules:\n      - alert: Y\n        expr: up == 0\n", "bad.yml:6: groupname: \"a\" is repeated"},
		{"unknown template function", "groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: up == 0\n        annotations:\n          summary: '{{ $value | nosuchfunc }}'\n", "bad.yml:4: group \"a\", rule 1, \"X\": annotation \"summary\": template: __alert_X:1: function \"nosuchfunc\" not defined"},
		{"missing file", "", "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "bad.yml")
			if tt.body != "" {
				if err := os.WriteFile(file, []byte(tt.body), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			var stdout, stderr bytes.Buffer
			code := run([]string{"--data-dir", dir, "--rules-file", file}, func(string) string { return "" }, &stdout, &stderr)
			out := stderr.String()
			if code != 2 || strings.Count(out, "\n") != 1 || !strings.Contains(out, tt.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and one line containing %q", code, out, tt.want)
			}
		})
	}
}

// TestRulesFileDefault: without --rules-file the shipped rules load; none turns them off;
// the flag repeats and takes comma lists.
func TestRulesFileDefault(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.yml"), filepath.Join(dir, "b.yml")
	for _, f := range []string{a, b} {
		if err := os.WriteFile(f, []byte("groups:\n  - name: "+filepath.Base(f)+"\n    rules: []\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := func(string) string { return "" }
	tests := []struct {
		args  []string
		files []string
	}{
		{nil, []string{"dashboards/alerts.yml"}},
		{[]string{"--rules-file", "none"}, nil},
		{[]string{"--rules-file", a, "--rules-file", b}, []string{a, b}},
		{[]string{"--rules-file", a + "," + b}, []string{a, b}},
	}
	for _, tt := range tests {
		c, err := parseConfig(append([]string{"--data-dir", dir}, tt.args...), env, &bytes.Buffer{}, false)
		if err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		var got []string
		for _, s := range c.RuleSources {
			got = append(got, s.File)
		}
		if strings.Join(got, " ") != strings.Join(tt.files, " ") {
			t.Errorf("%v: rule files %v, want %v", tt.args, got, tt.files)
		}
	}
}
