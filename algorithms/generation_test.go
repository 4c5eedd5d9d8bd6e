package algorithms

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// A host may keep several copies of a pool (copy-on-write updates, one
// pool per service) and pass any of them. Pool.Generation identifies the
// content, so an unchanged Clone costs a scheduler nothing and changes
// nothing: every registered scheduler answers the same whether the host
// passes one pool or alternates between it and its clones (counters kept
// equal on all of them), through pool changes that the host applies to
// every copy.
func TestCloneSameAnswers(t *testing.T) {
	for _, name := range Names() {
		for _, v := range []struct {
			name string
			opts Options
		}{{"defaults", Options{}}, {"restart", Options{RestartCycle: true, Low: 1, High: 3, SetExpiry: time.Second}}} {
			t.Run(name+"/"+v.name, func(t *testing.T) {
				one := cloneRun(t, name, v.opts, 1)
				three := cloneRun(t, name, v.opts, 3)
				if one != three {
					t.Errorf("answers with one pool:\n%s\nalternating three clones:\n%s", one, three)
				}
			})
		}
	}
}

// cloneRun drives a fresh scheduler name over copies pools, all kept
// identical (every change and counter update is applied to each), passing
// copy i%copies to the i-th call, and returns its answers. Every 25 calls
// the host changes the pools, each change to every copy (which gives the
// copies different generations: the scheduler must notice the change on
// whichever copy it sees next), and then, one time in two, replaces the
// copies by fresh clones of the first.
func cloneRun(t *testing.T, name string, opts Options, copies int) string {
	t.Helper()
	s, err := New(name, opts)
	if err != nil {
		t.Fatal(err)
	}
	base, err := NewPool(
		Server{ID: 1, Weight: 4, Addr: netip.MustParseAddr("10.0.0.1")},
		Server{ID: 2, Weight: 3, Addr: netip.MustParseAddr("10.0.0.2")},
		Server{ID: 3, Weight: 2, Addr: netip.MustParseAddr("10.0.0.3")},
		Server{ID: 4, Weight: 1, Addr: netip.MustParseAddr("10.0.0.4")},
	)
	if err != nil {
		t.Fatal(err)
	}
	pools := []*Pool{base}
	for len(pools) < copies {
		pools = append(pools, base.Clone())
	}
	each := func(f func(p *Pool) error) {
		t.Helper()
		for _, p := range pools {
			if err := f(p); err != nil {
				t.Fatal(err)
			}
		}
	}
	rng := rand.New(rand.NewPCG(5, 6))
	type work struct {
		id   ServerID
		cost int
	}
	var inflight []work
	var out strings.Builder
	fb, hasFeedback := s.(LoadFeedback)
	nextID := ServerID(5)
	for i := range 400 {
		now := time.Duration(i) * 300 * time.Millisecond
		if i%25 == 24 {
			ids := make([]ServerID, 0, base.Len())
			for _, sv := range base.Servers() {
				ids = append(ids, sv.ID)
			}
			id := ids[rng.IntN(len(ids))]
			switch rng.IntN(5) {
			case 0:
				w := rng.IntN(5)
				each(func(p *Pool) error { return p.SetWeight(id, w) })
			case 1:
				down := !base.Get(id).Down
				each(func(p *Pool) error { return p.SetDown(id, down) })
			case 2:
				sv := Server{ID: nextID, Weight: 1 + rng.IntN(4), Addr: netip.AddrFrom4([4]byte{10, 0, 0, byte(nextID)})}
				nextID++
				each(func(p *Pool) error { return p.Add(sv) })
			case 3:
				if len(ids) > 2 {
					each(func(p *Pool) error { return p.Remove(id) })
					kept := inflight[:0]
					for _, w := range inflight {
						if w.id != id {
							kept = append(kept, w)
						}
					}
					inflight = kept
				}
			case 4:
				upper := 2 + rng.IntN(4)
				each(func(p *Pool) error { return p.SetThresholds(id, upper, 0) })
			}
			if rng.IntN(2) == 0 {
				for j := 1; j < len(pools); j++ {
					pools[j] = base.Clone()
				}
			}
			if hasFeedback {
				loads := make([]Load, 0, base.Len())
				for _, sv := range base.Servers() {
					loads = append(loads, Load{ID: sv.ID, CPU: float64(sv.Active) / 3, Measured: MetricCPU, Responsive: true})
				}
				if err := fb.Feedback(now, loads, pools[i%len(pools)]); err != nil {
					t.Fatal(err)
				}
			}
		}
		if len(inflight) > 6 {
			w := inflight[0]
			inflight = inflight[1:]
			each(func(p *Pool) error { return p.End(w.id, w.cost) })
		}
		r := &Request{
			Key:    fmt.Sprintf("/t/%d", rng.IntN(12)),
			Client: netip.AddrFrom4([4]byte{192, 168, 0, byte(rng.IntN(40))}),
			Dest:   netip.AddrFrom4([4]byte{10, 1, 0, byte(rng.IntN(6))}),
			Cost:   1 + rng.IntN(2),
		}
		id, err := s.Schedule(now, r, pools[i%len(pools)])
		switch {
		case err == nil:
			each(func(p *Pool) error { return p.Begin(id, r.Units()) })
			inflight = append(inflight, work{id, r.Units()})
			fmt.Fprintf(&out, "%d ", id)
		case errors.Is(err, ErrNoServer), errors.Is(err, ErrBypass):
			out.WriteString("- ")
		default:
			t.Fatal(err)
		}
	}
	return out.String()
}

// A scheduler given an unchanged Clone keeps its state: WRR continues its
// cycle (even with RestartCycle, which restarts it on every change), and a
// changed clone is still noticed. Reference: §4.1.2 (the cycle A A B A B
// C A B C of weights 4, 3, 2).
func TestCloneKeepsWRRCycle(t *testing.T) {
	for _, restart := range []bool{false, true} {
		t.Run(fmt.Sprintf("restart=%v", restart), func(t *testing.T) {
			w := NewWRR()
			if restart {
				w = NewWRRRestart()
			}
			p := classicPool(t, 4, 3, 2)
			got := classicSeq(t, w, p, 4)
			q := p.Clone()
			got += classicSeq(t, w, q, 5)
			got += classicSeq(t, w, p.Clone(), 9)
			if want := "AABABCABC" + "AABABCABC"; got != want {
				t.Errorf("alternating clones: got %s, want %s (the cycle continued)", got, want)
			}
			// A changed clone is a changed pool: C quiesced on q only.
			if err := q.SetWeight(2, 0); err != nil {
				t.Fatal(err)
			}
			if seq := classicSeq(t, w, q, 7); strings.Contains(seq, "C") {
				t.Errorf("after C's weight went to 0 on the clone: got %s, want no C", seq)
			}
			// The original, unchanged, still has C.
			if seq := classicSeq(t, w, p, 9); !strings.Contains(seq, "C") {
				t.Errorf("back on the original pool: got %s, want C in a full cycle", seq)
			}
			// Two clones changed in different ways, one change each: their
			// contents differ, and so must their generations, or the
			// scheduler would keep the state of one for the other.
			a, b := p.Clone(), p.Clone()
			if err := a.SetWeight(0, 0); err != nil {
				t.Fatal(err)
			}
			if err := b.SetWeight(1, 0); err != nil {
				t.Fatal(err)
			}
			if seq := classicSeq(t, w, a, 7); strings.Contains(seq, "A") {
				t.Errorf("clone with A quiesced: got %s, want no A", seq)
			}
			if seq := classicSeq(t, w, b, 7); strings.Contains(seq, "B") {
				t.Errorf("clone with B quiesced, after the one with A quiesced: got %s, want no B", seq)
			}
		})
	}
}

// Two clones changed in different ways have different contents, so they
// must have different generations: a hash scheduler that built its table
// on one and is then handed the other answers as a fresh scheduler on the
// other would. The clones are changed one change each, so a per-pool
// counter would give them equal generations.
func TestDivergedClones(t *testing.T) {
	for _, name := range []string{"sh", "dh", "mh"} {
		t.Run(name, func(t *testing.T) {
			mk := func() Scheduler {
				s, err := New(name, Options{})
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
			p := classicPool(t, 4, 3, 2)
			a, b := p.Clone(), p.Clone()
			if err := a.Remove(0); err != nil {
				t.Fatal(err)
			}
			if err := b.Remove(2); err != nil {
				t.Fatal(err)
			}
			if a.Generation() == b.Generation() {
				t.Errorf("diverged clones share generation %d", a.Generation())
			}
			answers := func(s Scheduler, p *Pool) string {
				var out strings.Builder
				for i := range 64 {
					r := &Request{Client: netip.AddrFrom4([4]byte{172, 16, byte(i), byte(i * 7)}), Dest: netip.AddrFrom4([4]byte{10, 2, byte(i), 1})}
					id, err := s.Schedule(0, r, p)
					if err != nil {
						t.Fatal(err)
					}
					fmt.Fprintf(&out, "%d", id)
				}
				return out.String()
			}
			used := mk()
			answers(used, a)
			if got, want := answers(used, b), answers(mk(), b); got != want {
				t.Errorf("on the second clone after the first: %s\nfresh on the second clone:       %s", got, want)
			}
		})
	}
}
