package target

import (
	"fmt"
	"strings"
	"testing"
)

// Reference: docs/reference-model.md, workload rule 2 (target = URL path up to
// the first '?' or '#', as logged, no decoding, no case folding).
func TestKey(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/a/b.html", "/a/b.html"},
		{"/a/b.html?x=1", "/a/b.html"},
		{"/a/b.html#frag", "/a/b.html"},
		{"/a#f?q", "/a"},
		{"/a?q#f", "/a"},
		{"?only", ""},
		{"", ""},
		{"/A%20b/C.HTML", "/A%20b/C.HTML"},
		{"http://host/x?y", "http://host/x"},
	} {
		if got := Key(tc.in); got != tc.want {
			t.Errorf("Key(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := Key([]byte(tc.in)); string(got) != tc.want {
			t.Errorf("Key([]byte(%q)) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// Reference: docs/reference-model.md, workload rule 1 and thesis §6.3.7 (a URL
// with a '?' or containing "cgi-bin" is dynamic); thesis §6.3.5 (cost 2).
func TestDynamic(t *testing.T) {
	for _, tc := range []struct {
		in       string
		patterns []string
		want     bool
	}{
		{"/a.html", nil, false},
		{"/a.html?x", nil, true},
		{"/search?", nil, true},
		{"/cgi-bin/counter", nil, true},
		{"/x/cgi-bin", nil, true},
		{"/cgi-bi", nil, false},
		{"/CGI-BIN/x", nil, false}, // as logged: no case folding
		{"/a#frag", nil, false},
		{"/index.php", []string{".php"}, true},
		{"/index.php", []string{"", ".asp"}, false},
		{"/api/v1", []string{".php", "/api/"}, true},
		{"/ap", []string{"/api/"}, false},
		{"", nil, false},
	} {
		if got := Dynamic(tc.in, tc.patterns); got != tc.want {
			t.Errorf("Dynamic(%q, %q) = %v, want %v", tc.in, tc.patterns, got, tc.want)
		}
		if got := Dynamic([]byte(tc.in), tc.patterns); got != tc.want {
			t.Errorf("Dynamic([]byte(%q), %q) = %v, want %v", tc.in, tc.patterns, got, tc.want)
		}
	}
	if Cost(false) != 1 || Cost(true) != 2 {
		t.Errorf("Cost(false), Cost(true) = %d, %d; want 1, 2", Cost(false), Cost(true))
	}
}

// A switch applies Key and Dynamic to request-line bytes on every request:
// they must not allocate.
func TestNoAllocs(t *testing.T) {
	b := []byte("/cgi-bin/search.php?q=linux+virtual+server#top")
	patterns := []string{".php"}
	allocs := testing.AllocsPerRun(100, func() {
		if len(Key(b)) != 19 || !Dynamic(b, patterns) || Cost(Dynamic(Key(b), nil)) != DynamicCost {
			panic("wrong answer")
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per request, want 0", allocs)
	}
}

// FuzzTarget checks Key and Dynamic against their definitions written with
// the standard library, for strings and bytes alike.
func FuzzTarget(f *testing.F) {
	for _, s := range []string{"/a/b.html?x=1", "/cgi-bin/x#y", "", "?", "#", "/a.php", "cgi-bincgi-bin", "/ü?ß"} {
		f.Add(s, ".php")
	}
	f.Fuzz(func(t *testing.T, s, pattern string) {
		key := Key(s)
		want := s
		if i := strings.IndexAny(s, "?#"); i >= 0 {
			want = s[:i]
		}
		if key != want || string(Key([]byte(s))) != want {
			t.Fatalf("Key(%q) = %q, want %q", s, key, want)
		}
		if Key(key) != key {
			t.Fatalf("Key is not idempotent on %q", s)
		}
		patterns := []string{pattern}
		dyn := strings.Contains(s, "?") || strings.Contains(s, "cgi-bin") || (pattern != "" && strings.Contains(s, pattern))
		if got := Dynamic(s, patterns); got != dyn {
			t.Fatalf("Dynamic(%q, %q) = %v, want %v", s, pattern, got, dyn)
		}
		if got := Dynamic([]byte(s), patterns); got != dyn {
			t.Fatalf("Dynamic([]byte(%q), %q) = %v, want %v", s, pattern, got, dyn)
		}
	})
}

func BenchmarkTarget(b *testing.B) {
	t := []byte("/docs/lvs/thesis/chapter6/locality-based-least-connection.html?lang=en")
	for b.Loop() {
		_ = Cost(Dynamic(t, nil))
		_ = Key(t)
	}
}

func Example() {
	for _, t := range []string{"/docs/a.html", "/docs/a.html?page=2", "/cgi-bin/counter#x"} {
		dynamic := Dynamic(t, nil)
		fmt.Printf("%-20s key %-16s dynamic %-5v cost %d\n", t, Key(t), dynamic, Cost(dynamic))
	}
	// Output:
	// /docs/a.html         key /docs/a.html     dynamic false cost 1
	// /docs/a.html?page=2  key /docs/a.html     dynamic true  cost 2
	// /cgi-bin/counter#x   key /cgi-bin/counter dynamic true  cost 2
}
