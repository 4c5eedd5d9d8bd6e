package sim

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/models"
	"github.com/lvslab/lvslab/traces"
)

func TestErrors(t *testing.T) {
	good := workload([]int64{100}, 0)
	for _, tc := range []struct {
		name string
		cfg  Config
		w    *traces.Workload
		want string // substring of the error
	}{
		{"zero nodes", Config{Algorithm: "wrr"}, good, "nodes"},
		{"negative nodes", Config{Nodes: -3, Algorithm: "wrr"}, good, "nodes"},
		{"no algorithm", Config{Nodes: 1}, good, "alg"},
		{"unknown algorithm", Config{Nodes: 1, Algorithm: "nosuch"}, good, `unknown scheduler "nosuch"`},
		{"negative cache", Config{Nodes: 1, Algorithm: "wrr", CacheBytes: -1}, good, "cache_bytes"},
		{"unknown policy", Config{Nodes: 1, Algorithm: "wrr", CachePolicy: "arc"}, good, "cache_policy"},
		{"unknown preset", Config{Nodes: 1, Algorithm: "wrr", Preset: "lard"}, good, "preset"},
		{"unknown front end", Config{Nodes: 1, Algorithm: "wrr", FrontEnd: "l3"}, good, "front_end"},
		{"unknown admission", Config{Nodes: 1, Algorithm: "wrr", Admission: "poisson"}, good, "admission"},
		{"negative speedup", Config{Nodes: 1, Algorithm: "wrr", Speedup: -1}, good, "speedup"},
		{"low above high", Config{Nodes: 1, Algorithm: "wrr", Low: 70}, good, "low"},
		{"negative costs", Config{Nodes: 1, Algorithm: "wrr", Costs: models.Costs{Connect: -time.Second}}, good, "costs.connect"},
		{"negative interval", Config{Nodes: 1, Algorithm: "wrr", Interval: -time.Second}, good, "interval"},
		{"failure node", Config{Nodes: 2, Algorithm: "wrr", Failures: []Failure{{Node: 2}}}, good, "failures[0].node"},
		{"failure time", Config{Nodes: 2, Algorithm: "wrr", Failures: []Failure{{Node: 1, At: -1}}}, good, "failures[0].at"},
		{"nil workload", Config{Nodes: 1, Algorithm: "wrr"}, nil, "nil workload"},
		{"empty workload", Config{Nodes: 1, Algorithm: "wrr"}, workload([]int64{100}), "no requests"},
		{"bad object index", Config{Nodes: 1, Algorithm: "wrr"}, workload([]int64{100}, 0, 1), "request 1: object index 1"},
		{"bad scheduler options", Config{Nodes: 1, Algorithm: "dflb", Options: algorithms.Options{Inner: "nosuch"}}, good, "alg"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Run(tc.cfg, tc.w)
			if err == nil {
				t.Fatalf("Run succeeded (%+v), want an error containing %q", res, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

// TestFrontEndNotImplemented: a planned front end that is not registered
// is rejected, never replaced by another one.
func TestFrontEndNotImplemented(t *testing.T) {
	for _, name := range FrontEnds() {
		ctor, ok := frontEnds[name]
		if name == FrontEndL7 {
			continue
		}
		if ok {
			delete(frontEnds, name) // pretend it is not written yet
		}
		_, err := Config{Nodes: 1, Algorithm: "wrr", FrontEnd: name}.Resolve()
		if ok {
			frontEnds[name] = ctor
		}
		if !errors.Is(err, ErrNotImplemented) || !strings.Contains(err.Error(), "front_end") {
			t.Errorf("%s: %v, want ErrNotImplemented naming front_end", name, err)
		}
	}
}

func TestResolve(t *testing.T) {
	c, err := Config{Nodes: 4, Algorithm: "WRR"}.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if c.Preset != "thesis" || c.Algorithm != "wrr" || c.CacheBytes != 32<<20 || c.CachePolicy != "lru" ||
		c.FrontEnd != "l7" || c.Admission != "closed" || c.Speedup != 1 || c.Low != 30 || c.High != 60 ||
		c.DFLBInterval != 5*time.Second || c.Interval != 10*time.Second || c.OriginTime != 100*time.Millisecond ||
		c.Costs.Connect != 140*time.Microsecond || c.Options.Low != 30 || c.Options.High != 60 || c.Options.Seed == 0 ||
		c.Options.DFLB.Coefficients != [6]float64{0, 1, 0, 0, 0, 0} || c.Options.DFLB.A != 5 || c.Options.DFLB.Scale != 10 ||
		!c.Options.RestartCycle {
		t.Fatalf("defaults: %+v", c)
	}
	again, err := c.Resolve()
	if err != nil || fmt.Sprint(again) != fmt.Sprint(c) {
		t.Fatalf("Resolve is not idempotent: %v\n%+v\n%+v", err, again, c)
	}
	other, _ := Config{Nodes: 4, Algorithm: "wrr", Seed: 2}.Resolve()
	if other.Options.Seed == c.Options.Seed {
		t.Errorf("scheduler seed does not follow Config.Seed")
	}
}

// experiments is a small sweep over schedulers and node counts on a
// synthetic workload, for the determinism and golden tests.
func experiments(t *testing.T) []*Result {
	t.Helper()
	w := synth(20000, 2000, *testSeed)
	var rs []*Result
	for _, alg := range []string{"wrr", "wlc", "dflb", "lblc", "lblcr", "lc"} {
		for _, n := range []int{1, 4} {
			res, err := Run(Config{Nodes: n, Algorithm: alg, CacheBytes: 2 << 20, Interval: time.Minute}, w)
			if err != nil {
				t.Fatalf("%s n=%d: %v", alg, n, err)
			}
			checkInvariants(t, res)
			rs = append(rs, res)
		}
	}
	return rs
}

func encode(t *testing.T, rs []*Result) (csv, js []byte) {
	t.Helper()
	var a, b bytes.Buffer
	if err := WriteCSV(&a, rs); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&b, rs); err != nil {
		t.Fatal(err)
	}
	return a.Bytes(), b.Bytes()
}

// TestDeterminism: the same experiment twice gives byte-identical CSV and
// JSON.
func TestDeterminism(t *testing.T) {
	c1, j1 := encode(t, experiments(t))
	c2, j2 := encode(t, experiments(t))
	if !bytes.Equal(c1, c2) {
		t.Fatalf("CSV differs between runs:\n%s\n%s", c1, c2)
	}
	if !bytes.Equal(j1, j2) {
		t.Fatal("JSON differs between runs")
	}
}

// TestGolden compares the sweep's CSV with testdata/sweep.csv, and one
// run's JSON with testdata/wrr4.json (regenerate with -update). It catches
// any change of behaviour in the engine, the models or the schedulers it
// runs.
func TestGolden(t *testing.T) {
	if *testSeed != 1 {
		t.Skipf("golden files are for seed 1 (seed %d)", *testSeed)
	}
	rs := experiments(t)
	csv, _ := encode(t, rs)
	_, js := encode(t, rs[1:2])
	for _, g := range []struct {
		file string
		got  []byte
	}{{"sweep.csv", csv}, {"wrr4.json", js}} {
		path := filepath.Join("testdata", g.file)
		if *update {
			if err := os.WriteFile(path, g.got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -update to create it)", err)
		}
		if !bytes.Equal(g.got, want) {
			t.Errorf("%s differs from the golden file; if the change is intended, run go test ./sim -run TestGolden -update\ngot:\n%s", path, g.got)
		}
	}
}

// TestLocalityBeatsRoundRobin is a sanity check of the thesis's main
// result on a synthetic workload whose working set exceeds one node's
// cache: LBLC's hit ratio and throughput exceed WRR's (thesis §6.3.7,
// Fig. 6.5).
func TestLocalityBeatsRoundRobin(t *testing.T) {
	w := synth(30000, 3000, *testSeed)
	get := func(alg string) *Result {
		res, err := Run(Config{Nodes: 4, Algorithm: alg, CacheBytes: 4 << 20}, w)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	wrr, lblc := get("wrr"), get("lblc")
	if lblc.HitRatio <= wrr.HitRatio || lblc.ThroughputRPS <= wrr.ThroughputRPS {
		t.Errorf("lblc hit %.3f thr %.0f, wrr hit %.3f thr %.0f: locality should win",
			lblc.HitRatio, lblc.ThroughputRPS, wrr.HitRatio, wrr.ThroughputRPS)
	}
}

// TestSchedulerDoesNotChangeWorkload: the workload is fixed before the
// run, so different schedulers see the same requests (common random
// numbers); only their placement differs.
func TestSchedulerDoesNotChangeWorkload(t *testing.T) {
	w := synth(5000, 500, *testSeed)
	var bytesSent []int64
	for _, alg := range []string{"wrr", "lblc", "p2c"} {
		if _, ok := algorithms.Lookup(alg); !ok {
			continue
		}
		res, err := Run(Config{Nodes: 3, Algorithm: alg}, w)
		if err != nil {
			t.Fatal(err)
		}
		var b int64
		for _, n := range res.Nodes {
			b += n.Bytes
		}
		bytesSent = append(bytesSent, b)
	}
	for _, b := range bytesSent {
		if b != bytesSent[0] {
			t.Fatalf("bytes sent differ between schedulers: %v", bytesSent)
		}
	}
}

func TestWriteCSVFormat(t *testing.T) {
	res, err := Run(Config{Nodes: 1, Algorithm: "wrr"}, workload([]int64{1000}, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteCSV(&b, []*Result{res}); err != nil {
		t.Fatal(err)
	}
	// The last column is the resolved config as JSON: it must read back
	// into the same Config.
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("%d CSV records, want header and one row", len(rows))
	}
	if got, want := strings.Join(rows[0], ","), strings.Join(CSVHeader, ","); got != want {
		t.Fatalf("header %q, want %q", got, want)
	}
	row := rows[1]
	if got, want := strings.Join(row[:len(row)-1], ","),
		"wrr,1,hand,thesis,l7,closed,33554432,lru,0,2,2,0,0,0.057180,34.977265,0.034977,0.000000,28.770000,57.180000,57.180000,42.975000,0.000000,0.012592,0.993704,0.1.0"; got != want {
		t.Fatalf("CSV row\n got %q\nwant %q", got, want)
	}
	var back Config
	if err := json.Unmarshal([]byte(row[len(row)-1]), &back); err != nil {
		t.Fatalf("config column: %v", err)
	}
	if !reflect.DeepEqual(back, res.Config) {
		t.Fatalf("config column reads back as %+v, want %+v", back, res.Config)
	}
	if len(res.CSVRow()) != len(CSVHeader) {
		t.Fatalf("row has %d fields, header %d", len(res.CSVRow()), len(CSVHeader))
	}
}

func ExampleRun() {
	// Two requests for the same 1,000-byte object on one node
	// (docs/reference-model.md): the second one's cache lookup, at 280 µs,
	// misses because the first inserts the object only when its disk read
	// ends at 28,550 µs.
	w := &traces.Workload{
		Name:     "example",
		Objects:  []traces.Object{{Target: "/index.html", Size: 1000}},
		Requests: []traces.Request{{Object: 0}, {Object: 0}},
	}
	res, err := Run(Config{Nodes: 1, Algorithm: "wrr"}, w)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Completed, res.Makespan, res.HitRatio)
	// Output: 2 57.18ms 0
}
