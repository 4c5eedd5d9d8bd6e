package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvslab/lvslab/sim"
)

// TestMisreadTraces runs lvslab on inputs it used to misread silently
// (exit 0 with wrong or changed output): timestamps past what a log or a
// time.Duration holds, malformed lines dropped without a word, files that
// are not logs or not results, an explicit request skipped, an over-long
// line, control characters from logs printed raw. Each row checks the exit
// status, what stdout and stderr say (the flag, key, file or line to
// blame), that no raw control character reaches either stream, and that
// no input file changed.
func TestMisreadTraces(t *testing.T) {
	odd, err := os.ReadFile(traceTD("odd.log"))
	if err != nil {
		t.Fatal(err)
	}
	line := func(date, method string) string {
		return `10.0.0.1 - - [` + date + ` +0000] "` + method + ` /a.html HTTP/1.0" 200 1000` + "\n"
	}
	span := line("01/Jan/3000:00:00:00", "GET") + line("01/Jan/1600:00:00:00", "GET")
	garbage := []byte("\x7fELF\x02\x01\x01\x00\x00\x00\n\x00\x00\x1b[2J\xff\xfe\n\x03\x00>\x00\x01\n")
	results := func() []byte {
		var b bytes.Buffer
		cdf := []sim.CDFPoint{{Time: 1e6, Fraction: 0.5}, {Time: 3e6, Fraction: 1}}
		if err := sim.WriteJSON(&b, []*sim.Result{
			{Trace: "t", Config: sim.Config{Algorithm: "wrr", Nodes: 1}, ThroughputRPS: 10, ResponseCDF: cdf},
			{Trace: "t", Config: sim.Config{Algorithm: "wrr", Nodes: 4}, ThroughputRPS: 30, ResponseCDF: cdf},
		}); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}()
	sim1 := []string{"sim", "--alg", "wrr", "--nodes", "1", "--format", "csv"}
	tests := []struct {
		name      string
		files     map[string]string // inputs, in the row's directory
		args      []string          // "@NAME" is NAME in the row's directory
		code      int
		stderr    []string // substrings
		stdout    []string
		notStdout []string
		absent    []string // outputs that must not exist afterwards
	}{
		// Timestamps.
		{name: "synth start 2300 is written as 2300, not 1715",
			args:   []string{"trace", "synth", "--preset", "small", "--requests", "20", "--cover=false", "--start", "2300-01-01"},
			stdout: []string{"[01/Jan/2300:00:00:00 +0000]"}, notStdout: []string{"/1715:"}},
		{name: "synth rate so low the log would span 634 years",
			args: []string{"trace", "synth", "--preset", "small", "--rate", "1e-6", "-o", "@out.log"}, code: 1,
			stderr: []string{"rate = 1e-06", "20000 requests", "634 years", "292 years", "want a rate above"}, absent: []string{"out.log"}},
		{name: "synth past the end of 9999",
			args: []string{"trace", "synth", "--preset", "small", "--start", "9999-12-31T23:59:00Z"}, code: 1,
			stderr: []string{"rate = 10", "start 9999-12-31T23:59:00Z", "end of the year 9999", "an earlier start"}},
		{name: "synth start at the zero time, which means the default",
			args: []string{"trace", "synth", "--preset", "small", "--start", "0001-01-01"}, code: 1,
			stderr: []string{"--start 0001-01-01", "zero time"}},
		{name: "stats of a log spanning 1600-3000: the span, not a negative one",
			files: map[string]string{"span.log": span}, args: []string{"trace", "stats", "@span.log"},
			stdout:    []string{"1600-01-01T00:00:00Z .. 3000-01-01T00:00:00Z (12272160h0m0s)"},
			notStdout: []string{"(-"}},
		{name: "a workload spanning 1600-3000 is more than a Duration holds",
			files: map[string]string{"span.log": span}, args: []string{"trace", "hrc", "@span.log"}, code: 1,
			stderr: []string{"span.log:2: time 1600-01-01T00:00:00Z is more than 292 years before the first request's (3000-01-01T00:00:00Z)"}},
		// Malformed lines in sim.
		{name: "sim reports the lines it drops",
			files: map[string]string{"odd.log": string(odd)}, args: append(sim1, "--trace", "@odd.log"),
			stderr:    []string{"odd.log:13: no [time] field\n", "odd.log:17: request line not followed by status and bytes\n", "5 of 18 lines do not parse and were dropped"},
			stdout:    []string{"alg,nodes,trace"},
			notStdout: []string{"odd.log:13"}},
		{name: "sim --strict makes the first malformed line fatal",
			files: map[string]string{"odd.log": string(odd)}, args: append(sim1, "--trace", "@odd.log", "--strict"), code: 1,
			stderr: []string{"trace ", "odd.log:13: no [time] field"}},
		{name: "experiment key strict: true",
			files: map[string]string{"odd.log": string(odd), "e.yaml": "trace: odd.log\nalg: wrr\nnodes: 1\nstrict: true\n"},
			args:  []string{"sim", "-f", "@e.yaml", "--format", "csv"}, code: 1,
			stderr: []string{"odd.log:13: no [time] field"}},
		{name: "--strict=false overrides the file's strict: true",
			files:  map[string]string{"odd.log": string(odd), "e.yaml": "trace: odd.log\nalg: wrr\nnodes: 1\nstrict: true\n"},
			args:   []string{"sim", "-f", "@e.yaml", "--format", "csv", "--strict=false"},
			stderr: []string{"5 of 18 lines do not parse"}, stdout: []string{"alg,nodes,trace"}},
		{name: "experiment key strict with a bad value",
			files: map[string]string{"odd.log": string(odd), "e.yaml": "trace: odd.log\nalg: wrr\nstrict: sometimes\n"},
			args:  []string{"sim", "-f", "@e.yaml"}, code: 1,
			stderr: []string{"e.yaml: line 3: strict: \"sometimes\" is not true or false"}},
		// Not a web log.
		{name: "stats of binary garbage",
			files: map[string]string{"garbage.bin": string(garbage)}, args: []string{"trace", "stats", "@garbage.bin"}, code: 1,
			stderr: []string{"garbage.bin: not a web log: none of its 3 lines parses as Common or Combined Log Format (first: line 1: no host field)"}},
		{name: "stats of an empty file",
			files: map[string]string{"empty.log": ""}, args: []string{"trace", "stats", "@empty.log"}, code: 1,
			stderr: []string{"empty.log: empty"}, notStdout: []string{"kept"}},
		{name: "stats of a header-only CSV",
			files: map[string]string{"h.csv": "url,bytes\n"}, args: []string{"trace", "stats", "--format", "csv", "--columns", "url=1,bytes=2", "--header", "@h.csv"}, code: 1,
			stderr: []string{"h.csv: empty: no line to read after the header"}},
		{name: "stats with the wrong column mapping",
			files: map[string]string{"e.csv": "/a,x\n/b,y\n"}, args: []string{"trace", "stats", "--format", "csv", "--columns", "url=1,bytes=2", "@e.csv"}, code: 1,
			stderr: []string{"e.csv: not a web log", "CSV with columns url=1,bytes=2", `line 1: column 2: bytes "x" is not a number`}},
		{name: "sim on binary garbage",
			files: map[string]string{"garbage.bin": string(garbage)}, args: append(sim1, "--trace", "@garbage.bin"), code: 1,
			stderr: []string{"garbage.bin: not a web log"}},
		{name: "convert of an empty file writes nothing",
			files: map[string]string{"empty.log": ""}, args: []string{"trace", "convert", "@empty.log", "-o", "@out.log"}, code: 1,
			stderr: []string{"empty.log: empty"}, absent: []string{"out.log"}},
		{name: "synth --fit on garbage",
			files: map[string]string{"garbage.bin": string(garbage)}, args: []string{"trace", "synth", "--fit", "@garbage.bin", "--print-model"}, code: 1,
			stderr: []string{"--fit", "garbage.bin: not a web log"}},
		// Plot input.
		{name: "plot of [{}]",
			files: map[string]string{"r.json": `[{}]`}, args: []string{"plot", "@r.json", "-o", "@figs"}, code: 1,
			stderr: []string{"r.json: not lvslab results: result 1 lacks trace, config, throughput_rps, hit_ratio"}, absent: []string{"figs"}},
		{name: `plot of [{"foo":1}]`,
			files: map[string]string{"r.json": `[{"foo":1}]`}, args: []string{"plot", "@r.json", "-o", "@figs"}, code: 1,
			stderr: []string{"r.json: not lvslab results: result 1 lacks"}, absent: []string{"figs"}},
		{name: "plot of a JSON object",
			files: map[string]string{"r.json": `{"alg":"wrr","nodes":1}`}, args: []string{"plot", "@r.json", "-o", "@figs"}, code: 1,
			stderr: []string{"r.json: not lvslab results: want a JSON list of results", "got an object"}, absent: []string{"figs"}},
		{name: "plot of a CSV without the results header",
			files: map[string]string{"r.csv": "wrr,1,100\nlblc,1,120\n"}, args: []string{"plot", "@r.csv", "-o", "@figs"}, code: 1,
			stderr: []string{"r.csv: not lvslab results: the CSV header has no alg, nodes, throughput_rps column"}, absent: []string{"figs"}},
		{name: "plot --cdf-nodes at a node count with no result",
			files: map[string]string{"r.json": string(results)}, args: []string{"plot", "@r.json", "-o", "@figs", "--cdf-nodes", "99"}, code: 1,
			stderr: []string{"--cdf-nodes: no response-time CDF at 99 nodes", "node counts with one: 1, 4"}, absent: []string{"figs"}},
		{name: "plot --cdf-nodes of a CSV without its JSON",
			files: map[string]string{"r.csv": "alg,nodes,throughput_rps\nwrr,1,10\n"}, args: []string{"plot", "@r.csv", "-o", "@figs", "--cdf-nodes", "1"}, code: 1,
			stderr: []string{"--cdf-nodes: no response-time CDF", "JSON results only"}, absent: []string{"figs"}},
		// Over-long lines.
		{name: "schedule --keys with a 10 MB line",
			files: map[string]string{"keys.txt": "/a\n" + strings.Repeat("x", 10<<20) + "\n/b\n"}, args: []string{"schedule", "--alg", "lblc", "--keys", "@keys.txt"}, code: 1,
			stderr: []string{"--keys: ", "keys.txt:2: line longer than 1 MiB"}, notStdout: []string{"A"}},
		// Control characters from logs.
		{name: "stats prints a method with ESC and NUL escaped",
			files: map[string]string{"c.log": line("01/Jan/2000:00:00:00", "G\x1b[2J\x00ET")},
			args:  []string{"trace", "stats", "--all", "@c.log"}, stdout: []string{`method mix:            G\x1b[2J\x00ET 100.0%`}},
		{name: "malformed-line excerpts are escaped",
			files: map[string]string{"c.csv": "/a,10\n/b,\x1b]0;pwned\x07\n"}, args: []string{"trace", "stats", "--format", "csv", "--columns", "url=1,bytes=2", "@c.csv"},
			stderr: []string{`c.csv:2: column 2: bytes "\x1b]0;pwned\a" is not a number`}},
		{name: "file names are escaped",
			files: map[string]string{"x\x1b[1m.log": line("01/Jan/2000:00:00:00", "GET")}, args: []string{"trace", "stats", "@x\x1b[1m.log"},
			stdout: []string{`x\x1b[1m.log (clf)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			args := make([]string, len(tt.args))
			for i, a := range tt.args {
				if name, ok := strings.CutPrefix(a, "@"); ok {
					a = filepath.Join(dir, name)
				}
				args[i] = a
			}
			var stdout, stderr bytes.Buffer
			code := run(args, &stdout, &stderr)
			out, errs := stdout.String(), stderr.String()
			if code != tt.code {
				t.Fatalf("exit status %d, want %d\nstderr: %s\nstdout: %.500s", code, tt.code, errs, out)
			}
			for _, s := range tt.stderr {
				if !strings.Contains(errs, s) {
					t.Errorf("stderr lacks %q:\n%s", s, errs)
				}
			}
			for _, s := range tt.stdout {
				if !strings.Contains(out, s) {
					t.Errorf("stdout lacks %q:\n%.2000s", s, out)
				}
			}
			for _, s := range tt.notStdout {
				if strings.Contains(out, s) {
					t.Errorf("stdout has %q:\n%.2000s", s, out)
				}
			}
			for name, s := range map[string]string{"stdout": out, "stderr": errs} {
				if i := strings.IndexFunc(s, func(r rune) bool { return r < 0x20 && r != '\n' || r == 0x7f }); i >= 0 {
					t.Errorf("%s holds the control character %q at %d: %q", name, s[i], i, s[max(i-40, 0):min(i+40, len(s))])
				}
			}
			for name, content := range tt.files {
				got, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil || string(got) != content {
					t.Errorf("input %s changed (%v)", name, err)
				}
			}
			for _, name := range tt.absent {
				if _, err := os.Stat(filepath.Join(dir, name)); !os.IsNotExist(err) {
					t.Errorf("%s exists after a failed run (%v)", name, err)
				}
			}
		})
	}
}
