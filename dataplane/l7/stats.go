package l7

import (
	"sync/atomic"

	"github.com/lvslab/lvslab/dataplane"
)

// Event is something the switch counts.
type Event int

// Events, by reason. Each error event also says what the client got.
const (
	Accepted  Event = iota // client connections accepted
	Requests               // complete request heads read
	Responses              // responses relayed completely
	Retried                // requests sent again after a back end failed before answering

	BadRequest       // 400: malformed request line, header or body framing
	URITooLong       // 414: request line over the limit
	HeadersTooLarge  // 431: head or header count over the limit
	NotImplemented   // 501: a transfer coding other than chunked, CONNECT
	VersionRejected  // 505: HTTP version other than 1.0 and 1.1
	ClientTimeout    // 408: no complete request head in time
	ClientClosed     // the client closed or reset in the middle of a request
	NoServer         // 503: no back end available
	ConnectFailed    // 502: a back end refused or did not answer the connection
	BackendReset     // 502: a back end closed or reset before any response byte
	BadResponse      // 502: a back end's response did not parse
	BackendTimeout   // 504: a back end sent nothing in time
	ResetAfterHead   // the back end failed after the response head was relayed: client connection closed
	ClientWriteError // writing to the client failed (it went away)

	numEvents
)

var eventNames = [numEvents]string{
	"accepted", "requests", "responses", "retried",
	"bad_request", "uri_too_long", "headers_too_large", "not_implemented", "version_rejected",
	"client_timeout", "client_closed", "no_server", "connect_failed", "backend_reset",
	"bad_response", "backend_timeout", "reset_after_head", "client_write_error",
}

func (e Event) String() string {
	if e >= 0 && e < numEvents {
		return eventNames[e]
	}
	return "unknown"
}

// Events returns every event, in a fixed order.
func Events() []Event {
	out := make([]Event, numEvents)
	for i := range out {
		out[i] = Event(i)
	}
	return out
}

type counters [numEvents]atomic.Uint64

func (c *counters) add(e Event) { c[e].Add(1) }

// Stats is a snapshot of a switch's counters.
type Stats struct {
	Events  [numEvents]uint64 // indexed by Event
	Open    int64             // client connections open now
	Servers []dataplane.ServerStats
}

// Count returns the count of one event.
func (s Stats) Count(e Event) uint64 { return s.Events[e] }
