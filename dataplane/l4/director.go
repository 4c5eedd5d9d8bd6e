package l4

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/dataplane"
	"github.com/lvslab/lvslab/dataplane/l4/conntab"
	"github.com/lvslab/lvslab/dataplane/l4/packet"
	"github.com/lvslab/lvslab/dataplane/link"
)

// Errors of the management interface.
var (
	ErrExists   = errors.New("l4: already exists")
	ErrNotFound = errors.New("l4: not found")
)

// Director is a user-space IPVS: virtual services, their real servers,
// the connection table and the forwarding of frames between its ports.
// Its methods are safe for concurrent use: one mutex serialises frame
// processing, timer ticks and management, so a batch of frames is handled
// and sent as one critical section.
type Director struct {
	mu       sync.Mutex
	ports    []port
	nb       Neighbors
	now      func() time.Time
	origin   time.Time
	timeouts conntab.Timeouts
	tab      *conntab.Table[conn]
	batch    int

	services map[svcKey]*vservice
	vips     map[uint32]int // VIP -> number of services on it

	drops      [NumDrops]uint64
	passes     [NumPasses]uint64
	arpReplies uint64
	icmpSent   uint64
	ipid       uint16
	fast       FastCounters
	fastN      int    // connections installed in fast paths
	estTick    uint32 // last tick the rate estimator ran

	// per batch
	tx      [][]link.Frame // frames to send, per port
	scratch []byte         // buffers for frames the director writes
	used    int
	bufSize int
	req     algorithms.Request
}

type port struct {
	link link.Link
	mac  [6]byte
	mtu  int
	addr uint32   // 0 if none
	fp   FastPath // nil if none
}

type svcKey struct {
	proto uint8
	port  uint16
	addr  uint32
}

type vservice struct {
	key     ServiceKey
	k       svcKey
	svc     *dataplane.Service
	persist uint32 // seconds, 0 off
	mask    int    // prefix length
	maskv   uint32
	dests   map[algorithms.ServerID]*dest
	order   []*dest // in the order added
	stats   counters
}

type dest struct {
	vs       *vservice
	id       algorithms.ServerID
	addr     uint32
	port     uint16 // NAT: the server's port; DR, TUN: the service's
	method   Method
	hopPort  int
	hopMAC   [6]byte
	resolved bool
	removed  bool
	fast     int // connections installed in a fast path
	stats    counters
}

// conn is the director's part of a connection entry.
type conn struct {
	lease  dataplane.Lease
	dest   *dest
	cmac   [6]byte // the MAC the client's frames come from: replies and ICMP for it go there
	cport  uint8   // and the port they come in by
	method Method  // fixed when the connection is made, as IPVS's cp->flags
	fast   bool    // installed in the fast path of port cport
	fseen  bool    // found in the fast path by the current sweep
	// The fast path's counters as last folded into the statistics: the
	// packets modulo 2^32 (folded every 2 s, they cannot wrap between
	// two folds), the bytes in full.
	fpkts  uint32
	fbytes uint64
}

// New returns a director with no services.
func New(cfg Config) (*Director, error) {
	if len(cfg.Ports) == 0 {
		return nil, errors.New("l4: a director needs at least one port")
	}
	if len(cfg.Ports) > 255 {
		return nil, fmt.Errorf("l4: %d ports, at most 255", len(cfg.Ports))
	}
	if cfg.Neighbors == nil {
		return nil, errors.New("l4: a director needs a neighbour resolver")
	}
	if cfg.MaxConns < 0 {
		return nil, fmt.Errorf("l4: negative MaxConns %d", cfg.MaxConns)
	}
	if cfg.Batch < 0 {
		return nil, fmt.Errorf("l4: negative Batch %d", cfg.Batch)
	}
	to, err := cfg.Timeouts.table()
	if err != nil {
		return nil, err
	}
	d := &Director{
		nb: cfg.Neighbors, now: cfg.Now, timeouts: to, batch: cfg.Batch,
		services: make(map[svcKey]*vservice), vips: make(map[uint32]int),
	}
	if d.now == nil {
		d.now = time.Now
	}
	if d.batch == 0 {
		d.batch = 64
	}
	maxConns := cfg.MaxConns
	if maxConns == 0 {
		maxConns = DefaultMaxConns
	}
	seed := cfg.Seed
	if seed == 0 {
		var b [8]byte
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
		seed = binary.LittleEndian.Uint64(b[:])
	}
	d.tab = conntab.New[conn](maxConns, seed)
	mtu := 0
	for i, p := range cfg.Ports {
		if p.Link == nil {
			return nil, fmt.Errorf("l4: port %d has no link", i)
		}
		mac := p.Link.MAC()
		if len(mac) != 6 {
			return nil, fmt.Errorf("l4: port %d: MAC %v is not an Ethernet address", i, mac)
		}
		if p.Link.MTU() < 68 {
			return nil, fmt.Errorf("l4: port %d: MTU %d below IPv4's minimum 68", i, p.Link.MTU())
		}
		if p.Addr.IsValid() && !p.Addr.Is4() {
			return nil, fmt.Errorf("l4: port %d: address %v is not IPv4", i, p.Addr)
		}
		pt := port{link: p.Link, mtu: p.Link.MTU(), addr: u32(p.Addr), fp: p.FastPath}
		copy(pt.mac[:], mac)
		d.ports = append(d.ports, pt)
		mtu = max(mtu, pt.mtu)
	}
	// Each frame may turn into two written frames (an IPIP datagram
	// split in two) or one ICMP error or ARP reply.
	d.bufSize = max(packet.EthLen+packet.IPv4Len+mtu, packet.ICMPFrameMax)
	d.scratch = make([]byte, 2*d.batch*d.bufSize)
	d.tx = make([][]link.Frame, len(d.ports))
	d.origin = d.now()
	return d, nil
}

// table returns the timeouts in whole seconds, IPVS's where unset.
func (t Timeouts) table() (conntab.Timeouts, error) {
	to := conntab.DefaultTimeouts
	set := []struct {
		s conntab.State
		d time.Duration
	}{
		{conntab.Established, t.Established}, {conntab.SynSent, t.SynSent}, {conntab.SynRecv, t.SynRecv},
		{conntab.FinWait, t.FinWait}, {conntab.TimeWait, t.TimeWait}, {conntab.Close, t.Close},
		{conntab.CloseWait, t.CloseWait}, {conntab.LastAck, t.LastAck}, {conntab.Listen, t.Listen},
		{conntab.SynAck, t.SynAck}, {conntab.UDP, t.UDP},
	}
	for _, x := range set {
		if x.d < 0 {
			return to, fmt.Errorf("l4: negative %v timeout %v", x.s, x.d)
		}
		if x.d > 0 {
			to[x.s] = seconds(x.d)
		}
	}
	return to, nil
}

// seconds rounds d up to whole seconds, at least 1, at most about 68 years.
func seconds(d time.Duration) uint32 {
	s := (d + time.Second - 1) / time.Second
	return uint32(min(max(s, 1), 1<<31))
}

func u32(a netip.Addr) uint32 {
	if !a.Is4() {
		return 0
	}
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

func addr(v uint32) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	return netip.AddrFrom4(b)
}

// tick converts a time to the table's clock: whole seconds since New.
func (d *Director) tickOf(now time.Time) uint32 {
	s := now.Sub(d.origin) / time.Second
	if s < 0 {
		return 0
	}
	return uint32(min(s, 1<<32-1))
}

// advance runs the timers up to now: expired connections and templates,
// the rate estimator every 2 s, and neighbour resolution every second.
func (d *Director) advance(now time.Time) uint32 {
	tick := d.tickOf(now)
	if tick <= d.tab.Now() {
		return d.tab.Now()
	}
	d.tab.Advance(tick, d.expire)
	d.resolveAll()
	d.estimate(tick)
	return tick
}

// expire is the table's timeout callback (ip_vs_conn_expire).
func (d *Director) expire(e *conntab.Entry[conn]) {
	if e.Template {
		if e.Controlled() > 0 { // never while it controls connections
			d.tab.Refresh(e, d.tab.Now(), e.Value.dest.vs.persist)
			return
		}
		d.tab.Remove(e)
		return
	}
	if e.Value.fast {
		if d.fastAlive(e) { // its packets bypass the director
			return
		}
		d.fastRemove(e)
	}
	e.Value.lease.Done()
	d.tab.Remove(e)
}

// expireNow ends a connection before its timeout.
func (d *Director) expireNow(e *conntab.Entry[conn]) {
	if !e.Template {
		d.fastRemove(e)
		e.Value.lease.Done()
	}
	d.tab.Remove(e)
}

// Tick runs the director's timers up to now. Run calls it every second;
// a caller driving Process calls it to let time pass without frames.
func (d *Director) Tick(now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.advance(now)
}

// Process handles frames received on port in at time now and returns the
// frames to transmit, indexed by port. The returned frames point into the
// received frames (rewritten in place) and into the director's own
// buffers; both are valid until the next call to Process (or until the
// next Recv on the links the frames came from).
func (d *Director) Process(now time.Time, in int, frames []link.Frame) [][]link.Frame {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.process(now, in, frames)
}

func (d *Director) process(now time.Time, in int, frames []link.Frame) [][]link.Frame {
	for i := range d.tx {
		d.tx[i] = d.tx[i][:0]
	}
	d.used = 0
	if in < 0 || in >= len(d.ports) {
		return d.tx
	}
	tick := d.advance(now)
	for i := range frames {
		d.handle(tick, in, &frames[i])
	}
	return d.tx
}

// Run forwards frames between the ports until ctx ends or a link fails:
// one goroutine per port receives a batch, processes and sends it under
// the director's lock; another runs the timers every second. When it
// returns it has closed every port's link.
func (d *Director) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, len(d.ports))
	var wg sync.WaitGroup
	for i := range d.ports {
		wg.Go(func() { errc <- d.receive(ctx, i) })
	}
	wg.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				d.Tick(d.now())
			}
		}
	})
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	cancel()
	for _, p := range d.ports {
		_ = p.link.Close()
	}
	wg.Wait()
	return err
}

func (d *Director) receive(ctx context.Context, i int) error {
	frames := make([]link.Frame, d.batch)
	l := d.ports[i].link
	for {
		n, err := l.Recv(frames)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("l4: port %d: %w", i, err)
		}
		d.mu.Lock()
		out := d.process(d.now(), i, frames[:n])
		for p, fs := range out {
			if len(fs) == 0 {
				continue
			}
			if err := d.ports[p].link.Send(fs); err != nil {
				d.drops[DropSendError] += uint64(len(fs))
			}
		}
		d.mu.Unlock()
	}
}

// buf returns a transmit buffer of the director's own, or nil when the
// batch used them all.
func (d *Director) buf() []byte {
	if d.used+d.bufSize > len(d.scratch) {
		return nil
	}
	b := d.scratch[d.used : d.used+d.bufSize]
	d.used += d.bufSize
	return b
}

func (d *Director) emit(p int, frame []byte) { d.tx[p] = append(d.tx[p], link.Frame{Data: frame}) }

// handle is the per-frame entry point: checks common to every frame, then
// ARP or IPv4.
func (d *Director) handle(tick uint32, in int, f *link.Frame) {
	if f.Truncated {
		d.drops[DropTruncated]++
		return
	}
	var p packet.Packet
	if r := packet.Parse(f.Data, &p); r != packet.OK {
		d.drops[r]++
		return
	}
	pt := &d.ports[in]
	if [6]byte(f.Data[6:12]) == pt.mac {
		d.passes[PassOwnFrame]++
		return
	}
	toUs := [6]byte(f.Data[0:6]) == pt.mac
	switch p.EtherType {
	case packet.EtherTypeIPv4:
		if !toUs {
			d.passes[PassOtherHost]++
			return
		}
		d.ipv4(tick, in, &p, f.CsumPartial)
	case packet.EtherTypeARP:
		if !toUs && f.Data[0]&1 == 0 { // neither ours nor broadcast
			d.passes[PassOtherHost]++
			return
		}
		d.arp(in, f.Data)
	default:
		d.passes[PassNotIPv4]++
	}
}

// arp answers a request for a VIP with the port's MAC address (the
// director owns the VIPs on its segments; DR and TUN real servers hold
// them on lo with arp_ignore).
func (d *Director) arp(in int, frame []byte) {
	var a packet.ARP
	if r := packet.ParseARP(frame, &a); r != packet.OK {
		d.drops[r]++
		return
	}
	if a.Op != packet.ARPRequest || d.vips[a.TPA] == 0 {
		d.passes[PassARP]++
		return
	}
	b := d.buf()
	if b == nil {
		d.drops[DropNoBuffer]++
		return
	}
	n := packet.ARPReplyFrame(b, &a, d.ports[in].mac)
	d.emit(in, b[:n])
	d.arpReplies++
}

func badSource(a uint32) bool {
	return a == 0 || a == 0xffffffff || a>>24 == 127 || a>>28 == 0xe
}

func (d *Director) ipv4(tick uint32, in int, p *packet.Packet, partial bool) {
	if d.vips[p.Dst] > 0 {
		if badSource(p.Src) {
			d.drops[DropBadSource]++
			return
		}
		switch p.Proto {
		case packet.ProtoTCP, packet.ProtoUDP:
			if p.IsFragment() {
				d.drops[DropFragment]++
				return
			}
			vs := d.services[svcKey{proto: p.Proto, port: p.DstPort, addr: p.Dst}]
			if vs == nil {
				d.passes[PassNoService]++
				return
			}
			d.request(tick, in, vs, p, partial)
		case packet.ProtoICMP:
			d.icmpIn(tick, in, p)
		default:
			d.passes[PassNoService]++
		}
		return
	}
	switch p.Proto {
	case packet.ProtoTCP, packet.ProtoUDP:
		if !p.HasPorts { // a later fragment: nothing to match it by
			d.passes[PassNotOurs]++
			return
		}
		e := d.tab.LookupOut(p.Proto, p.Src, p.SrcPort, p.Dst, p.DstPort)
		if e == nil {
			d.passes[PassNotOurs]++
			return
		}
		if p.IsFragment() {
			d.drops[DropFragment]++
			return
		}
		d.reply(tick, in, e, p, partial)
	case packet.ProtoICMP:
		d.icmpOut(tick, in, p)
	default:
		d.passes[PassNotOurs]++
	}
}

// request handles a client's packet for virtual service vs (ip_vs_in).
func (d *Director) request(tick uint32, in int, vs *vservice, p *packet.Packet, partial bool) {
	k := conntab.Key{Proto: p.Proto, CAddr: p.Src, CPort: p.SrcPort, VAddr: p.Dst, VPort: p.DstPort}
	isTCP := p.Proto == packet.ProtoTCP
	newConn := !isTCP || p.Flags&(packet.SYN|packet.RST) == packet.SYN
	e := d.tab.Lookup(k)
	if e != nil {
		switch {
		case e.Value.dest.removed:
			// The real server was deleted: end the connection
			// (expire_nodest_conn) and schedule it again if this
			// packet may open one.
			d.expireNow(e)
			e = nil
			if !newConn {
				d.drops[DropDestRemoved]++
				return
			}
		case isTCP && newConn && p.Seq != e.ISN:
			// A SYN with another initial sequence number is a new
			// connection on a reused client port: schedule it afresh.
			// A retransmitted SYN (same ISN) keeps its real server.
			d.expireNow(e)
			e = nil
		}
	}
	if e == nil {
		if !newConn {
			d.drops[DropNoConn]++
			return
		}
		var why Drop
		if e, why = d.schedule(tick, in, vs, p); e == nil {
			d.drops[why]++
			return
		}
	}
	c := &e.Value
	if isTCP {
		dir := conntab.Input
		if c.method != NAT {
			dir = conntab.InputOnly
		}
		d.setState(e, tick, dir, p.Flags)
	} else {
		d.tab.Refresh(e, tick, d.timeouts[conntab.UDP])
	}
	if d.transmit(in, e, p, partial) {
		c.dest.stats.in(p.Len)
		c.dest.vs.stats.in(p.Len)
		c.lease.Transferred(0, p.Len)
		if isTCP {
			d.fastInstall(e, p)
		}
	}
}

// setState moves a TCP connection through IPVS's state machine and keeps
// the pool's active/inactive counts with it (set_tcp_state).
func (d *Director) setState(e *conntab.Entry[conn], tick uint32, dir conntab.Dir, flags uint8) {
	ns := conntab.NextTCP(e.State, dir, flags)
	if ns != e.State {
		if ns == conntab.Established {
			e.Value.lease.Established()
		} else if e.State == conntab.Established {
			e.Value.lease.Deactivate()
			d.fastRemove(e)
		}
		e.State = ns
	}
	d.tab.Refresh(e, tick, d.timeouts[ns])
}

// schedule makes the connection entry for the first packet of a
// connection: through the service's persistence template if it has one
// (ip_vs_sched_persist), else by asking the scheduler (ip_vs_schedule).
func (d *Director) schedule(tick uint32, in int, vs *vservice, p *packet.Packet) (*conntab.Entry[conn], Drop) {
	if d.tab.Len() >= d.tab.Max() {
		return nil, DropTableFull
	}
	r := &d.req
	*r = algorithms.Request{Client: addr(p.Src), ClientPort: p.SrcPort, Dest: addr(p.Dst), DestPort: p.DstPort}
	var (
		lease dataplane.Lease
		err   error
		tmpl  *conntab.Entry[conn]
	)
	if vs.persist > 0 {
		tk := conntab.Key{Proto: p.Proto, Template: true, CAddr: p.Src & vs.maskv, VAddr: p.Dst, VPort: p.DstPort}
		if tmpl = d.tab.Lookup(tk); tmpl != nil {
			td := tmpl.Value.dest
			if !td.removed {
				lease, err = vs.svc.Bind(td.id, r)
			}
			if td.removed || err != nil { // ip_vs_check_template: the server is gone or down
				d.invalidate(tmpl)
				tmpl = nil
			}
		}
		if tmpl == nil {
			if d.tab.Len()+2 > d.tab.Max() {
				return nil, DropTableFull
			}
			if lease, err = vs.svc.Pick(r); err != nil {
				return nil, schedDrop(err)
			}
			tmpl = d.tab.Insert(tk, tick, vs.persist)
			tmpl.Value.dest = vs.dests[lease.ID]
		} else {
			d.tab.Refresh(tmpl, tick, vs.persist)
		}
	} else if lease, err = vs.svc.Pick(r); err != nil {
		return nil, schedDrop(err)
	}
	ds := vs.dests[lease.ID]
	if ds == nil { // cannot happen: the service and the director add servers together
		lease.Done()
		if tmpl != nil && tmpl.Controlled() == 0 {
			d.tab.Remove(tmpl)
		}
		return nil, DropNoServer
	}
	if tmpl != nil {
		tmpl.DAddr, tmpl.DPort = ds.addr, ds.port
	}
	k := conntab.Key{Proto: p.Proto, CAddr: p.Src, CPort: p.SrcPort, VAddr: p.Dst, VPort: p.DstPort}
	e := d.tab.Insert(k, tick, d.timeouts[conntab.None])
	e.DAddr, e.DPort = ds.addr, ds.port
	e.ISN = p.Seq
	if p.Proto == packet.ProtoUDP {
		e.State = conntab.UDP
	}
	e.Value = conn{lease: lease, dest: ds, cmac: [6]byte(p.Frame[6:12]), cport: uint8(in), method: ds.method}
	if ds.method == NAT {
		d.tab.HashOut(e)
	}
	if tmpl != nil {
		d.tab.SetControl(e, tmpl)
	}
	e.Value.lease.Connected()
	ds.stats.Conns++
	vs.stats.Conns++
	return e, 0
}

func schedDrop(err error) Drop {
	if errors.Is(err, algorithms.ErrNoServer) {
		return DropNoServer
	}
	return DropSchedError
}

// invalidate takes a template whose server is unavailable out of the
// index, so that the client is scheduled afresh; it lives on while it
// still controls connections (ip_vs_check_template).
func (d *Director) invalidate(t *conntab.Entry[conn]) {
	if t.Controlled() == 0 {
		d.tab.Remove(t)
		return
	}
	d.tab.Unhash(t)
}

// reply handles a NAT real server's packet to a client (handle_response).
func (d *Director) reply(tick uint32, in int, e *conntab.Entry[conn], p *packet.Packet, partial bool) {
	c := &e.Value
	if c.dest.removed {
		d.expireNow(e)
		d.drops[DropDestRemoved]++
		return
	}
	if p.Proto == packet.ProtoTCP {
		d.setState(e, tick, conntab.Output, p.Flags)
	} else {
		d.tab.Refresh(e, tick, d.timeouts[conntab.UDP])
	}
	out := int(c.cport)
	if !d.ttlOK(in, p, e.VAddr) || !d.fits(in, p, e.VAddr, d.ports[out].mtu) {
		return
	}
	p.DecTTL()
	p.SetSrc(e.VAddr, e.VPort, partial)
	if partial {
		p.CompleteL4()
	}
	packet.SetMACs(p.Frame, c.cmac, d.ports[out].mac)
	d.emit(out, p.Frame)
	c.dest.stats.out(p.Len)
	c.dest.vs.stats.out(p.Len)
	c.lease.Transferred(p.Len, 0)
}

// ttlOK answers a packet whose TTL would expire with ICMP time exceeded
// from src and reports false (decrement_ttl in ip_vs_xmit.c).
func (d *Director) ttlOK(in int, p *packet.Packet, src uint32) bool {
	if p.TTL > 1 {
		return true
	}
	d.drops[DropTTL]++
	if p.Proto != packet.ProtoICMP { // never an error about an error
		d.icmpError(in, p, src, packet.ICMPTimeExceeded, packet.ICMPTTLExceeded, 0)
	}
	return false
}

// fits reports whether p can leave by a link of the given MTU unchanged;
// if not, a DF packet is answered with ICMP fragmentation needed from src
// (ensure_mtu_is_adequate) and any other is dropped: the director
// fragments only tunnels' outer datagrams.
func (d *Director) fits(in int, p *packet.Packet, src uint32, mtu int) bool {
	if p.Len <= mtu {
		return true
	}
	if p.DF() && p.Proto != packet.ProtoICMP {
		d.drops[DropFragNeeded]++
		d.icmpError(in, p, src, packet.ICMPDestUnreach, packet.ICMPFragNeeded, uint32(mtu))
		return false
	}
	d.drops[DropTooBig]++
	return false
}

func (d *Director) icmpError(in int, p *packet.Packet, src uint32, typ, code uint8, rest uint32) {
	b := d.buf()
	if b == nil {
		d.drops[DropNoBuffer]++
		return
	}
	d.ipid++
	if n := packet.ICMPError(b, p, src, typ, code, rest, d.ports[in].mac, d.ipid); n > 0 {
		d.emit(in, b[:n])
		d.icmpSent++
	}
}

// transmit forwards a client's packet to the connection's real server:
// the checks every method shares, then the method's handler. It reports
// whether the packet was sent.
func (d *Director) transmit(in int, e *conntab.Entry[conn], p *packet.Packet, partial bool) bool {
	ds := e.Value.dest
	if !ds.resolved {
		d.drops[DropNoNeighbor]++
		return false
	}
	if !d.ttlOK(in, p, p.Dst) {
		return false
	}
	// A switch, not a table of functions: a call through a function
	// value would make the parsed packet escape to the heap.
	switch e.Value.method {
	case NAT:
		return natXmit(d, in, e, p, partial)
	case TUN:
		return tunXmit(d, in, e, p, partial)
	case DR:
		return drXmit(d, in, e, p, partial)
	}
	return false
}

// The forwarders are the methods' handlers for a client's packet to its
// real server: each rewrites the packet (or writes a new frame) and
// queues it on the real server's port, or drops it, counting why, and
// reports false.

// natXmit rewrites the destination to the real server's address and port
// (ip_vs_nat_xmit, tcp_dnat_handler, udp_dnat_handler).
func natXmit(d *Director, in int, e *conntab.Entry[conn], p *packet.Packet, partial bool) bool {
	ds := e.Value.dest
	out := &d.ports[ds.hopPort]
	if !d.fits(in, p, p.Dst, out.mtu) {
		return false
	}
	p.DecTTL()
	p.SetDst(e.DAddr, e.DPort, partial)
	if partial {
		p.CompleteL4()
	}
	packet.SetMACs(p.Frame, ds.hopMAC, out.mac)
	d.emit(ds.hopPort, p.Frame)
	return true
}

// drXmit rewrites only the MAC addresses: the real server's, the
// director's (ip_vs_dr_xmit).
func drXmit(d *Director, in int, e *conntab.Entry[conn], p *packet.Packet, partial bool) bool {
	ds := e.Value.dest
	out := &d.ports[ds.hopPort]
	if !d.fits(in, p, p.Dst, out.mtu) {
		return false
	}
	p.DecTTL()
	if partial {
		p.CompleteL4()
	}
	packet.SetMACs(p.Frame, ds.hopMAC, out.mac)
	d.emit(ds.hopPort, p.Frame)
	return true
}

// tunXmit encapsulates the packet in IPIP (ip_vs_tunnel_xmit).
func tunXmit(d *Director, in int, e *conntab.Entry[conn], p *packet.Packet, partial bool) bool {
	ds := e.Value.dest
	return d.tunnel(in, ds, &d.ports[ds.hopPort], p, partial)
}

// tunnel encapsulates p in IPIP to its real server (ip_vs_tunnel_xmit):
// the outer header copies the inner TTL, DF and DSCP (ECN as RFC 6040); a
// DF packet that no longer fits gets ICMP fragmentation needed with the
// tunnel's MTU (the link's less the outer header), any other is sent as
// outer fragments.
func (d *Director) tunnel(in int, ds *dest, out *port, p *packet.Packet, partial bool) bool {
	if out.addr == 0 {
		d.drops[DropNoTunnelSource]++
		return false
	}
	room := out.mtu - packet.IPv4Len
	if p.Len > room && p.DF() {
		if p.Proto == packet.ProtoICMP {
			d.drops[DropTooBig]++
			return false
		}
		d.drops[DropFragNeeded]++
		d.icmpError(in, p, p.Dst, packet.ICMPDestUnreach, packet.ICMPFragNeeded, uint32(room))
		return false
	}
	p.DecTTL()
	if partial {
		p.CompleteL4()
	}
	d.ipid++
	o := packet.Outer{EthDst: ds.hopMAC, EthSrc: out.mac, Src: out.addr, Dst: ds.addr, ID: d.ipid,
		TOS: packet.EncapTOS(p.TOS), TTL: p.TTL, DF: p.DF()}
	inner := p.IPPacket()
	step := len(inner)
	if step > room {
		step = room &^ 7
	}
	// Check buffers first, so that a datagram is sent whole or not at all.
	if need := (len(inner) + step - 1) / step; d.used+need*d.bufSize > len(d.scratch) {
		d.drops[DropNoBuffer]++
		return false
	}
	for off := 0; off < len(inner); off += step {
		m := min(step, len(inner)-off)
		b := d.buf()
		n := packet.Encap(b, inner, off, m, off+m < len(inner), &o)
		d.emit(ds.hopPort, b[:n])
	}
	return true
}

// icmpIn handles ICMP addressed to a VIP: an error a client (or a router
// on its way) sends about a packet of a connection is passed to the
// connection's real server (ip_vs_in_icmp).
func (d *Director) icmpIn(tick uint32, in int, p *packet.Packet) {
	q, ok := d.icmpQuote(p)
	if !ok {
		return
	}
	// The quoted packet went from the virtual service to the client.
	e := d.tab.Lookup(conntab.Key{Proto: q.Proto, CAddr: q.Dst, CPort: q.DstPort, VAddr: q.Src, VPort: q.SrcPort})
	if e == nil {
		d.passes[PassICMPUnrelated]++
		return
	}
	c := &e.Value
	if c.dest.removed {
		d.drops[DropDestRemoved]++
		return
	}
	if !c.dest.resolved {
		d.drops[DropNoNeighbor]++
		return
	}
	out := &d.ports[c.dest.hopPort]
	if !d.ttlOK(in, p, p.Dst) {
		return
	}
	switch c.method {
	case NAT, DR:
		if !d.fits(in, p, p.Dst, out.mtu) {
			return
		}
		if c.method == NAT {
			p.NATICMP(&q, true, e.DAddr, e.DPort)
		}
		p.DecTTL()
		packet.SetMACs(p.Frame, c.dest.hopMAC, out.mac)
		d.emit(c.dest.hopPort, p.Frame)
	case TUN:
		if !d.tunnel(in, c.dest, out, p, false) {
			return
		}
	}
	c.dest.stats.in(p.Len)
	c.dest.vs.stats.in(p.Len)
}

// icmpQuote checks an ICMP message for a VIP that may concern a
// connection: an unfragmented error with a good checksum quoting a TCP or
// UDP header.
func (d *Director) icmpQuote(p *packet.Packet) (packet.Quoted, bool) {
	var q packet.Quoted
	switch p.ICMPType {
	case packet.ICMPDestUnreach, packet.ICMPSourceQuench, packet.ICMPTimeExceeded:
	default:
		d.passes[PassICMPUnrelated]++
		return q, false
	}
	if p.IsFragment() {
		d.drops[DropFragment]++
		return q, false
	}
	if packet.Checksum(p.Frame[p.L4:p.IP+p.Len]) != 0 {
		d.drops[DropBadICMPChecksum]++
		return q, false
	}
	if !packet.ParseQuoted(p.Frame, p.L4+packet.ICMPLen, p.IP+p.Len, &q) || !q.HasPorts ||
		q.Proto != packet.ProtoTCP && q.Proto != packet.ProtoUDP {
		d.drops[DropBadICMPQuote]++
		return q, false
	}
	return q, true
}

// icmpOut handles ICMP not addressed to a VIP: an error a NAT real server
// sends to a client about the client's packet (ip_vs_out_icmp), or an
// error about an IPIP datagram the director sent, which becomes an error
// for the client (ip_vs_in_icmp's IPIP case).
func (d *Director) icmpOut(tick uint32, in int, p *packet.Packet) {
	if p.ICMPType != packet.ICMPDestUnreach && p.ICMPType != packet.ICMPSourceQuench && p.ICMPType != packet.ICMPTimeExceeded {
		d.passes[PassNotOurs]++
		return
	}
	var q packet.Quoted
	if p.IsFragment() || !packet.ParseQuoted(p.Frame, p.L4+packet.ICMPLen, p.IP+p.Len, &q) {
		d.passes[PassNotOurs]++
		return
	}
	if q.Proto == packet.ProtoIPIP {
		d.icmpTunnel(in, p, &q)
		return
	}
	if !q.HasPorts || q.Proto != packet.ProtoTCP && q.Proto != packet.ProtoUDP {
		d.passes[PassNotOurs]++
		return
	}
	// The quoted packet went from the client to the real server.
	e := d.tab.LookupOut(q.Proto, q.Dst, q.DstPort, q.Src, q.SrcPort)
	if e == nil {
		d.passes[PassNotOurs]++
		return
	}
	if packet.Checksum(p.Frame[p.L4:p.IP+p.Len]) != 0 {
		d.drops[DropBadICMPChecksum]++
		return
	}
	c := &e.Value
	out := int(c.cport)
	if !d.ttlOK(in, p, e.VAddr) || !d.fits(in, p, e.VAddr, d.ports[out].mtu) {
		return
	}
	p.NATICMP(&q, false, e.VAddr, e.VPort)
	p.DecTTL()
	packet.SetMACs(p.Frame, c.cmac, d.ports[out].mac)
	d.emit(out, p.Frame)
	c.dest.stats.out(p.Len)
	c.dest.vs.stats.out(p.Len)
}

// icmpTunnel turns an error about one of the director's IPIP datagrams
// into an error for the client about its own packet, with the tunnel's
// overhead taken off a fragmentation-needed MTU (ip_vs_in_icmp).
func (d *Director) icmpTunnel(in int, p *packet.Packet, outer *packet.Quoted) {
	mine := false
	for i := range d.ports {
		mine = mine || d.ports[i].addr != 0 && d.ports[i].addr == outer.Src && p.Dst == outer.Src
	}
	var q packet.Quoted
	if !mine || outer.Frag&packet.FragOffset != 0 || !packet.ParseQuoted(p.Frame, outer.L4, p.IP+p.Len, &q) || !q.HasPorts {
		d.passes[PassNotOurs]++
		return
	}
	e := d.tab.Lookup(conntab.Key{Proto: q.Proto, CAddr: q.Src, CPort: q.SrcPort, VAddr: q.Dst, VPort: q.DstPort})
	if e == nil || e.Value.method != TUN {
		d.passes[PassICMPUnrelated]++
		return
	}
	if packet.Checksum(p.Frame[p.L4:p.IP+p.Len]) != 0 {
		d.drops[DropBadICMPChecksum]++
		return
	}
	rest := binary.BigEndian.Uint32(p.Frame[p.L4+4:])
	if p.ICMPType == packet.ICMPDestUnreach && p.ICMPCode == packet.ICMPFragNeeded {
		if q.Frag&packet.FlagDF == 0 {
			return // the client does not do path MTU discovery: the director fragments
		}
		mtu := rest & 0xffff
		if mtu > 68+packet.IPv4Len {
			mtu -= packet.IPv4Len
		}
		rest = mtu
	}
	c := &e.Value
	b := d.buf()
	if b == nil {
		d.drops[DropNoBuffer]++
		return
	}
	d.ipid++
	quote := p.Frame[q.IP : p.IP+p.Len]
	n := packet.ICMPErrorQuote(b, quote, q.Dst, q.Src, 0xc0, p.ICMPType, p.ICMPCode, rest, c.cmac, d.ports[c.cport].mac, d.ipid)
	if n == 0 {
		return
	}
	d.emit(int(c.cport), b[:n])
	d.icmpSent++
	c.dest.stats.out(n - packet.EthLen)
	c.dest.vs.stats.out(n - packet.EthLen)
}

// Resolve asks the neighbour resolver for every real server's next hop
// now, as the timers do every second: a resolver that has just learned an
// address calls it, so that the servers behind it get traffic at once.
func (d *Director) Resolve() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.resolveAll()
}

// resolveAll asks the neighbour resolver for every real server's next hop.
func (d *Director) resolveAll() {
	for _, vs := range d.services {
		for _, ds := range vs.order {
			d.resolve(ds)
		}
	}
}

func (d *Director) resolve(ds *dest) {
	h, ok := d.nb.Neighbor(addr(ds.addr))
	if !ok || h.Port < 0 || h.Port >= len(d.ports) || len(h.MAC) != 6 {
		ds.resolved = false
		d.fastForget(ds)
		return
	}
	if ds.hopPort != h.Port || ds.hopMAC != [6]byte(h.MAC) {
		d.fastForget(ds) // installed with the old next hop
	}
	ds.hopPort = h.Port
	ds.hopMAC = [6]byte(h.MAC)
	ds.resolved = true
}

// sortedServices returns the services in key order.
func (d *Director) sortedServices() []*vservice {
	out := make([]*vservice, 0, len(d.services))
	for _, vs := range d.services {
		out = append(out, vs)
	}
	slices.SortFunc(out, func(a, b *vservice) int {
		if c := a.key.VIP.Compare(b.key.VIP); c != 0 {
			return c
		}
		return int(a.key.Proto) - int(b.key.Proto)
	})
	return out
}
