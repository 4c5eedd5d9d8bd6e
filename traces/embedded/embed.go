package embedded

import _ "embed"

// antlr-2003.log.gz is a copy of /work/shared/traces/antlr-2003.log.gz: one
// day (2 Sep 2003) of the www.antlr.org access log in Combined Log Format,
// 6,211 lines (the last without a newline), gzip-compressed.
//
//go:embed antlr-2003.log.gz
var defaultTrace []byte

// DefaultTrace returns the name and the gzip-compressed bytes of the trace
// built into the binary. The returned slice is shared: do not modify it.
func DefaultTrace() (name string, data []byte) {
	return "antlr-2003.log.gz", defaultTrace
}
