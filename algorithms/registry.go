package algorithms

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"
)

// Options configures any registered scheduler. Each scheduler reads the
// fields it documents and ignores the rest. The zero value of every field
// selects that scheduler's documented default, so Options{} is valid for all.
type Options struct {
	// Seed seeds schedulers that sample (P2C) or break ties at random.
	Seed uint64 `json:"seed"`

	// Low and High are the default locality thresholds of thesis §6.3.5 in
	// connection units, for servers whose own Low/High are 0. Default 30, 60.
	Low  int `json:"low"`
	High int `json:"high"`

	// SetExpiry is LBLC/R's K: a server set with more than one member that
	// was not modified for this long sheds its most-loaded member
	// (thesis §6.3.5). Default 60 s.
	SetExpiry time.Duration `json:"set_expiry_ns"`

	// TableExpiry is how long an entry of a table keyed by request (see
	// MaxEntries) stays when it is not used. Default 24 h (ip_vs_lblc.c's
	// lblc_expiration sysctl).
	TableExpiry time.Duration `json:"table_expiry_ns"`

	// MaxEntries bounds each table keyed by request: the URL target tables
	// of lblc, lblcr, content-lblcr (one table per class) and the lbll
	// family, and the destination tables of ipvs-lblc and ipvs-lblcr. A
	// full table drops its least recently used entry to make room. Default
	// DefaultMaxEntries (262,144), far above the thesis trace's 37,804
	// targets.
	MaxEntries int `json:"max_entries,omitzero"`

	// Threshold is LBLL's load threshold T (thesis §7.3.1) in the units of
	// Server.Load. Default 1.
	Threshold float64 `json:"threshold"`

	// Fallback makes SH and DH probe other buckets when the hashed server
	// is unusable (IP_VS_SVC_F_SCHED_SH_FALLBACK); without it they answer
	// ErrNoServer.
	Fallback bool `json:"fallback"`

	// Port makes SH and MH hash the client port too (IP_VS_SVC_F_SCHED_SH_PORT).
	Port bool `json:"port"`

	// TableSize is Maglev's lookup table size M, a prime. Default 4093
	// (CONFIG_IP_VS_MH_TAB_INDEX 12).
	TableSize int `json:"table_size"`

	// Epsilon is the balance factor of consistent hashing with bounded
	// loads: no server takes more than ceil((1+Epsilon)·average). Default 0.25.
	Epsilon float64 `json:"epsilon"`

	// Replicas is the number of virtual nodes per server on the consistent
	// hashing ring. Default 100, at most MaxCHBLReplicas (10,000).
	Replicas int `json:"replicas"`

	// Classes maps a content class to its defined server set (thesis §6.3.6);
	// requests of other classes use the servers not named in any class, or
	// the whole pool when every server is named.
	Classes map[string][]ServerID `json:"classes"`

	// Near is the client-prefix table of global server scheduling
	// (thesis §4.1.5), searched longest prefix first.
	Near []NearServers `json:"near"`

	// RestartCycle makes WRR restart its cycle from the beginning when
	// weights or membership change, instead of keeping its current weight
	// as ip_vs_wrr_dest_changed does (docs/reference-model.md's DFLB preset).
	RestartCycle bool `json:"restart_cycle"`

	// Inner names the scheduler DFLB adjusts weights for: "wrr" (default)
	// or "wlc".
	Inner string `json:"inner"`

	// DFLB holds the dynamic-feedback controller's parameters.
	DFLB DFLBParams `json:"dflb"`
}

// NearServers maps a client prefix to the servers near it, nearest first.
type NearServers struct {
	Prefix  netip.Prefix `json:"prefix"`
	Servers []ServerID   `json:"servers"`
}

// DFLBParams are the parameters of thesis §4.2.4's weight update. Zero
// values select the thesis's defaults.
type DFLBParams struct {
	// Coefficients R1..R6 for INPUT, LOAD (CPU), DISK, MEMORY, PROCESS and
	// RESPONSE; they should sum to 1. All zero selects the web default
	// {0.1, 0.3, 0.1, 0.1, 0.1, 0.3}.
	Coefficients [6]float64 `json:"coefficients"`
	// A scales the cube-root step. Default 5.
	A float64 `json:"a"`
	// Scale bounds a weight to [0, Scale·default weight]. Default 10.
	Scale float64 `json:"scale"`
	// ChangeThreshold: a new weight is written only if it differs from the
	// current one by more than this. Default 0.
	ChangeThreshold float64 `json:"change_threshold"`
	// Target is the aggregate load at which a weight is left alone. Default 0.95.
	Target float64 `json:"target"`
}

// Factory builds a scheduler from options.
type Factory func(Options) (Scheduler, error)

// Info describes a registered scheduler.
type Info struct {
	Name        string // registered name, lower case ("wrr")
	Description string // one line
	Source      string // where the algorithm comes from ("thesis §4.1.2; ip_vs_wrr.c")
	New         Factory
}

var registry = map[string]Info{}

// Register adds a scheduler to the registry. It panics if the name is empty
// or already taken: registration happens in init functions, and a clash is
// a programming error.
func Register(info Info) {
	name := strings.ToLower(info.Name)
	if name == "" || info.New == nil {
		panic("algorithms: Register needs a name and a factory")
	}
	if _, dup := registry[name]; dup {
		panic("algorithms: scheduler registered twice: " + name)
	}
	info.Name = name
	registry[name] = info
}

// Lookup returns the registered scheduler with the given name.
func Lookup(name string) (Info, bool) {
	info, ok := registry[strings.ToLower(name)]
	return info, ok
}

// New builds the registered scheduler name with opts.
func New(name string, opts Options) (Scheduler, error) {
	info, ok := Lookup(name)
	if !ok {
		return nil, fmt.Errorf("algorithms: unknown scheduler %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	return info.New(opts)
}

// Names returns the registered scheduler names, sorted.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// All returns every registered scheduler's Info, sorted by name.
func All() []Info {
	out := make([]Info, 0, len(registry))
	for _, n := range Names() {
		out = append(out, registry[n])
	}
	return out
}
