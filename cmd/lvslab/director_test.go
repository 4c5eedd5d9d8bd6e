package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDirectorFlagErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"director"}, "give -f services.yaml, or --listen"},
		{[]string{"director", "--listen", "127.0.0.1:0"}, "give -f services.yaml, or --listen"},
		{[]string{"director", "--listen", "127.0.0.1:0", "--backend", "nowhere"}, "--backend \"nowhere\""},
		{[]string{"director", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1", "--alg", "best"}, "--alg \"best\": unknown scheduler"},
		{[]string{"director", "-f", "x.yaml", "--listen", "127.0.0.1:0"}, "-f and --mode/--listen"},
		{[]string{"director", "--mode", "dr", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1"}, "--mode dr: not implemented yet (only l7)"},
		{[]string{"director", "--mode", "l4", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1"}, "--mode \"l4\": unknown"},
		{[]string{"director", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1", "--loops", "0"}, "--loops 0"},
		{[]string{"director", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1", "--rules", "/nonexistent/rules.conf"}, "rules: open /nonexistent/rules.conf"},
	}
	for _, tc := range tests {
		_, _, err := execLab(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err %v, want %q", tc.args, err, tc.want)
		}
	}
}

// A rules file without a catch-all stops the director with the file and line.
func TestDirectorRulesWithoutCatchAll(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "rules.conf"), []byte("# images\nrule = img \\.gif$\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "s.yaml"), []byte(`services:
  - listen: 127.0.0.1:0
    mode: l7
    scheduler: wlc
    rules: rules.conf
    servers:
      - {name: img, address: 127.0.0.1:1}
`), 0o644)
	_, _, err := execLab(t, "director", "-f", filepath.Join(dir, "s.yaml"))
	want := filepath.Join(dir, "rules.conf") + ":2: no catch-all rule"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("err %v, want prefix %q", err, want)
	}
}
