package main

// "lvslab ctl": the director's admin client, with ipvsadm's verbs and
// options.

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/lvslab/lvslab/dataplane/ctl"
	"github.com/lvslab/lvslab/dataplane/director"
)

func init() { subcommands = append(subcommands, newCtlCmd) }

// ctlFlags are the options of every ctl verb; each verb registers those
// it takes.
type ctlFlags struct {
	socket string

	tcp, udp  string // -t, -u
	sched     string // -s
	persist   string // -p [timeout]
	netmask   string // -M
	mode      string
	name      string
	real      string // -r
	dr, tun   bool   // -g, -i
	nat       bool   // -m
	weight    int    // -w
	upper     int    // -x
	lower     int    // -y
	numeric   bool   // -n
	stats     bool
	rate      bool
	exact     bool
	threshold bool
	json      bool
}

func newCtlCmd() *cobra.Command {
	f := &ctlFlags{}
	cmd := &cobra.Command{
		Use:   "ctl VERB [options]",
		Short: "Administer a running director (ipvsadm's verbs: list, add-server, edit-server, ...)",
		Long: `Administer a running "lvslab director" through its admin socket (--ctl of
the director; mode 0600, so only its user may connect). Changes apply at once,
without a restart. Verbs and options follow ipvsadm:

  list             [-t|-u VIP:PORT] [-n] [--stats] [--rate] [--thresholds] [--exact] [--json]
  add-service      -t VIP:PORT [-s SCHEDULER] [--mode l7] [--name NAME]
  edit-service     -t VIP:PORT -s SCHEDULER
  delete-service   -t VIP:PORT
  add-server       -t VIP:PORT -r RIP:PORT [-g|-i|-m] [-w WEIGHT] [-x UPPER] [-y LOWER] [--name NAME]
  edit-server      -t VIP:PORT -r RIP:PORT [-w WEIGHT] [-x UPPER] [-y LOWER]
  delete-server    -t VIP:PORT -r RIP:PORT
  zero             [-t|-u VIP:PORT]
  health           [-t|-u VIP:PORT] [--json]

A layer-7 service's VIP:PORT is its listen address. list prints what
ipvsadm -L -n prints, with the same columns; with both --stats and --rate it
prints both tables. Rates are averaged every 2 s as the kernel's IPVS does.
For a layer-7 service Conns counts requests, InBytes the bytes relayed to the
back ends and OutBytes those received from them; packets are not measured
(0), ActiveConn is the requests in service and InActConn 0.
edit-server -w 0 quiesces a server: no new requests, those in progress
finish. A server that a health check took out with inhibit keeps weight 0
until it passes again, then gets the last weight set.`,
		Example: `  lvslab ctl list -n --stats --rate
  lvslab ctl add-server -t 127.0.0.1:8080 -r 127.0.0.1:8083 -w 2
  lvslab ctl edit-server -t 127.0.0.1:8080 -r 127.0.0.1:8081 -w 0
  lvslab ctl delete-server -t 127.0.0.1:8080 -r 127.0.0.1:8083
  lvslab ctl health`,
		Args: cobra.NoArgs,
	}
	cmd.PersistentFlags().StringVar(&f.socket, "socket", ctl.DefaultSocket(), "the director's admin socket (its --ctl)")

	service := func(fl *pflag.FlagSet) {
		fl.StringVarP(&f.tcp, "tcp-service", "t", "", "TCP virtual service VIP:PORT")
		fl.StringVarP(&f.udp, "udp-service", "u", "", "UDP virtual service VIP:PORT")
	}
	server := func(fl *pflag.FlagSet, edit bool) {
		fl.StringVarP(&f.real, "real-server", "r", "", "real server RIP:PORT")
		fl.IntVarP(&f.weight, "weight", "w", 1, "weight (0 quiesces)")
		fl.IntVarP(&f.upper, "u-threshold", "x", 0, "upper connection threshold (0: none)")
		fl.IntVarP(&f.lower, "l-threshold", "y", 0, "lower connection threshold")
		fl.BoolVarP(&f.dr, "gatewaying", "g", false, "direct routing (layer-4 services)")
		fl.BoolVarP(&f.tun, "ipip", "i", false, "IP-in-IP tunnelling (layer-4 services)")
		fl.BoolVarP(&f.nat, "masquerading", "m", false, "NAT (layer-4 services)")
		if !edit {
			fl.StringVar(&f.name, "name", "", "server name (as a rules file names it)")
		}
	}
	sched := func(fl *pflag.FlagSet) {
		fl.StringVarP(&f.sched, "scheduler", "s", "", "scheduler (see \"lvslab algorithms\"; add-service default wlc)")
		fl.StringVarP(&f.persist, "persistent", "p", "", "persistence timeout in seconds (-p alone: 300)")
		fl.Lookup("persistent").NoOptDefVal = "300"
		fl.StringVarP(&f.netmask, "netmask", "M", "", "persistence granularity mask")
	}
	verb := func(name, short string, args cobra.PositionalArgs, flags func(*pflag.FlagSet)) *cobra.Command {
		c := &cobra.Command{Use: name, Short: short, Args: args,
			RunE: func(c *cobra.Command, args []string) error { return f.run(c, name, args) }}
		flags(c.Flags())
		return c
	}
	cmd.AddCommand(
		verb(ctl.VerbList, "List the services and real servers (ipvsadm -L -n)", cobra.NoArgs, func(fl *pflag.FlagSet) {
			service(fl)
			fl.BoolVarP(&f.numeric, "numeric", "n", false, "numeric addresses (always; for ipvsadm's habit)")
			fl.BoolVar(&f.stats, "stats", false, "counters: Conns InPkts OutPkts InBytes OutBytes")
			fl.BoolVar(&f.rate, "rate", false, "rates: CPS InPPS OutPPS InBPS OutBPS")
			fl.BoolVar(&f.threshold, "thresholds", false, "thresholds and connection counts")
			fl.BoolVar(&f.exact, "exact", false, "numbers in full (no K, M, G)")
			fl.BoolVar(&f.json, "json", false, "everything as JSON")
		}),
		verb(ctl.VerbAddService, "Add a virtual service (ipvsadm -A)", cobra.MaximumNArgs(1), func(fl *pflag.FlagSet) {
			service(fl)
			sched(fl)
			fl.StringVar(&f.mode, "mode", "l7", "service kind: "+director.Modes)
			fl.StringVar(&f.name, "name", "", "service name for logs")
		}),
		verb(ctl.VerbEditService, "Change a virtual service's scheduler (ipvsadm -E)", cobra.MaximumNArgs(1), func(fl *pflag.FlagSet) {
			service(fl)
			sched(fl)
		}),
		verb(ctl.VerbDeleteService, "Delete a virtual service (ipvsadm -D)", cobra.NoArgs, service),
		verb(ctl.VerbAddServer, "Add a real server (ipvsadm -a)", cobra.NoArgs, func(fl *pflag.FlagSet) { service(fl); server(fl, false) }),
		verb(ctl.VerbEditServer, "Change a real server's weight or thresholds (ipvsadm -e)", cobra.NoArgs, func(fl *pflag.FlagSet) { service(fl); server(fl, true) }),
		verb(ctl.VerbDeleteServer, "Delete a real server (ipvsadm -d)", cobra.NoArgs, func(fl *pflag.FlagSet) {
			service(fl)
			fl.StringVarP(&f.real, "real-server", "r", "", "real server RIP:PORT")
		}),
		verb(ctl.VerbZero, "Zero the counters of one service or all (ipvsadm -Z)", cobra.NoArgs, service),
		verb(ctl.VerbHealth, "Show the health checks' state", cobra.NoArgs, func(fl *pflag.FlagSet) {
			service(fl)
			fl.BoolVar(&f.json, "json", false, "as JSON")
		}),
	)
	return cmd
}

// request builds the verb's request from the flags.
func (f *ctlFlags) request(c *cobra.Command, verb string, args []string) (ctl.Request, error) {
	req := ctl.Request{Verb: verb}
	changed := c.Flags().Changed
	switch {
	case f.tcp != "" && f.udp != "":
		return req, errors.New("give -t or -u, not both")
	case f.tcp != "" || f.udp != "":
		k := ctl.Key{Proto: ctl.TCP}
		v, flag := f.tcp, "-t"
		if f.udp != "" {
			k.Proto, v, flag = ctl.UDP, f.udp, "-u"
		}
		ap, err := netip.ParseAddrPort(v)
		if err != nil {
			return req, fmt.Errorf("%s %q: want ADDRESS:PORT", flag, v)
		}
		k.Addr = ap
		req.Service = &ctl.ServiceSpec{Key: k}
	}
	if c.Flags().Lookup("scheduler") != nil && req.Service != nil {
		req.Service.Scheduler = f.sched
		req.Service.Netmask = f.netmask
		if changed("mode") || verb == ctl.VerbAddService {
			req.Service.Mode = f.mode
		}
		req.Service.Name = f.name
		if changed("persistent") {
			v := f.persist
			if len(args) == 1 && v == c.Flags().Lookup("persistent").NoOptDefVal {
				v = args[0] // "-p 600": ipvsadm's spelling
				args = nil
			}
			secs, err := strconv.Atoi(v)
			if err != nil || secs < 0 {
				return req, fmt.Errorf("-p %q: want a timeout in seconds", v)
			}
			d := time.Duration(secs) * time.Second
			req.Service.Persistence = &d
		}
	}
	if len(args) > 0 {
		return req, fmt.Errorf("unexpected argument %q", args[0])
	}
	if c.Flags().Lookup("real-server") != nil {
		if f.real == "" {
			return req, errors.New("-r RIP:PORT is required")
		}
		ap, err := netip.ParseAddrPort(f.real)
		if err != nil {
			return req, fmt.Errorf("-r %q: want ADDRESS:PORT", f.real)
		}
		srv := &ctl.ServerSpec{Addr: ap, Name: f.name}
		n := 0
		for _, m := range []struct {
			set  bool
			name string
		}{{f.dr, ctl.ForwardDR}, {f.tun, ctl.ForwardTun}, {f.nat, ctl.ForwardNAT}} {
			if m.set {
				srv.Forward = m.name
				n++
			}
		}
		if n > 1 {
			return req, errors.New("give one of -g, -i and -m")
		}
		if verb == ctl.VerbAddServer || changed("weight") {
			srv.Weight = &f.weight
		}
		if verb == ctl.VerbAddServer || changed("u-threshold") {
			srv.Upper = &f.upper
		}
		if verb == ctl.VerbAddServer || changed("l-threshold") {
			srv.Lower = &f.lower
		}
		req.Server = srv
	}
	if req.Service == nil {
		switch verb {
		case ctl.VerbList, ctl.VerbZero, ctl.VerbHealth:
		default:
			return req, fmt.Errorf("%s: name the service with -t VIP:PORT", verb)
		}
	}
	return req, nil
}

func (f *ctlFlags) run(c *cobra.Command, verb string, args []string) error {
	req, err := f.request(c, verb, args)
	if err != nil {
		return err
	}
	cl, err := ctl.Dial(f.socket)
	if err != nil {
		return err
	}
	defer cl.Close()
	resp, err := cl.Do(req)
	if err != nil {
		return err
	}
	out := c.OutOrStdout()
	switch {
	case (verb == ctl.VerbList || verb == ctl.VerbHealth) && f.json:
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(resp.Services)
	case verb == ctl.VerbList:
		return ctl.WriteList(out, resp.Services, ctl.Format{Stats: f.stats, Rate: f.rate, Thresholds: f.threshold, Exact: f.exact, One: req.Service != nil})
	case verb == ctl.VerbHealth:
		return ctl.WriteHealth(out, resp.Services, time.Now())
	}
	return nil
}
