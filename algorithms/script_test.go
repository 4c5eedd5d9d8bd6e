package algorithms_test

import (
	"flag"
	"testing"

	"github.com/lvslab/lvslab/algorithms/algotest"
)

// The -update flag is shared with any other golden test of this test
// binary: define it only if no other file has.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files under testdata/")
	}
}

// TestScripts runs the scenario scripts of testdata/scripts (docs/style.md
// item 9): each NAME.txt is a sequence of pool changes and arrivals whose
// transcript must equal NAME.golden, and every script cites the thesis or
// IPVS section it demonstrates. Regenerate with
//
//	go test ./algorithms -run TestScripts -update
//
// and review the diff by hand: the goldens are worked examples of the
// thesis's algorithms, not snapshots.
func TestScripts(t *testing.T) {
	algotest.RunScripts(t, "testdata/scripts/*.txt")
}
