package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/lvslab/lvslab/internal/version"
	"github.com/lvslab/lvslab/workbench"
)

// subcommands are added by the files of this package in their init
// functions, one file per command, so that commands can be added without
// touching this file.
var subcommands []func() *cobra.Command

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "lvslab",
		Short: "A laboratory for cluster load-balancing schedulers",
		Long: `lvslab compares cluster load-balancing schedulers (the Linux Virtual Server
family and modern ones) in a trace-driven simulator and in a scheduler
playground, on real web logs.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().Var(workbench.DefaultMemLimit(), "memory-limit",
		`memory a command may plan to use, e.g. 16GiB: a size whose estimate is above it (a synthetic
trace, a simulation of many nodes) is refused before anything is allocated, and simulations run
fewer at a time to fit it; 0 for no limit. The default is half the machine's memory or cgroup
limit (8GiB if unknown)`)
	root.AddCommand(newVersionCmd())
	for _, f := range subcommands {
		root.AddCommand(f())
	}
	return root
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the lvslab version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "lvslab %s (%s, %s/%s)\n", version.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		},
	}
}
