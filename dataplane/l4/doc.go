// Package l4 is lvslab's layer-4 director: a user-space IPVS that forwards
// real traffic by the three LVS methods (VS/NAT, VS/TUN, VS/DR, thesis
// ch.3), scheduling the first packet of every connection with any
// registered algorithms.Scheduler through a dataplane.Service. Where the
// thesis (ch.3, ch.5) is silent the package follows Linux IPVS
// (net/netfilter/ipvs/): the files named below.
//
// # Use
//
// A Director reads Ethernet frames from its ports (dataplane/link.Link),
// handles each one with a small function that rewrites it in place (or
// writes a new frame: an IPIP datagram, an ICMP error, an ARP reply), and
// sends the results, batch by batch:
//
//	d, _ := l4.New(l4.Config{Ports: []l4.Port{{Link: eth0, Addr: dirAddr}}, Neighbors: nb})
//	_ = d.AddService(l4.ServiceConfig{Key: l4.ServiceKey{Proto: l4.TCP, VIP: vip}, Scheduler: wlc})
//	_ = d.AddServer(key, l4.RealServer{Server: dataplane.Server{ID: 1, Addr: rs1, Weight: 1}, Method: l4.DR})
//	err := d.Run(ctx) // until ctx ends or a link fails
//
// Package live runs a Director on real interfaces (packet sockets, routes
// and ARP, services managed through the admin API); tests, benchmarks and
// any other driver call Process with a batch of frames and a time instead
// of Run, and Tick to let time pass. The
// management methods (AddService, EditService, DeleteService, AddServer,
// EditServer, DeleteServer, Stats, Conns, Zero) are ipvsadm's verbs and
// apply at once, without a restart; Service returns a virtual service's
// dataplane.Service for health checks and load feedback.
//
// # Frames
//
// A frame is the director's when it is addressed to the port's MAC (or is
// an ARP broadcast) and carries a packet for a VIP, or a NAT real server's
// reply to a client. Everything else is passed, counted by Pass reason:
// packet sockets tap, the kernel sees the same frames and handles what is
// not the director's. Frames the director is responsible for but cannot
// forward are dropped, counted by Drop reason: malformed headers (package
// packet's parse failures), IP fragments (the director does not
// reassemble; IPVS relies on the kernel's defragmentation, which a packet
// socket bypasses), sources that are multicast, broadcast, zero or
// loopback, TCP segments other than SYN without a connection, no server,
// a full table, an unresolved next hop, TTL expiry, a packet too big.
// Malformed or hostile input never panics the director (fuzzed).
//
// Forwarded packets have their TTL decremented as a router does
// (ip_vs_xmit.c decrement_ttl); at TTL 1 the client gets ICMP time
// exceeded. A packet that does not fit the outgoing link is answered with
// ICMP fragmentation needed if DF is set, and dropped otherwise (only
// tunnels are fragmented, see below). Frames whose TCP or UDP checksum is
// only partial (link.Frame.CsumPartial: sent by a local stack with
// checksum offload) have it computed in full; others are updated
// incrementally (RFC 1624).
//
// # Scheduling and the connection table
//
// A TCP SYN (without RST) or any UDP datagram for a service with no entry
// is scheduled: the Request carries the client address and port and the
// VIP and port, so destination-keyed schedulers (ipvs-lblc, ipvs-lblcr,
// dh) see the VIP and source-keyed ones (sh, mh) the client. Entries are
// keyed as IPVS keys them (ip_vs_conn.c): <protocol, client address and
// port, VIP and port> for requests and, for NAT, <protocol, real server
// address and port, client address and port> for replies (package
// conntab). A retransmitted SYN, with the ISN the entry recorded, keeps
// its real server; a SYN with another ISN on the same client port is a new
// connection and is scheduled afresh (which covers IPVS's conn_reuse_mode
// cases of TIME_WAIT and input-only FIN_WAIT, ip_vs_core.c). A
// connection whose real server was deleted ends at its next packet
// (expire_nodest_conn), which is scheduled afresh if it is a SYN and
// dropped otherwise.
//
// TCP entries follow IPVS's state tables (ip_vs_proto_tcp.c): INPUT and
// OUTPUT for NAT, whose replies the director sees, INPUT_ONLY for DR and
// TUN, whose replies bypass it; each state has its timeout (ESTABLISHED
// 900 s, SYN_RECV 60 s, FIN_WAIT and TIME_WAIT 120 s, CLOSE 10 s,
// CLOSE_WAIT 60 s, LAST_ACK 30 s, SYN_SENT 120 s; UDP 300 s; Config.Timeouts
// overrides them), restarted by every packet. The pool counts a connection
// as IPVS does: inactive from its first packet, active while ESTABLISHED,
// inactive again when it leaves ESTABLISHED (dataplane.Lease Established
// and Deactivate), gone when its entry times out (Lease.Done); UDP
// connections stay inactive. A one-second timing wheel times the entries
// out (thesis ch.5's slow timer), never a timer per connection.
//
// Persistence (ServiceConfig.Persistence, PersistMask) keeps a client's
// (or a client prefix's) new connections on the server of its template
// <protocol, client address & netmask, 0, VIP, port> (ip_vs_core.c
// ip_vs_sched_persist), through dataplane.Service.Bind; a template lives
// for its timeout after its last use and never times out while it
// controls connections (ip_vs_conn.c ip_vs_conn_expire); a template whose
// server is deleted or down is replaced (ip_vs_check_template). Weight-0
// quiescing and upper/lower thresholds are the pool's (the scheduler
// skips such servers); established connections to them go on.
//
// Memory: Config.MaxConns bounds the table (connections and templates),
// default 2^20. When it is full, new connections are dropped and counted
// (DropTableFull); existing ones are never evicted (IPVS's drop_entry
// defence, which evicts at random under memory pressure, is not
// implemented). An entry takes 176 bytes, 181 with its share of the hash
// buckets (TestConnBytes: 10^5 connections), against the thesis's 128:
// 72 of them are the dataplane.Lease that ties the connection to the
// pool's counters, 13 the fast path's flag and counters (below).
//
// # Forwarding methods
//
// NAT (ip_vs_nat_xmit, tcp_dnat_handler): a request's destination becomes
// the real server's address and port, a reply's source the VIP and port,
// with both checksums updated; replies go back to the MAC and port the
// client's frames came from. TUN (ip_vs_tunnel_xmit): the packet is
// wrapped in an outer IPv4 header, protocol 4, from the port's address to
// the real server, with the inner TTL, DF and DSCP copied and ECN encoded
// as RFC 6040 says (INET_ECN_encapsulate); a DF packet that no longer
// fits gets ICMP fragmentation needed with the tunnel's MTU (the link's
// MTU less 20), another is sent as outer fragments. DR (ip_vs_dr_xmit):
// only the MAC addresses change, to the real server's and the director's.
// Real servers' MAC addresses come from the Neighbors resolver (the live
// one reads the namespace's neighbour table), asked when a server is
// added, every second after, and when the resolver has just learned an
// address (Director.Resolve), never per packet. The director answers
// ARP requests for its VIPs with the port's MAC.
//
// ICMP errors about a connection's packets are passed to the other end
// (ip_vs_in_icmp, ip_vs_out_icmp): a client's error about a reply goes to
// the real server, rewritten for NAT (outer destination, quoted source;
// ip_vs_nat_icmp) and as is for DR and TUN; a NAT real server's error
// about a request goes to the client with the VIP put back; an error about
// one of the director's IPIP datagrams becomes an error for the client
// about its own packet, the tunnel's 20 bytes taken off a
// fragmentation-needed MTU.
//
// # Fast path
//
// A port may have a FastPath (package xdp: an XDP program on the
// interface) that forwards the client's packets of established DR
// connections in the kernel, so that they cost the director nothing. The
// director stays the sole decider: it installs a connection when it
// becomes ESTABLISHED and its real server is reached by the port the
// client's packets come in by, after forwarding the packet that made it
// so; SYN, FIN and RST segments, packets without ACK and anything else the
// fast path does not match come up as before, and a connection that
// leaves ESTABLISHED, ends, loses its real server (deleted: its next
// packet comes up and ends it) or changes next hop is removed. The fast
// path's packet and byte counters are folded into the servers' and
// services' counters every 2 s (before the rate estimator) and when an
// entry is removed; when an installed connection's timer runs out, the
// director asks the fast path when its last packet passed and restarts
// the timer from then if that is within the timeout, so a connection
// whose packets bypass the director does not time out while they flow.
// An entry the kernel evicted (its map is an LRU) is noticed by the next
// 2 s sweep and installed again at the connection's next packet; until
// then its packets take the director's path. Stats.Fast counts all of it.
//
// # Statistics
//
// Stats gives ipvsadm -L --stats --rate for every service and real
// server: connections, packets and bytes in and out, and their rates from
// IPVS's estimator (ip_vs_est.c: every 2 s, avg += (rate - avg)/4, in its
// fixed point and rounding), plus ActiveConn/InActConn from the pool;
// Conns lists the table (ipvsadm -L -c); Zero clears counters (ipvsadm -Z).
//
// # Concurrency and cost
//
// One mutex serialises frame processing, the timers and management; Run
// holds it for a received batch, from processing to sending. The
// forwarding path allocates nothing; BenchmarkForward measures 70-100 ns
// per packet on the project's 2-vCPU machine (BENCHMARKS.md), far below
// the packet socket's own cost per packet.
//
// Not implemented: IPv6, services on all ports or firewall marks, the
// secure_tcp, drop_entry and drop_packet defences, connection
// synchronisation, and the local node (a real server on the director).
package l4
