// Package director runs lvslab's live director ("lvslab director"): the
// services file (strict YAML: modes, listen addresses, schedulers and their
// options, content rules, timeouts, real servers), and the services it
// describes, each a layer-7 switch (dataplane/l7) over a dataplane.Service.
// Modes nat, tun and dr (layer 4) are not built yet.
//
//	svcs, err := director.ReadServices("services.yaml", f)
//	err = director.Run(ctx, svcs, os.Stderr, nil)
package director

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/dataplane"
	"github.com/lvslab/lvslab/dataplane/l7"
	"github.com/lvslab/lvslab/dataplane/rules"
)

// servicesFile is the YAML file of "lvslab director -f".
type servicesFile struct {
	Services []serviceYAML `yaml:"services"`
}

type serviceYAML struct {
	Name      string         `yaml:"name"`
	Listen    string         `yaml:"listen"`
	Mode      string         `yaml:"mode"`
	Scheduler string         `yaml:"scheduler"`
	Options   yaml.Node      `yaml:"options"`
	Rules     string         `yaml:"rules"`
	Loops     int            `yaml:"loops"`
	MaxIdle   int            `yaml:"max_idle"`
	Timeouts  timeoutsYAML   `yaml:"timeouts"`
	Servers   []serverYAML   `yaml:"servers"`
	line      int            // of the service's entry
	keyLines  map[string]int // line of each key of the entry
}

type timeoutsYAML struct {
	Client  time.Duration `yaml:"client"`
	Connect time.Duration `yaml:"connect"`
	Backend time.Duration `yaml:"backend"`
}

type serverYAML struct {
	Name    string `yaml:"name"`
	Address string `yaml:"address"`
	Weight  *int   `yaml:"weight"`
	Upper   int    `yaml:"upper"`
	Lower   int    `yaml:"lower"`
	line    int
}

// Service is one resolved virtual service.
type Service struct {
	Name    string
	Listen  string // ADDRESS:PORT
	Alg     string // registered scheduler name
	Options algorithms.Options
	Rules   string // rule file path, or ""
	Loops   int    // listeners (0: the caller's default)
	Config  l7.Config
	Servers []dataplane.Server
	Where   string // "file:line: services[i]" or "flags", for messages
}

// Modes names the forwarding modes, for messages.
const Modes = "l7 (nat, tun and dr are not implemented yet)"

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
	for i, sy := range f.Services {
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
		switch sy.Mode {
		case "l7":
		case "nat", "tun", "dr":
			return nil, fmt.Errorf("%s: mode %s is not implemented yet (only l7)", at("mode"), sy.Mode)
		default:
			return nil, fmt.Errorf("%s: unknown mode %q; want %s", at("mode"), sy.Mode, Modes)
		}
		if sy.Listen == "" {
			return nil, fmt.Errorf("%s: missing; want ADDRESS:PORT", at("listen"))
		}
		if prev, dup := listens[sy.Listen]; dup {
			return nil, fmt.Errorf("%s: %s is also the address of %s", at("listen"), sy.Listen, prev)
		}
		listens[sy.Listen] = fmt.Sprintf("services[%d]", i)
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
			Name: cmpOr(sy.Name, sy.Listen), Listen: sy.Listen, Alg: sy.Scheduler, Options: opts,
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
		for k, s := range sy.Servers {
			where := fmt.Sprintf("%s:%d: services[%d].servers[%d]", path, s.line, i, k)
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
		}
		out = append(out, svc)
	}
	return out, nil
}

// yamlSections names the decoder's types in messages.
var yamlSections = strings.NewReplacer(
	"in type director.servicesFile", "at the top level (want services)",
	"in type director.serviceYAML", "in a service",
	"in type director.timeoutsYAML", "in timeouts (want client, connect, backend)",
	"in type director.serverYAML", "in a server (want name, address, weight, upper, lower)",
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

// Build makes the service's scheduler, live host and switch; logf, if not
// nil, receives the switch's log lines.
func (s *Service) Build(logf func(string, ...any)) (*l7.Switch, error) {
	var sched algorithms.Scheduler
	var err error
	if s.Rules != "" {
		names := map[string]algorithms.ServerID{}
		for _, srv := range s.Servers {
			name := srv.Name
			if name == "" {
				name = srv.Addr.String()
			}
			if _, dup := names[name]; dup {
				return nil, fmt.Errorf("%s: two servers are named %q: the rules file could not tell them apart", s.Where, name)
			}
			names[name] = srv.ID
		}
		set, err := rules.ParseFile(s.Rules, func(n string) bool { _, ok := names[n]; return ok })
		if err != nil {
			return nil, err
		}
		sched, err = rules.NewScheduler(set, func(n string) (algorithms.ServerID, bool) { id, ok := names[n]; return id, ok }, s.Alg, s.Options)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.Where, err)
		}
		s.Config.Rules = set
	} else if sched, err = algorithms.New(s.Alg, s.Options); err != nil {
		return nil, fmt.Errorf("%s: %w", s.Where, err)
	}
	svc, err := dataplane.NewService(dataplane.Config{Scheduler: sched})
	if err != nil {
		return nil, err
	}
	for _, srv := range s.Servers {
		if err := svc.AddServer(srv); err != nil {
			return nil, fmt.Errorf("%s: %w", s.Where, err)
		}
	}
	s.Config.Logf = logf
	sw, err := l7.New(svc, s.Config)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.Where, err)
	}
	return sw, nil
}

// Run runs the services until ctx ends, then shuts them down gracefully
// (requests in flight finish, for at most 10 s) and logs each service's
// counters. Logs go to stderr. ready, if not nil, is called with the
// listen addresses once every service accepts connections.
func Run(ctx context.Context, svcs []Service, stderr io.Writer, ready func([]string)) error {
	var logMu sync.Mutex
	logf := func(format string, args ...any) {
		logMu.Lock()
		defer logMu.Unlock()
		fmt.Fprintf(stderr, "lvslab director: "+format+"\n", args...)
	}
	type running struct {
		svc *Service
		sw  *l7.Switch
	}
	var (
		runs  []running
		addrs []string
		wg    sync.WaitGroup
		errc  = make(chan error, 1)
	)
	shutdown := func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, r := range runs {
			if err := r.sw.Shutdown(sctx); err != nil {
				logf("%s: shutdown: %v (connections cut)", r.svc.Name, err)
			}
		}
		wg.Wait()
	}
	for i := range svcs {
		s := &svcs[i]
		sw, err := s.Build(logf)
		if err == nil {
			var lns []net.Listener
			lns, err = l7.Listen(ctx, s.Listen, max(s.Loops, 1))
			if err == nil {
				runs = append(runs, running{s, sw})
				for _, ln := range lns {
					wg.Go(func() {
						if err := sw.Serve(ln); err != nil && !errors.Is(err, l7.ErrClosed) {
							select {
							case errc <- fmt.Errorf("%s: %w", s.Name, err):
							default:
							}
						}
					})
				}
				addrs = append(addrs, lns[0].Addr().String())
				logf("%s: l7 on %s, scheduler %s, %d servers, %d listeners", s.Name, lns[0].Addr(), sw.Service().Scheduler(), len(s.Servers), len(lns))
			}
		}
		if err != nil {
			shutdown()
			return err
		}
	}
	if ready != nil {
		ready(addrs)
	}
	var err error
	select {
	case <-ctx.Done():
		logf("stopping")
	case err = <-errc:
	}
	shutdown()
	for _, r := range runs {
		st := r.sw.Stats()
		var parts []string
		for _, e := range l7.Events() {
			if n := st.Count(e); n > 0 {
				parts = append(parts, fmt.Sprintf("%s=%d", e, n))
			}
		}
		logf("%s: %s", r.svc.Name, cmpOr(strings.Join(parts, " "), "no connections"))
	}
	return err
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
