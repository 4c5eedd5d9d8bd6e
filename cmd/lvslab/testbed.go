package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"

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
// (up, status, down; a later run takes the same flags).
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
	cmd.AddCommand(newTestbedUpCmd(&tf), newTestbedStatusCmd(&tf), newTestbedDownCmd(&tf))
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
			b, err := os.ReadFile(file)
			if err != nil {
				return fmt.Errorf("testbed up: %w", err)
			}
			topo, err := testbed.ParseTopology(b)
			if err != nil {
				return fmt.Errorf("%s: %w", file, err)
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
			printLayout(w, tb)
			fmt.Fprintf(w, "take it down: lvslab testbed down --run-dir %s\n", tb.RunDir)
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "topology file (YAML)")
	cmd.Flags().StringVar(&prefix, "prefix", "", "name prefix (replaces the file's)")
	return cmd
}

// printLayout lists what Up made: namespaces, addresses, routes, VIP.
func printLayout(w io.Writer, tb *testbed.Testbed) {
	l := tb.Layout
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  %s\tswitch\t%s\n", l.Switch, strings.Join(l.Bridges, " "))
	for _, n := range l.Nodes {
		var parts []string
		for _, ifc := range n.Ifaces {
			parts = append(parts, fmt.Sprintf("%s %s (%s)", ifc.Name, ifc.Addr, ifc.Bridge))
		}
		if n.VIPOnLo {
			parts = append(parts, "lo "+l.VIP.String()+"/32")
		}
		if n.Role == testbed.RoleDirector && *tb.Topology.VIPOnDirector {
			parts = append(parts, "VIP "+l.VIP.String()+" on eth0")
		}
		if n.Gateway.IsValid() {
			parts = append(parts, "default via "+n.Gateway.String())
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", n.NS, n.Role, strings.Join(parts, ", "))
	}
	tw.Flush()
	fmt.Fprintf(w, "VIP %s", l.VIP)
	if !*tb.Topology.VIPOnDirector {
		fmt.Fprintf(w, " (clients send it to the director: permanent neighbour entries)")
	}
	fmt.Fprintf(w, "; MTU %d; offloads %s\n", tb.Topology.MTU, tb.Topology.Offloads)
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
			reports, err := testbedReports(tf, prefix)
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
				printReport(w, r)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&prefix, "prefix", "", "the testbed with this prefix")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "JSON output")
	return cmd
}

// testbedReports gathers the reports status shows.
func testbedReports(tf *testbedFlags, prefix string) ([]*testbed.Report, error) {
	if tf.runDir != "" && prefix != "" {
		return nil, errors.New("testbed status: --run-dir and --prefix exclude each other")
	}
	if prefix != "" {
		if err := testbed.ValidPrefix(prefix); err != nil {
			return nil, fmt.Errorf("--prefix %w", err)
		}
	}
	if tf.runDir != "" {
		r, err := testbed.Status(tf.runDir)
		if err != nil {
			return nil, err
		}
		return []*testbed.Report{r}, nil
	}
	dirs, err := testbed.RunDirs(tf.root)
	if err != nil {
		return nil, err
	}
	var reports []*testbed.Report
	seen := map[string]bool{}
	for _, d := range dirs {
		r, err := testbed.Status(d)
		if err != nil {
			return nil, err
		}
		if prefix == "" || r.Prefix == prefix {
			reports = append(reports, r)
		}
		seen[r.Prefix] = true
	}
	prefixes, err := testbed.Prefixes()
	if err != nil {
		return nil, err
	}
	for _, p := range prefixes {
		if !seen[p] && (prefix == "" || p == prefix) {
			r, err := testbed.StatusPrefix(p)
			if err != nil {
				return nil, err
			}
			reports = append(reports, r)
		}
	}
	if prefix != "" && len(reports) == 0 {
		return nil, fmt.Errorf("testbed status: no testbed with prefix %s", prefix)
	}
	return reports, nil
}

func printReport(w io.Writer, r *testbed.Report) {
	state := "ready"
	if !r.Ready {
		state = "NOT READY (being built, or its owner crashed: lvslab testbed down)"
	}
	where := "no run directory (lvslab testbed down --prefix " + r.Prefix + ")"
	if r.RunDir != "" {
		where = "run directory " + r.RunDir
		fmt.Fprintf(w, "testbed %s", r.Prefix)
		if r.Name != "" {
			fmt.Fprintf(w, " %q", r.Name)
		}
		fmt.Fprintf(w, ": mode %s, VIP %s, %s, created %s; %s\n", r.Mode, r.VIP, state, r.Created.Format("2006-01-02 15:04:05Z"), where)
	} else {
		fmt.Fprintf(w, "testbed %s: %s\n", r.Prefix, where)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, ns := range r.Namespaces {
		if !ns.Exists {
			fmt.Fprintf(tw, "  %s\tmissing\n", ns.Name)
			continue
		}
		name := ns.Name
		for _, l := range ns.Links {
			if l.Name == "lo" && len(l.Addrs) <= 1 {
				continue
			}
			state := "down"
			if l.Up {
				state = "up"
			}
			var extra []string
			if l.Master != "" {
				extra = append(extra, "master "+l.Master)
			}
			extra = append(extra, l.Addrs...)
			if l.Offloads != nil {
				extra = append(extra, "offloads "+l.Offloads.String())
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s %s mtu %d\t%s\n", name, l.Name, l.Kind, state, l.MTU, strings.Join(extra, ", "))
			name = ""
		}
		for _, rt := range ns.Routes {
			if strings.HasPrefix(rt, "default") {
				fmt.Fprintf(tw, "  %s\troute\t%s\t\n", name, rt)
				name = ""
			}
		}
		for _, n := range ns.Neighbours {
			fmt.Fprintf(tw, "  %s\tneighbour\t%s\t\n", name, n)
			name = ""
		}
	}
	tw.Flush()
	for _, p := range r.Procs {
		state := "dead"
		if p.Alive {
			state = "alive"
		}
		fmt.Fprintf(w, "  process %d %s in %s: %s\n", p.PID, state, p.NS, p)
	}
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
			w := cmd.OutOrStdout()
			if tf.runDir != "" {
				r, err := testbed.Down(tf.runDir)
				printRemoved(w, r)
				return err
			}
			dirs, err := testbed.RunDirs(tf.root)
			if err != nil {
				return err
			}
			if prefix == "" {
				switch len(dirs) {
				case 0:
					// Idempotent: nothing of this root is left. Testbeds
					// made elsewhere (another --root, or whose run
					// directory is gone) are named, not touched.
					fmt.Fprintf(w, "no testbed under %s: nothing to do\n", tf.root)
					if ps, err := testbed.Prefixes(); err == nil && len(ps) > 0 {
						fmt.Fprintf(cmd.ErrOrStderr(), "testbed down: testbeds %s exist without a run directory under %s: remove them with --prefix or --all\n",
							strings.Join(ps, ", "), tf.root)
					}
					return nil
				case 1:
					r, err := testbed.Down(dirs[0])
					printRemoved(w, r)
					return err
				default:
					return fmt.Errorf("testbed down: %d testbeds under %s (%s): name one with --run-dir or --prefix, or use --all",
						len(dirs), tf.root, strings.Join(dirs, ", "))
				}
			}
			// By prefix: run directories first (so their state files go too),
			// then whatever else carries a matching prefix.
			total := &testbed.Removed{}
			for _, d := range dirs {
				st, err := testbed.LoadState(d)
				if err != nil {
					return err
				}
				if ok, err := path.Match(prefix, st.Prefix); err != nil {
					return fmt.Errorf("--prefix %q: %w", prefix, err)
				} else if ok {
					r, err := testbed.Down(d)
					merge(total, r)
					if err != nil {
						printRemoved(w, total)
						return err
					}
				}
			}
			r, err := testbed.DownPrefix(prefix)
			merge(total, r)
			printRemoved(w, total)
			return err
		},
	}
	cmd.Flags().StringVar(&prefix, "prefix", "", "every testbed whose prefix matches this glob")
	cmd.Flags().BoolVar(&all, "all", false, "every testbed on the machine")
	return cmd
}

func merge(total, r *testbed.Removed) {
	if r == nil {
		return
	}
	for _, p := range r.Prefixes {
		if !slices.Contains(total.Prefixes, p) {
			total.Prefixes = append(total.Prefixes, p)
		}
	}
	total.Procs = append(total.Procs, r.Procs...)
	total.Namespaces = append(total.Namespaces, r.Namespaces...)
	total.Links = append(total.Links, r.Links...)
}

func printRemoved(w io.Writer, r *testbed.Removed) {
	if r == nil {
		return
	}
	if r.Empty() {
		fmt.Fprintln(w, "nothing to do")
		return
	}
	fmt.Fprintf(w, "removed testbed %s: %d processes stopped, %d namespaces deleted", strings.Join(r.Prefixes, ", "), len(r.Procs), len(r.Namespaces))
	if len(r.Links) > 0 {
		fmt.Fprintf(w, ", %d root links deleted (%s)", len(r.Links), strings.Join(r.Links, " "))
	}
	fmt.Fprintln(w)
	if len(r.Namespaces) > 0 {
		fmt.Fprintf(w, "  %s\n", strings.Join(r.Namespaces, " "))
	}
}
