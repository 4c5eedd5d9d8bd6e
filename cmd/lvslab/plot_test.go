package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPlotFiles draws the figures from a CSV (with its JSON beside it, for
// the CDFs) and from a JSON, and checks the files are real PNGs and SVGs.
// Reference: thesis Fig. 4.2 and 6.5 (throughput against nodes).
func TestPlotFiles(t *testing.T) {
	dir := t.TempDir()
	sweep := filepath.Join(dir, "sweep")
	if _, _, err := execLab(t, "sweep", "-o", sweep, "--alg", "wrr,lblc", "--nodes", "1-3,7"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		args  []string
		files []string
	}{
		{"csv with json beside", []string{filepath.Join(sweep, "results.csv")},
			[]string{"throughput.png", "throughput.svg", "hit-ratio.png", "hit-ratio.svg", "cdf-n7.png", "cdf-n7.svg"}},
		{"json, chosen CDFs and prefix", []string{filepath.Join(sweep, "results.json"), "--cdf-nodes", "1,3", "--prefix", "x-", "--image-format", "png"},
			[]string{"x-throughput.png", "x-hit-ratio.png", "x-cdf-n1.png", "x-cdf-n3.png"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
			stdout, _, err := execLab(t, append([]string{"plot", "-o", out}, tc.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			entries, _ := os.ReadDir(out)
			if len(entries) != len(tc.files) {
				t.Errorf("%d files, want %d: %v", len(entries), len(tc.files), entries)
			}
			for _, f := range tc.files {
				b, err := os.ReadFile(filepath.Join(out, f))
				if err != nil {
					t.Error(err)
					continue
				}
				switch filepath.Ext(f) {
				case ".png":
					if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) || len(b) < 5000 {
						t.Errorf("%s: not a PNG with content (%d bytes)", f, len(b))
					}
				case ".svg":
					if !bytes.Contains(b, []byte("<svg")) || !bytes.Contains(b, []byte("Back-end nodes")) && !bytes.Contains(b, []byte("Response time")) {
						t.Errorf("%s: not an SVG figure", f)
					}
				}
				if !strings.Contains(stdout, f) {
					t.Errorf("%s not listed on standard output", f)
				}
			}
		})
	}

	// Only a CSV: no CDF.
	lone := filepath.Join(dir, "lone.csv")
	if err := os.WriteFile(lone, []byte(readFile(t, filepath.Join(sweep, "results.csv"))), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "lone")
	if _, _, err := execLab(t, "plot", lone, "-o", out); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, "cdf-n7.png")); err == nil {
		t.Error("drew a CDF without JSON results")
	}

	errs := []struct {
		name string
		args []string
		want string
	}{
		{"missing file", []string{"plot", filepath.Join(dir, "nope.csv")}, "nope.csv"},
		{"not results", []string{"plot", writeFile(t, dir, "x.csv", "a,b\n1,2\n")}, "not lvslab results: the CSV header has no alg, nodes"},
		{"bad number", []string{"plot", writeFile(t, dir, "y.csv", "alg,nodes,throughput_rps\nwrr,1,fast\n")}, "line 2"},
		{"bad json", []string{"plot", writeFile(t, dir, "z.json", "{}")}, "z.json"},
		{"unknown algorithm", []string{"plot", filepath.Join(sweep, "results.csv"), "--alg", "nosuch", "-o", filepath.Join(dir, "n")}, "nosuch"},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := execLab(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestPlotSweptParameter plots a sweep over a parameter outside the CSV's
// fixed columns (health_check_delay, at one node count): from the JSON, one
// set of figures per value, named by it, plus the bar chart (time series
// by default, as the runs have failures and one node count; against
// cluster size with --kind size); from the CSV, which has a
// health_check_delay column, the same figures (the CDFs from the JSON
// beside it; none from the CSV alone). Reference: thesis §3 (failover,
// the front end noticing a failed node after a delay).
func TestPlotSweptParameter(t *testing.T) {
	dir := t.TempDir()
	exp := writeFile(t, dir, "hc.yaml", "trace: default\nalg: [wrr, lblc]\nnodes: 2\nfailures: \"1@1s-3s\"\nhealth_check_delay: [2s, 500ms]\n")
	for _, out := range []string{"hc.json", "hc.csv"} {
		if _, _, err := execLab(t, "sim", "-f", exp, "-o", filepath.Join(dir, out)); err != nil {
			t.Fatal(err)
		}
	}
	lone := writeFile(t, dir, "lone.csv", readFile(t, filepath.Join(dir, "hc.csv")))
	// The time series of each health_check_delay (a single node count).
	series := []string{
		"throughput-time_health_check_delay=500ms.png", "hit-ratio-time_health_check_delay=500ms.png", "failed-time_health_check_delay=500ms.png",
		"nodes-time-wrr_health_check_delay=500ms.png", "nodes-time-lblc_health_check_delay=500ms.png", "cdf-n2_health_check_delay=500ms.png",
		"throughput-time_health_check_delay=2s.png", "hit-ratio-time_health_check_delay=2s.png", "failed-time_health_check_delay=2s.png",
		"nodes-time-wrr_health_check_delay=2s.png", "nodes-time-lblc_health_check_delay=2s.png", "cdf-n2_health_check_delay=2s.png",
		"throughput-bars.png",
	}
	tests := []struct {
		name  string
		input string
		args  []string
		files []string // in order; nil: want an error
		want  []string // in the error
	}{
		{"json", "hc.json", nil, series, nil},
		{"json kind size", "hc.json", []string{"--kind", "size"}, []string{
			"throughput_health_check_delay=500ms.png", "hit-ratio_health_check_delay=500ms.png", "cdf-n2_health_check_delay=500ms.png",
			"throughput_health_check_delay=2s.png", "hit-ratio_health_check_delay=2s.png", "cdf-n2_health_check_delay=2s.png",
			"throughput-bars.png",
		}, nil},
		{"csv with json beside", "hc.csv", nil, series, nil}, // the series from the JSON, as above
		{"csv alone", filepath.Base(lone), nil, []string{
			"throughput_health_check_delay=500ms.png", "hit-ratio_health_check_delay=500ms.png",
			"throughput_health_check_delay=2s.png", "hit-ratio_health_check_delay=2s.png",
			"throughput-bars.png",
		}, nil},
		{"csv alone kind series", filepath.Base(lone), []string{"--kind", "series"}, nil, []string{"lone.csv: no time series to draw", "JSON results only"}},
		{"bad kind", "hc.json", []string{"--kind", "time"}, nil, []string{`--kind: unknown kind "time" (want auto, size, series)`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, "figs-"+strings.ReplaceAll(tc.name, " ", "_"))
			stdout, _, err := execLab(t, append([]string{"plot", filepath.Join(dir, tc.input), "-o", out, "--image-format", "png"}, tc.args...)...)
			if tc.files == nil {
				if err == nil {
					t.Fatalf("no error, want %q", tc.want)
				}
				for _, s := range tc.want {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q lacks %q", err, s)
					}
				}
				if strings.Contains(err.Error(), "lvslab plot") != (tc.input == "hc.csv" && tc.args == nil) {
					t.Errorf("error %q: hint of the JSON beside wrong", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, line := range strings.Fields(stdout) {
				got = append(got, filepath.Base(line))
				b, err := os.ReadFile(line)
				if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) || len(b) < 5000 {
					t.Errorf("%s: not a PNG with content (%d bytes, %v)", line, len(b), err)
				}
			}
			if strings.Join(got, " ") != strings.Join(tc.files, " ") {
				t.Errorf("files:\n%v\nwant:\n%v", got, tc.files)
			}
		})
	}
}
