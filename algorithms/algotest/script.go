package algotest

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lvslab/lvslab/algorithms"
)

// ScriptError is an error in a script: a parse error, an unknown command or
// server, a host bookkeeping error (ending more work than is running), or
// a failed inline expectation.
type ScriptError struct {
	File string
	Line int
	Err  error
}

func (e *ScriptError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }

// Unwrap returns the underlying error.
func (e *ScriptError) Unwrap() error { return e.Err }

// ScriptOption adjusts [RunScripts].
type ScriptOption func(*scriptConfig)

type scriptConfig struct {
	update, updateSet bool
}

// UpdateGolden makes [RunScripts] rewrite the golden files (on) or compare
// against them (off), overriding the -update flag.
func UpdateGolden(on bool) ScriptOption {
	return func(c *scriptConfig) { c.update, c.updateSet = on, true }
}

// updateFromFlag reports whether a boolean flag named "update" is defined
// in the test binary and set. algotest does not define it: packages that
// already have their own -update flag (sim, traces) may import algotest.
func updateFromFlag() bool {
	f := flag.Lookup("update")
	if f == nil {
		return false
	}
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return false
	}
	b, ok := g.Get().(bool)
	return ok && b
}

// GoldenPath returns the golden file of a script: NAME.txt -> NAME.golden.
func GoldenPath(script string) string {
	return strings.TrimSuffix(script, filepath.Ext(script)) + ".golden"
}

// RunScripts runs every script matching glob (for example
// "testdata/scripts/*.txt") as a subtest named after the file. Each script
// is run twice and must give identical bytes; the transcript must equal
// the golden file beside the script ([GoldenPath]). With the -update flag
// (if the test binary defines one) or UpdateGolden(true) the golden files
// are rewritten instead. It fails if glob matches nothing.
func RunScripts(t *testing.T, glob string, opts ...ScriptOption) {
	t.Helper()
	var cfg scriptConfig
	for _, o := range opts {
		o(&cfg)
	}
	if !cfg.updateSet {
		cfg.update = updateFromFlag()
	}
	files, err := filepath.Glob(glob)
	if err != nil {
		t.Fatalf("RunScripts(%q): %v", glob, err)
	}
	if len(files) == 0 {
		t.Fatalf("RunScripts(%q): no script matches", glob)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
		t.Run(name, func(t *testing.T) {
			if err := checkScript(file, cfg.update); err != nil {
				t.Error(err)
			}
		})
	}
}

// checkScript runs one script file twice and compares (or writes) its
// golden output.
func checkScript(file string, update bool) error {
	src, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	got, err := ExecScript(file, src)
	if err != nil {
		return err
	}
	again, err := ExecScript(file, src)
	if err != nil {
		return fmt.Errorf("second run: %w", err)
	}
	if !bytes.Equal(got, again) {
		return fmt.Errorf("%s: two runs of the same script differ:\n%s", file, lineDiff(got, again))
	}
	golden := GoldenPath(file)
	if update {
		return os.WriteFile(golden, got, 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		return fmt.Errorf("%w (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("%s: output differs from %s (-want +got; -update regenerates):\n%s", file, golden, lineDiff(want, got))
	}
	return nil
}

// lineDiff describes the first differing line of want and got with some
// context.
func lineDiff(want, got []byte) string {
	w := strings.Split(string(want), "\n")
	g := strings.Split(string(got), "\n")
	i := 0
	for i < len(w) && i < len(g) && w[i] == g[i] {
		i++
	}
	var b strings.Builder
	for j := max(0, i-3); j < i; j++ {
		fmt.Fprintf(&b, "  %4d  %s\n", j+1, w[j])
	}
	for j := i; j < len(w) && j < i+4; j++ {
		fmt.Fprintf(&b, "- %4d  %s\n", j+1, w[j])
	}
	for j := i; j < len(g) && j < i+4; j++ {
		fmt.Fprintf(&b, "+ %4d  %s\n", j+1, g[j])
	}
	return b.String()
}

// Limits that keep a hostile or mistaken script (and the fuzzer) from
// running for ever.
const (
	maxArrivals = 100000
	maxServers  = 1000
	maxLine     = 64 << 10
)

// ExecScript runs a scenario script (docs/style.md item 9; after etcd-io/raft's
// datadriven interaction tests, written independently) and returns its
// transcript. name labels errors ("testdata/scripts/wrr.txt:12: ..."). The
// same script always gives the same bytes. An error is a *[ScriptError].
//
// # Format
//
// A script is text, one command per line. Blank lines and lines starting
// with '#' are comments; " #" also starts a trailing comment on a command
// line. A command may end with "=> RESULT", an inline expectation: the
// command's result lines, joined with "; ", must equal RESULT, or the
// script fails at that line. Golden files are regenerated, expectations
// are not, so a fact taken from the thesis cannot be overwritten by -update.
//
// The transcript repeats every line of the script, trimmed, and follows
// each command by its result lines indented by two spaces. Commands that
// only change state print nothing. The host state is a fresh
// [algorithms.Pool], no scheduler and now = 0.
//
//	new NAME [opt=value ...]        build registered scheduler NAME (replaces the current one)
//	servers SPEC ...                replace the pool (IDs restart at 0, in order)
//	add SPEC ...                    append servers
//	remove NAME ...                 remove servers
//	weight NAME W                   set a weight (0 = quiescing)
//	down NAME ... | up NAME ...     mark servers down or up
//	thresholds NAME UPPER LOWER     IPVS connection thresholds (0 = none)
//	load NAME X | load NAME=X ...   measured normalised load (Pool.SetLoad)
//	adjust NAME DACTIVE DINACTIVE   move connection counters (Pool.Adjust)
//	arrive [N] [attr=value ...] [tally]  schedule N requests; Begin each pick's cost
//	close NAME [UNITS] | close all  End work (default: all the server's active units)
//	advance DURATION                move the clock ("61s", "2m"); prints now
//	feedback NAME:metric=v[,metric=v] ...  one LoadFeedback interval
//	lookup [attr=value ...]         the scheduler's set or mapping for a key
//	stats                           one line per server, in pool order
//
// A server SPEC is NAME[:WEIGHT][:uN][:lN][:lowN][:highN][@ADDR]: the
// weight (default 1), IPVS upper and lower connection thresholds, the
// locality thresholds of thesis §6.3.5 and an address. A removed server
// added again by name keeps its ID.
//
// Request attributes of arrive and lookup: n=N (or a bare number), key=K,
// client=ADDR, port=P (client port), dest=ADDR, dport=P, cost=C, class=C,
// local=NAME, and the bare word nocache. All but n and nocache take
// comma-separated lists whose values are used in turn; without n, arrive
// schedules one request per value of the longest list. "{i}" in a value is
// replaced by the request's index within the command, from 0
// ("key=/doc{i} n=100" makes 100 distinct keys).
//
// arrive prints the picks separated by spaces: the server's name, "origin"
// for [algorithms.ErrBypass], "none" for [algorithms.ErrNoServer],
// "error(...)" for any other error, a "!" suffix when the server was not
// usable and "#ID" for an ID not in the pool. When a value varies between
// the requests, each pick is prefixed by the values ("/a->A"). With tally
// it prints per-server counts instead ("A=4 B=3 C=2").
//
// Options of new are those of [algorithms.OptionSpecs], spelt and written
// as everywhere else (set_expiry=60s, table_size=251, dflb.scale=2,
// classes=cgi=0,1;img=2 with server IDs, counted from 0 in the order the
// servers were declared). Boolean options may be written bare.
//
// feedback metrics are input, cpu, disk, memory, process and response
// (all=X sets all six); a metric not named is not measured (absent from
// Load.Measured), and the bare word unresponsive marks a server that did
// not answer. When the scheduler exposes its weights (DFLB), feedback
// prints each reported server's aggregate load ("none" when it measured
// nothing DFLB weighs) and new weight, and stats
// adds the weights. lookup understands the Set and Lookup methods of the
// locality-based schedulers (LBLC, LBLC/R, LBLL, their IPVS forms and
// content-based LBLC/R).
//
// Parse errors, unknown commands or servers and host bookkeeping errors
// (ending more work than is running) stop the script. Errors a scheduler
// returns are results and are printed.
func ExecScript(name string, src []byte) ([]byte, error) {
	in := &interp{file: name, names: map[string]algorithms.ServerID{}}
	in.pool, _ = algorithms.NewPool()
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	for sc.Scan() {
		in.line++
		if err := in.exec(sc.Text()); err != nil {
			return nil, &ScriptError{File: name, Line: in.line, Err: err}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, &ScriptError{File: name, Line: in.line + 1, Err: err}
	}
	return in.out.Bytes(), nil
}

type interp struct {
	file  string
	line  int
	out   bytes.Buffer
	sched algorithms.Scheduler
	pool  *algorithms.Pool
	names map[string]algorithms.ServerID // every name the pool has had
	next  algorithms.ServerID
	now   time.Duration
	res   []string // result lines of the current command
}

func (in *interp) exec(raw string) error {
	line := strings.TrimSpace(raw)
	if !utf8Printable(line) {
		return errors.New("line contains control characters")
	}
	if line == "" || line[0] == '#' {
		in.out.WriteString(line + "\n")
		return nil
	}
	in.out.WriteString(line + "\n")
	cmd := line
	if i := strings.Index(cmd, " #"); i >= 0 {
		cmd = cmd[:i]
	}
	expect, hasExpect := "", false
	if i := strings.Index(cmd, "=>"); i >= 0 {
		expect, hasExpect = strings.TrimSpace(cmd[i+2:]), true
		cmd = cmd[:i]
	}
	f := strings.Fields(cmd)
	if len(f) == 0 {
		return errors.New("expectation without a command")
	}
	in.res = in.res[:0]
	if err := in.dispatch(f[0], f[1:]); err != nil {
		return fmt.Errorf("%s: %w", f[0], err)
	}
	for _, r := range in.res {
		in.out.WriteString("  " + r + "\n")
	}
	if hasExpect {
		if got := strings.Join(in.res, "; "); got != expect {
			return fmt.Errorf("%s: got %q, want %q", f[0], got, expect)
		}
	}
	return nil
}

func utf8Printable(s string) bool {
	for _, r := range s {
		if r == '\t' {
			continue
		}
		if r < 0x20 || r == 0x7f || r == 0xfffd {
			return false
		}
	}
	return true
}

func (in *interp) print(format string, args ...any) {
	in.res = append(in.res, fmt.Sprintf(format, args...))
}

func (in *interp) dispatch(cmd string, args []string) error {
	switch cmd {
	case "new":
		return in.cmdNew(args)
	case "servers":
		return in.cmdServers(args)
	case "add":
		return in.cmdAdd(args)
	case "remove":
		return in.eachServer(args, in.pool.Remove)
	case "weight":
		return in.cmdWeight(args)
	case "down", "up":
		down := cmd == "down"
		return in.eachServer(args, func(id algorithms.ServerID) error { return in.pool.SetDown(id, down) })
	case "thresholds":
		return in.cmdThresholds(args)
	case "load":
		return in.cmdLoad(args)
	case "adjust":
		return in.cmdAdjust(args)
	case "arrive":
		return in.cmdArrive(args)
	case "close":
		return in.cmdClose(args)
	case "advance":
		return in.cmdAdvance(args)
	case "feedback":
		return in.cmdFeedback(args)
	case "lookup":
		return in.cmdLookup(args)
	case "stats":
		if len(args) != 0 {
			return errors.New("takes no arguments")
		}
		in.stats()
		return nil
	}
	return errors.New("unknown command")
}

// ---- servers ----

func (in *interp) id(name string) (algorithms.ServerID, error) {
	id, ok := in.names[name]
	if !ok {
		return 0, fmt.Errorf("unknown server %q", name)
	}
	if _, ok := in.pool.Index(id); !ok {
		return 0, fmt.Errorf("server %q is not in the pool", name)
	}
	return id, nil
}

func (in *interp) eachServer(args []string, f func(algorithms.ServerID) error) error {
	if len(args) == 0 {
		return errors.New("needs server names")
	}
	for _, a := range args {
		id, err := in.id(a)
		if err != nil {
			return err
		}
		if err := f(id); err != nil {
			return err
		}
	}
	return nil
}

func (in *interp) cmdServers(args []string) error {
	if len(args) == 0 {
		return errors.New("needs server specs")
	}
	in.pool, _ = algorithms.NewPool()
	in.names = map[string]algorithms.ServerID{}
	in.next = 0
	return in.cmdAdd(args)
}

func (in *interp) cmdAdd(args []string) error {
	if len(args) == 0 {
		return errors.New("needs server specs")
	}
	for _, a := range args {
		if in.pool.Len() >= maxServers {
			return fmt.Errorf("more than %d servers", maxServers)
		}
		s, err := parseServer(a)
		if err != nil {
			return err
		}
		if id, ok := in.names[s.Name]; ok {
			if _, present := in.pool.Index(id); present {
				return fmt.Errorf("server %q already in the pool", s.Name)
			}
			s.ID = id
		} else {
			s.ID = in.next
			in.next++
			in.names[s.Name] = s.ID
		}
		if err := in.pool.Add(s); err != nil {
			return err
		}
		if s.UpperThreshold != 0 || s.LowerThreshold != 0 {
			if err := in.pool.SetThresholds(s.ID, s.UpperThreshold, s.LowerThreshold); err != nil {
				return err
			}
		}
	}
	return nil
}

// parseServer parses NAME[:WEIGHT][:uN][:lN][:lowN][:highN][@ADDR].
func parseServer(spec string) (algorithms.Server, error) {
	s := algorithms.Server{Weight: 1}
	if i := strings.IndexByte(spec, '@'); i >= 0 {
		a, err := netip.ParseAddr(spec[i+1:])
		if err != nil {
			return s, fmt.Errorf("server %q: address: %v", spec, err)
		}
		s.Addr, spec = a, spec[:i]
	}
	parts := strings.Split(spec, ":")
	if err := checkName(parts[0]); err != nil {
		return s, err
	}
	s.Name = parts[0]
	for i, p := range parts[1:] {
		var dst *int
		num := p
		switch {
		case i == 0 && p != "" && p[0] >= '0' && p[0] <= '9':
			dst = &s.Weight
		case strings.HasPrefix(p, "low"):
			dst, num = &s.Low, p[3:]
		case strings.HasPrefix(p, "high"):
			dst, num = &s.High, p[4:]
		case strings.HasPrefix(p, "u"):
			dst, num = &s.UpperThreshold, p[1:]
		case strings.HasPrefix(p, "l"):
			dst, num = &s.LowerThreshold, p[1:]
		default:
			return s, fmt.Errorf("server %q: bad field %q (want WEIGHT, uN, lN, lowN or highN)", spec, p)
		}
		v, err := parseCount(num)
		if err != nil {
			return s, fmt.Errorf("server %q: field %q: %v", spec, p, err)
		}
		*dst = v
	}
	if s.Low > 0 && s.High > 0 && s.Low > s.High {
		return s, fmt.Errorf("server %q: low %d exceeds high %d", spec, s.Low, s.High)
	}
	return s, nil
}

func checkName(n string) error {
	if n == "" {
		return errors.New("empty server name")
	}
	switch n {
	case "all", "none", "origin":
		return fmt.Errorf("%q is reserved and cannot name a server", n)
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return fmt.Errorf("server name %q: only letters, digits, '_', '-' and '.'", n)
		}
	}
	return nil
}

// parseCount parses a non-negative decimal int of modest size.
func parseCount(s string) (int, error) {
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 || v > 1<<30 {
		return 0, fmt.Errorf("%q is not a count (0..%d)", s, 1<<30)
	}
	return v, nil
}

func parseFloat(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not a finite number", s)
	}
	return v, nil
}

func (in *interp) cmdWeight(args []string) error {
	if len(args) != 2 {
		return errors.New("usage: weight NAME W")
	}
	id, err := in.id(args[0])
	if err != nil {
		return err
	}
	w, err := parseCount(args[1])
	if err != nil {
		return err
	}
	return in.pool.SetWeight(id, w)
}

func (in *interp) cmdThresholds(args []string) error {
	if len(args) != 3 {
		return errors.New("usage: thresholds NAME UPPER LOWER")
	}
	id, err := in.id(args[0])
	if err != nil {
		return err
	}
	u, err := parseCount(args[1])
	if err != nil {
		return err
	}
	l, err := parseCount(args[2])
	if err != nil {
		return err
	}
	return in.pool.SetThresholds(id, u, l)
}

func (in *interp) cmdLoad(args []string) error {
	if len(args) == 2 && !strings.Contains(args[0], "=") {
		args = []string{args[0] + "=" + args[1]}
	}
	if len(args) == 0 {
		return errors.New("usage: load NAME X, or load NAME=X [NAME=X]")
	}
	for _, a := range args {
		name, val, ok := strings.Cut(a, "=")
		if !ok {
			return fmt.Errorf("%q: want NAME=X", a)
		}
		id, err := in.id(name)
		if err != nil {
			return err
		}
		x, err := parseFloat(val)
		if err != nil {
			return err
		}
		if err := in.pool.SetLoad(id, x); err != nil {
			return err
		}
	}
	return nil
}

func (in *interp) cmdAdjust(args []string) error {
	if len(args) != 3 {
		return errors.New("usage: adjust NAME DACTIVE DINACTIVE")
	}
	id, err := in.id(args[0])
	if err != nil {
		return err
	}
	var d [2]int
	for i, a := range args[1:] {
		v, err := strconv.Atoi(a)
		if err != nil || v < -1<<30 || v > 1<<30 {
			return fmt.Errorf("%q is not a small integer", a)
		}
		d[i] = v
	}
	return in.pool.Adjust(id, d[0], d[1])
}

func (in *interp) cmdClose(args []string) error {
	if len(args) == 1 && args[0] == "all" {
		for _, s := range in.pool.Servers() {
			if err := in.pool.End(s.ID, s.Active); err != nil {
				return err
			}
		}
		return nil
	}
	if len(args) != 1 && len(args) != 2 {
		return errors.New("usage: close NAME [UNITS] | close all")
	}
	id, err := in.id(args[0])
	if err != nil {
		return err
	}
	units := in.pool.Get(id).Active
	if len(args) == 2 {
		if units, err = parseCount(args[1]); err != nil {
			return err
		}
	}
	return in.pool.End(id, units)
}

func (in *interp) cmdAdvance(args []string) error {
	if len(args) != 1 {
		return errors.New("usage: advance DURATION")
	}
	d, err := time.ParseDuration(args[0])
	if err != nil || d < 0 {
		return fmt.Errorf("%q is not a non-negative duration", args[0])
	}
	if in.now > math.MaxInt64-d {
		return errors.New("clock overflow")
	}
	in.now += d
	in.print("now %v", in.now)
	return nil
}

// ---- scheduler ----

func (in *interp) cmdNew(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: new NAME [option=value ...]")
	}
	var o algorithms.Options
	for _, a := range args[1:] {
		k, v, hasV := strings.Cut(a, "=")
		if s, ok := algorithms.LookupOption(k); ok && !hasV && s.Kind == algorithms.OptionBool {
			v, hasV = "true", true // a boolean option written bare
		}
		if !hasV {
			return fmt.Errorf("option %q: want option=value", a)
		}
		if err := algorithms.SetOption(&o, k, v); err != nil {
			return fmt.Errorf("option %q: %w", a, err)
		}
	}
	s, err := algorithms.New(args[0], o)
	if err != nil {
		return err
	}
	in.sched = s
	return nil
}

func (in *interp) needSched() error {
	if in.sched == nil {
		return errors.New("no scheduler (use new NAME first)")
	}
	return nil
}

// label returns the name of server id, or "#ID" for a server the pool
// does not hold.
func (in *interp) label(id algorithms.ServerID) string {
	if s := in.pool.Get(id); s != nil {
		return s.Name
	}
	return "#" + strconv.Itoa(int(id))
}

// ---- requests ----

// reqSpec is the parsed attribute list of arrive and lookup.
type reqSpec struct {
	n       int
	nSet    bool
	tally   bool
	nocache bool
	lists   []reqList // in the order given
}

type reqList struct {
	attr string
	vals []string
}

var reqAttrs = []string{"key", "client", "port", "dest", "dport", "cost", "class", "local"}

func (in *interp) parseReq(args []string, arrive bool) (*reqSpec, []*algorithms.Request, []string, error) {
	sp := &reqSpec{}
	seen := map[string]bool{}
	for _, a := range args {
		k, v, hasV := strings.Cut(a, "=")
		switch {
		case arrive && !hasV && k == "tally":
			sp.tally = true
			continue
		case !hasV && k == "nocache":
			sp.nocache = true
			continue
		case arrive && (!hasV || k == "n"):
			if !hasV {
				v = k
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > maxArrivals {
				return nil, nil, nil, fmt.Errorf("%q: want a request count 1..%d", a, maxArrivals)
			}
			if sp.nSet {
				return nil, nil, nil, errors.New("request count given twice")
			}
			sp.n, sp.nSet = n, true
			continue
		case !hasV:
			return nil, nil, nil, fmt.Errorf("%q: want attr=value", a)
		}
		known := false
		for _, r := range reqAttrs {
			known = known || r == k
		}
		if !known {
			return nil, nil, nil, fmt.Errorf("%q: unknown request attribute (known: n, %s, nocache)", a, strings.Join(reqAttrs, ", "))
		}
		if seen[k] {
			return nil, nil, nil, fmt.Errorf("%q: attribute given twice", a)
		}
		seen[k] = true
		sp.lists = append(sp.lists, reqList{attr: k, vals: strings.Split(v, ",")})
	}
	n := 1
	for _, l := range sp.lists {
		n = max(n, len(l.vals))
	}
	if sp.nSet {
		n = sp.n
	}
	if !arrive && n != 1 {
		return nil, nil, nil, errors.New("lookup takes single values")
	}
	reqs := make([]*algorithms.Request, n)
	tags := make([]string, n)
	for i := range n {
		r := &algorithms.Request{NoCache: sp.nocache}
		var tag []string
		for _, l := range sp.lists {
			v := l.vals[i%len(l.vals)]
			if strings.Contains(v, "{i}") {
				v = strings.ReplaceAll(v, "{i}", strconv.Itoa(i))
				tag = append(tag, v)
			} else if len(l.vals) > 1 {
				tag = append(tag, v)
			}
			if err := in.setAttr(r, l.attr, v); err != nil {
				return nil, nil, nil, fmt.Errorf("%s=%q: %w", l.attr, v, err)
			}
		}
		reqs[i] = r
		if len(tag) > 0 {
			tags[i] = strings.Join(tag, ",") + "->"
		}
	}
	return sp, reqs, tags, nil
}

func (in *interp) setAttr(r *algorithms.Request, attr, v string) error {
	var err error
	switch attr {
	case "key":
		r.Key = v
	case "client":
		r.Client, err = netip.ParseAddr(v)
	case "dest":
		r.Dest, err = netip.ParseAddr(v)
	case "port", "dport":
		var p uint64
		p, err = strconv.ParseUint(v, 10, 16)
		if attr == "port" {
			r.ClientPort = uint16(p)
		} else {
			r.DestPort = uint16(p)
		}
	case "cost":
		r.Cost, err = parseCount(v)
		if err == nil && r.Cost > 1<<20 {
			err = errors.New("cost too large")
		}
	case "class":
		r.Class = v
	case "local":
		id, ok := in.names[v]
		if !ok {
			return fmt.Errorf("unknown server %q", v)
		}
		r.Local, r.HasLocal = id, true
	}
	return err
}

func (in *interp) cmdArrive(args []string) error {
	if err := in.needSched(); err != nil {
		return err
	}
	sp, reqs, tags, err := in.parseReq(args, true)
	if err != nil {
		return err
	}
	picks := make([]string, 0, len(reqs))
	counts := map[string]int{}
	for i, r := range reqs {
		id, err := in.sched.Schedule(in.now, r, in.pool)
		var pick string
		switch {
		case err == nil:
			s := in.pool.Get(id)
			if s == nil {
				pick = "#" + strconv.Itoa(int(id))
				break
			}
			pick = s.Name
			if !s.Usable() {
				pick += "!"
			}
			if err := in.pool.Begin(id, r.Units()); err != nil {
				return err
			}
		case errors.Is(err, algorithms.ErrBypass):
			pick = "origin"
		case errors.Is(err, algorithms.ErrNoServer):
			pick = "none"
		default:
			pick = "error(" + err.Error() + ")"
		}
		counts[pick]++
		picks = append(picks, tags[i]+pick)
	}
	if !sp.tally {
		in.print("%s", strings.Join(picks, " "))
		return nil
	}
	var t []string
	for _, s := range in.pool.Servers() {
		t = append(t, fmt.Sprintf("%s=%d", s.Name, counts[s.Name]))
		delete(counts, s.Name)
	}
	rest := make([]string, 0, len(counts))
	for k := range counts {
		rest = append(rest, k)
	}
	slices.Sort(rest)
	for _, k := range rest {
		t = append(t, fmt.Sprintf("%s=%d", k, counts[k]))
	}
	in.print("%s", strings.Join(t, " "))
	return nil
}

// Optional views of scheduler state used by lookup.
type (
	keySetter interface {
		Set(string) []algorithms.ServerID
	}
	keyLookuper interface {
		Lookup(string) (algorithms.ServerID, bool)
	}
	reqSetter interface {
		Set(*algorithms.Request) []algorithms.ServerID
	}
	reqLookuper interface {
		Lookup(*algorithms.Request) (algorithms.ServerID, bool)
	}
	classSetter interface {
		Set(class, key string) []algorithms.ServerID
	}
	weightViewer interface {
		Weights() map[algorithms.ServerID]float64
	}
	aggregator interface {
		Aggregate(algorithms.Load) (float64, bool)
	}
)

func (in *interp) cmdLookup(args []string) error {
	if err := in.needSched(); err != nil {
		return err
	}
	_, reqs, _, err := in.parseReq(args, false)
	if err != nil {
		return err
	}
	r := reqs[0]
	var set []algorithms.ServerID
	switch s := in.sched.(type) {
	case keySetter:
		set = s.Set(r.Key)
	case reqSetter:
		set = s.Set(r)
	case classSetter:
		set = s.Set(r.Class, r.Key)
	case keyLookuper:
		if id, ok := s.Lookup(r.Key); ok {
			set = []algorithms.ServerID{id}
		}
	case reqLookuper:
		if id, ok := s.Lookup(r); ok {
			set = []algorithms.ServerID{id}
		}
	default:
		return fmt.Errorf("scheduler %s keeps no per-key mapping", in.sched.Name())
	}
	names := make([]string, len(set))
	for i, id := range set {
		names[i] = in.label(id)
	}
	in.print("[%s]", strings.Join(names, " "))
	return nil
}

// ---- feedback and stats ----

func (in *interp) cmdFeedback(args []string) error {
	if err := in.needSched(); err != nil {
		return err
	}
	fb, ok := in.sched.(algorithms.LoadFeedback)
	if !ok {
		return fmt.Errorf("scheduler %s takes no load feedback", in.sched.Name())
	}
	if len(args) == 0 {
		return errors.New("usage: feedback NAME:metric=v[,metric=v] [NAME:...]")
	}
	loads := make([]algorithms.Load, 0, len(args))
	for _, a := range args {
		name, ms, _ := strings.Cut(a, ":")
		id, err := in.id(name)
		if err != nil {
			return err
		}
		l := algorithms.Load{ID: id, Responsive: true}
		if ms != "" {
			for _, m := range strings.FieldsFunc(ms, func(r rune) bool { return r == ',' || r == ':' }) {
				if m == "unresponsive" {
					l.Responsive = false
					continue
				}
				k, v, _ := strings.Cut(m, "=")
				x, err := parseFloat(v)
				if err != nil {
					return fmt.Errorf("%q: %w", a, err)
				}
				if k == "all" {
					for i := range algorithms.NumMetrics {
						l.Set(algorithms.MetricAt(i), x)
					}
					continue
				}
				m, err := algorithms.ParseMetric(k)
				if err != nil {
					return fmt.Errorf("%q: unknown metric %q (input, cpu, disk, memory, process, response, all, unresponsive)", a, k)
				}
				l.Set(m, x)
			}
		}
		loads = append(loads, l)
	}
	if err := fb.Feedback(in.now, loads, in.pool); err != nil {
		in.print("error(%v)", err)
		return nil
	}
	wv, ok := in.sched.(weightViewer)
	if !ok {
		return nil
	}
	after := wv.Weights()
	agg, hasAgg := in.sched.(aggregator)
	for _, l := range loads {
		line := in.label(l.ID)
		switch {
		case !l.Responsive:
			line += " unresponsive"
		case hasAgg:
			if v, ok := agg.Aggregate(l); ok {
				line += fmt.Sprintf(" aggregate=%.3f", v)
			} else {
				line += " aggregate=none"
			}
		}
		in.print("%s %s-weight=%.3f", line, in.sched.Name(), after[l.ID])
	}
	return nil
}

func (in *interp) stats() {
	var ws map[algorithms.ServerID]float64
	if wv, ok := in.sched.(weightViewer); ok {
		ws = wv.Weights()
	}
	for _, s := range in.pool.Servers() {
		line := fmt.Sprintf("%s: active=%d inactive=%d weight=%d", s.Name, s.Active, s.Inactive, s.Weight)
		if w, ok := ws[s.ID]; ok {
			line += fmt.Sprintf(" %s-weight=%.3f", in.sched.Name(), w)
		}
		if s.Load != 0 {
			line += fmt.Sprintf(" load=%.3f", s.Load)
		}
		if s.UpperThreshold != 0 || s.LowerThreshold != 0 {
			line += fmt.Sprintf(" thresholds=%d/%d", s.UpperThreshold, s.LowerThreshold)
		}
		if s.Down {
			line += " down"
		}
		if s.Overloaded {
			line += " overloaded"
		}
		in.print("%s", line)
	}
	if in.pool.Len() == 0 {
		in.print("(no servers)")
	}
}
