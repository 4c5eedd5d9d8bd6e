package testbed_test

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/lvslab/lvslab/testbed"
)

// TestTopologyFiles: every file in testdata/ and examples/testbed/ parses,
// resolves and lays out with names that fit IFNAMSIZ.
func TestTopologyFiles(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.yaml")
	more, _ := filepath.Glob("../examples/testbed/*.yaml")
	files = append(files, more...)
	if len(files) < 6 {
		t.Fatalf("only %d topology files", len(files))
	}
	if _, err := testbed.ReadTopologyFile("testdata/none.yaml"); err == nil || !strings.Contains(err.Error(), "testdata/none.yaml") {
		t.Errorf("a missing file: %v", err)
	}
	for _, f := range files {
		topo, err := testbed.ReadTopologyFile(f)
		if err != nil {
			t.Error(err)
			continue
		}
		topo.Prefix = testbed.NewPrefix()
		for _, name := range topo.Layout().LinkNames() {
			if len(name) > testbed.IFNameSize {
				t.Errorf("%s: link name %q too long", f, name)
			}
		}
	}
}

// TestParseTopologyErrors: bad input is an error naming the key and its
// line.
func TestParseTopologyErrors(t *testing.T) {
	tests := []struct{ yaml, want string }{
		{"", "empty file"},
		{"mode: l7\nservrs: 3\n", `line 2: unknown key "servrs"`},
		{"mode: l7\noffloads:\n  tx: false\n  txx: true\n", `line 4: unknown key "txx"`},
		{"mode: l7\nservers: many\n", `line 2: cannot unmarshal !!str ` + "`many`"},
		{"name: x\n", "mode: missing"},
		{"name: x\nmode: ipip\n", `line 2: mode: unknown mode "ipip"`},
		{"mode: l7\n\nservers: 65\n", "line 3: servers: 65: want 1 to 64"},
		{"mode: l7\nservers: -1\n", "line 2: servers: -1"},
		{"mode: dr\nclients: 100\n", "line 2: clients: 100: want 1 to 64"},
		{"mode: nat\nsegments: 1\n", "line 2: segments: nat needs 2 segments"},
		{"mode: dr\nsegments: 2\n", "line 2: segments: dr needs 1 segment"},
		{"mode: l7\nsegments: 3\n", "line 2: segments: 3: want 1 or 2"},
		{"mode: l7\nclient_net: 10.0.0.0/24\n", "line 2: client_net: 10.0.0.0/24 is outside 198.18.0.0/15"},
		{"mode: l7\nclient_net: 198.18.0.5/24\n", "line 2: client_net: 198.18.0.5/24 has host bits set"},
		{"mode: l7\nclient_net: 198.18.0.0/28\n", "line 2: client_net: 198.18.0.0/28: want a /16 to /24"},
		{"mode: l7\nclient_net: nonsense\n", `line 2: client_net: "nonsense": want an IPv4 network`},
		{"mode: l7\nserver_net: 198.18.0.0/23\n", "line 2: server_net: 198.18.0.0/23 overlaps client_net"},
		{"mode: dr\nserver_net: 198.18.1.0/24\n", "line 2: server_net: set, but the topology has one segment"},
		{"mode: l7\nvip: 198.18.1.5\n", "line 2: vip: 198.18.1.5 is not a host address of client_net"},
		{"mode: l7\nvip: 198.18.0.255\n", "line 2: vip: 198.18.0.255 is not a host address"},
		{"mode: l7\nvip: fe80::1\n", `line 2: vip: "fe80::1": want an IPv4 address`},
		{"mode: l7\nvip: 198.18.0.1\n", "line 2: vip: 198.18.0.1 is both vip and"},
		{"mode: dr\nvip: 198.18.0.12\n", "line 2: vip: 198.18.0.12 is both"},
		{"mode: l7\nvip_on_director: false\n", "line 2: vip_on_director: l7 needs the VIP on the director"},
		{"mode: l7\nmtu: 100\n", "line 2: mtu: 100: want 1280 to 65535"},
		{"mode: l7\nprefix: toolongprefix\n", `line 2: prefix: "toolongprefix"`},
		{"mode: l7\nprefix: LT1\n", `line 2: prefix: "LT1"`},
		{"mode: l7\nprefix: ab\n", `line 2: prefix: "ab"`},
		{"mode: l7\nsysctls:\n  routers: {net.ipv4.ip_forward: 1}\n", "line 3: sysctls.routers: unknown role"},
		{"mode: l7\nsysctls:\n  director:\n    kernel.panic: 1\n", "line 4: sysctls.director.kernel.panic: not a sysctl name under net."},
		{"mode: l7\nsysctls:\n  director:\n    net.ipv4/../x: 1\n", "line 4: sysctls.director.net.ipv4/../x: not a sysctl name"},
		{"mode: l7\nsysctls:\n  all:\n    net.ipv4.ip_forward: \"\"\n", `line 4: sysctls.all.net.ipv4.ip_forward: value ""`},
		{"mode: l7\n---\nmode: dr\n", "more than one YAML document"},
		{"- mode: l7\n", "cannot unmarshal !!seq"},
		{"mode: [l7\n", "line 1"},
	}
	for _, tc := range tests {
		_, err := testbed.ParseTopology([]byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one containing %q", tc.yaml, err, tc.want)
		}
	}
}

// TestResolveDefaults: the zero values select the documented defaults.
func TestResolveDefaults(t *testing.T) {
	tests := []struct {
		in                    testbed.Topology
		segments              int
		serverNet, vip        string
		vipOnDirector         bool
		clients, servers, mtu int
	}{
		{testbed.Topology{Mode: testbed.L7}, 2, "198.18.1.0/24", "198.18.0.254", true, 1, 2, 1500},
		{testbed.Topology{Mode: testbed.L7, Segments: 1}, 1, "", "198.18.0.254", true, 1, 2, 1500},
		{testbed.Topology{Mode: testbed.NAT, Servers: 5, MTU: 9000}, 2, "198.18.1.0/24", "198.18.0.254", false, 1, 5, 9000},
		{testbed.Topology{Mode: testbed.DR, ClientNet: "198.19.0.0/16"}, 1, "", "198.19.0.254", false, 1, 2, 1500},
		{testbed.Topology{Mode: testbed.TUN, Clients: 3, VIP: "198.18.0.7"}, 1, "", "198.18.0.7", false, 3, 2, 1500},
	}
	for _, tc := range tests {
		r, err := tc.in.Resolve()
		if err != nil {
			t.Errorf("%+v: %v", tc.in, err)
			continue
		}
		if r.Segments != tc.segments || r.ServerNet != tc.serverNet || r.VIP != tc.vip || *r.VIPOnDirector != tc.vipOnDirector ||
			r.Clients != tc.clients || r.Servers != tc.servers || r.MTU != tc.mtu || r.ClientNet == "" || r.Offloads != (testbed.Offloads{}) {
			t.Errorf("%+v resolved to %+v", tc.in, r)
		}
		if again, err := r.Resolve(); err != nil || again.String() != r.String() {
			t.Errorf("resolving twice changed %s into %s (%v)", r, again, err)
		}
	}
}

// TestLayout: the address plan and names of each mode.
func TestLayout(t *testing.T) {
	topo, err := testbed.Topology{Mode: testbed.NAT, Prefix: "lt0a1b2c", Servers: 2, Clients: 2}.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	l := topo.Layout()
	var got []string
	for _, n := range l.Nodes {
		line := fmt.Sprintf("%s %s", n.NS, n.Role)
		for _, ifc := range n.Ifaces {
			line += fmt.Sprintf(" %s=%s@%s(%s)", ifc.Name, ifc.Addr, ifc.Bridge, ifc.Port)
		}
		if n.Gateway.IsValid() {
			line += " via " + n.Gateway.String()
		}
		got = append(got, line)
	}
	want := []string{
		"lt0a1b2c-dir director eth0=198.18.0.1/24@lt0a1b2c-br0(lt0a1b2c-dir0) eth1=198.18.1.1/24@lt0a1b2c-br1(lt0a1b2c-dir1)",
		"lt0a1b2c-rs1 server eth0=198.18.1.11/24@lt0a1b2c-br1(lt0a1b2c-rs1) via 198.18.1.1",
		"lt0a1b2c-rs2 server eth0=198.18.1.12/24@lt0a1b2c-br1(lt0a1b2c-rs2) via 198.18.1.1",
		"lt0a1b2c-cl1 client eth0=198.18.0.101/24@lt0a1b2c-br0(lt0a1b2c-cl1)",
		"lt0a1b2c-cl2 client eth0=198.18.0.102/24@lt0a1b2c-br0(lt0a1b2c-cl2)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("nat layout:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if ns := l.Namespaces(); len(ns) != 6 || ns[0] != "lt0a1b2c-sw" {
		t.Errorf("namespaces %v", ns)
	}

	dr, err := testbed.Topology{Mode: testbed.DR, Prefix: "lt1", Servers: 64, Clients: 64}.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	l = dr.Layout()
	if len(l.Bridges) != 1 || l.VIP != netip.MustParseAddr("198.18.0.254") {
		t.Errorf("dr: bridges %v, VIP %s", l.Bridges, l.VIP)
	}
	for _, n := range l.Nodes {
		if n.Ifaces[0].Bridge != "lt1-br0" || n.VIPOnLo != (n.Role == testbed.RoleServer) || n.Gateway.IsValid() {
			t.Errorf("dr node %+v", n)
		}
	}
	last := l.Nodes[len(l.Nodes)-1]
	if last.NS != "lt1-cl64" || last.Ifaces[0].Addr.String() != "198.18.0.164/24" {
		t.Errorf("dr last client %+v", last)
	}
	if n, ok := l.Node("rs64"); !ok || n.Ifaces[0].Addr.String() != "198.18.0.74/24" {
		t.Errorf("dr rs64 %+v", n)
	}
}

// TestNames: the longest prefix with the most nodes still fits IFNAMSIZ;
// fresh prefixes are valid and differ; SplitNS recognises only testbed
// namespaces.
func TestNames(t *testing.T) {
	topo, err := testbed.Topology{Mode: testbed.L7, Prefix: "ltabcdef", Servers: testbed.MaxServers, Clients: testbed.MaxClients}.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	names := topo.Layout().LinkNames()
	if len(names) != 2+2+testbed.MaxServers+testbed.MaxClients {
		t.Errorf("%d link names", len(names))
	}
	for _, n := range append(names, topo.Layout().Namespaces()...) {
		if len(n) > testbed.IFNameSize || !strings.HasPrefix(n, "ltabcdef-") {
			t.Errorf("name %q: longer than %d or without the prefix", n, testbed.IFNameSize)
		}
	}
	re := regexp.MustCompile(`^lt[0-9a-f]{6}$`)
	seen := map[string]bool{}
	for range 50 {
		p := testbed.NewPrefix()
		if !re.MatchString(p) || testbed.ValidPrefix(p) != nil {
			t.Errorf("NewPrefix() = %q", p)
		}
		seen[p] = true
	}
	if len(seen) < 45 {
		t.Errorf("NewPrefix repeats: %d distinct of 50", len(seen))
	}
	for _, tc := range []struct {
		ns, prefix, node string
	}{
		{"lt0a1b2c-dir", "lt0a1b2c", "dir"},
		{"lt0a1b2c-rs12", "lt0a1b2c", "rs12"},
		{"lt-cl1", "lt", "cl1"},
		{"ltx-sw", "ltx", "sw"},
		{"lt0a1b2c-rs0", "", ""},
		{"lt0a1b2c-foo", "", ""},
		{"docker-dir", "", ""},
		{"lt0a1b2c", "", ""},
		{"lt0a1b2c-rs1-x", "", ""},
	} {
		p, n, ok := testbed.SplitNS(tc.ns)
		if p != tc.prefix || n != tc.node || ok != (tc.prefix != "") {
			t.Errorf("SplitNS(%q) = %q, %q, %v", tc.ns, p, n, ok)
		}
	}
	for _, tc := range []struct {
		link, prefix string
	}{
		{"lt0a1b2c-br0", "lt0a1b2c"},
		{"lt0a1b2c-dir1", "lt0a1b2c"},
		{"lt0a1b2c-rs64", "lt0a1b2c"},
		{"lt0a1b2c-cl1", "lt0a1b2c"},
		{"lt0a1b2c-br2", ""},
		{"lt0a1b2c-sw", ""},
		{"lte-foo", ""},
		{"eth0", ""},
		{"lt-eth0", ""},
	} {
		p, _, ok := testbed.SplitLink(tc.link)
		if p != tc.prefix || ok != (tc.prefix != "") {
			t.Errorf("SplitLink(%q) = %q, %v", tc.link, p, ok)
		}
	}
	// Every link a layout makes is recognised as the testbed's.
	for _, name := range topo.Layout().LinkNames() {
		if p, _, ok := testbed.SplitLink(name); !ok || p != "ltabcdef" {
			t.Errorf("SplitLink(%q) = %q, %v", name, p, ok)
		}
	}
}

// TestDerive: a topology from a cluster size and a mode.
func TestDerive(t *testing.T) {
	for _, m := range testbed.Modes {
		for _, n := range []int{1, 7, 64} {
			topo, err := testbed.Derive(m, n)
			if err != nil {
				t.Errorf("%s %d: %v", m, n, err)
				continue
			}
			if topo.Mode != m || topo.Servers != n || topo.Clients != 1 || topo.MTU != 1500 || topo.VIPOnDirector == nil {
				t.Errorf("Derive(%s, %d) = %+v", m, n, topo)
			}
			if got := len(topo.Layout().Servers()); got != n {
				t.Errorf("Derive(%s, %d): %d servers laid out", m, n, got)
			}
		}
	}
	for _, bad := range []struct {
		m testbed.Mode
		n int
	}{{testbed.L7, 0}, {testbed.NAT, 65}, {"l4", 2}, {testbed.DR, -3}} {
		if _, err := testbed.Derive(bad.m, bad.n); err == nil {
			t.Errorf("Derive(%s, %d): no error", bad.m, bad.n)
		}
	}
}

// TestLoadStateErrors: a damaged state file is an error naming it, never a
// reason to touch namespaces that are not the testbed's.
func TestLoadStateErrors(t *testing.T) {
	tests := []struct{ content, want string }{
		{"{", "unexpected end of JSON"},
		{`{"format": 2, "prefix": "lt1"}`, "format 2, want 1"},
		{`{"format": 1, "prefix": "docker"}`, `prefix "docker"`},
		{`{"format": 1, "prefix": "lt1", "namespaces": ["lt1-dir", "lt2-dir"]}`, `namespace "lt2-dir" does not belong`},
		{`{"format": 1, "prefix": "lt1", "namespaces": ["lt1-dir", "default"]}`, `namespace "default" does not belong`},
	}
	for _, tc := range tests {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, testbed.StateFile), []byte(tc.content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := testbed.LoadState(dir)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), dir) {
			t.Errorf("%s: %v, want an error naming the file and containing %q", tc.content, err, tc.want)
		}
	}
	if _, err := testbed.LoadState(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no state file") {
		t.Errorf("empty run dir: %v", err)
	}
}

// FuzzParseTopology: any input gives a topology or an error, never a
// panic; a topology that parses is valid, and lays out names that fit.
func FuzzParseTopology(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, file := range files {
		b, _ := os.ReadFile(file)
		f.Add(b)
	}
	f.Add([]byte("mode: l7\nservers: 64\nclients: 64\nprefix: ltzzzzzz\n"))
	f.Add([]byte("mode: dr\nvip: 198.18.0.3\nclient_net: 198.19.255.0/24\n"))
	f.Add([]byte("mode: nat\nsysctls: {all: {net.ipv4.conf.*.rp_filter: 2}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		topo, err := testbed.ParseTopology(data)
		if err != nil {
			if err.Error() == "" {
				t.Error("empty error")
			}
			return
		}
		again, err := topo.Resolve()
		if err != nil || again.String() != topo.String() {
			t.Fatalf("a parsed topology does not resolve to itself: %v\n%s\n%s", err, topo, again)
		}
		if topo.Prefix == "" {
			topo.Prefix = "ltffffff"
		}
		l := topo.Layout()
		for _, n := range l.LinkNames() {
			if len(n) > testbed.IFNameSize {
				t.Fatalf("link name %q too long", n)
			}
		}
		bench := netip.MustParsePrefix("198.18.0.0/15")
		for _, n := range l.Nodes {
			for _, ifc := range n.Ifaces {
				if !bench.Contains(ifc.Addr.Addr()) {
					t.Fatalf("%s: address %s outside %s", n.NS, ifc.Addr, bench)
				}
			}
		}
	})
}
