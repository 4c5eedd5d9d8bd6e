package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lvslab/lvslab/testbed/testbedtest"
	"github.com/lvslab/lvslab/workbench"
)

// l4Methods are the layer-4 director's forwarding methods, with the
// network of the real servers in each method's testbed (nat: the server
// segment; dr and tun: the one segment); real server i is host 10+i.
var l4Methods = []struct{ method, net string }{
	{"nat", "198.18.1."},
	{"tun", "198.18.0."},
	{"dr", "198.18.0."},
}

// l4ValidateRequests and l4ValidateScale are the trace prefix and time
// scale CI validates the layer-4 director at: six cells per method (WRR,
// WLC, DFLB; HTTP/1.0 and keep-alive) of about 11 s each. The busiest
// cell then asks for about 2 × 196 = 392 live requests/s, well below the
// 562 at which the layer-7 validation agrees within 3% on a busy machine.
const (
	l4ValidateRequests = 3500
	l4ValidateScale    = "2"
)

// TestNetnsValidateL4 is the layer-4 validation CI runs, in each forwarding
// method: the shipped experiment (WRR, WLC, DFLB on 4 nodes, HTTP/1.0 and
// keep-alive) on the first 3,500 requests of its trace at time scale 2, in
// simulation and live through the user-space director; every live
// throughput within ±15% of the simulated one and the same ranking, every
// request of every cell served, nothing left behind. About 70 s per method on two cores.
func TestNetnsValidateL4(t *testing.T) {
	testbedtest.Require(t)
	bin := liveBinary(t)
	for _, m := range l4Methods {
		t.Run(m.method, func(t *testing.T) {
			out := t.TempDir()
			exp := filepath.Join("..", "..", "experiments", "validate-"+m.method+".yaml")
			stdout, stderr, err := execLab(t, "validate", "-f", exp, "--requests", strconv.Itoa(l4ValidateRequests), "--time-scale", l4ValidateScale,
				"--lvslab", bin, "-o", out, "--deadline", "2m")
			if ps := livePrefixes(t, stderr); len(ps) != 6 {
				t.Errorf("%d testbeds made, want 6 (one per cell)\n%s", len(ps), stderr)
			}
			if err != nil {
				t.Fatalf("validate: %v\n%s\n%s", err, stdout, stderr)
			}
			t.Logf("\n%s", stdout)
			if !strings.Contains(stdout, "the target is met") {
				t.Errorf("the report does not say the target is met:\n%s", stdout)
			}
			if !strings.Contains(stderr, "director ready on 198.18.0.254:80 ("+m.method+", ") {
				t.Errorf("no %s director in the log:\n%s", m.method, stderr)
			}
			liveRs := readResultsFile(t, filepath.Join(out, validateLiveJSON))
			if len(liveRs) != 6 {
				t.Fatalf("%d live results, want 6", len(liveRs))
			}
			runs, err := os.ReadDir(filepath.Join(out, validateRuns))
			if err != nil || len(runs) != 6 {
				t.Fatalf("runs/: %v, %v", runs, err)
			}
			for i, l := range liveRs {
				acct := readAccountFile(t, filepath.Join(out, validateRuns, runs[i].Name(), workbench.LiveRecordsFile))
				if err := acct.Check(); err != nil || acct.OK != l4ValidateRequests {
					t.Errorf("runs/%s: %s (%v)", runs[i].Name(), acct, err)
				}
				if l.Config.FrontEnd != "l4" || l.Config.Method != m.method || l.Requests != l4ValidateRequests || l.Completed != acct.OK || len(l.Nodes) != 4 {
					t.Errorf("cell %d: live %s %s/%s keep-alive %v: %d requests, %d completed, %d per-node results",
						i, l.Config.Algorithm, l.Config.FrontEnd, l.Config.Method, l.Config.KeepAlive, l.Requests, l.Completed, len(l.Nodes))
				}
			}
			// HTTP/1.0 cells: one connection per request, all through the
			// director (its final counters, in dir.log).
			for _, r := range runs[:3] {
				conns, _ := directorConns(t, filepath.Join(out, validateRuns, r.Name(), "dir.log"))
				total := 0
				for _, n := range conns {
					total += n
				}
				if total < l4ValidateRequests || total > l4ValidateRequests+10 {
					t.Errorf("runs/%s: the director counted %d connections to the real servers, want one per request (%d) and a few probes", r.Name(), total, l4ValidateRequests)
				}
			}
		})
	}
}

var servedRE = regexp.MustCompile(`lvslab backend: stopped: (\d+) requests served`)

// backendServed reads from an emulated back end's log the requests it
// served, as it says when it stops.
func backendServed(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := servedRE.FindSubmatch(b)
	if m == nil {
		t.Fatalf("%s does not say what it served:\n%s", path, b)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

var serverConnsRE = regexp.MustCompile(`TCP 198\.18\.0\.254:80: server (\S+) conns=(\d+) .*?( down)?$`)

// directorConns reads the layer-4 director's final counters from its log:
// the connections it sent to each real server of the VIP's port 80, and
// which it had marked down.
func directorConns(t *testing.T, path string) (conns map[string]int, down map[string]bool) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	conns, down = map[string]int{}, map[string]bool{}
	for l := range strings.Lines(string(b)) {
		if m := serverConnsRE.FindStringSubmatch(strings.TrimSpace(l)); m != nil {
			conns[m[1]], _ = strconv.Atoi(m[2])
			down[m[1]] = m[3] != ""
		}
	}
	if len(conns) == 0 {
		t.Fatalf("%s has no real server counters:\n%s", path, b)
	}
	return conns, down
}

// TestNetnsFaultL4 kills a real server (SIGKILL) in the middle of a live
// run through the layer-4 director, in each forwarding method, with
// HTTP/1.0 (one connection per request) and WRR (under WLC the dead server,
// which refuses connections at once and so holds the fewest, draws nearly
// every new one until it is taken out): the director's health check
// marks it down and sends it no more connections; the run completes and
// accounts for every request (ok + failed + unsent = requests, every
// failure with its error); and every failure is one of the dead server's
// connections: the director's counters and the surviving back ends' own
// (their logs at exit) show that every connection to them was served, and
// that the dead server's connections are its successes and all the
// failures (give or take the run's readiness probe, a connection through
// the director without a request).
func TestNetnsFaultL4(t *testing.T) {
	testbedtest.Require(t)
	bin := liveBinary(t)
	const requests = 3000
	for _, m := range l4Methods {
		t.Run(m.method, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "live.json")
			// Node 1 (rs2) dies at 4 s (model and wall time at the default
			// time scale): about a third into the run, for good.
			_, stderr, err := execLab(t, "testbed", "run", "--trace", "synth:small", "--front-end", "l4", "--method", m.method, "--keep-alive", "0",
				"--alg", "wrr", "--nodes", "4", "--cache", "48MiB", "--requests", strconv.Itoa(requests), "--failure", "1@4s",
				"--lvslab", bin, "--run-dir", dir, "--deadline", "2m", "-o", out)
			if ps := livePrefixes(t, stderr); len(ps) != 1 {
				t.Errorf("%d testbeds made, want 1\n%s", len(ps), stderr)
			}
			if err != nil {
				t.Fatalf("testbed run: %v\n%s", err, stderr)
			}
			km := killedRE.FindStringSubmatch(stderr)
			if km == nil {
				t.Fatalf("no back end was killed:\n%s", stderr)
			}
			killed, err := time.ParseDuration(km[1])
			if err != nil {
				t.Fatal(err)
			}
			cell := filepath.Join(dir, "000-wrr-n4")
			dirLog, err := os.ReadFile(filepath.Join(cell, "dir.log"))
			if err != nil {
				t.Fatal(err)
			}
			rsAddr := func(i int) string { return m.net + strconv.Itoa(10+i) + ":80" }
			rs2 := rsAddr(2)
			if !strings.Contains(string(dirLog), "health: "+rs2+" is DOWN") {
				t.Errorf("the director did not mark rs2 down:\n%s", dirLog)
			}
			acct := readAccountFile(t, filepath.Join(cell, workbench.LiveRecordsFile))
			t.Logf("%s; first errors %v", acct, acct.FirstError)
			if err := acct.Check(); err != nil {
				t.Error(err)
			}
			if acct.Requests != requests || acct.Unsent != 0 || acct.FailedTotal() == 0 {
				t.Errorf("account: %s; want %d requests, all sent, some failed (the dead server's)", acct, requests)
			}
			for reason := range acct.Failed {
				if !slices.Contains([]string{"connect_refused", "reset", "closed"}, reason) {
					t.Errorf("failure %s (%s): not a dead server's connection", reason, acct.FirstError[reason])
				}
			}
			if !strings.Contains(stderr, acct.String()) {
				t.Errorf("the run does not report its account %q:\n%s", acct, stderr)
			}
			rs := readResultsFile(t, out)
			if r := rs[0]; r.Requests != requests || r.Completed != acct.OK || r.Failed != acct.FailedTotal() || len(r.Config.Failures) != 1 || r.Config.Method != m.method {
				t.Errorf("result: %d requests, %d completed, %d failed, failures %v, method %s; account %s", r.Requests, r.Completed, r.Failed, r.Config.Failures, r.Config.Method, acct)
			}
			// Every failure was a connection to the dead server: each
			// connection to the others was served, and the dead one's
			// connections are its successes and the failures.
			conns, down := directorConns(t, filepath.Join(cell, "dir.log"))
			probes := -requests
			for _, n := range conns {
				probes += n
			}
			if len(conns) != 4 || !down[rs2] || probes < 0 || probes > 3 {
				t.Fatalf("director: connections %v (%d beyond one per request), down %v; want 4 servers, rs2 down", conns, probes, down)
			}
			deadOK := acct.OK
			for i := 1; i <= 4; i++ {
				if i == 2 {
					continue
				}
				served := backendServed(t, filepath.Join(cell, fmt.Sprintf("rs%d.log", i)))
				deadOK -= served
				if n := conns[rsAddr(i)]; n < served || n > served+probes {
					t.Errorf("rs%d served %d requests of the director's %d connections to it: a connection to a live server failed", i, served, n)
				}
			}
			if dead := acct.FailedTotal(); deadOK < 0 || conns[rs2] < deadOK+dead || conns[rs2] > deadOK+dead+probes {
				t.Errorf("rs2: %d connections, but %d succeeded and %d failed: failures are not the dead server's connections", conns[rs2], deadOK, dead)
			}
			// The failures are the kill's, and end when the health check
			// (a probe every 100 ms) takes the server out: none before the
			// kill, none a second after it. (Times count from the load's
			// start and the kill's from the first response, a few
			// milliseconds later.)
			if out := failureOutside(t, filepath.Join(cell, workbench.LiveRecordsFile), killed, killed+time.Second); out != "" {
				t.Error(out)
			}
		})
	}
}

var killedRE = regexp.MustCompile(`failure: back end rs2 killed at (\S+) `)

// failureOutside reads a load generator's records and describes the first
// request that failed before from or after to, or returns "".
func failureOutside(t *testing.T, path string, from, to time.Duration) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	sc.Scan() // header
	for k := 0; sc.Scan(); k++ {
		fs := strings.Split(sc.Text(), ",")
		done, _ := strconv.ParseInt(fs[4], 10, 64)
		if d := time.Duration(done); fs[8] != "ok" && (d < from || d > to) {
			return fmt.Sprintf("request %d failed (%s) at %v, outside %v-%v: not the kill's, or the dead server was not taken out", k, fs[8], d, from, to)
		}
	}
	return ""
}
