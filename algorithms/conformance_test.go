package algorithms_test

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/algorithms/algotest"
)

// expected are the schedulers lvslab ships. The registry may hold more;
// every registered scheduler goes through the conformance suite.
var expected = []string{
	// IPVS and thesis §4.1 (connection schedulers, hashing).
	"rr", "wrr", "lc", "wlc", "sed", "nq", "fo", "ovf", "sh", "dh", "mh",
	// thesis §6.3 (locality, content) and §7.3, §7.5 (LBLL); IPVS lblc/lblcr.
	"lblc", "lblcr", "ipvs-lblc", "ipvs-lblcr", "content", "content-lblcr", "lbll", "lbll-local", "lbll-cache",
	// thesis §4.2 (DFLB), §4.1.5 (global), and modern ones.
	"dflb", "dflb-wlc", "global", "p2c", "chbl",
}

func TestRegistered(t *testing.T) {
	names := algorithms.Names()
	if !slices.IsSorted(names) {
		t.Errorf("Names() is not sorted: %v", names)
	}
	for _, name := range expected {
		info, ok := algorithms.Lookup(name)
		if !ok {
			t.Errorf("scheduler %q is not registered (registered: %v)", name, names)
			continue
		}
		if info.Name != name || info.Description == "" || info.Source == "" || info.New == nil {
			t.Errorf("scheduler %q: incomplete Info %+v", name, info)
		}
		s, err := algorithms.New(name, algorithms.Options{})
		if err != nil {
			t.Errorf("New(%q, Options{}): %v", name, err)
			continue
		}
		if s.Name() != name {
			t.Errorf("New(%q).Name() = %q", name, s.Name())
		}
	}
	if _, err := algorithms.New("no-such-scheduler", algorithms.Options{}); err == nil {
		t.Error("New of an unknown name succeeded")
	}
}

// tunedOptions sets every knob of Options away from its default, in
// ranges where the suite's small pools and short streams reach the code
// paths the defaults would not: locality thresholds of a few connections,
// set and table expiry of seconds, hash fallback. Class and prefix tables
// name some servers that the random pools hold (IDs start at 0) and some
// they never do.
var tunedOptions = algorithms.Options{
	Seed:        7,
	Low:         1,
	High:        3,
	SetExpiry:   2 * time.Second,
	TableExpiry: 20 * time.Second,
	Threshold:   0.8,
	Fallback:    true,
	Port:        true,
	TableSize:   251,
	Epsilon:     0.1,
	Replicas:    10,
	Classes: map[string][]algorithms.ServerID{
		"cgi":   {0, 1},
		"image": {2, 3, 42},
	},
	Near: []algorithms.NearServers{
		{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Servers: []algorithms.ServerID{1, 2}},
		{Prefix: netip.MustParsePrefix("10.0.7.0/24"), Servers: []algorithms.ServerID{3}},
		{Prefix: netip.MustParsePrefix("192.168.1.0/24"), Servers: []algorithms.ServerID{0, 77}},
		{Prefix: netip.MustParsePrefix("2001:db8::/32"), Servers: []algorithms.ServerID{4}},
	},
	DFLB: algorithms.DFLBParams{A: 3, Scale: 4, ChangeThreshold: 0.5, Target: 0.9},
}

// extraVariants are further option sets for particular schedulers.
var extraVariants = map[string]map[string]algorithms.Options{
	"dflb": {"inner-wlc": {Inner: "wlc"}},
}

// TestConformance runs algotest.Run on every registered scheduler, with
// default options and with tuned ones (Reference: the Scheduler contract
// of scheduler.go).
func TestConformance(t *testing.T) {
	for _, name := range algorithms.Names() {
		t.Run(name, func(t *testing.T) {
			variants := map[string]algorithms.Options{"defaults": {}, "tuned": tunedOptions}
			for v, o := range extraVariants[name] {
				variants[v] = o
			}
			keys := make([]string, 0, len(variants))
			for v := range variants {
				keys = append(keys, v)
			}
			slices.Sort(keys)
			for _, v := range keys {
				opts := variants[v]
				t.Run(v, func(t *testing.T) {
					algotest.Run(t, func() (algorithms.Scheduler, error) { return algorithms.New(name, opts) })
				})
			}
		})
	}
}

// spreads are the schedulers that give simultaneous new requests on idle
// servers of equal weight one server each (algotest.NoHerding): the
// least-connection family, which sees each Begin through the counters
// (global too, for clients outside its near table, as the suite's are),
// and the round-robin family, which walks the servers in turn. Hashing
// (sh, dh, mh, chbl), sampling (p2c), the failover schedulers (fo, ovf:
// the heaviest server first) and LBLL (measured load, which new
// connections do not move) do not.
var spreads = map[string]bool{
	"rr": true, "wrr": true, "lc": true, "wlc": true, "sed": true, "nq": true, "global": true,
	"dflb": true, "dflb-wlc": true,
	"lblc": true, "lblcr": true, "content-lblcr": true, "ipvs-lblc": true, "ipvs-lblcr": true,
}

// TestConcurrent runs algotest.RunConcurrent on every registered
// scheduler, with the option variants of TestConformance (Reference: the
// concurrency contract of scheduler.go). Run it with -race.
func TestConcurrent(t *testing.T) {
	for _, name := range algorithms.Names() {
		t.Run(name, func(t *testing.T) {
			variants := map[string]algorithms.Options{"defaults": {}, "tuned": tunedOptions}
			for v, o := range extraVariants[name] {
				variants[v] = o
			}
			keys := make([]string, 0, len(variants))
			for v := range variants {
				keys = append(keys, v)
			}
			slices.Sort(keys)
			for _, v := range keys {
				opts := variants[v]
				t.Run(v, func(t *testing.T) {
					var with []algotest.Option
					if spreads[name] {
						with = append(with, algotest.NoHerding())
					}
					algotest.RunConcurrent(t, func() (algorithms.Scheduler, error) { return algorithms.New(name, opts) }, with...)
				})
			}
		})
	}
}
