package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lvslab/lvslab/traces"
)

// runSynth executes "lvslab trace synth args..." and returns stdout,
// stderr and the error.
func runSynth(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := newRootCmd()
	cmd.SetOut(&stdout)
	cmd.SetErr(&stderr)
	cmd.SetArgs(append([]string{"trace", "synth"}, args...))
	err := cmd.Execute()
	return stdout.String(), stderr.String(), err
}

func synthPreset(t *testing.T, name string) traces.SynthModel {
	t.Helper()
	m, err := traces.SynthPreset(name)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func synthText(t *testing.T, m traces.SynthModel) string {
	t.Helper()
	var buf bytes.Buffer
	if err := traces.Synthesize(&buf, m); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// printedModel runs synth with --print-model=json and decodes the model.
func printedModel(t *testing.T, args ...string) traces.SynthModel {
	t.Helper()
	out, stderr, err := runSynth(t, append(args, "--print-model=json")...)
	if err != nil {
		t.Fatalf("%v: %v (%s)", args, err, stderr)
	}
	var m traces.SynthModel
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("%v: %v in %s", args, err, out)
	}
	return m
}

func TestTraceSynthPreset(t *testing.T) {
	out, stderr, err := runSynth(t, "--preset", "small")
	if err != nil {
		t.Fatalf("%v (%s)", err, stderr)
	}
	if want := synthText(t, synthPreset(t, "small")); out != want {
		t.Errorf("output differs from traces.Synthesize of the small preset (%d vs %d bytes)", len(out), len(want))
	}
}

// TestTraceSynthFlags: each flag sets its model field, over the preset.
func TestTraceSynthFlags(t *testing.T) {
	small := synthPreset(t, "small")
	for _, tc := range []struct {
		args []string
		edit func(*traces.SynthModel)
	}{
		{nil, func(m *traces.SynthModel) { *m = synthPreset(t, "thesis") }},
		{[]string{"--preset", "small"}, func(*traces.SynthModel) {}},
		{[]string{"--preset", "small", "--seed", "9", "--requests", "3000", "--targets", "300", "--alpha", "1.2", "--name", "x"},
			func(m *traces.SynthModel) { m.Seed, m.Requests, m.Targets, m.Alpha, m.Name = 9, 3000, 300, 1.2, "x" }},
		{[]string{"--preset", "small", "--locality", "0.4", "--locality-window", "7", "--dynamic-share", "0", "--clients", "3", "--rate", "2.5"},
			func(m *traces.SynthModel) {
				m.TemporalLocality, m.LocalityWindow, m.DynamicShare, m.Clients, m.Rate = 0.4, 7, 0, 3, 2.5
			}},
		{[]string{"--preset", "small", "--working-set", "100MiB", "--cover=false", "--start", "2003-09-02T10:00:00-07:00"},
			func(m *traces.SynthModel) {
				m.WorkingSet, m.Cover = 100<<20, false
				m.Start = time.Date(2003, 9, 2, 10, 0, 0, 0, time.FixedZone("", -7*3600))
			}},
		{[]string{"--preset", "small", "--size-mu", "8", "--size-sigma", "1.5", "--tail-share", "0.2", "--tail-xm", "64KiB", "--tail-shape", "1.4", "--max-size", "1GiB"},
			func(m *traces.SynthModel) {
				m.Sizes.Mu, m.Sizes.Sigma, m.Sizes.TailShare, m.Sizes.TailXm, m.Sizes.TailShape, m.Sizes.Max = 8, 1.5, 0.2, 65536, 1.4, 1<<30
			}},
	} {
		want := small
		tc.edit(&want)
		got := printedModel(t, tc.args...)
		if !got.Start.Equal(want.Start) {
			t.Errorf("%v: start %v, want %v", tc.args, got.Start, want.Start)
		}
		got.Start, want.Start = time.Time{}, time.Time{}
		if got != want {
			t.Errorf("%v:\n got %+v\nwant %+v", tc.args, got, want)
		}
	}
	// --alpha 0 asks for uniform popularity (0 would mean the default).
	if m := printedModel(t, "--preset", "small", "--alpha", "0"); !(m.Alpha > 0 && m.Alpha < 1e-300) {
		t.Errorf("--alpha 0: alpha %v", m.Alpha)
	}
}

// TestTraceSynthOutputFile writes a gzip log and reads it back into the
// workload SynthWorkload builds (reference filters).
func TestTraceSynthOutputFile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "small.log.gz")
	_, stderr, err := runSynth(t, "--preset", "small", "--requests", "4000", "--targets", "500", "-o", out)
	if err != nil {
		t.Fatalf("%v (%s)", err, stderr)
	}
	if !strings.Contains(stderr, "wrote 4000 lines") {
		t.Errorf("stderr %q", stderr)
	}
	m := synthPreset(t, "small")
	m.Requests, m.Targets = 4000, 500
	fh, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	zr, err := gzip.NewReader(fh)
	if err != nil {
		t.Fatal(err)
	}
	text, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if string(text) != synthText(t, m) {
		t.Error("gzip output differs from traces.Synthesize")
	}
	got, err := traces.Load([]string{out}, traces.ReferenceFilter())
	if err != nil {
		t.Fatal(err)
	}
	want, err := traces.SynthWorkload(m)
	if err != nil {
		t.Fatal(err)
	}
	got.Name = want.Name
	if !reflect.DeepEqual(got, want) {
		t.Error("the log read back differs from SynthWorkload")
	}
}

// TestTraceSynthModelFile: a printed model (YAML or JSON) read back with
// --model gives the same model and the same log.
func TestTraceSynthModelFile(t *testing.T) {
	for _, format := range []string{"yaml", "json"} {
		text, stderr, err := runSynth(t, "--preset", "small", "--alpha", "0.9", "--print-model="+format)
		if err != nil {
			t.Fatalf("%v (%s)", err, stderr)
		}
		path := filepath.Join(t.TempDir(), "model."+format)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		again, _, err := runSynth(t, "--model", path, "--print-model="+format)
		if err != nil || again != text {
			t.Errorf("%s: %v\n%s\nwant\n%s", format, err, again, text)
		}
		log, _, err := runSynth(t, "--model", path)
		m := synthPreset(t, "small")
		m.Alpha = 0.9
		if err != nil || log != synthText(t, m) {
			t.Errorf("%s: --model log differs: %v", format, err)
		}
	}
}

// TestTraceSynthFit: --fit equals traces.FitSynth of the log read under the
// reference filters, with the preset's seed and start; flags override it.
func TestTraceSynthFit(t *testing.T) {
	log := filepath.Join("..", "..", "traces", "testdata", "antlr-2003.log.gz")
	w, err := traces.Load([]string{log}, traces.ReferenceFilter())
	if err != nil {
		t.Fatal(err)
	}
	want, err := traces.FitSynth(w)
	if err != nil {
		t.Fatal(err)
	}
	th := synthPreset(t, "thesis")
	want.Seed, want.Start = th.Seed, th.Start
	want = want.Resolved()
	_, stderr, err := runSynth(t, "--fit", log, "--print-model")
	if err != nil || !strings.Contains(stderr, "zipf alpha") {
		t.Fatalf("%v, stderr %q", err, stderr)
	}
	got := printedModel(t, "--fit", log)
	if !got.Start.Equal(want.Start) {
		t.Errorf("start %v, want %v", got.Start, want.Start)
	}
	got.Start, want.Start = time.Time{}, time.Time{}
	if got != want {
		t.Errorf("fit\n got %+v\nwant %+v", got, want)
	}
	got = printedModel(t, "--fit", log, "--requests", "50000", "--seed", "4")
	if got.Requests != 50000 || got.Seed != 4 || got.Targets != want.Targets {
		t.Errorf("fit with overrides: %+v", got)
	}
	out, _, err := runSynth(t, "--fit", log, "--requests", "1000", "--seed", "4", "--cover=false")
	if err != nil || strings.Count(out, "\n") != 1000 {
		t.Errorf("look-alike: %v, %d lines", err, strings.Count(out, "\n"))
	}
}

func TestTraceSynthErrors(t *testing.T) {
	dir := t.TempDir()
	badModel := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(badModel, []byte("targets: 10\nalpah: 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--preset", "nope"}, "preset"},
		{[]string{"--alpha", "-1"}, "alpha"},
		{[]string{"--dynamic-share", "1"}, "dynamic_share"},
		{[]string{"--working-set", "12XB"}, "--working-set"},
		{[]string{"--tail-xm", "lots"}, "--tail-xm"},
		{[]string{"--requests", "5"}, "cover"},
		{[]string{"--start", "yesterday"}, "--start"},
		{[]string{"--fit", filepath.Join(dir, "missing.log")}, "missing.log"},
		{[]string{"--model", badModel}, "alpah"},
		{[]string{"--model", filepath.Join(dir, "none.yaml")}, "none.yaml"},
		{[]string{"--model", badModel, "--preset", "small"}, "not both"},
		{[]string{"--print-model=xml"}, "yaml or json"},
		{[]string{"extra"}, "unknown command"},
		{[]string{"-o", filepath.Join(dir, "no", "such", "dir.log")}, "dir.log"},
	} {
		_, _, err := runSynth(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one mentioning %q", tc.args, err, tc.want)
		}
	}
}

// TestTraceSynthZero: a count or rate flag given as 0 is an error, not the
// generic default a model's 0 stands for (100,000 requests where the thesis
// preset has 1,000,000); leaving the flag out keeps the preset's value.
// Reference: thesis §4.3 (the thesis workload).
func TestTraceSynthZero(t *testing.T) {
	for _, flag := range []string{"requests", "targets", "locality-window", "clients", "rate"} {
		for _, v := range []string{"0", "-3"} {
			out, _, err := runSynth(t, "--preset", "thesis", "--"+flag, v)
			want := "--" + flag + ": must be > 0"
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("--%s %s: error %v, want %q", flag, v, err, want)
			}
			if out != "" {
				t.Errorf("--%s %s: wrote %d bytes", flag, v, len(out))
			}
		}
	}
	th := synthPreset(t, "thesis")
	if th.Requests != 1000000 {
		t.Fatalf("thesis preset: %d requests, want 1,000,000", th.Requests)
	}
	if m := printedModel(t, "--preset", "thesis"); m.Requests != th.Requests || m.Targets != th.Targets {
		t.Errorf("no --requests: %d requests, %d targets, want the preset's %d, %d", m.Requests, m.Targets, th.Requests, th.Targets)
	}
}

func TestTraceSynthRegistered(t *testing.T) {
	out, _, err := runTrace(t, "trace", "--help")
	if err != nil || !strings.Contains(out, "synth") {
		t.Errorf("trace --help does not list synth: %v\n%s", err, out)
	}
}
