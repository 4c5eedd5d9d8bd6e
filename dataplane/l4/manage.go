package l4

import (
	"fmt"
	"net/netip"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/dataplane"
	"github.com/lvslab/lvslab/dataplane/l4/conntab"
)

func (k ServiceKey) internal() svcKey {
	return svcKey{proto: uint8(k.Proto), port: k.VIP.Port(), addr: u32(k.VIP.Addr())}
}

func maskOf(bits int) uint32 {
	if bits == 0 || bits >= 32 {
		return 0xffffffff
	}
	return ^uint32(0) << (32 - bits)
}

// AddService adds a virtual service (ipvsadm -A). Its connections are
// counted as IPVS counts them (dataplane.CountConnections).
func (d *Director) AddService(c ServiceConfig) error {
	if err := c.validate(); err != nil {
		return err
	}
	svc, err := dataplane.NewService(dataplane.Config{Scheduler: c.Scheduler, Now: d.now, Counting: dataplane.CountConnections})
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	k := c.Key.internal()
	if d.services[k] != nil {
		return fmt.Errorf("l4: service %v: %w", c.Key, ErrExists)
	}
	vs := &vservice{key: c.Key, k: k, svc: svc, dests: make(map[algorithms.ServerID]*dest)}
	vs.setPersistence(&c)
	d.services[k] = vs
	d.vips[k.addr]++
	return nil
}

func (vs *vservice) setPersistence(c *ServiceConfig) {
	vs.persist = 0
	if c.Persistence > 0 {
		vs.persist = seconds(c.Persistence)
	}
	vs.mask = c.PersistMask
	if vs.mask == 0 {
		vs.mask = 32
	}
	vs.maskv = maskOf(c.PersistMask)
}

// EditService changes a virtual service's scheduler and persistence
// (ipvsadm -E); connections and counters stay. Existing persistence
// templates keep the timeout and netmask they were made with.
func (d *Director) EditService(c ServiceConfig) error {
	if err := c.validate(); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	vs := d.services[c.Key.internal()]
	if vs == nil {
		return fmt.Errorf("l4: service %v: %w", c.Key, ErrNotFound)
	}
	if err := vs.svc.SetScheduler(c.Scheduler); err != nil {
		return err
	}
	vs.setPersistence(&c)
	return nil
}

// DeleteService removes a virtual service and its real servers (ipvsadm
// -D). Its connections are dropped at their next packet or timeout.
func (d *Director) DeleteService(k ServiceKey) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	ik := k.internal()
	vs := d.services[ik]
	if vs == nil {
		return fmt.Errorf("l4: service %v: %w", k, ErrNotFound)
	}
	for _, ds := range vs.order {
		ds.removed = true
		d.fastForget(ds)
		_ = vs.svc.RemoveServer(ds.id)
	}
	delete(d.services, ik)
	if d.vips[ik.addr]--; d.vips[ik.addr] == 0 {
		delete(d.vips, ik.addr)
	}
	return nil
}

// Service returns the live host of a virtual service: its scheduler, pool
// and counters, for health checks (SetDown), load monitors (Feedback,
// SetWeight) and statistics.
func (d *Director) Service(k ServiceKey) (*dataplane.Service, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	vs := d.services[k.internal()]
	if vs == nil {
		return nil, false
	}
	return vs.svc, true
}

// Services returns the virtual services' keys, by VIP, port and protocol.
func (d *Director) Services() []ServiceKey {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []ServiceKey
	for _, vs := range d.sortedServices() {
		out = append(out, vs.key)
	}
	return out
}

func (d *Director) lookupService(k ServiceKey) (*vservice, error) {
	vs := d.services[k.internal()]
	if vs == nil {
		return nil, fmt.Errorf("l4: service %v: %w", k, ErrNotFound)
	}
	return vs, nil
}

func (vs *vservice) byAddr(a netip.AddrPort) *dest {
	for _, ds := range vs.order {
		if ds.addr == u32(a.Addr()) && (a.Port() == 0 || a.Port() == ds.port) {
			return ds
		}
	}
	return nil
}

// AddServer adds a real server to a virtual service (ipvsadm -a). For DR
// and TUN a zero port in the server's address means the service's port.
// Its next hop is resolved now and every second after.
func (d *Director) AddServer(k ServiceKey, rs RealServer) error {
	if err := rs.validate(k); err != nil {
		return err
	}
	if rs.Method != NAT {
		rs.Addr = netip.AddrPortFrom(rs.Addr.Addr(), k.VIP.Port())
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	vs, err := d.lookupService(k)
	if err != nil {
		return err
	}
	if vs.dests[rs.ID] != nil {
		return fmt.Errorf("l4: service %v: real server ID %d: %w", k, rs.ID, ErrExists)
	}
	if vs.byAddr(rs.Addr) != nil {
		return fmt.Errorf("l4: service %v: real server %v: %w", k, rs.Addr, ErrExists)
	}
	if err := vs.svc.AddServer(rs.Server); err != nil {
		return fmt.Errorf("l4: service %v: %w", k, err)
	}
	ds := &dest{vs: vs, id: rs.ID, addr: u32(rs.Addr.Addr()), port: rs.Addr.Port(), method: rs.Method}
	d.resolve(ds)
	vs.dests[rs.ID] = ds
	vs.order = append(vs.order, ds)
	return nil
}

// EditServer changes the weight, thresholds and forwarding method of the
// real server with rs's address (ipvsadm -e). Connections already made
// keep their method, as in IPVS.
func (d *Director) EditServer(k ServiceKey, rs RealServer) error {
	if err := rs.validate(k); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	vs, err := d.lookupService(k)
	if err != nil {
		return err
	}
	ds := vs.byAddr(rs.Addr)
	if ds == nil {
		return fmt.Errorf("l4: service %v: real server %v: %w", k, rs.Addr, ErrNotFound)
	}
	if rs.Method == NAT && ds.method != NAT && rs.Addr.Port() != ds.port {
		return fmt.Errorf("l4: service %v: real server %v: changing the port is deleting and adding the server", k, rs.Addr)
	}
	if err := vs.svc.SetWeight(ds.id, rs.Weight); err != nil {
		return err
	}
	if err := vs.svc.SetThresholds(ds.id, rs.Upper, rs.Lower); err != nil {
		return err
	}
	ds.method = rs.Method
	return nil
}

// DeleteServer removes the real server with the given address from a
// virtual service (ipvsadm -d; a zero port matches any). Its connections
// are dropped at their next packet or timeout, as IPVS's
// expire_nodest_conn does.
func (d *Director) DeleteServer(k ServiceKey, a netip.AddrPort) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	vs, err := d.lookupService(k)
	if err != nil {
		return err
	}
	ds := vs.byAddr(a)
	if ds == nil {
		return fmt.Errorf("l4: service %v: real server %v: %w", k, a, ErrNotFound)
	}
	ds.removed = true
	d.fastForget(ds) // their next packets come up, and end them
	_ = vs.svc.RemoveServer(ds.id)
	delete(vs.dests, ds.id)
	vs.order = slicesDelete(vs.order, ds)
	return nil
}

func slicesDelete(s []*dest, x *dest) []*dest {
	out := s[:0]
	for _, v := range s {
		if v != x {
			out = append(out, v)
		}
	}
	return out
}

// SetMethod changes the forwarding method of the real server with the
// given address (a zero port matches any): ipvsadm -e with only -g, -i or
// -m. Connections already made keep theirs. A server reached by DR or TUN
// listens on the service's port, so it cannot become NAT on another one.
func (d *Director) SetMethod(k ServiceKey, a netip.AddrPort, m Method) error {
	if m < NAT || m > DR {
		return fmt.Errorf("l4: service %v: real server %v: unknown forwarding method", k, a)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	vs, err := d.lookupService(k)
	if err != nil {
		return err
	}
	ds := vs.byAddr(a)
	if ds == nil {
		return fmt.Errorf("l4: service %v: real server %v: %w", k, a, ErrNotFound)
	}
	if m != NAT && ds.port != k.VIP.Port() {
		return fmt.Errorf("l4: service %v: real server %v: %v delivers to the service's port %d; port mapping needs nat",
			k, netip.AddrPortFrom(addr(ds.addr), ds.port), m, k.VIP.Port())
	}
	ds.method = m
	return nil
}

// Flush ends every connection and removes every persistence template, as
// if each had timed out now: the pool's counts go back to zero. A
// director that stops forwarding calls it, so that its services' counts
// stay true.
func (d *Director) Flush() {
	d.mu.Lock()
	defer d.mu.Unlock()
	// Connections first, then the templates they no longer control.
	var conns, templates []*conntab.Entry[conn]
	d.tab.Range(func(e *conntab.Entry[conn]) bool {
		if e.Template {
			templates = append(templates, e)
		} else {
			conns = append(conns, e)
		}
		return true
	})
	for _, e := range conns {
		d.fastRemove(e)
		e.Value.lease.Done()
		d.tab.Remove(e)
	}
	for _, e := range templates {
		d.tab.Remove(e)
	}
}
