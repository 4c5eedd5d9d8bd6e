package ctl

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"time"
)

// Args are one verb's options as ipvsadm's command line gives them
// ("lvslab ctl"), unparsed; Request checks and parses them. A nil pointer
// is an option not given.
type Args struct {
	TCP, UDP string // -t, -u: the virtual service VIP:PORT

	// ServiceOptions is true for the verbs that take -s, -p, -M, --mode
	// and --name (add-service, edit-service).
	ServiceOptions bool
	Scheduler      string  // -s
	Persistent     *string // -p: the timeout in seconds
	Netmask        string  // -M
	Mode           *string // --mode
	Name           string  // --name: of the service, or of the server (add-server)

	// ServerOptions is true for the verbs that name a real server with -r
	// (add-server, edit-server, delete-server).
	ServerOptions        bool
	Real                 string // -r: RIP:PORT
	DR, Tun, NAT         bool   // -g, -i, -m
	Weight, Upper, Lower *int   // -w, -x, -y
}

// Request checks the options and returns the verb's request; an error
// names the option at fault.
func (a Args) Request(verb string) (Request, error) {
	req := Request{Verb: verb}
	switch {
	case a.TCP != "" && a.UDP != "":
		return req, errors.New("give -t or -u, not both")
	case a.TCP != "" || a.UDP != "":
		k := Key{Proto: TCP}
		v, flag := a.TCP, "-t"
		if a.UDP != "" {
			k.Proto, v, flag = UDP, a.UDP, "-u"
		}
		ap, err := netip.ParseAddrPort(v)
		if err != nil {
			return req, fmt.Errorf("%s %q: want ADDRESS:PORT", flag, v)
		}
		k.Addr = ap
		req.Service = &ServiceSpec{Key: k}
	}
	if a.ServiceOptions && req.Service != nil {
		s := req.Service
		s.Scheduler, s.Netmask, s.Name = a.Scheduler, a.Netmask, a.Name
		if a.Mode != nil {
			s.Mode = *a.Mode
		}
		if a.Persistent != nil {
			secs, err := strconv.Atoi(*a.Persistent)
			if err != nil || secs < 0 {
				return req, fmt.Errorf("-p %q: want a timeout in seconds", *a.Persistent)
			}
			d := time.Duration(secs) * time.Second
			s.Persistence = &d
		}
	}
	if a.ServerOptions {
		if a.Real == "" {
			return req, errors.New("-r RIP:PORT is required")
		}
		ap, err := netip.ParseAddrPort(a.Real)
		if err != nil {
			return req, fmt.Errorf("-r %q: want ADDRESS:PORT", a.Real)
		}
		srv := &ServerSpec{Addr: ap, Name: a.Name, Weight: a.Weight, Upper: a.Upper, Lower: a.Lower}
		n := 0
		for _, m := range []struct {
			set  bool
			name string
		}{{a.DR, ForwardDR}, {a.Tun, ForwardTun}, {a.NAT, ForwardNAT}} {
			if m.set {
				srv.Forward = m.name
				n++
			}
		}
		if n > 1 {
			return req, errors.New("give one of -g, -i and -m")
		}
		req.Server = srv
	}
	if req.Service == nil {
		switch verb {
		case VerbList, VerbZero, VerbHealth:
		default:
			return req, fmt.Errorf("%s: name the service with -t VIP:PORT", verb)
		}
	}
	return req, nil
}
