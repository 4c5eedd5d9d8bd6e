package algotest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lvslab/lvslab/algorithms"
)

// scriptFixed is a deliberately misbehaving scheduler for the interpreter's
// tests: it answers a fixed server ID (which may be unusable or not in the
// pool) or a fixed error.
type scriptFixed struct {
	id  algorithms.ServerID
	err error
}

func (s *scriptFixed) Name() string { return "scripttest-fixed" }

func (s *scriptFixed) Schedule(time.Duration, *algorithms.Request, *algorithms.Pool) (algorithms.ServerID, error) {
	return s.id, s.err
}

func init() {
	// Options.Seed selects the behaviour: 0..99 answer that ID, 100 an
	// unexpected error.
	algorithms.Register(algorithms.Info{
		Name:        "scripttest-fixed",
		Description: "test double of algotest's script tests",
		Source:      "algotest/script_test.go",
		New: func(o algorithms.Options) (algorithms.Scheduler, error) {
			if o.Seed == 100 {
				return &scriptFixed{err: errors.New("boom")}, nil
			}
			return &scriptFixed{id: algorithms.ServerID(o.Seed)}, nil
		},
	})
}

func exec(t *testing.T, src string) string {
	t.Helper()
	out, err := ExecScript("t.txt", []byte(src))
	if err != nil {
		t.Fatalf("ExecScript: %v\nscript:\n%s", err, src)
	}
	return string(out)
}

// The transcript of each command. Reference for the expected picks: thesis
// §4.1.2 (AABABCABC), §6.3.5 (LBLC/R), §4.2.4 (DFLB), §7.5.4 (bypass).
func TestExecScript(t *testing.T) {
	for _, tc := range []struct {
		name, src, want string
	}{
		{
			name: "CommentsAndBlankLines",
			src:  "# a comment\n\n   # indented comment   \nnew wrr\n",
			want: "# a comment\n\n# indented comment\nnew wrr\n",
		},
		{
			name: "WRRCycle",
			src:  "new wrr\nservers A:4 B:3 C:2\narrive 9\n",
			want: "new wrr\nservers A:4 B:3 C:2\narrive 9\n  A A B A B C A B C\n",
		},
		{
			name: "ServersBeforeNew",
			src:  "servers A:4 B:3 C:2\nnew wrr\narrive n=4\n",
			want: "servers A:4 B:3 C:2\nnew wrr\narrive n=4\n  A A B A\n",
		},
		{
			name: "TallyAndTrailingComment",
			src:  "new wrr\nservers A:4 B:3 C:2\narrive 18 tally  # two cycles\n",
			want: "new wrr\nservers A:4 B:3 C:2\narrive 18 tally  # two cycles\n  A=8 B=6 C=4\n",
		},
		{
			name: "ExpectationHolds",
			src:  "new wrr\nservers A:4 B:3 C:2\narrive 3 => A A B  # §4.1.2\n",
			want: "new wrr\nservers A:4 B:3 C:2\narrive 3 => A A B  # §4.1.2\n  A A B\n",
		},
		{
			name: "StatsFlags",
			src:  "new lc\nservers A B:2:u2:l1 C:3@10.0.0.3\narrive 4\ndown C\nweight A 0\nload B=0.5\nadjust A 0 7\nstats\n",
			want: "new lc\nservers A B:2:u2:l1 C:3@10.0.0.3\narrive 4\n  A B C A\ndown C\nweight A 0\nload B=0.5\nadjust A 0 7\nstats\n" +
				"  A: active=2 inactive=7 weight=0\n" +
				"  B: active=1 inactive=0 weight=2 load=0.500 thresholds=2/1\n" +
				"  C: active=1 inactive=0 weight=3 down\n",
		},
		{
			name: "OverloadAndNone",
			src:  "new lc\nservers A:1:u1 B:1:u1\narrive 3\nclose A\narrive 1\n",
			want: "new lc\nservers A:1:u1 B:1:u1\narrive 3\n  A B none\nclose A\narrive 1\n  A\n",
		},
		{
			name: "CloseAllAndUnits",
			src:  "new lc\nservers A B\narrive 4\nclose A 1\nstats\nclose all\nstats\n",
			want: "new lc\nservers A B\narrive 4\n  A B A B\nclose A 1\nstats\n" +
				"  A: active=1 inactive=0 weight=1\n  B: active=2 inactive=0 weight=1\nclose all\nstats\n" +
				"  A: active=0 inactive=0 weight=1\n  B: active=0 inactive=0 weight=1\n",
		},
		{
			name: "AddRemoveKeepsIDs",
			src:  "new lc\nservers A B\nremove A\nadd C:2 A\nstats\n",
			want: "new lc\nservers A B\nremove A\nadd C:2 A\nstats\n" +
				"  B: active=0 inactive=0 weight=1\n  C: active=0 inactive=0 weight=2\n  A: active=0 inactive=0 weight=1\n",
		},
		{
			name: "ListsTagPicks",
			src:  "new lblc\nservers A B\narrive key=/a,/b,/a\narrive key=/doc{i} n=2\narrive key=/a n=2\n",
			want: "new lblc\nservers A B\narrive key=/a,/b,/a\n  /a->A /b->B /a->A\narrive key=/doc{i} n=2\n  /doc0->B /doc1->A\narrive key=/a n=2\n  A A\n",
		},
		{
			name: "LookupAndAdvance",
			src:  "new lblcr low=1 high=1 set_expiry=10s\nservers A B\narrive key=/a n=3\nlookup key=/a\nadvance 11s\narrive key=/a\nlookup key=/a\n",
			// A=0 -> A; A=1 not > high -> A; A=2 > high, B < low -> add B.
			// After 11 s > K the most loaded member A leaves.
			want: "new lblcr low=1 high=1 set_expiry=10s\nservers A B\narrive key=/a n=3\n  A A B\nlookup key=/a\n  [A B]\n" +
				"advance 11s\n  now 11s\narrive key=/a\n  B\nlookup key=/a\n  [B]\n",
		},
		{
			name: "LookupLBLCAndIPVS",
			src:  "servers A B\nnew lblc\nlookup key=/x\narrive key=/x\nlookup key=/x\nnew ipvs-lblc\narrive dest=10.1.1.1\nlookup dest=10.1.1.1\n",
			want: "servers A B\nnew lblc\nlookup key=/x\n  []\narrive key=/x\n  A\nlookup key=/x\n  [A]\nnew ipvs-lblc\narrive dest=10.1.1.1\n  B\nlookup dest=10.1.1.1\n  [B]\n",
		},
		{
			name: "BypassToOrigin",
			src:  "new lbll-cache\nservers A\narrive key=/cgi nocache\n",
			want: "new lbll-cache\nservers A\narrive key=/cgi nocache\n  origin\n",
		},
		{
			name: "Feedback",
			// §4.2.4: 4 + 5*cbrt(0.95-1) = 2.158; 4 + 5*cbrt(0.95-0.5) = 7.832.
			src: "new dflb\nservers A:4 B:4\nfeedback A:all=1 B:cpu=0.5,response=0.5:input=0.5,disk=0.5,memory=0.5,process=0.5\nstats\nfeedback B:unresponsive\n",
			want: "new dflb\nservers A:4 B:4\nfeedback A:all=1 B:cpu=0.5,response=0.5:input=0.5,disk=0.5,memory=0.5,process=0.5\n" +
				"  A aggregate=1.000 dflb-weight=2.158\n  B aggregate=0.500 dflb-weight=7.832\nstats\n" +
				"  A: active=0 inactive=0 weight=4 dflb-weight=2.158\n  B: active=0 inactive=0 weight=4 dflb-weight=7.832\n" +
				"feedback B:unresponsive\n  B unresponsive dflb-weight=0.000\n",
		},
		{
			name: "MisbehavingScheduler",
			src:  "servers A B\nnew scripttest-fixed seed=1\ndown B\narrive 1\nnew scripttest-fixed seed=7\narrive 1 tally\nnew scripttest-fixed seed=100\narrive 1\n",
			want: "servers A B\nnew scripttest-fixed seed=1\ndown B\narrive 1\n  B!\nnew scripttest-fixed seed=7\narrive 1 tally\n  A=0 B=0 #7=1\n" +
				"new scripttest-fixed seed=100\narrive 1\n  error(boom)\n",
		},
		{
			name: "EmptyPoolStats",
			src:  "stats\n",
			want: "stats\n  (no servers)\n",
		},
		{
			name: "ClassAndNearOptions",
			src: "servers A B C\nnew content classes=cgi=2\narrive class=cgi,,cgi\n" +
				"new global near=10.0.0.0/8=1,2\narrive client=10.1.2.3\n",
			want: "servers A B C\nnew content classes=cgi=2\narrive class=cgi,,cgi\n  cgi->C ->A cgi->C\n" +
				"new global near=10.0.0.0/8=1,2\narrive client=10.1.2.3\n  B\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := exec(t, tc.src); got != tc.want {
				t.Errorf("transcript:\n%s\nwant:\n%s\ndiff (-want +got):\n%s", got, tc.want, lineDiff([]byte(tc.want), []byte(got)))
			}
		})
	}
}

// Every script error names the file and line and leaves no transcript.
func TestExecScriptErrors(t *testing.T) {
	const pre = "new lc\nservers A B\n" // lines 1-2
	for _, tc := range []struct {
		name, src string
		line      int
		msg       string
	}{
		{"UnknownCommand", pre + "frobnicate\n", 3, "unknown command"},
		{"NoScheduler", "servers A\narrive 1\n", 2, "no scheduler"},
		{"UnknownScheduler", "new nosuch\n", 1, "unknown scheduler"},
		{"UnknownOption", "new lc colour=blue\n", 1, "unknown option"},
		{"BadOptionValue", "new lblc low=x\n", 1, `"x" is not an integer`},
		{"OptionNeedsValue", "new lblc low\n", 1, "want option=value"},
		{"OldSpelling", "new lblcr expiry=60s\n", 1, `unknown option "expiry"`},
		{"NegativeOption", "new lblcr set_expiry=-1s\n", 1, ">= 0"},
		{"SchedulerRejectsOptions", "new lblc low=9 high=3\n", 1, "exceeds"},
		{"BadClass", "new content classes=cgi=A\n", 1, `node "A" is not a number`},
		{"UnknownServer", pre + "down Z\n", 3, `unknown server "Z"`},
		{"RemovedServer", pre + "remove A\nweight A 2\n", 4, "not in the pool"},
		{"DuplicateServer", pre + "add A\n", 3, "already in the pool"},
		{"DuplicateInServers", "servers A A\n", 1, "already in the pool"},
		{"ReservedName", "servers origin\n", 1, "reserved"},
		{"BadName", "servers A/B\n", 1, "only letters"},
		{"BadWeight", "servers A:x\n", 1, "bad field"},
		{"NegativeWeight", pre + "weight A -1\n", 3, "not a count"},
		{"BadAddress", "servers A@nowhere\n", 1, "address"},
		{"LowAboveHigh", "servers A:1:low5:high2\n", 1, "exceeds high"},
		{"CloseTooMuch", pre + "arrive 2\nclose A 2\n", 4, "negative"},
		{"CloseUsage", pre + "close\n", 3, "usage"},
		{"BadDuration", pre + "advance soon\n", 3, "duration"},
		{"NegativeDuration", pre + "advance -1s\n", 3, "duration"},
		{"ClockOverflow", pre + "advance 2562047h\nadvance 2562047h\n", 4, "overflow"},
		{"BadCount", pre + "arrive 0\n", 3, "request count"},
		{"TooManyArrivals", pre + "arrive 1000001\n", 3, "request count"},
		{"CountTwice", pre + "arrive 2 n=3\n", 3, "twice"},
		{"UnknownAttr", pre + "arrive colour=red\n", 3, "unknown request attribute"},
		{"BadClient", pre + "arrive client=10.0.0\n", 3, "client"},
		{"BadCost", pre + "arrive cost=-2\n", 3, "cost"},
		{"BadLocal", pre + "arrive local=Q\n", 3, "unknown server"},
		{"ExpectationFails", pre + "arrive 2 => B A\n", 3, `got "A B", want "B A"`},
		{"ExpectationWithoutCommand", pre + "=> A\n", 3, "expectation without a command"},
		{"FeedbackUnsupported", pre + "feedback A:cpu=1\n", 3, "takes no load feedback"},
		{"FeedbackBadMetric", "new dflb\nservers A\nfeedback A:heat=1\n", 3, "unknown metric"},
		{"FeedbackNaN", "new dflb\nservers A\nfeedback A:cpu=NaN\n", 3, "finite"},
		{"LoadNotNumber", pre + "load A high\n", 3, "finite"},
		{"LookupUnsupported", pre + "lookup key=/a\n", 3, "no per-key mapping"},
		{"LookupList", "new lblc\nservers A\nlookup key=/a,/b\n", 3, "single values"},
		{"StatsArgs", pre + "stats now\n", 3, "no arguments"},
		{"ThresholdsUsage", pre + "thresholds A 1\n", 3, "usage"},
		{"AdjustNegative", pre + "adjust A -1 0\n", 3, "negative"},
		{"ControlCharacter", pre + "arrive\x00 1\n", 3, "control characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := ExecScript("x/s.txt", []byte(tc.src))
			if err == nil {
				t.Fatalf("no error; transcript:\n%s", out)
			}
			var se *ScriptError
			if !errors.As(err, &se) {
				t.Fatalf("error %v (%T) is not a *ScriptError", err, err)
			}
			if se.File != "x/s.txt" || se.Line != tc.line {
				t.Errorf("error at %s:%d, want x/s.txt:%d (%v)", se.File, se.Line, tc.line, err)
			}
			prefix := fmt.Sprintf("x/s.txt:%d: ", tc.line)
			if msg := err.Error(); !strings.HasPrefix(msg, prefix) || !strings.Contains(msg, tc.msg) {
				t.Errorf("error %q, want prefix %q and %q", msg, prefix, tc.msg)
			}
			if out != nil {
				t.Errorf("a failed script returned a transcript")
			}
		})
	}
}

// A scheduler's own errors are results, not script errors: DFLB rejecting
// a duplicate report is printed.
func TestFeedbackErrorIsOutput(t *testing.T) {
	got := exec(t, "new dflb\nservers A:2\nfeedback A:cpu=1 A:cpu=1\n")
	if !strings.Contains(got, "  error(") || !strings.Contains(got, "already reported") {
		t.Errorf("transcript %q does not show DFLB's error", got)
	}
}

func TestGoldenPath(t *testing.T) {
	for in, want := range map[string]string{
		"testdata/scripts/wrr.txt": "testdata/scripts/wrr.golden",
		"a/b.c/d":                  "a/b.c/d.golden",
	} {
		if got := GoldenPath(in); got != want {
			t.Errorf("GoldenPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// checkScript writes goldens under update, accepts matching ones, and
// rejects missing or different ones and failing expectations (which -update
// cannot paper over).
func TestCheckScript(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "s.txt")
	golden := filepath.Join(dir, "s.golden")
	write := func(name, s string) {
		t.Helper()
		if err := os.WriteFile(name, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(script, "new wrr\nservers A:2 B:1\narrive 3 => A A B\n")

	if err := checkScript(script, false); err == nil || !strings.Contains(err.Error(), "-update") {
		t.Errorf("missing golden: got %v, want an error suggesting -update", err)
	}
	if err := checkScript(script, true); err != nil {
		t.Fatalf("update: %v", err)
	}
	b, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if want := "new wrr\nservers A:2 B:1\narrive 3 => A A B\n  A A B\n"; string(b) != want {
		t.Errorf("golden = %q, want %q", b, want)
	}
	if err := checkScript(script, false); err != nil {
		t.Errorf("matching golden: %v", err)
	}

	write(golden, "new wrr\nservers A:2 B:1\narrive 3 => A A B\n  A B A\n")
	err = checkScript(script, false)
	if err == nil || !strings.Contains(err.Error(), "-    4    A B A") || !strings.Contains(err.Error(), "+    4    A A B") {
		t.Errorf("different golden: got %v, want a diff of line 4", err)
	}

	write(script, "new wrr\nservers A:2 B:1\narrive 3 => A B A\n")
	if err := checkScript(script, true); err == nil || !strings.Contains(err.Error(), "s.txt:3:") {
		t.Errorf("failing expectation under update: got %v, want an error at s.txt:3", err)
	}
	if b2, _ := os.ReadFile(golden); !bytes.Equal(b2, []byte("new wrr\nservers A:2 B:1\narrive 3 => A A B\n  A B A\n")) {
		t.Errorf("a failing script rewrote its golden: %q", b2)
	}
}

func TestRunScripts(t *testing.T) {
	dir := t.TempDir()
	for name, src := range map[string]string{
		"one.txt": "new rr\nservers A B C\narrive 4 => A B C A\n",
		"two.txt": "new p2c seed=3\nservers A B C\narrive 30 tally\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	glob := filepath.Join(dir, "*.txt")
	RunScripts(t, glob, UpdateGolden(true))
	for _, g := range []string{"one.golden", "two.golden"} {
		if _, err := os.Stat(filepath.Join(dir, g)); err != nil {
			t.Errorf("golden not written: %v", err)
		}
	}
	RunScripts(t, glob, UpdateGolden(false))
}

// The same script gives the same bytes, including a seeded randomized
// scheduler and a map-backed one.
func TestExecScriptDeterministic(t *testing.T) {
	src := "new p2c seed=9\nservers A B:2 C:3 D\narrive 200 tally\nnew lblcr low=1 high=2\narrive key=/k{i} n=50\n" +
		"new dflb\nfeedback A:all=0.2 B:all=2 C:all=1 D:all=0.95\narrive 40\nstats\n"
	a := exec(t, src)
	for range 3 {
		if b := exec(t, src); b != a {
			t.Fatalf("runs differ:\n%s", lineDiff([]byte(a), []byte(b)))
		}
	}
}

// The interpreter never panics, reports errors as *ScriptError at a line of
// the script, and is deterministic.
func FuzzExecScript(f *testing.F) {
	for _, s := range []string{
		"new wrr\nservers A:4 B:3 C:2\narrive 9\n",
		"new lblcr low=1 high=2 set_expiry=5s\nservers A B C\narrive key=/a,/b cost=2 n=7\nadvance 6s\narrive key=/a\nlookup key=/a\nclose all\n",
		"new dflb inner=wlc\nservers A:2 B:0:u3\nfeedback A:all=2 B:unresponsive\nstats\n",
		"new lbll-cache threshold=0.5\nservers A B\nload A 0.9\narrive key=/x nocache\narrive key=/y => A\n",
		"new sh fallback port\nservers A B@10.0.0.2 C\ndown B\narrive client=10.0.0.{i} port=80,81 n=5 tally\n",
		"# only a comment\n\n",
		"new chbl epsilon=0.1 replicas=3\nservers A B\nremove A\nadd A:2:low1:high3\nthresholds B 1 0\nadjust B 1 0\narrive 3\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		if len(src) > 4096 {
			return
		}
		lines := bytes.Count(src, []byte("\n")) + 1
		out, err := ExecScript("f.txt", src)
		if err != nil {
			var se *ScriptError
			if !errors.As(err, &se) {
				t.Fatalf("error %v (%T) is not a *ScriptError", err, err)
			}
			if se.Line < 1 || se.Line > lines+1 {
				t.Fatalf("error at line %d of a %d-line script: %v", se.Line, lines, err)
			}
			return
		}
		again, err := ExecScript("f.txt", src)
		if err != nil || !bytes.Equal(out, again) {
			t.Fatalf("second run differs (err %v):\n%s", err, lineDiff(out, again))
		}
	})
}

func ExampleExecScript() {
	script := `# thesis §4.1.2: weights 4, 3, 2 give AABABCABC
new wrr
servers A:4 B:3 C:2
arrive 9 => A A B A B C A B C
weight B 0
arrive 6 tally
`
	out, err := ExecScript("example.txt", []byte(script))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(string(out))
	// Output:
	// # thesis §4.1.2: weights 4, 3, 2 give AABABCABC
	// new wrr
	// servers A:4 B:3 C:2
	// arrive 9 => A A B A B C A B C
	//   A A B A B C A B C
	// weight B 0
	// arrive 6 tally
	//   A=4 B=0 C=2
}
