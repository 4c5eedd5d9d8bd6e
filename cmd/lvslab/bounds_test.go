package main

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// boundsChildEnv marks the child process TestBounds starts.
const boundsChildEnv = "LVSLAB_BOUNDS_CHILD"

// childAddressSpace is the address space of the child process: a size
// whose bound is missing makes the child fail ("out of memory", exit 2)
// instead of exhausting the machine.
const childAddressSpace = 4 << 30

// TestBoundsHelperProcess is not a test: TestBounds runs the test binary
// again with only this test, and it runs lvslab's main with the arguments
// after "--", in an address space of childAddressSpace bytes.
func TestBoundsHelperProcess(t *testing.T) {
	if os.Getenv(boundsChildEnv) == "" {
		t.Skip("a child process of TestBounds")
	}
	if err := limitAddressSpace(childAddressSpace); err != nil {
		t.Fatal(err)
	}
	i := slices.Index(os.Args, "--")
	os.Args = append([]string{"lvslab"}, os.Args[i+1:]...)
	main()
	os.Exit(0)
}

// TestBounds runs lvslab, as a process, on every size a user can type
// absurdly large: each is refused at once with exit status 1 and an error
// naming the flag, key or file line and giving the estimate or the
// documented maximum, or (where the work streams or is bounded otherwise)
// runs normally; no input file changes and no output file appears. The
// child's address space is limited: a missing bound fails the test
// instead of exhausting the machine's memory.
func TestBounds(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the child's address space is limited on Linux only")
	}
	if testing.Short() {
		t.Skip("starts processes")
	}
	if raceEnabled {
		t.Skip("the race detector's shadow memory does not fit a limited address space")
	}
	sizes := func(n int, unit string) string {
		var s []string
		for i := 1; i <= n; i++ {
			s = append(s, strconv.Itoa(i)+unit)
		}
		return strings.Join(s, ",")
	}
	tests := []struct {
		name   string
		files  map[string]string // input files, in the working directory
		args   []string
		code   int      // exit status
		want   []string // in standard error
		stdout string   // standard output, when checked
	}{
		{
			name:  "chbl replicas in a file",
			files: map[string]string{"chbl.yaml": "alg: chbl\nnodes: 4\noptions:\n  replicas: 100000000\n"},
			args:  []string{"sim", "-f", "chbl.yaml"},
			code:  1,
			want:  []string{`lvslab: chbl.yaml: line 4: options.replicas: "100000000": at most 10000`},
		},
		{
			name: "synthetic trace of 1e9 requests",
			args: []string{"sim", "--trace", "synth:thesis:1000000000", "--alg", "wrr", "--nodes", "1", "--memory-limit", "8GiB"},
			code: 1,
			want: []string{"lvslab: --trace synth:thesis:1000000000: needs ~30.0 GiB of memory (1000000000 requests: ~22.6 GiB for the workload and ~7.5 GiB for each simulation's response times), above the memory limit of 8.0 GiB (--memory-limit)"},
		},
		{
			name:  "synthetic trace in a file",
			files: map[string]string{"big.yaml": "alg: wrr\ntrace: [default, synth:thesis:1000000000]\n"},
			args:  []string{"sim", "-f", "big.yaml", "--memory-limit", "8GiB"},
			code:  1,
			want:  []string{"lvslab: big.yaml: line 2: trace synth:thesis:1000000000: needs ~30.0 GiB of memory"},
		},
		{
			name: "synthetic trace in a sweep",
			args: []string{"sweep", "--trace", "synth:thesis:1000000000", "-o", "out", "--memory-limit", "8GiB"},
			code: 1,
			want: []string{"lvslab: --trace synth:thesis:1000000000: needs ~30.0 GiB of memory"},
		},
		{
			name: "synthetic trace in reproduce",
			args: []string{"reproduce", "--trace", "synth:thesis:1000000000", "-o", "out", "--memory-limit", "8GiB"},
			code: 1,
			want: []string{"lvslab: --trace synth:thesis:1000000000: needs ~30.0 GiB of memory"},
		},
		{
			name: "synthetic trace beyond 32 bits",
			args: []string{"sim", "--trace", "synth:small:3000000000", "--memory-limit", "0"},
			code: 1,
			want: []string{"lvslab: --trace synth:small:3000000000: 3000000000 requests, at most 2147483647"},
		},
		{
			name: "many nodes",
			args: []string{"sim", "--trace", "synth:thesis:40000", "--alg", "wrr", "--nodes", "4096", "--memory-limit", "1GiB"},
			code: 1,
			want: []string{"lvslab: --nodes 4096: needs ~2.3 GiB of memory (simulation wrr n=4096 trace=synth:thesis:40000: ~2.3 GiB of cache tables for 4096 nodes × 37804 objects (lru)",
				"above the memory limit of 1.0 GiB (--memory-limit)"},
		},
		{
			name:  "many nodes in a file",
			files: map[string]string{"nodes.yaml": "trace: synth:thesis:40000\nalg: wrr\nnodes: [1, 4096]\ncache_policy: gds\n"},
			args:  []string{"sweep", "-f", "nodes.yaml", "-o", "out", "--memory-limit", "4GiB"},
			code:  1,
			want:  []string{"lvslab: nodes.yaml: nodes: 4096: needs ~6.9 GiB of memory", "4096 nodes × 37804 objects (gds)"},
		},
		{
			// Two simulations of 1024 nodes do not fit 1 GiB together,
			// one does: they run one at a time.
			name: "simulations one at a time",
			args: []string{"sim", "--trace", "synth:thesis:40000", "--alg", "wrr,wlc", "--nodes", "1024", "--workers", "2", "--memory-limit", "1GiB", "-o", "out.csv"},
			want: []string{"sim: running simulations 1 at a time instead of 2, to stay within the memory limit of 1.0 GiB (--memory-limit)"},
		},
		{
			name: "time-series buckets",
			args: []string{"sim", "--interval", "1ns", "--alg", "wrr", "--nodes", "1"},
			code: 1,
			want: []string{"sim: interval: 1ns makes more than 1048576 time-series buckets"},
		},
		{
			// The series holds every node's completions in every bucket,
			// and DFLB's every node's weight too.
			name: "time-series weights",
			args: []string{"sim", "--interval", "1us", "--alg", "dflb", "--nodes", "4096", "--trace", "synth:small:5000", "--memory-limit", "2GiB"},
			code: 1,
			want: []string{"sim: interval: 1µs makes more than 2048 time-series buckets holding 8192 per-node values each"},
		},
		{
			name: "distributors",
			args: []string{"sim", "--front-end", "distributed", "--distributors", "100000000"},
			code: 1,
			want: []string{`lvslab: --distributors: "100000000": at most 65536`},
		},
		{
			name: "sweep cells",
			args: []string{"sweep", "--nodes", "1-4096", "--alg", "wrr,wlc,lblc,lblcr,dflb", "--cache", sizes(30, "MiB"), "-o", "out"},
			code: 1,
			want: []string{"lvslab: the sweep has more than 100000 cells (--alg 5 × --nodes 4096 × --cache 30): split it into smaller experiments"},
		},
		{
			name: "synth log of 1e12 lines",
			args: []string{"trace", "synth", "--requests", "1000000000000", "--rate", "1000000", "-o", "big.log.gz"},
			code: 1,
			want: []string{"lvslab: --requests 1000000000000: the log needs ~", "TiB of disk (1000000000000 lines of ~", " bytes gzipped), but the file system of big.log.gz has "},
		},
		{
			name: "synth targets",
			args: []string{"trace", "synth", "--targets", "100000000", "--requests", "100000000", "--memory-limit", "1GiB", "-o", "t.log"},
			code: 1,
			want: []string{"lvslab: --targets 100000000: needs ~7.1 GiB of memory (~76 bytes a target for sizes, popularity and cover; the log itself streams), above the memory limit of 1.0 GiB"},
		},
		{
			name: "hit-ratio sizes",
			args: []string{"trace", "hrc", "--sizes", sizes(300, "KiB")},
			code: 1,
			want: []string{"lvslab: --sizes: 300 distinct cache sizes, at most 256"},
		},
		{
			name: "hit-ratio memory",
			args: []string{"trace", "hrc", "--sizes", sizes(200, "KiB"), "--memory-limit", "100KiB"},
			code: 1,
			want: []string{"lvslab: --sizes: needs ~", "for 200 sizes × 315 objects"},
		},
		{
			// Requests held past the end of the stream never end: the
			// ring of pending ends holds at most one slot per request.
			name:   "schedule hold",
			args:   []string{"schedule", "--alg", "wrr", "--weights", "1,1,1", "--requests", "3", "--hold", "1000000000000"},
			stdout: "ABC\n",
		},
		{
			name: "memory limit",
			args: []string{"sim", "--memory-limit", "lots"},
			code: 1,
			want: []string{`lvslab: invalid argument "lots" for "--memory-limit" flag`},
		},
		{
			// A short run is silent on a standard error that is not a
			// terminal: progress starts after 10 s.
			name: "short run",
			args: []string{"sim", "--alg", "wrr,wlc", "--nodes", "1,2", "-o", "out.csv"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, text := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			before := snapshot(t, dir)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], append([]string{"-test.run=^TestBoundsHelperProcess$", "--"}, tc.args...)...)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), boundsChildEnv+"=1")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			start := time.Now()
			err := cmd.Run()
			t.Logf("%v in %v", tc.args, time.Since(start).Round(time.Millisecond))
			code := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.code {
				t.Fatalf("exit status %d, want %d; standard error:\n%s", code, tc.code, stderr.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("standard error lacks %q:\n%s", w, stderr.String())
				}
			}
			if len(tc.want) == 0 && stderr.Len() > 0 {
				t.Errorf("standard error: %s", stderr.String())
			}
			if tc.stdout != "" && stdout.String() != tc.stdout {
				t.Errorf("standard output %q, want %q", stdout.String(), tc.stdout)
			}
			after := snapshot(t, dir)
			if code == 0 {
				delete(after, "out.csv") // the results asked for
			}
			for name, text := range before {
				if after[name] != text {
					t.Errorf("%s changed", name)
				}
			}
			for name := range after {
				if _, ok := before[name]; !ok {
					t.Errorf("%s was created", name)
				}
			}
		})
	}
}

// snapshot returns the files under dir (and directories, as ""), by
// path, with their contents.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if d.IsDir() {
			files[rel+"/"] = ""
			return nil
		}
		b, err := os.ReadFile(path)
		files[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
