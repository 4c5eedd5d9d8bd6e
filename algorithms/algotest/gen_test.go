package algotest

import (
	"testing"

	"github.com/lvslab/lvslab/algorithms"
)

// The random scenarios must reach the states the suite exists to probe;
// otherwise Run would pass schedulers it never really tested. This drives
// the default scenarios with a least-connection reference and counts.
func TestScenariosReachInterestingStates(t *testing.T) {
	cfg := newConfig(t, nil)
	var (
		steps, overloaded, down, weight0, noUsable, emptyPool int
		inactive, aboveHigh, loads, picks, refusals           int
		adds, removes                                         int
	)
	for sc := range cfg.scenarios {
		g := newGen(cfg.seed, uint64(1000+sc), false)
		l := newLane(RefLC{}, g.initialPool(t))
		prevIDs := map[algorithms.ServerID]bool{}
		for range cfg.steps {
			out := g.stepAll(t, []*lane{l}, func(_ *algorithms.Request, _ []outcome, before []algorithms.Server) {
				steps++
				usable := 0
				ids := map[algorithms.ServerID]bool{}
				for _, s := range before {
					ids[s.ID] = true
					if s.Overloaded {
						overloaded++
					}
					if s.Down {
						down++
					}
					if s.Weight == 0 {
						weight0++
					}
					if s.Usable() {
						usable++
					}
					if s.Inactive > 0 {
						inactive++
					}
					if s.High > 0 && s.Active > s.High {
						aboveHigh++
					}
					if s.Load > 0 {
						loads++
					}
				}
				if len(before) == 0 {
					emptyPool++
				}
				if usable == 0 {
					noUsable++
				}
				for id := range ids {
					if !prevIDs[id] && len(prevIDs) > 0 {
						adds++
					}
				}
				for id := range prevIDs {
					if !ids[id] {
						removes++
					}
				}
				prevIDs = ids
			})[0]
			if out.kind == pick {
				picks++
			} else {
				refusals++
			}
		}
	}
	t.Logf("steps %d: overloaded %d, down %d, weight0 %d, no usable %d, empty %d, inactive %d, above high %d, loads %d, picks %d, refusals %d, adds %d, removes %d",
		steps, overloaded, down, weight0, noUsable, emptyPool, inactive, aboveHigh, loads, picks, refusals, adds, removes)
	for name, n := range map[string]int{
		"overloaded server": overloaded, "down server": down, "weight-0 server": weight0,
		"no usable server": noUsable, "inactive connections": inactive, "a server above its high threshold": aboveHigh,
		"measured load": loads, "picks": picks, "refusals": refusals, "servers added": adds, "servers removed": removes,
	} {
		if n < 10 {
			t.Errorf("the default scenarios reach %q only %d times", name, n)
		}
	}
}
