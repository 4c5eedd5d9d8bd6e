package ctl

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"sync"
	"time"
)

// Service is one virtual service as the admin API drives it. The layer-7
// director's services and the layer-4 director's implement it (most of it
// through a Host); every method is called with no Table lock held and
// must be safe for concurrent use.
type Service interface {
	// Info returns the service and its real servers with their counters
	// (Rates are filled in by the Table).
	Info() ServiceInfo
	// Edit applies edit-service's settings (the Key is the service's own).
	Edit(ServiceSpec) error
	// AddServer, EditServer and DeleteServer change the real servers.
	AddServer(ServerSpec) error
	EditServer(ServerSpec) error
	DeleteServer(netip.AddrPort) error
	// Zero resets the service's and its servers' counters.
	Zero()
	// Close stops the service (delete-service, or the director's exit):
	// no new work; work in progress may finish until ctx ends.
	Close(ctx context.Context) error
}

// Factory makes the service of add-service; the director supplies it.
type Factory func(ServiceSpec) (Service, error)

// Table is the director's virtual server table: the registered services,
// the add-service factory and the rate estimators. It answers the admin
// API's requests (Handle) and is safe for concurrent use.
type Table struct {
	add Factory
	now func() time.Time

	mu       sync.Mutex
	services map[Key]Service
	est      map[estKey]*Estimator
}

// estKey names one estimator: a service (Server invalid) or one of its
// real servers.
type estKey struct {
	svc    Key
	server netip.AddrPort
}

// TableConfig configures a Table.
type TableConfig struct {
	// Add makes the services of add-service; nil refuses add-service.
	Add Factory
	// Now is the estimators' clock; nil means time.Now.
	Now func() time.Time
}

// NewTable returns an empty table.
func NewTable(cfg TableConfig) *Table {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Table{add: cfg.Add, now: cfg.Now, services: map[Key]Service{}, est: map[estKey]*Estimator{}}
}

// ErrNoService is returned (wrapped) for a key that names no service.
var ErrNoService = errors.New("no such service")

// Register adds a running service under the key its Info reports.
func (t *Table) Register(s Service) error {
	k := s.Info().Key
	if err := k.Validate(); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, dup := t.services[k]; dup {
		return fmt.Errorf("service %s already exists", k)
	}
	t.services[k] = s
	return nil
}

// Len returns the number of services.
func (t *Table) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.services)
}

func (t *Table) get(k Key) (Service, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.services[k]
	if !ok {
		return nil, fmt.Errorf("%w %s", ErrNoService, k)
	}
	return s, nil
}

// sorted returns the services in ipvsadm's order: protocol, address, port.
func (t *Table) sorted() []Service {
	t.mu.Lock()
	keys := make([]Key, 0, len(t.services))
	for k := range t.services {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keyLess(keys[i], keys[j]) })
	out := make([]Service, len(keys))
	for i, k := range keys {
		out[i] = t.services[k]
	}
	t.mu.Unlock()
	return out
}

func keyLess(a, b Key) bool {
	if a.Proto != b.Proto {
		return a.Proto < b.Proto
	}
	return a.Addr.Compare(b.Addr) < 0
}

// Handle carries out one request.
func (t *Table) Handle(ctx context.Context, req Request) Response {
	svcs, err := t.handle(ctx, req)
	if err != nil {
		return Response{Error: err.Error()}
	}
	return Response{Services: svcs}
}

func (t *Table) handle(ctx context.Context, req Request) ([]ServiceInfo, error) {
	var key Key
	if req.Service != nil {
		key = req.Service.Key
		if err := key.Validate(); err != nil {
			return nil, err
		}
	}
	needService := func() error {
		if req.Service == nil {
			return fmt.Errorf("%s: name the service with -t ADDRESS:PORT (or -u)", req.Verb)
		}
		return nil
	}
	needServer := func() error {
		if err := needService(); err != nil {
			return err
		}
		if req.Server == nil || !req.Server.Addr.IsValid() {
			return fmt.Errorf("%s: name the real server with -r ADDRESS:PORT", req.Verb)
		}
		return nil
	}
	switch req.Verb {
	case VerbList, VerbHealth:
		if req.Service == nil {
			return t.list(), nil
		}
		s, err := t.get(key)
		if err != nil {
			return nil, err
		}
		return []ServiceInfo{t.withRates(s.Info())}, nil
	case VerbZero:
		if req.Service == nil {
			for _, s := range t.sorted() {
				s.Zero()
			}
			t.mu.Lock()
			for _, e := range t.est {
				e.Reset()
			}
			t.mu.Unlock()
			return nil, nil
		}
		s, err := t.get(key)
		if err != nil {
			return nil, err
		}
		s.Zero()
		t.mu.Lock()
		for k, e := range t.est {
			if k.svc == key {
				e.Reset()
			}
		}
		t.mu.Unlock()
		return nil, nil
	case VerbAddService:
		if err := needService(); err != nil {
			return nil, err
		}
		if t.add == nil {
			return nil, errors.New("add-service: this director cannot add services at run time")
		}
		if _, err := t.get(key); err == nil {
			return nil, fmt.Errorf("service %s already exists", key)
		}
		s, err := t.add(*req.Service)
		if err != nil {
			return nil, err
		}
		if got := s.Info().Key; got != key {
			_ = s.Close(ctx)
			return nil, fmt.Errorf("add-service: the new service reports %s, not %s", got, key)
		}
		if err := t.Register(s); err != nil {
			_ = s.Close(ctx)
			return nil, err
		}
		return nil, nil
	case VerbEditService:
		if err := needService(); err != nil {
			return nil, err
		}
		s, err := t.get(key)
		if err != nil {
			return nil, err
		}
		return nil, s.Edit(*req.Service)
	case VerbDeleteService:
		if err := needService(); err != nil {
			return nil, err
		}
		t.mu.Lock()
		s, ok := t.services[key]
		delete(t.services, key)
		for k := range t.est {
			if k.svc == key {
				delete(t.est, k)
			}
		}
		t.mu.Unlock()
		if !ok {
			return nil, fmt.Errorf("%w %s", ErrNoService, key)
		}
		return nil, s.Close(ctx)
	case VerbAddServer, VerbEditServer, VerbDeleteServer:
		if err := needServer(); err != nil {
			return nil, err
		}
		s, err := t.get(key)
		if err != nil {
			return nil, err
		}
		switch req.Verb {
		case VerbAddServer:
			return nil, s.AddServer(*req.Server)
		case VerbEditServer:
			return nil, s.EditServer(*req.Server)
		default:
			return nil, s.DeleteServer(req.Server.Addr)
		}
	}
	return nil, fmt.Errorf("unknown verb %q (known: %v)", req.Verb, Verbs)
}

// list returns every service with its rates.
func (t *Table) list() []ServiceInfo {
	svcs := t.sorted()
	out := make([]ServiceInfo, 0, len(svcs))
	for _, s := range svcs {
		out = append(out, t.withRates(s.Info()))
	}
	return out
}

// withRates fills in the rates of info from the estimators and sorts its
// servers as ipvsadm does (by address and port).
func (t *Table) withRates(info ServiceInfo) ServiceInfo {
	sort.Slice(info.Servers, func(i, j int) bool { return info.Servers[i].Addr.Compare(info.Servers[j].Addr) < 0 })
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.est[estKey{svc: info.Key}]; e != nil {
		info.Rates = e.Rates()
	}
	for i := range info.Servers {
		if e := t.est[estKey{info.Key, info.Servers[i].Addr}]; e != nil {
			info.Servers[i].Rates = e.Rates()
		}
	}
	return info
}

// Sample updates every estimator from the services' counters now. Run
// calls it every EstimatorInterval; estimators of services and servers
// that are gone are dropped.
func (t *Table) Sample() {
	infos := make([]ServiceInfo, 0)
	for _, s := range t.sorted() {
		infos = append(infos, s.Info())
	}
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	seen := make(map[estKey]bool, len(t.est))
	update := func(k estKey, c Counters) {
		seen[k] = true
		e := t.est[k]
		if e == nil {
			e = &Estimator{}
			t.est[k] = e
		}
		e.Update(now, c)
	}
	for _, info := range infos {
		if _, ok := t.services[info.Key]; !ok {
			continue // deleted meanwhile
		}
		update(estKey{svc: info.Key}, info.Stats)
		for _, srv := range info.Servers {
			update(estKey{info.Key, srv.Addr}, srv.Stats)
		}
	}
	for k := range t.est {
		if !seen[k] {
			delete(t.est, k)
		}
	}
}

// Run samples the estimators every EstimatorInterval until ctx ends.
func (t *Table) Run(ctx context.Context) {
	t.Sample()
	tk := time.NewTicker(EstimatorInterval)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
			t.Sample()
		}
	}
}

// Close closes and forgets every service.
func (t *Table) Close(ctx context.Context) error {
	t.mu.Lock()
	svcs := make([]Service, 0, len(t.services))
	for k, s := range t.services {
		svcs = append(svcs, s)
		delete(t.services, k)
	}
	t.est = map[estKey]*Estimator{}
	t.mu.Unlock()
	var errs []error
	for _, s := range svcs {
		if err := s.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
