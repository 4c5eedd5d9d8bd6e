package testbed

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// StateFile is the name of the state file in a run directory.
const StateFile = "state.json"

const stateFormat = 1

// State is what a run directory records about its testbed. It is an intent
// log: a namespace or process is recorded before it is created, so that Down
// after a crash or kill -9 removes everything that might exist.
type State struct {
	Format   int       `json:"format"`
	Prefix   string    `json:"prefix"`
	Created  time.Time `json:"created"`
	Topology Topology  `json:"topology"`
	// Namespaces are the namespaces that may exist, in creation order.
	Namespaces []string `json:"namespaces"`
	// Ready is set once Up has finished.
	Ready bool `json:"ready"`
	// Procs are the processes started in the testbed's namespaces.
	Procs []ProcRecord `json:"procs,omitempty"`
}

// ProcRecord identifies a started process. A PID alone could be recycled;
// with its start time (clock ticks after boot, /proc/PID/stat field 22) it
// names one process only.
type ProcRecord struct {
	NS    string   `json:"ns"`
	Argv  []string `json:"argv"`
	Log   string   `json:"log,omitempty"`
	PID   int      `json:"pid,omitempty"` // 0 while being started
	Start uint64   `json:"start,omitempty"`
}

// ErrNoState means a run directory holds no testbed state.
var ErrNoState = errors.New("testbed: no state file")

// LoadState reads the state file of a run directory. A missing file is
// ErrNoState.
func LoadState(runDir string) (*State, error) {
	path := filepath.Join(runDir, StateFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w in %s", ErrNoState, runDir)
	}
	if err != nil {
		return nil, fmt.Errorf("testbed: %w", err)
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("testbed: %s: %w", path, err)
	}
	if s.Format != stateFormat {
		return nil, fmt.Errorf("testbed: %s: format %d, want %d", path, s.Format, stateFormat)
	}
	if err := ValidPrefix(s.Prefix); err != nil {
		return nil, fmt.Errorf("testbed: %s: prefix %w", path, err)
	}
	for _, ns := range s.Namespaces {
		if p, _, ok := SplitNS(ns); !ok || p != s.Prefix {
			return nil, fmt.Errorf("testbed: %s: namespace %q does not belong to prefix %s", path, ns, s.Prefix)
		}
	}
	return &s, nil
}

// save writes the state atomically and durably: a crash leaves either the
// old file or the new one.
func (s *State) save(runDir string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(runDir, StateFile)
	tmp, err := os.CreateTemp(runDir, StateFile+".*")
	if err != nil {
		return fmt.Errorf("testbed: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("testbed: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("testbed: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("testbed: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("testbed: %w", err)
	}
	if d, err := os.Open(runDir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
