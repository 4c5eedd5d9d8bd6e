package director

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/dataplane"
	"github.com/lvslab/lvslab/dataplane/ctl"
	"github.com/lvslab/lvslab/dataplane/health"
	"github.com/lvslab/lvslab/dataplane/l4/live"
	"github.com/lvslab/lvslab/dataplane/l7"
	"github.com/lvslab/lvslab/dataplane/monitor"
	"github.com/lvslab/lvslab/dataplane/rules"
)

// servicesFile is the YAML file of "lvslab director -f".
type servicesFile struct {
	Services []serviceYAML `yaml:"services"`
}

type serviceYAML struct {
	Name        string          `yaml:"name"`
	Listen      string          `yaml:"listen"`
	Mode        string          `yaml:"mode"`
	Protocol    string          `yaml:"protocol"`
	Persistence time.Duration   `yaml:"persistence"`
	Netmask     string          `yaml:"netmask"`
	Scheduler   string          `yaml:"scheduler"`
	Options     yaml.Node       `yaml:"options"`
	Rules       string          `yaml:"rules"`
	Loops       int             `yaml:"loops"`
	MaxIdle     int             `yaml:"max_idle"`
	Timeouts    timeoutsYAML    `yaml:"timeouts"`
	Servers     []serverYAML    `yaml:"servers"`
	Health      *health.Config  `yaml:"health"`
	Monitor     *monitor.Config `yaml:"monitor"`
	line        int             // of the service's entry
	keyLines    map[string]int  // line of each key of the entry
}

type timeoutsYAML struct {
	Client  time.Duration `yaml:"client"`
	Connect time.Duration `yaml:"connect"`
	Backend time.Duration `yaml:"backend"`
}

type serverYAML struct {
	Name    string         `yaml:"name"`
	Address string         `yaml:"address"`
	Mode    string         `yaml:"mode"`
	Weight  *int           `yaml:"weight"`
	Upper   int            `yaml:"upper"`
	Lower   int            `yaml:"lower"`
	Health  *health.Config `yaml:"health"`
	line    int
}

// Service is one resolved virtual service.
type Service struct {
	Name string
	// Mode is l7 (the content switch) or a layer-4 forwarding method,
	// nat, tun or dr: the default of the service's real servers. Empty
	// means l7.
	Mode    string
	Listen  string // ADDRESS:PORT; for layer 4 the VIP and port
	Alg     string // registered scheduler name
	Options algorithms.Options
	Rules   string // rule file path, or ""
	Loops   int    // listeners (0: Options.Loops of Run, else 1)
	Config  l7.Config
	Servers []dataplane.Server
	// Health is the service's health check (health:), or nil; ServerHealth
	// holds each server's refinement (servers[k].health, merged into
	// Health), nil for a server without one. Servers checked by neither are
	// not checked.
	Health       *health.Config
	ServerHealth []*health.Config
	// Monitor is DFLB's load monitor (monitor:), or nil.
	Monitor *monitor.Config
	Where   string // "file:line: services[i]" or "flags", for messages

	// Layer 4 only: the protocol (tcp or udp; empty means tcp), the
	// persistence timeout and netmask (ipvsadm -p, -M; PersistMask a
	// prefix length, 0 meaning 32), and each server's forwarding method
	// when it is not the service's Mode (ipvsadm -g, -i, -m; "" keeps
	// Mode).
	Proto       string
	Persistence time.Duration
	PersistMask int
	ServerModes []string

	// Set by Build: the content rules and their server names, which a
	// scheduler set by "lvslab ctl edit-service" sits behind too.
	ruleSet *rules.Set
	ruleIDs map[string]algorithms.ServerID
}

// Modes names the forwarding modes, for messages.
const Modes = "l7, nat, tun or dr"

// Layer4 reports whether mode is a layer-4 forwarding method.
func Layer4(mode string) bool { return mode == "nat" || mode == "tun" || mode == "dr" }

// ReadServicesFile reads and checks the services file at path (see
// ReadServices).
func ReadServicesFile(path string) ([]Service, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadServices(path, f)
}

// ReadServices reads and checks a services file; path names it in errors,
// and relative rules paths start at its folder.
func ReadServices(path string, r io.Reader) ([]Service, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var f servicesFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty file: want a services: list", path)
		}
		return nil, yamlError(path, err)
	}
	// Line numbers for messages, from the node tree.
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err == nil && len(root.Content) == 1 {
		if seq := mapValue(root.Content[0], "services"); seq != nil && seq.Kind == yaml.SequenceNode {
			for i, item := range seq.Content {
				if i >= len(f.Services) {
					break
				}
				f.Services[i].line = item.Line
				f.Services[i].keyLines = map[string]int{}
				for j := 0; j+1 < len(item.Content); j += 2 {
					f.Services[i].keyLines[item.Content[j].Value] = item.Content[j].Line
				}
				if srv := mapValue(item, "servers"); srv != nil && srv.Kind == yaml.SequenceNode {
					for k, s := range srv.Content {
						if k < len(f.Services[i].Servers) {
							f.Services[i].Servers[k].line = s.Line
						}
					}
				}
			}
		}
	}
	if len(f.Services) == 0 {
		return nil, fmt.Errorf("%s: no services: want a services: list with at least one entry", path)
	}
	dir := filepath.Dir(path)
	var out []Service
	listens := map[string]string{}
	for i := range f.Services {
		sy := &f.Services[i]
		at := func(key string) string {
			line := sy.line
			if l, ok := sy.keyLines[key]; ok {
				line = l
			}
			if key == "" {
				return fmt.Sprintf("%s:%d: services[%d]", path, line, i)
			}
			return fmt.Sprintf("%s:%d: services[%d].%s", path, line, i, key)
		}
		if sy.Mode == "" {
			return nil, fmt.Errorf("%s: missing; want %s", at("mode"), Modes)
		}
		if sy.Mode != "l7" && !Layer4(sy.Mode) {
			return nil, fmt.Errorf("%s: unknown mode %q; want %s", at("mode"), sy.Mode, Modes)
		}
		if sy.Listen == "" {
			return nil, fmt.Errorf("%s: missing; want ADDRESS:PORT", at("listen"))
		}
		l4key, err := readLayer4(sy, at)
		if err != nil {
			return nil, err
		}
		listen := sy.Listen
		if l4key != "" {
			listen = l4key
		}
		if prev, dup := listens[listen]; dup {
			return nil, fmt.Errorf("%s: %s is also the address of %s", at("listen"), sy.Listen, prev)
		}
		listens[listen] = fmt.Sprintf("services[%d]", i)
		if sy.Scheduler == "" {
			return nil, fmt.Errorf("%s: missing; see \"lvslab algorithms\"", at("scheduler"))
		}
		if _, ok := algorithms.Lookup(sy.Scheduler); !ok {
			return nil, fmt.Errorf("%s: unknown scheduler %q (known: %s)", at("scheduler"), sy.Scheduler, strings.Join(algorithms.Names(), ", "))
		}
		if sy.Loops < 0 || sy.MaxIdle < 0 {
			return nil, fmt.Errorf("%s: loops and max_idle must be >= 0", at(""))
		}
		if sy.Timeouts.Client < 0 || sy.Timeouts.Connect < 0 || sy.Timeouts.Backend < 0 {
			return nil, fmt.Errorf("%s: timeouts must be positive (0 or absent selects the default)", at("timeouts"))
		}
		opts, err := readOptions(&sy.Options, fmt.Sprintf("%s:%%d: services[%d].options", path, i))
		if err != nil {
			return nil, err
		}
		svc := Service{
			Name: cmpOr(sy.Name, sy.Listen), Mode: sy.Mode, Listen: sy.Listen, Alg: sy.Scheduler, Options: opts,
			Loops: sy.Loops, Where: at(""),
			Config: l7.Config{ClientTimeout: sy.Timeouts.Client, ConnectTimeout: sy.Timeouts.Connect,
				BackendTimeout: sy.Timeouts.Backend, MaxIdle: sy.MaxIdle},
		}
		if sy.Rules != "" {
			svc.Rules = sy.Rules
			if !filepath.IsAbs(svc.Rules) {
				svc.Rules = filepath.Join(dir, svc.Rules)
			}
		}
		if len(sy.Servers) == 0 {
			return nil, fmt.Errorf("%s: no servers", at("servers"))
		}
		serverAt := func(k int) string {
			return fmt.Sprintf("%s:%d: services[%d].servers[%d]", path, sy.Servers[k].line, i, k)
		}
		for k, s := range sy.Servers {
			where := serverAt(k)
			ap, err := netip.ParseAddrPort(s.Address)
			if err != nil {
				return nil, fmt.Errorf("%s.address: %q is not ADDRESS:PORT", where, s.Address)
			}
			w := 1
			if s.Weight != nil {
				w = *s.Weight
			}
			if w < 0 || w > algorithms.MaxWeight {
				return nil, fmt.Errorf("%s.weight: %d is not between 0 and %d", where, w, algorithms.MaxWeight)
			}
			if s.Upper < 0 || s.Lower < 0 {
				return nil, fmt.Errorf("%s: thresholds must be >= 0", where)
			}
			svc.Servers = append(svc.Servers, dataplane.Server{
				ID: algorithms.ServerID(k), Name: s.Name, Addr: ap, Weight: w, Upper: s.Upper, Lower: s.Lower,
			})
			if Layer4(sy.Mode) {
				m, vip := cmpOr(s.Mode, sy.Mode), netip.MustParseAddrPort(sy.Listen) // checked by readLayer4
				if m == "nat" && ap.Port() == 0 {
					return nil, fmt.Errorf("%s.address: %s: a nat server needs a port", where, s.Address)
				}
				if m != "nat" && ap.Port() != 0 && ap.Port() != vip.Port() {
					return nil, fmt.Errorf("%s.address: %s: a %s server listens on the service's port %d (port mapping needs nat)", where, s.Address, m, vip.Port())
				}
			}
			switch {
			case s.Mode == "":
			case !Layer4(sy.Mode):
				return nil, fmt.Errorf("%s.mode: a layer-7 service's servers are proxied; a forwarding method (nat, tun, dr) is for layer-4 services", where)
			case !Layer4(s.Mode):
				return nil, fmt.Errorf("%s.mode: unknown forwarding method %q; want nat, tun or dr", where, s.Mode)
			}
			if Layer4(sy.Mode) {
				svc.ServerModes = append(svc.ServerModes, s.Mode)
			}
		}
		if Layer4(sy.Mode) {
			svc.Proto = cmpOr(sy.Protocol, "tcp")
			svc.Persistence = sy.Persistence
			if sy.Netmask != "" {
				svc.PersistMask, _ = live.ParseMask(sy.Netmask) // checked by readLayer4
			}
		}
		if err := readLive(&svc, sy, at, serverAt); err != nil {
			return nil, err
		}
		out = append(out, svc)
	}
	return out, nil
}

// readLayer4 checks the keys that belong to one kind of service: a layer-4
// service's listen address is its VIP:PORT (IPv4, port not 0), its
// protocol tcp or udp, its persistence and netmask ipvsadm's -p and -M,
// and the layer-7 switch's keys (rules, loops, max_idle, timeouts) do not
// apply; a layer-7 service takes no protocol, persistence or netmask. It
// returns the key two layer-4 services may not share ("tcp VIP:PORT").
func readLayer4(sy *serviceYAML, at func(key string) string) (string, error) {
	if !Layer4(sy.Mode) {
		for _, k := range []struct {
			key string
			set bool
		}{{"protocol", sy.Protocol != ""}, {"persistence", sy.Persistence != 0}, {"netmask", sy.Netmask != ""}} {
			if k.set {
				return "", fmt.Errorf("%s: only for a layer-4 service (mode nat, tun or dr)", at(k.key))
			}
		}
		return "", nil
	}
	for _, k := range []struct {
		key string
		set bool
	}{{"rules", sy.Rules != ""}, {"loops", sy.Loops != 0}, {"max_idle", sy.MaxIdle != 0},
		{"timeouts", sy.Timeouts != (timeoutsYAML{})}} {
		if k.set {
			return "", fmt.Errorf("%s: a layer-7 key; a %s service forwards packets and does not read requests", at(k.key), sy.Mode)
		}
	}
	vip, err := netip.ParseAddrPort(sy.Listen)
	if err != nil || !vip.Addr().Is4() || vip.Addr().IsUnspecified() || vip.Port() == 0 {
		return "", fmt.Errorf("%s: %q: want the VIP as IPv4 ADDRESS:PORT, port not 0", at("listen"), sy.Listen)
	}
	proto := cmpOr(sy.Protocol, "tcp")
	if proto != "tcp" && proto != "udp" {
		return "", fmt.Errorf("%s: %q: want tcp or udp", at("protocol"), sy.Protocol)
	}
	if sy.Persistence < 0 || (sy.Persistence > 0 && sy.Persistence < time.Second) {
		return "", fmt.Errorf("%s: %v: want 0 (none) or at least 1s", at("persistence"), sy.Persistence)
	}
	if sy.Netmask != "" {
		if _, err := live.ParseMask(sy.Netmask); err != nil {
			return "", fmt.Errorf("%s: %w", at("netmask"), err)
		}
	}
	return proto + " " + vip.String(), nil
}

// readLive checks and keeps the health and monitor blocks of a service.
// at names a key of the service's entry with its file and line, serverAt
// its k-th server.
func readLive(svc *Service, sy *serviceYAML, at func(key string) string, serverAt func(k int) string) error {
	// Only the layer-7 switch observes its traffic (ctl.Host refuses the
	// rest again; here the error names the line).
	observer := !Layer4(sy.Mode)
	if sy.Health != nil {
		if _, err := sy.Health.Resolve(); err != nil {
			return fmt.Errorf("%s: %w", at("health"), err)
		}
		if err := sy.Health.CheckObserver(observer); err != nil {
			return fmt.Errorf("%s: %w", at("health"), err)
		}
		svc.Health = sy.Health
	}
	svc.ServerHealth = make([]*health.Config, len(sy.Servers))
	for k, s := range sy.Servers {
		if s.Health == nil {
			continue
		}
		merged := *s.Health
		if sy.Health != nil {
			merged = sy.Health.Merge(*s.Health)
		}
		if _, err := merged.Resolve(); err != nil {
			return fmt.Errorf("%s.health: %w", serverAt(k), err)
		}
		if err := s.Health.CheckObserver(observer); err != nil {
			return fmt.Errorf("%s.health: %w", serverAt(k), err)
		}
		svc.ServerHealth[k] = s.Health
	}
	if sy.Monitor != nil {
		if _, err := sy.Monitor.Resolve(); err != nil {
			return fmt.Errorf("%s: %w", at("monitor"), err)
		}
		if sched, err := algorithms.New(svc.Alg, svc.Options); err == nil {
			if _, ok := sched.(algorithms.LoadFeedback); !ok {
				return fmt.Errorf("%s: scheduler %s takes no load feedback (the monitor feeds dflb)", at("monitor"), svc.Alg)
			}
		}
		svc.Monitor = sy.Monitor
	}
	return nil
}

// readOptions reads a service's options: a mapping of option names to
// values as the option codec writes them (algorithms.OptionSpecs: low: 30,
// set_expiry: 60s, dflb.coefficients: [0, 1, 0, 0, 0, 0] or "0,1,0,0,0,0",
// classes: "cgi=0,1" with servers numbered from 0 in file order). where is
// a format of the file and line ("s.yaml:%d: services[0].options").
func readOptions(n *yaml.Node, where string) (algorithms.Options, error) {
	var o algorithms.Options
	if n.Kind == 0 {
		return o, nil // no options
	}
	if n.Kind != yaml.MappingNode {
		return o, fmt.Errorf(where+": want a mapping of option names to values", n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		text := v.Value
		switch {
		case v.Kind == yaml.SequenceNode:
			items := make([]string, len(v.Content))
			for j, c := range v.Content {
				if c.Kind != yaml.ScalarNode {
					return o, fmt.Errorf(where+".%s: want a value or a list of values", c.Line, k.Value)
				}
				items[j] = c.Value
			}
			text = strings.Join(items, ",")
		case v.Kind != yaml.ScalarNode:
			return o, fmt.Errorf(where+".%s: want a value or a list of values", v.Line, k.Value)
		}
		if err := algorithms.SetOption(&o, k.Value, text); err != nil {
			return o, fmt.Errorf(where+".%s: %w", k.Line, k.Value, err)
		}
	}
	return o, nil
}

// yamlSections names the decoder's types in messages.
var yamlSections = strings.NewReplacer(
	"in type director.servicesFile", "at the top level (want services)",
	"in type director.serviceYAML", "in a service",
	"in type director.timeoutsYAML", "in timeouts (want client, connect, backend)",
	"in type director.serverYAML", "in a server (want name, address, mode, weight, upper, lower, health)",
	"in type health.Config", "in health (want type, port, path, host, status, expect, interval, fast_interval, timeout, rise, fall, initial, on_failure, observe, error_limit, on_error)",
	"in type monitor.Config", "in monitor (want path, port, interval, timeout, window)",
	"field ", "unknown key ",
	" not found", "",
)

// yamlError turns a decoding error into "file:line: message" lines.
func yamlError(path string, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return fmt.Errorf("%s: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	msgs := make([]string, len(te.Errors))
	for i, e := range te.Errors {
		var line int
		if _, serr := fmt.Sscanf(e, "line %d:", &line); serr == nil {
			e = fmt.Sprintf("%s:%d:%s", path, line, e[strings.IndexByte(e, ':')+1:])
		} else {
			e = path + ": " + e
		}
		msgs[i] = yamlSections.Replace(e)
	}
	return errors.New(strings.Join(msgs, "\n"))
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// ParseBackend parses a real server ADDRESS:PORT[:WEIGHT] (the weight
// defaults to 1), with server ID id.
func ParseBackend(v string, id int) (dataplane.Server, error) {
	srv := dataplane.Server{ID: algorithms.ServerID(id), Weight: 1}
	if ap, err := netip.ParseAddrPort(v); err == nil {
		srv.Addr = ap
		return srv, nil
	}
	i := strings.LastIndexByte(v, ':')
	if i < 0 {
		return srv, fmt.Errorf("%q: want ADDRESS:PORT[:WEIGHT]", v)
	}
	ap, err := netip.ParseAddrPort(v[:i])
	if err != nil {
		return srv, fmt.Errorf("%q: want ADDRESS:PORT[:WEIGHT]", v)
	}
	w, err := strconv.Atoi(v[i+1:])
	if err != nil || w < 0 || w > algorithms.MaxWeight {
		return srv, fmt.Errorf("%q: the weight must be an integer between 0 and %d", v, algorithms.MaxWeight)
	}
	srv.Addr, srv.Weight = ap, w
	return srv, nil
}

// Build makes the service's scheduler (behind its content rules, if any),
// live host and switch, and the Host that names, health-checks and counts
// its servers; the caller closes the Host (its checks start at once).
// logf, if not nil, receives the switch's and the checks' log lines.
func (s *Service) Build(logf func(string, ...any)) (*l7.Switch, *ctl.Host, error) {
	s.ruleSet, s.ruleIDs = nil, nil
	if s.Rules != "" {
		names := map[string]algorithms.ServerID{}
		for _, srv := range s.Servers {
			name := srv.Name
			if name == "" {
				name = srv.Addr.String()
			}
			if _, dup := names[name]; dup {
				return nil, nil, fmt.Errorf("%s: two servers are named %q: the rules file could not tell them apart", s.Where, name)
			}
			names[name] = srv.ID
		}
		set, err := rules.ParseFile(s.Rules, func(n string) bool { _, ok := names[n]; return ok })
		if err != nil {
			return nil, nil, err
		}
		s.ruleSet, s.ruleIDs = set, names
		s.Config.Rules = set
	}
	sched, err := s.newScheduler(s.Alg)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", s.Where, err)
	}
	svc, err := dataplane.NewService(dataplane.Config{Scheduler: sched})
	if err != nil {
		return nil, nil, err
	}
	host, err := s.newHost(svc, logf)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", s.Where, err)
	}
	s.Config.Logf = logf
	s.Config.Observe = host.Health().Observe
	sw, err := l7.New(svc, s.Config)
	if err != nil {
		host.Close()
		return nil, nil, fmt.Errorf("%s: %w", s.Where, err)
	}
	return sw, host, nil
}

// newScheduler builds scheduler alg for the service, behind its content
// rules if it has any.
func (s *Service) newScheduler(alg string) (algorithms.Scheduler, error) {
	if s.ruleSet == nil {
		return algorithms.New(alg, s.Options)
	}
	ids := s.ruleIDs
	return rules.NewScheduler(s.ruleSet, func(n string) (algorithms.ServerID, bool) { id, ok := ids[n]; return id, ok }, alg, s.Options)
}

// newHost makes the service's Host on svc and adds its servers through
// it, so that they are health-checked and named by address for ctl.
func (s *Service) newHost(svc *dataplane.Service, logf func(string, ...any)) (*ctl.Host, error) {
	cfg := ctl.HostConfig{
		Forwards:      []string{ctl.ForwardProxy},
		Health:        s.Health,
		HealthOptions: health.Options{Name: s.Name, Logf: logf},
		Observed:      true,
	}
	if ids := s.ruleIDs; ids != nil {
		cfg.ID = func(n string) (algorithms.ServerID, bool) { id, ok := ids[n]; return id, ok }
	}
	host, err := ctl.NewHost(svc, cfg)
	if err != nil {
		return nil, err
	}
	for k, srv := range s.Servers {
		spec := ctl.ServerSpec{Addr: srv.Addr, Name: srv.Name, Weight: &srv.Weight, Upper: &srv.Upper, Lower: &srv.Lower}
		if k < len(s.ServerHealth) {
			spec.Health = s.ServerHealth[k]
		}
		if err := host.AddServer(spec); err != nil {
			host.Close()
			return nil, err
		}
	}
	return host, nil
}
