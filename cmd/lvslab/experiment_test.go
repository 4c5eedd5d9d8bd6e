package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
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

// TestExperimentStrict checks that experiment files are strict: unknown
// keys and bad values are errors naming the key and its line.
func TestExperimentStrict(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown key", "alg: wrr\nnodes: 1\ncahce: 8MiB\n", []string{"line 3", `unknown key "cahce"`, "cache_policy"}},
		{"unknown key after a list", "alg: [wrr]\nbogus:\n  - 1\n", []string{"line 2", `"bogus"`}},
		{"bad cache", "cache: lots\n", []string{"line 1", "cache", `"lots"`}},
		{"bad nodes", "nodes: [1, 0]\n", []string{"line 1", "nodes", "at least 1 node"}},
		{"bad low", "alg: wrr\nlow: many\n", []string{"line 2", "low", `"many"`}},
		{"bad duration", "keep_alive: 5\n", []string{"line 1", "keep_alive", "duration"}},
		{"mapping value", "cache:\n  size: 8MiB\n", []string{"line 2", "mapping"}},
		{"nested list", "alg: [[wrr]]\n", []string{"line 1", "list"}},
		{"empty list", "alg: []\n", []string{"line 1", "alg", "empty"}},
		{"two documents", "alg: wrr\n---\nalg: wlc\n", []string{"one"}},
		{"not a mapping", "- wrr\n", []string{"line 1"}},
		{"empty file", "", []string{"empty"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseExperiment("exp.yaml", strings.NewReader(tc.yaml), "")
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.HasPrefix(err.Error(), "exp.yaml: ") {
				t.Errorf("error %q does not start with the file name", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}

	// The same through the command.
	dir := t.TempDir()
	exp := writeFile(t, dir, "bad.yaml", "alg: wrr\nnodes: 1\nfrontend: l4\n")
	_, _, err := execLab(t, "sim", "-f", exp)
	if err == nil || !strings.Contains(err.Error(), `unknown key "frontend"`) || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("sim -f with an unknown key: %v", err)
	}
}

// TestExperimentKeysMatchFlags keeps the YAML keys and the flags in step:
// every parameter flag has its YAML key, and every YAML key is known.
func TestExperimentKeysMatchFlags(t *testing.T) {
	var f experimentFile
	vals := f.values()
	for _, p := range params {
		if _, ok := vals[p.flag]; !ok {
			t.Errorf("flag --%s has no YAML key %s in experimentFile.values", p.flag, p.key())
		}
		y := p.key() + ": x\n"
		_, err := parseExperiment("e.yaml", strings.NewReader(y), "")
		if err != nil && strings.Contains(err.Error(), "unknown key") {
			t.Errorf("YAML key %s of --%s is unknown to experimentFile", p.key(), p.flag)
		}
	}
	if len(vals) != len(params) {
		t.Errorf("experimentFile.values has %d keys, params %d", len(vals), len(params))
	}
	cmd := newSimCmd()
	for _, p := range params {
		if cmd.Flags().Lookup(p.flag) == nil {
			t.Errorf("sim has no --%s", p.flag)
		}
	}
}

func TestParseNodes(t *testing.T) {
	tests := []struct {
		in   []string
		want []int
		err  string
	}{
		{[]string{"1,4,7"}, []int{1, 4, 7}, ""},
		{[]string{"1-3", "7"}, []int{1, 2, 3, 7}, ""},
		{[]string{" 2 - 4 "}, []int{2, 3, 4}, ""},
		{[]string{"0"}, nil, "at least 1 node"},
		{[]string{"4-2"}, nil, "range"},
		{[]string{"-1"}, nil, "node count"},
		{[]string{"a"}, nil, "node count"},
		{[]string{""}, nil, "no node count"},
		{[]string{"1-5000"}, nil, "at most"},
	}
	for _, tc := range tests {
		got, err := parseNodes(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("parseNodes(%q) error = %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("parseNodes(%q) = %v, %v, want %v", tc.in, got, err, tc.want)
		}
	}
}

// FuzzParseExperiment checks that no input makes the experiment parser
// panic, and that what it accepts has valid node counts.
func FuzzParseExperiment(f *testing.F) {
	f.Add("alg: [wrr, lblc]\nnodes: 1-16\ncache: [8MiB, 32MiB]\n")
	f.Add("trace: default\nseed: 1\nkeep_alive: 5s\n")
	f.Add("nodes: [1, 2, 3]\nbogus: 1\n")
	f.Add("cache: {a: 1}\n")
	f.Fuzz(func(t *testing.T, s string) {
		e, err := parseExperiment("f.yaml", strings.NewReader(s), "")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.yaml: ") {
				t.Errorf("error %q does not name the file", err)
			}
			return
		}
		for _, n := range e.Nodes {
			if n < 1 {
				t.Errorf("accepted node count %d", n)
			}
		}
	})
}

func FuzzParseNodes(f *testing.F) {
	for _, s := range []string{"1,4,7", "1-16", "3-1", "0", "x", "1-2,5-6"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ns, err := parseNodes([]string{s})
		if err != nil {
			return
		}
		if len(ns) == 0 {
			t.Error("no error and no node count")
		}
		for _, n := range ns {
			if n < 1 || n > 4096 {
				t.Errorf("accepted %d", n)
			}
		}
	})
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
			e, err := parseExperiment(f, strings.NewReader(string(b)), dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(e.Algorithms) == 0 || len(e.Nodes) == 0 || len(e.Traces) == 0 {
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
