package traces_test

import (
	"fmt"

	"github.com/lvslab/lvslab/traces"
)

// Build the reference model's workload (docs/reference-model.md) from a log.
func ExampleLoad() {
	var bad []string
	f := traces.ReferenceFilter()
	f.OnError = func(pe *traces.ParseError) { bad = append(bad, pe.Error()) }
	w, err := traces.Load([]string{"testdata/odd.log"}, f)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("lines", w.Lines, "kept", len(w.Requests), "targets", len(w.Objects), "working set", w.WorkingSet())
	fmt.Println("dropped", w.Dropped)
	fmt.Println("first error:", bad[0])
	// Output:
	// lines 18 kept 8 targets 6 working set 4761
	// dropped map[bytes:1 dynamic:2 malformed:5 method:1 status:1]
	// first error: testdata/odd.log:13: no [time] field
}

func ExampleParseBytes() {
	for _, s := range []string{"32MiB", "1.5KiB", "10MB"} {
		n, _ := traces.ParseBytes(s)
		fmt.Println(s, n, traces.FormatBytes(n))
	}
	// Output:
	// 32MiB 33554432 32MiB
	// 1.5KiB 1536 1536B
	// 10MB 10000000 10000000B
}

func ExampleHitRatioCurve() {
	w, _ := traces.Load([]string{"testdata/antlr-slice.log"}, traces.ReferenceFilter())
	pts, _ := traces.HitRatioCurve(w, []int64{256 << 10, 1 << 20, 4 << 20})
	for _, p := range pts {
		fmt.Printf("%-7s %.3f\n", traces.FormatBytes(p.CacheBytes), p.HitRatio)
	}
	// Output:
	// 256KiB  0.571
	// 1MiB    0.696
	// 4MiB    0.741
}
