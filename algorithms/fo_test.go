package algorithms

import "testing"

// ip_vs_fo.c: the usable server with the highest weight, first on ties.
// ip_vs_ovf.c: the same among servers whose active count does not exceed
// their weight.
func TestFOAndOVF(t *testing.T) {
	tests := []struct {
		name    string
		rows    []classicConns
		fo, ovf string
	}{
		{"highest weight", []classicConns{{2, 0, 0, false, false}, {5, 0, 0, false, false}, {3, 0, 0, false, false}}, "B", "B"},
		{"tie goes to first", []classicConns{{5, 0, 0, false, false}, {5, 0, 0, false, false}}, "A", "A"},
		{"load ignored by fo", []classicConns{{5, 9, 0, false, false}, {3, 0, 0, false, false}}, "A", "B"},
		// The kernel skips a server only when active > weight.
		{"ovf at limit still chosen", []classicConns{{5, 5, 0, false, false}, {3, 0, 0, false, false}}, "A", "A"},
		{"ovf over limit overflows", []classicConns{{5, 6, 0, false, false}, {3, 0, 0, false, false}}, "A", "B"},
		{"ovf ignores inactive", []classicConns{{5, 0, 99, false, false}, {3, 0, 0, false, false}}, "A", "A"},
		{"ovf everyone over limit", []classicConns{{1, 2, 0, false, false}, {2, 3, 0, false, false}}, "B", "-"},
		{"weight-0 quiescing", []classicConns{{0, 0, 0, false, false}, {1, 0, 0, false, false}}, "B", "B"},
		{"down fails over", []classicConns{{9, 0, 0, true, false}, {1, 0, 0, false, false}}, "B", "B"},
		{"overloaded fails over", []classicConns{{9, 1, 0, false, true}, {1, 0, 0, false, false}}, "B", "B"},
		{"all unusable", []classicConns{{0, 0, 0, false, false}, {9, 0, 0, true, false}}, "-", "-"},
		{"empty pool", nil, "-", "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := classicConnPool(t, tt.rows)
			if got := classicPick(t, NewFO(), p); got != tt.fo {
				t.Errorf("fo: got %s, want %s", got, tt.fo)
			}
			if got := classicPick(t, NewOVF(), p); got != tt.ovf {
				t.Errorf("ovf: got %s, want %s", got, tt.ovf)
			}
		})
	}
}

// With the host counting connections, OVF fills the heaviest server to
// weight+1 active connections, then overflows to the next (ip_vs_ovf.c).
func TestOVFOverflowSequence(t *testing.T) {
	p := classicPool(t, 1, 3, 2)
	ovf := NewOVF()
	var got []byte
	for range 9 {
		id, err := ovf.Schedule(0, &Request{}, p)
		if err != nil {
			got = append(got, '-')
			continue
		}
		got = append(got, Letters(int(id))...)
		_ = p.Begin(id, 1)
	}
	if want := "BBBBCCCAA"; string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}
	_ = p.End(1, 1) // B back at its limit
	if got := classicPick(t, ovf, p); got != "B" {
		t.Errorf("after End: got %s, want B", got)
	}
}

// FO fails over and back as the primary goes down and comes up.
func TestFOFailoverAndBack(t *testing.T) {
	p := classicPool(t, 1, 10, 5)
	fo := NewFO()
	steps := []struct {
		change func()
		want   string
	}{
		{func() {}, "B"},
		{func() { _ = p.SetDown(1, true) }, "C"},
		{func() { _ = p.SetWeight(2, 0) }, "A"},
		{func() { _ = p.SetDown(1, false) }, "B"},
		{func() { _ = p.Remove(1) }, "A"},
		{func() { _ = p.SetDown(0, true) }, "-"},
	}
	for i, st := range steps {
		st.change()
		if got := classicPick(t, fo, p); got != st.want {
			t.Errorf("step %d: got %s, want %s", i, got, st.want)
		}
	}
}

func TestFOAndOVFChurn(t *testing.T) {
	for seed := range uint64(3) {
		classicChurn(t, NewFO(), seed, true)
		classicChurn(t, NewOVF(), seed, false) // OVF may refuse usable servers over their limit
	}
}
