package traces

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"/index.html?a=1&b=%20", "/index.html?a=1&b=%20"},
		{`C:\path`, `C:\path`}, // backslashes kept: for reading, not unquoting
		{"a\x00b", `a\x00b`},
		{"tab\there", `tab\there`},
		{"line\nbreak\r", `line\nbreak\r`},
		{"\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`},
		{"del\x7f", `del\x7f`},
		{"bell\a", `bell\a`},
		{"caf\xc3\xa9", "café"},                // printable UTF-8 kept
		{"bad\xff\xfeutf8", `bad\xff\xfeutf8`}, // not UTF-8: bytes
		{"trunc\xe2\x80", `trunc\xe2\x80`},
		{"evil\u202etxt.exe", `evil\u202etxt.exe`}, // bidirectional override
		{"c1\u0085", `c1\u0085`},
		{"nb\u00a0sp", `nb\u00a0sp`},
	}
	for _, tt := range tests {
		if got := Escape(tt.in); got != tt.want {
			t.Errorf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzEscape(f *testing.F) {
	for _, s := range []string{"", "GET", "a\x00b", "\xff", "\u202e", "é\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := Escape(s)
		if !utf8.ValidString(e) {
			t.Fatalf("Escape(%q) = %q is not UTF-8", s, e)
		}
		for _, r := range e {
			if r < 0x20 || r == 0x7f || !unicode.IsPrint(r) && r != ' ' {
				t.Fatalf("Escape(%q) = %q keeps %U", s, e, r)
			}
		}
		if !strings.ContainsAny(s, "\\") && !strings.Contains(e, `\`) && e != s {
			t.Fatalf("Escape(%q) = %q changed a string that needed no escape", s, e)
		}
		if Escape(e) != e {
			t.Fatalf("Escape is not idempotent on %q: %q, then %q", s, e, Escape(e))
		}
	})
}
