package main

// Bounds on the sizes a user can type. Every size either streams in
// bounded memory (trace synth, trace stats, trace convert, schedule) or is
// checked before anything is allocated: against a documented maximum
// (node counts, chbl replicas, distributors, sweep cells, hit-ratio sizes)
// or against the memory limit (--memory-limit) with an estimate of what it
// needs (synthetic traces, simulations, hit-ratio curves, synth targets).
// Errors name the flag or key and give the estimate.

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/lvslab/lvslab/sim"
	"github.com/lvslab/lvslab/traces"
	"github.com/lvslab/lvslab/workbench"
)

// memLimit is the value of --memory-limit: the memory a command may plan
// to use, 0 for no limit.
type memLimit struct {
	bytes int64
	set   bool   // given on the command line
	def   string // where the default comes from, for messages
}

func (m *memLimit) String() string {
	if m.bytes == 0 {
		return "0"
	}
	return traces.FormatBytes(m.bytes)
}

func (m *memLimit) Set(s string) error {
	if strings.EqualFold(strings.TrimSpace(s), "none") {
		s = "0"
	}
	n, err := traces.ParseBytes(s)
	if err != nil {
		return fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "traces: "))
	}
	m.bytes, m.set = n, true
	return nil
}

func (m *memLimit) Type() string { return "size" }

// check returns nil if need bytes fit the limit, else an error "what:
// needs ~N of memory (detail), above the memory limit".
func (m *memLimit) check(what string, need int64, detail string) error {
	if m == nil || m.bytes == 0 || need <= m.bytes {
		return nil
	}
	where := "--memory-limit"
	if !m.set {
		where = m.def + "; --memory-limit"
	}
	return fmt.Errorf("%s: needs ~%s of memory (%s), above the memory limit of %s (%s)",
		what, traces.HumanBytes(need), detail, traces.HumanBytes(m.bytes), where)
}

// addMemoryLimitFlag adds --memory-limit to root, for every command.
func addMemoryLimitFlag(root *cobra.Command) {
	m := &memLimit{}
	m.bytes, m.def = defaultMemoryLimit()
	root.PersistentFlags().Var(m, "memory-limit",
		`memory a command may plan to use, e.g. 16GiB: a size whose estimate is above it (a synthetic
trace, a simulation of many nodes) is refused before anything is allocated, and simulations run
fewer at a time to fit it; 0 for no limit. The default is half the machine's memory or cgroup
limit (8GiB if unknown)`)
}

// memoryLimit returns the --memory-limit of cmd (no limit for a command
// built without the root command).
func memoryLimit(cmd *cobra.Command) *memLimit {
	if f := cmd.Flag("memory-limit"); f != nil {
		if m, ok := f.Value.(*memLimit); ok {
			return m
		}
	}
	return &memLimit{}
}

// defaultMemoryLimit is half the memory of the machine (or of its cgroup,
// when that is smaller), rounded down to a MiB, or 8 GiB when it cannot be
// read.
var defaultMemoryLimit = sync.OnceValues(func() (int64, string) {
	total := machineMemory(os.ReadFile)
	if total <= 0 {
		return 8 << 30, "the default, the machine's memory being unknown"
	}
	return (total / 2) &^ (1<<20 - 1), "the default, half of the machine's " + traces.HumanBytes(total)
})

// machineMemory returns the memory available to this process: the
// smaller of the machine's (MemTotal in /proc/meminfo) and its cgroup's
// limit (v2 memory.max, v1 memory.limit_in_bytes), or 0 if unknown.
func machineMemory(read func(string) ([]byte, error)) int64 {
	var total int64
	if b, err := read("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) >= 2 && f[0] == "MemTotal:" {
				if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil && kb > 0 && kb < 1<<53 {
					total = kb << 10
				}
			}
		}
	}
	for _, p := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := read(p)
		if err != nil {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil || n <= 0 { // "max": no limit
			continue
		}
		if total == 0 || n < total {
			total = n // v1 reports "no limit" as a huge number, never below MemTotal
		}
	}
	return total
}

// synthModel builds the model of a "synth:PRESET[:REQUESTS]" trace spec
// (without "synth:"); REQUESTS overrides the preset's request count.
func synthModel(spec string) (traces.SynthModel, error) {
	name, count, hasCount := strings.Cut(spec, ":")
	m, err := traces.SynthPreset(name)
	if err != nil {
		return m, err
	}
	if hasCount {
		n, err := strconv.Atoi(count)
		if err != nil || n < 1 {
			return m, fmt.Errorf("request count %q: want a positive integer (synth:PRESET[:REQUESTS])", count)
		}
		m.Requests = n
	}
	m.Name = "synth:" + spec
	return m, nil
}

// checkSynthTrace refuses, before it is generated, a synthetic trace the
// simulator cannot index or whose workload and one simulation's response
// times do not fit the memory limit. what names the trace in errors
// ("--trace synth:thesis:1000000000"). Other specs pass.
func checkSynthTrace(what, spec string, lim *memLimit) error {
	rest, ok := strings.CutPrefix(spec, "synth:")
	if !ok {
		return nil
	}
	m, err := synthModel(rest)
	if err != nil {
		return nil // loadWorkload reports it
	}
	if m.Requests > sim.MaxRequests {
		return fmt.Errorf("%s: %d requests, at most %d (the simulator numbers requests with 32 bits)", what, m.Requests, sim.MaxRequests)
	}
	w := m.WorkloadBytes()
	r, err := sim.EstimateMemory(sim.Config{Nodes: 1, Algorithm: "wrr"}, m.Requests, 0, 0)
	if err != nil {
		return err
	}
	return lim.check(what, w+r.Responses, fmt.Sprintf("%d requests: ~%s for the workload and ~%s for each simulation's response times",
		m.Requests, traces.HumanBytes(w), traces.HumanBytes(r.Responses)))
}

// runBlame says which flag or key to name when a run does not fit.
type runBlame struct {
	nodes string // "--nodes " or "nodes: " (a file's key)
	trace string // "--trace " or "trace: "
}

// checkRunMemory estimates the memory of running cells on workloads
// (sim.EstimateMemory for each cell, traces.WorkloadBytes for the loaded
// workloads) and returns how many cells may run at once, and how many
// would without the limit: workers (0: all cores), at most one per cell.
// It runs fewer at once when the largest cells running together would
// not fit the memory limit; if even the largest alone does not fit, the
// error names what makes it large: the node count (cache tables) or the
// trace.
func checkRunMemory(cells []workbench.Cell, ws []*traces.Workload, workers int, lim *memLimit, b runBlame) (run, want int, err error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = max(min(workers, len(cells)), 1)
	if lim == nil || lim.bytes == 0 || len(cells) == 0 {
		return workers, workers, nil
	}
	var loaded int64
	for _, w := range ws {
		loaded += traces.WorkloadBytes(len(w.Requests), len(w.Objects), len(w.Clients))
	}
	type cellMem struct {
		c workbench.Cell
		m sim.MemoryEstimate
	}
	ms := make([]cellMem, len(cells))
	for i, c := range cells {
		w := ws[c.Workload]
		m, err := sim.EstimateMemory(c.Config, len(w.Requests), len(w.Objects), len(w.Clients))
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %w", c, err)
		}
		ms[i] = cellMem{c, m}
	}
	slices.SortStableFunc(ms, func(a, b cellMem) int { return cmp.Compare(b.m.Total(), a.m.Total()) })
	big, w := ms[0], ws[ms[0].c.Workload]
	need := loaded + big.m.Total()
	if need > lim.bytes {
		what := b.trace + big.c.Trace
		if big.m.Caches > big.m.Responses+big.m.Other {
			what = b.nodes + strconv.Itoa(big.c.Config.Nodes)
		}
		return 0, 0, lim.check(what, need, fmt.Sprintf("simulation %s: ~%s of cache tables for %d nodes × %d objects (%s), ~%s of response times for %d requests, ~%s else; and ~%s for the traces",
			big.c, traces.HumanBytes(big.m.Caches), big.c.Config.Nodes, len(w.Objects), big.c.Config.CachePolicy,
			traces.HumanBytes(big.m.Responses), len(w.Requests), traces.HumanBytes(big.m.Other), traces.HumanBytes(loaded)))
	}
	k := 1
	for k < workers && need+ms[k].m.Total() <= lim.bytes {
		need += ms[k].m.Total()
		k++
	}
	return k, workers, nil
}

// noteWorkers tells, on w, that fewer simulations run at once than asked.
func noteWorkers(w io.Writer, label string, got, want int, lim *memLimit) {
	if got < want {
		fmt.Fprintf(w, "%s: running simulations %d at a time instead of %d, to stay within the memory limit of %s (--memory-limit)\n",
			label, got, want, traces.HumanBytes(lim.bytes))
	}
}

// setIntAtMost is setInt with a documented maximum.
func setIntAtMost(f func(*sim.Config) *int, most int, why string) func(*sim.Config, string) error {
	set := setInt(f)
	return func(c *sim.Config, v string) error {
		if err := set(c, v); err != nil {
			return err
		}
		if *f(c) > most {
			return fmt.Errorf("%q: at most %d (%s)", strings.TrimSpace(v), most, why)
		}
		return nil
	}
}

// traceWhere names where trace i of the experiment was given, as a prefix
// of the trace: "exp.yaml: line 3: trace " or "--trace ".
func (e *experiment) traceWhere(i int) string {
	if i < len(e.traceLines) {
		return fmt.Sprintf("%s: line %d: trace ", e.File, e.traceLines[i])
	}
	return "--trace "
}

// memBlame says which flag or key checkRunMemory names.
func (e *experiment) memBlame() runBlame {
	b := runBlame{nodes: "--nodes ", trace: "--trace "}
	if e.nodesFrom == nodesFile {
		b.nodes = e.File + ": " + nodesFile
	}
	if e.traceLines != nil {
		b.trace = e.File + ": trace: "
	}
	return b
}

// checkHRCSizes refuses more distinct --sizes than traces.MaxHRCSizes.
func checkHRCSizes(caps []int64) error {
	distinct := slices.Compact(slices.Sorted(slices.Values(caps)))
	if len(distinct) > traces.MaxHRCSizes {
		return fmt.Errorf("--sizes: %d distinct cache sizes, at most %d", len(distinct), traces.MaxHRCSizes)
	}
	return nil
}

// checkHRCMemory refuses a hit-ratio curve whose tables (traces.HRCBytes),
// with the workload already loaded, do not fit the memory limit.
func checkHRCMemory(w *traces.Workload, caps []int64, lim *memLimit) error {
	k := len(slices.Compact(slices.Sorted(slices.Values(caps))))
	h := traces.HRCBytes(len(w.Objects), k)
	loaded := traces.WorkloadBytes(len(w.Requests), len(w.Objects), len(w.Clients))
	return lim.check("--sizes", h+loaded, fmt.Sprintf("~%s for %d sizes × %d objects, ~%s for the trace",
		traces.HumanBytes(h), k, len(w.Objects), traces.HumanBytes(loaded)))
}
