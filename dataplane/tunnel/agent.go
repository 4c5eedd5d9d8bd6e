package tunnel

import (
	"net/netip"
	"strconv"
	"strings"
)

// DefaultDev is the TUN device's default name.
const DefaultDev = "lvstun0"

// Config configures an Agent.
type Config struct {
	// VIPs are the virtual addresses served; inner packets to any other
	// address are dropped. At least one, IPv4.
	VIPs []netip.Addr
	// Dev names the TUN device (default DefaultDev). It must not exist.
	Dev string
	// MTU of the TUN device; zero: the largest MTU of the host's other
	// interfaces less 20 (the outer header), or 1480.
	MTU int
	// Logf, if not nil, reports what Start changes on the host.
	Logf func(format string, args ...any)
}

// Counter is one named count.
type Counter struct {
	Name  string `json:"name"`
	Value uint64 `json:"value"`
}

// String formats counters as "name=value ...".
func String(cs []Counter) string {
	var b strings.Builder
	for i, c := range cs {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(c.Name + "=" + strconv.FormatUint(c.Value, 10))
	}
	return b.String()
}
