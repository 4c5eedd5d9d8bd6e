package ctl

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/lvslab/lvslab/internal/version"
)

// Format selects list's columns, as ipvsadm's list options do.
type Format struct {
	Stats      bool // --stats: Conns InPkts OutPkts InBytes OutBytes
	Rate       bool // --rate: CPS InPPS OutPPS InBPS OutBPS
	Thresholds bool // --thresholds: Uthreshold Lthreshold ActiveConn InActConn
	Exact      bool // --exact: numbers in full, not abbreviated with K, M, G, T
	// One is true when one service was asked for (-t): ipvsadm then prints
	// no version line.
	One bool
}

// Title is the first line of a full listing, in place of ipvsadm's "IP
// Virtual Server version 1.2.1 (size=4096)".
var Title = "IP Virtual Server: lvslab " + version.Version + " (user space)"

// WriteList prints services as ipvsadm -L -n prints them, with the same
// headers and column widths. With both Stats and Rate it prints the
// statistics table and then the rates table (ipvsadm prints only the
// first). Addresses are always numeric (-n).
func WriteList(w io.Writer, svcs []ServiceInfo, f Format) error {
	bw := bufio.NewWriter(w)
	if !f.One {
		fmt.Fprintln(bw, Title)
	}
	switch {
	case f.Stats || f.Rate:
		if f.Stats {
			writeTable(bw, svcs, f, false)
		}
		if f.Rate {
			writeTable(bw, svcs, f, true)
		}
	case f.Thresholds:
		fmt.Fprintf(bw, "%-33s %-10s %-10s %-10s %-10s\n  -> RemoteAddress:Port\n",
			"Prot LocalAddress:Port", "Uthreshold", "Lthreshold", "ActiveConn", "InActConn")
		for _, s := range svcs {
			fmt.Fprintln(bw, serviceLine(s))
			for _, d := range s.Servers {
				fmt.Fprintf(bw, "  -> %-28s %-10d %-10d %-10d %-10d\n", destName(d), d.Upper, d.Lower, d.Active, d.Inactive)
			}
		}
	default:
		fmt.Fprint(bw, "Prot LocalAddress:Port Scheduler Flags\n"+
			"  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n")
		for _, s := range svcs {
			fmt.Fprintln(bw, serviceLine(s))
			for _, d := range s.Servers {
				fmt.Fprintf(bw, "  -> %-28s %-7s %-6d %-10d %-10d\n", destName(d), ForwardName(d.Forward), d.Weight, d.Active, d.Inactive)
			}
		}
	}
	return bw.Flush()
}

// writeTable prints the statistics (rate false) or rates table.
func writeTable(w *bufio.Writer, svcs []ServiceInfo, f Format, rate bool) {
	cols := [5]string{"Conns", "InPkts", "OutPkts", "InBytes", "OutBytes"}
	if rate {
		cols = [5]string{"CPS", "InPPS", "OutPPS", "InBPS", "OutBPS"}
	}
	fmt.Fprintf(w, "%-33s %8s %8s %8s %8s %8s\n  -> RemoteAddress:Port\n", "Prot LocalAddress:Port", cols[0], cols[1], cols[2], cols[3], cols[4])
	for _, s := range svcs {
		name := s.Key.String()
		if s.Addr.Addr().Is4() && len(name) > 33 {
			name = name[:33]
		}
		fmt.Fprintf(w, "%-33s", name)
		if rate {
			for _, v := range []uint64{s.Rates.CPS, s.Rates.InPPS, s.Rates.OutPPS, s.Rates.InBPS, s.Rates.OutBPS} {
				w.WriteString(largeNum(v, f.Exact))
			}
		} else {
			for _, v := range []uint64{s.Stats.Conns, s.Stats.InPkts, s.Stats.OutPkts, s.Stats.InBytes, s.Stats.OutBytes} {
				w.WriteString(largeNum(v, f.Exact))
			}
		}
		w.WriteByte('\n')
		for _, d := range s.Servers {
			fmt.Fprintf(w, "  -> %-28s", destName(d))
			if rate {
				fmt.Fprintf(w, " %8d %8d %8d", d.Rates.CPS, d.Rates.InPPS, d.Rates.OutPPS)
				w.WriteString(largeNum(d.Rates.InBPS, f.Exact))
				w.WriteString(largeNum(d.Rates.OutBPS, f.Exact))
			} else {
				for _, v := range []uint64{d.Stats.Conns, d.Stats.InPkts, d.Stats.OutPkts, d.Stats.InBytes, d.Stats.OutBytes} {
					w.WriteString(largeNum(v, f.Exact))
				}
			}
			w.WriteByte('\n')
		}
	}
}

// serviceLine is the service's line of the plain listing: "TCP  addr
// sched" and its persistence flags.
func serviceLine(s ServiceInfo) string {
	line := s.Key.String() + " " + s.Scheduler
	if s.Persistence > 0 {
		line += " persistent " + strconv.FormatInt(int64(s.Persistence/time.Second), 10)
		if s.Netmask != "" && s.Netmask != "255.255.255.255" && s.Netmask != "128" {
			line += " mask " + s.Netmask
		}
	}
	return line
}

// destName is a real server's address as ipvsadm prints it, cut at 28
// characters for IPv4 as ipvsadm does.
func destName(d ServerInfo) string {
	n := d.Addr.String()
	if d.Addr.Addr().Is4() && len(n) > 28 {
		n = n[:28]
	}
	return n
}

// largeNum formats a counter in a 9-character column as ipvsadm does:
// in full below 100 million, then in thousands (K), millions (M), billions
// (G) or trillions (T), truncated; exact prints every digit and widens
// the column when needed.
func largeNum(v uint64, exact bool) string {
	if exact {
		s := strconv.FormatUint(v, 10)
		return fmt.Sprintf("%*s", max(9, len(s)+1), s)
	}
	switch {
	case v < 100_000_000:
		return fmt.Sprintf("%9d", v)
	case v < 1_000_000_000:
		return fmt.Sprintf("%8dK", v/1_000)
	case v < 100_000_000_000:
		return fmt.Sprintf("%8dM", v/1_000_000)
	case v < 100_000_000_000_000:
		return fmt.Sprintf("%8dG", v/1_000_000_000)
	}
	return fmt.Sprintf("%8dT", v/1_000_000_000_000)
}

// WriteResponse prints the answer resp to req as "lvslab ctl" does: for
// list, the listing in format f (f.One set when req names a service), for
// health the checks' state at now, either as indented JSON with asJSON;
// for the other verbs nothing.
func WriteResponse(w io.Writer, req Request, resp Response, f Format, asJSON bool, now time.Time) error {
	switch {
	case req.Verb != VerbList && req.Verb != VerbHealth:
		return nil
	case asJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(resp.Services)
	case req.Verb == VerbList:
		f.One = req.Service != nil
		return WriteList(w, resp.Services, f)
	}
	return WriteHealth(w, resp.Services, now)
}

// WriteHealth prints the health checks' state of the services' servers.
// now gives the age of each state.
func WriteHealth(w io.Writer, svcs []ServiceInfo, now time.Time) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "Prot LocalAddress:Port")
	fmt.Fprintf(bw, "  -> %-28s %-5s %-8s %-9s %8s %8s  %s\n", "RemoteAddress:Port", "State", "Count", "For", "Checks", "Failed", "LastError (Check, on failure)")
	for _, s := range svcs {
		fmt.Fprintln(bw, s.Key.String())
		for _, d := range s.Servers {
			h := d.Health
			if h == nil {
				fmt.Fprintf(bw, "  -> %-28s %-5s %-8s %-9s %8s %8s  %s\n", destName(d), "-", "-", "-", "-", "-", "not checked")
				continue
			}
			state, count := "UP", fmt.Sprintf("%d/%d", h.Failures, h.Fall)
			if !h.Up {
				state, count = "DOWN", fmt.Sprintf("%d/%d", h.Successes, h.Rise)
			}
			age := now.Sub(h.Since).Truncate(time.Second)
			last := h.LastError
			if last == "" {
				last = "-"
			}
			if h.Observed > 0 {
				last += fmt.Sprintf(" [%d errors on live traffic]", h.Observed)
			}
			fmt.Fprintf(bw, "  -> %-28s %-5s %-8s %-9s %8d %8d  %s (%s, on failure %s)\n", destName(d), state, count, age, h.Checks, h.Failed, last, h.Check, h.OnFailure)
		}
	}
	return bw.Flush()
}
