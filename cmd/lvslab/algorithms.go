package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/lvslab/lvslab/algorithms"
)

func init() { subcommands = append(subcommands, newAlgorithmsCmd) }

func newAlgorithmsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "algorithms",
		Short: "List the schedulers: name, description, source",
		Long: `List every registered scheduler with a one-line description and where the
algorithm comes from (thesis section, Linux IPVS module, paper). The names
are what --alg of "lvslab schedule" and the experiment files accept. Their
options, with defaults and bounds (chbl's options.replicas: at most 10000
virtual nodes per server), are the options.* keys "lvslab sim --help" lists.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tDESCRIPTION\tSOURCE")
			for _, info := range algorithms.All() {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", info.Name, info.Description, info.Source)
			}
			return tw.Flush()
		},
	}
}
