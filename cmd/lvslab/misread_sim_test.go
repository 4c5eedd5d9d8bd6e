package main

// Silent misreadings of sim's flags and experiment keys: values that were
// accepted and then meant something else (a 0 replaced by the default, an
// empty list item dropped), and errors that blamed another key than the
// one given. Each is refused now with an error naming the flag, or the
// file, line and key, and nothing is written.

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lvslab/lvslab/experiment"
	"github.com/lvslab/lvslab/sim"
)

// TestMisreadHelperProcess is not a test: runLab runs the test binary as a
// child with this test selected, and it runs lvslab's main on the
// arguments after "--", so that runLab sees the real exit code.
func TestMisreadHelperProcess(t *testing.T) {
	if os.Getenv("LVSLAB_HELPER_PROCESS") != "1" {
		t.Skip("the lvslab command, run by runLab in a child process")
	}
	i := slices.Index(os.Args, "--")
	os.Args = append([]string{"lvslab"}, os.Args[i+1:]...)
	main()
	os.Exit(0)
}

// runLab runs the lvslab command in a child process and returns its
// standard error and exit code. A command still running after a minute
// (a sweep that should have been refused) is killed.
func runLab(t *testing.T, dir string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], append([]string{"-test.run=^TestMisreadHelperProcess$", "--"}, args...)...)
	cmd.Env = append(os.Environ(), "LVSLAB_HELPER_PROCESS=1")
	cmd.Dir = dir
	var errb bytes.Buffer
	cmd.Stderr = &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("lvslab %q still running after a minute", args)
	case err == nil:
		return errb.String(), 0
	case errors.As(err, &ee):
		return errb.String(), ee.ExitCode()
	}
	t.Fatal(err)
	return "", -1
}

func TestMisreadSim(t *testing.T) {
	dir := t.TempDir()
	writeLog(t, dir, "tiny.log", clf("h1", "GET", "/a", 200, 1000), clf("h1", "GET", "/b", 200, 3000),
		clf("h2", "GET", "/c", 200, 1000), clf("h2", "GET", "/d", 200, 1000))
	writeFile(t, dir, "out.csv", "previous results\n") // -o must not touch it on error
	// In wants, FILE is the experiment file's path. Every row runs "sim -o
	// out.csv" with its file and args, and --trace tiny.log --alg wrr
	// --nodes 1 where neither sets them.
	tests := []struct {
		name  string
		yaml  string
		args  []string
		code  int
		wants []string
	}{
		// A 0 that would only select the default (sim --help says so).
		{"--low 0", "", []string{"--low", "0"}, 1, []string{`--low: "0": must be > 0 (0 would select the default`}},
		{"--high 0", "", []string{"--high", "0"}, 1, []string{`--high: "0": must be > 0`}},
		{"--interval 0s", "", []string{"--interval", "0s"}, 1, []string{`--interval: "0s": must be > 0`}},
		{"--distributors 0", "", []string{"--front-end", "distributed", "--distributors", "0"}, 1, []string{`--distributors: "0": must be > 0`}},
		{"--dflb-interval 0s", "", []string{"--dflb-interval", "0s"}, 1, []string{`--dflb-interval: "0s": must be > 0`}},
		{"low: 0", "alg: wrr\nnodes: 1\nlow: 0\n", nil, 1, []string{`FILE: line 3: low: "0": must be > 0`}},
		{"high: 0", "alg: wrr\nnodes: 1\nhigh: [60, 0]\n", nil, 1, []string{`FILE: line 3: high: "0": must be > 0`}},
		{"interval: 0s", "alg: wrr\nnodes: 1\ninterval: 0s\n", nil, 1, []string{`FILE: line 3: interval: "0s"`}},
		{"distributors: 0", "alg: wrr\nnodes: 1\nfront_end: distributed\ndistributors: 0\n", nil, 1, []string{`FILE: line 4: distributors: "0"`}},
		{"dflb_interval: 0s", "alg: dflb\nnodes: 1\ndflb_interval: 0s\n", nil, 1, []string{`FILE: line 3: dflb_interval: "0s"`}},
		{"restart_cycle: false", "alg: wrr\nnodes: 1\noptions:\n  restart_cycle: false\n", nil, 1,
			[]string{`FILE: line 4: options.restart_cycle: "false" would select the default`}},
		// A 0 that means something is honoured.
		{"--health-check-delay 0s", "", []string{"--failure", "0@1ms", "--health-check-delay", "0s"}, 0, nil},
		{"keep_alive: 0s", "alg: wrr\nnodes: 1\nfront_end: l4\nkeep_alive: 0s\n", nil, 0, nil},

		// Errors blame the key given.
		{"--cls-lookup 1000h", "", []string{"--front-end", "distributed", "--cls-lookup", "1000h"}, 1,
			[]string{"--cls-lookup: ", "sim: cls_lookup/interval: 1000h0m0s (default 20µs) makes the run pass"}},
		{"cls_lookup: 1000h", "alg: wrr\nnodes: 1\nfront_end: distributed\ncls_lookup: 1000h\n", nil, 1,
			[]string{"FILE: line 4: cls_lookup: ", "1000h0m0s (default 20µs)"}},
		{"--interval 1ns", "", []string{"--interval", "1ns"}, 1, []string{"--interval: ", "sim: interval: 1ns makes more than"}},
		{"--failure 0@999999999h", "", []string{"--failure", "0@999999999h"}, 1,
			[]string{`--failure: "0@999999999h": the failure time: "999999999h" is out of range (max 2562047h47m16.854775807s)`}},
		{"failures at: 999999999h", "alg: wrr\nnodes: 1\nfailures:\n  - {node: 0, at: 999999999h}\n", nil, 1,
			[]string{`FILE: line 4: failures.at: "999999999h" is out of range (max 2562047h47m16.854775807s)`}},
		{"failures recover out of range", "alg: wrr\nnodes: 1\nfailures: [\"0@1s-9999999h\"]\n", nil, 1,
			[]string{`FILE: line 3: failures: "0@1s-9999999h": the recovery time: "9999999h" is out of range`}},
		{"--cls-batch too large", "", []string{"--cls-batch", "99999999999999999999"}, 1,
			[]string{`--cls-batch: "99999999999999999999" is out of range (max 9223372036854775807)`}},
		{"--seed too large", "", []string{"--seed", "18446744073709551616"}, 1, []string{`--seed: "18446744073709551616" is out of range`}},
		{"--preset unknown", "", []string{"--preset", "nosuch"}, 1, []string{"--preset: ", `unknown preset "nosuch"`}},
		{"preset: unknown", "alg: wrr\nnodes: 1\npreset: nosuch\n", nil, 1, []string{"FILE: line 3: preset: ", `unknown preset "nosuch"`}},
		{"alg: unknown", "alg:\n  - wrr\n  - nosuch\nnodes: 1\n", nil, 1, []string{"FILE: line 3: alg: ", `unknown scheduler "nosuch"`}},
		{"swept value", "alg: wrr\nnodes: 1\ncache_policy:\n  - lru\n  - nosuch\n", nil, 1, []string{"FILE: line 5: cache_policy: ", `unknown policy "nosuch"`}},
		{"high below the default low", "alg: wrr\nnodes: 1\nhigh: 20\n", nil, 1, []string{"FILE: line 3: high: ", "low threshold 30 above high threshold 20"}},
		{"--low above --high", "", []string{"--low", "50", "--high", "40"}, 1, []string{"--low: ", "low threshold 50 above high threshold 40"}},

		// Empty values and list items.
		{`--alg ""`, "", []string{"--alg", ""}, 1, []string{"--alg: item 1 of 1: empty value"}},
		{"--alg ,", "", []string{"--alg", ","}, 1, []string{"--alg: item 1 of 2: empty value"}},
		{"--alg wrr,,wlc", "", []string{"--alg", "wrr,,wlc"}, 1, []string{"--alg: item 2 of 3: empty value"}},
		{`--alg wrr --alg ""`, "", []string{"--alg", "wrr", "--alg", ""}, 1, []string{"--alg: item 2 of 2: empty value"}},
		{`alg: ""`, "alg: \"\"\nnodes: 1\n", nil, 1, []string{"FILE: line 1: alg: empty value"}},
		{`alg: [wrr, ""]`, "nodes: 1\nalg: [wrr, \"\"]\n", nil, 1, []string{"FILE: line 2: alg: empty value"}},
		{"--nodes 1,,2", "", []string{"--nodes", "1,,2"}, 1, []string{"--nodes: item 2 of 3: empty value"}},
		{"nodes: 1,,2", "alg: wrr\nnodes: \"1,,2\"\n", nil, 1, []string{`FILE: line 2: nodes: "1,,2": empty value`}},
		{"--cache 8MiB,,16MiB", "", []string{"--cache", "8MiB,,16MiB"}, 1, []string{"--cache: item 2 of 3: empty value"}},
		{`--failure ""`, "", []string{"--failure", ""}, 1, []string{"--failure: item 1 of 1: empty value"}},
		{"--trace tiny.log,", "", []string{"--trace", "tiny.log,"}, 1, []string{"--trace: item 2 of 2: empty value"}},
		{"trace: a+", "alg: wrr\nnodes: 1\ntrace: tiny.log+\n", []string{}, 1, []string{"trace tiny.log+: an empty file name"}},
		{"class nodes 0,,1", "alg: content\nnodes: 2\noptions:\n  classes: {cgi: \"0,,1\"}\n", nil, 1,
			[]string{`FILE: line 4: options.classes.cgi: "0,,1": empty value`}},

		// Sizes are bounded before anything is built.
		{"nodes: 1-1000000000", "alg: wrr\nnodes: 1-1000000000\n", nil, 1, []string{"FILE: line 2: nodes: 1000000000: at most 4096 nodes"}},
		{"nodes given twice", "alg: wrr\nnodes: [1-3, 2]\n", nil, 1, []string{"FILE: line 2: nodes: node count 2 given twice"}},
		{"a sweep too large", "alg: [wrr, wlc]\nnodes: 1-4096\nseed: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]\n", nil, 1,
			[]string{"FILE: the sweep has more than 100000 cells (alg 2 (line 1) × nodes 4096 (line 2) × seed 13 (line 3))"}},
		{"a sweep too large by flags", "", []string{"--nodes", "1-4096", "--seed", "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25"}, 1,
			[]string{"the sweep has more than 100000 cells (--nodes 4096 × --seed 25)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"sim", "-o", "out.csv"}
			file := filepath.Join(dir, "exp.yaml")
			os.Remove(file)
			if tc.yaml != "" {
				writeFile(t, dir, "exp.yaml", tc.yaml)
				args = append(args, "-f", file)
			}
			// Defaults for what neither the row's flags nor its file set.
			for _, d := range [][2]string{{"trace", "tiny.log"}, {"alg", "wrr"}, {"nodes", "1"}} {
				if !slices.Contains(tc.args, "--"+d[0]) && !strings.Contains(tc.yaml, d[0]+":") {
					args = append(args, "--"+d[0], d[1])
				}
			}
			args = append(args, tc.args...)
			before := snapshot(t, dir)
			stderr, code := runLab(t, dir, args...)
			if code != tc.code {
				t.Fatalf("exit code %d, want %d; stderr:\n%s", code, tc.code, stderr)
			}
			if tc.code != 0 && !strings.HasPrefix(stderr, "lvslab: ") {
				t.Errorf("stderr %q: want one line, lvslab: and the error", stderr)
			}
			for _, w := range tc.wants {
				w = strings.ReplaceAll(w, "FILE", file)
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr\n%s\ndoes not say\n%s", stderr, w)
				}
			}
			after := snapshot(t, dir)
			if tc.code == 0 {
				delete(before, "out.csv")
				delete(after, "out.csv")
			}
			if !reflect.DeepEqual(before, after) {
				t.Errorf("files changed: before %v, after %v", keys(before), keys(after))
			}
		})
	}
}

func keys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// zeroValues is the documented table (README.md, "Experiment files", and
// "lvslab sim --help") of the parameters whose zero value is a value of
// its own, with that value as written in a file; every other parameter
// refuses its zero value.
var zeroValues = map[string]string{
	"keep_alive":                    "0",
	"seed":                          "0",
	"failures":                      "none",
	"slowdown":                      "none",
	"health_check_delay":            "0",
	"options.fallback":              "false",
	"options.port":                  "false",
	"options.classes":               "{}",
	"options.near":                  "[]",
	"options.dflb.change_threshold": "0",
	"clusters":                      "none",
	"wan_delay":                     "0",
	"overflow":                      "false",
}

// TestEveryParamZeroAndNegative walks every parameter, as a file key and as
// a flag, with its zero value and with negative values: a zero is refused
// naming the key (or flag), unless zeroValues documents it, and then the
// resolved configuration keeps it under every front end; a negative value
// is always refused, naming the key. A parameter added later falls under
// the same rule.
func TestEveryParamZeroAndNegative(t *testing.T) {
	dir := t.TempDir()
	trace := writeLog(t, dir, "tiny.log", clf("h1", "GET", "/a", 200, 1000), clf("h2", "GET", "/b", 200, 3000))
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	// run runs sim on the tiny trace with the key (or flag) set to v.
	run := func(p experiment.Param, v string, flag bool) error {
		if flag {
			_, _, err := execLab(t, "sim", "--trace", trace, "--alg", "wrr", "--nodes", "2", "--"+p.Name, v)
			return err
		}
		y := writeFile(t, dir, "exp.yaml", "alg: wrr\nnodes: 2\n"+nestedYAML(p.FileKey(), v))
		_, _, err := execLab(t, "sim", "-f", y, "--trace", trace)
		return err
	}
	for _, p := range experiment.Params() {
		t.Run(p.FileKey(), func(t *testing.T) {
			// The zero value, and negative values, as a file writes them.
			zero, negatives := `""`, []string{"-1", "-1s"}
			switch p.Kind {
			case experiment.Failures:
				zero, negatives = "[]", []string{"[{node: -1, at: 1s}]", "[{node: 0, at: -1s}]", `["-1@1s"]`}
			case experiment.Slowdowns:
				zero, negatives = "[]", []string{"[{node: -1, factor: 2, from: 0s, to: 1s}]", "[{node: 0, factor: 2, from: -1s, to: 1s}]", `["0x-2@0s-1s"]`}
			case experiment.Classes:
				zero, negatives = "{}", []string{"{a: [-1]}"}
			case experiment.Near:
				zero, negatives = "[]", []string{"[{prefix: 10.0.0.0/8, servers: [-1]}]"}
			case experiment.Numbers:
				zero, negatives = "[0, 0, 0, 0, 0, 0]", []string{"[-1, 2, 0, 0, 0, 0]"}
			case experiment.Clusters:
				zero, negatives = "none", []string{"[{share: -1}, {share: 1}]", "[{share: 1, nodes: -1}, {share: 1}]", `["1:-1", "1"]`}
			default:
				for _, z := range []string{"0", "0s", "false"} {
					if err := p.Check(z); err != nil && strings.Contains(err.Error(), "default") || p.Zero != "" && err == nil {
						zero = z
						break
					}
				}
			}
			want, honoured := zeroValues[p.FileKey()]
			if honoured != (p.Zero != "") {
				t.Errorf("zero documented = %v in zeroValues, %v in the parameter table", honoured, p.Zero != "")
			}
			checkRefused := func(err error, flag bool, v string) {
				t.Helper()
				names := []string{"exp.yaml: line ", ": " + p.FileKey()}
				if flag {
					names = []string{"--" + p.Name + ": "}
				}
				for _, name := range names {
					if err == nil || !strings.Contains(err.Error(), name) {
						t.Errorf("%s %s: error %v, want one naming %q", p.FileKey(), v, err, name)
					}
				}
			}

			err := run(p, zero, false)
			switch {
			case honoured:
				if err != nil {
					t.Errorf("%s: %s: %v", p.FileKey(), zero, err)
				}
				if !bytes.Contains(readme, []byte("`"+p.FileKey()+": "+want+"`")) {
					t.Errorf("README.md does not document `%s: %s`", p.FileKey(), want)
				}
				checkKept(t, p, zero)
			default:
				checkRefused(err, false, zero)
			}
			if p.Flag {
				flagZero := strings.Trim(zero, `"`)
				if p.Kind == experiment.Failures || p.Kind == experiment.Slowdowns {
					flagZero = "none"
				}
				err := run(p, flagZero, true)
				if honoured && err != nil {
					t.Errorf("--%s %s: %v", p.Name, flagZero, err)
				}
				if !honoured {
					checkRefused(err, true, flagZero)
				}
			}
			for _, v := range negatives {
				checkRefused(run(p, v, false), false, v)
				if p.Flag && p.Kind == experiment.Scalar {
					checkRefused(run(p, v, true), true, v)
				}
			}
			if p.Kind == experiment.Failures {
				checkRefused(run(p, "-1@1s", true), true, "-1@1s")
			}
			if p.Kind == experiment.Slowdowns {
				checkRefused(run(p, "-1x2@0s-1s", true), true, "-1x2@0s-1s")
			}
		})
	}
}

// checkKept checks that the zero value of p, written v in a file, is in
// the resolved configuration under every front end: Resolve does not
// replace it by a default.
func checkKept(t *testing.T, p experiment.Param, v string) {
	t.Helper()
	e, err := experiment.Parse("exp.yaml", strings.NewReader(nestedYAML(p.FileKey(), v)), "")
	if err != nil {
		t.Fatal(err)
	}
	base, _, err := e.Configs()
	if err != nil {
		t.Fatal(err)
	}
	for _, fe := range sim.FrontEnds() {
		c := base
		c.Nodes, c.Algorithm, c.FrontEnd = 2, "wrr", fe
		r, err := c.Resolve()
		if errors.Is(err, sim.ErrNotImplemented) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		f := reflect.ValueOf(r)
		for name := range strings.SplitSeq(p.Field, ".") {
			f = f.FieldByName(name)
		}
		if !f.IsValid() || !f.IsZero() {
			t.Errorf("front end %s: %s: %s resolves to %v, not its zero value", fe, p.FileKey(), strconv.Quote(v), f)
		}
	}
}
