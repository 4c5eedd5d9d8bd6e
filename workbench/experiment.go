package workbench

import (
	"fmt"
	"io"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/experiment"
	"github.com/lvslab/lvslab/traces"
)

// Axis is one swept parameter of a Spec (experiment.Axis).
type Axis = experiment.Axis

// AxisValue is one value of an Axis (experiment.AxisValue).
type AxisValue = experiment.AxisValue

// MaxCells bounds the cells of a sweep (experiment.MaxCells).
const MaxCells = experiment.MaxCells

// PrepareOptions say how Prepare loads an experiment's traces.
type PrepareOptions struct {
	// Report receives the log lines that do not parse (nil: nowhere).
	Report io.Writer
	// Mem is the memory limit synthetic traces are checked against before
	// they are generated (nil: none).
	Mem *MemLimit
}

// Prepare turns an experiment into a sweep ready to run: it checks the
// failures against the node counts, loads the traces (a synthetic one only
// if it fits the memory limit), expands the cells and builds every cell's
// scheduler once, so that a bad option (a Maglev table size that is not
// one of the primes, say) fails before any simulation runs. An error about
// a configuration key names the flag or file line that set it.
func Prepare(e *experiment.Experiment, o PrepareOptions) (*Spec, []Cell, error) {
	s, err := ExperimentSpec(e, nil)
	if err != nil {
		return nil, nil, err
	}
	specs, index := e.TraceSpecs()
	for i, t := range specs {
		if err := CheckSynthTrace(e.TraceWhere(index[i])+t, t, o.Mem); err != nil {
			return nil, nil, err
		}
		w, err := experiment.LoadWorkload(t, e.Dir, experiment.LoadOptions{Strict: e.Strict, KeepDynamic: e.KeepDynamic, Report: o.Report})
		if err != nil {
			return nil, nil, err
		}
		s.Workloads = append(s.Workloads, w)
	}
	cs, err := s.Cells()
	if err != nil {
		return nil, nil, e.Blame(err)
	}
	for _, c := range cs {
		if _, err := algorithms.New(c.Config.Algorithm, c.Config.Options); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", c, err)
		}
	}
	return s, cs, nil
}

// ExperimentSpec is the sweep of an experiment run on workloads already
// loaded (one per trace): its base configuration, axes, schedulers and
// node counts, with the failures checked against the node counts.
func ExperimentSpec(e *experiment.Experiment, ws []*traces.Workload) (*Spec, error) {
	s := &Spec{Algorithms: e.AlgorithmNames(), Nodes: e.NodeCounts(), Workloads: ws}
	var err error
	if s.Base, s.Axes, err = e.Configs(); err != nil {
		return nil, err
	}
	if err := e.CheckFailureNodes(); err != nil {
		return nil, err
	}
	return s, nil
}
