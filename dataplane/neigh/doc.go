// Package neigh resolves and answers ARP for lvslab's layer-4 director.
//
// A VS/DR director rewrites only MAC addresses, so it must know each real
// server's MAC, and since the VIP lives on no interface of the director's
// kernel (which must not answer for it), the director answers ARP for the
// VIP itself (thesis §3.4; in Linux IPVS the kernel owns the VIP instead).
//
// A [Resolver] looks an address up in its own table, then in the kernel's
// neighbour table of the director's namespace (through netlink,
// [OpenKernelTable]), and only then sends an ARP request through the Link
// and waits for the answer ([Resolver.Resolve]), or, for a caller that must
// not block, starts that in the background and says "not yet"
// ([Resolver.Get], asked again later). The replies reach it through
// [Resolver.Handle]; [Tap] wraps the Link so that whoever reads it (the
// forwarding loop) feeds every frame to Handle without knowing about ARP.
// [Answer] builds the director's replies to requests for the VIP:
//
//	kt, _ := neigh.OpenKernelTable(ifindex) // inside the namespace
//	r, _ := neigh.NewResolver(neigh.Config{Link: l, Addr: dirAddr, Kernel: kt.Lookup})
//	l = neigh.Tap(l, r) // the loop reads this Link
//	mac, ok := r.Get(rip) // or r.Resolve(ctx, rip), blocking
package neigh
