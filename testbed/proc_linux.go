package testbed

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Start starts argv in the namespace of node ("dir", "rs1", "cl1" or a full
// namespace name), with standard output and error appended to logfile
// (relative to the run directory; empty: discarded). The process gets
// MarkerEnv=<prefix> in its environment and its own process group; it is
// recorded in the state file before and after it starts, so Down stops it
// even if this process dies. A goroutine reaps it; Wait returns its end.
func (tb *Testbed) Start(node string, argv []string, logfile string) (*Proc, error) {
	n, ok := tb.Layout.Node(node)
	if !ok {
		return nil, fmt.Errorf("testbed %s: no node %q", tb.Prefix(), node)
	}
	if len(argv) == 0 {
		return nil, errors.New("testbed: Start: empty command")
	}
	out := os.DevNull
	if logfile != "" {
		out = logfile
		if !filepath.IsAbs(out) {
			out = filepath.Join(tb.RunDir, out)
		}
	}
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("testbed: %w", err)
	}
	defer f.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	if cmd.Err != nil {
		return nil, fmt.Errorf("testbed: %w", cmd.Err)
	}
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), MarkerEnv+"="+tb.Prefix())
	// No Pdeathsig: it would fire when the starting thread ends, at once.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}

	rec := ProcRecord{NS: n.NS, Argv: argv, Log: logfile}
	tb.mu.Lock()
	defer tb.mu.Unlock()
	i := len(tb.state.Procs)
	tb.state.Procs = append(tb.state.Procs, rec)
	if err := tb.state.save(tb.RunDir); err != nil {
		return nil, err
	}
	// The child inherits the namespace of the thread that forks it.
	if err := inNS(n.NS, cmd.Start); err != nil {
		tb.state.Procs = tb.state.Procs[:i]
		return nil, errors.Join(fmt.Errorf("testbed: starting %q in %s: %w", argv[0], n.NS, err), tb.state.save(tb.RunDir))
	}
	p := &Proc{PID: cmd.Process.Pid, NS: n.NS, Argv: argv, Log: out, done: make(chan struct{})}
	p.start, _, _ = procStat(p.PID)
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	tb.state.Procs[i].PID, tb.state.Procs[i].Start = p.PID, p.start
	tb.procs = append(tb.procs, p)
	return p, tb.state.save(tb.RunDir)
}

// Stop sends SIGTERM to the process group, then SIGKILL after grace, and
// waits for the process to end.
func (p *Proc) Stop(grace time.Duration) error {
	select {
	case <-p.done:
		return nil
	default:
	}
	unix.Kill(-p.PID, unix.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
	}
	unix.Kill(-p.PID, unix.SIGKILL)
	select {
	case <-p.done:
		return nil
	case <-time.After(5 * time.Second):
		return fmt.Errorf("testbed: process %d (%s) survives SIGKILL", p.PID, p.Argv[0])
	}
}

// Do runs fn on an OS thread inside node's namespace and returns its
// error. Sockets fn opens stay in that namespace (a listener made there
// serves from any goroutine); goroutines fn starts do not run there.
func (tb *Testbed) Do(node string, fn func() error) error {
	n, ok := tb.Layout.Node(node)
	if !ok {
		return fmt.Errorf("testbed %s: no node %q", tb.Prefix(), node)
	}
	return inNS(n.NS, fn)
}
