package main

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// dataLossLog writes a small CLF log.
func dataLossLog(t *testing.T, dir, name string) string {
	return writeLog(t, dir, name,
		clf("h1", "GET", "/a", 200, 1000), clf("h2", "GET", "/b", 200, 3000), clf("h1", "GET", "/a", 200, 1000))
}

// TestNoDataLoss runs commands whose output is one of their inputs, and
// others that fail while writing: each must fail (an error, which main
// turns into exit status 1) with a message naming the flag and the file,
// and leave every file as it was (the inputs, and any previous output) with
// no file added.
func TestNoDataLoss(t *testing.T) {
	tests := []struct {
		name string
		// setup writes the files and returns the command's arguments.
		setup func(t *testing.T, dir string) []string
		want  []string // in the error
	}{
		{"trace convert -o its input", func(t *testing.T, dir string) []string {
			a := dataLossLog(t, dir, "a.log")
			return []string{"trace", "convert", a, "-o", a}
		}, []string{"trace convert: -o ", "a.log is the input file ", "choose another output"}},
		{"trace convert -o ./input", func(t *testing.T, dir string) []string {
			a := dataLossLog(t, dir, "a.log")
			return []string{"trace", "convert", a, "-o", filepath.Join(dir, ".") + "/./sub/../a.log"}
		}, []string{"-o ", "/./sub/../a.log is the input file ", "a.log"}},
		{"trace convert -o its gzip input", func(t *testing.T, dir string) []string {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			zw.Write([]byte(clf("h1", "GET", "/a", 200, 1000) + "\n"))
			zw.Close()
			a := writeFile(t, dir, "a.log.gz", buf.String())
			return []string{"trace", "convert", a, "-o", a}
		}, []string{"-o ", "a.log.gz is the input file"}},
		{"trace convert -o a hard link to its input", func(t *testing.T, dir string) []string {
			a := dataLossLog(t, dir, "a.log")
			link := filepath.Join(dir, "link.log")
			if err := os.Link(a, link); err != nil {
				t.Skip(err)
			}
			return []string{"trace", "convert", a, "-o", link}
		}, []string{"-o ", "link.log is the input file ", "a.log"}},
		{"trace convert -o a symbolic link to its input", func(t *testing.T, dir string) []string {
			a := dataLossLog(t, dir, "a.log")
			link := filepath.Join(dir, "link.log")
			if err := os.Symlink("a.log", link); err != nil {
				t.Skip(err)
			}
			return []string{"trace", "convert", a, "-o", link}
		}, []string{"-o ", "link.log is the input file ", "a.log"}},
		{"trace convert -o its second input", func(t *testing.T, dir string) []string {
			a, b := dataLossLog(t, dir, "a.log"), dataLossLog(t, dir, "b.log")
			return []string{"trace", "convert", a, b, "-o", b}
		}, []string{"-o ", "b.log is the input file ", "b.log"}},
		{"trace convert -o its missing input", func(t *testing.T, dir string) []string {
			a := filepath.Join(dir, "missing.log")
			return []string{"trace", "convert", a, "-o", filepath.Join(dir, "sub", "..", "missing.log")}
		}, []string{"missing.log is the input file ", "missing.log"}},
		{"trace convert --strict failing keeps the previous output", func(t *testing.T, dir string) []string {
			bad := writeLog(t, dir, "bad.log", clf("h1", "GET", "/a", 200, 1000), "not a log line")
			out := writeFile(t, dir, "out.log", "the previous conversion\n")
			return []string{"trace", "convert", "--strict", bad, "-o", out}
		}, []string{"out.log", "bad.log:2"}},
		{"trace synth --fit -o its input", func(t *testing.T, dir string) []string {
			a := dataLossLog(t, dir, "a.log")
			return []string{"trace", "synth", "--fit", a, "-o", a}
		}, []string{"trace synth: -o ", "a.log is the --fit file ", "a.log"}},
		{"trace synth --model -o its input", func(t *testing.T, dir string) []string {
			m := writeFile(t, dir, "model.yaml", "name: x\n")
			return []string{"trace", "synth", "--model", m, "-o", m}
		}, []string{"trace synth: -o ", "model.yaml is the --model file "}},
		{"sim -o its --trace", func(t *testing.T, dir string) []string {
			a := dataLossLog(t, dir, "a.log")
			return []string{"sim", "--trace", a, "--alg", "wrr", "--nodes", "1", "-o", a}
		}, []string{"sim: -o ", "a.log is the --trace file "}},
		{"sim -o one of merged traces", func(t *testing.T, dir string) []string {
			a, b := dataLossLog(t, dir, "a.log"), dataLossLog(t, dir, "b.log")
			return []string{"sim", "--trace", a + "+" + b, "--alg", "wrr", "--nodes", "1", "-o", b}
		}, []string{"sim: -o ", "b.log is the --trace file ", "b.log"}},
		{"sim -o its experiment file", func(t *testing.T, dir string) []string {
			dataLossLog(t, dir, "a.log")
			f := writeFile(t, dir, "exp.yaml", "trace: a.log\nalg: wrr\nnodes: 1\n")
			return []string{"sim", "-f", f, "-o", f}
		}, []string{"sim: -o ", "exp.yaml is the -f file "}},
		{"sim -o the trace of its experiment file", func(t *testing.T, dir string) []string {
			a := dataLossLog(t, dir, "a.log")
			f := writeFile(t, dir, "exp.yaml", "trace: a.log\nalg: wrr\nnodes: 1\n")
			return []string{"sim", "-f", f, "-o", a}
		}, []string{"sim: -o ", "a.log is the trace file ", "(trace: in ", "exp.yaml)"}},
		{"sweep -o the directory of its --trace", func(t *testing.T, dir string) []string {
			out := filepath.Join(dir, "out")
			os.Mkdir(out, 0o755)
			a := dataLossLog(t, out, "results.csv")
			return []string{"sweep", "--trace", a, "--alg", "wrr", "--nodes", "1", "-o", out}
		}, []string{"sweep: -o ", "results.csv is the --trace file "}},
		{"sweep merge -o a manifest it reads", func(t *testing.T, dir string) []string {
			out := filepath.Join(dir, "out")
			if _, _, err := execLab(t, "sweep", "--alg", "wrr", "--nodes", "1", "--cache", "1MiB", "-o", out); err != nil {
				t.Fatal(err)
			}
			return []string{"sweep", "merge", out, "-o", filepath.Join(out, "manifest.json")}
		}, []string{"sweep merge: -o ", "manifest.json is the manifest "}},
		{"sweep -o the directory of another sweep", func(t *testing.T, dir string) []string {
			dataLossLog(t, dir, "a.log")
			first := writeFile(t, dir, "first.yaml", "name: first\ntrace: a.log\nalg: [wrr, lblc]\nnodes: 1-2\n")
			second := writeFile(t, dir, "second.yaml", "name: second\ntrace: a.log\nalg: wlc\nnodes: 1\n")
			out := filepath.Join(dir, "out")
			if _, _, err := execLab(t, "sweep", "-f", first, "-o", out); err != nil {
				t.Fatal(err)
			}
			return []string{"sweep", "-f", second, "-o", out}
		}, []string{"sweep: -o ", "out holds another sweep \"first\" (experiment ", "first.yaml, 4 cells from wrr n=1 trace=a.log", "--force"}},
		{"plot -o the folder of its results", func(t *testing.T, dir string) []string {
			// A results CSV named like the figure plot would draw.
			res := filepath.Join(dir, "throughput.png")
			if _, _, err := execLab(t, "sim", "--alg", "wrr,lblc", "--nodes", "1,2", "--cache", "1MiB", "--format", "csv", "-o", res); err != nil {
				t.Fatal(err)
			}
			return []string{"plot", res, "-o", dir, "--image-format", "png"}
		}, []string{"plot: -o ", "throughput.png is the input file "}},
		{"reproduce -o the folder of its trace", func(t *testing.T, dir string) []string {
			sub := filepath.Join(dir, "res", "a.log")
			if err := os.MkdirAll(sub, 0o755); err != nil {
				t.Fatal(err)
			}
			a := dataLossLog(t, sub, "a.log")
			return []string{"reproduce", "-o", filepath.Join(dir, "res"), "--trace", a, "--nodes", "1"}
		}, []string{"reproduce: -o ", "res/a.log, which reproduce rewrites, holds the --trace file ", "a.log/a.log"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			args := tt.setup(t, dir)
			before := snapshot(t, dir)
			_, _, err := execLab(t, args...)
			if err == nil {
				t.Fatalf("lvslab %s succeeded", strings.Join(args, " "))
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			after := snapshot(t, dir)
			for path, b := range before {
				if after[path] != b {
					t.Errorf("%s changed: %d bytes, was %d", path, len(after[path]), len(b))
				}
			}
			for path := range after {
				if _, ok := before[path]; !ok {
					t.Errorf("%s was written", path)
				}
			}
		})
	}
}

// TestSweepDirectory checks that the same sweep resumes in its directory
// (shards, reruns, the experiment file under another name) and that
// --force replaces another sweep.
func TestSweepDirectory(t *testing.T) {
	dir := t.TempDir()
	dataLossLog(t, dir, "a.log")
	exp := writeFile(t, dir, "exp.yaml", "name: tiny\ntrace: a.log\nalg: [wrr, lblc]\nnodes: 1-2\n")
	same := writeFile(t, dir, "copy.yaml", "name: renamed\ntrace: a.log\nalg: [wrr, lblc]\nnodes: 1-2\n")
	other := writeFile(t, dir, "other.yaml", "name: other\ntrace: a.log\nalg: wlc\nnodes: 1-2\n")
	out := filepath.Join(dir, "out")
	manifest := filepath.Join(out, "manifest.json")
	runs := []struct {
		args []string
		want string // in stdout
	}{
		{[]string{"-f", exp, "--shard", "0/2"}, "2 run, 0 already done"},
		{[]string{"-f", exp, "--shard", "1/2"}, "2 run, 0 already done"},
		{[]string{"-f", exp}, "0 run, 4 already done"},
		{[]string{"-f", same, "--shard", "1/3"}, "0 run, 1 already done"},
	}
	var first string
	for i, r := range runs {
		o, _, err := execLab(t, append([]string{"sweep", "-o", out}, r.args...)...)
		if err != nil {
			t.Fatalf("sweep %v: %v", r.args, err)
		}
		if !strings.Contains(o, r.want) {
			t.Errorf("sweep %v: %s, want %q", r.args, o, r.want)
		}
		if i == 0 {
			first = readFile(t, manifest)
		} else if m := readFile(t, manifest); m != first {
			t.Errorf("sweep %v rewrote the manifest of the same sweep:\n%s", r.args, m)
		}
	}
	if !strings.Contains(first, `"name": "tiny"`) || !strings.Contains(first, `"experiment": "`+exp+`"`) {
		t.Errorf("the manifest does not name the sweep:\n%s", first)
	}
	cells, _ := os.ReadDir(filepath.Join(out, "cells"))

	// --force: another sweep takes the directory; the other's merged
	// results go until this one's are complete.
	if _, _, err := execLab(t, "sweep", "-o", out, "-f", other, "--shard", "0/2", "--force"); err != nil {
		t.Fatal(err)
	}
	if m := readFile(t, manifest); !strings.Contains(m, `"name": "other"`) {
		t.Errorf("--force did not replace the manifest:\n%s", m)
	}
	for _, f := range []string{"results.csv", "results.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err == nil {
			t.Errorf("--force left the other sweep's %s", f)
		}
	}
	after, _ := os.ReadDir(filepath.Join(out, "cells"))
	names := func(es []os.DirEntry) []string {
		var s []string
		for _, e := range es {
			s = append(s, e.Name())
		}
		return s
	}
	if kept := names(after); len(kept) != len(cells)+1 || !containsAll(kept, names(cells)) {
		t.Errorf("cells after --force: %v, want the %d earlier ones and one more", kept, len(cells))
	}
	// The original sweep is now the other one.
	if _, _, err := execLab(t, "sweep", "-o", out, "-f", exp); err == nil || !strings.Contains(err.Error(), `"other"`) {
		t.Errorf("the first sweep back in the directory: %v", err)
	}
}

func containsAll(s, sub []string) bool {
	for _, x := range sub {
		if !slices.Contains(s, x) {
			return false
		}
	}
	return true
}
