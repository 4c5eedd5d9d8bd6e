package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os/signal"
	"strings"
	"syscall"
	"time"

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
			return runTunnelAgent(ctx, cfg, f.listenStats, logw)
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

// runTunnelAgent sets the agent up in the calling thread's network
// namespace, decapsulates until ctx ends, then cleans up and logs the
// counters to logw.
func runTunnelAgent(ctx context.Context, cfg tunnel.Config, statsAddr string, logw io.Writer) (err error) {
	a, err := tunnel.Start(cfg)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, a.Close()) }()
	if statsAddr != "" {
		ln, err := net.Listen("tcp", statsAddr) // before any goroutine: in this namespace
		if err != nil {
			return fmt.Errorf("--listen-stats: %w", err)
		}
		srv := &http.Server{Handler: tunnelStatsHandler(a, cfg.VIPs), ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
		fmt.Fprintf(logw, "tunnel-agent: counters on http://%s/\n", ln.Addr())
	}
	vips := make([]string, len(cfg.VIPs))
	for i, v := range cfg.VIPs {
		vips[i] = v.String()
	}
	fmt.Fprintf(logw, "tunnel-agent: decapsulating IP-in-IP for %s into %s\n", strings.Join(vips, ", "), a.Dev())
	done := make(chan error, 1)
	go func() { done <- a.Run() }()
	select {
	case <-ctx.Done():
		a.Close()
		err = <-done
	case err = <-done:
	}
	fmt.Fprintf(logw, "tunnel-agent: stopped: %s\n", tunnel.String(a.Counts()))
	return err
}

// tunnelStatsHandler serves the agent's counters as a JSON object.
func tunnelStatsHandler(a *tunnel.Agent, vips []netip.Addr) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		counters := map[string]uint64{}
		for _, c := range a.Counts() {
			counters[c.Name] = c.Value
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(struct {
			Dev      string            `json:"dev"`
			VIPs     []netip.Addr      `json:"vips"`
			Counters map[string]uint64 `json:"counters"`
		}{a.Dev(), vips, counters})
	})
}
