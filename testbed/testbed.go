package testbed

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// NetnsDir is where named network namespaces are bind-mounted (as by
// iproute2: `ip netns list` shows them).
const NetnsDir = "/run/netns"

// MarkerEnv is set in the environment of every process a testbed starts, to
// the testbed's prefix, so that Down finds its processes even without the
// state file.
const MarkerEnv = "LVSLAB_TESTBED"

// Testbed is a testbed that is up: its namespaces, links and processes.
// Its methods are safe for concurrent use.
type Testbed struct {
	RunDir   string
	Topology Topology // resolved, with its prefix
	Layout   Layout

	mu    sync.Mutex
	state *State
	procs []*Proc
}

// Prefix is the testbed's name prefix.
func (tb *Testbed) Prefix() string { return tb.Topology.Prefix }

// Proc is a process started in a testbed namespace. It leads its own
// process group, so Stop and Down signal its children too.
type Proc struct {
	PID  int
	NS   string
	Argv []string
	Log  string // its standard output and error

	start uint64
	done  chan struct{}
	err   error
}

// Wait waits for the process to end and returns how it ended.
func (p *Proc) Wait() error {
	<-p.done
	return p.err
}

// Done is closed when the process has ended (and been reaped).
func (p *Proc) Done() <-chan struct{} { return p.done }

// Grace is how long Down waits after SIGTERM before it sends SIGKILL.
var Grace = 2 * time.Second

// Removed is what Down removed.
type Removed struct {
	Prefixes   []string
	Procs      []int    // PIDs signalled
	Namespaces []string // namespaces deleted
	Links      []string // links deleted from the root namespace (normally none)

	// Orphans are testbeds left alone: found on the machine without a run
	// directory where down looked, to be removed by prefix.
	Orphans []string
}

// Empty reports whether nothing was removed.
func (r *Removed) Empty() bool {
	return len(r.Procs) == 0 && len(r.Namespaces) == 0 && len(r.Links) == 0
}

// Report is the state of a testbed as found on the machine.
type Report struct {
	RunDir     string       `json:"run_dir,omitempty"` // empty: found by prefix only
	Prefix     string       `json:"prefix"`
	Name       string       `json:"name,omitempty"`
	Mode       Mode         `json:"mode,omitempty"`
	VIP        string       `json:"vip,omitempty"`
	Ready      bool         `json:"ready"` // Up finished (false: being built, or it crashed)
	Created    time.Time    `json:"created,omitzero"`
	Namespaces []NSReport   `json:"namespaces"`
	Procs      []ProcReport `json:"procs,omitempty"`
}

// NSReport is one namespace of a testbed.
type NSReport struct {
	Name       string       `json:"name"`
	Exists     bool         `json:"exists"`
	Links      []LinkReport `json:"links,omitempty"`
	Routes     []string     `json:"routes,omitempty"`
	Neighbours []string     `json:"neighbours,omitempty"` // permanent entries
}

// LinkReport is one link of a namespace.
type LinkReport struct {
	Name     string    `json:"name"`
	Kind     string    `json:"kind"`
	Up       bool      `json:"up"`
	MTU      int       `json:"mtu"`
	MAC      string    `json:"mac,omitempty"`
	Master   string    `json:"master,omitempty"`
	Addrs    []string  `json:"addrs,omitempty"`
	Offloads *Offloads `json:"offloads,omitempty"` // nil for lo
}

// ProcReport is one recorded process.
type ProcReport struct {
	PID   int      `json:"pid"`
	NS    string   `json:"ns"`
	Argv  []string `json:"argv"`
	Log   string   `json:"log,omitempty"`
	Alive bool     `json:"alive"`
}

// RunDirs lists the run directories under root that hold a state file.
func RunDirs(root string) ([]string, error) {
	entries, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("testbed: %w", err)
	}
	var dirs []string
	for _, e := range entries {
		dir := filepath.Join(root, e.Name())
		if _, err := os.Stat(filepath.Join(dir, StateFile)); err == nil && e.IsDir() {
			dirs = append(dirs, dir)
		}
	}
	return dirs, nil
}

// String is the process's command line, shell-like.
func (p ProcReport) String() string { return strings.Join(p.Argv, " ") }
func (o Offloads) String() string {
	onOff := func(b bool) string {
		if b {
			return "on"
		}
		return "off"
	}
	return fmt.Sprintf("tx %s tso %s gso %s gro %s", onOff(o.TX), onOff(o.TSO), onOff(o.GSO), onOff(o.GRO))
}
