package backend

import (
	"net/url"
	"strings"
)

// RequestTarget returns the request-target a client sends for a trace
// target (traces.Target: the URL as logged, up to the first '?' or '#').
// Most targets are sent as they are. A target that an HTTP request line
// cannot carry is made sendable, byte by byte:
//
//   - a byte that is a control character, a space, DEL or not ASCII is
//     percent-encoded (%XX, upper-case hex);
//   - a '%' not followed by two hex digits is encoded as %25;
//   - a target that does not start with '/' gets a leading '/', unless it
//     is an absolute URL ("scheme://host/...") that can be sent as it is.
//
// The back end keys its objects by this form and the load generator sends
// it, so both agree on every target. The mapping is not one-to-one on
// malformed targets ("/a b" and "/a%20b" both become "/a%20b"): New counts
// such targets in Backend.Merged and serves them as one object.
func RequestTarget(target string) string {
	if sendable(target) {
		return target
	}
	var b strings.Builder
	b.Grow(len(target) + 8)
	if !strings.HasPrefix(target, "/") {
		b.WriteByte('/') // an absolute URL that needs encoding becomes a path
	}
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(target); i++ {
		c := target[i]
		switch {
		case c <= ' ' || c >= 0x7f:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		case c == '%' && !(i+2 < len(target) && isHex(target[i+1]) && isHex(target[i+2])):
			b.WriteString("%25")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// sendable reports whether target can be sent as it is.
func sendable(target string) bool {
	if !strings.HasPrefix(target, "/") && !isAbsoluteURL(target) {
		return false
	}
	for i := 0; i < len(target); i++ {
		c := target[i]
		if c <= ' ' || c >= 0x7f {
			return false
		}
		if c == '%' && !(i+2 < len(target) && isHex(target[i+1]) && isHex(target[i+2])) {
			return false
		}
	}
	if !strings.HasPrefix(target, "/") {
		// An absolute URL must also parse as one (its authority too).
		if _, err := url.ParseRequestURI(target); err != nil {
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// isAbsoluteURL reports whether s starts "scheme://" (absolute-form, as
// proxies log it), scheme being a letter followed by letters, digits, '+',
// '-' or '.'.
func isAbsoluteURL(s string) bool {
	i := strings.Index(s, "://")
	if i < 1 {
		return false
	}
	for j := 0; j < i; j++ {
		c := s[j]
		letter := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !letter && (j == 0 || !('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return true
}
