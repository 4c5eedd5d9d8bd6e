package testbed_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/lvslab/lvslab/testbed"
	"github.com/lvslab/lvslab/testbed/testbedtest"
)

// Privileged tests are named TestNetns*: scripts/test.sh fails when one of
// them skips while running as root.

// helperEnv switches the test binary into a helper process (see TestMain).
const helperEnv = "LVSLAB_TESTBED_TEST_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helper(mode))
	}
	testbed.Grace = 300 * time.Millisecond
	os.Exit(m.Run())
}

// helper runs one helper mode of the test binary:
//
//	ifaces    print this namespace's IPv4 addresses
//	stubborn  ignore SIGTERM and wait forever
//	crash-up  bring up the topology of the run dir $RUN_DIR, prefix $PREFIX;
//	          start sleepers in rs1 and dir, print their PIDs, wait forever
func helper(mode string) int {
	switch mode {
	case "ifaces":
		addrs, err := net.InterfaceAddrs()
		if err != nil {
			fmt.Println(err)
			return 1
		}
		for _, a := range addrs {
			fmt.Println(a)
		}
		return 0
	case "stubborn":
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("ready")
		select {}
	case "crash-up":
		servers, _ := strconv.Atoi(os.Getenv("SERVERS"))
		tb, err := testbed.Up(context.Background(), testbed.Topology{Mode: testbed.NAT, Prefix: os.Getenv("PREFIX"), Servers: servers}, os.Getenv("RUN_DIR"))
		if err != nil {
			fmt.Println("error:", err)
			return 1
		}
		for _, node := range []string{"rs1", "dir"} {
			p, err := tb.Start(node, []string{"sleep", "60"}, "")
			if err != nil {
				fmt.Println("error:", err)
				return 1
			}
			fmt.Println(p.PID)
		}
		fmt.Println("ready")
		select {}
	}
	fmt.Fprintln(os.Stderr, "unknown helper mode", mode)
	return 2
}

// helperCmd is a command running the test binary in a helper mode.
func helperCmd(t *testing.T, mode string, env ...string) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), append(env, helperEnv+"="+mode)...)
	return cmd
}

func boolPtr(b bool) *bool { return &b }

// topologies are the modes' layouts the privileged tests run.
var topologies = []struct {
	name string
	topo testbed.Topology
}{
	{"l7", testbed.Topology{Mode: testbed.L7}},
	{"l7-one-segment", testbed.Topology{Mode: testbed.L7, Segments: 1, Clients: 2}},
	{"nat", testbed.Topology{Mode: testbed.NAT, Servers: 3}},
	{"dr", testbed.Topology{Mode: testbed.DR, Clients: 2}},
	{"tun", testbed.Topology{Mode: testbed.TUN, MTU: 9000}},
	{"nat-vip-on-director", testbed.Topology{Mode: testbed.NAT, VIPOnDirector: boolPtr(true),
		Offloads: testbed.Offloads{GRO: true}, Sysctls: map[string]map[string]string{"director": {"net.ipv4.ip_forward": "1"}}}},
}

// TestNetnsModes brings each mode's topology up and checks, through
// netlink, /proc/sys and ethtool, that everything the layout says is
// there; then down, twice.
func TestNetnsModes(t *testing.T) {
	for _, tc := range topologies {
		t.Run(tc.name, func(t *testing.T) {
			tb := testbedtest.Up(t, tc.topo)
			topo, l := tb.Topology, tb.Layout
			rep, err := testbed.Status(tb.RunDir)
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Ready || rep.Prefix != tb.Prefix() || len(rep.Namespaces) != 2+topo.Servers+topo.Clients {
				t.Fatalf("status: ready %v prefix %s, %d namespaces", rep.Ready, rep.Prefix, len(rep.Namespaces))
			}
			byName := map[string]testbed.NSReport{}
			for _, ns := range rep.Namespaces {
				if !ns.Exists {
					t.Errorf("namespace %s missing", ns.Name)
				}
				byName[ns.Name] = ns
			}
			// The switch: bridges and ports, offloads as configured.
			sw := byName[l.Switch]
			for _, name := range l.LinkNames() {
				lr, ok := findLink(sw, name)
				if !ok || !lr.Up || lr.MTU != topo.MTU || lr.Offloads == nil || *lr.Offloads != topo.Offloads {
					t.Errorf("switch link %s: %+v (found %v), want up, mtu %d, offloads %v", name, lr, ok, topo.MTU, topo.Offloads)
				}
			}
			if v, err := testbed.ReadSysctl(l.Switch, "net.bridge.bridge-nf-call-iptables"); err == nil && v != "0" {
				t.Errorf("switch bridge-nf-call-iptables = %s", v)
			}
			vipOnDir := *topo.VIPOnDirector
			var dirMAC string
			for _, n := range l.Nodes {
				ns := byName[n.NS]
				for _, ifc := range n.Ifaces {
					lr, ok := findLink(ns, ifc.Name)
					if !ok || !lr.Up || lr.MTU != topo.MTU || !slices.Contains(lr.Addrs, ifc.Addr.String()) ||
						lr.Offloads == nil || *lr.Offloads != topo.Offloads {
						t.Errorf("%s %s: %+v (found %v), want up, mtu %d, %s, offloads %v", n.NS, ifc.Name, lr, ok, topo.MTU, ifc.Addr, topo.Offloads)
					}
					if n.Role == testbed.RoleDirector && ifc.Name == "eth0" {
						dirMAC = lr.MAC
						if got := slices.Contains(lr.Addrs, l.VIP.String()+"/32"); got != vipOnDir {
							t.Errorf("director eth0 %v: VIP there = %v, want %v", lr.Addrs, got, vipOnDir)
						}
					}
				}
				lo, _ := findLink(ns, "lo")
				if got := slices.Contains(lo.Addrs, l.VIP.String()+"/32"); got != n.VIPOnLo {
					t.Errorf("%s lo %v: VIP there = %v, want %v", n.NS, lo.Addrs, got, n.VIPOnLo)
				}
				hasDefault := slices.ContainsFunc(ns.Routes, func(r string) bool { return strings.HasPrefix(r, "default via ") })
				if want := topo.Mode == testbed.NAT && n.Role == testbed.RoleServer; hasDefault != want {
					t.Errorf("%s routes %v: default route = %v, want %v", n.NS, ns.Routes, hasDefault, want)
				}
				if n.Gateway.IsValid() && !slices.Contains(ns.Routes, "default via "+n.Gateway.String()+" dev eth0") {
					t.Errorf("%s routes %v: no default via %s", n.NS, ns.Routes, n.Gateway)
				}
			}
			for _, c := range l.Clients() {
				want := []string(nil)
				if !vipOnDir {
					want = []string{fmt.Sprintf("%s lladdr %s dev eth0 permanent", l.VIP, dirMAC)}
				}
				if got := byName[c.NS].Neighbours; !slices.Equal(got, want) {
					t.Errorf("%s permanent neighbours %q, want %q", c.NS, got, want)
				}
			}
			// Sysctls, read back in each namespace.
			checkSysctl := func(ns, key, want string) {
				t.Helper()
				if got, err := testbed.ReadSysctl(ns, key); err != nil || got != want {
					t.Errorf("%s %s = %q (%v), want %q", ns, key, got, err, want)
				}
			}
			fwd := "0"
			if topo.Sysctls["director"]["net.ipv4.ip_forward"] == "1" {
				fwd = "1"
			}
			checkSysctl(l.Director().NS, "net.ipv4.ip_forward", fwd)
			checkSysctl(l.Director().NS, "net.ipv4.conf.all.send_redirects", "0")
			checkSysctl(l.Clients()[0].NS, "net.ipv4.conf.eth0.accept_redirects", "0")
			for _, s := range l.Servers() {
				arpIgnore, arpAnnounce := "0", "0"
				if topo.Mode == testbed.DR || topo.Mode == testbed.TUN {
					arpIgnore, arpAnnounce = "1", "2"
				}
				for _, dev := range []string{"all", "lo", "eth0"} {
					checkSysctl(s.NS, "net.ipv4.conf."+dev+".arp_ignore", arpIgnore)
					checkSysctl(s.NS, "net.ipv4.conf."+dev+".arp_announce", arpAnnounce)
				}
				if topo.Mode == testbed.TUN {
					for _, dev := range []string{"all", "default", "eth0"} {
						checkSysctl(s.NS, "net.ipv4.conf."+dev+".rp_filter", "0")
					}
				}
			}

			if _, err := tb.Down(); err != nil {
				t.Fatal(err)
			}
			testbedtest.AssertClean(t, tb.Prefix())
			r, err := testbed.Down(tb.RunDir)
			if err != nil || !r.Empty() {
				t.Errorf("second down: %+v, %v; want nothing to do", r, err)
			}
		})
	}
}

func findLink(ns testbed.NSReport, name string) (testbed.LinkReport, bool) {
	for _, l := range ns.Links {
		if l.Name == name {
			return l, true
		}
	}
	return testbed.LinkReport{}, false
}

// listen opens a TCP echo listener inside node's namespace on addr:0 and
// returns its address; the cleanup closes it.
func listen(t *testing.T, tb *testbed.Testbed, node, addr string) string {
	t.Helper()
	var ln net.Listener
	if err := tb.Do(node, func() (err error) {
		ln, err = net.Listen("tcp4", net.JoinHostPort(addr, "0"))
		return err
	}); err != nil {
		t.Fatalf("listen in %s: %v", node, err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

// dial connects from node's namespace to addr, sends a line and expects it
// back.
func dial(tb *testbed.Testbed, node, addr string) error {
	var c net.Conn
	if err := tb.Do(node, func() (err error) {
		c, err = net.DialTimeout("tcp4", addr, 2*time.Second)
		return err
	}); err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := fmt.Fprintf(c, "hello %s\n", node); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "hello "+node+"\n" {
		return fmt.Errorf("echo %q", line)
	}
	return nil
}

// TestNetnsConnectivity sends TCP traffic through each topology, between
// the testbed's own addresses only (never to the VIP of a forwarding mode,
// which nothing serves yet).
func TestNetnsConnectivity(t *testing.T) {
	type path struct {
		listenNode, listenAddr, from string
		ok                           bool
	}
	srv := func(i int) string { return fmt.Sprintf("198.18.1.%d", 10+i) }
	tests := []struct {
		name  string
		topo  testbed.Topology
		paths []path
	}{
		{"l7", testbed.Topology{Mode: testbed.L7}, []path{
			{"dir", "198.18.0.254", "cl1", true}, // the proxy's VIP
			{"rs1", srv(1), "dir", true},
			{"rs2", srv(2), "dir", true},
			{"rs1", srv(1), "cl1", false}, // clients reach servers only through the proxy
		}},
		{"l7-one-segment", testbed.Topology{Mode: testbed.L7, Segments: 1}, []path{
			{"dir", "198.18.0.254", "cl1", true},
			{"rs1", "198.18.0.11", "cl1", true},
		}},
		{"nat", testbed.Topology{Mode: testbed.NAT}, []path{
			{"rs1", srv(1), "dir", true},
			{"rs2", srv(2), "dir", true},
			{"dir", "198.18.0.1", "cl1", true},
			{"rs1", srv(1), "cl1", false}, // the director's kernel does not forward
		}},
		{"dr", testbed.Topology{Mode: testbed.DR}, []path{
			{"rs1", "198.18.0.11", "dir", true},
			{"rs1", "198.18.0.11", "cl1", true},
			{"rs2", "198.18.0.12", "rs1", true},
		}},
		{"tun", testbed.Topology{Mode: testbed.TUN}, []path{
			{"rs2", "198.18.0.12", "dir", true},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tb := testbedtest.Up(t, tc.topo)
			for _, p := range tc.paths {
				addr := listen(t, tb, p.listenNode, p.listenAddr)
				err := dial(tb, p.from, addr)
				if (err == nil) != p.ok {
					t.Errorf("%s -> %s (%s): %v, want reachable = %v", p.from, p.listenNode, addr, err, p.ok)
				}
			}
			if tc.topo.Mode == testbed.DR {
				checkDRNeighbours(t, tb)
			}
		})
	}
}

// checkDRNeighbours: after the client talked to rs1's real address, its
// neighbour table holds rs1's MAC for that address and still the
// director's for the VIP; the real servers hold the VIP on lo only.
func checkDRNeighbours(t *testing.T, tb *testbed.Testbed) {
	macOf := func(node, dev string) string {
		var mac string
		if err := tb.Do(node, func() error {
			l, err := netlink.LinkByName(dev)
			if err == nil {
				mac = l.Attrs().HardwareAddr.String()
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return mac
	}
	dirMAC, rs1MAC := macOf("dir", "eth0"), macOf("rs1", "eth0")
	var neighs []netlink.Neigh
	if err := tb.Do("cl1", func() (err error) {
		neighs, err = netlink.NeighList(0, unix.AF_INET)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, n := range neighs {
		got[n.IP.String()] = n.HardwareAddr.String()
	}
	if got["198.18.0.11"] != rs1MAC || got[tb.Layout.VIP.String()] != dirMAC {
		t.Errorf("client neighbours %v: want 198.18.0.11 -> %s (rs1), VIP -> %s (director)", got, rs1MAC, dirMAC)
	}
	for _, s := range tb.Layout.Servers() {
		var addrs []netlink.Addr
		if err := tb.Do(s.Name, func() (err error) {
			addrs, err = netlink.AddrList(nil, unix.AF_INET)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		for _, a := range addrs {
			if a.IP.Equal(tb.Layout.VIP.AsSlice()) && (a.LinkIndex != 1 || !strings.HasSuffix(a.IPNet.String(), "/32")) {
				t.Errorf("%s: VIP %s on link %d, want lo /32", s.NS, a.IPNet, a.LinkIndex)
			}
		}
	}
}

// helperArgv runs the test binary in a helper mode through env(1), since
// Start passes on this process's environment.
func helperArgv(t *testing.T, mode string) []string {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return []string{"env", helperEnv + "=" + mode, exe, "-test.run=^$"}
}

// waitFile waits until the file contains want.
func waitFile(t *testing.T, path, want string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		if strings.Contains(string(b), want) || time.Now().After(deadline) {
			return string(b)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestNetnsStart starts processes inside namespaces: they see the
// namespace's interfaces only; the state file records them; Stop ends a
// process that ignores SIGTERM; Status tells alive from dead.
func TestNetnsStart(t *testing.T) {
	tb := testbedtest.Up(t, testbed.Topology{Mode: testbed.NAT})
	p, err := tb.Start("rs2", helperArgv(t, "ifaces"), "ifaces.log")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(tb.RunDir, "ifaces.log"))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(b); !strings.Contains(got, "198.18.1.12/24") || strings.Contains(got, "198.18.1.11/") || strings.Contains(got, "198.18.0.1/") {
		t.Errorf("rs2 sees addresses\n%s\nwant its own (198.18.1.12/24) only", got)
	}

	s, err := tb.Start("dir", helperArgv(t, "stubborn"), "stubborn.log")
	if err != nil {
		t.Fatal(err)
	}
	waitFile(t, filepath.Join(tb.RunDir, "stubborn.log"), "ready")
	st, err := testbed.LoadState(tb.RunDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Procs) != 2 || st.Procs[1].PID != s.PID || st.Procs[1].Start == 0 || st.Procs[1].NS != tb.Layout.Director().NS {
		t.Errorf("state records %+v, want the two processes, the second %d in %s", st.Procs, s.PID, tb.Layout.Director().NS)
	}
	rep, err := testbed.Status(tb.RunDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Procs) != 2 || rep.Procs[0].Alive || !rep.Procs[1].Alive {
		t.Errorf("status processes %+v, want the first dead, the second alive", rep.Procs)
	}
	start := time.Now()
	if err := s.Stop(testbed.Grace); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < testbed.Grace {
		t.Errorf("a process ignoring SIGTERM ended after %v, before the grace %v", d, testbed.Grace)
	}
	if _, err := tb.Start("nosuch", []string{"true"}, ""); err == nil {
		t.Error("Start in an unknown node: no error")
	}
	if _, err := tb.Start("rs1", []string{"/nonexistent/binary"}, ""); err == nil {
		t.Error("Start of a missing binary: no error")
	}
}

func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	return i > 0 && !strings.HasPrefix(string(b[i+1:]), " Z")
}

// TestNetnsCrashCleanup: Down(runDir) alone removes a testbed whose owner
// is gone, processes included: (1) the in-memory Testbed dropped, (2) the
// owner process killed with SIGKILL after Up, (3) killed in the middle of
// Up.
func TestNetnsCrashCleanup(t *testing.T) {
	t.Run("dropped", func(t *testing.T) {
		testbedtest.Require(t)
		prefix, runDir := testbed.NewPrefix(), t.TempDir()
		testbedtest.Cleanup(t, runDir, prefix)
		tb, err := testbed.Up(context.Background(), testbed.Topology{Mode: testbed.DR, Prefix: prefix}, runDir)
		if err != nil {
			t.Fatal(err)
		}
		sleeper, err := tb.Start("rs1", []string{"sleep", "30"}, "")
		if err != nil {
			t.Fatal(err)
		}
		stubborn, err := tb.Start("dir", helperArgv(t, "stubborn"), "stubborn.log")
		if err != nil {
			t.Fatal(err)
		}
		waitFile(t, filepath.Join(runDir, "stubborn.log"), "ready")
		pids := []int{sleeper.PID, stubborn.PID}
		tb = nil // the owner forgets everything; only the run directory remains
		r, err := testbed.Down(runDir)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(r.Procs)
		slices.Sort(pids)
		if !slices.Equal(r.Procs, pids) || len(r.Namespaces) != 5 {
			t.Errorf("down removed %+v, want processes %v and 5 namespaces", r, pids)
		}
		for _, pid := range pids {
			if alive(pid) {
				t.Errorf("process %d alive after down", pid)
			}
		}
		testbedtest.AssertClean(t, prefix)
	})

	t.Run("killed-after-up", func(t *testing.T) {
		testbedtest.Require(t)
		prefix, runDir := testbed.NewPrefix(), t.TempDir()
		testbedtest.Cleanup(t, runDir, prefix)
		cmd := helperCmd(t, "crash-up", "PREFIX="+prefix, "RUN_DIR="+runDir, "SERVERS=2")
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var pids []int
		sc := bufio.NewScanner(out)
		for sc.Scan() && sc.Text() != "ready" {
			pid, err := strconv.Atoi(sc.Text())
			if err != nil {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("helper: %s", sc.Text())
			}
			pids = append(pids, pid)
		}
		cmd.Process.Kill() // kill -9 of the owner
		cmd.Wait()
		for _, pid := range pids {
			if !alive(pid) {
				t.Fatalf("process %d died with its owner; the test proves nothing", pid)
			}
		}
		if _, err := testbed.Down(runDir); err != nil {
			t.Fatal(err)
		}
		for _, pid := range pids {
			if alive(pid) {
				t.Errorf("process %d alive after down", pid)
			}
		}
		testbedtest.AssertClean(t, prefix)
	})

	t.Run("killed-during-up", func(t *testing.T) {
		testbedtest.Require(t)
		prefix, runDir := testbed.NewPrefix(), t.TempDir()
		testbedtest.Cleanup(t, runDir, prefix)
		cmd := helperCmd(t, "crash-up", "PREFIX="+prefix, "RUN_DIR="+runDir, "SERVERS=24")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill it once the intent log shows a few namespaces.
		deadline := time.Now().Add(10 * time.Second)
		for {
			st, err := testbed.LoadState(runDir)
			if err == nil && len(st.Namespaces) >= 4 || time.Now().After(deadline) {
				break
			}
			time.Sleep(time.Millisecond)
		}
		cmd.Process.Kill()
		cmd.Wait()
		st, err := testbed.LoadState(runDir)
		if err != nil {
			t.Fatal(err)
		}
		if st.Ready {
			t.Log("the helper finished Up before it was killed")
		}
		r, err := testbed.Down(runDir)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Namespaces) < 3 {
			t.Errorf("down removed %v, want the namespaces the helper made", r.Namespaces)
		}
		testbedtest.AssertClean(t, prefix)
	})
}

// TestNetnsCoexist: two testbeds with the same addresses run side by side;
// taking one down leaves the other working.
func TestNetnsCoexist(t *testing.T) {
	a := testbedtest.Up(t, testbed.Topology{Mode: testbed.L7})
	b := testbedtest.Up(t, testbed.Topology{Mode: testbed.L7})
	for _, tb := range []*testbed.Testbed{a, b} {
		if err := dial(tb, "cl1", listen(t, tb, "dir", "198.18.0.254")); err != nil {
			t.Errorf("%s: %v", tb.Prefix(), err)
		}
	}
	if _, err := a.Down(); err != nil {
		t.Fatal(err)
	}
	testbedtest.AssertClean(t, a.Prefix())
	rep, err := testbed.Status(b.RunDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range rep.Namespaces {
		if !ns.Exists {
			t.Errorf("%s gone with the other testbed", ns.Name)
		}
	}
	if err := dial(b, "dir", listen(t, b, "rs2", "198.18.1.12")); err != nil {
		t.Errorf("%s after the other went down: %v", b.Prefix(), err)
	}
}

// TestNetnsDownIdempotent: down twice is no error; a testbed whose run
// directory is lost goes down by its prefix.
func TestNetnsDownIdempotent(t *testing.T) {
	tb := testbedtest.Up(t, testbed.Topology{Mode: testbed.TUN})
	if _, err := tb.Start("rs1", []string{"sleep", "30"}, ""); err != nil {
		t.Fatal(err)
	}
	// A stray veth pair in the root namespace with the testbed's names (a
	// testbed makes none; a future one might): down --prefix removes it.
	stray := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: tb.Prefix() + "-rs1"}, PeerName: tb.Prefix() + "-cl1"}
	if err := netlink.LinkAdd(stray); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(tb.RunDir); err != nil {
		t.Fatal(err)
	}
	if r, err := testbed.Down(tb.RunDir); err != nil || !r.Empty() {
		t.Fatalf("down without a run directory: %+v, %v; want nothing done", r, err)
	}
	prefixes, err := testbed.Prefixes()
	if err != nil || !slices.Contains(prefixes, tb.Prefix()) {
		t.Fatalf("Prefixes() = %v, %v; want %s among them", prefixes, err, tb.Prefix())
	}
	r, err := testbed.DownPrefix(tb.Prefix())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Namespaces) != 5 || len(r.Procs) != 1 || len(r.Links) == 0 {
		t.Errorf("down --prefix removed %+v, want 5 namespaces, the process and the stray links", r)
	}
	testbedtest.AssertClean(t, tb.Prefix())
	for range 2 {
		if r, err := testbed.DownPrefix(tb.Prefix()); err != nil || !r.Empty() {
			t.Errorf("down --prefix again: %+v, %v; want nothing done", r, err)
		}
	}
}

// TestNetnsOpen: a testbed reopened from its run directory starts
// processes and goes down like the original.
func TestNetnsOpen(t *testing.T) {
	tb := testbedtest.Up(t, testbed.Topology{Mode: testbed.L7, Servers: 1})
	again, err := testbed.Open(tb.RunDir)
	if err != nil {
		t.Fatal(err)
	}
	if again.Prefix() != tb.Prefix() || again.Topology.String() != tb.Topology.String() || len(again.Layout.Nodes) != 3 {
		t.Fatalf("reopened %s %+v, want %s %+v", again.Prefix(), again.Topology, tb.Prefix(), tb.Topology)
	}
	p, err := again.Start("rs1", []string{"sleep", "30"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := dial(again, "cl1", listen(t, again, "dir", "198.18.0.254")); err != nil {
		t.Error(err)
	}
	r, err := again.Down()
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Done():
	default:
		t.Error("the process is not reaped after Down")
	}
	if len(r.Namespaces) != 4 {
		t.Errorf("down removed %+v", r)
	}
	testbedtest.AssertClean(t, tb.Prefix())
	if _, err := testbed.Open(tb.RunDir); !errors.Is(err, testbed.ErrNoState) {
		t.Errorf("open after down: %v", err)
	}
}

// countdown is a context cancelled at its n-th Err call: Up checks its
// context between steps, so each n cancels Up at a different step.
type countdown struct {
	context.Context
	n int
}

func (c *countdown) Err() error {
	if c.n--; c.n < 0 {
		return context.Canceled
	}
	return nil
}

// TestNetnsRollback: an Up that fails or is cancelled halfway leaves
// nothing, and its error says why.
func TestNetnsRollback(t *testing.T) {
	testbedtest.Require(t)
	bad := testbed.Topology{Mode: testbed.DR, Sysctls: map[string]map[string]string{"servers": {"net.ipv4.conf.*.no_such_sysctl": "1"}}}
	prefix, runDir := testbed.NewPrefix(), t.TempDir()
	testbedtest.Cleanup(t, runDir, prefix)
	bad.Prefix = prefix
	_, err := testbed.Up(context.Background(), bad, runDir)
	if err == nil || !strings.Contains(err.Error(), "no_such_sysctl") {
		t.Fatalf("up with an unknown sysctl: %v, want an error naming it", err)
	}
	testbedtest.AssertClean(t, prefix)
	if _, err := testbed.LoadState(runDir); !errors.Is(err, testbed.ErrNoState) {
		t.Errorf("state after rollback: %v", err)
	}

	for _, n := range []int{0, 1, 3, 6, 9} {
		prefix, runDir := testbed.NewPrefix(), t.TempDir()
		testbedtest.Cleanup(t, runDir, prefix)
		_, err := testbed.Up(&countdown{context.Background(), n}, testbed.Topology{Mode: testbed.L7, Prefix: prefix}, runDir)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled at check %d: %v", n, err)
		}
		testbedtest.AssertClean(t, prefix)
	}
}

// TestNetnsUpRefuses: a run directory holding a testbed, and a prefix in
// use, are errors.
func TestNetnsUpRefuses(t *testing.T) {
	tb := testbedtest.Up(t, testbed.Topology{Mode: testbed.L7})
	if _, err := testbed.Up(context.Background(), testbed.Topology{Mode: testbed.L7}, tb.RunDir); err == nil || !strings.Contains(err.Error(), "take it down first") {
		t.Errorf("up in a used run directory: %v", err)
	}
	if _, err := testbed.Up(context.Background(), testbed.Topology{Mode: testbed.L7, Prefix: tb.Prefix()}, t.TempDir()); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("up with a prefix in use: %v", err)
	}
}

// The namespace handles the tests use are closed: a leaked one would keep
// a deleted namespace alive.
var _ = netns.None
