package traces

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Escape returns s made safe to print for people: every byte or rune that
// could disturb a terminal or hide text is written as a Go escape, the
// rest is kept as is. ASCII control characters become \t, \n, \r or \xNN
// (NUL is \x00, ESC \x1b, DEL \x7f), other non-printable runes (per
// strconv.IsPrint: C1 controls, bidirectional overrides, non-ASCII spaces)
// \uNNNN, and bytes that are not UTF-8 \xNN. Backslashes are not doubled,
// so the result is for reading, not for unquoting. s itself is returned
// when nothing needs escaping.
//
// Strings that come from logs (URLs, hosts, methods, excerpts of
// malformed lines) and names given by users go through Escape on every
// human-readable output: text reports and error messages. Machine formats
// (CSV, JSON) escape with their own encoders.
func Escape(s string) string {
	i := 0
	for i < len(s) && s[i] >= 0x20 && s[i] < 0x7f {
		i++
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			b.WriteByte(c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			b.WriteString(`\x`)
			b.WriteByte(hexDigit[c>>4])
			b.WriteByte(hexDigit[c&15])
		case r < utf8.RuneSelf || !strconv.IsPrint(r):
			// strconv's own escapes: \t, \n, \x00, \x7f, \u202e, ...
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

const hexDigit = "0123456789abcdef"
