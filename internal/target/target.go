package target

// Costs of a request in connection units (thesis §6.3.5).
const (
	StaticCost  = 1
	DynamicCost = 2
)

// Key returns the locality key of a request target: the target up to its
// first '?' or '#', as sent or logged (no decoding, no case folding). The
// result shares t's memory.
func Key[T ~string | ~[]byte](t T) T {
	for i := 0; i < len(t); i++ {
		if t[i] == '?' || t[i] == '#' {
			return t[:i]
		}
	}
	return t
}

// Dynamic reports whether a request target names dynamic content: it has a
// query ('?'), contains "cgi-bin", or contains one of patterns (extra
// substrings such as ".php" or "/api/"; empty patterns are ignored). The
// whole target is examined, fragment included, as logged.
func Dynamic[T ~string | ~[]byte](t T, patterns []string) bool {
	if index(t, "?") >= 0 || index(t, "cgi-bin") >= 0 {
		return true
	}
	for _, p := range patterns {
		if p != "" && index(t, p) >= 0 {
			return true
		}
	}
	return false
}

// Cost returns a request's cost in connection units: DynamicCost for a
// dynamic request, StaticCost for a static one.
func Cost(dynamic bool) int {
	if dynamic {
		return DynamicCost
	}
	return StaticCost
}

// index returns the index of the first occurrence of the non-empty sub in
// s, or -1.
func index[T ~string | ~[]byte](s T, sub string) int {
	n := len(sub)
	for i := 0; i+n <= len(s); i++ {
		if s[i] != sub[0] {
			continue
		}
		j := 1
		for j < n && s[i+j] == sub[j] {
			j++
		}
		if j == n {
			return i
		}
	}
	return -1
}
