package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvslab/lvslab/dataplane/ctl"
)

func TestDirectorFlagErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"director"}, "give -f services.yaml, or --listen"},
		{[]string{"director", "--listen", "127.0.0.1:0"}, "give -f services.yaml, or --listen"},
		{[]string{"director", "--listen", "127.0.0.1:0", "--backend", "nowhere"}, "--backend \"nowhere\""},
		{[]string{"director", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1", "--alg", "best"}, "--alg \"best\": unknown scheduler"},
		{[]string{"director", "-f", "x.yaml", "--listen", "127.0.0.1:0"}, "-f and --mode/--listen"},
		{[]string{"director", "--mode", "dr", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1"}, "--listen \"127.0.0.1:0\": want the VIP as IPv4 ADDRESS:PORT, port not 0"},
		{[]string{"director", "--mode", "nat", "--listen", "198.18.0.254:80", "--backend", "198.18.1.11:80", "--rules", "r.conf"}, "--rules and --client-timeout are for --mode l7"},
		{[]string{"director", "--mode", "l4", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1"}, "--mode \"l4\": unknown"},
		{[]string{"director", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1", "--loops", "0"}, "--loops 0"},
		{[]string{"director", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1", "--rules", "/nonexistent/rules.conf"}, "rules: open /nonexistent/rules.conf"},
		{[]string{"director", "-f", "/nonexistent/s.yaml"}, "open /nonexistent/s.yaml"},
	}
	for _, tc := range tests {
		_, _, err := execLab(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err %v, want %q", tc.args, err, tc.want)
		}
	}
}

// A rules file without a catch-all stops the director with the file and line.
func TestDirectorRulesWithoutCatchAll(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "rules.conf"), []byte("# images\nrule = img \\.gif$\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "s.yaml"), []byte(`services:
  - listen: 127.0.0.1:0
    mode: l7
    scheduler: wlc
    rules: rules.conf
    servers:
      - {name: img, address: 127.0.0.1:1}
`), 0o644)
	_, _, err := execLab(t, "director", "-f", filepath.Join(dir, "s.yaml"), "--ctl", "")
	want := filepath.Join(dir, "rules.conf") + ":2: no catch-all rule"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("err %v, want prefix %q", err, want)
	}
}

// "lvslab director" from flags with an admin socket, administered with
// "lvslab ctl": the verbs' flags (ipvsadm's) reach the director, its
// answers and errors come back, and a signal (the command's context)
// stops it with its counters logged.
func TestDirectorCtlCommands(t *testing.T) {
	var backends []string
	for _, name := range []string{"A", "B"} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, name) })}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
		backends = append(backends, ln.Addr().String())
	}
	dir, err := os.MkdirTemp("", "lvctl") // short: a socket path is at most 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "director.sock")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		cmd := newRootCmd()
		cmd.SetOut(io.Discard)
		cmd.SetErr(&stderr)
		cmd.SetArgs([]string{"director", "--listen", "127.0.0.1:0", "--backend", backends[0], "--alg", "rr", "--loops", "1", "--ctl", sock})
		done <- cmd.ExecuteContext(ctx)
	}()
	ctlCmd := func(args ...string) (string, error) {
		var out, errb bytes.Buffer
		if code := run(append([]string{"ctl", "--socket", sock}, args...), &out, &errb); code != 0 {
			return out.String(), fmt.Errorf("exit %d: %s", code, strings.TrimSpace(errb.String()))
		}
		return out.String(), nil
	}
	ctlOK := func(args ...string) string {
		t.Helper()
		out, err := ctlCmd(args...)
		if err != nil {
			t.Fatalf("lvslab ctl %s: %v", strings.Join(args, " "), err)
		}
		return out
	}
	var svcs []ctl.ServiceInfo
	for deadline := time.Now().Add(10 * time.Second); ; {
		out, err := ctlCmd("list", "--json")
		if err == nil {
			if err := json.Unmarshal([]byte(out), &svcs); err != nil {
				t.Fatal(err)
			}
			break
		}
		select {
		case err := <-done:
			t.Fatalf("lvslab director stopped: %v\n%s", err, stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no admin socket: %v", err)
		}
	}
	if len(svcs) != 1 || svcs[0].Scheduler != "rr" || len(svcs[0].Servers) != 1 {
		t.Fatalf("list --json: %+v", svcs)
	}
	vip := svcs[0].Key.Addr.String()

	ctlOK("add-server", "-t", vip, "-r", backends[1], "-w", "2")
	ctlOK("edit-server", "-t", vip, "-r", backends[0], "-w", "0")
	plain := ctlOK("list", "-n")
	for _, want := range []string{
		fmt.Sprintf("TCP  %s rr", vip),
		fmt.Sprintf("  -> %-28s %-7s %-6d", backends[0], "Proxy", 0),
		fmt.Sprintf("  -> %-28s %-7s %-6d", backends[1], "Proxy", 2),
	} {
		if !strings.Contains(plain, want) {
			t.Errorf("list -n lacks %q:\n%s", want, plain)
		}
	}
	client := &http.Client{Timeout: 5 * time.Second}
	for range 3 {
		resp, err := client.Get("http://" + vip + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "B" {
			t.Errorf("with A quiesced: answered by %q", body)
		}
	}
	client.CloseIdleConnections()
	out := ctlOK("list", "-n", "--stats", "--exact", "-t", vip)
	if !slices.ContainsFunc(strings.Split(out, "\n"), func(line string) bool {
		f := strings.Fields(line)
		return len(f) == 7 && f[1] == backends[1] && f[2] == "3"
	}) {
		t.Errorf("list --stats: want Conns 3 for %s:\n%s", backends[1], out)
	}
	ctlOK("edit-service", "-t", vip, "-s", "wlc")
	ctlOK("delete-server", "-t", vip, "-r", backends[1])
	ctlOK("zero")
	if out := ctlOK("list", "-t", vip, "--thresholds"); !strings.Contains(out, vip+" wlc") || strings.Contains(out, backends[1]) {
		t.Errorf("after edit-service and delete-server:\n%s", out)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"add-server", "-t", vip, "-r", backends[0]}, "already exists"},
		{[]string{"add-server", "-t", vip, "-r", backends[1], "-m"}, "forwarding method nat"},
		{[]string{"add-server", "-t", vip, "-r", backends[1], "-g", "-i"}, "give one of -g, -i and -m"},
		{[]string{"add-server", "-t", vip}, "-r RIP:PORT is required"},
		{[]string{"edit-service", "-t", vip, "-p", "600"}, "persistence"},
		{[]string{"edit-service", "-t", vip, "-p", "soon"}, `-p "soon": want a timeout in seconds`},
		{[]string{"add-service", "-u", "127.0.0.1:5353"}, "TCP"},
		{[]string{"delete-service"}, "delete-service: name the service with -t VIP:PORT"},
		{[]string{"list", "-t", "vip"}, `-t "vip": want ADDRESS:PORT`},
		{[]string{"list", "-t", vip, "-u", vip}, "give -t or -u, not both"},
	} {
		if _, err := ctlCmd(tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ctl %v: %v, want %q", tc.args, err, tc.want)
		}
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("lvslab director: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("lvslab director does not stop")
	}
	if _, err := ctlCmd("list"); err == nil || !strings.Contains(err.Error(), "no director is listening") {
		t.Errorf("ctl after the director stopped: %v", err)
	}
	log := stderr.String()
	for _, want := range []string{"l7 on " + vip + ", scheduler rr, 1 servers, 1 listeners", "admin socket " + sock,
		"server " + backends[1] + " added", "scheduler wlc", "stopping", "requests=3 responses=3"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}
