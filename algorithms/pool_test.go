package algorithms

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

// poolStep is one host operation on server 1 of a test pool, and the
// server's state expected after it.
type poolStep struct {
	op   string // begin, end, adjust, thresholds, weight, down, load
	a, b int    // begin/end: a = cost; adjust: a, b = dActive, dInactive; thresholds: a, b = upper, lower; weight: a; down: a != 0

	err              bool // the operation must fail and change nothing
	active, inactive int
	over             bool
	gen              bool // the pool's generation must change
}

func (st poolStep) apply(p *Pool) error {
	switch st.op {
	case "begin":
		return p.Begin(1, st.a)
	case "end":
		return p.End(1, st.a)
	case "adjust":
		return p.Adjust(1, st.a, st.b)
	case "thresholds":
		return p.SetThresholds(1, st.a, st.b)
	case "weight":
		return p.SetWeight(1, st.a)
	case "down":
		return p.SetDown(1, st.a != 0)
	case "load":
		return p.SetLoad(1, float64(st.a))
	}
	return fmt.Errorf("unknown op %q", st.op)
}

// TestPoolCounters drives one server through sequences of counter updates
// and threshold changes and checks its counters, its OVERLOAD flag and the
// pool's generation after every step. The rules are IPVS's:
// ip_vs_bind_dest sets OVERLOAD when a new connection brings
// activeconns+inactconns to u_threshold; ip_vs_unbind_dest clears it below
// l_threshold, below 3/4 of u_threshold when l_threshold is 0, and at once
// when there is no threshold; set_tcp_state moves a connection between
// the counters without touching the flag (net/netfilter/ipvs/ip_vs_conn.c,
// ip_vs_proto_tcp.c). Every boundary is hit from both sides, so that
// changing any comparison of pool.go's rules fails a case.
func TestPoolCounters(t *testing.T) {
	tests := []struct {
		name   string
		server Server // ID 1; the pool also holds an idle server 2
		steps  []poolStep
	}{
		{
			name:   "upper threshold reached by Begin",
			server: Server{Weight: 1, UpperThreshold: 3},
			steps: []poolStep{
				{op: "begin", a: 1, active: 1},
				{op: "begin", a: 1, active: 2},
				{op: "begin", a: 1, active: 3, over: true, gen: true},
				{op: "begin", a: 1, active: 4, over: true},
			},
		},
		{
			name:   "a cost that jumps past the upper threshold",
			server: Server{Weight: 1, UpperThreshold: 3},
			steps: []poolStep{
				{op: "begin", a: 2, active: 2},
				{op: "begin", a: 2, active: 4, over: true, gen: true},
			},
		},
		{
			name:   "no upper threshold: never overloaded",
			server: Server{Weight: 1},
			steps: []poolStep{
				{op: "begin", a: 1, active: 1},
				{op: "begin", a: 1000, active: 1001},
				{op: "adjust", a: 0, b: 5, active: 1001, inactive: 5},
			},
		},
		{
			name:   "lower threshold 0: cleared below 3/4 of the upper",
			server: Server{Weight: 1, UpperThreshold: 4},
			steps: []poolStep{
				{op: "begin", a: 4, active: 4, over: true, gen: true},
				{op: "end", a: 1, active: 3, over: true}, // 3*4 = 4*3: not below
				{op: "end", a: 1, active: 2, gen: true},
				{op: "begin", a: 1, active: 3},
				{op: "begin", a: 1, active: 4, over: true, gen: true},
			},
		},
		{
			name:   "3/4 of an upper threshold that is not a multiple of 4",
			server: Server{Weight: 1, UpperThreshold: 10},
			steps: []poolStep{
				{op: "begin", a: 10, active: 10, over: true, gen: true},
				{op: "end", a: 2, active: 8, over: true},
				{op: "end", a: 1, active: 7, gen: true}, // 28 < 30
			},
		},
		{
			name:   "lower threshold: hysteresis",
			server: Server{Weight: 1, UpperThreshold: 4, LowerThreshold: 2},
			steps: []poolStep{
				{op: "begin", a: 4, active: 4, over: true, gen: true},
				{op: "end", a: 1, active: 3, over: true},
				{op: "begin", a: 1, active: 4, over: true}, // growing below upper keeps it
				{op: "end", a: 2, active: 2, over: true},   // at the lower threshold: not below
				{op: "begin", a: 1, active: 3, over: true},
				{op: "end", a: 2, active: 1, gen: true},
				{op: "begin", a: 2, active: 3}, // growing below upper does not set it
				{op: "begin", a: 1, active: 4, over: true, gen: true},
			},
		},
		{
			name:   "lower threshold equal to the upper one",
			server: Server{Weight: 1, UpperThreshold: 3, LowerThreshold: 3},
			steps: []poolStep{
				{op: "begin", a: 3, active: 3, over: true, gen: true},
				{op: "end", a: 1, active: 2, gen: true},
			},
		},
		{
			name:   "inactive connections count toward the thresholds",
			server: Server{Weight: 1, UpperThreshold: 3, LowerThreshold: 2},
			steps: []poolStep{
				{op: "adjust", a: 0, b: 2, inactive: 2},
				{op: "begin", a: 1, active: 1, inactive: 2, over: true, gen: true},
				{op: "adjust", a: 0, b: -1, active: 1, inactive: 1, over: true},
				{op: "adjust", a: 0, b: -1, active: 1, gen: true},
				{op: "adjust", a: 2, b: 1, active: 3, inactive: 1, over: true, gen: true},
			},
		},
		{
			name:   "ESTABLISHED: a connection moving from inactive to active keeps the flag",
			server: Server{Weight: 1, UpperThreshold: 2},
			steps: []poolStep{
				{op: "adjust", a: 0, b: 1, inactive: 1}, // SYN: a new, inactive connection
				{op: "adjust", a: 0, b: 1, inactive: 2, over: true, gen: true},
				{op: "adjust", a: 1, b: -1, active: 1, inactive: 1, over: true}, // ESTABLISHED
				{op: "adjust", a: -1, b: 1, inactive: 2, over: true},            // FIN: back to inactive
				{op: "adjust", a: 0, b: -1, inactive: 1, gen: true},             // 4 < 6: cleared
			},
		},
		{
			// A host restoring a server with its counters and flag (Add
			// takes them as given): a net-zero update neither sets nor
			// clears the flag, whatever the thresholds say.
			name:   "net-zero update does not set the flag past the upper threshold",
			server: Server{Weight: 1, Inactive: 5, UpperThreshold: 4},
			steps: []poolStep{
				{op: "adjust", a: 1, b: -1, active: 1, inactive: 4},
				{op: "adjust", a: 0, b: 0, active: 1, inactive: 4},
			},
		},
		{
			name:   "net-zero update does not clear the flag below the lower threshold",
			server: Server{Weight: 1, Inactive: 2, UpperThreshold: 4, LowerThreshold: 3, Overloaded: true},
			steps: []poolStep{
				{op: "adjust", a: 1, b: -1, active: 1, inactive: 1, over: true},
				{op: "end", a: 1, inactive: 1, gen: true},
			},
		},
		{
			name:   "no threshold: a shrink clears a flag at once",
			server: Server{Weight: 1, Active: 5, Overloaded: true},
			steps: []poolStep{
				{op: "begin", a: 1, active: 6, over: true},
				{op: "end", a: 1, active: 5, gen: true},
			},
		},
		{
			name:   "counters never go below zero",
			server: Server{Weight: 1, UpperThreshold: 2},
			steps: []poolStep{
				{op: "end", a: 1, err: true},
				{op: "adjust", a: 0, b: -1, err: true},
				{op: "begin", a: 2, active: 2, over: true, gen: true},
				{op: "end", a: 3, err: true, active: 2, over: true},
				{op: "adjust", a: 1, b: -1, err: true, active: 2, over: true}, // active fine, inactive negative
				{op: "adjust", a: -3, b: 5, err: true, active: 2, over: true}, // inactive fine, active negative
				{op: "adjust", a: 0, b: 1, active: 2, inactive: 1, over: true},
				{op: "adjust", a: 0, b: -1, active: 2, over: true}, // down to exactly 0 inactive
				{op: "end", a: 2, gen: true},                       // down to exactly 0 active
			},
		},
		{
			name:   "SetThresholds re-evaluates the flag",
			server: Server{Weight: 1, Active: 3},
			steps: []poolStep{
				{op: "thresholds", a: 4, b: 0, active: 3, gen: true},
				{op: "thresholds", a: 3, b: 0, active: 3, over: true, gen: true}, // reached: set at once
				{op: "thresholds", a: 3, b: 1, active: 3, over: true, gen: true},
				{op: "thresholds", a: 5, b: 0, active: 3, gen: true}, // no longer reached: cleared
				{op: "thresholds", a: 2, b: 2, active: 3, over: true, gen: true},
				{op: "thresholds", a: 0, b: 0, active: 3, gen: true}, // none: cleared
			},
		},
		{
			name:   "SetThresholds refuses bad values",
			server: Server{Weight: 1, Active: 1, UpperThreshold: 1, LowerThreshold: 1, Overloaded: true},
			steps: []poolStep{
				{op: "thresholds", a: -1, b: 0, err: true, active: 1, over: true},
				{op: "thresholds", a: 5, b: -1, err: true, active: 1, over: true},
				{op: "thresholds", a: 5, b: 6, err: true, active: 1, over: true},
				{op: "thresholds", a: 0, b: 1, err: true, active: 1, over: true},
			},
		},
		{
			name:   "weight, availability and load",
			server: Server{Weight: 2},
			steps: []poolStep{
				{op: "weight", a: 2},
				{op: "weight", a: 0, gen: true},
				{op: "weight", a: -1, err: true},
				{op: "weight", a: MaxWeight, gen: true},
				{op: "weight", a: MaxWeight + 1, err: true},
				{op: "down", a: 0},
				{op: "down", a: 1, gen: true},
				{op: "down", a: 1},
				{op: "down", a: 0, gen: true},
				{op: "load", a: 3},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := tc.server
			srv.ID = 1
			p, err := NewPool(srv, Server{ID: 2, Weight: 1})
			if err != nil {
				t.Fatal(err)
			}
			for i, st := range tc.steps {
				before := *p.Get(1)
				gen := p.Generation()
				err := st.apply(p)
				s := p.Get(1)
				if (err != nil) != st.err {
					t.Fatalf("step %d %s(%d, %d): error %v, want error %v", i, st.op, st.a, st.b, err, st.err)
				}
				if err != nil && (*s != before || p.Generation() != gen) {
					t.Fatalf("step %d %s(%d, %d) failed but changed the server from %+v to %+v (generation %d -> %d)",
						i, st.op, st.a, st.b, before, *s, gen, p.Generation())
				}
				if s.Active != st.active || s.Inactive != st.inactive || s.Overloaded != st.over {
					t.Fatalf("step %d %s(%d, %d): active %d inactive %d overloaded %v, want %d %d %v",
						i, st.op, st.a, st.b, s.Active, s.Inactive, s.Overloaded, st.active, st.inactive, st.over)
				}
				if moved := p.Generation() != gen; moved != st.gen {
					t.Fatalf("step %d %s(%d, %d): generation changed %v, want %v", i, st.op, st.a, st.b, moved, st.gen)
				}
				if o := p.Get(2); o.Active != 0 || o.Inactive != 0 || o.Overloaded || o.Weight != 1 || o.Down {
					t.Fatalf("step %d %s(%d, %d) changed the other server: %+v", i, st.op, st.a, st.b, *o)
				}
			}
		})
	}
}

// TestPoolMembership checks Add, Remove, Index, Get and the errors of bad
// servers.
func TestPoolMembership(t *testing.T) {
	p, err := NewPool(Server{ID: 10, Weight: 1}, Server{ID: 20, Weight: 2}, Server{ID: 30, Weight: 3}, Server{ID: 40, Weight: 4})
	if err != nil {
		t.Fatal(err)
	}
	ids := func() []ServerID {
		var out []ServerID
		for i, s := range p.Servers() {
			if j, ok := p.Index(s.ID); !ok || j != i || p.Get(s.ID) != p.At(i) {
				t.Fatalf("server %d at %d: Index %d %v, Get %p, At %p", s.ID, i, j, ok, p.Get(s.ID), p.At(i))
			}
			out = append(out, s.ID)
		}
		if p.Len() != len(out) {
			t.Fatalf("Len %d, %d servers", p.Len(), len(out))
		}
		return out
	}
	steps := []struct {
		name string
		op   func() error
		err  error // nil, or the sentinel the error wraps
		bad  bool  // an error without a sentinel
		want []ServerID
		gen  bool
	}{
		{"remove the second", func() error { return p.Remove(20) }, nil, false, []ServerID{10, 30, 40}, true},
		{"remove it again", func() error { return p.Remove(20) }, ErrUnknownServer, false, []ServerID{10, 30, 40}, false},
		{"add at the end", func() error { return p.Add(Server{ID: 20, Weight: 5}) }, nil, false, []ServerID{10, 30, 40, 20}, true},
		{"add a duplicate", func() error { return p.Add(Server{ID: 30, Weight: 1}) }, ErrDuplicateServer, false, []ServerID{10, 30, 40, 20}, false},
		{"add a quiescing server (weight 0)", func() error { return p.Add(Server{ID: 60, Weight: 0}) }, nil, false, []ServerID{10, 30, 40, 20, 60}, true},
		{"remove it", func() error { return p.Remove(60) }, nil, false, []ServerID{10, 30, 40, 20}, true},
		{"add a negative weight", func() error { return p.Add(Server{ID: 50, Weight: -1}) }, ErrBadWeight, false, []ServerID{10, 30, 40, 20}, false},
		{"add a weight above MaxWeight", func() error { return p.Add(Server{ID: 50, Weight: MaxWeight + 1}) }, ErrBadWeight, false, []ServerID{10, 30, 40, 20}, false},
		{"add negative counters", func() error { return p.Add(Server{ID: 50, Weight: 1, Inactive: -1}) }, nil, true, []ServerID{10, 30, 40, 20}, false},
		{"add a lower threshold above the upper", func() error { return p.Add(Server{ID: 50, Weight: 1, UpperThreshold: 2, LowerThreshold: 3}) }, nil, true, []ServerID{10, 30, 40, 20}, false},
		{"remove the first", func() error { return p.Remove(10) }, nil, false, []ServerID{30, 40, 20}, true},
		{"remove the last", func() error { return p.Remove(20) }, nil, false, []ServerID{30, 40}, true},
		{"operations on an unknown server", func() error {
			return errors.Join(p.Begin(99, 1), p.End(99, 1), p.Adjust(99, 1, 0), p.SetWeight(99, 1),
				p.SetDown(99, true), p.SetThresholds(99, 1, 0), p.SetLoad(99, 1))
		}, ErrUnknownServer, false, []ServerID{30, 40}, false},
	}
	for _, st := range steps {
		gen := p.Generation()
		err := st.op()
		switch {
		case st.err != nil && !errors.Is(err, st.err):
			t.Errorf("%s: error %v, want %v", st.name, err, st.err)
		case st.bad && err == nil:
			t.Errorf("%s: no error", st.name)
		case st.err == nil && !st.bad && err != nil:
			t.Errorf("%s: %v", st.name, err)
		}
		if got := ids(); !slices.Equal(got, st.want) {
			t.Errorf("%s: servers %v, want %v", st.name, got, st.want)
		}
		if moved := p.Generation() != gen; moved != st.gen {
			t.Errorf("%s: generation changed %v, want %v", st.name, moved, st.gen)
		}
	}
	if p.Get(20) != nil {
		t.Error("Get of a removed server is not nil")
	}
}

// TestPoolGeneration checks that generations identify content: positive,
// different for any two pools that are not an unchanged clone of one
// another, kept by Clone and changed by any change to either copy.
func TestPoolGeneration(t *testing.T) {
	var zero Pool
	if zero.Generation() != 0 {
		t.Errorf("zero Pool: generation %d, want 0", zero.Generation())
	}
	if err := zero.Add(Server{ID: 1, Weight: 1}); err != nil {
		t.Fatal(err)
	}
	a, _ := NewWeighted(1, 2)
	b, _ := NewWeighted(1, 2) // same content, built separately
	empty, _ := NewPool()
	seen := map[uint64]string{}
	note := func(name string, g uint64) {
		t.Helper()
		if g == 0 {
			t.Errorf("%s: generation 0", name)
		}
		if other, dup := seen[g]; dup {
			t.Errorf("%s has the generation %d of %s", name, g, other)
		}
		seen[g] = name
	}
	note("zero pool after Add", zero.Generation())
	note("a", a.Generation())
	note("b", b.Generation())
	note("empty", empty.Generation())
	c := a.Clone()
	if c.Generation() != a.Generation() {
		t.Errorf("Clone: generation %d, original %d", c.Generation(), a.Generation())
	}
	if cc := c.Clone(); cc.Generation() != a.Generation() {
		t.Errorf("Clone of a Clone: generation %d, original %d", cc.Generation(), a.Generation())
	}
	if err := c.SetWeight(0, 3); err != nil {
		t.Fatal(err)
	}
	note("changed clone", c.Generation())
	d := a.Clone()
	if err := d.SetWeight(1, 3); err != nil {
		t.Fatal(err)
	}
	note("another changed clone", d.Generation())
	if err := a.SetDown(0, true); err != nil {
		t.Fatal(err)
	}
	note("changed original", a.Generation())
}

// TestPoolCloneIndependent checks that a Clone shares nothing with its
// original: servers, counters, flags and the ID index.
func TestPoolCloneIndependent(t *testing.T) {
	p, err := NewPool(Server{ID: 1, Weight: 1, UpperThreshold: 2}, Server{ID: 2, Weight: 2}, Server{ID: 3, Weight: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Begin(1, 1); err != nil {
		t.Fatal(err)
	}
	q := p.Clone()
	if !slices.Equal(p.Servers(), q.Servers()) || p.Len() != q.Len() {
		t.Fatalf("clone differs: %+v vs %+v", q.Servers(), p.Servers())
	}
	want := slices.Clone(p.Servers())
	for _, err := range []error{
		q.Begin(1, 1), q.SetWeight(2, 7), q.SetDown(3, true), q.SetLoad(2, 0.5), q.Remove(2), q.Add(Server{ID: 4, Weight: 1}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(p.Servers(), want) {
		t.Errorf("changing the clone changed the original: %+v, want %+v", p.Servers(), want)
	}
	if i, ok := p.Index(2); !ok || i != 1 {
		t.Errorf("original Index(2) = %d, %v after the clone removed it", i, ok)
	}
	if _, ok := p.Index(4); ok {
		t.Error("the original knows the server added to the clone")
	}
	if s := q.Get(1); s.Active != 2 || !s.Overloaded {
		t.Errorf("clone's server 1: %+v, want 2 active and overloaded", *s)
	}
	if i, ok := q.Index(3); !ok || i != 1 {
		t.Errorf("clone Index(3) = %d, %v, want 1", i, ok)
	}
}
