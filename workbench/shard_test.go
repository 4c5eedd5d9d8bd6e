package workbench

import (
	"strings"
	"testing"
)

func TestResolveShard(t *testing.T) {
	tests := []struct {
		name      string
		shard     string
		shards    int
		shardsSet bool
		env       map[string]string
		i, n      int
		err       string
	}{
		{name: "none", i: 0, n: 1},
		{name: "flag", shard: "2/4", i: 2, n: 4},
		{name: "flag agrees with --shards", shard: "1/2", shards: 2, shardsSet: true, i: 1, n: 2},
		{name: "flag disagrees", shard: "1/2", shards: 3, shardsSet: true, err: "disagree"},
		{name: "index too big", shard: "4/4", err: "0 <= i < n"},
		{name: "malformed", shard: "1:4", err: "want i/n"},
		{name: "indexed job", shards: 5, shardsSet: true, env: map[string]string{"JOB_COMPLETION_INDEX": "3"}, i: 3, n: 5},
		{name: "indexed job without --shards", env: map[string]string{"JOB_COMPLETION_INDEX": "3"}, err: "--shards"},
		{name: "indexed job out of range", shards: 2, shardsSet: true, env: map[string]string{"JOB_COMPLETION_INDEX": "2"}, err: "JOB_COMPLETION_INDEX=2"},
		{name: "slurm", env: map[string]string{"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "4"}, i: 1, n: 4},
		{name: "slurm from 1", env: map[string]string{"SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_COUNT": "4"}, i: 3, n: 4},
		{name: "slurm with --shards", shards: 8, shardsSet: true, env: map[string]string{"SLURM_ARRAY_TASK_ID": "7"}, i: 7, n: 8},
		{name: "slurm without count", env: map[string]string{"SLURM_ARRAY_TASK_ID": "1"}, err: "SLURM_ARRAY_TASK_COUNT"},
		{name: "slurm bad id", env: map[string]string{"SLURM_ARRAY_TASK_ID": "x", "SLURM_ARRAY_TASK_COUNT": "2"}, err: "not an integer"},
		{name: "slurm sparse array", env: map[string]string{"SLURM_ARRAY_TASK_ID": "9", "SLURM_ARRAY_TASK_COUNT": "4"}, err: "contiguous"},
		{name: "flag beats environment", shard: "0/2", env: map[string]string{"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "2"}, i: 0, n: 2},
		{name: "--shards without index", shards: 3, shardsSet: true, err: "without a shard index"},
		{name: "--shards 0", shards: 0, shardsSet: true, err: "at least 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			i, n, err := ResolveShard(tc.shard, tc.shards, tc.shardsSet, func(k string) string { return tc.env[k] })
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("error = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || i != tc.i || n != tc.n {
				t.Errorf("= %d/%d, %v; want %d/%d", i, n, err, tc.i, tc.n)
			}
		})
	}
}
