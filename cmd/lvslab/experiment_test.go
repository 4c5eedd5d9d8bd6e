package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/lvslab/lvslab/experiment"
)

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestExperimentFile runs an experiment file, with relative trace paths
// and flags that override its keys.
func TestExperimentFile(t *testing.T) {
	dir := t.TempDir()
	writeLog(t, dir, "x.log", clf("h1", "GET", "/a", 200, 1000), clf("h1", "GET", "/b", 200, 3000), clf("h2", "GET", "/a", 200, 1000))
	exp := writeFile(t, dir, "exp.yaml", `# a sweep of two cache sizes
name: small
trace: x.log            # relative to this file
alg: [wrr, lblc]
nodes: 1-2
cache: [1MiB, 2MiB]
cache_policy: lru
low: 10
high: 20
seed: 3
`)
	out, _, err := execLab(t, "sim", "-f", exp)
	if err != nil {
		t.Fatal(err)
	}
	rows := readCSV(t, out)
	if len(rows) != 8 {
		t.Fatalf("%d rows, want 2 caches × 2 algorithms × 2 node counts", len(rows))
	}
	if rows[0]["cache_bytes"] != "1048576" || rows[7]["cache_bytes"] != "2097152" || rows[0]["seed"] != "3" || rows[0]["requests"] != "3" {
		t.Errorf("rows: %v ... %v", rows[0], rows[7])
	}

	out, _, err = execLab(t, "sim", "-f", exp, "--alg", "wlc", "--cache", "4MiB")
	if err != nil {
		t.Fatal(err)
	}
	rows = readCSV(t, out)
	if len(rows) != 2 || rows[0]["alg"] != "wlc" || rows[0]["cache_bytes"] != "4194304" {
		t.Errorf("flags do not override the file: %v", rows)
	}
}

// TestExperimentStrict checks that sim -f refuses an unknown key, naming
// it and its line (package experiment tests every other error).
func TestExperimentStrict(t *testing.T) {
	dir := t.TempDir()
	exp := writeFile(t, dir, "bad.yaml", "alg: wrr\nnodes: 1\nfrontend: l4\n")
	_, _, err := execLab(t, "sim", "-f", exp)
	if err == nil || !strings.Contains(err.Error(), `unknown key "frontend"`) || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("sim -f with an unknown key: %v", err)
	}
}

// TestExperimentFlags keeps the flags of sim and sweep in step with the
// parameter table: a flag for every parameter that has one, no other.
func TestExperimentFlags(t *testing.T) {
	for _, cmd := range []*cobra.Command{newSimCmd(), newSweepCmd()} {
		for _, p := range experiment.Params() {
			if got := cmd.Flags().Lookup(p.Name) != nil; got != p.Flag {
				t.Errorf("%s: flag --%s exists = %v, want %v", cmd.Name(), p.Name, got, p.Flag)
			}
		}
	}
}

// nestedYAML writes the dotted key k with value v as nested YAML.
func nestedYAML(k, v string) string {
	parts := strings.Split(k, ".")
	var b strings.Builder
	for i, p := range parts {
		b.WriteString(strings.Repeat("  ", i) + p + ":")
		if i == len(parts)-1 {
			b.WriteString(" " + v)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// TestExperimentFailureNodes checks that a failure of a node the cluster
// does not have is reported where it was given (the file and the line of
// that failure, or the --failure flag) with the node count it does not fit,
// before any trace is loaded or simulation run. Reference: thesis §5.2 (a
// failed real server leaves the cluster); docs/reference-model.md numbers nodes
// from 0.
func TestExperimentFailureNodes(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, yaml string
		args       []string
		want       string
	}{
		{"one node", "alg: wrr\nnodes: 1\nfailures: [{node: 5, at: 1s}]\n", nil,
			"x.yaml: line 3: failures[0].node: node 5 does not exist with nodes: 1 (nodes are numbered 0..0)"},
		{"second failure, block style", "alg: wrr\nnodes: 2\nfailures:\n  - {node: 1, at: 1s}\n  - at: 2s\n    node: 2\n", nil,
			"x.yaml: line 6: failures[1].node: node 2 does not exist with nodes: 2 (nodes are numbered 0..1)"},
		{"text items", "nodes: 3\nfailures:\n  - 0@1s\n  - \"3@2s-4s\"\n", nil,
			"x.yaml: line 4: failures[1].node: node 3 does not exist with nodes: 3 (nodes are numbered 0..2)"},
		{"one text value", "nodes: 3\nfailures: 0@1s,4@2s\n", nil,
			"x.yaml: line 2: failures[1].node: node 4 does not exist with nodes: 3 (nodes are numbered 0..2)"},
		{"swept node counts", "alg: wrr\nnodes: [1, 2, 4, 7]\nfailures: [{node: 3, at: 1s}]\n", nil,
			"x.yaml: line 3: failures[0].node: node 3 does not exist with nodes: 1,2 (n nodes are numbered 0..n-1)"},
		{"swept schedules", "nodes: 4\nfailures:\n  - []\n  - [{node: 1, at: 1s}]\n  - [{node: 0, at: 1s}, {node: 9, at: 2s}]\n", nil,
			"x.yaml: line 5: failures[1].node: node 9 does not exist with nodes: 4 (nodes are numbered 0..3)"},
		{"default node counts", "failures: [{node: 4, at: 1s}]\n", nil,
			"x.yaml: line 1: failures[0].node: node 4 does not exist with nodes 1,4 (the default node counts, 1,4,7; n nodes are numbered 0..n-1)"},
		{"node counts from the flag", "failures: [{node: 4, at: 1s}]\nnodes: 8\n", []string{"--nodes", "2"},
			"x.yaml: line 1: failures[0].node: node 4 does not exist with --nodes 2 (nodes are numbered 0..1)"},
		{"failure from the flag", "nodes: 2\nfailures: [{node: 0, at: 1s}]\n", []string{"--failure", "1@1s", "--failure", "2@1s"},
			"--failure: failures[1].node: node 2 does not exist with nodes: 2 (nodes are numbered 0..1)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, dir, "x.yaml", tc.yaml)
			// A trace that does not exist: the check must come before
			// traces are loaded.
			args := append([]string{"sim", "-f", path, "--trace", filepath.Join(dir, "missing.log")}, tc.args...)
			_, _, err := execLab(t, args...)
			if err == nil {
				t.Fatal("no error")
			}
			want := strings.ReplaceAll(tc.want, "x.yaml", path)
			if err.Error() != want {
				t.Errorf("error\n%s\nwant\n%s", err, want)
			}
		})
	}
	// Failures that exist at every node count run.
	path := writeFile(t, dir, "ok.yaml", "alg: wrr\nnodes: [2, 3]\nfailures: [{node: 1, at: 1s}]\n")
	if _, _, err := execLab(t, "sim", "-f", path); err != nil {
		t.Errorf("node 1 with nodes 2, 3: %v", err)
	}
}

// TestExamples keeps examples/ working: every experiment file parses and
// names known algorithms, the Kubernetes Job's shard count matches its
// completions, and the Slurm script is valid shell.
func TestExamples(t *testing.T) {
	dir := filepath.Join("..", "..", "examples")
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) < 3 {
		t.Fatalf("examples: %v, %v", files, err)
	}
	for _, f := range files {
		if strings.HasPrefix(filepath.Base(f), "k8s-") {
			continue
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			e, err := experiment.Parse(f, strings.NewReader(string(b)), dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(e.Algorithms) == 0 || len(e.Nodes) == 0 && len(e.Values["node-groups"]) == 0 || len(e.Traces) == 0 {
				t.Errorf("incomplete experiment: %+v", e)
			}
			// Run it on one small node count, with small traces.
			args := []string{"sim", "-f", f, "--nodes", "2", "--trace", "default"}
			if _, _, err := execLab(t, args...); err != nil {
				t.Error(err)
			}
		})
	}

	b, err := os.ReadFile(filepath.Join(dir, "k8s-indexed-job.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var job struct {
		Kind string `yaml:"kind"`
		Spec struct {
			CompletionMode string `yaml:"completionMode"`
			Completions    int    `yaml:"completions"`
			Template       struct {
				Spec struct {
					Containers []struct {
						Command []string `yaml:"command"`
					} `yaml:"containers"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal(b, &job); err != nil {
		t.Fatal(err)
	}
	if job.Kind != "Job" || job.Spec.CompletionMode != "Indexed" || len(job.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("not an Indexed Job: %+v", job)
	}
	cmd := job.Spec.Template.Spec.Containers[0].Command
	i := slices.Index(cmd, "--shards")
	if i < 0 || i+1 >= len(cmd) || cmd[i+1] != strconv.Itoa(job.Spec.Completions) {
		t.Errorf("--shards in %v does not match completions %d", cmd, job.Spec.Completions)
	}
	if j := slices.Index(cmd, "-f"); j < 0 || j+1 >= len(cmd) {
		t.Errorf("no experiment file in %v", cmd)
	} else if _, err := os.Stat(filepath.Join(dir, filepath.Base(cmd[j+1]))); err != nil {
		t.Errorf("the Job runs %s, not in examples/: %v", cmd[j+1], err)
	}

	if bash, err := exec.LookPath("bash"); err == nil {
		if out, err := exec.Command(bash, "-n", filepath.Join(dir, "slurm-array.sh")).CombinedOutput(); err != nil {
			t.Errorf("slurm-array.sh: %v\n%s", err, out)
		}
	}
}
