package ctl

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/dataplane"
	"github.com/lvslab/lvslab/dataplane/health"
)

func newHost(t *testing.T, alg string, cfg HostConfig) *Host {
	t.Helper()
	sched, err := algorithms.New(alg, algorithms.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := dataplane.NewService(dataplane.Config{Scheduler: sched})
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewHost(svc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

// picks returns where n requests go (each ended at once).
func picks(t *testing.T, svc *dataplane.Service, n int) map[netip.AddrPort]int {
	t.Helper()
	out := map[netip.AddrPort]int{}
	for range n {
		l, err := svc.Pick(&algorithms.Request{})
		if err != nil {
			if errors.Is(err, algorithms.ErrNoServer) {
				out[netip.AddrPort{}]++
				continue
			}
			t.Fatal(err)
		}
		out[l.Addr]++
		l.Transferred(10, 100)
		l.Done()
	}
	return out
}

func ip(n int) *int { return &n }

func TestHostServers(t *testing.T) {
	h := newHost(t, "wrr", HostConfig{Forwards: []string{ForwardProxy}})
	if err := h.AddServer(ServerSpec{Addr: rip1, Weight: ip(1)}); err != nil {
		t.Fatal(err)
	}
	if err := h.AddServer(ServerSpec{Addr: rip2, Weight: ip(3), Upper: ip(10), Lower: ip(5)}); err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		spec ServerSpec
		want string
	}{
		{ServerSpec{Addr: rip1}, "already exists"},
		{ServerSpec{Addr: netip.MustParseAddrPort("10.0.0.4:80"), Forward: ForwardNAT}, "forwarding method nat: this service takes [proxy]"},
		{ServerSpec{Addr: netip.MustParseAddrPort("10.0.0.4:80"), Weight: ip(-1)}, "weight -1"},
		{ServerSpec{Addr: netip.MustParseAddrPort("10.0.0.4:80"), Upper: ip(-1)}, "thresholds"},
		{ServerSpec{Addr: netip.MustParseAddrPort("10.0.0.4:80"), Health: &health.Config{Type: "ping"}}, `health: type "ping"`},
		{ServerSpec{}, "want -r ADDRESS:PORT"},
	}
	for _, b := range bad {
		if err := h.AddServer(b.spec); err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("AddServer(%+v): %v, want %q", b.spec, err, b.want)
		}
	}
	if got := picks(t, h.Service(), 40); got[rip1] != 10 || got[rip2] != 30 {
		t.Errorf("weights 1:3 gave %v", got)
	}
	// Quiesce rip2: new work goes to rip1 only.
	if err := h.EditServer(ServerSpec{Addr: rip2, Weight: ip(0)}); err != nil {
		t.Fatal(err)
	}
	if got := picks(t, h.Service(), 10); got[rip1] != 10 {
		t.Errorf("after quiescing rip2: %v", got)
	}
	if err := h.EditServer(ServerSpec{Addr: rip2, Lower: ip(2)}); err != nil {
		t.Fatal(err)
	}
	srvs, total := h.Servers()
	if len(srvs) != 2 || srvs[1].Upper != 10 || srvs[1].Lower != 2 || srvs[1].Weight != 0 || srvs[0].Forward != ForwardProxy {
		t.Errorf("servers %+v", srvs)
	}
	if total.Conns != 50 || total.InBytes != 5000 || total.OutBytes != 500 || srvs[0].Stats.Conns != 20 {
		t.Errorf("counters: total %+v, rip1 %+v", total, srvs[0].Stats)
	}
	if err := h.EditServer(ServerSpec{Addr: netip.MustParseAddrPort("10.9.9.9:1")}); err == nil {
		t.Error("edit of an unknown server accepted")
	}
	if err := h.EditServer(ServerSpec{Addr: rip1, Name: "other"}); err == nil {
		t.Error("rename accepted")
	}
	// Deleting keeps the server's counters in the service's totals.
	if err := h.DeleteServer(rip1); err != nil {
		t.Fatal(err)
	}
	if err := h.DeleteServer(rip1); err == nil {
		t.Error("second delete accepted")
	}
	srvs, total = h.Servers()
	if len(srvs) != 1 || total.Conns != 50 {
		t.Errorf("after delete: %d servers, total %+v", len(srvs), total)
	}
	if got := picks(t, h.Service(), 1); got[netip.AddrPort{}] != 1 {
		t.Errorf("the only server left is quiesced, yet %v", got)
	}
	h.Zero()
	if _, total = h.Servers(); total != (Counters{}) {
		t.Errorf("after Zero: %+v", total)
	}
}

// With content rules, servers are fixed by name at start.
func TestHostFixedIDs(t *testing.T) {
	ids := map[string]algorithms.ServerID{"a": 4, "10.0.0.3:8080": 7}
	h := newHost(t, "rr", HostConfig{ID: func(n string) (algorithms.ServerID, bool) { id, ok := ids[n]; return id, ok }})
	if err := h.AddServer(ServerSpec{Addr: rip1, Name: "a"}); err != nil {
		t.Fatal(err)
	}
	if err := h.AddServer(ServerSpec{Addr: rip2}); err != nil {
		t.Fatal(err)
	}
	if err := h.AddServer(ServerSpec{Addr: netip.MustParseAddrPort("10.0.0.4:80"), Name: "b"}); err == nil || !strings.Contains(err.Error(), "not named in the service's content rules") {
		t.Errorf("unknown name: %v", err)
	}
	if err := h.AddServer(ServerSpec{Addr: netip.MustParseAddrPort("10.0.0.4:80"), Name: "a"}); err == nil || !strings.Contains(err.Error(), "already in the service") {
		t.Errorf("name in use: %v", err)
	}
	if s, ok := h.Service().Server(4); !ok || s.Addr != rip1 {
		t.Errorf("server 4 is %+v", s)
	}
	if s, ok := h.Service().Server(7); !ok || s.Addr != rip2 {
		t.Errorf("server 7 is %+v", s)
	}
	if err := h.DeleteServer(rip1); err != nil {
		t.Fatal(err)
	}
	if err := h.AddServer(ServerSpec{Addr: netip.MustParseAddrPort("10.0.0.5:80"), Name: "a"}); err != nil {
		t.Errorf("re-adding a rule's server: %v", err)
	}
}

// pipeDial accepts while ok() is true, else refuses.
func pipeDial(ok func() bool) health.DialFunc {
	return func(ctx context.Context, _, _ string) (net.Conn, error) {
		if !ok() {
			return nil, errors.New("refused")
		}
		a, b := net.Pipe()
		b.Close()
		return a, nil
	}
}

// Health checks act on the Host's service: a server that fails is taken
// out and comes back; with inhibit, an administrator's weight set while it
// is out is the one it comes back with; a server that starts down gets no
// work before it passes.
func TestHostHealth(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		healthy := map[bool]bool{true: true, false: true} // by "is rip2"
		dial := func(ctx context.Context, n, addr string) (net.Conn, error) {
			mu.Lock()
			ok := healthy[addr == rip2.String()]
			mu.Unlock()
			return pipeDial(func() bool { return ok })(ctx, n, addr)
		}
		set := func(rip2ok bool) { mu.Lock(); healthy[true] = rip2ok; mu.Unlock() }
		check := health.Config{Interval: time.Second, Rise: 2, Fall: 2, OnFailure: health.ActionInhibit}
		h := newHost(t, "wrr", HostConfig{Health: &check, HealthOptions: health.Options{Dial: dial}})
		if err := h.AddServer(ServerSpec{Addr: rip1, Weight: ip(1)}); err != nil {
			t.Fatal(err)
		}
		if err := h.AddServer(ServerSpec{Addr: rip2, Weight: ip(1), Health: &health.Config{Initial: health.InitialDown, OnFailure: health.ActionRemove}}); err != nil {
			t.Fatal(err)
		}
		// rip2 starts down: nothing reaches it until two checks pass (0 s, 1 s).
		if got := picks(t, h.Service(), 4); got[rip2] != 0 {
			t.Errorf("a server starting down got work: %v", got)
		}
		time.Sleep(1500 * time.Millisecond)
		if got := picks(t, h.Service(), 4); got[rip2] != 2 {
			t.Errorf("after rise: %v", got)
		}
		srvs, _ := h.Servers()
		if srvs[1].Health == nil || !srvs[1].Health.Up || srvs[1].Health.OnFailure != health.ActionRemove {
			t.Errorf("health of rip2: %+v", srvs[1].Health)
		}
		set(false) // fails at 2 s and 3 s: down at 3 s
		time.Sleep(2 * time.Second)
		if got := picks(t, h.Service(), 4); got[rip2] != 0 {
			t.Errorf("a failed server got work: %v", got)
		}
		srvs, _ = h.Servers()
		if !srvs[1].Down {
			t.Errorf("rip2 not down: %+v", srvs[1])
		}
		set(true)
		time.Sleep(2 * time.Second)
		if got := picks(t, h.Service(), 4); got[rip2] != 2 {
			t.Errorf("after recovery: %v", got)
		}
	})
}

// A health check that observes traffic is refused by a host that does not
// report its traffic (the layer-4 director), for the service and for a
// server added later, and taken by one that does (the layer-7 switch).
func TestHostObserve(t *testing.T) {
	obs := &health.Config{Observe: health.ObserveLayer4}
	sched, err := algorithms.New("rr", algorithms.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := dataplane.NewService(dataplane.Config{Scheduler: sched})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewHost(svc, HostConfig{Health: obs}); err == nil || !strings.Contains(err.Error(), "observe layer4 applies to mode l7 only") {
		t.Errorf("service-level observe on a host that does not observe: %v", err)
	}
	h := newHost(t, "rr", HostConfig{})
	if err := h.AddServer(ServerSpec{Addr: rip1, Health: obs}); err == nil || !strings.Contains(err.Error(), "server "+rip1.String()+": health: observe layer4 applies to mode l7 only") {
		t.Errorf("server-level observe on a host that does not observe: %v", err)
	}
	h = newHost(t, "rr", HostConfig{Observed: true, Health: obs})
	if err := h.AddServer(ServerSpec{Addr: rip1}); err != nil {
		t.Errorf("observing host: %v", err)
	}
}

func TestHostInhibit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		up := true
		dial := pipeDial(func() bool { mu.Lock(); defer mu.Unlock(); return up })
		check := health.Config{Interval: time.Second, Rise: 1, Fall: 1, OnFailure: health.ActionInhibit}
		h := newHost(t, "wrr", HostConfig{Health: &check, HealthOptions: health.Options{Dial: dial}})
		if err := h.AddServer(ServerSpec{Addr: rip1, Weight: ip(2)}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		weight := func() int { s, _ := h.Service().Server(0); return s.Weight }
		if weight() != 2 {
			t.Fatalf("weight %d after the first check, want 2", weight())
		}
		mu.Lock()
		up = false
		mu.Unlock()
		time.Sleep(1500 * time.Millisecond)
		if weight() != 0 {
			t.Errorf("inhibited weight %d, want 0", weight())
		}
		if err := h.EditServer(ServerSpec{Addr: rip1, Weight: ip(5)}); err != nil {
			t.Fatal(err)
		}
		if weight() != 0 {
			t.Errorf("an inhibited server took the admin weight at once: %d", weight())
		}
		mu.Lock()
		up = true
		mu.Unlock()
		time.Sleep(time.Second)
		if weight() != 5 {
			t.Errorf("weight %d on return, want the admin's 5", weight())
		}
	})
}

// recordingMembers are Members that add servers to the service and record
// every call, failing SetForward to "nat".
type recordingMembers struct {
	svc   *dataplane.Service
	calls []string
}

func (m *recordingMembers) AddServer(srv dataplane.Server, fwd string) error {
	m.calls = append(m.calls, "add "+srv.Addr.String()+" "+fwd)
	return m.svc.AddServer(srv)
}

func (m *recordingMembers) RemoveServer(id algorithms.ServerID) error {
	m.calls = append(m.calls, "remove")
	return m.svc.RemoveServer(id)
}

func (m *recordingMembers) SetForward(_ algorithms.ServerID, fwd string) error {
	m.calls = append(m.calls, "forward "+fwd)
	if fwd == ForwardNAT {
		return errors.New("no nat here")
	}
	return nil
}

// A Host with Members adds, re-routes and removes its servers through
// them (the layer-4 director's forwarding state), and a refused method
// change leaves the server as it was.
func TestHostMembers(t *testing.T) {
	sched, _ := algorithms.New("rr", algorithms.Options{})
	svc, err := dataplane.NewService(dataplane.Config{Scheduler: sched})
	if err != nil {
		t.Fatal(err)
	}
	m := &recordingMembers{svc: svc}
	h, err := NewHost(svc, HostConfig{Members: m})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if err := h.AddServer(ServerSpec{Addr: rip1}); err != nil {
		t.Fatal(err)
	}
	if err := h.EditServer(ServerSpec{Addr: rip1, Forward: ForwardTun, Weight: ip(2)}); err != nil {
		t.Fatal(err)
	}
	if err := h.EditServer(ServerSpec{Addr: rip1, Forward: ForwardTun}); err != nil { // unchanged: not asked
		t.Fatal(err)
	}
	if err := h.EditServer(ServerSpec{Addr: rip1, Forward: ForwardNAT, Weight: ip(5)}); err == nil {
		t.Error("a refused method change was accepted")
	}
	srvs, _ := h.Servers()
	if len(srvs) != 1 || srvs[0].Forward != ForwardTun || srvs[0].Weight != 2 {
		t.Errorf("after a refused change: %+v, want tun with weight 2", srvs)
	}
	if err := h.DeleteServer(rip1); err != nil {
		t.Fatal(err)
	}
	want := []string{"add " + rip1.String() + " dr", "forward tun", "forward nat", "remove"}
	if strings.Join(m.calls, "; ") != strings.Join(want, "; ") {
		t.Errorf("calls %q, want %q", m.calls, want)
	}
}
