// Package embedded holds the web log built into the lvslab binary, so that
// commands such as "lvslab reproduce" run with no trace argument.
//
//	name, data := embedded.DefaultTrace()
//	w, err := traces.LoadReader(name, bytes.NewReader(data), traces.ReferenceFilter())
//
// The trace is one day of the www.antlr.org access log (2003), Combined Log
// Format, gzip-compressed; traces.LoadDefault loads it.
package embedded
