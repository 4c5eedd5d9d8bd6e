package testbed

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Down removes the testbed recorded in runDir: it stops its processes
// (SIGTERM, SIGKILL after Grace) and deletes its namespaces, which deletes
// their links. It works from the state file alone, after a crash or kill -9
// of the process that made the testbed, and also removes anything else that
// carries the testbed's prefix. Down is idempotent: a run directory without
// a state file is nothing to do. On success it deletes the state file, and
// the run directory if nothing else (such as a process log) is in it.
func Down(runDir string) (*Removed, error) {
	st, err := LoadState(runDir)
	if errors.Is(err, ErrNoState) {
		return &Removed{}, nil
	}
	if err != nil {
		return nil, err
	}
	r, err := down([]string{st.Prefix}, st.Namespaces, st.Procs)
	if err != nil {
		return r, err
	}
	if err := os.Remove(filepath.Join(runDir, StateFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return r, fmt.Errorf("testbed: %w", err)
	}
	os.Remove(runDir) // only if empty: process logs stay
	return r, nil
}

// DownPrefix removes every testbed whose prefix matches the glob pattern
// (path.Match; "*" is every testbed), found by its namespaces, its root
// namespace links and its processes' MarkerEnv, without any run directory.
func DownPrefix(pattern string) (*Removed, error) {
	if _, err := path.Match(pattern, ""); err != nil {
		return nil, fmt.Errorf("testbed: prefix pattern %q: %w", pattern, err)
	}
	prefixes, err := Prefixes()
	if err != nil {
		return nil, err
	}
	var match []string
	for _, p := range prefixes {
		if ok, _ := path.Match(pattern, p); ok {
			match = append(match, p)
		}
	}
	return down(match, nil, nil)
}

// Prefixes lists the prefixes of the testbeds present on the machine: in
// namespace names, names of bridges and bridge ports in the root namespace
// (a testbed makes none there, but Down would remove them), and process
// markers.
func Prefixes() ([]string, error) {
	seen := map[string]bool{}
	names, err := listNS()
	if err != nil {
		return nil, fmt.Errorf("testbed: %w", err)
	}
	for _, ns := range names {
		if p, _, ok := SplitNS(ns); ok {
			seen[p] = true
		}
	}
	links, err := retryDump(netlink.LinkList)
	if err != nil {
		return nil, fmt.Errorf("testbed: listing links: %w", err)
	}
	for _, l := range links {
		if p, _, ok := SplitLink(l.Attrs().Name); ok {
			seen[p] = true
		}
	}
	for _, pid := range pids() {
		if m, ok := procMarker(pid); ok && ValidPrefix(m) == nil {
			seen[m] = true
		}
	}
	return sortedKeys(seen), nil
}

// victim is a process to stop.
type victim struct {
	pid   int
	start uint64 // 0: not checked
	group bool   // it leads a process group (Start's processes)
}

func (v victim) alive() bool {
	start, state, err := procStat(v.pid)
	return err == nil && (v.start == 0 || start == v.start) && state != 'Z' && state != 'X'
}

func (v victim) signal(sig unix.Signal) {
	if !v.alive() {
		return
	}
	if v.group {
		unix.Kill(-v.pid, sig)
	}
	unix.Kill(v.pid, sig)
}

// down stops the processes and deletes the namespaces and root links of
// the given prefixes; known lists what a state file recorded.
func down(prefixes, known []string, procs []ProcRecord) (*Removed, error) {
	r := &Removed{Prefixes: prefixes}
	owns := func(name string) bool {
		p, _, ok := strings.Cut(name, "-")
		return ok && slices.Contains(prefixes, p)
	}
	namespaces := slices.Clone(known)
	names, err := listNS()
	if err != nil {
		return r, fmt.Errorf("testbed: %w", err)
	}
	for _, ns := range names {
		if _, _, ok := SplitNS(ns); ok && owns(ns) && !slices.Contains(namespaces, ns) {
			namespaces = append(namespaces, ns)
		}
	}

	// 1. Processes: recorded ones, those inside the namespaces, and those
	// carrying a prefix's marker.
	var victims []victim
	for _, p := range procs {
		if p.PID > 0 {
			victims = append(victims, victim{pid: p.PID, start: p.Start, group: true})
		}
	}
	inodes := map[uint64]bool{}
	for _, ns := range namespaces {
		if ino := nsInode(ns); ino != 0 {
			inodes[ino] = true
		}
	}
	self := os.Getpid()
	for _, pid := range pids() {
		if pid == self || slices.ContainsFunc(victims, func(v victim) bool { return v.pid == pid }) {
			continue
		}
		m, marked := procMarker(pid)
		if inodes[procNetNS(pid)] || marked && slices.Contains(prefixes, m) {
			start, _, err := procStat(pid)
			if err == nil {
				victims = append(victims, victim{pid: pid, start: start})
			}
		}
	}
	if err := stop(victims, r); err != nil {
		return r, err
	}

	// 2. Namespaces (their links go with them) and root links.
	var errs []error
	for _, ns := range namespaces {
		if _, err := os.Lstat(filepath.Join(NetnsDir, ns)); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := deleteNS(ns); err != nil {
			errs = append(errs, err)
			continue
		}
		r.Namespaces = append(r.Namespaces, ns)
	}
	links, err := retryDump(netlink.LinkList)
	if err != nil {
		errs = append(errs, fmt.Errorf("listing links: %w", err))
	}
	for _, l := range links {
		if p, _, ok := SplitLink(l.Attrs().Name); ok && slices.Contains(prefixes, p) {
			if err := netlink.LinkDel(l); err != nil && !errors.Is(err, unix.ENODEV) {
				errs = append(errs, fmt.Errorf("deleting link %s: %w", l.Attrs().Name, err))
				continue
			}
			r.Links = append(r.Links, l.Attrs().Name)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return r, fmt.Errorf("testbed: %w", err)
	}
	return r, nil
}

// stop sends SIGTERM to the victims, SIGKILL after Grace to those left, and
// waits for them to be gone.
func stop(victims []victim, r *Removed) error {
	var live []victim
	for _, v := range victims {
		if v.alive() {
			live = append(live, v)
			r.Procs = append(r.Procs, v.pid)
		}
	}
	if len(live) == 0 {
		return nil
	}
	wait := func(d time.Duration) []victim {
		deadline := time.Now().Add(d)
		for {
			live = slices.DeleteFunc(live, func(v victim) bool { return !v.alive() })
			if len(live) == 0 || time.Now().After(deadline) {
				return live
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	for _, v := range live {
		v.signal(unix.SIGTERM)
	}
	if len(wait(Grace)) == 0 {
		return nil
	}
	for _, v := range live {
		v.signal(unix.SIGKILL)
	}
	if left := wait(5 * time.Second); len(left) > 0 {
		return fmt.Errorf("testbed: %d processes survive SIGKILL (first: %d)", len(left), left[0].pid)
	}
	return nil
}

// Down stops the testbed's processes, waits for them, and removes it (see
// the function Down).
func (tb *Testbed) Down() (*Removed, error) {
	tb.mu.Lock()
	procs := slices.Clone(tb.procs)
	tb.mu.Unlock()
	var errs []error
	for _, p := range procs {
		if err := p.Stop(Grace); err != nil {
			errs = append(errs, err)
		}
	}
	r, err := Down(tb.RunDir)
	return r, errors.Join(append(errs, err)...)
}
