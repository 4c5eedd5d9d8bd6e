// Package testbedtest helps privileged tests that build testbeds in network
// namespaces.
//
// Require skips a test when it does not run as root, and never skips it as
// root: there, anything missing is a failure, so that CI (which runs as
// root) cannot pass with the live tests silently skipped. Up brings a
// testbed up under a fresh prefix and registers, before anything is made, a
// cleanup that takes it down and fails the test if any namespace, link or
// process with its prefix is left.
//
//	func TestNetnsSomething(t *testing.T) {
//		tb := testbedtest.Up(t, testbed.Topology{Mode: testbed.L7})
//		err := tb.Do("dir", func() error { ... })
//	}
package testbedtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/lvslab/lvslab/testbed"
)

// Require skips t unless it runs as root. As root it never skips: it fails
// t if the kernel or machine lacks what testbeds need (network namespaces,
// veth and bridge links, a writable /run).
func Require(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces (as root this test never skips)")
	}
	if err := testbed.CheckHost(); err != nil {
		t.Fatalf("running as root, but the machine cannot host a testbed: %v", err)
	}
}

// Up brings up a testbed of topo (its prefix replaced by a fresh one) in a
// temporary run directory, failing t on error. The cleanup that takes it
// down and checks for leftovers is registered first.
func Up(t testing.TB, topo testbed.Topology) *testbed.Testbed {
	t.Helper()
	Require(t)
	topo.Prefix = testbed.NewPrefix()
	runDir := t.TempDir()
	Cleanup(t, runDir, topo.Prefix)
	tb, err := testbed.Up(context.Background(), topo, runDir)
	if err != nil {
		t.Fatalf("testbed up: %v", err)
	}
	return tb
}

// Cleanup registers a cleanup that takes down the testbed of runDir (and
// anything else with prefix) and fails t if something with prefix is left.
// Register it before bringing the testbed up.
func Cleanup(t testing.TB, runDir, prefix string) {
	t.Helper()
	t.Cleanup(func() {
		if _, err := testbed.Down(runDir); err != nil {
			t.Errorf("testbed down %s: %v", runDir, err)
		}
		if _, err := testbed.DownPrefix(prefix); err != nil {
			t.Errorf("testbed down --prefix %s: %v", prefix, err)
		}
		AssertClean(t, prefix)
	})
}

// AssertClean fails t if anything with prefix is left.
func AssertClean(t testing.TB, prefix string) {
	t.Helper()
	left, err := Leftovers(prefix)
	if err != nil {
		t.Errorf("looking for leftovers of %s: %v", prefix, err)
	}
	for _, l := range left {
		t.Errorf("left behind: %s", l)
	}
}

// Leftovers lists what exists with prefix: namespaces, links in the root
// namespace, and live processes carrying the prefix's marker.
func Leftovers(prefix string) ([]string, error) {
	var left []string
	entries, err := os.ReadDir(testbed.NetnsDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix+"-") {
			left = append(left, "namespace "+e.Name())
		}
	}
	links, err := net.Interfaces()
	if err != nil {
		return left, err
	}
	for _, l := range links {
		if strings.HasPrefix(l.Name, prefix+"-") {
			left = append(left, "link "+l.Name)
		}
	}
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", p.Name(), "environ"))
		if err != nil {
			continue // gone, or a zombie
		}
		for _, kv := range strings.Split(string(env), "\x00") {
			if kv == testbed.MarkerEnv+"="+prefix {
				cmd, _ := os.ReadFile(filepath.Join("/proc", p.Name(), "cmdline"))
				left = append(left, fmt.Sprintf("process %d (%s)", pid, strings.ReplaceAll(strings.TrimRight(string(cmd), "\x00"), "\x00", " ")))
			}
		}
	}
	return left, nil
}
