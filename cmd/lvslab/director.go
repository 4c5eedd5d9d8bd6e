package main

// "lvslab director": the live director. Mode l7 runs the layer-7 content
// switch (dataplane/l7); the layer-4 modes (nat, tun, dr) are not built
// yet. The services file is read here with a small strict codec of its
// own; the experiment codec shared with sim and testbed will replace its
// scheduler-options part.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/dataplane"
	"github.com/lvslab/lvslab/dataplane/l7"
	"github.com/lvslab/lvslab/dataplane/rules"
)

func init() { subcommands = append(subcommands, newDirectorCmd) }

// servicesFile is the YAML file of "lvslab director -f".
type servicesFile struct {
	Services []serviceYAML `yaml:"services"`
}

type serviceYAML struct {
	Name      string         `yaml:"name"`
	Listen    string         `yaml:"listen"`
	Mode      string         `yaml:"mode"`
	Scheduler string         `yaml:"scheduler"`
	Options   optionsYAML    `yaml:"options"`
	Rules     string         `yaml:"rules"`
	Loops     int            `yaml:"loops"`
	MaxIdle   int            `yaml:"max_idle"`
	Timeouts  timeoutsYAML   `yaml:"timeouts"`
	Servers   []serverYAML   `yaml:"servers"`
	line      int            // of the service's entry
	keyLines  map[string]int // line of each key of the entry
}

// optionsYAML is the part of algorithms.Options a director sets.
type optionsYAML struct {
	Seed         uint64        `yaml:"seed"`
	Low          int           `yaml:"low"`
	High         int           `yaml:"high"`
	SetExpiry    time.Duration `yaml:"set_expiry"`
	TableExpiry  time.Duration `yaml:"table_expiry"`
	Threshold    float64       `yaml:"threshold"`
	Epsilon      float64       `yaml:"epsilon"`
	Replicas     int           `yaml:"replicas"`
	TableSize    int           `yaml:"table_size"`
	Fallback     bool          `yaml:"fallback"`
	Port         bool          `yaml:"port"`
	RestartCycle bool          `yaml:"restart_cycle"`
}

func (o optionsYAML) options() algorithms.Options {
	return algorithms.Options{
		Seed: o.Seed, Low: o.Low, High: o.High, SetExpiry: o.SetExpiry, TableExpiry: o.TableExpiry,
		Threshold: o.Threshold, Epsilon: o.Epsilon, Replicas: o.Replicas, TableSize: o.TableSize,
		Fallback: o.Fallback, Port: o.Port, RestartCycle: o.RestartCycle,
	}
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

// service is one resolved virtual service.
type service struct {
	name    string
	listen  string
	alg     string
	opts    algorithms.Options
	rules   string // rule file path, or ""
	loops   int
	cfg     l7.Config
	servers []dataplane.Server
	where   string // "file:line: services[i]" or "flags", for messages
}

const directorModes = "l7 (nat, tun and dr are not implemented yet)"

// readServices reads and checks a services file.
func readServices(path string, r io.Reader) ([]service, error) {
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
	var out []service
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
			return nil, fmt.Errorf("%s: missing; want %s", at("mode"), directorModes)
		}
		switch sy.Mode {
		case "l7":
		case "nat", "tun", "dr":
			return nil, fmt.Errorf("%s: mode %s is not implemented yet (only l7)", at("mode"), sy.Mode)
		default:
			return nil, fmt.Errorf("%s: unknown mode %q; want %s", at("mode"), sy.Mode, directorModes)
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
		svc := service{
			name: cmpOr(sy.Name, sy.Listen), listen: sy.Listen, alg: sy.Scheduler, opts: sy.Options.options(),
			loops: sy.Loops, where: at(""),
			cfg: l7.Config{ClientTimeout: sy.Timeouts.Client, ConnectTimeout: sy.Timeouts.Connect,
				BackendTimeout: sy.Timeouts.Backend, MaxIdle: sy.MaxIdle},
		}
		if sy.Rules != "" {
			svc.rules = sy.Rules
			if !filepath.IsAbs(svc.rules) {
				svc.rules = filepath.Join(dir, svc.rules)
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
			svc.servers = append(svc.servers, dataplane.Server{
				ID: algorithms.ServerID(k), Name: s.Name, Addr: ap, Weight: w, Upper: s.Upper, Lower: s.Lower,
			})
		}
		out = append(out, svc)
	}
	return out, nil
}

// yamlSections names the decoder's types in messages.
var yamlSections = strings.NewReplacer(
	"in type main.servicesFile", "at the top level (want services)",
	"in type main.serviceYAML", "in a service",
	"in type main.optionsYAML", "in options",
	"in type main.timeoutsYAML", "in timeouts (want client, connect, backend)",
	"in type main.serverYAML", "in a server (want name, address, weight, upper, lower)",
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

// parseBackendFlag parses --backend ADDRESS:PORT[:WEIGHT].
func parseBackendFlag(v string, id int) (dataplane.Server, error) {
	srv := dataplane.Server{ID: algorithms.ServerID(id), Weight: 1}
	if ap, err := netip.ParseAddrPort(v); err == nil {
		srv.Addr = ap
		return srv, nil
	}
	i := strings.LastIndexByte(v, ':')
	if i < 0 {
		return srv, fmt.Errorf("--backend %q: want ADDRESS:PORT[:WEIGHT]", v)
	}
	ap, err := netip.ParseAddrPort(v[:i])
	if err != nil {
		return srv, fmt.Errorf("--backend %q: want ADDRESS:PORT[:WEIGHT]", v)
	}
	w, err := strconv.Atoi(v[i+1:])
	if err != nil || w < 0 || w > algorithms.MaxWeight {
		return srv, fmt.Errorf("--backend %q: the weight must be an integer between 0 and %d", v, algorithms.MaxWeight)
	}
	srv.Addr, srv.Weight = ap, w
	return srv, nil
}

type directorFlags struct {
	file          string
	mode          string
	listen        string
	backends      []string
	alg           string
	loops         int
	rules         string
	clientTimeout time.Duration
}

func newDirectorCmd() *cobra.Command {
	var f directorFlags
	cmd := &cobra.Command{
		Use:   "director (-f services.yaml | [--mode l7] --listen ADDR:PORT --backend ADDR:PORT[:WEIGHT]...)",
		Short: "Run a live director (mode l7: the layer-7 content switch)",
		Long: `Run a live director in the foreground until SIGINT or SIGTERM, which stop it
gracefully (no new connections; requests in flight finish, for at most 10 s).

Mode l7 is a layer-7 content switch (KTCPVS in user space): it parses every
HTTP/1.x request, schedules it with any registered scheduler (the locality key
of lblc/lblcr is the URL target up to '?'; '?' or cgi-bin requests cost 2), and
relays it over keep-alive connections to the back ends, so the requests of one
client connection may go to different back ends, answered in order. Optional
TCPHA-style content rules ("rule = <server> <regex>", first match wins, a
catch-all ".*" last) restrict each request to its rule's servers.
Modes nat, tun and dr (layer 4) are not implemented yet.

One service from flags, or any number from a YAML file:

  services:
    - name: web                 # for logs (default: the listen address)
      listen: 127.0.0.1:8080
      mode: l7
      scheduler: lblc           # see "lvslab algorithms"
      options: {low: 30, high: 60, seed: 1}   # scheduler options
      rules: rules.conf         # optional; relative to this file
      loops: 2                  # listeners (default: GOMAXPROCS)
      max_idle: 64              # idle back-end connections kept per back end
      timeouts: {client: 10s, connect: 3s, backend: 30s}
      servers:
        - {name: rs1, address: 127.0.0.1:8081, weight: 1}
        - {name: rs2, address: 127.0.0.1:8082, weight: 2, upper: 100, lower: 50}

Options keys: seed, low, high, set_expiry, table_expiry, threshold, epsilon,
replicas, table_size, fallback, port, restart_cycle. Unknown keys are errors.
In a rules file a server is named by its name, or by its address when it has
none. Logs go to standard error; on exit the event counters are printed there.`,
		Example: `  lvslab director --mode l7 --listen 127.0.0.1:8080 --backend 127.0.0.1:8081 --backend 127.0.0.1:8082:2 --alg wlc
  lvslab director -f services.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			svcs, err := f.services(cmd)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return runDirector(ctx, svcs, cmd.ErrOrStderr(), nil)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.file, "file", "f", "", "services file (YAML)")
	fl.StringVar(&f.mode, "mode", "l7", "forwarding mode of the --listen service: "+directorModes)
	fl.StringVar(&f.listen, "listen", "", "listen address of a single l7 service, ADDRESS:PORT")
	fl.StringArrayVar(&f.backends, "backend", nil, "a real server ADDRESS:PORT[:WEIGHT] (repeat for each)")
	fl.StringVar(&f.alg, "alg", "wlc", "scheduler (see \"lvslab algorithms\")")
	fl.IntVar(&f.loops, "loops", runtime.GOMAXPROCS(0), "listeners (SO_REUSEPORT), one per core")
	fl.StringVar(&f.rules, "rules", "", "content rules file (rule = <server> <regex>)")
	fl.Var(&l7.DefaultEngine, "engine", "how the l7 switch runs connections: epoll (an event loop per listener, Linux) or goroutine (one per connection)")
	fl.DurationVar(&f.clientTimeout, "client-timeout", l7.DefaultClientTimeout, "time a client has to send a complete request head (408 after it)")
	return cmd
}

// services resolves the flags into services.
func (f *directorFlags) services(cmd *cobra.Command) ([]service, error) {
	switch f.mode {
	case "l7":
	case "nat", "tun", "dr":
		return nil, fmt.Errorf("--mode %s: not implemented yet (only l7)", f.mode)
	default:
		return nil, fmt.Errorf("--mode %q: unknown; want %s", f.mode, directorModes)
	}
	quick := f.listen != "" || len(f.backends) > 0 || f.rules != "" ||
		cmd.Flags().Changed("alg") || cmd.Flags().Changed("client-timeout") || cmd.Flags().Changed("mode")
	if f.loops < 1 {
		return nil, fmt.Errorf("--loops %d: must be at least 1", f.loops)
	}
	if f.file != "" {
		if quick {
			return nil, errors.New("-f and --mode/--listen/--backend/--alg/--rules/--client-timeout exclude each other: put the service in the file")
		}
		r, err := os.Open(f.file)
		if err != nil {
			return nil, err
		}
		defer r.Close()
		svcs, err := readServices(f.file, r)
		if err != nil {
			return nil, err
		}
		for i := range svcs {
			if svcs[i].loops == 0 {
				svcs[i].loops = f.loops
			}
		}
		return svcs, nil
	}
	if f.listen == "" || len(f.backends) == 0 {
		return nil, errors.New("give -f services.yaml, or --listen ADDRESS:PORT and at least one --backend ADDRESS:PORT[:WEIGHT]")
	}
	if _, ok := algorithms.Lookup(f.alg); !ok {
		return nil, fmt.Errorf("--alg %q: unknown scheduler (known: %s)", f.alg, strings.Join(algorithms.Names(), ", "))
	}
	if f.clientTimeout <= 0 {
		return nil, fmt.Errorf("--client-timeout %v: must be positive", f.clientTimeout)
	}
	svc := service{name: f.listen, listen: f.listen, alg: f.alg, rules: f.rules, loops: f.loops, where: "flags",
		cfg: l7.Config{ClientTimeout: f.clientTimeout}}
	for i, b := range f.backends {
		srv, err := parseBackendFlag(b, i)
		if err != nil {
			return nil, err
		}
		svc.servers = append(svc.servers, srv)
	}
	return []service{svc}, nil
}

// build makes the service's scheduler, live host and switch.
func (s *service) build(logf func(string, ...any)) (*l7.Switch, error) {
	var sched algorithms.Scheduler
	var err error
	if s.rules != "" {
		names := map[string]algorithms.ServerID{}
		for _, srv := range s.servers {
			name := srv.Name
			if name == "" {
				name = srv.Addr.String()
			}
			if _, dup := names[name]; dup {
				return nil, fmt.Errorf("%s: two servers are named %q: the rules file could not tell them apart", s.where, name)
			}
			names[name] = srv.ID
		}
		set, err := rules.ParseFile(s.rules, func(n string) bool { _, ok := names[n]; return ok })
		if err != nil {
			return nil, err
		}
		sched, err = rules.NewScheduler(set, func(n string) (algorithms.ServerID, bool) { id, ok := names[n]; return id, ok }, s.alg, s.opts)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.where, err)
		}
		s.cfg.Rules = set
	} else if sched, err = algorithms.New(s.alg, s.opts); err != nil {
		return nil, fmt.Errorf("%s: %w", s.where, err)
	}
	svc, err := dataplane.NewService(dataplane.Config{Scheduler: sched})
	if err != nil {
		return nil, err
	}
	for _, srv := range s.servers {
		if err := svc.AddServer(srv); err != nil {
			return nil, fmt.Errorf("%s: %w", s.where, err)
		}
	}
	s.cfg.Logf = logf
	sw, err := l7.New(svc, s.cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.where, err)
	}
	return sw, nil
}

// runDirector runs the services until ctx ends, then shuts them down.
// ready, if not nil, is called with the listen addresses once every
// service accepts connections.
func runDirector(ctx context.Context, svcs []service, stderr io.Writer, ready func([]string)) error {
	var logMu sync.Mutex
	logf := func(format string, args ...any) {
		logMu.Lock()
		defer logMu.Unlock()
		fmt.Fprintf(stderr, "lvslab director: "+format+"\n", args...)
	}
	type running struct {
		svc *service
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
				logf("%s: shutdown: %v (connections cut)", r.svc.name, err)
			}
		}
		wg.Wait()
	}
	for i := range svcs {
		s := &svcs[i]
		sw, err := s.build(logf)
		if err == nil {
			var lns []net.Listener
			lns, err = l7.Listen(ctx, s.listen, s.loops)
			if err == nil {
				runs = append(runs, running{s, sw})
				for _, ln := range lns {
					wg.Go(func() {
						if err := sw.Serve(ln); err != nil && !errors.Is(err, l7.ErrClosed) {
							select {
							case errc <- fmt.Errorf("%s: %w", s.name, err):
							default:
							}
						}
					})
				}
				addrs = append(addrs, lns[0].Addr().String())
				logf("%s: l7 on %s, scheduler %s, %d servers, %d listeners", s.name, lns[0].Addr(), sw.Service().Scheduler(), len(s.servers), len(lns))
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
		logf("%s: %s", r.svc.name, cmpOr(strings.Join(parts, " "), "no connections"))
	}
	return err
}
