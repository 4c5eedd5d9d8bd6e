package sim

import (
	"testing"
	"time"
)

// The ch.7 front ends' defaults appear in the resolved config, so a
// result file shows the distributor count and CLS costs that were used.
func TestResolveCLSDefaults(t *testing.T) {
	for _, tc := range []struct {
		fe           string
		distributors int
		batch        int
		lookup       time.Duration
	}{
		{FrontEndL7, 0, 0, 0},
		{FrontEndDistributed, defaultDistributors, defaultCLSBatch, defaultCLSLookup},
		{FrontEndCacheCluster, defaultDistributors, defaultCLSBatch, defaultCLSLookup},
		{FrontEndColocated, 0, defaultCLSBatch, defaultCLSLookup}, // one distributor per node
	} {
		c, err := Config{Nodes: 2, Algorithm: "lbll", FrontEnd: tc.fe}.Resolve()
		if err != nil {
			t.Fatalf("%s: %v", tc.fe, err)
		}
		if c.Distributors != tc.distributors || c.CLSBatch != tc.batch || c.CLSLookup != tc.lookup {
			t.Errorf("%s: resolved distributors=%d cls_batch=%d cls_lookup=%v, want %d %d %v",
				tc.fe, c.Distributors, c.CLSBatch, c.CLSLookup, tc.distributors, tc.batch, tc.lookup)
		}
	}
}
