package workbench

import (
	"bytes"
	"testing"
	"time"
)

// FuzzParseSynthModel: any model file either fails to parse, or parses
// into a model that --print-model writes and reads back unchanged.
func FuzzParseSynthModel(f *testing.F) {
	f.Add([]byte("targets: 10\nalpha: 0.8\nsizes: {mu: 9, sigma: 1}\n"))
	f.Add([]byte(`{"requests": 5, "start": "2003-09-02T10:00:00-07:00"}`))
	f.Add([]byte("rate: .inf\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseSynthModel(data)
		if err != nil {
			return
		}
		m = m.Resolved()
		if m.Validate() != nil {
			return
		}
		var buf bytes.Buffer
		if err := PrintSynthModel(&buf, "yaml", m); err != nil {
			t.Fatal(err)
		}
		back, err := ParseSynthModel(buf.Bytes())
		if err != nil {
			t.Fatalf("printed model does not parse: %v\n%s", err, buf.String())
		}
		if !back.Start.Equal(m.Start) {
			t.Fatalf("start %v, want %v", back.Start, m.Start)
		}
		back.Start, m.Start = time.Time{}, time.Time{}
		if back != m {
			t.Fatalf("round trip\n got %+v\nwant %+v", back, m)
		}
	})
}
