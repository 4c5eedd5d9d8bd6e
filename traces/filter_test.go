package traces

import "testing"

// A request is dynamic when its URL has a '?' anywhere or contains
// "cgi-bin" as logged (docs/reference-model.md workload rule 1: no decoding, no
// case folding), or contains one of the configured patterns.
func TestIsDynamic(t *testing.T) {
	for _, tc := range []struct {
		url      string
		patterns []string
		want     bool
	}{
		{"/index.html", nil, false},
		{"/search?q=lvs", nil, true},
		{"/a?", nil, true},
		{"/cgi-bin/counter", nil, true},
		{"/x/cgi-bin", nil, true},
		{"/CGI-BIN/counter", nil, false}, // as logged: no case folding
		{"/cgi%2Dbin/counter", nil, false},
		{"/page.php", []string{".php"}, true},
		{"/page.php", []string{""}, false}, // an empty pattern matches nothing
		{"/a#frag", nil, false},
	} {
		if got := IsDynamic(tc.url, tc.patterns); got != tc.want {
			t.Errorf("IsDynamic(%q, %q) = %v, want %v", tc.url, tc.patterns, got, tc.want)
		}
	}
}

// Target cuts the URL at the first '?' or '#', and nothing else.
func TestTarget(t *testing.T) {
	for url, want := range map[string]string{
		"/a/b.html":      "/a/b.html",
		"/a?b=1#c":       "/a",
		"/a#c?d":         "/a",
		"/A/%7Euser/":    "/A/%7Euser/",
		"http://h/p?x=1": "http://h/p",
		"":               "",
	} {
		if got := Target(url); got != want {
			t.Errorf("Target(%q) = %q, want %q", url, got, want)
		}
	}
}
