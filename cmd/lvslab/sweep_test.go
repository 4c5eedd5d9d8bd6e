package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var sweepArgs = []string{"--alg", "wrr,wlc,lblc", "--nodes", "1-3", "--cache", "1MiB,8MiB", "--progress-cells", "5"}

// TestSweepShardMerge checks that a sweep split into shards and merged is
// byte-identical to the same sweep run whole, and to the sim command's CSV.
func TestSweepShardMerge(t *testing.T) {
	dir := t.TempDir()
	whole := filepath.Join(dir, "whole")
	out, errOut, err := execLab(t, append([]string{"sweep", "-o", whole, "--workers", "3"}, sweepArgs...)...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "18 run, 0 already done") {
		t.Errorf("stdout: %s", out)
	}
	if !strings.Contains(errOut, "sweep: 18/18 cells (100%)") || strings.Contains(errOut, "\r") {
		t.Errorf("progress off a terminal should be plain lines:\n%s", errOut)
	}
	want := readFile(t, filepath.Join(whole, "results.csv"))
	if rows := readCSV(t, want); len(rows) != 18 {
		t.Fatalf("%d rows, want 18", len(rows))
	}

	simOut, _, err := execLab(t, append([]string{"sim", "--format", "csv"}, sweepArgs[:6]...)...)
	if err != nil {
		t.Fatal(err)
	}
	if simOut != want {
		t.Error("sweep results.csv differs from sim's CSV for the same experiment")
	}

	// Three shards in separate directories, merged.
	var shards []string
	for i := range 3 {
		d := filepath.Join(dir, "shard", string(rune('a'+i)))
		shards = append(shards, d)
		out, _, err := execLab(t, append([]string{"sweep", "-o", d, "--shard", string(rune('0'+i)) + "/3", "--workers", "1"}, sweepArgs...)...)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, "6 cells in this shard") || !strings.Contains(out, "lvslab sweep merge") {
			t.Errorf("shard %d: %s", i, out)
		}
	}
	if _, err := os.Stat(filepath.Join(shards[0], "results.csv")); err == nil {
		t.Error("a shard wrote a merged results.csv with cells missing")
	}
	merged := filepath.Join(dir, "all.csv")
	if _, _, err := execLab(t, append([]string{"sweep", "merge", "-o", merged}, shards...)...); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, merged); got != want {
		t.Errorf("sharded+merged differs from unsharded:\n%s\nwant:\n%s", got, want)
	}
	mergedJSON := filepath.Join(dir, "all.json")
	if _, _, err := execLab(t, append([]string{"sweep", "merge", "-o", mergedJSON}, shards...)...); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, mergedJSON); got != readFile(t, filepath.Join(whole, "results.json")) {
		t.Error("merged JSON differs from unsharded results.json")
	}

	// Shards sharing one directory (Slurm array tasks, from the
	// environment): the last one writes the merged files.
	shared := filepath.Join(dir, "shared")
	for i := range 2 {
		t.Setenv("SLURM_ARRAY_TASK_ID", string(rune('0'+i)))
		t.Setenv("SLURM_ARRAY_TASK_COUNT", "2")
		if _, _, err := execLab(t, append([]string{"sweep", "-o", shared}, sweepArgs...)...); err != nil {
			t.Fatal(err)
		}
	}
	if got := readFile(t, filepath.Join(shared, "results.csv")); got != want {
		t.Error("shards sharing a directory: merged results.csv differs from unsharded")
	}

	// Merging incomplete shards names what is missing.
	_, _, err = execLab(t, "sweep", "merge", shards[0], shards[1])
	if err == nil || !strings.Contains(err.Error(), "6 of 18 cells have no result") {
		t.Errorf("merge of incomplete shards: %v", err)
	}
	// Shards of different sweeps do not merge.
	other := filepath.Join(dir, "other")
	if _, _, err := execLab(t, "sweep", "-o", other, "--alg", "wrr", "--nodes", "1"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := execLab(t, "sweep", "merge", whole, other); err == nil || !strings.Contains(err.Error(), "different sweep") {
		t.Errorf("merge of different sweeps: %v", err)
	}
}

// TestSweepResume reruns a sweep: finished cells are skipped and the
// output is unchanged; a lost cell is run again.
func TestSweepResume(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	args := append([]string{"sweep", "-o", dir}, sweepArgs...)
	if _, _, err := execLab(t, args...); err != nil {
		t.Fatal(err)
	}
	first := readFile(t, filepath.Join(dir, "results.csv"))
	out, _, err := execLab(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "0 run, 18 already done") {
		t.Errorf("rerun: %s", out)
	}
	cells, err := filepath.Glob(filepath.Join(dir, "cells", "*.json"))
	if err != nil || len(cells) != 18 {
		t.Fatalf("%d cell files, want 18 (%v)", len(cells), err)
	}
	if err := os.Remove(cells[4]); err != nil {
		t.Fatal(err)
	}
	out, _, err = execLab(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "1 run, 17 already done") {
		t.Errorf("after losing a cell: %s", out)
	}
	if got := readFile(t, filepath.Join(dir, "results.csv")); got != first {
		t.Error("resumed sweep differs")
	}
	// A damaged cell file is an error naming it.
	if err := os.WriteFile(cells[2], []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err = execLab(t, args...)
	if err == nil || !strings.Contains(err.Error(), filepath.Base(cells[2])) {
		t.Errorf("damaged cell: %v", err)
	}
}

// TestSweepNewKeys sweeps failure schedules and a cost constant from a
// file: every cell runs, the failure cells lose requests, a rerun skips
// every cell, and a flag given instead of the file's value makes other
// cells (the cell key hashes the resolved configuration).
func TestSweepNewKeys(t *testing.T) {
	dir := t.TempDir()
	exp := writeFile(t, dir, "f.yaml", `alg: [lblc, wlc]
nodes: 3
admission: open
speedup: 1000
failures:
  - []
  - [{node: 1, at: 10s, recover: 25s}]
health_check_delay: 1s
costs:
  disk_access: [28ms, 5ms]
`)
	out := filepath.Join(dir, "out")
	args := []string{"sweep", "-f", exp, "-o", out}
	if _, _, err := execLab(t, args...); err != nil {
		t.Fatal(err)
	}
	rows := readCSV(t, readFile(t, filepath.Join(out, "results.csv")))
	if len(rows) != 8 {
		t.Fatalf("%d rows, want 2 schedules × 2 disk costs × 2 algorithms", len(rows))
	}
	for i, r := range rows {
		failing := i >= 4 // the failure axis is outermost
		if (r["failed"] != "0") != failing {
			t.Errorf("row %d (failure schedule %v): failed = %s", i, failing, r["failed"])
		}
		// One column per swept parameter, named by its file key.
		wantFailures, wantDisk := "none", []string{"28ms", "5ms"}[i/2%2]
		if failing {
			wantFailures = "1@10s-25s"
		}
		if r["failures"] != wantFailures || r["costs.disk_access"] != wantDisk {
			t.Errorf("row %d: failures %q, costs.disk_access %q; want %q, %q", i, r["failures"], r["costs.disk_access"], wantFailures, wantDisk)
		}
	}
	res := readFile(t, filepath.Join(out, "results.json"))
	for _, want := range []string{`"health_check_delay_ns": 1000000000`, `"disk_access_ns": 5000000`, `"recover_ns": 25000000000`} {
		if !strings.Contains(res, want) {
			t.Errorf("results.json has no %s", want)
		}
	}
	o, _, err := execLab(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(o, "0 run, 8 already done") {
		t.Errorf("rerun: %s", o)
	}
	o, _, err = execLab(t, append(args, "--health-check-delay", "2s", "--force")...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(o, "8 run, 0 already done") {
		t.Errorf("another health-check delay: %s", o)
	}
}
