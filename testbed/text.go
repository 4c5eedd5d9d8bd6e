package testbed

// Text for people: what Up made, what Status found, what Down removed, and
// the lookups of the testbed commands.

import (
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"text/tabwriter"
)

// WriteLayout lists what Up made: namespaces, addresses, routes, VIP.
func (tb *Testbed) WriteLayout(w io.Writer) {
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
		if n.Role == RoleDirector && *tb.Topology.VIPOnDirector {
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

// Reports gathers the reports of "testbed status": the testbed of runDir,
// or the one with prefix, or every testbed found (those with a run
// directory under root, and the namespaces of testbeds whose run directory
// is gone).
func Reports(root, runDir, prefix string) ([]*Report, error) {
	if runDir != "" && prefix != "" {
		return nil, errors.New("testbed status: --run-dir and --prefix exclude each other")
	}
	if prefix != "" {
		if err := ValidPrefix(prefix); err != nil {
			return nil, fmt.Errorf("--prefix %w", err)
		}
	}
	if runDir != "" {
		r, err := Status(runDir)
		if err != nil {
			return nil, err
		}
		return []*Report{r}, nil
	}
	dirs, err := RunDirs(root)
	if err != nil {
		return nil, err
	}
	var reports []*Report
	seen := map[string]bool{}
	for _, d := range dirs {
		r, err := Status(d)
		if err != nil {
			return nil, err
		}
		if prefix == "" || r.Prefix == prefix {
			reports = append(reports, r)
		}
		seen[r.Prefix] = true
	}
	prefixes, err := Prefixes()
	if err != nil {
		return nil, err
	}
	for _, p := range prefixes {
		if !seen[p] && (prefix == "" || p == prefix) {
			r, err := StatusPrefix(p)
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

// WriteText writes the report for people: the testbed, then a line per
// link, route and neighbour of each namespace, and its processes.
func (r *Report) WriteText(w io.Writer) {
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

// Merge adds what r removed to total.
func (total *Removed) Merge(r *Removed) {
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

// WriteText says what was removed ("nothing to do" if nothing).
func (r *Removed) WriteText(w io.Writer) {
	if r == nil {
		return
	}
	if r.Empty() {
		fmt.Fprintln(w, "nothing to do")
		if len(r.Orphans) > 0 {
			fmt.Fprintf(w, "testbeds %s exist without a run directory here: remove them with --prefix or --all\n", strings.Join(r.Orphans, ", "))
		}
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

// DownUnder removes testbeds found from root: every testbed whose prefix
// matches the glob pattern (those with a run directory first, so their
// state files go too, then whatever else carries a matching prefix), or,
// with pattern "", the only testbed under root.
func DownUnder(root, pattern string) (*Removed, error) {
	dirs, err := RunDirs(root)
	if err != nil {
		return nil, err
	}
	if pattern == "" {
		switch len(dirs) {
		case 0:
			// Idempotent: nothing of this root is left. Testbeds made
			// elsewhere (another root, or whose run directory is gone) are
			// named, not touched.
			ps, _ := Prefixes()
			return &Removed{Orphans: ps}, nil
		case 1:
			return Down(dirs[0])
		default:
			return nil, fmt.Errorf("testbed down: %d testbeds under %s (%s): name one with --run-dir or --prefix, or use --all",
				len(dirs), root, strings.Join(dirs, ", "))
		}
	}
	total := &Removed{}
	for _, d := range dirs {
		st, err := LoadState(d)
		if err != nil {
			return total, err
		}
		if ok, err := path.Match(pattern, st.Prefix); err != nil {
			return total, fmt.Errorf("--prefix %q: %w", pattern, err)
		} else if ok {
			r, err := Down(d)
			total.Merge(r)
			if err != nil {
				return total, err
			}
		}
	}
	r, err := DownPrefix(pattern)
	total.Merge(r)
	return total, err
}
