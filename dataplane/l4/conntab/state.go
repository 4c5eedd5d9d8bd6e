package conntab

// State is a connection's state: IPVS's TCP states (ip_vs_proto_tcp.c,
// in its numbering) and one state for UDP.
type State uint8

// States.
const (
	None        State = iota // sNO: before the first packet
	Established              // sES
	SynSent                  // sSS
	SynRecv                  // sSR
	FinWait                  // sFW
	TimeWait                 // sTW
	Close                    // sCL
	CloseWait                // sCW
	LastAck                  // sLA
	Listen                   // sLI
	SynAck                   // sSA
	UDP                      // a UDP "connection": one timeout, no transitions

	NumStates
)

var stateNames = [NumStates]string{
	"NONE", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT", "TIME_WAIT", "CLOSE", "CLOSE_WAIT",
	"LAST_ACK", "LISTEN", "SYNACK", "UDP",
}

// String returns IPVS's name of the state ("ESTABLISHED").
func (s State) String() string {
	if s < NumStates {
		return stateNames[s]
	}
	return "ERR!"
}

// Dir is the direction of a packet relative to its connection.
type Dir uint8

// Directions.
const (
	// Input is client to real server, on a connection whose replies the
	// director also sees (NAT).
	Input Dir = iota
	// Output is real server to client (NAT replies).
	Output
	// InputOnly is client to real server on a connection whose replies
	// bypass the director (DR, TUN): IPVS's INPUT_ONLY table, used while
	// the connection has IP_VS_CONN_F_NOOUTPUT.
	InputOnly
)

// TCP flags read by the state machine (the TCP header's bits).
const (
	flagFIN = 0x01
	flagSYN = 0x02
	flagRST = 0x04
	flagACK = 0x10
)

const (
	sNO = None
	sES = Established
	sSS = SynSent
	sSR = SynRecv
	sFW = FinWait
	sTW = TimeWait
	sCL = Close
	sCW = CloseWait
	sLA = LastAck
	sLI = Listen
	sSA = SynAck
)

// tcpStates is IPVS's normal TCP state table (tcp_states in
// ip_vs_proto_tcp.c): for each direction, for each of syn, fin, ack and
// rst, the next state from each state (the kernel's behaviour restated
// as a Go table).
var tcpStates = [3][4][SynAck + 1]State{
	Input: {
		/* syn */ {sSR, sES, sES, sSR, sSR, sSR, sSR, sSR, sSR, sSR, sSR},
		/* fin */ {sCL, sCW, sSS, sTW, sTW, sTW, sCL, sCW, sLA, sLI, sTW},
		/* ack */ {sCL, sES, sSS, sES, sFW, sTW, sCL, sCW, sCL, sLI, sES},
		/* rst */ {sCL, sCL, sCL, sSR, sCL, sCL, sCL, sCL, sLA, sLI, sSR},
	},
	Output: {
		/* syn */ {sSS, sES, sSS, sSR, sSS, sSS, sSS, sSS, sSS, sLI, sSR},
		/* fin */ {sTW, sFW, sSS, sTW, sFW, sTW, sCL, sTW, sLA, sLI, sTW},
		/* ack */ {sES, sES, sSS, sES, sFW, sTW, sCL, sCW, sLA, sES, sES},
		/* rst */ {sCL, sCL, sSS, sCL, sCL, sTW, sCL, sCL, sCL, sCL, sCL},
	},
	InputOnly: {
		/* syn */ {sSR, sES, sES, sSR, sSR, sSR, sSR, sSR, sSR, sSR, sSR},
		/* fin */ {sCL, sFW, sSS, sTW, sFW, sTW, sCL, sCW, sLA, sLI, sTW},
		/* ack */ {sCL, sES, sSS, sES, sFW, sTW, sCL, sCW, sCL, sLI, sES},
		/* rst */ {sCL, sCL, sCL, sSR, sCL, sCL, sCL, sCL, sLA, sLI, sCL},
	},
}

// NextTCP returns the state a TCP connection in state s moves to on a
// packet with the given flags travelling in direction dir, as IPVS's
// set_tcp_state does: RST takes precedence over SYN, SYN over FIN, FIN
// over ACK, and a packet with none of them moves the connection to CLOSE.
func NextTCP(s State, dir Dir, flags uint8) State {
	if s > SynAck || dir > InputOnly {
		return Close
	}
	var i int
	switch {
	case flags&flagRST != 0:
		i = 3
	case flags&flagSYN != 0:
		i = 0
	case flags&flagFIN != 0:
		i = 1
	case flags&flagACK != 0:
		i = 2
	default:
		return Close
	}
	return tcpStates[dir][i][s]
}

// Timeouts holds an idle timeout in seconds for each state.
type Timeouts [NumStates]uint32

// DefaultTimeouts are IPVS's (tcp_timeouts in ip_vs_proto_tcp.c,
// udp_timeouts in ip_vs_proto_udp.c).
var DefaultTimeouts = Timeouts{
	None:        2,
	Established: 15 * 60,
	SynSent:     2 * 60,
	SynRecv:     60,
	FinWait:     2 * 60,
	TimeWait:    2 * 60,
	Close:       10,
	CloseWait:   60,
	LastAck:     30,
	Listen:      2 * 60,
	SynAck:      2 * 60,
	UDP:         5 * 60,
}
