package sim

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/lvslab/lvslab/traces"
)

// TestReplicateResolve checks the replicate keys' ranges, and that each
// error names its key.
func TestReplicateResolve(t *testing.T) {
	base := Config{Nodes: 2, Algorithm: "wrr"}
	tests := []struct {
		name string
		set  func(*Config)
		key  string // "" for no error
	}{
		{"one replicate", func(c *Config) { c.Replicates = 1 }, ""},
		{"five replicates", func(c *Config) { c.Replicates = 5; c.Replicate = 5; c.Jitter = 0.5; c.StartOffset = 1 }, ""},
		{"a replicate alone", func(c *Config) { c.Replicate = 3; c.Jitter = 0.1 }, ""},
		{"negative replicates", func(c *Config) { c.Replicates = -1 }, "replicates"},
		{"too many replicates", func(c *Config) { c.Replicates = MaxReplicates + 1 }, "replicates"},
		{"negative replicate", func(c *Config) { c.Replicate = -1 }, "replicate"},
		{"replicate beyond replicates", func(c *Config) { c.Replicates = 3; c.Replicate = 4 }, "replicate"},
		{"jitter too large", func(c *Config) { c.Replicates = 3; c.Jitter = 0.6 }, "jitter"},
		{"jitter NaN", func(c *Config) { c.Replicates = 3; c.Jitter = math.NaN() }, "jitter"},
		{"negative jitter", func(c *Config) { c.Replicates = 3; c.Jitter = -0.1 }, "jitter"},
		{"offset above 1", func(c *Config) { c.Replicates = 3; c.StartOffset = 1.5 }, "start_offset"},
		{"jitter without replicates", func(c *Config) { c.Jitter = 0.02 }, "jitter"},
		{"offset without replicates", func(c *Config) { c.Replicates = 1; c.StartOffset = 0.5 }, "start_offset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			tt.set(&c)
			_, err := c.Resolve()
			if tt.key == "" {
				if err != nil {
					t.Fatalf("Resolve: %v", err)
				}
				return
			}
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Keys[0] != tt.key {
				t.Fatalf("Resolve = %v, want a ConfigError on %s", err, tt.key)
			}
		})
	}
	c, err := Config{Nodes: 2, Algorithm: "wrr", Replicates: 1}.Resolve()
	if err != nil || c.Replicates != 0 {
		t.Fatalf("Resolve(replicates 1) = %d, %v; want 0 (one run, as if unset)", c.Replicates, err)
	}
}

// TestReferenceReplicate checks that replicate 0 is the unperturbed run,
// whatever the replicate settings, and that "replicates: 1" writes the
// very bytes of a run that does not mention replicates.
func TestReferenceReplicate(t *testing.T) {
	w := synth(4000, 500, 1)
	plain := Config{Nodes: 4, Algorithm: "lblc", CacheBytes: 1 << 20}
	one := plain
	one.Replicates = 1
	ref := plain
	ref.Replicates, ref.Jitter, ref.StartOffset = 8, 0.2, 0.5
	var outs [][]byte
	for _, c := range []Config{plain, one, ref} {
		r, err := Run(c, w)
		if err != nil {
			t.Fatal(err)
		}
		r.Config.Replicates, r.Config.Jitter, r.Config.StartOffset = 0, 0, 0
		var b bytes.Buffer
		if err := WriteJSON(&b, []*Result{r}); err != nil {
			t.Fatal(err)
		}
		outs = append(outs, b.Bytes())
	}
	for i := 1; i < len(outs); i++ {
		if !bytes.Equal(outs[0], outs[i]) {
			t.Errorf("run %d differs from the plain run", i)
		}
	}
}

// TestReplicatesPerturb checks that perturbed replicates are deterministic,
// differ from one another and from the reference run, and still serve
// every request exactly once.
func TestReplicatesPerturb(t *testing.T) {
	// Few distinct sizes, as in a web log: jobs of equal length end at
	// the same instant, whose order the perturbed replicates shuffle.
	w := synth(6000, 800, 1)
	for i := range w.Objects {
		w.Objects[i].Size = 1 << (10 + i%4)
	}
	for _, p := range []struct {
		name           string
		jitter, offset float64
	}{{"ties", 0, 0}, {"ties+jitter", 0.05, 0}, {"ties+offset", 0, 0.5}, {"all", 0.05, 0.5}} {
		t.Run(p.name, func(t *testing.T) {
			seen := map[float64]int{}
			for k := range 5 {
				c := Config{Nodes: 8, Algorithm: "lblc", CacheBytes: 1 << 20, Replicates: 4, Replicate: k, Jitter: p.jitter, StartOffset: p.offset}
				if k == 4 {
					c.Replicates = 0 // a replicate run on its own
				}
				r1, err := Run(c, w)
				if err != nil {
					t.Fatal(err)
				}
				r2, _ := Run(c, w)
				j1, j2 := encodeOne(t, r1), encodeOne(t, r2)
				if !bytes.Equal(j1, j2) {
					t.Fatalf("replicate %d: two runs differ", k)
				}
				checkInvariants(t, r1)
				if r1.Completed != len(w.Requests) {
					t.Fatalf("replicate %d: %d completed of %d", k, r1.Completed, len(w.Requests))
				}
				seen[r1.ThroughputRPS]++
			}
			if len(seen) < 4 {
				t.Errorf("5 replicates gave %d distinct throughputs (%v): the perturbations change nothing", len(seen), seen)
			}
		})
	}
}

func encodeOne(t *testing.T, r *Result) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WriteJSON(&b, []*Result{r}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestTieOrderIsUniform checks that a perturbed replicate's queue puts the
// events of one instant in every order, about equally often, and that
// the reference run keeps their scheduling order.
func TestTieOrderIsUniform(t *testing.T) {
	perms := map[[3]int32]int{}
	const runs = 3000
	for k := range runs {
		e := &engine{seq: new(uint64)}
		if k > 0 {
			e.ties = newStream(replicateSeed(7, k), streamTies)
		}
		e.schedule(5, evMonitor, -1, -1)
		for s := range int32(3) {
			e.schedule(10, evOriginDone, -1, s)
		}
		e.schedule(20, evMonitor, -1, -1)
		var got [3]int32
		if ev := e.events.pop(); ev.at != 5 {
			t.Fatalf("first event at %v, want 5", ev.at)
		}
		for i := range got {
			got[i] = e.events.pop().slot
		}
		if ev := e.events.pop(); ev.at != 20 {
			t.Fatalf("last event at %v, want 20", ev.at)
		}
		if k == 0 && got != [3]int32{0, 1, 2} {
			t.Fatalf("reference run: same-instant order %v, want scheduling order", got)
		}
		if k > 0 {
			perms[got]++
		}
	}
	if len(perms) != 6 {
		t.Fatalf("saw %d of the 6 orders of three simultaneous events: %v", len(perms), perms)
	}
	for p, n := range perms {
		// Expected (runs-1)/6 ≈ 500; 400..600 is more than 4 standard deviations.
		if n < 400 || n > 600 {
			t.Errorf("order %v seen %d times of %d, want about %d", p, n, runs-1, (runs-1)/6)
		}
	}
}

// TestJitterRange checks that jittered service times stay within
// [1-Jitter, 1+Jitter] of the model's and spread over that range.
func TestJitterRange(t *testing.T) {
	e := &engine{cfg: Config{Jitter: 0.1}, jitter: newStream(1, streamJitter)}
	const d = 28 * time.Millisecond
	lo, hi := time.Duration(math.MaxInt64), time.Duration(0)
	for range 10000 {
		x := e.perturb(d)
		lo, hi = min(lo, x), max(hi, x)
	}
	if lo < d*9/10 || hi > d*11/10 {
		t.Fatalf("jittered %v over [%v, %v], outside ±10%%", d, lo, hi)
	}
	if lo > d*91/100 || hi < d*109/100 {
		t.Fatalf("jittered %v over [%v, %v] only, want nearly ±10%%", d, lo, hi)
	}
	if got := (&engine{}).perturb(d); got != d {
		t.Fatalf("reference run: perturb(%v) = %v", d, got)
	}
}

// TestStartOffset checks that a replicate's trace is a rotation of the
// trace, starting within the StartOffset fraction, with times that start
// when the trace does and keep their order.
func TestStartOffset(t *testing.T) {
	w := synth(1000, 100, 1)
	starts := map[int]bool{}
	for k := 1; k <= 50; k++ {
		c := Config{Seed: 3, Replicates: 50, Replicate: k, StartOffset: 0.2}
		r := startOffset(c, w)
		if len(r.Requests) != len(w.Requests) {
			t.Fatalf("replicate %d: %d requests, want %d", k, len(r.Requests), len(w.Requests))
		}
		start := -1
		for i := range w.Requests {
			if w.Requests[i].Object == r.Requests[0].Object && w.Requests[i].Client == r.Requests[0].Client &&
				slices.EqualFunc(w.Requests[i:], r.Requests[:len(w.Requests)-i], sameRequest) &&
				slices.EqualFunc(w.Requests[:i], r.Requests[len(w.Requests)-i:], sameRequest) {
				start = i
				break
			}
		}
		if start < 0 || start >= 200 {
			t.Fatalf("replicate %d: not a rotation starting in the first 20%% (start %d)", k, start)
		}
		starts[start] = true
		if r.Requests[0].Time != w.Requests[0].Time {
			t.Fatalf("replicate %d: replay starts at %v, want %v (the trace's start)", k, r.Requests[0].Time, w.Requests[0].Time)
		}
		for i := 1; i < len(r.Requests); i++ {
			if r.Requests[i].Time < r.Requests[i-1].Time {
				t.Fatalf("replicate %d: request %d at %v before request %d at %v", k, i, r.Requests[i].Time, i-1, r.Requests[i-1].Time)
			}
		}
	}
	if len(starts) < 30 {
		t.Errorf("50 replicates started at %d distinct requests, want most of them distinct", len(starts))
	}
	if got := startOffset(Config{StartOffset: 0.5}, w); got != w {
		t.Error("the reference run's trace was rotated")
	}
}

func sameRequest(a, b traces.Request) bool {
	return a.Object == b.Object && a.Client == b.Client && a.Dynamic == b.Dynamic
}
