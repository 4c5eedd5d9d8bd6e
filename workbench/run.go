package workbench

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/lvslab/lvslab/internal/atomicfile"
	"github.com/lvslab/lvslab/internal/stats"
	"github.com/lvslab/lvslab/internal/version"
	"github.com/lvslab/lvslab/sim"
	"github.com/lvslab/lvslab/traces"
)

// RunOptions configures Run.
type RunOptions struct {
	// Workers is the number of simulations run at once. Zero or less
	// selects runtime.GOMAXPROCS(0).
	Workers int

	// Dir, when not empty, is the sweep's output directory: a manifest,
	// one file per finished cell (cells/KEY.json) and, once every cell of
	// the manifest is there, the merged results.csv and results.json.
	// Cells whose file exists are not run again.
	Dir string

	// Shard and Shards select a slice of the cells: those whose Index mod
	// Shards equals Shard. Shards of 0 or 1 selects every cell.
	Shard, Shards int

	// Name and Experiment identify the sweep in its manifest (the
	// experiment's name and file, either may be empty), so that a later
	// Run of another sweep into Dir can name it.
	Name, Experiment string

	// Force lets Run take a Dir that holds the manifest of another sweep
	// (other cells): the manifest is replaced, and the other sweep's merged
	// results removed; its cell files stay. Without Force, Run returns an
	// *OtherSweepError and writes nothing.
	Force bool

	// Progress, if not nil, is called after every cell (run or skipped),
	// from one goroutine at a time.
	Progress func(done, total int, c Cell, skipped bool)

	// run replaces sim.Run in tests.
	run func(sim.Config, *traces.Workload) (*sim.Result, error)
}

// Outcome is what Run did.
type Outcome struct {
	Cells    []Cell        // the cells of this shard, by index
	Results  []*sim.Result // their results, in the same order
	Ran      int           // cells simulated now
	Skipped  int           // cells found finished in Dir
	Complete bool          // Dir holds every cell of the sweep
	Merged   []string      // merged files written in Dir (when Complete)
}

// Shard returns the cells of shard i of n (Index mod n == i).
func Shard(cells []Cell, i, n int) ([]Cell, error) {
	if n <= 1 {
		if i != 0 {
			return nil, fmt.Errorf("shard %d/%d: the shard index must be 0 when there is one shard", i, n)
		}
		return cells, nil
	}
	if i < 0 || i >= n {
		return nil, fmt.Errorf("shard %d/%d: the shard index must be in [0, %d)", i, n, n)
	}
	var out []Cell
	for _, c := range cells {
		if c.Index%n == i {
			out = append(out, c)
		}
	}
	return out, nil
}

// Run simulates cells (those of the selected shard) on a pool of workers.
// Results come back ordered by cell index whatever the number of workers.
// With a Dir it resumes: finished cells are read back instead of run, and
// every result, new or old, is the one decoded from its cell file, so that
// merged output is byte-identical however the sweep was split and resumed.
// The first failing cell stops the run; its error names the cell.
func Run(cells []Cell, workloads []*traces.Workload, o RunOptions) (*Outcome, error) {
	mine, err := Shard(cells, o.Shard, o.Shards)
	if err != nil {
		return nil, err
	}
	run := o.run
	if run == nil {
		run = sim.Run
	}
	var st *store
	if o.Dir != "" {
		st, err = openStore(o.Dir, newManifest(cells, o.Name, o.Experiment), o.Force)
		if err != nil {
			return nil, err
		}
	}
	out := &Outcome{Cells: mine, Results: make([]*sim.Result, len(mine))}
	done := 0
	report := func(c Cell, skipped bool) {
		done++
		if o.Progress != nil {
			o.Progress(done, len(mine), c, skipped)
		}
	}
	var todo []int // positions in mine
	for k, c := range mine {
		if st != nil {
			r, err := st.load(c.Key)
			if err == nil {
				out.Results[k] = r
				out.Skipped++
				report(c, true)
				continue
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return nil, err
			}
		}
		todo = append(todo, k)
	}

	workers := o.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, len(todo))
	type answer struct {
		k   int
		r   *sim.Result
		err error
	}
	jobs := make(chan int)
	answers := make(chan answer)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range jobs {
				c := mine[k]
				r, err := run(c.Config, workloads[c.Workload])
				if err == nil && st != nil {
					r, err = st.save(c.Key, r)
				}
				if err != nil {
					err = fmt.Errorf("cell %d (%s): %w", c.Index, c, err)
				}
				answers <- answer{k, r, err}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for _, k := range todo {
			select {
			case jobs <- k:
			case <-stop:
				return
			}
		}
	}()
	go func() {
		wg.Wait()
		close(answers)
	}()
	var firstErr error
	for a := range answers {
		if a.err != nil {
			if firstErr == nil {
				firstErr = a.err
				close(stop)
			}
			continue
		}
		out.Results[a.k] = a.r
		out.Ran++
		if firstErr == nil {
			report(mine[a.k], false)
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	if st != nil {
		out.Complete, out.Merged, err = st.mergeIfComplete()
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Layout of a sweep directory.
const (
	ManifestFile = "manifest.json"
	CellsDir     = "cells"
	MergedCSV    = "results.csv"  // merged results, one row per cell
	MergedJSON   = "results.json" // merged full results (series, CDFs)
)

// manifest lists a sweep's cells, so that merge can order them and find
// the missing ones, and names the sweep for people.
type manifest struct {
	Version    string          `json:"version"`
	Name       string          `json:"name,omitempty"`       // the experiment's name
	Experiment string          `json:"experiment,omitempty"` // the experiment file, as given
	Cells      []manifestEntry `json:"cells"`
}

// String names the sweep for people: `"fig6.5" (experiment
// examples/fig6.5.yaml, 64 cells from wrr n=1 trace=default, lvslab 0.1.0)`.
func (m *manifest) String() string {
	var parts []string
	if m.Experiment != "" {
		parts = append(parts, "experiment "+m.Experiment)
	}
	cells := fmt.Sprintf("%d cells", len(m.Cells))
	if len(m.Cells) > 0 {
		cells += " from " + m.Cells[0].String()
	}
	parts = append(parts, cells, "lvslab "+m.Version)
	s := "(" + strings.Join(parts, ", ") + ")"
	if m.Name != "" {
		s = strconv.Quote(m.Name) + " " + s
	}
	return s
}

// OtherSweepError is Run's error when its Dir holds the manifest of
// another sweep.
type OtherSweepError struct {
	Dir   string
	Other string // the other sweep, for people: `"name" (experiment file, cells, version)`
	Err   error  // why it is another sweep, or why its manifest is unreadable
}

func (e *OtherSweepError) Error() string {
	return fmt.Sprintf("%s holds another sweep %s: %v", e.Dir, e.Other, e.Err)
}

func (e *OtherSweepError) Unwrap() error { return e.Err }

type manifestEntry struct {
	Index  int      `json:"index"`
	Key    string   `json:"key"`
	Trace  string   `json:"trace"`
	Alg    string   `json:"alg"`
	Nodes  int      `json:"nodes"`
	Labels []string `json:"labels,omitempty"`
	// Replicate is the cell's replicate index (0: not a replicate).
	Replicate int `json:"replicate,omitempty"`
}

func (e manifestEntry) String() string {
	s := fmt.Sprintf("%s n=%d trace=%s", e.Alg, e.Nodes, e.Trace)
	if len(e.Labels) > 0 {
		s += " " + strings.Join(e.Labels, " ")
	}
	if e.Replicate > 0 {
		s += fmt.Sprintf(" replicate=%d", e.Replicate)
	}
	return s
}

// cellFile is the content of cells/KEY.json.
type cellFile struct {
	Key    string      `json:"key"`
	Result *sim.Result `json:"result"`
}

type store struct{ dir string }

func newManifest(cells []Cell, name, experiment string) *manifest {
	m := &manifest{Version: version.Version, Name: name, Experiment: experiment, Cells: make([]manifestEntry, len(cells))}
	for i, c := range cells {
		m.Cells[i] = manifestEntry{Index: c.Index, Key: c.Key, Trace: c.Trace,
			Alg: c.Config.Algorithm, Nodes: c.Config.Nodes, Labels: c.Labels, Replicate: c.Config.Replicate}
	}
	return m
}

// openStore prepares dir for the sweep of manifest m. A dir that holds the
// same sweep (the same cells, whatever its name) is resumed as it is; one
// that holds another sweep is an *OtherSweepError unless force, before
// anything is written.
func openStore(dir string, m *manifest, force bool) (*store, error) {
	s := &store{dir}
	old, err := readManifest(dir)
	same := err == nil && sameCells(old, m) // another shard, or a rerun: resume
	switch {
	case same, errors.Is(err, errNoManifest):
	case force:
		// Replace the other sweep: its merged results are not this one's.
		for _, f := range []string{MergedCSV, MergedJSON} {
			if err := os.Remove(filepath.Join(dir, f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, err
			}
		}
	case err == nil:
		why := fmt.Errorf("its cells differ from the %d of this sweep", len(m.Cells))
		if old.Version != m.Version {
			why = fmt.Errorf("it was run by lvslab %s, this is %s, and cell keys include the version", old.Version, m.Version)
		}
		return nil, &OtherSweepError{Dir: dir, Other: old.String(), Err: why}
	default:
		if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
			return nil, fmt.Errorf("sweep directory: %w", err) // not a directory, unreadable...
		}
		return nil, &OtherSweepError{Dir: dir, Other: "(its manifest is unreadable)", Err: err}
	}
	if err := os.MkdirAll(filepath.Join(dir, CellsDir), 0o755); err != nil {
		return nil, fmt.Errorf("sweep directory: %w", err)
	}
	if same {
		return s, nil // its manifest stays as the first run wrote it
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, ManifestFile), append(b, '\n')); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *store) cellPath(key string) string {
	return filepath.Join(s.dir, CellsDir, key+".json")
}

// load reads a finished cell. A missing cell is fs.ErrNotExist; a damaged
// one (a run killed while writing cannot leave one, but a disk can) is an
// error naming the file.
func (s *store) load(key string) (*sim.Result, error) {
	path := s.cellPath(key)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return decodeCell(path, key, b)
}

func decodeCell(path, key string, b []byte) (*sim.Result, error) {
	var cf cellFile
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&cf); err != nil {
		return nil, fmt.Errorf("%s: %w (delete it to run the cell again)", path, err)
	}
	if cf.Key != key || cf.Result == nil {
		return nil, fmt.Errorf("%s: not the result of cell %s (delete it to run the cell again)", path, key)
	}
	return cf.Result, nil
}

// save writes a finished cell and returns the result as decoded from the
// bytes written.
func (s *store) save(key string, r *sim.Result) (*sim.Result, error) {
	b, err := json.MarshalIndent(cellFile{Key: key, Result: r}, "", " ")
	if err != nil {
		return nil, fmt.Errorf("encoding result: %w", err)
	}
	b = append(b, '\n')
	path := s.cellPath(key)
	if err := atomicfile.WriteFile(path, b); err != nil {
		return nil, err
	}
	return decodeCell(path, key, b)
}

// errNoManifest is readManifest's error for a directory without one.
var errNoManifest = errors.New("not a sweep directory")

func readManifest(dir string) (*manifest, error) {
	path := filepath.Join(dir, ManifestFile)
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: no %s: %w", dir, ManifestFile, errNoManifest)
		}
		return nil, err
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &m, nil
}

// mergeIfComplete writes the merged files when every cell of the manifest
// is in the directory.
func (s *store) mergeIfComplete() (bool, []string, error) {
	rs, err := Merge([]string{s.dir})
	var missing *MissingError
	if errors.As(err, &missing) {
		return false, nil, nil
	}
	if err != nil {
		return false, nil, err
	}
	csvPath := filepath.Join(s.dir, MergedCSV)
	jsonPath := filepath.Join(s.dir, MergedJSON)
	if err := WriteResults(csvPath, "csv", rs); err != nil {
		return false, nil, err
	}
	if err := WriteResults(jsonPath, "json", rs); err != nil {
		return false, nil, err
	}
	return true, []string{csvPath, jsonPath}, nil
}

// WriteResults writes rs to path as "csv" or "json" (WriteCSV,
// WriteJSON), atomically.
func WriteResults(path, format string, rs []*sim.Result) error {
	var buf bytes.Buffer
	var err error
	switch format {
	case "csv":
		err = WriteCSV(&buf, rs, stats.DefaultLevel)
	case "json":
		err = WriteJSON(&buf, rs, stats.DefaultLevel)
	default:
		return fmt.Errorf("unknown results format %q (want csv or json)", format)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return atomicfile.WriteFile(path, buf.Bytes())
}

// MissingError is Merge's error when cells of the sweep have no result yet.
type MissingError struct {
	Missing int
	Total   int
	First   []string // the first few missing cells
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("%d of %d cells have no result yet (first: %s); run the remaining shards, or rerun the sweep to resume",
		e.Missing, e.Total, strings.Join(e.First, "; "))
}

// Merge reads sweep directories (the shards of one sweep, sharing a
// manifest) and returns every cell's result in cell order. All directories
// must hold the same sweep; a cell found in none is a *MissingError.
func Merge(dirs []string) ([]*sim.Result, error) {
	if len(dirs) == 0 {
		return nil, errors.New("merge: no directory")
	}
	var m *manifest
	for _, d := range dirs {
		dm, err := readManifest(d)
		if err != nil {
			return nil, err
		}
		if m == nil {
			m = dm
			continue
		}
		if !sameCells(m, dm) {
			return nil, fmt.Errorf("merge: %s holds a different sweep than %s (manifests differ)", d, dirs[0])
		}
	}
	entries := slices.Clone(m.Cells)
	slices.SortFunc(entries, func(a, b manifestEntry) int { return a.Index - b.Index })
	rs := make([]*sim.Result, 0, len(entries))
	missing := &MissingError{Total: len(entries)}
	for _, e := range entries {
		var r *sim.Result
		for _, d := range dirs {
			got, err := (&store{d}).load(e.Key)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, err
			}
			r = got
			break
		}
		if r == nil {
			missing.Missing++
			if len(missing.First) < 3 {
				missing.First = append(missing.First, e.String())
			}
			continue
		}
		rs = append(rs, r)
	}
	if missing.Missing > 0 {
		return nil, missing
	}
	return rs, nil
}

func sameCells(a, b *manifest) bool {
	if len(a.Cells) != len(b.Cells) {
		return false
	}
	for i := range a.Cells {
		if a.Cells[i].Key != b.Cells[i].Key || a.Cells[i].Index != b.Cells[i].Index {
			return false
		}
	}
	return true
}
