package workbench

import (
	"fmt"
	"strconv"
	"strings"
)

// ResolveShard returns the shard index and count from --shard ("i/n"),
// or from the batch system's environment, read with getenv: a Kubernetes
// Indexed Job's JOB_COMPLETION_INDEX (with --shards n, shardsSet when the
// flag was given), or a Slurm array's SLURM_ARRAY_TASK_ID (minus
// SLURM_ARRAY_TASK_MIN) and SLURM_ARRAY_TASK_COUNT. Without any, the
// sweep is one shard.
func ResolveShard(shard string, shards int, shardsSet bool, getenv func(string) string) (int, int, error) {
	if shardsSet && shards < 1 {
		return 0, 0, fmt.Errorf("--shards %d: want at least 1", shards)
	}
	if shard != "" {
		a, b, ok := strings.Cut(shard, "/")
		i, err1 := strconv.Atoi(strings.TrimSpace(a))
		n, err2 := strconv.Atoi(strings.TrimSpace(b))
		if !ok || err1 != nil || err2 != nil {
			return 0, 0, fmt.Errorf("--shard %q: want i/n, e.g. 0/4", shard)
		}
		if n < 1 || i < 0 || i >= n {
			return 0, 0, fmt.Errorf("--shard %q: want 0 <= i < n", shard)
		}
		if shardsSet && shards != n {
			return 0, 0, fmt.Errorf("--shard %q and --shards %d disagree", shard, shards)
		}
		return i, n, nil
	}
	envInt := func(name string) (int, bool, error) {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			return 0, false, nil
		}
		x, err := strconv.Atoi(v)
		if err != nil {
			return 0, true, fmt.Errorf("%s=%q is not an integer", name, v)
		}
		return x, true, nil
	}
	if idx, ok, err := envInt("JOB_COMPLETION_INDEX"); err != nil {
		return 0, 0, err
	} else if ok {
		if !shardsSet {
			return 0, 0, fmt.Errorf("JOB_COMPLETION_INDEX=%d is set: give the number of shards with --shards (the Job's completions)", idx)
		}
		if idx < 0 || idx >= shards {
			return 0, 0, fmt.Errorf("JOB_COMPLETION_INDEX=%d: want 0 <= index < --shards %d", idx, shards)
		}
		return idx, shards, nil
	}
	if id, ok, err := envInt("SLURM_ARRAY_TASK_ID"); err != nil {
		return 0, 0, err
	} else if ok {
		lo, _, err := envInt("SLURM_ARRAY_TASK_MIN")
		if err != nil {
			return 0, 0, err
		}
		n := shards
		if !shardsSet {
			count, ok, err := envInt("SLURM_ARRAY_TASK_COUNT")
			if err != nil {
				return 0, 0, err
			}
			if !ok {
				return 0, 0, fmt.Errorf("SLURM_ARRAY_TASK_ID=%d is set but not SLURM_ARRAY_TASK_COUNT: give --shards", id)
			}
			n = count
		}
		i := id - lo
		if n < 1 || i < 0 || i >= n {
			return 0, 0, fmt.Errorf("SLURM_ARRAY_TASK_ID=%d (min %d): shard %d is not in [0, %d); use a contiguous array such as --array=0-%d", id, lo, i, n, max(n-1, 0))
		}
		return i, n, nil
	}
	if shardsSet && shards > 1 {
		return 0, 0, fmt.Errorf("--shards %d without a shard index: give --shard i/%d, or run under a Slurm array or an Indexed Job", shards, shards)
	}
	return 0, 1, nil
}
