package traces

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"
	"time"

	"github.com/lvslab/lvslab/traces/embedded"
)

// VisitFunc is called by Scan for every line read, in file order: with the
// parsed record, the reason the filter drops it ("" if kept) and whether it
// is dynamic; or, for a line that does not parse, with rec == nil and reason
// DropMalformed. rec and its strings are valid only during the call.
// A non-nil error stops the scan and is returned by Scan.
type VisitFunc func(rec *Record, reason string, dynamic bool) error

// source is one log to read: an open reader or a path.
type source struct {
	name string
	r    io.Reader // nil: open name
}

// Scan reads the named logs in order, applies f and calls visit for every
// line. With f.Strict the first line that does not parse stops the scan
// with its *ParseError; otherwise it is passed to f.OnError and visit.
func Scan(paths []string, f Filter, visit VisitFunc) error {
	srcs := make([]source, len(paths))
	for i, p := range paths {
		srcs[i] = source{name: p}
	}
	return scan(srcs, f, visit, nil)
}

// ScanReader is Scan on one log read from r; name is used in errors.
func ScanReader(name string, r io.Reader, f Filter, visit VisitFunc) error {
	return scan([]source{{name: name, r: r}}, f, visit, nil)
}

func scan(srcs []source, f Filter, visit VisitFunc, onKind func(name, kind string)) error {
	if err := f.Format.Validate(); err != nil {
		return err
	}
	if len(srcs) == 0 {
		return errors.New("traces: no log to read")
	}
	for _, s := range srcs {
		var rd *Reader
		var err error
		if s.r != nil {
			rd, err = NewReader(s.name, s.r, f.Format)
		} else {
			rd, err = Open(s.name, f.Format)
		}
		if err != nil {
			return err
		}
		err = scanOne(rd, &f, visit)
		if cerr := rd.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("traces: %w", cerr)
		}
		if err != nil {
			return err
		}
		if onKind != nil {
			onKind(s.name, rd.Kind())
		}
	}
	return nil
}

func scanOne(rd *Reader, f *Filter, visit VisitFunc) error {
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				return err
			}
			if f.Strict {
				return err
			}
			if f.OnError != nil {
				f.OnError(pe)
			}
			if err := visit(nil, DropMalformed, false); err != nil {
				return err
			}
			continue
		}
		reason, dynamic := f.Check(rec)
		if err := visit(rec, reason, dynamic); err != nil {
			var le *lineError
			if errors.As(err, &le) {
				return fmt.Errorf("traces: %s:%d: %s", Escape(rd.name), rd.line, le.reason)
			}
			return err
		}
	}
}

// lineError is a visit error about the line being visited (not a syntax
// error: a value the line holds that the caller cannot use); scan names the
// file and the line.
type lineError struct{ reason string }

func (e *lineError) Error() string { return e.reason }

// Load reads the named logs, in order, into one Workload under filter f (the
// zero Filter keeps every line that parses; ReferenceFilter gives the
// reference model's workload). It reads each file once, in constant memory
// per line: objects are interned as they appear and an object's size is the
// largest byte count among its kept requests ('-' counts as 0). Lines that
// do not parse are counted under Dropped["malformed"] (and passed to
// f.OnError) unless f.Strict makes the first one an error.
func Load(paths []string, f Filter) (*Workload, error) {
	names := make([]string, len(paths))
	srcs := make([]source, len(paths))
	for i, p := range paths {
		names[i] = filepath.Base(p)
		srcs[i] = source{name: p}
	}
	return load(strings.Join(names, ","), srcs, f)
}

// LoadReader is Load on one log read from r (plain or gzip-compressed);
// name names the workload and is used in errors.
func LoadReader(name string, r io.Reader, f Filter) (*Workload, error) {
	return load(name, []source{{name: name, r: r}}, f)
}

// LoadDefault loads the trace embedded in the binary (package
// traces/embedded) under filter f.
func LoadDefault(f Filter) (*Workload, error) {
	name, data := embedded.DefaultTrace()
	return LoadReader(name, bytes.NewReader(data), f)
}

func load(name string, srcs []source, f Filter) (*Workload, error) {
	b := newBuilder(name)
	if err := scan(srcs, f, b.visit, nil); err != nil {
		return nil, err
	}
	return b.w, nil
}

// builder accumulates a Workload.
type builder struct {
	w       *Workload
	objects map[string]int32
	clients map[string]int32
	first   time.Time // the first kept request with a time
	hasT    bool
}

func newBuilder(name string) *builder {
	return &builder{
		w:       &Workload{Name: name, Dropped: map[string]int{}},
		objects: map[string]int32{},
		clients: map[string]int32{},
	}
}

func (b *builder) visit(rec *Record, reason string, dynamic bool) error {
	w := b.w
	w.Lines++
	if reason != "" {
		w.Dropped[reason]++
		return nil
	}
	target := Target(rec.URL)
	obj, ok := b.objects[target] // no allocation: lookups do not copy the key
	if !ok {
		if len(w.Objects) >= 1<<31-1 {
			return errors.New("traces: more than 2^31-1 distinct targets")
		}
		obj = int32(len(w.Objects))
		target = strings.Clone(target)
		b.objects[target] = obj
		w.Objects = append(w.Objects, Object{Target: target})
	}
	if size := rec.Bytes; size > w.Objects[obj].Size {
		w.Objects[obj].Size = size
	}
	cl, ok := b.clients[rec.Host]
	if !ok {
		if len(w.Clients) >= 1<<31-1 {
			return errors.New("traces: more than 2^31-1 distinct clients")
		}
		cl = int32(len(w.Clients))
		host := strings.Clone(rec.Host)
		b.clients[host] = cl
		w.Clients = append(w.Clients, host)
	}
	req := Request{Object: obj, Client: cl, Dynamic: dynamic}
	if !rec.Time.IsZero() {
		if !b.hasT {
			b.first, b.hasT = rec.Time, true
		}
		// Sub saturates: the extreme Durations mean the offset overflows.
		req.Time = rec.Time.Sub(b.first)
		if req.Time == math.MaxInt64 || req.Time == math.MinInt64 {
			dir := "after"
			if req.Time < 0 {
				dir = "before"
			}
			return &lineError{fmt.Sprintf("time %s is more than 292 years %s the first request's (%s): a workload's request times are offsets from its first request, which cannot span more",
				rec.Time.Format(time.RFC3339), dir, b.first.Format(time.RFC3339))}
		}
	}
	w.Requests = append(w.Requests, req)
	return nil
}
