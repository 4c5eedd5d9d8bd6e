package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/lvslab/lvslab/testbed"
)

func init() { subcommands = append(subcommands, newTestbedCmd) }

// defaultTestbedRoot is where run directories are made and looked for.
const defaultTestbedRoot = "/run/lvslab/testbeds"

// testbedFlags are the flags every testbed subcommand shares.
type testbedFlags struct {
	root   string // --root
	runDir string // --run-dir
}

// newTestbedCmd is "lvslab testbed": one constructor per subcommand below
// (up, status, down, and run in testbed_run.go).
func newTestbedCmd() *cobra.Command {
	var tf testbedFlags
	cmd := &cobra.Command{
		Use:   "testbed",
		Short: "Build, inspect and remove live testbeds in network namespaces",
		Long: `A testbed is a director, real servers and clients, each in its own network
namespace, joined by bridged veth pairs in a "switch" namespace, with
addresses in 198.18.0.0/15, routes, sysctls and offload settings laid out for
a forwarding mode (l7, nat, dr, tun). Nothing is added to the root namespace.
Every name starts with the testbed's prefix (lt and up to 6 characters), so
several testbeds coexist. Needs root.

A run directory (default ` + defaultTestbedRoot + `/PREFIX) records what
may exist before it is made, so "down" also cleans up after a crashed or
killed run.`,
		Args: cobra.NoArgs,
	}
	cmd.PersistentFlags().StringVar(&tf.root, "root", defaultTestbedRoot, "where run directories are made and looked for")
	cmd.PersistentFlags().StringVar(&tf.runDir, "run-dir", "", "the testbed's run directory (default: ROOT/PREFIX)")
	cmd.AddCommand(newTestbedUpCmd(&tf), newTestbedStatusCmd(&tf), newTestbedDownCmd(&tf), newTestbedRunCmd(&tf))
	return cmd
}

func newTestbedUpCmd(tf *testbedFlags) *cobra.Command {
	var file, prefix string
	cmd := &cobra.Command{
		Use:   "up -f TOPOLOGY.yaml",
		Short: "Create a testbed from a topology file",
		Long: `Create the namespaces, bridges, veth pairs, addresses, routes, neighbour
entries, sysctls and offload settings of a topology file, and print them.
The file is strict YAML (an unknown key is an error naming it and its line):

  mode: l7            # l7 | nat | dr | tun (required)
  clients: 1          # client namespaces (1-64)
  servers: 2          # real servers (1-64)
  segments: 2         # 1: one bridge; 2: clients and servers apart (l7, nat)
  client_net: 198.18.0.0/24
  server_net: 198.18.1.0/24
  vip: 198.18.0.254
  vip_on_director: true   # default: true for l7, false otherwise
  mtu: 1500
  offloads: {tx: false, tso: false, gso: false, gro: false}   # all off by default
  xdp_peer: false               # an XDP pass program on the switch end of the director's links
                                # (needed by "lvslab director --xdp" on veth)
  sysctls: {director: {net.ipv4.ip_forward: 0}}   # roles: all, switch, director, servers, clients
  prefix: lt1a2b3c    # default: lt and 6 random hex digits
  name: my testbed

Ctrl-C (SIGINT or SIGTERM) during up removes what was made.`,
		Example: `  lvslab testbed up -f examples/testbed/l7.yaml
  lvslab testbed up -f topology.yaml --run-dir /tmp/tb1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return errors.New("testbed up: -f TOPOLOGY.yaml is required")
			}
			topo, err := testbed.ReadTopologyFile(file)
			if err != nil {
				return fmt.Errorf("testbed up: %w", err)
			}
			if prefix != "" {
				if err := testbed.ValidPrefix(prefix); err != nil {
					return fmt.Errorf("--prefix %w", err)
				}
				topo.Prefix = prefix
			}
			if topo.Prefix == "" {
				topo.Prefix = testbed.NewPrefix()
			}
			runDir := tf.runDir
			if runDir == "" {
				runDir = filepath.Join(tf.root, topo.Prefix)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			tb, err := testbed.Up(ctx, topo, runDir)
			if errors.Is(err, context.Canceled) {
				return errors.New("testbed up: interrupted; everything made was removed")
			}
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "testbed %s is up (mode %s); run directory %s\n", tb.Prefix(), tb.Topology.Mode, tb.RunDir)
			tb.WriteLayout(w)
			fmt.Fprintf(w, "take it down: lvslab testbed down --run-dir %s\n", tb.RunDir)
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "topology file (YAML)")
	cmd.Flags().StringVar(&prefix, "prefix", "", "name prefix (replaces the file's)")
	return cmd
}

func newTestbedStatusCmd(tf *testbedFlags) *cobra.Command {
	var (
		prefix  string
		jsonOut bool
	)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show testbeds: namespaces, links, addresses, processes",
		Long: `Show a testbed (--run-dir or --prefix), or every testbed found: those with
a run directory under --root, and namespaces of testbeds whose run directory
is gone. For each namespace: whether it exists, its links (kind, state, MTU,
addresses, bridge, offloads), routes and permanent neighbours; for each
process started in the testbed, whether it is alive.`,
		Example: `  lvslab testbed status
  lvslab testbed status --run-dir /tmp/tb1 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			reports, err := testbed.Reports(tf.root, tf.runDir, prefix)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if jsonOut {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				if reports == nil {
					reports = []*testbed.Report{}
				}
				return enc.Encode(reports)
			}
			if len(reports) == 0 {
				fmt.Fprintln(w, "no testbed")
			}
			for _, r := range reports {
				r.WriteText(w)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&prefix, "prefix", "", "the testbed with this prefix")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "JSON output")
	return cmd
}

func newTestbedDownCmd(tf *testbedFlags) *cobra.Command {
	var (
		prefix string
		all    bool
	)
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Remove a testbed: its processes, namespaces and links",
		Long: `Remove a testbed: stop its processes (SIGTERM, then SIGKILL), delete its
namespaces (and so its links) and its state file. It works from the run
directory alone, after a crash or kill -9 of the run that made it, and is
idempotent: taking down what is gone does nothing and succeeds.

Which testbed: --run-dir DIR; --prefix GLOB (every testbed whose prefix
matches, found by its names, even without a run directory); --all (every
testbed on the machine). With none of them, the only testbed under --root.`,
		Example: `  lvslab testbed down --run-dir /tmp/tb1
  lvslab testbed down --prefix lt1a2b3c
  lvslab testbed down --all`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			n := 0
			for _, set := range []bool{tf.runDir != "", prefix != "", all} {
				if set {
					n++
				}
			}
			if n > 1 {
				return errors.New("testbed down: --run-dir, --prefix and --all exclude each other")
			}
			if all {
				prefix = "*"
			}
			var r *testbed.Removed
			var err error
			if tf.runDir != "" {
				r, err = testbed.Down(tf.runDir)
			} else {
				r, err = testbed.DownUnder(tf.root, prefix)
			}
			r.WriteText(cmd.OutOrStdout())
			return err
		},
	}
	cmd.Flags().StringVar(&prefix, "prefix", "", "every testbed whose prefix matches this glob")
	cmd.Flags().BoolVar(&all, "all", false, "every testbed on the machine")
	return cmd
}
