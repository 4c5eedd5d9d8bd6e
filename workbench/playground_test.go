package workbench

import (
	"strconv"
	"strings"
	"testing"
)

func FuzzParseWeights(f *testing.F) {
	for _, s := range []string{"4,3,2", "1", "", " 1 , 2 ", "0,0", "-1", "x", "4,,2", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ws, err := ParseWeights(s)
		if err != nil {
			return
		}
		if len(ws) == 0 {
			t.Fatalf("%q: no weights and no error", s)
		}
		items := strings.Split(s, ",")
		if len(items) != len(ws) {
			t.Fatalf("%q: %d items, %d weights", s, len(items), len(ws))
		}
		for i, w := range ws {
			if w < 0 {
				t.Fatalf("%q: negative weight %d accepted", s, w)
			}
			if n, err := strconv.Atoi(strings.TrimSpace(items[i])); err != nil || n != w {
				t.Fatalf("%q: item %d parsed as %d", s, i+1, w)
			}
		}
	})
}

func FuzzParseKeys(f *testing.F) {
	f.Add("# three targets, one dynamic\n/index.html\n\n/cgi-bin/search?q=lvs\n  /images/logo.gif  \n/index.html\n")
	f.Add("")
	f.Add("#only a comment\n\n")
	f.Add("/a\r\n/b?x=1\n")
	f.Fuzz(func(t *testing.T, s string) {
		keys, err := ParseKeys("fuzz", strings.NewReader(s))
		if err != nil {
			return // only over-long lines
		}
		for _, k := range keys {
			if k == "" || k != strings.TrimSpace(k) || strings.HasPrefix(k, "#") || strings.ContainsAny(k, "\n") {
				t.Fatalf("bad key %q from %q", k, s)
			}
		}
	})
}
