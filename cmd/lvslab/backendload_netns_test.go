package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lvslab/lvslab/testbed"
	"github.com/lvslab/lvslab/testbed/backend"
	"github.com/lvslab/lvslab/testbed/load"
	"github.com/lvslab/lvslab/testbed/testbedtest"
	"github.com/lvslab/lvslab/traces"
	"github.com/lvslab/lvslab/workbench"
)

// nsDialer returns a dial function whose sockets are opened inside node's
// namespace: one goroutine runs in the namespace (Testbed.Do) and dials
// for everyone until the test ends.
func nsDialer(t *testing.T, tb *testbed.Testbed, node string) func(context.Context, string, string) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	type request struct {
		ctx           context.Context
		network, addr string
		res           chan result
	}
	reqs := make(chan request)
	done := make(chan error, 1)
	go func() {
		done <- tb.Do(node, func() error {
			for r := range reqs {
				var d net.Dialer
				c, err := d.DialContext(r.ctx, r.network, r.addr)
				r.res <- result{c, err}
			}
			return nil
		})
	}()
	t.Cleanup(func() {
		close(reqs)
		if err := <-done; err != nil {
			t.Errorf("dialer in %s: %v", node, err)
		}
	})
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		r := request{ctx, network, addr, make(chan result, 1)}
		select {
		case reqs <- r:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		res := <-r.res
		return res.c, res.err
	}
}

// TestNetnsBackendLoad runs the built lvslab's back end in a real-server
// namespace of an l7 testbed and loads it from a client namespace, straight
// at the real server's address (no director): with the load package
// (keep-alive), with "lvslab load" (HTTP/1.0) as a process, and with the
// back end's process killed in the middle of a run, where every request is
// still accounted for. The testbed's cleanup checks that nothing is left.
func TestNetnsBackendLoad(t *testing.T) {
	testbedtest.Require(t)
	bin := filepath.Join(t.TempDir(), "lvslab")
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build lvslab: %v", err)
	}
	if out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// One segment: the client reaches the real server without the director.
	tb := testbedtest.Up(t, testbed.Topology{Mode: testbed.L7, Segments: 1, Servers: 1, Clients: 1})
	addr := net.JoinHostPort(tb.Layout.Servers()[0].Ifaces[0].Addr.Addr().String(), "8080")
	url := "http://" + addr
	dial := nsDialer(t, tb, "cl1")
	w, err := traces.LoadDefault(traces.ReferenceFilter())
	if err != nil {
		t.Fatal(err)
	}
	logs := func() string {
		var s string
		for _, f := range []string{"rs1.log", "cl1.log"} {
			data, _ := os.ReadFile(filepath.Join(tb.RunDir, f))
			s += fmt.Sprintf("\n%s:\n%s", f, data)
		}
		return s
	}
	startBackend := func() *testbed.Proc {
		p, err := tb.Start("rs1", []string{bin, "backend", "--listen", addr, "--trace", "default", "--time-scale", "20", "--name", "rs1"}, "rs1.log")
		if err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(30 * time.Second); ; {
			c, err := dial(context.Background(), "tcp", addr)
			if err == nil {
				c.Close()
				return p
			}
			select {
			case <-p.Done():
				t.Fatalf("lvslab backend ended: %v%s", p.Wait(), logs())
			case <-time.After(20 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("lvslab backend does not listen on %s: %v%s", addr, err, logs())
			}
		}
	}
	p := startBackend()
	loadURL := url + backend.DefaultLoadPath

	// The load package, in the client namespace through the dialer.
	res, err := load.Run(context.Background(), load.Config{URL: url, Workload: w, Requests: 1500, Dial: dial, LoadURLs: []string{loadURL}})
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Check(); err != nil {
		t.Fatal(err)
	}
	if be := res.Backends[0]; res.OK != 1500 || be.Err != "" || be.Requests != 1500 || be.Hits != int64(res.Hits) || be.TimeScale != 20 || be.After.Name != "rs1" {
		t.Fatalf("%d ok, failures %v; back end %+v", res.OK, res.Failures, be)
	}

	// "lvslab load" as a process in the client namespace, HTTP/1.0.
	out := filepath.Join(tb.RunDir, "live.json")
	lp, err := tb.Start("cl1", []string{bin, "load", "--target", url, "--requests", "500", "--http10", "--alg", "direct",
		"--backend-load", loadURL, "-o", out}, "cl1.log")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-lp.Done():
	case <-time.After(60 * time.Second):
		t.Fatalf("lvslab load does not end%s", logs())
	}
	if err := lp.Wait(); err != nil {
		t.Fatalf("lvslab load: %v%s", err, logs())
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := workbench.ReadResults(out, f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if r := rs[0]; r.Completed != 500 || len(r.Nodes) != 1 || r.Nodes[0].Requests != 500 {
		t.Errorf("results of lvslab load: %+v", r)
	}

	// The back end killed (SIGKILL) in the middle of a run.
	killed := make(chan struct{})
	go func() {
		defer close(killed)
		for {
			c, err := dial(context.Background(), "tcp", addr)
			if err != nil {
				return
			}
			c.Close()
			l, err := load.Run(context.Background(), load.Config{URL: url, Workload: w, Requests: 1, Dial: dial, LoadURLs: []string{loadURL}})
			if err == nil && len(l.Backends) == 1 && l.Backends[0].After.Requests >= 2200 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		unix.Kill(p.PID, unix.SIGKILL)
	}()
	res, err = load.Run(context.Background(), load.Config{URL: url, Workload: w, Concurrency: 8, Dial: dial, Timeout: 20 * time.Second})
	<-killed
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Check(); err != nil {
		t.Fatal(err)
	}
	t.Logf("back end killed: %d ok, %d failed %v, %d retried", res.OK, res.Failed, res.Failures, res.Retries)
	if res.OK == 0 || res.Failed == 0 || res.Unsent != 0 || res.OK+res.Failed != len(w.Requests) {
		t.Fatalf("after the kill: %d ok, %d failed %v, %d unsent", res.OK, res.Failed, res.Failures, res.Unsent)
	}
	// A killed back end fails requests at the connection level (refused,
	// or on a loaded machine another connect error), never with a bad
	// status or a malformed response.
	for reason, n := range res.Failures {
		if !slices.Contains([]string{load.ReasonRefused, load.ReasonConnect, load.ReasonConnectTimeout, load.ReasonReset, load.ReasonClosed}, reason) {
			t.Errorf("%d requests failed with reason %q", n, reason)
		}
	}
	for i, r := range res.Records {
		if r.Reason != "" && r.Err == "" {
			t.Fatalf("request %d failed without an error: %+v", i, r)
		}
	}
	select {
	case <-p.Done():
	case <-time.After(10 * time.Second):
		t.Error("the killed back end is still running")
	}
}
