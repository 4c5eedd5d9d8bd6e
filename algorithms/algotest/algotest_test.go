package algotest_test

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/algorithms/algotest"
)

// The suite must pass on correct schedulers: the references.
func TestRunReferences(t *testing.T) {
	for _, tc := range []struct {
		name string
		new  func() algorithms.Scheduler
	}{
		{"ref-rr", func() algorithms.Scheduler { return &algotest.RefRR{} }},
		{"ref-wrr", func() algorithms.Scheduler { return &algotest.RefWRR{} }},
		{"ref-lc", func() algorithms.Scheduler { return algotest.RefLC{} }},
		{"ref-wlc", func() algorithms.Scheduler { return algotest.RefWLC{} }},
		{"ref-sed", func() algorithms.Scheduler { return algotest.RefSED{} }},
		{"ref-nq", func() algorithms.Scheduler { return algotest.RefNQ{} }},
		{"ref-lblc", func() algorithms.Scheduler { return &algotest.RefLBLC{} }},
		{"ref-lblc-low", func() algorithms.Scheduler { return &algotest.RefLBLC{Low: 1, High: 2} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			algotest.Run(t, func() (algorithms.Scheduler, error) { return tc.new(), nil }, algotest.Steps(600))
		})
	}
}

// broken schedulers, each violating one rule; the suite must catch each.
// They are run in a child process (see TestBrokenChild) so that their
// failures do not fail this test binary.
var broken = map[string]struct {
	sched algorithms.Scheduler
	want  string // in the child's output
}{
	"ignores-usability": {&firstMember{}, "picked unusable server"},
	"non-member":        {fixed(424242), "not in the pool"},
	"foreign-error":     {&firstUsable{err: errors.New("boom")}, "neither ErrNoServer nor ErrBypass"},
	"always-refuses":    {fixedErr{algorithms.ErrNoServer}, "no request out of 20"},
	"panics":            {&firstUsable{panicOn: "/style.css"}, "panicked"},
	"writes-pool":       {&firstUsable{touch: true}, "modified the pool"},
	"writes-request":    {&firstUsable{rewrite: true}, "modified the request"},
	"shared-state":      {sharedRR{}, "side by side"},
	"sticky-map":        {&sticky{}, "picked unusable server"},
}

func TestRunCatchesBrokenSchedulers(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	for name, b := range broken {
		t.Run(name, func(t *testing.T) {
			out, err := child(t, "RUN:"+name)
			if err == nil {
				t.Fatalf("algotest.Run passed a scheduler that is %s; output:\n%s", name, out)
			}
			if !strings.Contains(out, b.want) {
				t.Fatalf("algotest.Run failed on %s, but without %q; output:\n%s", name, b.want, out)
			}
		})
	}
}

// RunConcurrent must pass correct schedulers, with the herding check
// where it applies.
func TestRunConcurrentReferences(t *testing.T) {
	for _, tc := range []struct {
		name      string
		new       func() algorithms.Scheduler
		noHerding bool
	}{
		{"ref-rr", func() algorithms.Scheduler { return &algotest.RefRR{} }, true},
		{"ref-wrr", func() algorithms.Scheduler { return &algotest.RefWRR{} }, true},
		{"ref-lc", func() algorithms.Scheduler { return algotest.RefLC{} }, true},
		{"ref-wlc", func() algorithms.Scheduler { return algotest.RefWLC{} }, true},
		{"ref-lblc", func() algorithms.Scheduler { return &algotest.RefLBLC{} }, true},
		{"first-usable", func() algorithms.Scheduler { return &firstUsable{} }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var opts []algotest.Option
			if tc.noHerding {
				opts = append(opts, algotest.NoHerding())
			}
			algotest.RunConcurrent(t, func() (algorithms.Scheduler, error) { return tc.new(), nil }, opts...)
		})
	}
}

// brokenHosts are RunConcurrent runs that must fail: a correct scheduler
// under a host that releases its lock between Schedule and Begin herds
// (every simultaneous request sees the same least-loaded server), and a
// scheduler that herds by itself, under a correct host.
var brokenHosts = map[string]struct {
	sched func() algorithms.Scheduler
	opts  []algotest.Option
	want  string
}{
	"split-host-wlc":    {func() algorithms.Scheduler { return algotest.RefWLC{} }, []algotest.Option{algotest.NoHerding(), algotest.SplitHost()}, "herding"},
	"split-host-lblc":   {func() algorithms.Scheduler { return &algotest.RefLBLC{} }, []algotest.Option{algotest.NoHerding(), algotest.SplitHost()}, "herding"},
	"first-usable":      {func() algorithms.Scheduler { return &firstUsable{} }, []algotest.Option{algotest.NoHerding()}, "herding"},
	"ignores-usability": {func() algorithms.Scheduler { return &firstMember{} }, nil, "unusable"},
	"foreign-error":     {func() algorithms.Scheduler { return &firstUsable{err: errors.New("boom")} }, nil, "neither ErrNoServer nor ErrBypass"},
}

func TestRunConcurrentCatchesBrokenHosts(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	for name, b := range brokenHosts {
		t.Run(name, func(t *testing.T) {
			out, err := child(t, "CONCURRENT:"+name)
			if err == nil {
				t.Fatalf("algotest.RunConcurrent passed %s; output:\n%s", name, out)
			}
			if !strings.Contains(out, b.want) {
				t.Fatalf("algotest.RunConcurrent failed on %s, but without %q; output:\n%s", name, b.want, out)
			}
		})
	}
}

// Compare must notice two schedulers that differ: LC ignores weights, WLC
// does not, so they part ways on a pool with unequal weights.
func TestCompareCatchesDifference(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process")
	}
	out, err := child(t, "COMPARE:lc-wlc")
	if err == nil {
		t.Fatalf("algotest.Compare passed LC against WLC; output:\n%s", out)
	}
	if !strings.Contains(out, "ref-lc answered") || !strings.Contains(out, "ref-wlc answered") {
		t.Fatalf("algotest.Compare failed without naming both answers; output:\n%s", out)
	}
}

func TestCompareSame(t *testing.T) {
	algotest.Compare(t,
		func() (algorithms.Scheduler, error) { return algotest.RefSED{}, nil },
		func() (algorithms.Scheduler, error) { return algotest.RefSED{}, nil })
}

func child(t *testing.T, what string) (string, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestBrokenChild$", "-test.count=1", "-algotest.seed=7")
	cmd.Env = append(os.Environ(), "ALGOTEST_CHILD="+what)
	out, err := cmd.CombinedOutput()
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("running the child test: %v", err)
		}
	}
	return string(out), err
}

// TestBrokenChild runs only in the child process started by child.
func TestBrokenChild(t *testing.T) {
	what := os.Getenv("ALGOTEST_CHILD")
	switch {
	case what == "":
		t.Skip("child process only")
	case strings.HasPrefix(what, "RUN:"):
		b := broken[strings.TrimPrefix(what, "RUN:")]
		if b.sched == nil {
			t.Fatalf("unknown broken scheduler %q", what)
		}
		algotest.Run(t, func() (algorithms.Scheduler, error) {
			if s, ok := b.sched.(interface{ fresh() algorithms.Scheduler }); ok {
				return s.fresh(), nil
			}
			return b.sched, nil
		})
	case strings.HasPrefix(what, "CONCURRENT:"):
		b, ok := brokenHosts[strings.TrimPrefix(what, "CONCURRENT:")]
		if !ok {
			t.Fatalf("unknown broken host %q", what)
		}
		algotest.RunConcurrent(t, func() (algorithms.Scheduler, error) { return b.sched(), nil }, b.opts...)
	case what == "COMPARE:lc-wlc":
		algotest.Compare(t,
			func() (algorithms.Scheduler, error) { return algotest.RefLC{}, nil },
			func() (algorithms.Scheduler, error) { return algotest.RefWLC{}, nil })
	default:
		t.Fatalf("unknown child task %q", what)
	}
}

// firstMember returns the first server of the pool, usable or not.
type firstMember struct{}

func (*firstMember) Name() string { return "first-member" }
func (*firstMember) Schedule(_ time.Duration, _ *algorithms.Request, p *algorithms.Pool) (algorithms.ServerID, error) {
	if p.Len() == 0 {
		return 0, algorithms.ErrNoServer
	}
	return p.At(0).ID, nil
}

type fixed algorithms.ServerID

func (fixed) Name() string { return "fixed" }
func (f fixed) Schedule(time.Duration, *algorithms.Request, *algorithms.Pool) (algorithms.ServerID, error) {
	return algorithms.ServerID(f), nil
}

type fixedErr struct{ err error }

func (fixedErr) Name() string { return "fixed-error" }
func (f fixedErr) Schedule(time.Duration, *algorithms.Request, *algorithms.Pool) (algorithms.ServerID, error) {
	return 0, f.err
}

// firstUsable is correct unless one of its faults is switched on.
type firstUsable struct {
	err     error  // returned instead of ErrNoServer
	panicOn string // key that makes it panic
	touch   bool   // writes to the pool
	rewrite bool   // writes to the request
}

func (*firstUsable) Name() string { return "first-usable" }
func (f *firstUsable) Schedule(_ time.Duration, r *algorithms.Request, p *algorithms.Pool) (algorithms.ServerID, error) {
	if f.panicOn != "" && r.Key == f.panicOn {
		panic("cannot handle " + r.Key)
	}
	if f.rewrite {
		r.Cost = 7
	}
	for i, s := range p.Servers() {
		if s.Usable() {
			if f.touch {
				p.At(i).Active++
			}
			return s.ID, nil
		}
	}
	if f.err != nil {
		return 0, f.err
	}
	return 0, algorithms.ErrNoServer
}

// sharedRR is a round-robin whose cursor is shared by every instance.
type sharedRR struct{}

var sharedCursor int

func (sharedRR) Name() string { return "shared-rr" }
func (sharedRR) Schedule(_ time.Duration, _ *algorithms.Request, p *algorithms.Pool) (algorithms.ServerID, error) {
	n := p.Len()
	for k := range n {
		if s := p.At((sharedCursor + k) % n); s.Usable() {
			sharedCursor = (sharedCursor + k + 1) % n
			return s.ID, nil
		}
	}
	return 0, algorithms.ErrNoServer
}

// sticky maps each key to the first server it got and never checks it again.
type sticky struct {
	m map[string]algorithms.ServerID
}

func (*sticky) fresh() algorithms.Scheduler { return &sticky{} }
func (*sticky) Name() string                { return "sticky" }
func (s *sticky) Schedule(_ time.Duration, r *algorithms.Request, p *algorithms.Pool) (algorithms.ServerID, error) {
	if s.m == nil {
		s.m = make(map[string]algorithms.ServerID)
	}
	if id, ok := s.m[r.Key]; ok && p.Get(id) != nil {
		return id, nil
	}
	for _, sv := range p.Servers() {
		if sv.Usable() {
			s.m[r.Key] = sv.ID
			return sv.ID, nil
		}
	}
	return 0, algorithms.ErrNoServer
}
