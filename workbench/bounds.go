package workbench

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

	"github.com/lvslab/lvslab/experiment"
	"github.com/lvslab/lvslab/sim"
	"github.com/lvslab/lvslab/traces"
)

// MemLimit is the value of --memory-limit: the memory a command may plan
// to use, 0 for no limit. It is a flag value (Set, String, Type); a nil
// *MemLimit is no limit.
type MemLimit struct {
	Bytes   int64
	Given   bool   // given on the command line
	Default string // where the default comes from, for messages
}

func (m *MemLimit) String() string {
	if m.Bytes == 0 {
		return "0"
	}
	return traces.FormatBytes(m.Bytes)
}

// Set reads a size ("16GiB"); "0" and "none" are no limit.
func (m *MemLimit) Set(s string) error {
	if strings.EqualFold(strings.TrimSpace(s), "none") {
		s = "0"
	}
	n, err := traces.ParseBytes(s)
	if err != nil {
		return fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "traces: "))
	}
	m.Bytes, m.Given = n, true
	return nil
}

// Type names the flag's kind in help.
func (m *MemLimit) Type() string { return "size" }

// Check returns nil if need bytes fit the limit, else an error "what:
// needs ~N of memory (detail), above the memory limit".
func (m *MemLimit) Check(what string, need int64, detail string) error {
	if m == nil || m.Bytes == 0 || need <= m.Bytes {
		return nil
	}
	where := "--memory-limit"
	if !m.Given {
		where = m.Default + "; --memory-limit"
	}
	return fmt.Errorf("%s: needs ~%s of memory (%s), above the memory limit of %s (%s)",
		what, traces.HumanBytes(need), detail, traces.HumanBytes(m.Bytes), where)
}

// DefaultMemLimit returns the default memory limit: half the memory of
// the machine (or of its cgroup, when that is smaller), rounded down to a
// MiB, or 8 GiB when it cannot be read.
func DefaultMemLimit() *MemLimit {
	b, def := defaultMemoryLimit()
	return &MemLimit{Bytes: b, Default: def}
}

var defaultMemoryLimit = sync.OnceValues(func() (int64, string) {
	total := MachineMemory(os.ReadFile)
	if total <= 0 {
		return 8 << 30, "the default, the machine's memory being unknown"
	}
	return (total / 2) &^ (1<<20 - 1), "the default, half of the machine's " + traces.HumanBytes(total)
})

// MachineMemory returns the memory available to this process: the
// smaller of the machine's (MemTotal in /proc/meminfo) and its cgroup's
// limit (v2 memory.max, v1 memory.limit_in_bytes), or 0 if unknown. read
// reads a file (os.ReadFile).
func MachineMemory(read func(string) ([]byte, error)) int64 {
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

// CheckSynthTrace refuses, before it is generated, a synthetic trace the
// simulator cannot index or whose workload and one simulation's response
// times do not fit the memory limit. what names the trace in errors
// ("--trace synth:thesis:1000000000"). Other specs pass.
func CheckSynthTrace(what, spec string, lim *MemLimit) error {
	rest, ok := strings.CutPrefix(spec, "synth:")
	if !ok {
		return nil
	}
	m, err := experiment.SynthModel(rest)
	if err != nil {
		return nil // loading reports it
	}
	if m.Requests > sim.MaxRequests {
		return fmt.Errorf("%s: %d requests, at most %d (the simulator numbers requests with 32 bits)", what, m.Requests, sim.MaxRequests)
	}
	w := m.WorkloadBytes()
	r, err := sim.EstimateMemory(sim.Config{Nodes: 1, Algorithm: "wrr"}, m.Requests, 0, 0)
	if err != nil {
		return err
	}
	return lim.Check(what, w+r.Responses, fmt.Sprintf("%d requests: ~%s for the workload and ~%s for each simulation's response times",
		m.Requests, traces.HumanBytes(w), traces.HumanBytes(r.Responses)))
}

// RunBlame says which flag or key to name when a run does not fit.
type RunBlame struct {
	Nodes string // "--nodes " or "FILE: nodes: " (a file's key)
	Trace string // "--trace " or "FILE: trace: "
}

// FlagBlame names the --nodes and --trace flags.
var FlagBlame = RunBlame{Nodes: "--nodes ", Trace: "--trace "}

// ExperimentBlame names where e gave its node counts and traces.
func ExperimentBlame(e *experiment.Experiment) RunBlame {
	return RunBlame{Nodes: e.NodesWhere(), Trace: e.TracesWhere()}
}

// CheckRunMemory estimates the memory of running cells on workloads
// (sim.EstimateMemory for each cell, traces.WorkloadBytes for the loaded
// workloads) and returns how many cells may run at once, and how many
// would without the limit: workers (0: all cores), at most one per cell.
// It runs fewer at once when the largest cells running together would
// not fit the memory limit; if even the largest alone does not fit, the
// error names what makes it large: the node count (cache tables) or the
// trace.
func CheckRunMemory(cells []Cell, ws []*traces.Workload, workers int, lim *MemLimit, b RunBlame) (run, want int, err error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = max(min(workers, len(cells)), 1)
	if lim == nil || lim.Bytes == 0 || len(cells) == 0 {
		return workers, workers, nil
	}
	var loaded int64
	for _, w := range ws {
		loaded += traces.WorkloadBytes(len(w.Requests), len(w.Objects), len(w.Clients))
	}
	type cellMem struct {
		c Cell
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
	if need > lim.Bytes {
		what := b.Trace + big.c.Trace
		if big.m.Caches > big.m.Responses+big.m.Other {
			what = b.Nodes + strconv.Itoa(big.c.Config.Nodes)
		}
		return 0, 0, lim.Check(what, need, fmt.Sprintf("simulation %s: ~%s of cache tables for %d nodes × %d objects (%s), ~%s of response times for %d requests, ~%s else; and ~%s for the traces",
			big.c, traces.HumanBytes(big.m.Caches), big.c.Config.Nodes, len(w.Objects), big.c.Config.CachePolicy,
			traces.HumanBytes(big.m.Responses), len(w.Requests), traces.HumanBytes(big.m.Other), traces.HumanBytes(loaded)))
	}
	k := 1
	for k < workers && need+ms[k].m.Total() <= lim.Bytes {
		need += ms[k].m.Total()
		k++
	}
	return k, workers, nil
}

// NoteWorkers tells, on w, that fewer simulations run at once than asked.
func NoteWorkers(w io.Writer, label string, got, want int, lim *MemLimit) {
	if got < want {
		fmt.Fprintf(w, "%s: running simulations %d at a time instead of %d, to stay within the memory limit of %s (--memory-limit)\n",
			label, got, want, traces.HumanBytes(lim.Bytes))
	}
}

// CheckHRCSizes refuses more distinct --sizes than traces.MaxHRCSizes.
func CheckHRCSizes(caps []int64) error {
	distinct := slices.Compact(slices.Sorted(slices.Values(caps)))
	if len(distinct) > traces.MaxHRCSizes {
		return fmt.Errorf("--sizes: %d distinct cache sizes, at most %d", len(distinct), traces.MaxHRCSizes)
	}
	return nil
}

// CheckHRCMemory refuses a hit-ratio curve whose tables (traces.HRCBytes),
// with the workload already loaded, do not fit the memory limit.
func CheckHRCMemory(w *traces.Workload, caps []int64, lim *MemLimit) error {
	k := len(slices.Compact(slices.Sorted(slices.Values(caps))))
	h := traces.HRCBytes(len(w.Objects), k)
	loaded := traces.WorkloadBytes(len(w.Requests), len(w.Objects), len(w.Clients))
	return lim.Check("--sizes", h+loaded, fmt.Sprintf("~%s for %d sizes × %d objects, ~%s for the trace",
		traces.HumanBytes(h), k, len(w.Objects), traces.HumanBytes(loaded)))
}
