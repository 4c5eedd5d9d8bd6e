package neigh

import (
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// KernelTable reads the kernel's IPv4 neighbour table of one interface.
type KernelTable struct {
	h       *netlink.Handle
	ifindex int
}

// OpenKernelTable opens a netlink handle in the calling thread's network
// namespace (run it inside testbed.Do for a testbed node); the handle
// stays in that namespace. ifindex is the interface whose entries count.
func OpenKernelTable(ifindex int) (*KernelTable, error) {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("neigh: netlink: %w", err)
	}
	return &KernelTable{h: h, ifindex: ifindex}, nil
}

// usable are the states whose MAC can be used (not INCOMPLETE or FAILED).
const usable = netlink.NUD_REACHABLE | netlink.NUD_STALE | netlink.NUD_DELAY | netlink.NUD_PROBE |
	netlink.NUD_PERMANENT | netlink.NUD_NOARP

// Lookup returns ip's MAC if the kernel has a usable entry for it.
func (k *KernelTable) Lookup(ip netip.Addr) (net.HardwareAddr, bool) {
	entries, err := k.h.NeighList(k.ifindex, netlink.FAMILY_V4)
	if err != nil {
		return nil, false
	}
	for _, e := range entries {
		if a, ok := netip.AddrFromSlice(e.IP); ok && a.Unmap() == ip && e.State&usable != 0 && len(e.HardwareAddr) == 6 {
			return slices.Clone(e.HardwareAddr), true
		}
	}
	return nil, false
}

// Close closes the netlink handle.
func (k *KernelTable) Close() error {
	k.h.Close()
	return nil
}
