package main

// The flags of an experiment, shared by sim and sweep: -f, --trace, --alg,
// --nodes, --strict, --keep-dynamic and one per parameter of package experiment that has
// a flag (generated from its table).

import (
	"github.com/spf13/cobra"

	"github.com/lvslab/lvslab/experiment"
	"github.com/lvslab/lvslab/workbench"
)

type experimentFlags struct {
	file        string
	strict      bool
	keepDynamic bool
	lists       map[string]*experiment.List // trace, alg, nodes and parameter flags
}

func addExperimentFlags(cmd *cobra.Command, ef *experimentFlags) {
	fs := cmd.Flags()
	fs.StringVarP(&ef.file, "file", "f", "", "experiment file (YAML); flags given too override its keys")
	ef.lists = map[string]*experiment.List{}
	list := func(name, usage string) {
		ef.lists[name] = new(experiment.List)
		fs.Var(ef.lists[name], name, usage)
	}
	list("trace", `trace: a log file (CLF/Combined, plain or gzip), "a.log+b.log" to merge logs into one workload,
"default" for the embedded trace, or "synth:PRESET[:REQUESTS]" for a synthetic one; repeat or comma-separate to sweep traces (default "default")`)
	list("alg", "schedulers, comma-separated (default "+experiment.DefaultAlgorithms+")")
	list("nodes", "node counts: a list and/or ranges, e.g. 1,4,7 or 1-16 (default "+experiment.DefaultNodes+")")
	fs.BoolVar(&ef.strict, "strict", false, "fail on the first trace line that does not parse (default: drop it and report the first few on stderr; file key strict)")
	fs.BoolVar(&ef.keepDynamic, "keep-dynamic", false, "keep the traces' dynamic requests (query string, cgi-bin), which cost costs.dynamic_factor times more and are never cached (default: dropped, as the thesis does; file key keep_dynamic)")
	for _, p := range experiment.Params() {
		if p.Flag {
			list(p.Name, p.FlagUsage())
		}
	}
}

// experiment builds the experiment from -f and the flags given. A flag
// replaces the file's values of its key.
func (ef *experimentFlags) experiment(cmd *cobra.Command) (*experiment.Experiment, error) {
	e := experiment.New()
	if ef.file != "" {
		var err error
		if e, err = experiment.ReadFile(ef.file); err != nil {
			return nil, err
		}
	}
	names := []string{"trace", "alg", "nodes"}
	for _, p := range experiment.Params() {
		if p.Flag {
			names = append(names, p.Name)
		}
	}
	for _, name := range names {
		if cmd.Flags().Changed(name) {
			if err := e.SetFlag(name, *ef.lists[name]); err != nil {
				return nil, err
			}
		}
	}
	if cmd.Flags().Changed("strict") {
		e.Strict = ef.strict
	}
	if cmd.Flags().Changed("keep-dynamic") {
		e.SetKeepDynamic(ef.keepDynamic)
	}
	if err := e.CheckSize(); err != nil {
		return nil, err
	}
	return e, nil
}

// memoryLimit returns the --memory-limit of cmd (no limit for a command
// built without the root command).
func memoryLimit(cmd *cobra.Command) *workbench.MemLimit {
	if f := cmd.Flag("memory-limit"); f != nil {
		if m, ok := f.Value.(*workbench.MemLimit); ok {
			return m
		}
	}
	return &workbench.MemLimit{}
}
