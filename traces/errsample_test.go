package traces_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/lvslab/lvslab/traces"
)

// TestErrorSample checks that a sample keeps the first Max errors, counts
// every one and says how many it did not show.
func TestErrorSample(t *testing.T) {
	log := "bad one\n1.2.3.4 - - [02/Sep/2003:10:00:00 -0700] \"GET /a HTTP/1.0\" 200 10\nbad two\nbad three\n"
	for _, tc := range []struct {
		max  int
		want string
	}{
		{0, "3 lines do not parse\n"},
		{2, "x.log:1: \n"},
		{5, "x.log:4: "},
	} {
		s := &traces.ErrorSample{Max: tc.max}
		f := traces.Filter{OnError: s.Add}
		if _, err := traces.LoadReader("x.log", strings.NewReader(log), f); err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		s.Report(&b)
		if s.Total != 3 || len(s.Shown) != min(tc.max, 3) {
			t.Errorf("max %d: total %d, shown %d", tc.max, s.Total, len(s.Shown))
		}
		if tc.max == 2 && !strings.HasSuffix(b.String(), "... and 1 more lines that do not parse\n") {
			t.Errorf("max 2: report %q", b.String())
		}
		if tc.max == 0 && b.String() != tc.want {
			t.Errorf("max 0: report %q, want %q", b.String(), tc.want)
		}
		if tc.max > 0 && !strings.Contains(b.String(), strings.TrimSpace(tc.want)) {
			t.Errorf("max %d: report %q does not name %q", tc.max, b.String(), tc.want)
		}
	}
}
