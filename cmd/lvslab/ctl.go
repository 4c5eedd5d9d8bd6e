package main

// "lvslab ctl": the director's admin client, with ipvsadm's verbs and
// options.

import (
	"fmt"
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

// request builds the verb's request from the flags given.
func (f *ctlFlags) request(c *cobra.Command, verb string, args []string) (ctl.Request, error) {
	fl := c.Flags()
	a := ctl.Args{TCP: f.tcp, UDP: f.udp, Scheduler: f.sched, Netmask: f.netmask, Name: f.name,
		ServiceOptions: fl.Lookup("scheduler") != nil, ServerOptions: fl.Lookup("real-server") != nil,
		Real: f.real, DR: f.dr, Tun: f.tun, NAT: f.nat}
	if fl.Changed("mode") || verb == ctl.VerbAddService {
		a.Mode = &f.mode
	}
	if fl.Changed("persistent") {
		v := f.persist
		if len(args) == 1 && v == fl.Lookup("persistent").NoOptDefVal {
			v, args = args[0], nil // "-p 600": ipvsadm's spelling
		}
		a.Persistent = &v
	}
	if len(args) > 0 {
		return ctl.Request{}, fmt.Errorf("unexpected argument %q", args[0])
	}
	for _, o := range []struct {
		flag string
		v    *int
		p    **int
	}{{"weight", &f.weight, &a.Weight}, {"u-threshold", &f.upper, &a.Upper}, {"l-threshold", &f.lower, &a.Lower}} {
		if verb == ctl.VerbAddServer || fl.Changed(o.flag) {
			*o.p = o.v
		}
	}
	return a.Request(verb)
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
	format := ctl.Format{Stats: f.stats, Rate: f.rate, Thresholds: f.threshold, Exact: f.exact}
	return ctl.WriteResponse(c.OutOrStdout(), req, resp, format, f.json, time.Now())
}
