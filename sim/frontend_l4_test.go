package sim

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvslab/lvslab/traces"
)

// TestL4KeepAlive replays hand-computed traces through the layer-4
// director. Reference: thesis §3 (per-connection scheduling), §6.5
// (HTTP/1.1 persistent connections). Times: see timedWorkload (512-byte
// objects, miss 28,730 µs, hit 320 µs); "simtest-fe-rr" walks the nodes
// 0, 1, 0, ... per call.
func TestL4KeepAlive(t *testing.T) {
	const sec = time.Second
	at := func(d time.Duration, obj, client int32) traces.Request {
		return traces.Request{Object: obj, Client: client, Time: d}
	}
	type call struct {
		at     time.Duration
		active []int
	}
	for _, tc := range []struct {
		name  string
		cfg   Config
		w     *traces.Workload
		calls []call
		want  []completion
	}{
		{
			// #0 opens a connection to node 0 (miss, done 28.73 ms), #1 at
			// 1 s and #2 at 2 s reuse it (hit; miss on /o1, done 2.02873 s),
			// so the connection expires at 7.02873 s; #3 at 10 s is a new
			// decision: node 1, miss. One call for the first three.
			name: "three requests on one connection, then a timeout",
			cfg:  Config{KeepAlive: 5 * sec},
			w:    timedWorkload(2, at(0, 0, 0), at(sec, 0, 0), at(2*sec, 1, 0), at(10*sec, 0, 0)),
			calls: []call{
				{0, []int{0, 0}},
				{10 * sec, []int{0, 0}}, // the idle connection closed at 7.02873 s
			},
			want: []completion{
				{0, miss512, 0, false},
				{1, sec + hit512, 0, true},
				{2, 2*sec + miss512, 0, false},
				{3, 10*sec + miss512, 1, false},
			},
		},
		{
			// HTTP/1.0: every request is a decision: nodes 0, 1, 0, 1.
			// #3 finds /o0 in node 1's cache (#1 put it there).
			name: "HTTP/1.0: one decision per request",
			cfg:  Config{},
			w:    timedWorkload(2, at(0, 0, 0), at(sec, 0, 0), at(2*sec, 1, 0), at(10*sec, 0, 0)),
			calls: []call{
				{0, []int{0, 0}},
				{sec, []int{0, 0}},
				{2 * sec, []int{0, 0}},
				{10 * sec, []int{0, 0}},
			},
			want: []completion{
				{0, miss512, 0, false},
				{1, sec + miss512, 1, false},
				{2, 2*sec + miss512, 0, false},
				{3, 10*sec + hit512, 1, true},
			},
		},
		{
			// Client 0's idle connection holds one unit on node 0 when
			// client 1 connects at 1 s. Client 0's connection expires at
			// 5.02873 s, the instant its next request arrives (the timer was
			// scheduled first): a new decision (node 0 again, by RR), which
			// finds client 1's idle connection on node 1.
			name: "idle connection counts, expiry instant",
			cfg:  Config{KeepAlive: 5 * sec},
			w:    timedWorkload(2, at(0, 0, 0), at(sec, 1, 1), at(5*sec+miss512, 0, 0)),
			calls: []call{
				{0, []int{0, 0}},
				{sec, []int{1, 0}},
				{5*sec + miss512, []int{0, 1}},
			},
			want: []completion{
				{0, miss512, 0, false},
				{1, sec + miss512, 1, false},
				{2, 5*sec + miss512 + hit512, 0, true},
			},
		},
		{
			// Closed loop: three requests of one client admitted together
			// share its connection (one decision) and queue on node 0:
			// setups end at 140, 280, 420; reads 140-28,550, 28,550-56,960,
			// 56,960-85,370; sends 180 each.
			name:  "concurrent requests of one client share the connection",
			cfg:   Config{Admission: AdmissionClosed, KeepAlive: sec},
			w:     timedWorkload(3, at(0, 0, 0), at(0, 1, 0), at(0, 2, 0)),
			calls: []call{{0, []int{0, 0}}},
			want: []completion{
				{0, 28730 * us, 0, false},
				{1, 57140 * us, 0, false},
				{2, 85550 * us, 0, false},
			},
		},
		{
			// The same with HTTP/1.0: three connections, nodes 0, 1, 0;
			// #1 counts on node 0 while #2 is scheduled.
			name: "concurrent requests with HTTP/1.0",
			cfg:  Config{Admission: AdmissionClosed},
			w:    timedWorkload(3, at(0, 0, 0), at(0, 1, 0), at(0, 2, 0)),
			calls: []call{
				{0, []int{0, 0}},
				{0, []int{1, 0}},
				{0, []int{1, 1}},
			},
			want: []completion{
				{0, 28730 * us, 0, false},
				{1, 28730 * us, 1, false},
				{2, 57140 * us, 0, false},
			},
		},
		{
			// Node 0 crashes at 1 s and recovers at 2 s (empty cache):
			// client 0's idle connection died with it, so #1 at 3 s is a
			// new decision (node 1); the dead connection's unit is gone.
			name: "connection does not survive a crash",
			cfg: Config{KeepAlive: 10 * sec,
				Failures: []Failure{{Node: 0, At: sec, Recover: 2 * sec}}},
			w: timedWorkload(1, at(0, 0, 0), at(3*sec, 0, 0)),
			calls: []call{
				{0, []int{0, 0}},
				{3 * sec, []int{0, 0}},
			},
			want: []completion{
				{0, miss512, 0, false},
				{1, 3*sec + miss512, 1, false},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Nodes, cfg.Algorithm, cfg.FrontEnd = 2, "simtest-fe-rr", FrontEndL4
			if cfg.Admission == "" {
				cfg.Admission = AdmissionOpen
			}
			_, got := feRun(t, cfg, tc.w)
			checkCompletions(t, got, tc.want)
			var calls []call
			for _, c := range feLog {
				calls = append(calls, call{c.at, c.active})
				// A layer-4 director sees addresses, not URLs.
				if c.key != "" || c.dest != l4Service.String() || c.client != "10.0.0.1" && c.client != "10.0.0.2" ||
					c.cost != 1 || c.noCache || c.hasLocal {
					t.Errorf("call %+v: want no key, destination %v, client 10.0.0.1 or .2, cost 1, cacheable, no local node", c, l4Service)
				}
			}
			if !slices.EqualFunc(calls, tc.calls, func(a, b call) bool {
				return a.at == b.at && slices.Equal(a.active, b.active)
			}) {
				t.Errorf("scheduler calls\n got  %v\n want %v", calls, tc.calls)
			}
		})
	}
}

// TestL4KeysByDestination: the director cannot see URLs, so every
// connection has the virtual service as its destination and no key. Four
// connections of four clients for four objects, admitted together (closed
// loop, HTTP/1.0) on two nodes of weight 1:
//
//   - ipvs-lblc keys by destination: one entry. #0 and #1 go to node 0;
//     at #2 node 0 has 2 active > weight 1 while node 1 has 0·2 < 1, so
//     the entry moves to node 1, which takes #2 and #3 (ip_vs_lblc.c).
//   - lblc keys by URL target (thesis §6.3.5) and sees one empty key:
//     node 0 holds it while below its high threshold (60), so all four.
//   - Keyed by target, as before, both would have spread them 0, 1, 0, 1.
//   - sh hashes the client address: each client's connections stay on
//     the same node whatever its object.
func TestL4KeysByDestination(t *testing.T) {
	reqs := []traces.Request{{Object: 0, Client: 0}, {Object: 1, Client: 1}, {Object: 2, Client: 2}, {Object: 3, Client: 3}}
	for _, tc := range []struct {
		alg  string
		want []int32 // node of request k
	}{
		{"ipvs-lblc", []int32{0, 0, 1, 1}},
		{"lblc", []int32{0, 0, 0, 0}},
		{"wlc", []int32{0, 1, 0, 1}},
	} {
		t.Run(tc.alg, func(t *testing.T) {
			cfg := Config{Nodes: 2, Algorithm: tc.alg, FrontEnd: FrontEndL4, Admission: AdmissionClosed}
			_, done := runObserved(t, cfg, timedWorkload(4, reqs...))
			got := make([]int32, len(reqs))
			for _, c := range done {
				got[c.req] = c.node
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("nodes %v, want %v", got, tc.want)
			}
		})
	}
	// sh: the same client's requests for different objects share a node.
	w := timedWorkload(4, traces.Request{Object: 0, Client: 5}, traces.Request{Object: 1, Client: 5, Time: time.Second},
		traces.Request{Object: 2, Client: 5, Time: 2 * time.Second}, traces.Request{Object: 3, Client: 5, Time: 3 * time.Second})
	_, done := runObserved(t, Config{Nodes: 4, Algorithm: "sh", FrontEnd: FrontEndL4, Admission: AdmissionOpen}, w)
	for _, c := range done[1:] {
		if c.node != done[0].node {
			t.Errorf("sh: client 5's requests on nodes %v", done)
			break
		}
	}
}

// TestL4ClientAddr checks the derived client addresses the director
// shows the scheduler (deterministic, distinct per client index).
func TestL4ClientAddr(t *testing.T) {
	for _, tc := range []struct {
		k    int32
		want string
	}{
		{0, "10.0.0.1"}, {1, "10.0.0.2"}, {255, "10.0.1.0"}, {1<<24 - 2, "10.255.255.255"}, {1<<24 - 1, "fd00::100:0"},
	} {
		if got := clientAddr(tc.k).String(); got != tc.want {
			t.Errorf("clientAddr(%d) = %s, want %s", tc.k, got, tc.want)
		}
	}
	// The scheduler sees the derived address, not the trace's string.
	w := timedWorkload(1, traces.Request{Object: 0, Client: 2})
	feRun(t, Config{Nodes: 1, Algorithm: "simtest-fe-rr", FrontEnd: FrontEndL4}, w)
	if len(feLog) != 1 || feLog[0].client != "10.0.0.3" {
		t.Errorf("calls %+v, want one with client 10.0.0.3", feLog)
	}
}

// TestL4NegativeClient: a workload with a negative client index is
// rejected with an error naming the request.
func TestL4NegativeClient(t *testing.T) {
	w := timedWorkload(1, traces.Request{Object: 0}, traces.Request{Object: 0, Client: -1})
	_, err := Run(Config{Nodes: 1, Algorithm: "wrr", FrontEnd: FrontEndL4, KeepAlive: time.Second}, w)
	if err == nil || !strings.Contains(err.Error(), "request 1: negative client index -1") {
		t.Fatalf("err = %v", err)
	}
}
