// Package dataplane is lvslab's live half: the same algorithms.Scheduler
// values that the simulator drives in virtual time choose real servers for
// real connections here.
//
// # The live host
//
// [Service] wraps one scheduler and its pool for concurrent use (style
// rule 2: concurrency is a wrapper). Every front end calls it the same way:
//
//	svc, _ := dataplane.NewService(dataplane.Config{Scheduler: wlc})
//	_ = svc.AddServer(dataplane.Server{ID: 1, Addr: netip.MustParseAddrPort("10.0.0.2:80"), Weight: 1})
//	lease, err := svc.Pick(&algorithms.Request{Key: "/index.html"}) // Schedule + Begin, one critical section
//	if err != nil { ... }                                           // errors.Is(err, algorithms.ErrNoServer): 503
//	defer lease.Done()                                              // Pool.End, exactly once
//
// A layer-4 director counts as IPVS does ([CountConnections]: a new
// connection is inactive until [Lease.Established]); the layer-7 switch
// counts in-service requests in cost units ([CountRequests], thesis §6.3.5).
// Health checks, the admin interface and load monitors use
// [Service.SetDown], [Service.SetWeight], [Service.AddServer],
// [Service.SetScheduler], [Service.Zero], [Service.Feedback] and
// [Service.Stats].
//
// # Sub-packages
//
//   - httpx: zero-allocation HTTP/1.x request and response head parsing and
//     chunked-body framing for a proxy.
//   - rules: TCPHA-style content rules ("rule = <server> <regex>") and the
//     scheduler that restricts a request to its rule's servers (§6.3.6).
//   - l7: the layer-7 content switch (KTCPVS in user space, thesis §6.4-§6.5).
//   - link: the packet I/O seam of the layer-4 director (Link, Frame) and an
//     in-memory Link for tests; link/afpacket: the Link on a real interface,
//     AF_PACKET with TPACKET_V2 receive and transmit rings.
//   - l4: the layer-4 director, a user-space IPVS forwarding by VS/NAT,
//     VS/TUN and VS/DR (thesis ch.3, ch.5), with l4/packet (zero-allocation
//     frame parsing, rewriting and checksums) and l4/conntab (the
//     connection table, its timing wheel and IPVS's TCP state machine).
//   - neigh: ARP for the director: real servers' MACs (kernel table or an
//     ARP exchange) and answers for the VIP.
//   - tunnel: the real-server half of VS/TUN, IP-in-IP decapsulation into a
//     TUN device (lvslab tunnel-agent).
//   - health: TCP and HTTP health checks of real servers (rise, fall,
//     remove or inhibit on failure), one implementation for every director.
//   - ctl: the admin API after ipvsadm (lvslab ctl) on a Unix socket, the
//     virtual server table, ipvsadm's listings and rate estimators.
//   - monitor: DFLB's live load monitor, polling the back ends' load
//     endpoints.
package dataplane
