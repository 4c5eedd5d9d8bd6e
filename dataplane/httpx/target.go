package httpx

import "bytes"

// Key returns the locality key of a request target: the target up to its
// first '?' or '#', as sent (no decoding, no case folding). It is the
// simulator's target normalisation (reference-model.md rule 2), so a live
// switch and a simulation key the same request alike.
func Key(target []byte) []byte {
	if i := bytes.IndexAny(target, "?#"); i >= 0 {
		return target[:i]
	}
	return target
}

// Dynamic reports whether a target is a dynamic request: it has a query
// ('?') or contains "cgi-bin" (thesis §6.3.5; the simulator's rule).
func Dynamic(target []byte) bool {
	return bytes.IndexByte(target, '?') >= 0 || bytes.Contains(target, []byte("cgi-bin"))
}

// Cost returns a request's cost in connection units: 2 for a dynamic
// request, 1 for a static one (thesis §6.3.5).
func Cost(target []byte) int {
	if Dynamic(target) {
		return 2
	}
	return 1
}
