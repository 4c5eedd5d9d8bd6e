package traces

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unsafe"
)

// Record is one parsed log line.
//
// The string fields of a Record returned by [Reader.Next] alias the reader's
// line buffer: they are valid only until the next call to Next. Use
// [Record.Clone] (or strings.Clone on a field) to keep one longer, and never
// store them in a map or slice without cloning.
type Record struct {
	Host      string    // client host as logged: address, name or anonymised string; "" if not mapped
	Time      time.Time // request time; the zero Time if the log has none
	Method    string    // request method as logged ("GET" for CSV logs without a method column)
	URL       string    // request target as logged: path, query and fragment, not decoded
	Proto     string    // protocol ("HTTP/1.1"); "" when the request line has none
	Status    int       // HTTP status (200 for CSV logs without a status column)
	Bytes     int64     // bytes sent; -1 when logged as '-' or not logged
	Referer   string    // Combined Log Format only
	UserAgent string    // Combined Log Format only
	Line      int64     // 1-based line number in its file
}

// Clone returns a copy of r whose strings do not alias any buffer.
func (r *Record) Clone() Record {
	c := *r
	c.Host = clone(r.Host)
	c.Method = clone(r.Method)
	c.URL = clone(r.URL)
	c.Proto = clone(r.Proto)
	c.Referer = clone(r.Referer)
	c.UserAgent = clone(r.UserAgent)
	return c
}

func clone(s string) string {
	if s == "" {
		return ""
	}
	return string([]byte(s))
}

// ParseError reports a line that could not be parsed. Reading can continue
// after it.
type ParseError struct {
	File   string // file name as given to the reader
	Line   int64  // 1-based line number
	Reason string // what is wrong, e.g. "no [time] field"
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("%s:%d: %s", Escape(e.File), e.Line, Escape(e.Reason))
}

// ErrEmpty and ErrNotLog are wrapped by the error that ends the reading of
// a log with nothing usable in it: no line at all (a skipped header does
// not count), or lines none of which parses (a binary file, a log of
// another format, the wrong --format or column mapping).
var (
	ErrEmpty  = errors.New("empty: no line to read")
	ErrNotLog = errors.New("not a web log")
)

// Format says how the lines of a log are laid out. The zero Format reads
// NCSA Common or Combined Log Format.
type Format struct {
	// Kind is "clf" (or ""; Common or Combined Log Format, detected per
	// file), "csv" (comma-separated) or "tsv" (tab-separated).
	Kind string

	// Columns maps fields to 1-based columns for csv and tsv; see ParseColumns.
	Columns Columns

	// Header skips the first line of every file (a header row). A skipped
	// header is not counted as a line.
	Header bool

	// TimeLayout is the Go time layout of the time column (csv, tsv).
	// Default: time.RFC3339, or "15:04:05" when a separate date column is
	// mapped. "unix" means seconds since the epoch (fractions allowed).
	// Times without a zone are UTC.
	TimeLayout string

	// DateLayout is the Go time layout of the date column; default "2006-01-02".
	DateLayout string
}

// Validate reports whether f is usable.
func (f Format) Validate() error {
	switch f.Kind {
	case "", "clf":
		return nil
	case "csv", "tsv":
		return f.Columns.validate()
	}
	return fmt.Errorf("traces: unknown log format %q (want clf, csv or tsv)", f.Kind)
}

// MaxLine is the longest line a Reader accepts; longer lines are parse
// errors (and are skipped without being held in memory).
const MaxLine = 1 << 20

// Reader reads the records of one log, in constant memory.
// It is not safe for concurrent use.
type Reader struct {
	name   string
	format Format
	src    *bufio.Reader // raw input, for gzip detection
	br     *bufio.Reader // decompressed lines
	gz     *gzip.Reader
	closer io.Closer
	line   int64
	rec    Record
	long   []byte // a line longer than br's buffer
	kind   string // detected: "clf", "combined", "csv", "tsv"; "" until a line parses
	parsed int64  // lines parsed
	bad    int64  // lines that did not parse
	first  string // the first unparsable line's reason, while parsed == 0
	firstN int64  // and its line number
	err    error  // sticky I/O error or io.EOF
	clf    clfState
	csv    csvState
}

const bufSize = 64 << 10

// IsGzip reports whether data starts with the gzip magic bytes.
func IsGzip(data []byte) bool { return len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b }

// NewReader returns a Reader of r, which may be gzip-compressed (detected by
// its magic bytes). name is used in errors.
func NewReader(name string, r io.Reader, f Format) (*Reader, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	rd := &Reader{name: name, format: f}
	rd.src = bufio.NewReaderSize(r, bufSize)
	head, err := rd.src.Peek(2)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("traces: %s: %w", Escape(name), err)
	}
	if IsGzip(head) {
		gz, err := gzip.NewReader(rd.src)
		if err != nil {
			return nil, rd.gzipError(err)
		}
		rd.gz = gz
		rd.br = bufio.NewReaderSize(gz, bufSize)
	} else {
		rd.br = rd.src
	}
	if f.Kind == "csv" || f.Kind == "tsv" {
		rd.csv.init(f)
	}
	return rd, nil
}

// Open opens the named file for reading; see NewReader. Close the Reader
// when done.
func Open(path string, f Format) (*Reader, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("traces: %w", err)
	}
	rd, err := NewReader(path, fh, f)
	if err != nil {
		fh.Close()
		return nil, err
	}
	rd.closer = fh
	return rd, nil
}

// Close closes the file opened by Open; it is a no-op for NewReader.
func (r *Reader) Close() error {
	if r.closer == nil {
		return nil
	}
	err := r.closer.Close()
	r.closer = nil
	return err
}

// Name returns the name given to the reader.
func (r *Reader) Name() string { return r.name }

// Line returns the number of the last line read (1-based).
func (r *Reader) Line() int64 { return r.line }

// Kind returns the detected format: "clf" or "combined" (from the first
// parsed line), "csv" or "tsv"; "" until a line has parsed.
func (r *Reader) Kind() string { return r.kind }

func (r *Reader) gzipError(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || err == io.EOF {
		return fmt.Errorf("traces: %s: truncated gzip stream after line %d: %w", Escape(r.name), r.line, io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("traces: %s: corrupt gzip stream after line %d: %w", Escape(r.name), r.line, err)
}

// readLine returns the next line without its line terminator. The slice
// aliases an internal buffer. tooLong reports a line over MaxLine.
func (r *Reader) readLine() (line []byte, tooLong bool, err error) {
	line, err = r.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		r.long = append(r.long[:0], line...)
		for err == bufio.ErrBufferFull {
			line, err = r.br.ReadSlice('\n')
			if len(r.long)+len(line) <= MaxLine {
				r.long = append(r.long, line...)
			} else {
				tooLong = true
			}
		}
		line = r.long
	}
	if err != nil {
		if err != io.EOF {
			if r.gz != nil {
				err = r.gzipError(err)
			} else {
				err = fmt.Errorf("traces: %s: %w", Escape(r.name), err)
			}
			return nil, false, err
		}
		if len(line) == 0 {
			return nil, false, io.EOF
		}
		err = nil // last line without a newline
	}
	line = bytes.TrimSuffix(line, []byte{'\n'})
	line = bytes.TrimSuffix(line, []byte{'\r'})
	return line, tooLong, nil
}

// Next returns the next record. At the end of the input it returns io.EOF,
// or, when no line of the input parsed, an error wrapping ErrEmpty (no
// line at all) or ErrNotLog (naming how many lines were read and why the
// first did not parse): a log with nothing usable in it is an error, never
// an empty workload. A line that cannot be parsed yields a *ParseError,
// after which Next may be called again; any other error (I/O, truncated or
// corrupt gzip) is final. The record and its strings are valid until the
// next call to Next.
func (r *Reader) Next() (*Record, error) {
	if r.err != nil {
		return nil, r.err
	}
	for {
		line, tooLong, err := r.readLine()
		if err == io.EOF {
			err = r.endError()
		}
		if err != nil {
			r.err = err
			return nil, err
		}
		r.line++
		if r.line == 1 && r.format.Header {
			continue
		}
		if tooLong {
			return nil, r.parseError(fmt.Sprintf("line longer than %d bytes", MaxLine))
		}
		r.rec = Record{Line: r.line}
		var reason string
		switch r.format.Kind {
		case "csv", "tsv":
			reason = r.csv.parse(line, &r.rec)
			if reason == "" && r.kind == "" {
				r.kind = r.format.Kind
			}
		default:
			var combined bool
			combined, reason = r.clf.parse(line, &r.rec)
			if reason == "" && r.kind == "" {
				r.kind = "clf"
				if combined {
					r.kind = "combined"
				}
			}
		}
		if reason != "" {
			return nil, r.parseError(reason)
		}
		r.parsed++
		return &r.rec, nil
	}
}

func (r *Reader) parseError(reason string) error {
	if r.bad == 0 {
		r.first, r.firstN = reason, r.line
	}
	r.bad++
	return &ParseError{File: r.name, Line: r.line, Reason: reason}
}

// endError is what Next returns at the end of the input: io.EOF, or an
// error when no line parsed.
func (r *Reader) endError() error {
	switch {
	case r.parsed > 0:
		return io.EOF
	case r.bad == 0:
		what := ErrEmpty
		if r.format.Header && r.line > 0 {
			return fmt.Errorf("traces: %s: %w after the header", Escape(r.name), what)
		}
		return fmt.Errorf("traces: %s: %w", Escape(r.name), what)
	}
	what := "its only line does not parse"
	if r.bad > 1 {
		what = fmt.Sprintf("none of its %d lines parses", r.bad)
	}
	return fmt.Errorf("traces: %s: %w: %s as %s (first: line %d: %s)",
		Escape(r.name), ErrNotLog, what, r.formatName(), r.firstN, Escape(r.first))
}

// formatName names the format the reader expects, for errors.
func (r *Reader) formatName() string {
	switch r.format.Kind {
	case "csv", "tsv":
		return fmt.Sprintf("%s with columns %s", strings.ToUpper(r.format.Kind), r.format.Columns)
	}
	return "Common or Combined Log Format"
}

// str returns a string aliasing b (valid while b's bytes are unchanged).
func str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
