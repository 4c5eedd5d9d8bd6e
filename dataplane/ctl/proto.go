package ctl

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/lvslab/lvslab/dataplane/health"
)

// Verbs, named as ipvsadm's long commands.
const (
	VerbAddService    = "add-service"    // ipvsadm -A
	VerbEditService   = "edit-service"   // ipvsadm -E
	VerbDeleteService = "delete-service" // ipvsadm -D
	VerbAddServer     = "add-server"     // ipvsadm -a
	VerbEditServer    = "edit-server"    // ipvsadm -e
	VerbDeleteServer  = "delete-server"  // ipvsadm -d
	VerbList          = "list"           // ipvsadm -L
	VerbZero          = "zero"           // ipvsadm -Z
	VerbHealth        = "health"         // the health checks' state
)

// Verbs lists every verb, in the order of the help text.
var Verbs = []string{VerbList, VerbAddService, VerbEditService, VerbDeleteService,
	VerbAddServer, VerbEditServer, VerbDeleteServer, VerbZero, VerbHealth}

// Protocols of a virtual service.
const (
	TCP = "tcp" // ipvsadm -t
	UDP = "udp" // ipvsadm -u
)

// Forwarding methods of a real server (ipvsadm -g, -i, -m), and the
// layer-7 switch's, which proxies.
const (
	ForwardDR    = "dr"    // -g, gatewaying: shown as Route
	ForwardTun   = "tun"   // -i, IP-in-IP: shown as Tunnel
	ForwardNAT   = "nat"   // -m, masquerading: shown as Masq
	ForwardProxy = "proxy" // a layer-7 service's servers: shown as Proxy
)

// ForwardName returns the Forward column ipvsadm prints for a method.
func ForwardName(method string) string {
	switch method {
	case ForwardDR:
		return "Route"
	case ForwardTun:
		return "Tunnel"
	case ForwardNAT:
		return "Masq"
	case ForwardProxy:
		return "Proxy"
	}
	return method
}

// Key names a virtual service: protocol and VIP:port.
type Key struct {
	Proto string         `json:"proto"`
	Addr  netip.AddrPort `json:"address"`
}

// String returns "TCP  10.0.0.1:80", ipvsadm's spelling.
func (k Key) String() string { return strings.ToUpper(k.Proto) + "  " + k.Addr.String() }

// Flag returns "-t 10.0.0.1:80", the option that names the service.
func (k Key) Flag() string {
	if k.Proto == UDP {
		return "-u " + k.Addr.String()
	}
	return "-t " + k.Addr.String()
}

// Validate checks the key.
func (k Key) Validate() error {
	if k.Proto != TCP && k.Proto != UDP {
		return fmt.Errorf("protocol %q: want tcp (-t) or udp (-u)", k.Proto)
	}
	if !k.Addr.IsValid() {
		return fmt.Errorf("%s: want ADDRESS:PORT", strings.TrimSpace(k.Flag()))
	}
	return nil
}

// ServiceSpec is a virtual service as add-service and edit-service give
// it. Empty (nil) fields are left as they are by edit-service and take
// their defaults in add-service.
type ServiceSpec struct {
	Key
	// Mode is the service's kind: "l7" (the layer-7 switch); the layer-4
	// director's are "nat", "tun" and "dr". Only add-service reads it.
	Mode string `json:"mode,omitempty"`
	// Name labels the service in logs (add-service).
	Name string `json:"name,omitempty"`
	// Scheduler is a registered scheduler's name (ipvsadm -s).
	Scheduler string `json:"scheduler,omitempty"`
	// Persistence is the persistence timeout (ipvsadm -p); 0 turns it off.
	Persistence *time.Duration `json:"persistence_ns,omitempty"`
	// Netmask is the persistence granularity (ipvsadm -M).
	Netmask string `json:"netmask,omitempty"`
	// Health is the default health check of the service's real servers
	// (nil: none, or unchanged).
	Health *health.Config `json:"health,omitempty"`
}

// ServerSpec is a real server as add-server and edit-server give it. Nil
// fields are left as they are by edit-server and take their defaults in
// add-server (weight 1, no thresholds).
type ServerSpec struct {
	Addr netip.AddrPort `json:"address"` // ipvsadm -r
	// Name labels the server (rules files name servers); add-server only.
	Name string `json:"name,omitempty"`
	// Forward is dr, tun or nat (ipvsadm -g, -i, -m); empty: the
	// service's default.
	Forward string `json:"forward,omitempty"`
	Weight  *int   `json:"weight,omitempty"` // ipvsadm -w
	Upper   *int   `json:"upper,omitempty"`  // ipvsadm -x
	Lower   *int   `json:"lower,omitempty"`  // ipvsadm -y
	// Health overrides fields of the service's health check for this
	// server (add-server only).
	Health *health.Config `json:"health,omitempty"`
}

// Request is one command to the director.
type Request struct {
	Verb string `json:"verb"`
	// Service names the service (every verb but list, zero and health
	// without one, which cover all services) and carries add-service and
	// edit-service's settings.
	Service *ServiceSpec `json:"service,omitempty"`
	// Server is the real server of the *-server verbs.
	Server *ServerSpec `json:"server,omitempty"`
}

// Response is the director's answer: Error, or the services of list and
// health (and nothing else for the other verbs).
type Response struct {
	Error    string        `json:"error,omitempty"`
	Services []ServiceInfo `json:"services,omitempty"`
}

// Counters are ipvsadm --stats's totals since the service (or server) was
// added or last zeroed.
type Counters struct {
	Conns    uint64 `json:"conns"`     // connections scheduled (layer 7: requests)
	InPkts   uint64 `json:"in_pkts"`   // packets client to server (layer 7: not measured, 0)
	OutPkts  uint64 `json:"out_pkts"`  // packets server to client (layer 7: not measured, 0)
	InBytes  uint64 `json:"in_bytes"`  // bytes client to server (layer 7: relayed to the back end)
	OutBytes uint64 `json:"out_bytes"` // bytes server to client (layer 7: received from the back end)
}

// Add returns c + d.
func (c Counters) Add(d Counters) Counters {
	return Counters{c.Conns + d.Conns, c.InPkts + d.InPkts, c.OutPkts + d.OutPkts, c.InBytes + d.InBytes, c.OutBytes + d.OutBytes}
}

// Rates are ipvsadm --rate's per-second rates (see Estimator).
type Rates struct {
	CPS    uint64 `json:"cps"`
	InPPS  uint64 `json:"in_pps"`
	OutPPS uint64 `json:"out_pps"`
	InBPS  uint64 `json:"in_bps"`
	OutBPS uint64 `json:"out_bps"`
}

// ServiceInfo is one virtual service as list shows it.
type ServiceInfo struct {
	Key
	Name        string        `json:"name,omitempty"`
	Mode        string        `json:"mode"`
	Scheduler   string        `json:"scheduler"`
	Persistence time.Duration `json:"persistence_ns,omitempty"`
	Netmask     string        `json:"netmask,omitempty"`
	Stats       Counters      `json:"stats"`
	Rates       Rates         `json:"rates"`
	Servers     []ServerInfo  `json:"servers"`
}

// ServerInfo is one real server as list shows it.
type ServerInfo struct {
	Addr       netip.AddrPort `json:"address"`
	Name       string         `json:"name,omitempty"`
	Forward    string         `json:"forward"`
	Weight     int            `json:"weight"`
	Active     int            `json:"active"`   // ActiveConn (layer 7: requests in service, in cost units)
	Inactive   int            `json:"inactive"` // InActConn
	Upper      int            `json:"upper"`
	Lower      int            `json:"lower"`
	Down       bool           `json:"down"`
	Overloaded bool           `json:"overloaded"`
	Stats      Counters       `json:"stats"`
	Rates      Rates          `json:"rates"`
	// Health is the health check's state; nil when the server is not
	// checked.
	Health *health.Status `json:"health,omitempty"`
}
