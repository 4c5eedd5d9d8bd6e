// Package testbed builds live testbeds in Linux network namespaces: a
// director, real servers and clients, each in its own namespace, joined by
// veth pairs to bridges in a "switch" namespace, laid out for a forwarding
// mode (layer-7 proxy, VS/NAT, VS/DR, VS/TUN). The schedulers of
// algorithms/ drive a real dataplane there, and the results are checked
// against the simulator.
//
// # Topologies
//
// A Topology (YAML: ParseTopology, or Derive from a cluster size) names the
// mode, the number of clients and real servers, one or two segments, the
// networks (inside 198.18.0.0/15, the benchmarking range), the VIP, the MTU,
// offloads and extra sysctls. Resolve fills in defaults and Layout turns it
// into names, addresses and routes:
//
//	segment 1 (client_net)  director eth0 .1, client i .100+i, VIP .254
//	segment 2 (server_net)  director eth1 .1, real server i .10+i
//
// With one segment everyone is on client_net. Per mode:
//
//   - l7: the VIP is on the director's eth0 (its proxy listens there).
//   - nat: real servers' default route is the director's eth1.
//   - dr: real servers hold the VIP on lo as a /32, with arp_ignore=1 and
//     arp_announce=2 on all, lo and eth0.
//   - tun: as dr, plus rp_filter=0 on the real servers (all, default, lo,
//     eth0), ready for a TUN device.
//
// Outside l7 the director's kernel does not own the VIP (a user-space
// director must not have its kernel answer or reset the VIP's connections):
// each client holds a permanent neighbour entry VIP -> the director's MAC.
// Every namespace gets accept_redirects=0, send_redirects=0 and IPv6 off;
// the director ip_forward=0 and rp_filter=0; the switch namespace
// bridge-nf-call-*=0 where br_netfilter is loaded. Offloads (tx checksum,
// TSO, GSO, GRO) are off on every veth end and bridge, set with the
// SIOCETHTOOL ioctl, because a packet-socket dataplane needs full checksums
// and MTU-sized frames. With xdp_peer the switch end of each of the
// director's links gets an XDP program that passes every frame: on veth a
// director's XDP_TX reaches only a peer that has one.
//
// # Lifecycle
//
// Up creates a testbed and records it in a run directory whose state file is
// an intent log: each namespace and process is written down before it is
// made. Down(runDir) stops the processes (SIGTERM, then SIGKILL after Grace)
// and deletes the namespaces, which deletes their links; it needs nothing
// but the run directory, so it cleans up after a crashed or kill -9ed owner,
// and it is idempotent. DownPrefix finds testbeds by the prefix every name
// carries ("lt" and up to 6 characters), without a run directory. Nothing
// is created in the root namespace; links live in the testbed's namespaces.
//
//	tb, err := testbed.Up(ctx, testbed.Topology{Mode: testbed.DR, Servers: 3}, runDir)
//	p, err := tb.Start("rs1", []string{"lvslab", "backend", ...}, "rs1.log")
//	err = tb.Do("cl1", func() error { conn, err = net.Dial("tcp", ...); return err })
//	_, err = tb.Down()
//
// Start runs a process inside a namespace (the forking thread joins it
// first), in its own process group, with MarkerEnv set to the prefix. Do runs
// Go code on an OS thread inside a namespace; sockets it opens stay there.
// Threads that join a namespace are never reused.
//
// Package testbedtest has the helpers privileged tests use.
package testbed
