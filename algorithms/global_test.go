package algorithms

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"testing"
)

// Reference: §4.1.5 (global server scheduling: a client-prefix table maps a
// client to its near servers; the least loaded of them is chosen).
func TestGlobalSchedule(t *testing.T) {
	near := []NearServers{
		{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Servers: []ServerID{0, 1}},
		{Prefix: netip.MustParsePrefix("10.1.0.0/16"), Servers: []ServerID{2, 3}},
		{Prefix: netip.MustParsePrefix("2001:db8::/32"), Servers: []ServerID{3}},
		{Prefix: netip.MustParsePrefix("2001:db8:1::/48"), Servers: []ServerID{1, 2}},
		{Prefix: netip.MustParsePrefix("::ffff:172.16.0.0/108"), Servers: []ServerID{4}}, // = 172.16.0.0/12
		{Prefix: netip.MustParsePrefix("192.0.2.0/24"), Servers: []ServerID{99, 4}},      // 99 is not in the pool
	}
	type conns struct{ active, inactive int }
	tests := []struct {
		name    string
		weights []int
		load    []conns // per server
		down    []ServerID
		client  string
		want    ServerID
		wantErr error
	}{
		{name: "v4 longest prefix, tie to first listed", weights: []int{1, 1, 1, 1, 1}, client: "10.1.2.3", want: 2},
		{name: "v4 longest prefix, least loaded", weights: []int{1, 1, 1, 1, 1},
			load: []conns{{}, {}, {2, 0}, {1, 0}, {}}, client: "10.1.2.3", want: 3},
		{name: "v4 shorter prefix", weights: []int{1, 1, 1, 1, 1},
			load: []conns{{3, 0}, {1, 0}, {}, {}, {}}, client: "10.2.0.1", want: 1},
		{name: "inactive counts (overhead active<<8+inactive)", weights: []int{1, 1, 1, 1, 1},
			load: []conns{{1, 2}, {1, 1}, {}, {}, {}}, client: "10.200.0.1", want: 1},
		{name: "weighted: 2 conns on weight 2 ties 1 conn on weight 1, first listed wins", weights: []int{1, 1, 1, 2, 1},
			load: []conns{{}, {}, {1, 0}, {2, 0}, {}}, client: "10.1.0.1", want: 2},
		{name: "weighted: weight breaks the load", weights: []int{1, 1, 1, 4, 1},
			load: []conns{{}, {}, {1, 0}, {3, 0}, {}}, client: "10.1.0.1", want: 3},
		{name: "v6 longest prefix", weights: []int{1, 1, 1, 1, 1},
			load: []conns{{}, {1, 0}, {}, {}, {}}, client: "2001:db8:1::5", want: 2},
		{name: "v6 shorter prefix", weights: []int{1, 1, 1, 1, 1},
			load: []conns{{}, {}, {}, {9, 0}, {}}, client: "2001:db8:2::1", want: 3},
		{name: "v4-mapped client matches v4 prefix", weights: []int{1, 1, 1, 1, 1}, client: "::ffff:10.1.0.1", want: 2},
		{name: "v4-mapped prefix matches v4 client", weights: []int{1, 1, 1, 1, 1}, client: "172.20.1.1", want: 4},
		{name: "unknown near server skipped", weights: []int{1, 1, 1, 1, 1}, client: "192.0.2.7", want: 4},
		{name: "no prefix: WLC over the pool", weights: []int{1, 1, 1, 1, 1},
			load: []conns{{2, 0}, {1, 0}, {1, 0}, {3, 0}, {2, 0}}, client: "198.51.100.1", want: 1},
		{name: "v6 client does not match v4 table", weights: []int{1, 1, 1, 1, 1},
			load: []conns{{1, 0}, {0, 0}, {1, 0}, {1, 0}, {1, 0}}, client: "2001:db9::1", want: 1},
		{name: "no client address: WLC over the pool", weights: []int{2, 1, 1, 1, 1},
			load: []conns{{1, 0}, {1, 0}, {1, 0}, {1, 0}, {1, 0}}, client: "", want: 0},
		{name: "near servers down: WLC over the pool", weights: []int{1, 1, 1, 1, 1},
			load: []conns{{5, 0}, {4, 0}, {}, {}, {1, 0}}, down: []ServerID{2, 3}, client: "10.1.9.9", want: 4},
		{name: "near server weight 0 skipped", weights: []int{1, 1, 0, 1, 1},
			load: []conns{{}, {}, {}, {7, 0}, {}}, client: "10.1.9.9", want: 3},
		{name: "nothing usable", weights: []int{1, 1, 1, 1, 0}, down: []ServerID{0, 1, 2, 3},
			client: "10.1.9.9", wantErr: ErrNoServer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := NewGlobal(near)
			if err != nil {
				t.Fatal(err)
			}
			p, err := NewWeighted(tt.weights...)
			if err != nil {
				t.Fatal(err)
			}
			for i, c := range tt.load {
				if err := p.Adjust(ServerID(i), c.active, c.inactive); err != nil {
					t.Fatal(err)
				}
			}
			for _, id := range tt.down {
				if err := p.SetDown(id, true); err != nil {
					t.Fatal(err)
				}
			}
			r := &Request{}
			if tt.client != "" {
				r.Client = netip.MustParseAddr(tt.client)
			}
			got, err := g.Schedule(0, r, p)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Schedule = %d, %v; want error %v", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Schedule = %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}

func TestGlobalNear(t *testing.T) {
	g, err := NewGlobal([]NearServers{
		{Prefix: netip.MustParsePrefix("10.1.2.3/8"), Servers: []ServerID{7}}, // masked to 10.0.0.0/8
		{Prefix: netip.MustParsePrefix("10.1.0.0/16"), Servers: []ServerID{8}},
		{Prefix: netip.MustParsePrefix("0.0.0.0/0"), Servers: []ServerID{9}},
		{Prefix: netip.MustParsePrefix("::/0"), Servers: []ServerID{6}},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		client string
		want   ServerID
	}{
		{"10.1.0.1", 8}, {"10.9.0.1", 7}, {"11.0.0.1", 9}, {"::1", 6}, {"::ffff:10.1.1.1", 8},
	}
	for _, tt := range tests {
		got := g.Near(netip.MustParseAddr(tt.client))
		if len(got) != 1 || got[0] != tt.want {
			t.Errorf("Near(%s) = %v, want [%d]", tt.client, got, tt.want)
		}
	}
	if got := g.Near(netip.Addr{}); got != nil {
		t.Errorf("Near(invalid) = %v, want nil", got)
	}
}

func TestGlobalOptionsErrors(t *testing.T) {
	tests := []struct {
		name string
		near []NearServers
	}{
		{"invalid prefix", []NearServers{{Servers: []ServerID{1}}}},
		{"duplicate after masking", []NearServers{
			{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Servers: []ServerID{1}},
			{Prefix: netip.MustParsePrefix("10.9.9.9/8"), Servers: []ServerID{2}},
		}},
		{"duplicate v4-mapped", []NearServers{
			{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Servers: []ServerID{1}},
			{Prefix: netip.MustParsePrefix("::ffff:10.0.0.0/104"), Servers: []ServerID{2}},
		}},
		{"no servers", []NearServers{{Prefix: netip.MustParsePrefix("10.0.0.0/8")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New("global", Options{Near: tt.near}); err == nil {
				t.Fatal("New succeeded, want an error")
			}
		})
	}
	if _, err := New("global", Options{}); err != nil {
		t.Fatalf("New with an empty table: %v", err)
	}
}

// The table is copied: changing the caller's slice later has no effect.
func TestGlobalCopiesTable(t *testing.T) {
	near := []NearServers{{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Servers: []ServerID{1}}}
	g, err := NewGlobal(near)
	if err != nil {
		t.Fatal(err)
	}
	near[0].Servers[0] = 0
	p, _ := NewWeighted(1, 1)
	if got, err := g.Schedule(0, &Request{Client: netip.MustParseAddr("10.0.0.1")}, p); err != nil || got != 1 {
		t.Fatalf("Schedule = %d, %v; want 1", got, err)
	}
}

func BenchmarkGlobal(b *testing.B) {
	for _, n := range []int{8, 64, 1024} {
		b.Run(fmt.Sprintf("servers=%d", n), func(b *testing.B) {
			p, _ := NewWeighted(slices.Repeat([]int{1}, n)...)
			var near []NearServers
			for i := range 256 {
				near = append(near, NearServers{
					Prefix:  netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i), 0, 0}), 16),
					Servers: []ServerID{ServerID(i % n), ServerID((i + 1) % n), ServerID((i + 2) % n)},
				})
			}
			g, err := NewGlobal(near)
			if err != nil {
				b.Fatal(err)
			}
			r := &Request{Client: netip.MustParseAddr("10.200.1.1")}
			for b.Loop() {
				id, err := g.Schedule(0, r, p)
				if err != nil {
					b.Fatal(err)
				}
				_ = p.Begin(id, 1)
				_ = p.End(id, 1)
			}
		})
	}
}
