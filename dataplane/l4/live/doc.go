// Package live runs lvslab's layer-4 director (package l4, a user-space
// IPVS) on real interfaces: packet sockets with TPACKET_V2 rings (package
// afpacket), next hops from the namespace's routes and neighbour tables
// and ARP (package neigh), and virtual services managed like ipvsadm's
// through the admin API (package ctl), health-checked (package health)
// and, for DFLB, fed by the load monitor (package monitor) exactly as the
// layer-7 switch's services are.
//
// # Use
//
// Open runs in the director's network namespace (the process of "lvslab
// director", or testbed.Do); everything after may run anywhere:
//
//	d, err := live.Open(live.Config{Interfaces: []string{"eth0", "eth1"}})
//	s, err := d.AddService(live.ServiceConfig{
//		Key:       l4.ServiceKey{Proto: l4.TCP, VIP: netip.MustParseAddrPort("198.18.0.254:80")},
//		Scheduler: "wlc", Method: l4.NAT,
//		Servers:   []ctl.ServerSpec{{Addr: netip.MustParseAddrPort("198.18.1.11:8080")}},
//	})
//	table := ctl.NewTable(ctl.TableConfig{Add: d.Factory(algorithms.Options{})})
//	_ = table.Register(s) // "lvslab ctl list --stats --rate" shows it
//	err = d.Run(ctx)      // forwards until ctx ends, then stops as Close
//
// # What the namespace must provide
//
// The testbed's nat, dr and tun modes (package testbed) build it:
//
//   - The kernel must neither own the VIP nor forward (ip_forward=0): a
//     packet socket taps frames, it does not steal them, so the kernel
//     sees the VIP's packets too and must drop them. Clients reach the VIP
//     through the director's MAC (a neighbour entry, or the core's ARP
//     answers for the VIPs).
//   - Offloads off on the director's interfaces (tx checksum, TSO, GSO,
//     GRO): segmentation offloads hand packet sockets frames larger than
//     the MTU; partial checksums are completed by the core, at a cost.
//   - VS/NAT: the real servers' default route is the director (its
//     server-side address), so their replies come back through it. The
//     testbed puts clients and real servers on two segments, the director
//     on both; on one flat segment the real servers would answer the
//     clients directly.
//   - VS/DR: one segment; real servers hold the VIP on lo with
//     arp_ignore=1 and arp_announce=2.
//   - VS/TUN: real servers decapsulate IPIP (the kernel's ipip module or
//     "lvslab tunnel-agent"); the director's address on the interface
//     toward them is the tunnels' source.
//
// # Packet sockets
//
// Each interface gets one socket whose classic BPF filter accepts ARP and
// the IPv4 frames addressed to the interface's MAC (PACKET_HOST), whatever
// their destination address: the VIPs' (including services added later by
// "lvslab ctl add-service") and the NAT real servers' replies to clients.
// PACKET_IGNORE_OUTGOING keeps the director's own transmits (and its
// kernel's) out. Frames that are the director's own traffic (health
// checks, the admin socket's peers) are passed by the core and left to the
// kernel.
//
// # Next hops
//
// The core asks for a real server's next hop when the server is added and
// every second after. The answer comes from the route to the server (the
// interface, hence the port, and the gateway if the server is not on the
// director's segment) and the port's neigh.Resolver: its table, then the
// kernel's neighbour table, then ARP requests in the background; when the
// resolver learns an address the core is told at once (l4.Director.Resolve).
// WaitResolved waits until every server is resolved: a director that
// forwards before then drops the first packets to the others
// (l4.DropNoNeighbor) where the kernel would have queued them.
//
// # Services
//
// A Service is a ctl.Service: its real servers are kept by a ctl.Host
// (named by address, health-checked, counted) whose Members are the
// core's, so that adding a server gives it its forwarding state (method,
// next hop) in the core. ipvsadm's counters (connections, packets and
// bytes in and out) are the core's; the admin table computes their rates.
// A DR or TUN server named without a port takes the service's, which is
// the one it listens on.
//
// # Stopping
//
// Run returns when its context ends, after Close: the health checks and
// monitors stop, the packet sockets close (a batch being forwarded is
// finished first), and every connection is forgotten, so that the pools'
// active and inactive counts return to zero; the counters stay readable.
// Connections are not drained: an L4 director that stops forwarding
// breaks them, as IPVS does when its rules are removed.
package live
