// Package tunnel is the real-server half of VS/TUN (thesis §3.3): it takes
// the IP-in-IP packets a director sends, strips the outer header and
// hands the inner packet, addressed to the VIP, to the local stack, whose
// replies go straight to the client.
//
// The kernel would do this with its ipip module; where there is none (as on
// the testbeds' machines), [Agent] does it in user space: a raw socket for
// IP protocol 4 receives each outer packet with its inner one, [Decap]
// checks both headers, and the inner packet is written to a TUN device
// (IFF_TUN|IFF_NO_PI), which delivers it to a listener on the VIP as if it
// had arrived on that device.
//
// # What the real server needs
//
//   - The VIP as a local address, without answering ARP for it: the
//     testbed's tun mode puts it on lo with arp_ignore=1 and arp_announce=2.
//     The agent also puts each VIP on its TUN device as a /32 (gone with
//     the device), which makes it local where it was not, and gives the
//     device an address: without one, the kernel's reverse-path check
//     drops every packet arriving on it, even in loose mode.
//   - Reverse-path filtering off or loose: the inner packet's source (the
//     client) is not routed through the TUN device, so strict rp_filter
//     drops it. The effective value is the larger of net.ipv4.conf.all and
//     the device's; the agent sets the device's to 0, and all's from 1
//     (strict) to 2 (loose) while it runs.
//
// # The 20-byte overhead
//
// Encapsulation adds 20 bytes to each packet from the director to the real
// server. The director sends ICMP fragmentation-needed for a packet with DF
// set that would not fit (as Linux IPVS does, net/netfilter/ipvs/
// ip_vs_xmit.c ip_vs_tunnel_xmit), so the client's path-MTU discovery lowers
// its segment size; the replies do not pass the tunnel and keep the full
// MTU. The agent's TUN device has an MTU of its link's less 20, like a
// kernel ipip device. Where ICMP is filtered between client and director,
// lower the MSS the real server advertises instead (a route's advmss).
//
// # Use
//
// Start runs in the real server's network namespace (testbed.Do, or the
// `lvslab tunnel-agent` process); Run then decapsulates until Close, which
// removes the TUN device and restores what Start changed:
//
//	a, err := tunnel.Start(tunnel.Config{VIPs: []netip.Addr{vip}})
//	go a.Run()
//	defer a.Close()
package tunnel
