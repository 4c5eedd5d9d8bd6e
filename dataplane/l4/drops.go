package l4

import "github.com/lvslab/lvslab/dataplane/l4/packet"

// Drop is why the director dropped a frame it was responsible for. The
// first values are packet.Reason's parse failures, in its order.
type Drop uint8

// Drop reasons.
const (
	DropShortFrame     = Drop(packet.ShortFrame)
	DropShortIP        = Drop(packet.ShortIP)
	DropBadVersion     = Drop(packet.BadVersion)
	DropBadHeaderLen   = Drop(packet.BadHeaderLen)
	DropBadTotalLen    = Drop(packet.BadTotalLen)
	DropBadIPChecksum  = Drop(packet.BadIPChecksum)
	DropShortTransport = Drop(packet.ShortTransport)
	DropBadTCPOffset   = Drop(packet.BadTCPOffset)
	DropBadUDPLen      = Drop(packet.BadUDPLen)
	DropBadARP         = Drop(packet.BadARP)
)

// Drop reasons of the director's own.
const (
	DropTruncated       Drop = Drop(packet.NumReasons) + iota // the link cut the frame short
	DropFragment                                              // an IP fragment for a service: not reassembled
	DropBadSource                                             // source address multicast, broadcast, zero or loopback
	DropBadICMPChecksum                                       // an ICMP error for a service that does not verify
	DropBadICMPQuote                                          // an ICMP error whose quoted header is unusable
	DropNoConn                                                // a TCP segment other than SYN without a connection
	DropNoServer                                              // the scheduler found no server (all down, quiescing or overloaded)
	DropSchedError                                            // the scheduler failed otherwise (e.g. a bypass answer)
	DropTableFull                                             // the connection table is at MaxConns
	DropDestRemoved                                           // the connection's real server was deleted
	DropNoNeighbor                                            // the real server's next hop is not resolved
	DropNoTunnelSource                                        // TUN through a port without an address
	DropTTL                                                   // TTL expired (ICMP time exceeded sent)
	DropFragNeeded                                            // too big with DF set (ICMP fragmentation needed sent)
	DropTooBig                                                // too big for the outgoing link, DF clear, not tunnelled
	DropNoBuffer                                              // no transmit buffer left in the batch
	DropSendError                                             // the link refused the batch

	NumDrops
)

var dropNames = [NumDrops]string{
	"", "short_frame", "short_ip", "bad_version", "bad_header_len", "bad_total_len", "bad_ip_checksum",
	"short_transport", "bad_tcp_offset", "bad_udp_len", "bad_arp",
	"truncated", "fragment", "bad_source", "bad_icmp_checksum", "bad_icmp_quote", "no_conn", "no_server",
	"sched_error", "table_full", "dest_removed", "no_neighbor", "no_tunnel_source", "ttl_expired",
	"frag_needed", "too_big", "no_buffer", "send_error",
}

func (d Drop) String() string {
	if d > 0 && d < NumDrops {
		return dropNames[d]
	}
	return "unknown"
}

// Pass is why the director left a frame alone: it was not for a virtual
// service. The kernel, which also sees every frame a packet socket taps,
// handles it.
type Pass uint8

// Pass reasons.
const (
	PassOtherHost     Pass = iota // addressed to another MAC address
	PassOwnFrame                  // sent by this director (a tap reading its own transmits)
	PassNotIPv4                   // neither IPv4 nor ARP
	PassNoService                 // for a VIP, but no service on its protocol and port
	PassNotOurs                   // IPv4 not for a VIP and not a NAT reply
	PassICMPUnrelated             // ICMP that is not an error about a connection
	PassARP                       // ARP other than a request for a VIP

	NumPasses
)

var passNames = [NumPasses]string{"other_host", "own_frame", "not_ipv4", "no_service", "not_ours", "icmp_unrelated", "arp_other"}

func (p Pass) String() string {
	if p < NumPasses {
		return passNames[p]
	}
	return "unknown"
}
