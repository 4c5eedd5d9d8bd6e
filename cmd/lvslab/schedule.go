package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/internal/target"
	"github.com/lvslab/lvslab/traces"
)

func init() { subcommands = append(subcommands, newScheduleCmd) }

// scheduleFlags are the flags of "lvslab schedule".
type scheduleFlags struct {
	alg       string
	weights   string
	requests  int
	keys      string
	format    string
	seed      uint64
	low       int
	high      int
	expiry    time.Duration
	threshold float64
	epsilon   float64
	fallback  bool
	port      bool
	tableSize int
	inner     string
	hold      int
}

func newScheduleCmd() *cobra.Command {
	var f scheduleFlags
	cmd := &cobra.Command{
		Use:   "schedule --alg NAME [--weights 4,3,2] [--requests N | --keys FILE]",
		Short: "Run one scheduler on a small pool and print the servers it picks",
		Long: `A scheduler playground. It builds a pool of one server per weight, labelled
A, B, C, ... (AA, AB, ... after Z), runs the scheduler on a stream of requests
and prints the server chosen for each.

Requests come from --requests N (N requests without a key, each from its own
client address 10.0.x.y, so that address-hashing schedulers spread them) or
from --keys FILE (one URL target per line, used as the request key; blank lines
and lines starting with # are skipped). A key with '?' or "cgi-bin" is a
dynamic request: it costs 2 connection units and is not cacheable (the
cache-oriented LBLL sends it to the origin). Without either flag the stream has
as many requests as the weights add up to (one WRR cycle). Request i (from 0)
arrives at i seconds.

Connection accounting: each chosen server gets the request's cost added to its
active connections. With --hold 0 (the default) requests never end during the
run: the stream is a burst of concurrent connections. With --hold N each
request ends once N later requests have been scheduled, so about N requests are
in service at a time.

A request no server can take is printed as "-" (text), "none" (csv, json),
or "origin" when the scheduler sends it to the origin server.

Scheduler options are passed only when given; otherwise each scheduler uses
its own default (the values shown).`,
		Example: `  lvslab schedule --alg wrr --weights 4,3,2 --requests 9
  lvslab schedule --alg lc --weights 1,1,1 --requests 6 --hold 1
  lvslab schedule --alg lblc --keys urls.txt --format csv --low 2 --high 4`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runSchedule(cmd, &f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.alg, "alg", "", "scheduler name (see \"lvslab algorithms\")")
	fl.StringVar(&f.weights, "weights", "1,1,1", "server weights, comma separated; one server per weight")
	fl.IntVar(&f.requests, "requests", 0, "number of requests (default: the sum of the weights)")
	fl.StringVar(&f.keys, "keys", "", "file of request keys (URL targets), one per line")
	fl.StringVar(&f.format, "format", "text", "output format: text, csv or json")
	fl.Uint64Var(&f.seed, "seed", 0, "seed of schedulers that sample (p2c)")
	fl.IntVar(&f.low, "low", algorithms.DefaultLow, "locality low threshold in connection units (lblc, lblcr, content)")
	fl.IntVar(&f.high, "high", algorithms.DefaultHigh, "locality high threshold in connection units (lblc, lblcr, content)")
	fl.DurationVar(&f.expiry, "expiry", algorithms.DefaultSetExpiry, "LBLC/R server-set expiry K")
	fl.Float64Var(&f.threshold, "threshold", 1, "LBLL load threshold T")
	fl.Float64Var(&f.epsilon, "epsilon", 0.25, "bounded-load balance factor (chbl)")
	fl.BoolVar(&f.fallback, "fallback", false, "sh, dh, mh: try other buckets when the hashed server is unusable")
	fl.BoolVar(&f.port, "port", false, "sh, mh: hash the client port too")
	fl.IntVar(&f.tableSize, "table-size", 4093, "Maglev lookup table size, a prime (mh)")
	fl.StringVar(&f.inner, "inner", "wrr", "scheduler DFLB adjusts weights for: wrr or wlc (dflb)")
	fl.IntVar(&f.hold, "hold", 0, "end each request after N later requests (0: requests never end)")
	return cmd
}

// scheduleResult is one line of the output.
type scheduleResult struct {
	Seq    int    `json:"seq"`
	Key    string `json:"key"`
	Server string `json:"server"`
}

func runSchedule(cmd *cobra.Command, f *scheduleFlags) error {
	if f.alg == "" {
		return fmt.Errorf("--alg is required; known schedulers: %s", strings.Join(algorithms.Names(), ", "))
	}
	info, ok := algorithms.Lookup(f.alg)
	if !ok {
		return fmt.Errorf("--alg: unknown scheduler %q; known schedulers: %s", f.alg, strings.Join(algorithms.Names(), ", "))
	}
	switch f.format {
	case "text", "csv", "json":
	default:
		return fmt.Errorf("--format: unknown format %q (want text, csv or json)", f.format)
	}
	weights, err := parseScheduleWeights(f.weights)
	if err != nil {
		return fmt.Errorf("--weights: %w", err)
	}
	changed := cmd.Flags().Changed
	if changed("requests") && changed("keys") {
		return errors.New("--requests and --keys cannot be used together")
	}
	if f.requests < 0 {
		return fmt.Errorf("--requests: %d is negative", f.requests)
	}
	if f.hold < 0 {
		return fmt.Errorf("--hold: %d is negative", f.hold)
	}

	var (
		n   int
		req func(i int) algorithms.Request
	)
	if f.keys != "" {
		keys, err := readScheduleKeys(f.keys)
		if err != nil {
			return err
		}
		n, req = len(keys), func(i int) algorithms.Request { return keyRequest(keys[i]) }
	} else {
		n = f.requests
		if !changed("requests") {
			for _, w := range weights {
				n += w
			}
		}
		req = plainRequest
	}

	var opts algorithms.Options
	opts.Seed = f.seed
	if changed("low") {
		opts.Low = f.low
	}
	if changed("high") {
		opts.High = f.high
	}
	if changed("expiry") {
		opts.SetExpiry = f.expiry
	}
	if changed("threshold") {
		opts.Threshold = f.threshold
	}
	if changed("epsilon") {
		opts.Epsilon = f.epsilon
	}
	if changed("table-size") {
		opts.TableSize = f.tableSize
	}
	if changed("inner") {
		opts.Inner = f.inner
	}
	opts.Fallback, opts.Port = f.fallback, f.port
	s, err := info.New(opts)
	if err != nil {
		return fmt.Errorf("--alg %s: %w", info.Name, err)
	}

	out := newScheduleWriter(cmd.OutOrStdout(), f.format, len(weights) <= 26)
	if err := playSchedule(s, weights, n, req, f.hold, out.write); err != nil {
		return err
	}
	return out.close()
}

// parseScheduleWeights parses a comma-separated list of non-negative
// integer weights. Items may be surrounded by spaces.
func parseScheduleWeights(s string) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("no servers: the pool would be empty (give at least one weight, e.g. --weights 1)")
	}
	items := strings.Split(s, ",")
	weights := make([]int, len(items))
	for i, item := range items {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, fmt.Errorf("item %d is empty", i+1)
		}
		w, err := strconv.Atoi(item)
		if err != nil {
			return nil, fmt.Errorf("item %d %q is not an integer", i+1, item)
		}
		if w < 0 {
			return nil, fmt.Errorf("item %d %q is negative (weights must be >= 0)", i+1, item)
		}
		if w > algorithms.MaxWeight {
			return nil, fmt.Errorf("item %d %q is too large (weights go up to %d)", i+1, item, algorithms.MaxWeight)
		}
		weights[i] = w
	}
	return weights, nil
}

// readScheduleKeys reads a keys file: one key per line, surrounding space
// trimmed, blank lines and #comments skipped.
func readScheduleKeys(name string) ([]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("--keys: cannot read keys file %s: %w", name, unwrapScheduleErr(err))
	}
	defer f.Close()
	keys, err := parseScheduleKeys(name, f)
	if err != nil {
		return nil, fmt.Errorf("--keys: %w", err)
	}
	return keys, nil
}

func unwrapScheduleErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// maxKeyLine is the longest line of a keys file, in bytes.
const maxKeyLine = 1 << 20

// parseScheduleKeys reads the keys of the file name from r. A line longer
// than maxKeyLine is an error naming the file and the line (1-based); it
// is not held in memory whole.
func parseScheduleKeys(name string, r io.Reader) ([]string, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var keys []string
	var long []byte
	for line := 1; ; line++ {
		b, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			long = append(long[:0], b...)
			for err == bufio.ErrBufferFull {
				b, err = br.ReadSlice('\n')
				long = append(long, b...)
				if len(bytes.TrimRight(long, "\r\n")) > maxKeyLine {
					return nil, fmt.Errorf("%s:%d: line longer than 1 MiB (%d bytes); a key is one line", traces.Escape(name), line, maxKeyLine)
				}
			}
			b = long
		}
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("%s: after line %d: %w", traces.Escape(name), line-1, err)
		}
		if len(bytes.TrimRight(b, "\r\n")) > maxKeyLine {
			return nil, fmt.Errorf("%s:%d: line longer than 1 MiB (%d bytes); a key is one line", traces.Escape(name), line, maxKeyLine)
		}
		if k := strings.TrimSpace(string(b)); k != "" && !strings.HasPrefix(k, "#") {
			keys = append(keys, k)
		}
		if err == io.EOF {
			return keys, nil
		}
	}
}

// dynamicKey reports whether a URL target is a dynamic request (thesis
// §6.3.5: cost 2; §7.5.4: not cacheable).
func dynamicKey(k string) bool { return target.Dynamic(k, nil) }

// keyRequest is the request for one line of a keys file.
func keyRequest(k string) algorithms.Request {
	r := algorithms.Request{Key: k, Cost: 1}
	if dynamicKey(k) {
		r.Cost, r.NoCache = 2, true
	}
	return r
}

// plainRequest is the i-th keyless request (from 0): it comes from client
// 10.0.x.y with x.y = i+1, wrapping after 65,535 clients.
func plainRequest(i int) algorithms.Request {
	c := uint16(i%65535 + 1)
	return algorithms.Request{
		Client:     netip.AddrFrom4([4]byte{10, 0, byte(c >> 8), byte(c)}),
		ClientPort: 1024,
		Cost:       1,
	}
}

// playSchedule runs s on a fresh pool of the given weights over n requests
// (request i from req(i), at i seconds), with Begin on every pick and End
// hold requests later (never, if hold is 0), and passes each result to emit
// as it comes.
func playSchedule(s algorithms.Scheduler, weights []int, n int, req func(int) algorithms.Request, hold int,
	emit func(scheduleResult) error) error {
	servers := make([]algorithms.Server, len(weights))
	for i, w := range weights {
		servers[i] = algorithms.Server{ID: algorithms.ServerID(i), Name: algorithms.Letters(i), Weight: w}
	}
	pool, err := algorithms.NewPool(servers...)
	if err != nil {
		return err
	}
	type work struct {
		id   algorithms.ServerID
		cost int // 0: nothing to end
	}
	// ring[i % len] is request i's work until it ends, hold requests later.
	// A request held past the last one never ends: the ring needs no more
	// than n+1 slots, whatever hold is.
	ring := make([]work, min(hold, n)+1)
	for i := range n {
		slot := &ring[i%len(ring)]
		if hold > 0 && slot.cost > 0 {
			if err := pool.End(slot.id, slot.cost); err != nil {
				return err
			}
		}
		*slot = work{}
		r := req(i)
		res := scheduleResult{Seq: i + 1, Key: r.Key}
		id, err := s.Schedule(time.Duration(i)*time.Second, &r, pool)
		switch {
		case err == nil:
			idx, ok := pool.Index(id)
			if !ok {
				return fmt.Errorf("%s picked server %d, which is not in the pool", s.Name(), id)
			}
			res.Server = pool.At(idx).Name
			if err := pool.Begin(id, r.Units()); err != nil {
				return err
			}
			*slot = work{id: id, cost: r.Units()}
		case errors.Is(err, algorithms.ErrBypass):
			res.Server = "origin"
		case errors.Is(err, algorithms.ErrNoServer):
			res.Server = "none"
		default:
			return fmt.Errorf("request %d: %w", i+1, err)
		}
		if err := emit(res); err != nil {
			return err
		}
	}
	return nil
}

// scheduleWriter prints results as they come. In text, labels are
// concatenated when every label is one letter (short), else space
// separated, and a request that got no server is "-".
type scheduleWriter struct {
	w      *bufio.Writer
	format string
	short  bool
	csv    *csv.Writer
	n      int
}

func newScheduleWriter(w io.Writer, format string, short bool) *scheduleWriter {
	sw := &scheduleWriter{w: bufio.NewWriter(w), format: format, short: short}
	if format == "csv" {
		sw.csv = csv.NewWriter(sw.w)
	}
	return sw
}

func (sw *scheduleWriter) write(r scheduleResult) error {
	defer func() { sw.n++ }()
	switch sw.format {
	case "csv":
		if sw.n == 0 {
			if err := sw.csv.Write([]string{"seq", "key", "server"}); err != nil {
				return err
			}
		}
		return sw.csv.Write([]string{strconv.Itoa(r.Seq), r.Key, r.Server})
	case "json":
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		sep := ",\n  "
		if sw.n == 0 {
			sep = "[\n  "
		}
		sw.w.WriteString(sep)
		_, err = sw.w.Write(b)
		return err
	}
	label := r.Server
	if label == "none" || label == "origin" {
		label = "-"
	}
	if sw.n > 0 && !sw.short {
		sw.w.WriteByte(' ')
	}
	_, err := sw.w.WriteString(label)
	return err
}

func (sw *scheduleWriter) close() error {
	switch sw.format {
	case "csv":
		if sw.n == 0 {
			if err := sw.csv.Write([]string{"seq", "key", "server"}); err != nil {
				return err
			}
		}
		sw.csv.Flush()
		if err := sw.csv.Error(); err != nil {
			return err
		}
	case "json":
		if sw.n == 0 {
			sw.w.WriteString("[]\n")
		} else {
			sw.w.WriteString("\n]\n")
		}
	default:
		sw.w.WriteByte('\n')
	}
	return sw.w.Flush()
}
