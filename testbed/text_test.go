package testbed_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/lvslab/lvslab/testbed"
)

// TestRemovedText checks what down prints, merged over several testbeds.
func TestRemovedText(t *testing.T) {
	var b bytes.Buffer
	(&testbed.Removed{}).WriteText(&b)
	if b.String() != "nothing to do\n" {
		t.Errorf("empty: %q", b.String())
	}
	total := &testbed.Removed{}
	total.Merge(&testbed.Removed{Prefixes: []string{"lt1"}, Procs: []int{7}, Namespaces: []string{"lt1-dir", "lt1-sw"}})
	total.Merge(&testbed.Removed{Prefixes: []string{"lt1", "lt2"}, Namespaces: []string{"lt2-sw"}, Links: []string{"lt2-v0"}})
	total.Merge(nil)
	b.Reset()
	total.WriteText(&b)
	want := "removed testbed lt1, lt2: 1 processes stopped, 3 namespaces deleted, 1 root links deleted (lt2-v0)\n  lt1-dir lt1-sw lt2-sw\n"
	if b.String() != want {
		t.Errorf("got\n%q\nwant\n%q", b.String(), want)
	}
}

// TestReportText checks what status prints for a testbed: its state, the
// links of each namespace (lo only when it has more than the loopback
// address), the default route, the neighbours and the processes.
func TestReportText(t *testing.T) {
	r := &testbed.Report{RunDir: "/run/x/lt1", Prefix: "lt1", Name: "web", Mode: "dr", VIP: "198.18.0.254",
		Created: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		Namespaces: []testbed.NSReport{
			{Name: "lt1-dir", Exists: true, Links: []testbed.LinkReport{
				{Name: "lo", Kind: "device", Up: true, MTU: 65536, Addrs: []string{"127.0.0.1/8"}},
				{Name: "eth0", Kind: "veth", Up: true, MTU: 1500, Addrs: []string{"198.18.0.1/24"}, Offloads: &testbed.Offloads{}}},
				Routes: []string{"198.18.0.0/24 dev eth0", "default via 198.18.0.254"}, Neighbours: []string{"198.18.0.254 lladdr 02:00:00:00:00:01"}},
			{Name: "lt1-rs1"},
		},
		Procs: []testbed.ProcReport{{PID: 42, NS: "lt1-rs1", Argv: []string{"backend"}, Alive: true}},
	}
	var b bytes.Buffer
	r.WriteText(&b)
	out := b.String()
	for _, want := range []string{
		`testbed lt1 "web": mode dr, VIP 198.18.0.254, NOT READY`, "created 2025-01-02 03:04:05Z; run directory /run/x/lt1",
		"lt1-dir  eth0", "veth up mtu 1500", "198.18.0.1/24", "route      default via 198.18.0.254",
		"neighbour  198.18.0.254 lladdr", "lt1-rs1  missing", "process 42 alive in lt1-rs1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status text lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "127.0.0.1/8") {
		t.Errorf("status text shows a bare loopback:\n%s", out)
	}
}
