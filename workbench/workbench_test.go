package workbench

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvslab/lvslab/sim"
	"github.com/lvslab/lvslab/traces"
)

// workload is a small synthetic workload (traces.SynthPreset "small").
func workload(t testing.TB, requests int) *traces.Workload {
	t.Helper()
	m, err := traces.SynthPreset("small")
	if err != nil {
		t.Fatal(err)
	}
	m.Requests = requests
	m.Name = fmt.Sprintf("small-%d", requests)
	w, err := traces.SynthWorkload(m)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func cacheAxis(sizes ...int64) Axis {
	a := Axis{Name: "cache"}
	for _, s := range sizes {
		a.Values = append(a.Values, AxisValue{Label: FormatBytes(s), Apply: func(c *sim.Config) { c.CacheBytes = s }})
	}
	return a
}

func TestCellsOrder(t *testing.T) {
	w1, w2 := workload(t, 3000), workload(t, 4000)
	s := &Spec{
		Base:       sim.Config{Seed: 5},
		Workloads:  []*traces.Workload{w1, w2},
		Algorithms: []string{"wrr", "lblc"},
		Nodes:      []int{1, 3},
		Axes:       []Axis{cacheAxis(1<<20, 4<<20), {Name: "high", Values: []AxisValue{{Label: "high=40", Apply: func(c *sim.Config) { c.High = 40 }}}}},
	}
	cells, err := s.Cells()
	if err != nil {
		t.Fatal(err)
	}
	if len(cells) != 2*2*1*2*2 {
		t.Fatalf("%d cells", len(cells))
	}
	var got []string
	keys := map[string]bool{}
	for i, c := range cells {
		if c.Index != i {
			t.Errorf("cell %d has index %d", i, c.Index)
		}
		if c.Config.Seed != 5 || c.Config.High != 40 || c.Config.Preset != "thesis" {
			t.Errorf("cell %d: config not based on Base, axes applied and resolved: %+v", i, c.Config)
		}
		keys[c.Key] = true
		got = append(got, c.String())
	}
	if len(keys) != len(cells) {
		t.Errorf("%d distinct keys for %d cells", len(keys), len(cells))
	}
	want := []string{
		"wrr n=1 trace=small-3000 1MiB high=40", "wrr n=3 trace=small-3000 1MiB high=40",
		"lblc n=1 trace=small-3000 1MiB high=40", "lblc n=3 trace=small-3000 1MiB high=40",
		"wrr n=1 trace=small-3000 4MiB high=40",
	}
	if !slices.Equal(got[:5], want) {
		t.Errorf("order:\n%s\nwant:\n%s", strings.Join(got[:5], "\n"), strings.Join(want, "\n"))
	}
	if cells[8].Trace != "small-4000" {
		t.Errorf("cell 8 trace %s: workloads are the outer loop", cells[8].Trace)
	}

	// Keys are stable and depend on the workload's content.
	again, _ := s.Cells()
	for i := range cells {
		if again[i].Key != cells[i].Key {
			t.Fatal("keys change between expansions")
		}
	}
	w3 := workload(t, 3000)
	w3.Objects[0].Size++
	s.Workloads = []*traces.Workload{w3}
	other, _ := s.Cells()
	if other[0].Key == cells[0].Key {
		t.Error("key ignores the workload's content")
	}
}

func TestCellsErrors(t *testing.T) {
	w := workload(t, 3000)
	tests := []struct {
		name string
		spec Spec
		want string
	}{
		{"no trace", Spec{Algorithms: []string{"wrr"}, Nodes: []int{1}}, "no trace"},
		{"empty trace", Spec{Workloads: []*traces.Workload{{Name: "nothing"}}, Algorithms: []string{"wrr"}, Nodes: []int{1}}, "nothing has no requests"},
		{"no algorithm", Spec{Workloads: []*traces.Workload{w}, Nodes: []int{1}}, "no algorithm"},
		{"no nodes", Spec{Workloads: []*traces.Workload{w}, Algorithms: []string{"wrr"}}, "no node count"},
		{"empty axis", Spec{Workloads: []*traces.Workload{w}, Algorithms: []string{"wrr"}, Nodes: []int{1}, Axes: []Axis{{Name: "cache"}}}, "cache has no value"},
		{"unknown algorithm", Spec{Workloads: []*traces.Workload{w}, Algorithms: []string{"wrr", "nosuch"}, Nodes: []int{2}}, "alg nosuch, nodes 2"},
		{"zero nodes", Spec{Workloads: []*traces.Workload{w}, Algorithms: []string{"wrr"}, Nodes: []int{0}}, "nodes"},
		// 4096 node counts × 100 values × 100 values × 2 schedulers:
		// refused before a single cell is built.
		{"too many cells", Spec{Workloads: []*traces.Workload{w}, Algorithms: []string{"wrr", "wlc"}, Nodes: make([]int, 4096),
			Axes: []Axis{{Name: "cache", Values: make([]AxisValue, 100)}, {Name: "low", Values: make([]AxisValue, 100)}}},
			"sweep: 81920000 cells (1 traces × 100 cache values × 100 low values × 2 schedulers × 4096 node counts), at most 100000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.spec.Cells()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want %q", err, tc.want)
			}
		})
	}
}

// fakeRun is a quick stand-in for sim.Run that records its calls.
type fakeRun struct {
	calls  chan string
	failOn string
}

func (f *fakeRun) run(cfg sim.Config, w *traces.Workload) (*sim.Result, error) {
	name := fmt.Sprintf("%s/%d/%d", cfg.Algorithm, cfg.Nodes, cfg.CacheBytes)
	if f.calls != nil {
		f.calls <- name
	}
	if name == f.failOn {
		return nil, errors.New("boom")
	}
	return &sim.Result{Trace: w.Name, Config: cfg, Requests: len(w.Requests), ThroughputRPS: float64(cfg.Nodes) * 100}, nil
}

func TestRunOrderAndErrors(t *testing.T) {
	w := workload(t, 3000)
	s := &Spec{Workloads: []*traces.Workload{w}, Algorithms: []string{"wrr", "wlc", "lblc"}, Nodes: []int{1, 2, 3, 4, 5}}
	cells, err := s.Cells()
	if err != nil {
		t.Fatal(err)
	}
	var csvs []string
	for _, workers := range []int{1, 2, 7, 100} {
		f := &fakeRun{calls: make(chan string, len(cells))}
		var progress []int
		o, err := Run(cells, s.Workloads, RunOptions{Workers: workers, run: f.run,
			Progress: func(done, total int, c Cell, skipped bool) { progress = append(progress, done) }})
		if err != nil {
			t.Fatal(err)
		}
		if o.Ran != len(cells) || len(f.calls) != len(cells) {
			t.Errorf("workers %d: ran %d, %d calls", workers, o.Ran, len(f.calls))
		}
		for i, r := range o.Results {
			if r.Config.Algorithm != cells[i].Config.Algorithm || r.Config.Nodes != cells[i].Config.Nodes {
				t.Errorf("workers %d: result %d is %s n=%d, want cell order", workers, i, r.Config.Algorithm, r.Config.Nodes)
			}
		}
		if want := []int{1, 2, 3}; !slices.Equal(progress[:3], want) || len(progress) != len(cells) {
			t.Errorf("workers %d: progress %v", workers, progress)
		}
		var b bytes.Buffer
		if err := sim.WriteCSV(&b, o.Results); err != nil {
			t.Fatal(err)
		}
		csvs = append(csvs, b.String())
	}
	for _, c := range csvs[1:] {
		if c != csvs[0] {
			t.Error("output depends on the number of workers")
		}
	}

	f := &fakeRun{failOn: "wlc/3/33554432"}
	_, err = Run(cells, s.Workloads, RunOptions{Workers: 2, run: f.run})
	if err == nil || !strings.Contains(err.Error(), "cell 7 (wlc n=3") || !strings.Contains(err.Error(), "boom") {
		t.Errorf("error = %v, want it to name cell 7", err)
	}
}

func TestShard(t *testing.T) {
	cells := make([]Cell, 10)
	for i := range cells {
		cells[i].Index = i
	}
	seen := map[int]int{}
	for i := range 3 {
		part, err := Shard(cells, i, 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range part {
			seen[c.Index]++
			if c.Index%3 != i {
				t.Errorf("shard %d has cell %d", i, c.Index)
			}
		}
	}
	if len(seen) != 10 {
		t.Errorf("shards cover %d of 10 cells", len(seen))
	}
	for _, bad := range [][2]int{{3, 3}, {-1, 3}, {1, 1}} {
		if _, err := Shard(cells, bad[0], bad[1]); err == nil {
			t.Errorf("Shard(%d/%d) accepted", bad[0], bad[1])
		}
	}
	if all, _ := Shard(cells, 0, 0); len(all) != 10 {
		t.Error("0 shards should select every cell")
	}
}

// TestStoreRoundTrip runs real simulations through the store: a result read
// back from its cell file writes the same CSV and JSON as the original, so
// resumed and merged output equals output computed at once.
func TestStoreRoundTrip(t *testing.T) {
	w := workload(t, 3000)
	s := &Spec{Workloads: []*traces.Workload{w}, Algorithms: []string{"wrr", "dflb", "lblcr"}, Nodes: []int{1, 4}, Axes: []Axis{cacheAxis(1<<20, 8<<20)}}
	cells, err := s.Cells()
	if err != nil {
		t.Fatal(err)
	}
	direct, err := Run(cells, s.Workloads, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	stored, err := Run(cells, s.Workloads, RunOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if !stored.Complete || len(stored.Merged) != 2 {
		t.Errorf("complete %v, merged %v", stored.Complete, stored.Merged)
	}
	var a, b bytes.Buffer
	if err := sim.WriteJSON(&a, direct.Results); err != nil {
		t.Fatal(err)
	}
	if err := sim.WriteJSON(&b, stored.Results); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Error("a result read back from the store differs from the original")
	}
	merged, err := os.ReadFile(filepath.Join(dir, MergedJSON))
	if err != nil || string(merged) != a.String() {
		t.Errorf("merged JSON differs (%v)", err)
	}
	resumed, err := Run(cells, s.Workloads, RunOptions{Dir: dir, run: func(sim.Config, *traces.Workload) (*sim.Result, error) {
		return nil, errors.New("a finished cell was run again")
	}})
	if err != nil {
		t.Fatal(err)
	}
	if resumed.Skipped != len(cells) || resumed.Ran != 0 {
		t.Errorf("skipped %d, ran %d", resumed.Skipped, resumed.Ran)
	}
}

func TestMergeErrors(t *testing.T) {
	if _, err := Merge(nil); err == nil {
		t.Error("Merge of nothing accepted")
	}
	dir := t.TempDir()
	if _, err := Merge([]string{dir}); err == nil || !strings.Contains(err.Error(), "not a sweep directory") {
		t.Errorf("Merge of an empty directory: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Merge([]string{dir}); err == nil || !strings.Contains(err.Error(), "manifest.json") {
		t.Errorf("Merge with a bad manifest: %v", err)
	}
}

func TestProgress(t *testing.T) {
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cell := Cell{Trace: "t", Config: sim.Config{Algorithm: "wrr", Nodes: 3}}

	var plain bytes.Buffer
	p := &Progress{W: &plain, Every: 10 * time.Second, EveryCells: 4, Label: "sweep", now: func() time.Time { return clock }}
	for done := 1; done <= 10; done++ {
		clock = clock.Add(time.Second)
		p.Update(done, 10, cell, done == 1)
	}
	lines := strings.Split(strings.TrimSpace(plain.String()), "\n")
	// first call sets the origin; then every 4 cells (5, 9) and the last.
	if len(lines) != 3 || !strings.HasPrefix(lines[2], "sweep: 10/10 cells (100%), 1 already done") {
		t.Errorf("plain progress:\n%s", plain.String())
	}
	if strings.Contains(plain.String(), "\r") {
		t.Error("plain progress uses \\r")
	}
	if !strings.Contains(lines[0], "left") || !strings.Contains(lines[0], "last wrr n=3 trace=t") {
		t.Errorf("progress line lacks the estimate or the cell: %s", lines[0])
	}

	// Quiet: a run of 3 cells at 4 s each prints nothing before 10 s
	// (cells 1 and 2), then every Every from the start (cell 3, at 12 s)
	// and the last cell; a run that ends within Quiet prints nothing.
	for _, tc := range []struct {
		cells int
		want  []string
	}{
		{2, nil},
		{4, []string{"sim: 3/4 cells (75%), 12s elapsed, ~4s left", "sim: 4/4 cells (100%), 16s elapsed"}},
	} {
		var quiet bytes.Buffer
		p = &Progress{W: &quiet, Label: "sim", Quiet: 10 * time.Second, now: func() time.Time { return clock }}
		p.Start()
		for done := 1; done <= tc.cells; done++ {
			clock = clock.Add(4 * time.Second)
			p.Update(done, tc.cells, cell, false)
		}
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(quiet.String()), "\n") {
			if l != "" {
				l, _, _ = strings.Cut(l, ", last")
				got = append(got, l)
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("quiet progress of %d cells: %q, want %q", tc.cells, got, tc.want)
		}
	}

	var tty bytes.Buffer
	p = &Progress{W: &tty, TTY: true, now: func() time.Time { return clock }}
	for done := 1; done <= 3; done++ {
		p.Update(done, 3, cell, false)
	}
	if strings.Count(tty.String(), "\r") != 3 || !strings.HasSuffix(tty.String(), "\n") {
		t.Errorf("terminal progress: %q", tty.String())
	}
}

// Report counts other units than cells: a terminal line at once, then at
// most every 200 ms, and at the end; plain lines after Quiet, every Every, and at the
// end, with an estimate of the time left.
func TestProgressReport(t *testing.T) {
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	var tty bytes.Buffer
	p := &Progress{W: &tty, TTY: true, Label: "trace synth", now: now}
	p.Start()
	for done := int64(1); done <= 10; done++ {
		clock = clock.Add(100 * time.Millisecond)
		p.Report(done, 10, "lines", "writing")
	}
	// at once (100 ms), then every 200 ms (300, 500, 700, 900) and the end
	if n := strings.Count(tty.String(), "\r"); n != 6 || !strings.HasSuffix(tty.String(), "\n") {
		t.Errorf("terminal report: %d lines: %q", n, tty.String())
	}

	var plain bytes.Buffer
	p = &Progress{W: &plain, Label: "trace synth", Every: 10 * time.Second, Quiet: 10 * time.Second, now: now}
	p.Start()
	for done := int64(1); done <= 30; done++ {
		clock = clock.Add(time.Second)
		p.Report(done, 30, "lines", "writing")
	}
	want := []string{
		"trace synth: 10/30 lines (33%), 10s elapsed, ~20s left, writing",
		"trace synth: 20/30 lines (67%), 20s elapsed, ~10s left, writing",
		"trace synth: 30/30 lines (100%), 30s elapsed, writing",
	}
	if got := strings.Split(strings.TrimSpace(plain.String()), "\n"); !slices.Equal(got, want) {
		t.Errorf("plain report:\n%s\nwant\n%s", plain.String(), strings.Join(want, "\n"))
	}
}

func TestCountCellsSaturates(t *testing.T) {
	huge := Axis{Name: "x", Values: make([]AxisValue, 1<<20)}
	n, err := CountCells(1<<20, []Axis{huge, huge, huge}, 1<<20, 1<<20)
	if n != math.MaxInt64 || err == nil {
		t.Fatalf("CountCells = %d, %v; want MaxInt64 and an error", n, err)
	}
}

func TestFingerprint(t *testing.T) {
	a, b := workload(t, 3000), workload(t, 3000)
	if Fingerprint(a) != Fingerprint(b) {
		t.Error("same workload, different fingerprints")
	}
	b.Requests[10].Dynamic = !b.Requests[10].Dynamic
	if Fingerprint(a) == Fingerprint(b) {
		t.Error("fingerprint ignores a request's flag")
	}
}

func ExampleFormatBytes() {
	for _, n := range []int64{32 << 20, 1536 << 10, 1000} {
		fmt.Println(FormatBytes(n))
	}
	// Output:
	// 32MiB
	// 1536KiB
	// 1000B
}

func ExampleDisplayName() {
	fmt.Println(DisplayName("wrr"), DisplayName("lblcr"))
	// Output: WRR LBLC/R
}

// TestRunOtherSweep checks that a directory holding another sweep (or a
// damaged manifest) is refused before anything is written, unless Force.
func TestRunOtherSweep(t *testing.T) {
	w := workload(t, 3000)
	cellsOf := func(algs ...string) []Cell {
		cs, err := (&Spec{Workloads: []*traces.Workload{w}, Algorithms: algs, Nodes: []int{1}}).Cells()
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	fake := func(cfg sim.Config, _ *traces.Workload) (*sim.Result, error) {
		return &sim.Result{Config: cfg, Trace: w.Name}, nil
	}
	tests := []struct {
		name     string
		manifest string // "" runs the first sweep to write it
		force    bool
		want     string // in the error; "" for success
	}{
		{"another sweep", "", false, `holds another sweep "first" (experiment first.yaml, 1 cells from wrr n=1`},
		{"another sweep, forced", "", true, ""},
		{"damaged manifest", "{", false, "its manifest is unreadable"},
		{"damaged manifest, forced", "{", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.manifest == "" {
				if _, err := Run(cellsOf("wrr"), []*traces.Workload{w}, RunOptions{Dir: dir, Name: "first", Experiment: "first.yaml", run: fake}); err != nil {
					t.Fatal(err)
				}
			} else if err := os.WriteFile(filepath.Join(dir, ManifestFile), []byte(tt.manifest), 0o644); err != nil {
				t.Fatal(err)
			}
			before, _ := os.ReadFile(filepath.Join(dir, ManifestFile))
			_, err := Run(cellsOf("wlc"), []*traces.Workload{w}, RunOptions{Dir: dir, Name: "second", Force: tt.force, run: fake})
			after, _ := os.ReadFile(filepath.Join(dir, ManifestFile))
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(string(after), `"name": "second"`) {
					t.Errorf("manifest not replaced:\n%s", after)
				}
				return
			}
			var other *OtherSweepError
			if !errors.As(err, &other) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want an *OtherSweepError with %q", err, tt.want)
			}
			if !bytes.Equal(before, after) {
				t.Errorf("the refused run changed the manifest:\n%s", after)
			}
		})
	}
}
