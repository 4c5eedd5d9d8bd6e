package rules

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/lvslab/lvslab/algorithms"
)

var servers = map[string]algorithms.ServerID{"rs1": 0, "rs2": 1, "rs3": 2, "10.0.0.4:80": 3}

func known(name string) bool { _, ok := servers[name]; return ok }

func idOf(name string) (algorithms.ServerID, bool) { id, ok := servers[name]; return id, ok }

const example = `# images on the big-disk servers, CGI on its own
group = disks rs2 rs3

rule = disks \.(gif|jpg|png)$
rule = 10.0.0.4:80   ^/cgi-bin/
rule = rs1 .*
`

func TestParse(t *testing.T) {
	set, err := Parse("rules.conf", strings.NewReader(example), known)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Rules) != 3 || set.Rules[0].Line != 4 || set.Rules[1].Pattern != "^/cgi-bin/" || !set.Rules[2].CatchAll {
		t.Fatalf("rules %+v", set.Rules)
	}
	if got := strings.Join(set.Rules[0].Servers, ","); got != "rs2,rs3" {
		t.Errorf("group servers %q", got)
	}
	tests := []struct{ target, class string }{
		{"/img/a.gif", "disks"},
		{"/img/a.gif?x", "rs1"}, // the query is part of the target
		{"/cgi-bin/env?x=1", "10.0.0.4:80"},
		{"/x/cgi-bin/", "rs1"},
		{"/", "rs1"},
		{"", "rs1"},
	}
	for _, tc := range tests {
		if got := set.Match([]byte(tc.target)).Class(); got != tc.class {
			t.Errorf("Match(%q) = %q, want %q", tc.target, got, tc.class)
		}
	}
	target := []byte("/img/a.png")
	if a := testing.AllocsPerRun(100, func() { set.Match(target) }); a != 0 && !raceEnabled {
		t.Errorf("Match allocates %v times", a)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"no catch-all", "rule = rs1 \\.gif$\n\nrule = rs2 ^/a\n", "r.conf:3: no catch-all rule"},
		{"empty", "# nothing\n", "r.conf:1: no rules"},
		{"bad regex", "rule = rs1 (\nrule = rs1 .*\n", "r.conf:1: bad regular expression \"(\": missing closing )"},
		{"unknown server", "rule = rs1 a\nrule = rs9 .*\n", "r.conf:2: unknown server or group \"rs9\""},
		{"after catch-all", "rule = rs1 *\nrule = rs2 a\n", "r.conf:2: this rule is never matched: the catch-all rule at line 1"},
		{"no pattern", "rule = rs1\n", "r.conf:1: want \"rule = <server> <regex>\""},
		{"no equals", "rule rs1 .*\n", "r.conf:1: want \"rule = <server> <regex>\" or"},
		{"unknown directive", "server = rs1 80\n", "r.conf:1: unknown directive \"server\""},
		{"group unknown member", "group = g rs1 rs7\n", "r.conf:1: group \"g\": unknown server \"rs7\""},
		{"group twice", "group = g rs1\ngroup = g rs2\n", "r.conf:2: group \"g\" defined twice"},
		{"group named as a server", "group = rs1 rs2\n", "r.conf:1: group \"rs1\" has the name of a server"},
		{"group used before definition", "rule = g .*\ngroup = g rs1\n", "r.conf:1: unknown server or group \"g\""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("r.conf", strings.NewReader(tc.in), known)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("err %v, want prefix %q", err, tc.want)
			}
		})
	}
}

func newPool(t *testing.T) *algorithms.Pool {
	t.Helper()
	var srv []algorithms.Server
	for i := range 4 {
		srv = append(srv, algorithms.Server{ID: algorithms.ServerID(i), Weight: 1, Addr: netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)})})
	}
	p, err := algorithms.NewPool(srv...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Requests go only to their rule's servers; within a group the inner
// scheduler (here rr) alternates; a down member is skipped; a class whose
// servers are all down has no server.
func TestScheduler(t *testing.T) {
	set, err := Parse("rules.conf", strings.NewReader(example), known)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewScheduler(set, idOf, "rr", algorithms.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := newPool(t)
	pick := func(class string) algorithms.ServerID {
		t.Helper()
		id, err := s.Schedule(0, &algorithms.Request{Class: class}, p)
		if err != nil {
			t.Fatalf("class %q: %v", class, err)
		}
		return id
	}
	var got []algorithms.ServerID
	for range 4 {
		got = append(got, pick("disks"))
	}
	if got[0] == got[1] || got[0] != got[2] || got[1] != got[3] || got[0] < 1 || got[0] > 2 || got[1] < 1 || got[1] > 2 {
		t.Errorf("group picks %v, want rs2 and rs3 alternating", got)
	}
	if id := pick("10.0.0.4:80"); id != 3 {
		t.Errorf("cgi rule picked %d", id)
	}
	if id := pick(""); id != 0 {
		t.Errorf("no class picked %d, want the catch-all's rs1", id)
	}
	if id := pick("unknown"); id != 0 {
		t.Errorf("unknown class picked %d, want the catch-all's rs1", id)
	}
	_ = p.SetDown(1, true)
	for range 3 {
		if id := pick("disks"); id != 2 {
			t.Errorf("rs2 is down, picked %d", id)
		}
	}
	_ = p.SetDown(2, true)
	if _, err := s.Schedule(0, &algorithms.Request{Class: "disks"}, p); !errors.Is(err, algorithms.ErrNoServer) {
		t.Errorf("all of the group down: %v, want ErrNoServer", err)
	}
	if s.Name() != "rules/rr" {
		t.Errorf("name %q", s.Name())
	}
}

// The inner scheduler sees the host's counters: least-connection within a
// group picks the idler member, and an overloaded member is skipped.
func TestSchedulerMirrorsCounters(t *testing.T) {
	set, err := Parse("r", strings.NewReader("group = g rs1 rs2 rs3\nrule = g .*\n"), known)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewScheduler(set, idOf, "lc", algorithms.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := newPool(t)
	_ = p.Begin(0, 3)
	_ = p.Begin(1, 1)
	_ = p.Begin(2, 2)
	if id, _ := s.Schedule(0, &algorithms.Request{}, p); id != 1 {
		t.Errorf("lc picked %d, want the idlest rs2 (1)", id)
	}
	_ = p.SetThresholds(1, 1, 0) // rs2 at its upper threshold: overloaded
	if id, _ := s.Schedule(0, &algorithms.Request{}, p); id != 2 {
		t.Errorf("lc picked %d with rs2 overloaded, want rs3 (2)", id)
	}
	_ = p.End(0, 3)
	if id, _ := s.Schedule(0, &algorithms.Request{}, p); id != 0 {
		t.Errorf("lc picked %d after rs1 drained, want 0", id)
	}
	_ = p.Remove(0)
	if id, _ := s.Schedule(0, &algorithms.Request{}, p); id != 2 {
		t.Errorf("lc picked %d after rs1 left the pool, want 2", id)
	}
	if _, err := NewScheduler(set, idOf, "dflb", algorithms.Options{}); err == nil {
		t.Error("dflb under rules was accepted")
	}
	if _, err := NewScheduler(set, idOf, "nope", algorithms.Options{}); err == nil {
		t.Error("an unknown scheduler was accepted")
	}
}
