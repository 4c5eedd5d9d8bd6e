package director

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/dataplane/ctl"
	"github.com/lvslab/lvslab/dataplane/l4"
	"github.com/lvslab/lvslab/dataplane/l4/live"
)

// ResolveTimeout bounds how long Run waits, before it reports ready, for
// the next hops (MAC addresses) of the layer-4 services' real servers.
const ResolveTimeout = 3 * time.Second

// layer4 opens the layer-4 director on first use, in the namespace of the
// calling thread (Run's, or the admin socket's for a service added by
// "lvslab ctl add-service", which is the process's), and forwards until
// Run's context ends.
func (d *director) layer4() (*live.Director, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.l4 != nil {
		return d.l4, nil
	}
	l4d, err := live.Open(live.Config{Interfaces: d.opt.Interfaces, XDP: d.opt.XDP, Options: live.Options{Logf: d.logf}})
	if err != nil {
		return nil, fmt.Errorf("layer 4: %w", err)
	}
	d.l4 = l4d
	var names []string
	for _, l := range l4d.Links() {
		names = append(names, l.Name)
	}
	d.logf("layer 4: forwarding on %s", strings.Join(names, ", "))
	d.wg.Go(func() {
		if err := l4d.Run(d.ctx); err != nil {
			d.fail(fmt.Errorf("layer 4: %w", err))
		}
	})
	return l4d, nil
}

// startL4 starts a layer-4 service; the caller registers it in the table.
func (d *director) startL4(s *Service) (*live.Service, error) {
	proto, err := l4.ParseProtocol(cmpOr(s.Proto, "tcp"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.Where, err)
	}
	vip, err := netip.ParseAddrPort(s.Listen)
	if err != nil {
		return nil, fmt.Errorf("%s: listen %q: want VIP:PORT", s.Where, s.Listen)
	}
	method, err := l4.ParseMethod(s.Mode)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.Where, err)
	}
	c := live.ServiceConfig{Key: l4.ServiceKey{Proto: proto, VIP: vip}, Name: s.Name, Scheduler: s.Alg, Options: s.Options,
		Persistence: s.Persistence, PersistMask: s.PersistMask, Method: method, Health: s.Health, Monitor: s.Monitor}
	for k, srv := range s.Servers {
		spec := ctl.ServerSpec{Addr: srv.Addr, Name: srv.Name, Weight: &srv.Weight, Upper: &srv.Upper, Lower: &srv.Lower}
		if k < len(s.ServerHealth) {
			spec.Health = s.ServerHealth[k]
		}
		if k < len(s.ServerModes) {
			spec.Forward = s.ServerModes[k]
		}
		c.Servers = append(c.Servers, spec)
	}
	l4d, err := d.layer4()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.Where, err)
	}
	ls, err := l4d.AddService(c)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.Where, err)
	}
	return ls, nil
}

// addL4Service is ctl's add-service for modes nat, tun and dr: a new
// layer-4 service with no servers (its mode is their default method).
func (d *director) addL4Service(spec ctl.ServiceSpec) (ctl.Service, error) {
	if spec.Addr.Port() == 0 || !spec.Addr.Addr().Is4() {
		return nil, errors.New("add-service: a layer-4 service is -t or -u IPv4 VIP:PORT, port not 0")
	}
	alg := cmpOr(spec.Scheduler, "wlc")
	if _, ok := algorithms.Lookup(alg); !ok {
		return nil, fmt.Errorf("add-service: unknown scheduler %q (known: %s)", alg, strings.Join(algorithms.Names(), ", "))
	}
	c, err := live.ConfigFromSpec(spec)
	if err != nil {
		return nil, err
	}
	s := &Service{Name: cmpOr(spec.Name, spec.Addr.String()), Mode: spec.Mode, Listen: spec.Addr.String(), Alg: alg,
		Proto: spec.Proto, Persistence: c.Persistence, PersistMask: c.PersistMask, Health: spec.Health,
		Where: "add-service " + spec.Key.Flag()}
	return d.startL4(s)
}

// waitResolved waits, at most ResolveTimeout, until the layer-4 services'
// real servers have known next hops, and logs those that do not.
func (d *director) waitResolved() {
	d.mu.Lock()
	l4d := d.l4
	d.mu.Unlock()
	if l4d == nil {
		return
	}
	ctx, cancel := context.WithTimeout(d.ctx, ResolveTimeout)
	defer cancel()
	if err := l4d.WaitResolved(ctx); err != nil {
		d.logf("layer 4: %v (their packets are dropped until it is known)", err)
	}
}

// logL4 logs the layer-4 services' counters and the director's drops.
func (d *director) logL4() {
	d.mu.Lock()
	l4d := d.l4
	d.mu.Unlock()
	if l4d == nil {
		return
	}
	st := l4d.Core().Stats()
	for _, s := range st.Services {
		d.logf("%s: %s conns=%d in_pkts=%d out_pkts=%d in_bytes=%d out_bytes=%d", s.Key, s.Scheduler,
			s.Conns, s.InPkts, s.OutPkts, s.InBytes, s.OutBytes)
		for _, r := range s.Servers {
			state := ""
			if r.Down {
				state = " down"
			}
			d.logf("%s: server %s conns=%d in_pkts=%d out_pkts=%d%s", s.Key, r.Addr, r.Conns, r.InPkts, r.OutPkts, state)
		}
	}
	var drops []string
	for i, n := range st.Drops {
		if n > 0 {
			drops = append(drops, fmt.Sprintf("%s=%d", l4.Drop(i), n))
		}
	}
	d.logf("layer 4: drops: %s", cmpOr(strings.Join(drops, " "), "none"))
	if f := st.Fast; f != (l4.FastCounters{}) {
		d.logf("layer 4: XDP fast path: installed=%d removed=%d evicted=%d errors=%d packets=%d",
			f.Installed, f.Removed, f.Evicted, f.Errors, f.Packets)
	}
}
