package workbench

import (
	"math"

	"github.com/lvslab/lvslab/sim"
	"github.com/lvslab/lvslab/traces"
)

// The thesis's published numbers (thesis §4.3 and §6.3.7; Fig. 4.2 and
// Fig. 6.5). They are what the reproduction is compared with, never output.
const (
	thesisN          = 7    // the node count the thesis quotes
	thesisDFLBGain   = 0.20 // DFLB over WRR and WLC at 7 nodes, Fig. 4.2
	thesisLBLCGain   = 0.629
	thesisWSBytes    = traces.ThesisWorkingSet // 1,629 MB of distinct targets
	thesisCacheBytes = sim.DefaultCacheBytes   // per node, reference model

	// ThesisMaxNodes is the largest node count of the thesis's figures.
	ThesisMaxNodes = 16

	scaledCacheMargin = 0.25 // no scaled-cache variant within ±25% of the preset's cache
)

// The schedulers of the thesis's figures.
var (
	fig42Algs = []string{"wrr", "wlc", "dflb"}
	fig65Algs = []string{"wrr", "wlc", "lblc", "lblcr"}
)

// scaledCache returns the per-node cache that gives the workload the
// thesis's working set / cache ratio (1,629 MB over 32 MiB), rounded to
// KiB; 0 if that is within scaledCacheMargin of the preset's cache anyway.
func scaledCache(ws int64) int64 {
	c := float64(ws) * float64(thesisCacheBytes) / float64(thesisWSBytes)
	if math.Abs(c-thesisCacheBytes) <= scaledCacheMargin*thesisCacheBytes {
		return 0
	}
	kib := int64(math.Round(c / 1024))
	return max(kib, 1) * 1024
}
