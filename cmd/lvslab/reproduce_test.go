package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/lvslab/lvslab/workbench"
)

// TestReproduceDeterministic runs a tiny reproduction twice, with different
// numbers of workers: every file must be byte-identical, the README must
// quote the measured numbers, and the experiment file written must rerun to
// the same CSV. Reference: thesis Fig. 4.2 and 6.5.
func TestReproduceDeterministic(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	// SVG only: PNG rendering is slow under the race detector, and its
	// determinism is checked in package workbench.
	args := []string{"reproduce", "--trace", "default,synth:small:5000", "--nodes", "1,2,7", "--image-format", "svg"}
	if _, _, err := execLab(t, append(args, "-o", a, "--workers", "1")...); err != nil {
		t.Fatal(err)
	}
	if _, _, err := execLab(t, append(args, "-o", b, "--workers", "3")...); err != nil {
		t.Fatal(err)
	}
	var files []string
	err := filepath.WalkDir(a, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(a, path)
		files = append(files, rel)
		if readFile(t, path) != readFile(t, filepath.Join(b, rel)) {
			t.Errorf("%s differs between runs", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"README.md", "antlr-2003/experiment.yaml", "antlr-2003/results.csv", "antlr-2003/results.json",
		"antlr-2003/fig4.2-throughput_32MiB.svg", "antlr-2003/fig6.5-throughput_32MiB.svg", "antlr-2003/fig6.5-cdf-n7_32MiB.svg",
		"synth-small-5000/fig4.2-throughput_32MiB.svg", "synth-small-5000/fig6.5-hit-ratio_2962KiB.svg",
	} {
		found := false
		for _, f := range files {
			found = found || filepath.ToSlash(f) == want
		}
		if !found {
			t.Errorf("no %s in %v", want, files)
		}
	}

	readme := readFile(t, filepath.Join(a, "README.md"))
	rows := readCSV(t, readFile(t, filepath.Join(a, "antlr-2003", "results.csv")))
	if len(rows) != 5*3*2 {
		t.Errorf("%d rows, want 5 algorithms × 3 node counts × 2 caches", len(rows))
	}
	for _, r := range rows {
		if r["alg"] == "lblc" && r["nodes"] == "7" && r["cache_bytes"] == "33554432" {
			tp := r["throughput_rps"]
			want := tp[:strings.Index(tp, ".")+2] // the README rounds to 0.1
			if !strings.Contains(readme, want) {
				t.Errorf("README does not quote LBLC's throughput at n = 7 (%s)", want)
			}
		}
	}
	for _, w := range []string{"Fig. 4.2", "Fig. 6.5", "+62.9%", "relative to WRR", "working set"} {
		if !strings.Contains(readme, w) {
			t.Errorf("README lacks %q", w)
		}
	}

	// Every link of the README leads to a file or folder it wrote.
	for _, m := range regexp.MustCompile(`\]\(([^)]+)\)`).FindAllStringSubmatch(readme, -1) {
		if _, err := os.Stat(filepath.Join(a, m[1])); err != nil {
			t.Errorf("README links to %s: %v", m[1], err)
		}
	}

	// The written experiment reruns to the same results.
	exp := filepath.Join(a, "antlr-2003", "experiment.yaml")
	out, _, err := execLab(t, "sim", "-f", exp, "--format", "csv")
	if err != nil {
		t.Fatal(err)
	}
	if out != readFile(t, filepath.Join(a, "antlr-2003", "results.csv")) {
		t.Error("experiment.yaml does not rerun to results.csv")
	}
}

func TestNodesString(t *testing.T) {
	tests := []struct {
		in   []int
		want string
	}{
		{[]int{1, 2, 3, 4}, "1-4"},
		{[]int{1, 4, 7}, "1,4,7"},
		{[]int{1, 2, 7, 8, 9}, "1,2,7-9"},
		{[]int{5}, "5"},
	}
	for _, tc := range tests {
		if got := nodesString(tc.in); got != tc.want {
			t.Errorf("nodesString(%v) = %q, want %q", tc.in, got, tc.want)
		}
		if back, err := parseNodes([]string{nodesString(tc.in)}); err != nil || len(back) != len(tc.in) {
			t.Errorf("parseNodes(nodesString(%v)) = %v, %v", tc.in, back, err)
		}
	}
}

func TestScaledCache(t *testing.T) {
	if c := scaledCache(thesisWSBytes); c != 0 {
		t.Errorf("the thesis's own working set needs no scaled cache, got %d", c)
	}
	ws := int64(thesisWSBytes / 100)
	c := scaledCache(ws)
	if c%1024 != 0 || float64(ws)/float64(c) < 50 || float64(ws)/float64(c) > 52 {
		t.Errorf("scaledCache(%d) = %d: ratio %.2f, want the thesis's ≈50.9", ws, c, float64(ws)/float64(c))
	}
	if c := scaledCache(1); c != 1024 {
		t.Errorf("scaledCache(1) = %d, want the 1 KiB floor", c)
	}
}

// TestNotebookReadsReproduce checks that notebooks/figures.ipynb is a GoNB
// notebook reading the files reproduce writes (scripts/notebook.sh
// executes it).
func TestNotebookReadsReproduce(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "notebooks", "figures.ipynb"))
	if err != nil {
		t.Fatal(err)
	}
	var nb struct {
		Cells []struct {
			CellType string   `json:"cell_type"`
			Source   []string `json:"source"`
		} `json:"cells"`
		Metadata struct {
			Kernelspec struct {
				Name string `json:"name"`
			} `json:"kernelspec"`
		} `json:"metadata"`
		NBFormat int `json:"nbformat"`
	}
	if err := json.Unmarshal(b, &nb); err != nil {
		t.Fatal(err)
	}
	if nb.NBFormat != 4 || nb.Metadata.Kernelspec.Name != "gonb" {
		t.Errorf("nbformat %d, kernel %q: want a v4 notebook for gonb", nb.NBFormat, nb.Metadata.Kernelspec.Name)
	}
	var code string
	for _, c := range nb.Cells {
		if c.CellType == "code" {
			code += strings.Join(c.Source, "")
		}
	}
	for _, want := range []string{`"*", "results.csv"`, "workbench.ReadTable", "workbench.WritePlots", "gonb@v0.11.5"} {
		if !strings.Contains(code, want) {
			t.Errorf("notebook code lacks %q", want)
		}
	}
	if workbench.MergedCSV != "results.csv" {
		t.Errorf("reproduce writes %s, the notebook reads results.csv", workbench.MergedCSV)
	}
	script, err := os.ReadFile(filepath.Join("..", "..", "scripts", "install-deps.sh"))
	if err != nil || !strings.Contains(string(script), "GONB_VERSION=v0.11.5") {
		t.Errorf("install-deps.sh does not pin the gonb version the notebook requires (%v)", err)
	}
}
