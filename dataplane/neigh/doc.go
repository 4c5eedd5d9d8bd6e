// Package neigh resolves and answers ARP for lvslab's layer-4 director.
//
// A VS/DR director rewrites only MAC addresses, so it must know each real
// server's MAC, and since the VIP lives on no interface of the director's
// kernel (which must not answer for it), the director answers ARP for the
// VIP itself (thesis §3.4; in Linux IPVS the kernel owns the VIP instead).
//
// A [Resolver] looks an address up in its own table, then in the kernel's
// neighbour table of the director's namespace (through netlink,
// [OpenKernelTable]), and only then sends an ARP request through the Link and
// waits for the answer. Whoever reads the Link (the forwarding loop) hands
// ARP frames to [Resolver.Handle], which learns the replies, and answers
// requests for the VIP with [Answer]:
//
//	kt, _ := neigh.OpenKernelTable(ifindex) // inside the namespace
//	r, _ := neigh.NewResolver(neigh.Config{Link: l, Addr: dirAddr, Kernel: kt.Lookup})
//	go loop() // for each ARP frame: r.Handle(f); if reply, ok := neigh.Answer(f, ...); ok { l.Send(...) }
//	mac, err := r.Resolve(ctx, rip)
package neigh
