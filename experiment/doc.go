// Package experiment is the experiment file of lvslab and its codec: one
// format read by simulator runs ("lvslab sim", "lvslab sweep"), by live
// runs on a testbed and by validation alike.
//
// An experiment names traces, a cluster (nodes, model preset, cache), a
// front end and one or more schedulers with their options; any parameter
// given several values is a sweep axis. It comes from a strict YAML file
// (an unknown key, a bad value, a zero that would only select a default is
// an error naming the file, the line and the key) and from command-line
// flags, which replace the file's keys: Params is the table of both, one
// entry per sim.Config field, the scheduler's options spelt as the option
// codec of package algorithms spells them everywhere (options.set_expiry,
// --set-expiry).
//
// # Nodes
//
// nodes: is node counts (7, [1, 4, 7], 1-16: a sweep axis of identical
// clusters) or node groups ([{count: 3, speed: 2}, {count: 4}]: one
// heterogeneous cluster, the parameter "node-groups", flag --node-groups; a list
// of such lists sweeps clusters). Groups fix the cluster's size, so an
// experiment with groups has the single node count 0, which sim.Config
// resolves to the sum of the groups' counts. weights: (given, capacity)
// and slowdown: ([{node, factor, from, to}]) complete the cluster; the
// nodes that failures and slowdowns name are checked against every
// cluster run (CheckFailureNodes).
//
// # Usage
//
//	e, err := experiment.ReadFile("exp.yaml")
//	err = e.SetFlag("nodes", []string{"1-4"})        // --nodes 1-4
//	base, axes, err := e.Configs()                  // sim.Config + sweep axes
//	w, err := experiment.LoadWorkload(e.Traces[0], e.Dir, experiment.LoadOptions{})
//
// # Two worlds
//
// Every parameter is either shared by the simulator and a live host (the
// cluster and the scheduler: trace, nodes, cache, costs, options, ...) or
// simulator-only (closed/open admission and its speed-up, the distributed
// front end, the cache cluster's origin). Experiment.CheckLive refuses an
// experiment that sets a simulator-only parameter, naming each with its
// file line and the reason; Param.Live and Param.Shared say why for each.
package experiment
