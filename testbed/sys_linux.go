package testbed

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"unsafe"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// CheckHost reports why this machine cannot host a testbed, or nil: it
// needs network namespaces, the right to make them (CAP_SYS_ADMIN) and a
// writable NetnsDir.
func CheckHost() error {
	if _, err := os.Stat("/proc/self/ns/net"); err != nil {
		return fmt.Errorf("testbed: no network namespaces: %w", err)
	}
	if err := os.MkdirAll(NetnsDir, 0o755); err != nil {
		return fmt.Errorf("testbed: %w", err)
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // the thread ends with the goroutine
		errc <- unix.Unshare(unix.CLONE_NEWNET)
	}()
	if err := <-errc; err != nil {
		return fmt.Errorf("testbed: unshare(CLONE_NEWNET): %w", err)
	}
	return nil
}

// inNS runs fn on a fresh OS thread that has joined the named namespace.
// The thread is never handed back to the Go scheduler (the goroutine exits
// locked, so the runtime ends the thread): no other goroutine can ever run
// in the wrong namespace. Sockets fn opens stay in the namespace after it
// returns; goroutines fn starts run on other threads, outside it.
func inNS(ns string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// No UnlockOSThread: the thread ends with the goroutine.
		h, err := netns.GetFromPath(filepath.Join(NetnsDir, ns))
		if err != nil {
			errc <- fmt.Errorf("namespace %s: %w", ns, err)
			return
		}
		err = netns.Set(h)
		h.Close()
		if err != nil {
			errc <- fmt.Errorf("entering namespace %s: %w", ns, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// createNS creates the named namespace, bind-mounted under NetnsDir.
func createNS(name string) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // the thread that unshares ends with the goroutine
		h, err := netns.NewNamed(name)
		if err == nil {
			h.Close()
		}
		errc <- err
	}()
	if err := <-errc; err != nil {
		return fmt.Errorf("creating namespace %s: %w", name, err)
	}
	return nil
}

// deleteNS unmounts and removes a named namespace; a missing one is no
// error, nor is a file left unmounted by a crash between its creation and
// its mount.
func deleteNS(name string) error {
	path := filepath.Join(NetnsDir, name)
	err := unix.Unmount(path, unix.MNT_DETACH)
	if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmounting %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing %s: %w", path, err)
	}
	return nil
}

// listNS lists the named namespaces.
func listNS() ([]string, error) {
	entries, err := os.ReadDir(NetnsDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names, nil
}

// nsInode is the inode number of a named namespace (0 if it is not mounted).
func nsInode(name string) uint64 {
	var st, dir unix.Stat_t
	path := filepath.Join(NetnsDir, name)
	if unix.Stat(path, &st) != nil || unix.Stat(NetnsDir, &dir) != nil || st.Dev == dir.Dev {
		return 0 // absent, or a plain file on the directory's file system
	}
	return st.Ino
}

// handleAt opens a netlink handle in the named namespace.
func handleAt(ns string) (*netlink.Handle, error) {
	h, err := netns.GetFromPath(filepath.Join(NetnsDir, ns))
	if err != nil {
		return nil, fmt.Errorf("namespace %s: %w", ns, err)
	}
	defer h.Close()
	nh, err := netlink.NewHandleAt(h, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netlink in %s: %w", ns, err)
	}
	return nh, nil
}

// retryDump repeats a netlink dump that the kernel interrupted (its
// results were changing under it).
func retryDump[T any](f func() (T, error)) (T, error) {
	var (
		v   T
		err error
	)
	for range 5 {
		if v, err = f(); !errors.Is(err, netlink.ErrDumpInterrupted) {
			return v, err
		}
	}
	return v, err
}

// sysctlPath is the /proc/sys file of a dotted sysctl name.
func sysctlPath(key string) string {
	return "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
}

// writeSysctl writes a sysctl of the calling thread's namespace (call it
// inside inNS). A missing file is fs.ErrNotExist.
func writeSysctl(key, value string) error {
	if err := os.WriteFile(sysctlPath(key), []byte(value+"\n"), 0o644); err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("sysctl %s=%s: %w", key, value, err)
	}
	return nil
}

// readSysctl reads a sysctl of the calling thread's namespace.
func readSysctl(key string) (string, error) {
	b, err := os.ReadFile(sysctlPath(key))
	return strings.TrimSpace(string(b)), err
}

// ReadSysctl reads a sysctl (dotted name) inside a testbed's namespace.
func ReadSysctl(ns, key string) (string, error) {
	var v string
	err := inNS(ns, func() (err error) {
		v, err = readSysctl(key)
		return err
	})
	return v, err
}

// The ethtool offload features as legacy SIOCETHTOOL get/set commands, in
// the order they are set (transmit checksums first: TSO depends on them).
var offloadFeatures = []struct {
	name     string
	get, set uint32
	want     func(Offloads) bool
}{
	{"tx", unix.ETHTOOL_GTXCSUM, unix.ETHTOOL_STXCSUM, func(o Offloads) bool { return o.TX }},
	{"tso", unix.ETHTOOL_GTSO, unix.ETHTOOL_STSO, func(o Offloads) bool { return o.TSO }},
	{"gso", unix.ETHTOOL_GGSO, unix.ETHTOOL_SGSO, func(o Offloads) bool { return o.GSO }},
	{"gro", unix.ETHTOOL_GGRO, unix.ETHTOOL_SGRO, func(o Offloads) bool { return o.GRO }},
}

// ethtoolValue is struct ethtool_value.
type ethtoolValue struct{ cmd, data uint32 }

// ifreqData is struct ifreq with its union holding ifr_data.
type ifreqData struct {
	name [unix.IFNAMSIZ]byte
	data unsafe.Pointer
	_    [24 - unsafe.Sizeof(uintptr(0))]byte
}

func ethtool(fd int, dev string, cmd, data uint32) (uint32, error) {
	v := ethtoolValue{cmd: cmd, data: data}
	var ifr ifreqData
	copy(ifr.name[:unix.IFNAMSIZ-1], dev)
	ifr.data = unsafe.Pointer(&v)
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(&ifr)))
	runtime.KeepAlive(&v)
	if errno != 0 {
		return 0, errno
	}
	return v.data, nil
}

// withEthtool runs fn with a socket for SIOCETHTOOL in the calling thread's
// namespace.
func withEthtool(fn func(fd int) error) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("ethtool socket: %w", err)
	}
	defer unix.Close(fd)
	return fn(fd)
}

// setOffloads sets dev's offloads as o says and checks the result.
func setOffloads(fd int, dev string, o Offloads) error {
	for _, f := range offloadFeatures {
		want := uint32(0)
		if f.want(o) {
			want = 1
		}
		_, err := ethtool(fd, dev, f.set, want)
		if err != nil && !errors.Is(err, unix.EOPNOTSUPP) {
			return fmt.Errorf("ethtool %s %s: %w", dev, f.name, err)
		}
	}
	got, err := getOffloads(fd, dev)
	if err != nil {
		return err
	}
	if got != o {
		return fmt.Errorf("ethtool %s: offloads are %s, want %s", dev, got, o)
	}
	return nil
}

func getOffloads(fd int, dev string) (Offloads, error) {
	var o Offloads
	for _, f := range offloadFeatures {
		v, err := ethtool(fd, dev, f.get, 0)
		if err != nil {
			return o, fmt.Errorf("ethtool %s %s: %w", dev, f.name, err)
		}
		on := v != 0
		switch f.name {
		case "tx":
			o.TX = on
		case "tso":
			o.TSO = on
		case "gso":
			o.GSO = on
		case "gro":
			o.GRO = on
		}
	}
	return o, nil
}

// ReadOffloads reads a link's offload settings inside a namespace.
func ReadOffloads(ns, dev string) (Offloads, error) {
	var o Offloads
	err := inNS(ns, func() error {
		return withEthtool(func(fd int) (err error) {
			o, err = getOffloads(fd, dev)
			return err
		})
	})
	return o, err
}

// procStat returns a process's start time (clock ticks after boot) and
// state letter from /proc/PID/stat.
func procStat(pid int) (start uint64, state byte, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	// The command name (field 2) is in parentheses and may hold anything.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	fields := strings.Fields(string(b[i+1:]))
	// fields[0] is field 3 (state); field 22 (starttime) is fields[19].
	if len(fields) < 20 || len(fields[0]) != 1 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: short", pid)
	}
	start, err = strconv.ParseUint(fields[19], 10, 64)
	return start, fields[0][0], err
}

// pids lists the processes on the machine.
func pids() []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

// procNetNS is the inode of a process's network namespace (0 if unknown,
// e.g. for a zombie).
func procNetNS(pid int) uint64 {
	l, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/net")
	if err != nil {
		return 0
	}
	ino, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(l, "net:["), "]"), 10, 64)
	return ino
}

// procMarker is the value of MarkerEnv in a process's environment, if any.
func procMarker(pid int) (string, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return "", false
	}
	for _, kv := range strings.Split(string(b), "\x00") {
		if v, ok := strings.CutPrefix(kv, MarkerEnv+"="); ok {
			return v, true
		}
	}
	return "", false
}
