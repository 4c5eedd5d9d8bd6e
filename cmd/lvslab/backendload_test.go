package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lvslab/lvslab/workbench"
)

var listeningRE = regexp.MustCompile(`listening on (\S+):`)

// backendCLI is "lvslab backend" running in the test.
type backendCLI struct {
	addr        string
	out, stderr *syncBuffer
	cancel      context.CancelFunc
	done        chan error
}

// stop signals the back end (cancels its command's context) and returns
// the command's error.
func (b *backendCLI) stop(t *testing.T) error {
	t.Helper()
	b.cancel()
	select {
	case err := <-b.done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("lvslab backend does not stop")
		return nil
	}
}

// startBackendCLI runs "lvslab backend --listen 127.0.0.1:0 args..." (until
// stopped or the test ends) and waits for it to listen.
func startBackendCLI(t *testing.T, args ...string) *backendCLI {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b := &backendCLI{out: &syncBuffer{}, stderr: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	cmd := newRootCmd()
	cmd.SetOut(b.out)
	cmd.SetErr(b.stderr)
	cmd.SetArgs(append([]string{"backend", "--listen", "127.0.0.1:0"}, args...))
	go func() { b.done <- cmd.ExecuteContext(ctx) }()
	t.Cleanup(cancel)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := listeningRE.FindStringSubmatch(b.out.String()); m != nil {
			b.addr = m[1]
			return b
		}
		select {
		case err := <-b.done:
			t.Fatalf("lvslab backend ended: %v; %s", err, b.stderr.String())
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("lvslab backend does not listen")
		}
	}
}

// TestBackendLoadCLI runs "lvslab backend" and replays the same trace
// against it with "lvslab load": every request succeeds, the results read
// back (workbench.ReadResults) and "lvslab plot" draws them; a signal (the
// command's context) stops the back end gracefully.
func TestBackendLoadCLI(t *testing.T) {
	const trace = "synth:small:3000"
	be := startBackendCLI(t, "--trace", trace, "--time-scale", "1000", "--cache", "1MiB", "--name", "rs1")
	dir := t.TempDir()
	url := "http://" + be.addr
	js := filepath.Join(dir, "live.json")
	recs := filepath.Join(dir, "requests.csv")
	var stderr bytes.Buffer
	if code := run([]string{"load", "--target", url, "--trace", trace, "--requests", "500", "--backend-load", url + "/lvslab/load",
		"--alg", "wrr", "-o", js, "--records", recs}, &bytes.Buffer{}, &stderr); code != 0 {
		t.Fatalf("lvslab load: exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "500 requests to "+url+" (closed, HTTP/1.1 keep-alive, concurrency 60): 500 ok, 0 failed, 0 unsent") {
		t.Errorf("summary: %s", stderr.String())
	}
	f, err := os.Open(js)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := workbench.ReadResults(js, f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	r := rs[0]
	if r.Completed != 500 || r.Requests != 500 || r.Config.Algorithm != "wrr" || r.Config.Nodes != 1 || len(r.Nodes) != 1 ||
		r.Nodes[0].Requests != 500 || r.Config.CacheBytes != 1<<20 || r.Trace != trace || r.ThroughputRPS <= 0 {
		t.Errorf("results %+v", r)
	}
	data, err := os.ReadFile(recs)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil || len(rows) != 501 || rows[1][8] != "ok" {
		t.Errorf("records: %d rows, %v", len(rows), err)
	}
	var plotOut, plotErr bytes.Buffer
	if code := run([]string{"plot", js, "-o", filepath.Join(dir, "figs"), "--image-format", "svg"}, &plotOut, &plotErr); code != 0 {
		t.Errorf("lvslab plot: exit %d: %s", code, plotErr.String())
	}

	// Open loop, HTTP/1.0, CSV on standard output.
	var csvOut bytes.Buffer
	stderr.Reset()
	if code := run([]string{"load", "--target", url, "--trace", trace, "--requests", "200", "--mode", "open", "--speedup", "1000",
		"--http10", "--format", "csv"}, &csvOut, &stderr); code != 0 {
		t.Fatalf("lvslab load --http10: exit %d: %s", code, stderr.String())
	}
	tab, err := workbench.ReadTable("stdout", &csvOut)
	if err != nil {
		t.Fatal(err)
	}
	if tab.Get(0, "completed") != "200" || tab.Get(0, "admission") != "open" || tab.Get(0, "alg") != "direct" {
		t.Errorf("CSV: completed %q, admission %q, alg %q", tab.Get(0, "completed"), tab.Get(0, "admission"), tab.Get(0, "alg"))
	}

	if err := be.stop(t); err != nil {
		t.Errorf("lvslab backend: %v", err)
	}
	if !strings.Contains(be.out.String(), "stopped: 700 requests served") {
		t.Errorf("backend output: %s", be.out.String())
	}
}

// TestBackendFailAfter: --fail-after ends the back end with an error that
// says so; a load running against it then accounts for every request.
func TestBackendFailAfter(t *testing.T) {
	be := startBackendCLI(t, "--trace", "default", "--time-scale", "2", "--fail-after", "1s")
	var stderr bytes.Buffer
	if code := run([]string{"load", "--target", "http://" + be.addr, "--concurrency", "4"}, &bytes.Buffer{}, &stderr); code != 0 {
		t.Fatalf("lvslab load: exit %d: %s", code, stderr.String())
	}
	if !regexp.MustCompile(`4662 requests to \S+ \(closed, HTTP/1.1 keep-alive, concurrency 4\): [1-9][0-9]* ok, [1-9][0-9]* failed, 0 unsent`).MatchString(stderr.String()) ||
		!strings.Contains(stderr.String(), "connect_refused") {
		t.Errorf("summary: %s", stderr.String())
	}
	select {
	case err := <-be.done:
		if err == nil || !strings.Contains(err.Error(), "emulated failure after 1s: ") {
			t.Errorf("lvslab backend: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("lvslab backend did not fail")
	}
}

// TestBackendLoadCLIErrors: bad flags fail with a message naming them.
func TestBackendLoadCLIErrors(t *testing.T) {
	dir := t.TempDir()
	logf := filepath.Join(dir, "a.log")
	if err := os.WriteFile(logf, []byte(`h - - [01/Jan/2000:00:00:00 +0000] "GET /a HTTP/1.0" 200 10`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"backend", "--time-scale", "0"}, "--time-scale: 0 is not a positive number"},
		{[]string{"backend", "--time-scale", "NaN"}, "--time-scale"},
		{[]string{"backend", "--cache", "0"}, `--cache: "0" is not a positive size`},
		{[]string{"backend", "--costs", "seek=1ms"}, `--costs: unknown key "seek"`},
		{[]string{"backend", "--costs", "connect=abc"}, `--costs: connect: "abc" is not a duration`},
		{[]string{"backend", "--costs", "connect"}, `--costs: "connect": want KEY=VALUE`},
		{[]string{"backend", "--cache-policy", "fifo"}, `unknown cache policy "fifo"`},
		{[]string{"backend", "--cpu-speed", "0"}, "--cpu-speed: 0 is not a number in"},
		{[]string{"backend", "--disk-speed", "2000"}, "--disk-speed: 2000 is not a number in"},
		{[]string{"backend", "--slowdown", "3@2s-1s"}, `--slowdown: "3@2s-1s": to must be after from`},
		{[]string{"backend", "--slowdown", "1x3@1s-2s"}, `--slowdown: "1x3@1s-2s": the factor`},
		{[]string{"backend", "--load-path", "load"}, `load path "load"`},
		{[]string{"backend", "--trace", filepath.Join(dir, "none.log")}, "none.log: no such file"},
		{[]string{"backend", "--listen", "256.0.0.1:1"}, "--listen"},
		{[]string{"load"}, `required flag(s) "target" not set`},
		{[]string{"load", "--target", "ftp://x"}, "want http://HOST[:PORT]"},
		{[]string{"load", "--target", "http://x", "--http10", "--keep-alive"}, "choose one"},
		{[]string{"load", "--target", "http://x", "--http10", "--client-keep-alive", "15s"}, "--client-keep-alive 15s: want a duration > 0, with HTTP/1.1"},
		{[]string{"load", "--target", "http://x", "--client-keep-alive", "-1s"}, "--client-keep-alive -1s"},
		{[]string{"load", "--target", "http://x", "--mode", "half"}, `mode "half"`},
		{[]string{"load", "--target", "http://x", "--concurrency", "0"}, "--concurrency: 0"},
		{[]string{"load", "--target", "http://x", "--format", "xml"}, "--format"},
		{[]string{"load", "--target", "http://x", "--trace", logf, "-o", logf}, "-o " + logf + " is the --trace file"},
		{[]string{"load", "--target", "http://x", "--trace", logf, "--records", logf}, "--records " + logf + " is the --trace file"},
		{[]string{"load", "--target", "http://x", "--backend-load", "x:1"}, "load report URL"},
		{[]string{"load", "--target", "http://127.0.0.1:1", "--wait", "100ms"}, "--wait: load: 127.0.0.1:1 does not accept connections after 100ms"},
	} {
		var stderr bytes.Buffer
		if code := run(tc.args, &bytes.Buffer{}, &stderr); code == 0 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, %q; want an error containing %q", tc.args, code, stderr.String(), tc.want)
		}
	}
}
