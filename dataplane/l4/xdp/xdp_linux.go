//go:build linux

package xdp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/lvslab/lvslab/dataplane/l4"
)

// DefaultMaxFlows is the flows map's default size.
const DefaultMaxFlows = 1 << 16

// FastPath is the XDP program and its flows map, attached to one
// interface. It implements l4.FastPath.
type FastPath struct {
	prog  *ebpf.Program
	flows *ebpf.Map
	link  link.Link
	name  string

	keys   [][keySize]byte // Walk's buffers
	values [][valueSize]byte
}

var _ l4.FastPath = (*FastPath)(nil)

// Load builds the program and its map of at most maxFlows connections (0
// means DefaultMaxFlows; the kernel's LRU evicts the least recently used
// beyond it, whose packets then come up to the director, which installs
// them again). It is not attached yet.
func Load(maxFlows int) (*FastPath, error) {
	if maxFlows < 0 {
		return nil, fmt.Errorf("xdp: negative flows map size %d", maxFlows)
	}
	if maxFlows == 0 {
		maxFlows = DefaultMaxFlows
	}
	flows, err := ebpf.NewMap(&ebpf.MapSpec{Name: "lvslab_flows", Type: ebpf.LRUHash,
		KeySize: keySize, ValueSize: valueSize, MaxEntries: uint32(maxFlows)})
	if err != nil {
		return nil, fmt.Errorf("xdp: flows map: %w", err)
	}
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{Name: "lvslab_dr", Type: ebpf.XDP, License: "GPL",
		Instructions: program(flows.FD())})
	if err != nil {
		flows.Close()
		return nil, fmt.Errorf("xdp: program: %w", err)
	}
	return &FastPath{prog: prog, flows: flows}, nil
}

// Attach attaches the program to the named interface in native (driver)
// mode, in the calling thread's network namespace. It is detached when
// the FastPath is closed (or the process ends).
func (f *FastPath) Attach(ifname string) error {
	if f.link != nil {
		return fmt.Errorf("xdp: already attached to %s", f.name)
	}
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return fmt.Errorf("xdp: interface %q: %w", ifname, err)
	}
	l, err := link.AttachXDP(link.XDPOptions{Program: f.prog, Interface: ifi.Index, Flags: link.XDPDriverMode})
	if err != nil {
		return fmt.Errorf("xdp: attach to %s: %w", ifname, err)
	}
	f.link, f.name = l, ifname
	return nil
}

// Close detaches the program and frees it and its map.
func (f *FastPath) Close() error {
	var errs []error
	if f.link != nil {
		errs = append(errs, f.link.Close())
		f.link = nil
	}
	errs = append(errs, f.prog.Close(), f.flows.Close())
	return errors.Join(errs...)
}

// Install adds or replaces a connection's entry, its counters at zero.
func (f *FastPath) Install(fl l4.FastFlow) error {
	k, v := marshalKey(fl.FastKey), marshalValue(fl)
	if err := f.flows.Update(k[:], v[:], ebpf.UpdateAny); err != nil {
		return fmt.Errorf("xdp: install: %w", err)
	}
	return nil
}

// Lookup returns a connection's counters.
func (f *FastPath) Lookup(k l4.FastKey) (l4.FastStats, bool, error) {
	kb := marshalKey(k)
	var v [valueSize]byte
	if err := f.flows.Lookup(kb[:], v[:]); err != nil {
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return l4.FastStats{}, false, nil
		}
		return l4.FastStats{}, false, fmt.Errorf("xdp: lookup: %w", err)
	}
	return stats(v[:], monotonic()), true, nil
}

// Remove deletes a connection's entry and returns its last counters.
func (f *FastPath) Remove(k l4.FastKey) (l4.FastStats, bool, error) {
	kb := marshalKey(k)
	var v [valueSize]byte
	if err := f.flows.LookupAndDelete(kb[:], v[:]); err != nil {
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return l4.FastStats{}, false, nil
		}
		return l4.FastStats{}, false, fmt.Errorf("xdp: remove: %w", err)
	}
	return stats(v[:], monotonic()), true, nil
}

// walkBatch is the number of entries Walk reads per system call.
const walkBatch = 256

// Walk calls fn for every entry, reading them walkBatch at a time
// (BPF_MAP_LOOKUP_BATCH).
func (f *FastPath) Walk(fn func(l4.FastKey, l4.FastStats)) error {
	if f.keys == nil {
		f.keys, f.values = make([][keySize]byte, walkBatch), make([][valueSize]byte, walkBatch)
	}
	now := monotonic()
	var cursor ebpf.MapBatchCursor
	for {
		n, err := f.flows.BatchLookup(&cursor, f.keys, f.values, nil)
		for i := range n {
			fn(unmarshalKey(f.keys[i][:]), stats(f.values[i][:], now))
		}
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("xdp: walk: %w", err)
		}
	}
}

// Len returns the number of entries (for tests and diagnostics).
func (f *FastPath) Len() (int, error) {
	var k [keySize]byte
	var v [valueSize]byte
	n := 0
	it := f.flows.Iterate()
	for it.Next(&k, &v) {
		n++
	}
	return n, it.Err()
}

func stats(v []byte, now uint64) l4.FastStats {
	st := l4.FastStats{Packets: binary.NativeEndian.Uint64(v[vPackets:]), Bytes: binary.NativeEndian.Uint64(v[vBytes:])}
	if last := binary.NativeEndian.Uint64(v[vLast:]); last != 0 && now > last {
		st.Idle = time.Duration(now - last)
	}
	return st
}

// monotonic reads the clock bpf_ktime_get_ns reads, in nanoseconds.
func monotonic() uint64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts) // cannot fail for this clock
	return uint64(ts.Nano())
}

// WithPassProgram loads an XDP program that passes every frame and calls
// attach with its file descriptor, then drops its own reference: attached
// by netlink, the program stays until it is detached or the interface is
// deleted. On veth it gives the peer of a director's interface the NAPI
// context the director's XDP_TX transmits need (the kernel flushes them to
// the peer only if the peer has an XDP program).
func WithPassProgram(attach func(fd int) error) error {
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{Name: "lvslab_pass", Type: ebpf.XDP, License: "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, verdictPass), asm.Return()}})
	if err != nil {
		return fmt.Errorf("xdp: pass program: %w", err)
	}
	defer prog.Close()
	return attach(prog.FD())
}
