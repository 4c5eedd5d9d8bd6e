package traces

import (
	"time"

	"github.com/lvslab/lvslab/internal/target"
)

// Drop reasons, the keys of Workload.Dropped and Summary.Dropped. Filters
// apply in this order; a line is counted under the first reason that drops it.
const (
	DropMalformed = "malformed" // the line does not parse
	DropMethod    = "method"    // method not in Filter.Methods
	DropStatus    = "status"    // status not in Filter.Statuses
	DropBytes     = "bytes"     // byte count outside [MinBytes, MaxBytes]
	DropDynamic   = "dynamic"   // dynamic request and Filter.DropDynamic
	DropWindow    = "window"    // time outside [From, To)
)

// Filter selects the requests a workload keeps and says how to read the
// logs. The zero Filter reads CLF/Combined logs and keeps every line that
// parses; ReferenceFilter returns the rules of the reference model.
type Filter struct {
	// Format says how to read the logs; the zero Format is CLF/Combined.
	Format Format

	// Methods keeps only requests with one of these methods (exact match,
	// e.g. "GET"). Empty: any method.
	Methods []string

	// Statuses keeps only requests with one of these statuses. Empty: any.
	Statuses []int

	// MinBytes > 0 keeps only requests whose byte count is a number of at
	// least MinBytes bytes; a '-' byte count is then dropped.
	MinBytes int64

	// MaxBytes > 0 keeps only requests of at most MaxBytes bytes ('-'
	// counts as 0).
	MaxBytes int64

	// DropDynamic drops dynamic requests (see IsDynamic); otherwise they are
	// kept and flagged Request.Dynamic.
	DropDynamic bool

	// DynamicPatterns are substrings that mark a URL dynamic, in addition to
	// a '?' and "cgi-bin" (e.g. ".php", "/api/").
	DynamicPatterns []string

	// From and To, when not zero, keep only requests with From <= time < To;
	// a record without a time is then dropped.
	From, To time.Time

	// Strict makes the first line that does not parse an error.
	Strict bool

	// OnError, if not nil, is called with every line that does not parse
	// (when not Strict), e.g. to report the first few.
	OnError func(*ParseError)
}

// ReferenceFilter returns the workload rules of the reference cluster model
// (docs/reference-model.md, workload rule 1; thesis §6.3.7): method GET,
// status 200, a byte count that is a number greater than 0, dynamic requests
// ('?' or "cgi-bin") dropped.
func ReferenceFilter() Filter {
	return Filter{
		Methods:     []string{"GET"},
		Statuses:    []int{200},
		MinBytes:    1,
		DropDynamic: true,
	}
}

// Target returns the target of a URL: the URL up to the first '?' or '#',
// as logged (no decoding, no case folding; docs/reference-model.md rule 2). It
// is target.Key, the definition a live layer-7 switch shares.
func Target(url string) string { return target.Key(url) }

// IsDynamic reports whether url is a dynamic request: it has a query string
// ('?'), contains "cgi-bin", or contains one of the extra patterns. It is
// target.Dynamic, the definition a live layer-7 switch shares.
func IsDynamic(url string, patterns []string) bool { return target.Dynamic(url, patterns) }

// Check returns the reason the filter drops rec ("" if it keeps it) and
// whether rec is a dynamic request.
func (f *Filter) Check(rec *Record) (reason string, dynamic bool) {
	if len(f.Methods) > 0 && !containsString(f.Methods, rec.Method) {
		return DropMethod, false
	}
	if len(f.Statuses) > 0 && !containsInt(f.Statuses, rec.Status) {
		return DropStatus, false
	}
	if f.MinBytes > 0 && rec.Bytes < f.MinBytes {
		return DropBytes, false
	}
	if f.MaxBytes > 0 && rec.Bytes > f.MaxBytes {
		return DropBytes, false
	}
	dynamic = IsDynamic(rec.URL, f.DynamicPatterns)
	if dynamic && f.DropDynamic {
		return DropDynamic, true
	}
	if !f.From.IsZero() || !f.To.IsZero() {
		if rec.Time.IsZero() || (!f.From.IsZero() && rec.Time.Before(f.From)) || (!f.To.IsZero() && !rec.Time.Before(f.To)) {
			return DropWindow, dynamic
		}
	}
	return "", dynamic
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
