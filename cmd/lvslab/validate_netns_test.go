package main

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvslab/lvslab/sim"
	"github.com/lvslab/lvslab/testbed"
	"github.com/lvslab/lvslab/testbed/testbedtest"
	"github.com/lvslab/lvslab/workbench"
)

// liveBinary builds lvslab for the processes a live run starts in the
// testbed's namespaces (the test binary is not lvslab).
func liveBinary(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build lvslab: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "lvslab")
	if out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

var prefixRE = regexp.MustCompile(`testbed (lt[0-9a-z]+) up in `)

// livePrefixes lists the testbeds a live run's log says it made, and
// readAccountFile reads a live run's request records (workbench.ReadAccount).
func readAccountFile(t *testing.T, path string) workbench.Account {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	acct, err := workbench.ReadAccount(path, f)
	if err != nil {
		t.Fatal(err)
	}
	return acct
}

// registers a check that nothing of them is left.
func livePrefixes(t *testing.T, log string) []string {
	t.Helper()
	var ps []string
	for _, m := range prefixRE.FindAllStringSubmatch(log, -1) {
		ps = append(ps, m[1])
	}
	for _, p := range ps {
		testbedtest.AssertClean(t, p)
	}
	return ps
}

func readResultsFile(t *testing.T, path string) []*sim.Result {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rs, err := workbench.ReadResults(path, f)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// TestNetnsValidate is the validation CI runs: the shipped experiment
// (WRR, WLC, LBLC, LBLC/R on 4 nodes) on the first 6,000 requests of its
// trace, in simulation and live at the default time scale; every live
// throughput within ±15% of the simulated one and the same ranking, both
// result sets and the report written, nothing left behind. About 100 s
// on two cores.
func TestNetnsValidate(t *testing.T) {
	testbedtest.Require(t)
	bin := liveBinary(t)
	out := t.TempDir()
	exp := filepath.Join("..", "..", "experiments", "validate-l7.yaml")
	stdout, stderr, err := execLab(t, "validate", "-f", exp, "--requests", "6000", "--lvslab", bin, "-o", out, "--deadline", "3m")
	if ps := livePrefixes(t, stderr); len(ps) != 4 {
		t.Errorf("%d testbeds made, want 4 (one per cell)\n%s", len(ps), stderr)
	}
	if err != nil {
		t.Fatalf("validate: %v\n%s\n%s", err, stdout, stderr)
	}
	t.Logf("\n%s", stdout)
	report, err := os.ReadFile(filepath.Join(out, validateReport))
	if err != nil || string(report) != stdout || !strings.Contains(stdout, "the target is met") {
		t.Errorf("report.txt (%v) is not what validate printed, or does not say the target is met:\n%s", err, report)
	}
	simRs, liveRs := readResultsFile(t, filepath.Join(out, validateSimJSON)), readResultsFile(t, filepath.Join(out, validateLiveJSON))
	for _, f := range []string{validateSimCSV, validateLiveCSV} {
		b, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Fatal(err)
		}
		if rows := readCSV(t, string(b)); len(rows) != 4 {
			t.Errorf("%s: %d rows, want 4", f, len(rows))
		}
	}
	if len(simRs) != 4 || len(liveRs) != 4 {
		t.Fatalf("%d simulated and %d live results, want 4 each", len(simRs), len(liveRs))
	}
	// The agreement, computed again from the files.
	cells := make([]workbench.Cell, 4)
	for i, r := range simRs {
		l := liveRs[i]
		if l.Config.Algorithm != r.Config.Algorithm || l.Config.Nodes != 4 || l.Requests != 6000 || r.Requests != 6000 || l.Completed != 6000 || l.Failed != 0 {
			t.Errorf("cell %d: simulated %s %d requests; live %s n=%d, %d requests, %d completed, %d failed",
				i, r.Config.Algorithm, r.Requests, l.Config.Algorithm, l.Config.Nodes, l.Requests, l.Completed, l.Failed)
		}
		if len(l.Nodes) != 4 {
			t.Errorf("live %s: %d per-node results, want 4 (from the back ends' load reports)", l.Config.Algorithm, len(l.Nodes))
		}
		cells[i] = workbench.Cell{Index: i, Trace: r.Trace, Config: r.Config}
	}
	v, err := workbench.Compare(cells, simRs, liveRs, workbench.Agreement{})
	if err != nil {
		t.Fatal(err)
	}
	if m := v.Misses(); len(m) > 0 {
		t.Errorf("the live run misses the target:\n  %s", strings.Join(m, "\n  "))
	}
	runs, err := os.ReadDir(filepath.Join(out, validateRuns))
	if err != nil || len(runs) != 4 {
		t.Fatalf("runs/: %v, %v", runs, err)
	}
	for _, r := range runs {
		for _, f := range []string{"rs1.log", "rs4.log", "dir.log", "cl1.log", workbench.LiveServicesFile, workbench.LiveResultFile, workbench.LiveRecordsFile} {
			if _, err := os.Stat(filepath.Join(out, validateRuns, r.Name(), f)); err != nil {
				t.Errorf("runs/%s: %v", r.Name(), err)
			}
		}
		if _, err := testbed.LoadState(filepath.Join(out, validateRuns, r.Name())); !errors.Is(err, testbed.ErrNoState) {
			t.Errorf("runs/%s still records a testbed: %v", r.Name(), err)
		}
	}
}

// TestNetnsFault kills a back end (SIGKILL) in the middle of a live run:
// the director's health check notices and bypasses it, the run completes,
// and every request is accounted for: sent = ok + failed by reason, every
// failure with its error recorded, none after the back end was bypassed,
// and the results count the failures.
func TestNetnsFault(t *testing.T) {
	testbedtest.Require(t)
	bin := liveBinary(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "live.json")
	// Node 1 (rs2) dies at 4 s (model and wall time at the default time
	// scale): about a quarter into the run.
	_, stderr, err := execLab(t, "testbed", "run", "--trace", "synth:small", "--alg", "lblc", "--nodes", "4", "--cache", "48MiB",
		"--requests", "4000", "--failure", "1@4s", "--lvslab", bin, "--run-dir", dir, "--deadline", "2m", "-o", out)
	if ps := livePrefixes(t, stderr); len(ps) != 1 {
		t.Errorf("%d testbeds made, want 1\n%s", len(ps), stderr)
	}
	if err != nil {
		t.Fatalf("testbed run: %v\n%s", err, stderr)
	}
	if !regexp.MustCompile(`failure: back end rs2 killed at `).MatchString(stderr) {
		t.Fatalf("no back end was killed:\n%s", stderr)
	}
	cell := filepath.Join(dir, "000-lblc-n4")
	dirLog, err := os.ReadFile(filepath.Join(cell, "dir.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(dirLog), "health: 198.18.0.12:80 is DOWN") {
		t.Errorf("the director did not mark rs2 down:\n%s", dirLog)
	}
	acct := readAccountFile(t, filepath.Join(cell, workbench.LiveRecordsFile))
	t.Logf("%s; first errors %v", acct, acct.FirstError)
	if err := acct.Check(); err != nil {
		t.Error(err)
	}
	if acct.Requests != 4000 || acct.Unsent != 0 || acct.Sent() != acct.OK+acct.FailedTotal() {
		t.Errorf("account: %s", acct)
	}
	// health_check_delay 0: the switch observes its traffic and takes rs2
	// down at its first refused or reset connection (observe layer4,
	// mark-down), and a GET that met the dead back end is scheduled again
	// on another one, also after redialling a pooled connection rs2 had
	// dropped. Only a response cut after its head was relayed can still
	// fail: 0 of 4,000 failed in five runs here. Waiting for the next probe
	// instead cost 280 to 540, and not rescheduling after a redial 59.
	if acct.FailedTotal() > acct.Requests/100 {
		t.Errorf("%d requests failed, want at most %d: %s", acct.FailedTotal(), acct.Requests/100, acct)
	}
	if !strings.Contains(string(dirLog), "health: 198.18.0.12:80 is DOWN after 1 consecutive errors on live traffic") ||
		!regexp.MustCompile(` retried=[1-9]`).Match(dirLog) {
		t.Errorf("the switch did not take rs2 down on its own errors and reschedule:\n%s", dirLog)
	}
	rs := readResultsFile(t, out)
	if r := rs[0]; r.Requests != 4000 || r.Completed != acct.OK || r.Failed != acct.FailedTotal()+acct.Unsent || len(r.Config.Failures) != 1 {
		t.Errorf("result: %d requests, %d completed, %d failed, failures %v; account %s", r.Requests, r.Completed, r.Failed, r.Config.Failures, acct)
	}
	if !strings.Contains(stderr, acct.String()) {
		t.Errorf("the run does not report its account %q:\n%s", acct, stderr)
	}
	// Once bypassed, the dead back end costs nothing: every request
	// finished in the second half of the run succeeded.
	b, err := os.ReadFile(filepath.Join(cell, workbench.LiveRecordsFile))
	if err != nil {
		t.Fatal(err)
	}
	var end int64
	type rec struct {
		done    int64
		outcome string
	}
	var recs []rec
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	sc.Scan() // header
	for sc.Scan() {
		fs := strings.Split(sc.Text(), ",")
		done, _ := strconv.ParseInt(fs[4], 10, 64)
		recs = append(recs, rec{done, fs[8]})
		end = max(end, done)
	}
	late := slices.IndexFunc(recs, func(r rec) bool { return r.done > end/2 && r.outcome != "ok" })
	if late >= 0 {
		t.Errorf("request %d failed (%s) at %v, in the second half of a %v run: the dead back end was not bypassed",
			late, recs[late].outcome, time.Duration(recs[late].done), time.Duration(end))
	}
}

// TestNetnsTestbedRunInterrupt sends SIGINT to "lvslab testbed run" while
// its load runs: it stops, says so, and leaves no namespace, link,
// process or state file behind.
func TestNetnsTestbedRunInterrupt(t *testing.T) {
	testbedtest.Require(t)
	bin := liveBinary(t)
	dir := t.TempDir()
	cmd := exec.Command(bin, "testbed", "run", "--trace", "synth:small", "--alg", "wrr", "--nodes", "2", "--run-dir", dir, "--deadline", "2m")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cell := filepath.Join(dir, "000-wrr-n2")
	t.Cleanup(func() { // should there be anything left, remove it
		cmd.Process.Kill()
		testbed.Down(cell)
	})
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var log strings.Builder
	var prefix string
	timeout := time.After(2 * time.Minute)
wait:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("testbed run ended before its load started:\n%s", log.String())
			}
			log.WriteString(l + "\n")
			if m := prefixRE.FindStringSubmatch(l); m != nil {
				prefix = m[1]
				t.Cleanup(func() { testbed.DownPrefix(prefix) })
			}
			if strings.Contains(l, "load started") {
				break wait
			}
		case <-timeout:
			t.Fatalf("the load did not start within 2 minutes:\n%s", log.String())
		}
	}
	time.Sleep(time.Second) // well into the load
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		for l := range lines {
			log.WriteString(l + "\n")
		}
		done <- cmd.Wait()
	}()
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("testbed run still runs 30 s after SIGINT:\n%s", log.String())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(log.String(), "interrupted; the testbed was taken down") {
		t.Errorf("after SIGINT: %v\n%s", err, log.String())
	}
	if prefix == "" {
		t.Fatalf("no testbed prefix in the log:\n%s", log.String())
	}
	testbedtest.AssertClean(t, prefix)
	if _, err := testbed.LoadState(cell); !errors.Is(err, testbed.ErrNoState) {
		t.Errorf("%s still records a testbed: %v", cell, err)
	}
}
