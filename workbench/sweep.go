package workbench

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/lvslab/lvslab/internal/version"
	"github.com/lvslab/lvslab/sim"
	"github.com/lvslab/lvslab/traces"
)

// Spec is a sweep: every combination of workload × axis values × algorithm
// × node count, on top of a base configuration.
type Spec struct {
	Base       sim.Config
	Workloads  []*traces.Workload
	Algorithms []string
	Nodes      []int
	Axes       []Axis
}

// Cell is one simulation of a sweep.
type Cell struct {
	Index    int        // position in the sweep; output is ordered by it
	Key      string     // stable hash of version, workload and resolved config
	Workload int        // index into Spec.Workloads
	Trace    string     // the workload's name
	Labels   []string   // the axis values' labels, in Spec.Axes order
	Config   sim.Config // resolved
}

// Cells expands the sweep in a fixed order: workloads, then axes (the first
// axis outermost), then algorithms, then node counts, then replicates
// (a configuration with Replicates > 1 is one cell per replicate
// 1..Replicates). Every configuration is
// resolved (sim.Config.Resolve), so an invalid one fails here, before any
// simulation runs; the error names the cell.
func (s *Spec) Cells() ([]Cell, error) {
	if len(s.Workloads) == 0 {
		return nil, errors.New("sweep: no trace")
	}
	if len(s.Algorithms) == 0 {
		return nil, errors.New("sweep: no algorithm")
	}
	if len(s.Nodes) == 0 {
		return nil, errors.New("sweep: no node count")
	}
	for _, a := range s.Axes {
		if len(a.Values) == 0 {
			return nil, fmt.Errorf("sweep: parameter %s has no value", a.Name)
		}
	}
	if _, err := CountCells(len(s.Workloads), s.Axes, len(s.Algorithms), len(s.Nodes)); err != nil {
		return nil, err
	}
	var cells []Cell
	for wi, w := range s.Workloads {
		if w == nil || len(w.Requests) == 0 {
			name := "(nil)"
			if w != nil {
				name = w.Name
			}
			return nil, fmt.Errorf("sweep: trace %s has no requests", name)
		}
		fp := Fingerprint(w)
		pos := make([]int, len(s.Axes)) // odometer over axis values
		for {
			base := s.Base
			labels := make([]string, len(s.Axes))
			for i, a := range s.Axes {
				v := a.Values[pos[i]]
				labels[i] = v.Label
				if v.Apply != nil {
					v.Apply(&base)
				}
			}
			for _, alg := range s.Algorithms {
				for _, n := range s.Nodes {
					cfg := base
					cfg.Algorithm = alg
					cfg.Nodes = n
					res, err := cfg.Resolve()
					if err != nil {
						return nil, fmt.Errorf("%s: %w", describeCell(w.Name, alg, n, s.Axes, labels), err)
					}
					// A cell of several replicates is one cell per
					// replicate, 1..Replicates (sim.Config.Replicate).
					first, last := 0, 0
					if res.Replicates > 1 {
						first, last = 1, res.Replicates
					}
					for k := first; k <= last; k++ {
						if len(cells) >= MaxCells {
							return nil, fmt.Errorf("sweep: more than %d cells with %d replicates each: run fewer replicates or sweep fewer values at once", MaxCells, res.Replicates)
						}
						rc := res
						rc.Replicate = k
						key, err := cellKey(fp, rc)
						if err != nil {
							return nil, err
						}
						cells = append(cells, Cell{
							Index: len(cells), Key: key, Workload: wi, Trace: w.Name,
							Labels: labels, Config: rc,
						})
					}
				}
			}
			// advance the odometer, last axis fastest
			i := len(pos) - 1
			for ; i >= 0; i-- {
				pos[i]++
				if pos[i] < len(s.Axes[i].Values) {
					break
				}
				pos[i] = 0
			}
			if i < 0 {
				break
			}
		}
	}
	return cells, nil
}

// CountCells returns the number of cells of a sweep over workloads
// traces, the axes, algorithms schedulers and nodes node counts; above
// MaxCells it is an error that names the factors. The count saturates at
// math.MaxInt64.
func CountCells(workloads int, axes []Axis, algorithms, nodes int) (int64, error) {
	factors := []string{fmt.Sprintf("%d traces", workloads)}
	n := int64(max(workloads, 0))
	mul := func(k int, what string) {
		factors = append(factors, fmt.Sprintf("%d %s", k, what))
		if k := int64(max(k, 0)); k != 0 && n > math.MaxInt64/k {
			n = math.MaxInt64
		} else {
			n *= k
		}
	}
	for _, a := range axes {
		mul(len(a.Values), a.Name+" values")
	}
	mul(algorithms, "schedulers")
	mul(nodes, "node counts")
	if n > MaxCells {
		return n, fmt.Errorf("sweep: %d cells (%s), at most %d: sweep fewer values at once, or split the study into several sweeps",
			n, strings.Join(factors, " × "), MaxCells)
	}
	return n, nil
}

func describeCell(trace, alg string, n int, axes []Axis, labels []string) string {
	parts := []string{"trace " + trace, "alg " + alg}
	if n > 0 { // 0: the nodes of the cluster's groups (an axis or the base)
		parts = append(parts, fmt.Sprintf("nodes %d", n))
	}
	for i, a := range axes {
		parts = append(parts, a.Name+" "+labels[i])
	}
	return strings.Join(parts, ", ")
}

// String names the cell for people: "wrr n=7 trace=x cache=8MiB".
func (c Cell) String() string {
	s := fmt.Sprintf("%s n=%d trace=%s", c.Config.Algorithm, c.Config.Nodes, c.Trace)
	if len(c.Labels) > 0 {
		s += " " + strings.Join(c.Labels, " ")
	}
	if c.Config.Replicate > 0 {
		s += fmt.Sprintf(" replicate=%d", c.Config.Replicate)
	}
	return s
}

// cellKey hashes what determines a cell's result: the lvslab version, the
// workload's content and the resolved configuration.
func cellKey(fingerprint string, cfg sim.Config) (string, error) {
	b, err := json.Marshal(struct {
		Version  string     `json:"version"`
		Workload string     `json:"workload"`
		Config   sim.Config `json:"config"`
	}{version.Version, fingerprint, cfg})
	if err != nil {
		return "", fmt.Errorf("sweep: hashing config: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12]), nil
}

// Fingerprint is a hash of a workload's content: its name, objects and
// requests. Two workloads with the same fingerprint simulate identically.
func Fingerprint(w *traces.Workload) string {
	h := sha256.New()
	var buf [8]byte
	put := func(v uint64) {
		binary.LittleEndian.PutUint64(buf[:], v)
		h.Write(buf[:])
	}
	str := func(s string) {
		put(uint64(len(s)))
		h.Write([]byte(s))
	}
	str(w.Name)
	put(uint64(len(w.Objects)))
	for _, o := range w.Objects {
		str(o.Target)
		put(uint64(o.Size))
	}
	put(uint64(len(w.Clients)))
	for _, c := range w.Clients {
		str(c)
	}
	put(uint64(len(w.Requests)))
	for _, r := range w.Requests {
		put(uint64(uint32(r.Object)))
		put(uint64(uint32(r.Client)))
		put(uint64(r.Time))
		if r.Dynamic {
			put(1)
		} else {
			put(0)
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}
