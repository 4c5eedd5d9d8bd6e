package workbench

// The scheduler playground: one scheduler on a small pool, a stream of
// requests, the server picked for each.

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

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/traces"
)

// ScheduleResult is one line of the playground's output.
type ScheduleResult struct {
	Seq    int    `json:"seq"`
	Key    string `json:"key"`
	Server string `json:"server"`
}

// Playground is one run of the scheduler playground ("lvslab schedule"):
// a pool of one server per weight, labelled A, B, C, ... (AA, AB, ...
// after Z), and a stream of requests.
type Playground struct {
	Alg     string             // registered scheduler name
	Options algorithms.Options // its options
	Weights []int              // one server per weight
	// Keys, if not nil, are the requests' keys (URL targets, see
	// KeyRequest); else Requests requests without a key (PlainRequest),
	// or as many as the weights add up to (one WRR cycle) if Requests < 0.
	Keys     []string
	Requests int
	Hold     int    // end each request after this many later ones (0: never)
	Format   string // text, csv or json
}

// Run plays p and writes the server chosen for each request to w.
func (p *Playground) Run(w io.Writer) error {
	info, ok := algorithms.Lookup(p.Alg)
	if !ok {
		return fmt.Errorf("--alg: unknown scheduler %q; known schedulers: %s", p.Alg, strings.Join(algorithms.Names(), ", "))
	}
	switch p.Format {
	case "text", "csv", "json":
	default:
		return fmt.Errorf("--format: unknown format %q (want text, csv or json)", p.Format)
	}
	if p.Hold < 0 {
		return fmt.Errorf("--hold: %d is negative", p.Hold)
	}
	var (
		n   int
		req func(i int) algorithms.Request
	)
	if p.Keys != nil {
		n, req = len(p.Keys), func(i int) algorithms.Request { return KeyRequest(p.Keys[i]) }
	} else {
		n, req = p.Requests, PlainRequest
		if n < 0 {
			n = 0
			for _, w := range p.Weights {
				n += w
			}
		}
	}
	s, err := info.New(p.Options)
	if err != nil {
		return fmt.Errorf("--alg %s: %w", info.Name, err)
	}
	out := newScheduleWriter(w, p.Format, len(p.Weights) <= 26)
	if err := PlaySchedule(s, p.Weights, n, req, p.Hold, out.write); err != nil {
		return err
	}
	return out.close()
}

// ParseWeights parses a comma-separated list of non-negative
// integer weights. Items may be surrounded by spaces.
func ParseWeights(s string) ([]int, error) {
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

// ReadKeys reads a keys file: one key per line, surrounding space
// trimmed, blank lines and #comments skipped.
func ReadKeys(name string) ([]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("--keys: cannot read keys file %s: %w", name, unwrapScheduleErr(err))
	}
	defer f.Close()
	keys, err := ParseKeys(name, f)
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

// ParseKeys reads the keys of the file name from r. A line longer
// than maxKeyLine is an error naming the file and the line (1-based); it
// is not held in memory whole.
func ParseKeys(name string, r io.Reader) ([]string, error) {
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

// DynamicKey reports whether a URL target is a dynamic request (thesis
// §6.3.5: cost 2; §7.5.4: not cacheable).
func DynamicKey(k string) bool { return traces.IsDynamic(k, nil) }

// KeyRequest is the request for one line of a keys file.
func KeyRequest(k string) algorithms.Request {
	r := algorithms.Request{Key: k, Cost: 1}
	if DynamicKey(k) {
		r.Cost, r.NoCache = 2, true
	}
	return r
}

// PlainRequest is the i-th keyless request (from 0): it comes from client
// 10.0.x.y with x.y = i+1, wrapping after 65,535 clients.
func PlainRequest(i int) algorithms.Request {
	c := uint16(i%65535 + 1)
	return algorithms.Request{
		Client:     netip.AddrFrom4([4]byte{10, 0, byte(c >> 8), byte(c)}),
		ClientPort: 1024,
		Cost:       1,
	}
}

// PlaySchedule runs s on a fresh pool of the given weights over n requests
// (request i from req(i), at i seconds), with Begin on every pick and End
// hold requests later (never, if hold is 0), and passes each result to emit
// as it comes.
func PlaySchedule(s algorithms.Scheduler, weights []int, n int, req func(int) algorithms.Request, hold int,
	emit func(ScheduleResult) error) error {
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
		res := ScheduleResult{Seq: i + 1, Key: r.Key}
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

func (sw *scheduleWriter) write(r ScheduleResult) error {
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
