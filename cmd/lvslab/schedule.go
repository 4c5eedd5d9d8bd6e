package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/workbench"
)

func init() { subcommands = append(subcommands, newScheduleCmd) }

func newScheduleCmd() *cobra.Command {
	var (
		p        workbench.Playground
		alg      string
		weights  string
		requests int
		keys     string
	)
	cmd := &cobra.Command{
		Use:   "schedule --alg NAME [--weights 4,3,2] [--requests N | --keys FILE]",
		Short: "Run one scheduler on a small pool and print the servers it picks",
		Long: `A scheduler playground. It builds a pool of one server per weight, labelled
A, B, C, ... (AA, AB, ... after Z), runs the scheduler on a stream of requests
and prints the server chosen for each.

Requests come from --requests N (N requests without a key, each from its own
client address 10.0.x.y, so that address-hashing schedulers spread them) or
from --keys FILE (one URL target per line, used as the request key; blank lines
and lines starting with # are skipped). A key with '?' or "cgi-bin" is a
dynamic request: it costs 2 connection units and is not cacheable (the
cache-oriented LBLL sends it to the origin). Without either flag the stream has
as many requests as the weights add up to (one WRR cycle). Request i (from 0)
arrives at i seconds.

Connection accounting: each chosen server gets the request's cost added to its
active connections. With --hold 0 (the default) requests never end during the
run: the stream is a burst of concurrent connections. With --hold N each
request ends once N later requests have been scheduled, so about N requests are
in service at a time.

A request no server can take is printed as "-" (text), "none" (csv, json),
or "origin" when the scheduler sends it to the origin server.

Scheduler options are passed only when given; otherwise each scheduler uses
its own default (the values shown). They are spelt as in experiment files
(--set-expiry is options.set_expiry); classes and near name servers by
their index from 0 (A is 0).`,
		Example: `  lvslab schedule --alg wrr --weights 4,3,2 --requests 9
  lvslab schedule --alg lc --weights 1,1,1 --requests 6 --hold 1
  lvslab schedule --alg lblc --keys urls.txt --format csv --low 2 --high 4
  lvslab schedule --alg lblcr --keys urls.txt --set-expiry 10s --hold 4`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if alg == "" {
				return fmt.Errorf("--alg is required; known schedulers: %s", strings.Join(algorithms.Names(), ", "))
			}
			p.Alg = alg
			var err error
			if p.Weights, err = workbench.ParseWeights(weights); err != nil {
				return fmt.Errorf("--weights: %w", err)
			}
			changed := cmd.Flags().Changed
			if changed("requests") && changed("keys") {
				return errors.New("--requests and --keys cannot be used together")
			}
			if requests < 0 {
				return fmt.Errorf("--requests: %d is negative", requests)
			}
			p.Requests = requests
			if !changed("requests") {
				p.Requests = -1
			}
			if keys != "" {
				if p.Keys, err = workbench.ReadKeys(keys); err != nil {
					return err
				}
				if p.Keys == nil {
					p.Keys = []string{} // a file of no key: no request
				}
			}
			return p.Run(cmd.OutOrStdout())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&alg, "alg", "", "scheduler name (see \"lvslab algorithms\")")
	fl.StringVar(&weights, "weights", "1,1,1", "server weights, comma separated; one server per weight")
	fl.IntVar(&requests, "requests", 0, "number of requests (default: the sum of the weights)")
	fl.StringVar(&keys, "keys", "", "file of request keys (URL targets), one per line")
	fl.StringVar(&p.Format, "format", "text", "output format: text, csv or json")
	fl.IntVar(&p.Hold, "hold", 0, "end each request after N later requests (0: requests never end)")
	addOptionFlags(cmd, &p.Options)
	return cmd
}

// addOptionFlags adds a flag for every scheduler option (the option codec's
// spelling, with '-' for '_' and '.'), setting it in opts.
func addOptionFlags(cmd *cobra.Command, opts *algorithms.Options) {
	for _, s := range algorithms.OptionSpecs() {
		usage := s.Doc
		if syntax := s.Kind.Syntax(); syntax != "" {
			usage += " (" + syntax + ")"
		}
		cmd.Flags().Var(s.Value(opts), s.Flag(), usage)
		if s.Kind == algorithms.OptionBool {
			cmd.Flags().Lookup(s.Flag()).NoOptDefVal = "true"
		}
	}
}
