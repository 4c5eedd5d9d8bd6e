package algorithms

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// Reference: §6.3.6. A request of a class with a defined server set goes to
// the least-connection server of that set; other requests go to the
// least-connection server of the default set (the servers no class names,
// or all servers when every one is named).
func TestContentClasses(t *testing.T) {
	tests := []struct {
		name    string
		classes map[string][]ServerID
		actives []int
		down    []ServerID
		class   string
		want    ServerID
		noSrv   bool
	}{
		{"no classes: whole pool", nil, []int{3, 1, 2, 5}, nil, "", 1, false},
		{"defined class: its set only", map[string][]ServerID{"cgi": {2, 3}}, []int{0, 0, 4, 3}, nil, "cgi", 3, false},
		{"default class: unnamed servers", map[string][]ServerID{"cgi": {2, 3}}, []int{5, 4, 0, 0}, nil, "", 1, false},
		{"unknown class: default set", map[string][]ServerID{"cgi": {2, 3}}, []int{5, 4, 0, 0}, nil, "image", 1, false},
		{"every server named: default is all", map[string][]ServerID{"a": {0, 1}, "b": {2, 3}}, []int{5, 4, 3, 2}, nil, "", 3, false},
		{"empty defined set is ∅: default set", map[string][]ServerID{"cgi": {}, "x": {0}}, []int{0, 2, 1, 3}, nil, "cgi", 2, false},
		{"ties: earliest in the pool", map[string][]ServerID{"cgi": {3, 2}}, []int{0, 0, 1, 1}, nil, "cgi", 2, false},
		{"down members skipped", map[string][]ServerID{"cgi": {2, 3}}, []int{0, 0, 0, 5}, []ServerID{2}, "cgi", 3, false},
		{"set all down: no spill to other servers", map[string][]ServerID{"cgi": {2, 3}}, []int{0, 0, 0, 0}, []ServerID{2, 3}, "cgi", 0, true},
		{"ids outside the pool ignored", map[string][]ServerID{"cgi": {9, 3}}, []int{0, 0, 0, 1}, nil, "cgi", 3, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := locPool(t, tc.actives...)
			for _, id := range tc.down {
				if err := p.SetDown(id, true); err != nil {
					t.Fatal(err)
				}
			}
			s := NewContent(Options{Classes: tc.classes})
			got, err := s.Schedule(0, &Request{Key: "/x", Class: tc.class}, p)
			if tc.noSrv {
				if !errors.Is(err, ErrNoServer) {
					t.Fatalf("got (%d, %v), want ErrNoServer", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got (%d, %v), want %d", got, err, tc.want)
			}
		})
	}
}

// Reference: §6.3.6. The default set follows pool changes: a server that
// joins unnamed becomes a default server, a named one joins its class.
func TestContentPoolChanges(t *testing.T) {
	p := locPool(t, 0, 0)
	s := NewContent(Options{Classes: map[string][]ServerID{"cgi": {0, 1, 5}}})
	if got, _ := s.Schedule(0, &Request{}, p); got != 0 { // every server named: default is all
		t.Errorf("default before: %d, want 0", got)
	}
	if err := p.Add(Server{ID: 7, Weight: 1, Active: 9}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Schedule(0, &Request{}, p); got != 7 { // 7 is the only unnamed server
		t.Errorf("default after adding 7: %d, want 7", got)
	}
	if err := p.Add(Server{ID: 5, Weight: 1}); err != nil {
		t.Fatal(err)
	}
	if err := p.Begin(0, 1); err != nil {
		t.Fatal(err)
	}
	if err := p.Begin(1, 1); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Schedule(0, &Request{Class: "cgi"}, p); got != 5 {
		t.Errorf("cgi after adding 5: %d, want 5", got)
	}
}

// Reference: §6.3.6 (improved algorithm): LBLC/R within the class's static
// set. The imbalance test's idle node and the node added on imbalance come
// from the static set only.
func TestContentLBLCR(t *testing.T) {
	const A, B, C, D = ServerID(0), ServerID(1), ServerID(2), ServerID(3)
	p := locPool(t, 0, 0, 0, 0)
	s, err := NewContentLBLCR(Options{Low: 2, High: 4, Classes: map[string][]ServerID{"cgi": {C, D}}})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		now     time.Duration
		actives []int
		class   string
		key     string
		want    ServerID
		set     []ServerID
	}{
		{0, nil, "cgi", "/x.cgi", C, []ServerID{C}},
		{1, []int{0, 0, 5, 3}, "cgi", "/x.cgi", C, []ServerID{C}},             // C > high; A, B idle but outside the set: stays
		{2, []int{0, 0, 5, 1}, "cgi", "/x.cgi", D, []ServerID{C, D}},          // D < low inside the set: D joins
		{3, []int{5, 0, 9, 9}, "", "/x.cgi", B, []ServerID{B}},                // same key, default class: its own table
		{4, []int{5, 0, 9, 9}, "cgi", "/x.cgi", C, []ServerID{C, D}},          // least member C (9, first) >= 2*high: least node of {C, D} is C
		{5, []int{5, 9, 0, 0}, "", "/x.cgi", A, []ServerID{A, B}},             // B >= 2*high: A (the other default server) joins
		{70 * time.Second, []int{1, 3, 0, 0}, "", "/x.cgi", A, []ServerID{A}}, // shed after K: B (3) leaves
	}
	for i, st := range steps {
		if st.actives != nil {
			locSetActive(t, p, st.actives...)
		}
		got, err := s.Schedule(st.now, &Request{Key: st.key, Class: st.class}, p)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got != st.want {
			t.Errorf("step %d: got %s, want %s", i, Letters(int(got)), Letters(int(st.want)))
		}
		if set := locSorted(s.Set(st.class, st.key)); !slices.Equal(set, st.set) {
			t.Errorf("step %d: set %v, want %v", i, set, st.set)
		}
	}
	for _, id := range []ServerID{C, D} {
		if err := p.SetDown(id, true); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Schedule(100*time.Second, &Request{Key: "/x.cgi", Class: "cgi"}, p); !errors.Is(err, ErrNoServer) {
		t.Errorf("cgi servers down: err = %v, want ErrNoServer", err)
	}
}

// Reference: §6.3.6. Without classes the static set is the whole pool, so
// the improved content-based scheduler is LBLC/R (§6.3.5): it agrees with
// the literal LBLC/R pseudo-code on randomized pools and streams.
func TestContentLBLCRWithoutClassesIsLBLCR(t *testing.T) {
	base := locBaseSeed(t)
	for run := uint64(0); run < 100; run++ {
		seed := base + run
		rng := rand.New(rand.NewPCG(seed, 0xc0de))
		opts := locDiffOptions(rng)
		s, err := NewContentLBLCR(opts)
		if err != nil {
			t.Fatal(err)
		}
		ref := newLocNaiveLBLCR(opts)
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			locDiffRun(t, rng, 300, s.Schedule, ref.Schedule, func(_ time.Duration, key string) error {
				if g, w := locSorted(s.Set("", key)), ref.set(key); !slices.Equal(g, w) {
					return fmt.Errorf("set %v, reference %v", g, w)
				}
				return nil
			})
		})
	}
}
