package traces

import (
	"fmt"
	"io"
)

// ErrorSample keeps the first Max lines that do not parse, as
// "file:line: reason", and counts them all: set a Filter's OnError to its
// Add to report a log's bad lines without holding them all.
type ErrorSample struct {
	Max   int      // lines kept
	Shown []string // the first Max lines' errors
	Total int      // lines that did not parse
}

// Add records one line that did not parse.
func (s *ErrorSample) Add(pe *ParseError) {
	s.Total++
	if len(s.Shown) < s.Max {
		s.Shown = append(s.Shown, pe.Error())
	}
}

// Report writes the kept errors to w, one a line, and how many more there
// were.
func (s *ErrorSample) Report(w io.Writer) {
	for _, e := range s.Shown {
		fmt.Fprintln(w, e)
	}
	if more := s.Total - len(s.Shown); more > 0 && len(s.Shown) > 0 {
		fmt.Fprintf(w, "... and %d more lines that do not parse\n", more)
	} else if more > 0 {
		fmt.Fprintf(w, "%d lines do not parse\n", more)
	}
}
