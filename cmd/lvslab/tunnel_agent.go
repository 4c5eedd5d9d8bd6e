package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/lvslab/lvslab/dataplane/tunnel"
)

func init() { subcommands = append(subcommands, newTunnelAgentCmd) }

type tunnelAgentFlags struct {
	vips        []string
	dev         string
	mtu         int
	listenStats string
}

func newTunnelAgentCmd() *cobra.Command {
	var f tunnelAgentFlags
	cmd := &cobra.Command{
		Use:   "tunnel-agent --vip ADDRESS [--vip ADDRESS]... [--dev NAME] [--mtu N] [--listen-stats ADDR:PORT]",
		Short: "Decapsulate VS/TUN's IP-in-IP packets on a real server, in user space",
		Long: `Run on a VS/TUN real server, in the foreground until SIGINT or SIGTERM, the
decapsulation a kernel's ipip module would do: a raw socket for IP protocol 4
receives the director's IP-in-IP packets; each outer header must be addressed
to this host and each inner packet to one of the --vip addresses; the inner
packet is written to a TUN device (--dev), which hands it to the local stack,
and the reply goes from the VIP straight to the client.

The TUN device carries the VIPs as /32s and has rp_filter 0; if
net.ipv4.conf.all.rp_filter is 1 (strict) it is set to 2 (loose) while the
agent runs. On exit the device is removed and rp_filter restored. The VIPs
must not be answered for by ARP (the testbed's tun mode puts them on lo with
arp_ignore=1 and arp_announce=2). Encapsulation costs 20 bytes: the director
answers packets that would not fit with ICMP fragmentation-needed, so clients'
path-MTU discovery adapts; the device's MTU is its link's less 20.

Counters (decapsulated, and drops by reason: not_ipip, not_local, bad_inner,
not_vip, write_error) are printed on exit and, with --listen-stats, served as
JSON over HTTP. Needs CAP_NET_ADMIN and CAP_NET_RAW.`,
		Example: `  lvslab tunnel-agent --vip 198.18.0.254
  lvslab tunnel-agent --vip 198.18.0.254 --dev lvstun0 --listen-stats 127.0.0.1:9180`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.config()
			if err != nil {
				return err
			}
			logw := cmd.ErrOrStderr()
			cfg.Logf = func(format string, args ...any) { fmt.Fprintf(logw, "tunnel-agent: "+format+"\n", args...) }
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			var stats net.Listener
			if f.listenStats != "" {
				if stats, err = net.Listen("tcp", f.listenStats); err != nil { // in this process's namespace
					return fmt.Errorf("--listen-stats: %w", err)
				}
			}
			return tunnel.Serve(ctx, cfg, stats)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.vips, "vip", nil, "a virtual IPv4 address served (repeat for each; at least one)")
	fl.StringVar(&f.dev, "dev", tunnel.DefaultDev, "name of the TUN device to create")
	fl.IntVar(&f.mtu, "mtu", 0, "MTU of the TUN device (0: the largest MTU of the other interfaces less 20)")
	fl.StringVar(&f.listenStats, "listen-stats", "", "serve the counters as JSON on ADDRESS:PORT (GET /)")
	return cmd
}

func (f *tunnelAgentFlags) config() (tunnel.Config, error) {
	cfg := tunnel.Config{Dev: f.dev, MTU: f.mtu}
	if len(f.vips) == 0 {
		return cfg, errors.New("--vip is required (the virtual IPv4 address served)")
	}
	for _, v := range f.vips {
		a, err := netip.ParseAddr(v)
		if err != nil || !a.Is4() {
			return cfg, fmt.Errorf("--vip %q: not an IPv4 address", v)
		}
		cfg.VIPs = append(cfg.VIPs, a)
	}
	if f.listenStats != "" {
		if _, err := netip.ParseAddrPort(f.listenStats); err != nil {
			return cfg, fmt.Errorf("--listen-stats %q: want ADDRESS:PORT", f.listenStats)
		}
	}
	return cfg, nil
}
