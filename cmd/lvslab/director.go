package main

// "lvslab director": the live director. Mode l7 runs the layer-7 content
// switch; the layer-4 modes (nat, tun, dr) forward packets as IPVS does.
// The services file, the services, their health checks, load monitors and
// admin socket are package dataplane/director's.

import (
	"errors"
	"fmt"
	"net/netip"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/dataplane/ctl"
	"github.com/lvslab/lvslab/dataplane/director"
	"github.com/lvslab/lvslab/dataplane/l4/live"
	"github.com/lvslab/lvslab/dataplane/l7"
)

func init() { subcommands = append(subcommands, newDirectorCmd) }

type directorFlags struct {
	file          string
	mode          string
	listen        string
	backends      []string
	alg           string
	loops         int
	rules         string
	clientTimeout time.Duration
	ctl           string
	interfaces    []string
	xdp           string
}

func newDirectorCmd() *cobra.Command {
	var f directorFlags
	cmd := &cobra.Command{
		Use:   "director (-f services.yaml | [--mode l7|nat|tun|dr] --listen ADDR:PORT --backend ADDR:PORT[:WEIGHT]...)",
		Short: "Run a live director: the layer-7 content switch (l7) or the layer-4 IPVS (nat, tun, dr)",
		Long: `Run a live director in the foreground until SIGINT or SIGTERM, which stop it
gracefully (no new connections; requests in flight finish, for at most 10 s).

Mode l7 is a layer-7 content switch (KTCPVS in user space): it parses every
HTTP/1.x request, schedules it with any registered scheduler (the locality key
of lblc/lblcr is the URL target up to '?'; '?' or cgi-bin requests cost 2), and
relays it over keep-alive connections to the back ends, so the requests of one
client connection may go to different back ends, answered in order. Optional
TCPHA-style content rules ("rule = <server> <regex>", first match wins, a
catch-all ".*" last) restrict each request to its rule's servers.

Modes nat, tun and dr are the layer-4 director, a user-space IPVS: it reads
the frames for the VIP (listen: VIP:PORT) on the namespace's interfaces
(packet sockets; --interface, default every Ethernet interface that is up
with an IPv4 address), schedules the first packet of each TCP or UDP
connection, and forwards it by VS/NAT (the real server's address and port
written in, its replies' source written back; the real servers' default
route must be this director), VS/TUN (IP-in-IP to the real server, which
decapsulates: "lvslab tunnel-agent") or VS/DR (only the MAC address changes;
the real server holds the VIP on lo and does not answer ARP for it). The
kernel of this namespace must not own the VIP nor forward (ip_forward=0),
and offloads must be off: "lvslab testbed up" makes such namespaces. The
director answers ARP for the VIPs. The mode is the real servers' default
method (ipvsadm -m, -i, -g); a server's own mode: overrides it.

--xdp on|auto attaches an XDP program to each interface that forwards the
packets of established DR connections in the kernel (MAC rewrite, TTL,
XDP_TX); the director still schedules every new connection and sees every
SYN, FIN and RST, installs a connection when it becomes ESTABLISHED and
removes it when it ends. "on" fails if the program cannot attach, "auto"
logs it and forwards in user space; off is the default. On veth the
program's transmits reach the peer only if the peer has an XDP program too
(the testbed's xdp_peer: true), and clients' frames must carry full
checksums (offloads off, as above).

One service from flags, or any number from a YAML file:

  services:
    - name: web                 # for logs (default: the listen address)
      listen: 127.0.0.1:8080
      mode: l7
      scheduler: lblc           # see "lvslab algorithms"
      options: {low: 30, high: 60, seed: 1}   # scheduler options
      rules: rules.conf         # optional; relative to this file
      loops: 2                  # listeners (default: GOMAXPROCS)
      max_idle: 64              # idle back-end connections kept per back end
      timeouts: {client: 10s, connect: 3s, backend: 30s}
      health: {type: http, path: /health, status: 200-299, interval: 2s, rise: 2, fall: 3, on_failure: inhibit}
      servers:
        - {name: rs1, address: 127.0.0.1:8081, weight: 1}
        - {name: rs2, address: 127.0.0.1:8082, weight: 2, upper: 100, lower: 50,
           health: {path: /ping}}       # refines the service's check for this server
    - name: vip                 # a layer-4 service
      listen: 198.18.0.254:80   # the VIP and port
      mode: dr                  # nat, tun or dr: the servers' default method
      protocol: tcp             # or udp
      scheduler: wlc
      persistence: 300s         # ipvsadm -p (default 0: none)
      netmask: 255.255.255.0    # ipvsadm -M: clients grouped for persistence
      servers:
        - {address: 198.18.0.11:80}
        - {address: 198.18.0.12:80, mode: tun}  # this server by IP-in-IP

The layer-7 keys (rules, loops, max_idle, timeouts) are not for layer-4
services, nor protocol, persistence and netmask for layer-7 ones. A nat
server may listen on another port; a dr or tun server listens on the VIP's
port (its address's port is that one, or 0).

Options are the scheduler's, spelt as everywhere (` + "`" + `lvslab schedule --help` + "`" + ` lists
them): ` + strings.Join(algorithms.OptionNames(), ", ") + `. A list is written
[a, b] or "a,b"; classes and near number servers from 0 in file order.
Unknown keys are errors.
In a rules file a server is named by its name, or by its address when it has
none. Logs go to standard error; on exit the event counters are printed there.

Health checks (health:, per service and refined per server): type tcp
(default) or http (GET path; status codes and ranges, default 200-299; expect:
a body substring), port (default the server's), interval (default 2s),
fast_interval (while the state is changing; default interval), timeout
(default interval), rise (successes to come back, default 2), fall (failures
to go down, default 3), initial up|down, on_failure remove (marked down, the
default) or inhibit (weight 0, the administrator's weight restored on return).
Mode l7 only: observe layer4 (default none) also counts the switch's own
connections to a server (refused, timed out, or closed before answering: an
error; answered: the count restarts); error_limit consecutive errors (default
10) apply on_error: fastinter, fail-check (default), sudden-death or
mark-down, as HAProxy's observe and on-error do.
Servers without a health block are not checked.

DFLB's load monitor (monitor:, with scheduler dflb): {path: /lvslab/load,
port: 0, interval: 5s, timeout: 1s, window: 12} polls each back end's JSON
load report (active, cpu_util, disk_util, cpu_queue, disk_queue, served) and
feeds the scheduler; a back end that does not answer gets weight 0 until it
does.

The admin socket (--ctl, mode 0600) takes "lvslab ctl" commands: services
and real servers are added, re-weighted and deleted without a restart, and
listed as ipvsadm lists them. A live socket at the path is refused (another
director); a stale one is replaced.`,
		Example: `  lvslab director --mode l7 --listen 127.0.0.1:8080 --backend 127.0.0.1:8081 --backend 127.0.0.1:8082:2 --alg wlc
  lvslab director -f services.yaml
  lvslab director --mode dr --listen 198.18.0.254:80 --backend 198.18.0.11:80 --backend 198.18.0.12:80 --alg rr
  lvslab director -f dr.yaml --xdp on   # established DR connections forwarded by an XDP program
  lvslab director -f services.yaml --ctl /tmp/lvslab.sock   # then: lvslab ctl --socket /tmp/lvslab.sock list -n`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			svcs, err := f.services(cmd)
			if err != nil {
				return err
			}
			xdp, err := live.ParseXDPMode(f.xdp)
			if err != nil {
				return fmt.Errorf("--xdp: %w", err)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return director.Run(ctx, svcs, cmd.ErrOrStderr(), director.Options{Ctl: f.ctl, Loops: f.loops, Interfaces: f.interfaces, XDP: xdp})
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.file, "file", "f", "", "services file (YAML)")
	fl.StringVar(&f.mode, "mode", "l7", "forwarding mode of the --listen service: "+director.Modes)
	fl.StringVar(&f.listen, "listen", "", "listen address of a single l7 service, ADDRESS:PORT")
	fl.StringArrayVar(&f.backends, "backend", nil, "a real server ADDRESS:PORT[:WEIGHT] (repeat for each)")
	fl.StringVar(&f.alg, "alg", "wlc", "scheduler (see \"lvslab algorithms\")")
	fl.IntVar(&f.loops, "loops", runtime.GOMAXPROCS(0), "listeners (SO_REUSEPORT), one per core")
	fl.StringVar(&f.rules, "rules", "", "content rules file (rule = <server> <regex>)")
	fl.Var(&l7.DefaultEngine, "engine", "how the l7 switch runs connections: epoll (an event loop per listener, Linux) or goroutine (one per connection)")
	fl.DurationVar(&f.clientTimeout, "client-timeout", l7.DefaultClientTimeout, "time a client has to send a complete request head (408 after it)")
	fl.StringVar(&f.ctl, "ctl", ctl.DefaultSocket(), "admin socket of \"lvslab ctl\" (mode 0600; \"\" for none)")
	fl.StringArrayVar(&f.interfaces, "interface", nil, "an interface the layer-4 services forward on (repeat for each; default every Ethernet interface up with an IPv4 address)")
	fl.StringVar(&f.xdp, "xdp", "off", "XDP fast path for established DR connections: on (fail if it cannot attach), auto (attach where possible, log where not) or off; on veth the peer needs an XDP program (testbed xdp_peer)")
	return cmd
}

// services resolves the flags into services.
func (f *directorFlags) services(cmd *cobra.Command) ([]director.Service, error) {
	if f.mode != "l7" && !director.Layer4(f.mode) {
		return nil, fmt.Errorf("--mode %q: unknown; want %s", f.mode, director.Modes)
	}
	quick := f.listen != "" || len(f.backends) > 0 || f.rules != "" ||
		cmd.Flags().Changed("alg") || cmd.Flags().Changed("client-timeout") || cmd.Flags().Changed("mode")
	if f.loops < 1 {
		return nil, fmt.Errorf("--loops %d: must be at least 1", f.loops)
	}
	if f.file != "" {
		if quick {
			return nil, errors.New("-f and --mode/--listen/--backend/--alg/--rules/--client-timeout exclude each other: put the service in the file")
		}
		return director.ReadServicesFile(f.file)
	}
	if f.listen == "" || len(f.backends) == 0 {
		return nil, errors.New("give -f services.yaml, or --listen ADDRESS:PORT and at least one --backend ADDRESS:PORT[:WEIGHT]")
	}
	if _, ok := algorithms.Lookup(f.alg); !ok {
		return nil, fmt.Errorf("--alg %q: unknown scheduler (known: %s)", f.alg, strings.Join(algorithms.Names(), ", "))
	}
	if f.clientTimeout <= 0 {
		return nil, fmt.Errorf("--client-timeout %v: must be positive", f.clientTimeout)
	}
	svc := director.Service{Name: f.listen, Listen: f.listen, Alg: f.alg, Rules: f.rules, Loops: f.loops, Where: "flags",
		Config: l7.Config{ClientTimeout: f.clientTimeout}}
	if director.Layer4(f.mode) {
		if f.rules != "" || cmd.Flags().Changed("client-timeout") {
			return nil, fmt.Errorf("--rules and --client-timeout are for --mode l7; --mode %s forwards packets", f.mode)
		}
		if vip, err := netip.ParseAddrPort(f.listen); err != nil || !vip.Addr().Is4() || vip.Addr().IsUnspecified() || vip.Port() == 0 {
			return nil, fmt.Errorf("--listen %q: want the VIP as IPv4 ADDRESS:PORT, port not 0", f.listen)
		}
		svc = director.Service{Name: f.listen, Mode: f.mode, Listen: f.listen, Alg: f.alg, Proto: "tcp", Where: "flags"}
	}
	for i, b := range f.backends {
		srv, err := director.ParseBackend(b, i)
		if err != nil {
			return nil, fmt.Errorf("--backend %w", err)
		}
		svc.Servers = append(svc.Servers, srv)
	}
	return []director.Service{svc}, nil
}
