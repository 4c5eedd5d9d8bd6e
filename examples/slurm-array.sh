#!/usr/bin/env bash
# Run an lvslab sweep as a Slurm array job: each array task runs one shard
# (lvslab reads SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_MIN and
# SLURM_ARRAY_TASK_COUNT), all tasks write their cells into one shared
# output directory, and a dependent job merges them. Rerunning the array
# after a failure skips the cells already finished.
#
#   sbatch examples/slurm-array.sh                       # submits the shards
#   sbatch --dependency=afterok:JOBID --wrap "lvslab sweep merge sweep-out -o all.csv"
#
# The array must be contiguous (0-7 or 1-8); the shard count is the number
# of tasks. Each task uses all the cores it is given.
#SBATCH --job-name=lvslab-sweep
#SBATCH --array=0-7
#SBATCH --cpus-per-task=4
#SBATCH --mem=4G
#SBATCH --time=01:00:00
#SBATCH --output=lvslab-sweep-%A_%a.log
set -euo pipefail

EXPERIMENT=${EXPERIMENT:-examples/cache-sweep.yaml}
OUT=${OUT:-sweep-out}          # on a file system every node sees

# Progress goes to the log as a plain line every 30 s.
lvslab sweep -f "$EXPERIMENT" -o "$OUT" \
	--workers "${SLURM_CPUS_PER_TASK:-1}" --progress-every 30s

# The last task to finish also finds every cell present and writes
# $OUT/results.csv and $OUT/results.json itself; the merge job above is
# the explicit way, and also works when tasks wrote separate directories:
#   lvslab sweep merge shard-dir-0 shard-dir-1 ... -o all.csv
