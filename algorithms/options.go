package algorithms

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The option codec: the one text form of every [Options] field, shared by
// experiment files (options: keys), the command line ("lvslab schedule
// --set-expiry 30s"), services files and the scenario scripts of algotest
// ("new lblcr set_expiry=30s"). Each field has exactly one spec, named in
// snake_case (a nested field is dotted: dflb.a), so an option is spelt the
// same everywhere.

// OptionKind says how an option's text reads.
type OptionKind int

const (
	OptionInt      OptionKind = iota // an integer >= 0
	OptionUint                       // an unsigned 64-bit integer
	OptionFloat                      // a finite number >= 0
	OptionDuration                   // a Go duration >= 0 (30s, 100ms)
	OptionBool                       // true or false
	OptionName                       // a registered scheduler name
	OptionClasses                    // "none" or CLASS=ID,ID;CLASS=ID
	OptionNear                       // "none" or PREFIX=ID,ID;PREFIX=ID
	OptionNumbers                    // comma-separated numbers
)

// String names the kind for help texts ("duration").
func (k OptionKind) String() string {
	switch k {
	case OptionInt:
		return "int"
	case OptionUint:
		return "uint"
	case OptionFloat:
		return "float"
	case OptionDuration:
		return "duration"
	case OptionBool:
		return "bool"
	case OptionName:
		return "name"
	case OptionClasses:
		return "classes"
	case OptionNear:
		return "prefixes"
	case OptionNumbers:
		return "numbers"
	}
	return "unknown"
}

// Syntax is how a value of a structured kind is written as text ("" for
// the scalar kinds).
func (k OptionKind) Syntax() string {
	switch k {
	case OptionClasses:
		return "CLASS=ID,ID;CLASS=ID, or none"
	case OptionNear:
		return "PREFIX=ID,ID;PREFIX=ID, or none"
	case OptionNumbers:
		return "comma-separated numbers"
	}
	return ""
}

// OptionSpec describes one field of [Options]: its name, how its value is
// written, and how to set and format it.
type OptionSpec struct {
	// Name is the option's one spelling: snake_case, dotted for a field of
	// a nested struct ("set_expiry", "dflb.change_threshold"). A command-line
	// flag writes it with '-' for '_' and '.' ([OptionSpec.Flag]).
	Name string
	// Field is the path of the Options field it sets ("DFLB.A").
	Field string
	Kind  OptionKind
	// Doc says which schedulers read it and what it means, in one line.
	Doc string
	// Default is the value a scheduler uses when the field is zero, as
	// text ("60s").
	Default string
	// Zero says what the zero value (0, false, none) means where it is a
	// value of its own rather than "use the default"; empty otherwise.
	Zero string
	// Example is a valid value other than the zero value.
	Example string
	// Set parses text and stores it in o. It checks the syntax and the
	// documented range (>= 0, at most MaxCHBLReplicas, six coefficients
	// summing to 1, a known scheduler); a scheduler's constructor checks
	// the rest (low above high, a table size that is not prime). Errors
	// quote the text but do not name the option: the caller names it as
	// the user wrote it (a flag, a file key and line).
	Set func(o *Options, text string) error
	// Format returns the field's value in o as text that Set reads back.
	Format func(o Options) string
}

// Flag is the option's command-line flag name: Name with '-' for '_' and
// '.' ("set-expiry", "dflb-change-threshold").
func (s OptionSpec) Flag() string {
	return strings.NewReplacer("_", "-", ".", "-").Replace(s.Name)
}

// Value returns the option as a command-line flag's value in o: a
// flag.Value (with the Type method of github.com/spf13/pflag) whose Set
// is the spec's and whose String is Format's text, or Default while the
// flag is unset.
func (s OptionSpec) Value(o *Options) *OptionValue { return &OptionValue{spec: s, opts: o} }

// OptionValue is one option as a command-line flag's value (OptionSpec.Value).
type OptionValue struct {
	spec OptionSpec
	opts *Options
	set  bool
}

// Set parses text into the option (OptionSpec.Set).
func (v *OptionValue) Set(text string) error {
	v.set = true
	return v.spec.Set(v.opts, text)
}

// String is the option's value as text, or its default while unset.
func (v *OptionValue) String() string {
	if !v.set {
		return v.spec.Default
	}
	return v.spec.Format(*v.opts)
}

// Type names the option's kind in a flag's help.
func (v *OptionValue) Type() string { return v.spec.Kind.String() }

// OptionNone is the text of an empty structured value (no class, no
// prefix table).
const OptionNone = "none"

var optionSpecs = []OptionSpec{
	{Name: "seed", Field: "Seed", Kind: OptionUint, Example: "42",
		Doc: "p2c and random tie-breaks: the scheduler's own seed", Default: "0",
		Set:    func(o *Options, v string) (err error) { o.Seed, err = parseOptionUint(v); return err },
		Format: func(o Options) string { return strconv.FormatUint(o.Seed, 10) }},
	{Name: "low", Field: "Low", Kind: OptionInt, Example: "10",
		Doc:     "lblc, lblcr, content: locality low threshold in connection units, for servers without their own (thesis §6.3.5)",
		Default: strconv.Itoa(DefaultLow), Set: setOptionInt(func(o *Options) *int { return &o.Low }, 0, ""),
		Format: func(o Options) string { return strconv.Itoa(o.Low) }},
	{Name: "high", Field: "High", Kind: OptionInt, Example: "20",
		Doc:     "lblc, lblcr, content: locality high threshold in connection units (thesis §6.3.5)",
		Default: strconv.Itoa(DefaultHigh), Set: setOptionInt(func(o *Options) *int { return &o.High }, 0, ""),
		Format: func(o Options) string { return strconv.Itoa(o.High) }},
	{Name: "set_expiry", Field: "SetExpiry", Kind: OptionDuration, Example: "30s",
		Doc:     "lblcr and its relatives: LBLC/R's set expiry K, an unmodified set sheds a member after this (thesis §6.3.5)",
		Default: formatDuration(DefaultSetExpiry), Set: setOptionDuration(func(o *Options) *time.Duration { return &o.SetExpiry }),
		Format: func(o Options) string { return formatDuration(o.SetExpiry) }},
	{Name: "table_expiry", Field: "TableExpiry", Kind: OptionDuration, Example: "1h",
		Doc:     "lblc, lblcr, content-lblcr, lbll*, ipvs-lblc, ipvs-lblcr: an entry of the URL/destination table unused this long is dropped",
		Default: formatDuration(DefaultTableExpiry), Set: setOptionDuration(func(o *Options) *time.Duration { return &o.TableExpiry }),
		Format: func(o Options) string { return formatDuration(o.TableExpiry) }},
	{Name: "max_entries", Field: "MaxEntries", Kind: OptionInt, Example: "100000",
		Doc:     "lblc, lblcr, content-lblcr, lbll*, ipvs-lblc, ipvs-lblcr: entries of each URL/destination table, least recently used dropped first",
		Default: strconv.Itoa(DefaultMaxEntries), Set: setOptionInt(func(o *Options) *int { return &o.MaxEntries }, 0, ""),
		Format: func(o Options) string { return strconv.Itoa(o.MaxEntries) }},
	{Name: "threshold", Field: "Threshold", Kind: OptionFloat, Example: "1.5",
		Doc:     "lbll*: load threshold T (thesis §7.3.1)",
		Default: formatFloat(DefaultThreshold), Set: setOptionFloat(func(o *Options) *float64 { return &o.Threshold }),
		Format: func(o Options) string { return formatFloat(o.Threshold) }},
	{Name: "fallback", Field: "Fallback", Kind: OptionBool, Example: "true", Zero: "no probing",
		Doc:     "sh, dh, mh: probe other buckets when the hashed server is unusable",
		Default: "false", Set: setOptionBool(func(o *Options) *bool { return &o.Fallback }),
		Format: func(o Options) string { return strconv.FormatBool(o.Fallback) }},
	{Name: "port", Field: "Port", Kind: OptionBool, Example: "true", Zero: "the address alone",
		Doc:     "sh, mh: hash the client port too",
		Default: "false", Set: setOptionBool(func(o *Options) *bool { return &o.Port }),
		Format: func(o Options) string { return strconv.FormatBool(o.Port) }},
	{Name: "table_size", Field: "TableSize", Kind: OptionInt, Example: "251",
		Doc:     "mh: Maglev lookup table size, a prime",
		Default: strconv.Itoa(DefaultMHTableSize), Set: setOptionInt(func(o *Options) *int { return &o.TableSize }, 0, ""),
		Format: func(o Options) string { return strconv.Itoa(o.TableSize) }},
	{Name: "epsilon", Field: "Epsilon", Kind: OptionFloat, Example: "0.1",
		Doc:     "chbl: consistent hashing with bounded loads, balance factor epsilon",
		Default: formatFloat(DefaultCHBLEpsilon), Set: setOptionFloat(func(o *Options) *float64 { return &o.Epsilon }),
		Format: func(o Options) string { return formatFloat(o.Epsilon) }},
	{Name: "replicas", Field: "Replicas", Kind: OptionInt, Example: "50",
		Doc:     "chbl: virtual nodes per server on the ring (at most " + strconv.Itoa(MaxCHBLReplicas) + ")",
		Default: strconv.Itoa(DefaultCHBLReplicas),
		Set:     setOptionInt(func(o *Options) *int { return &o.Replicas }, MaxCHBLReplicas, "the ring holds nodes × replicas points"),
		Format:  func(o Options) string { return strconv.Itoa(o.Replicas) }},
	{Name: "classes", Field: "Classes", Kind: OptionClasses, Example: "cgi=0,1;img=2", Zero: "no class",
		Doc:     "content, content-lblcr: class -> server IDs (thesis §6.3.6)",
		Default: OptionNone,
		Set:     func(o *Options, v string) (err error) { o.Classes, err = parseClasses(v); return err },
		Format:  func(o Options) string { return formatClasses(o.Classes) }},
	{Name: "near", Field: "Near", Kind: OptionNear, Example: "10.0.0.0/8=1,0", Zero: "no prefix table",
		Doc:     "global: client prefixes -> nearest server IDs (thesis §4.1.5)",
		Default: OptionNone,
		Set:     func(o *Options, v string) (err error) { o.Near, err = parseNear(v); return err },
		Format:  func(o Options) string { return formatNear(o.Near) }},
	{Name: "restart_cycle", Field: "RestartCycle", Kind: OptionBool, Example: "true",
		Doc:     "wrr: restart the cycle when weights change (the simulator's thesis preset sets it)",
		Default: "false", Set: setOptionBool(func(o *Options) *bool { return &o.RestartCycle }),
		Format: func(o Options) string { return strconv.FormatBool(o.RestartCycle) }},
	{Name: "inner", Field: "Inner", Kind: OptionName, Example: "wlc",
		Doc:     "dflb: the scheduler DFLB adjusts weights for, wrr or wlc",
		Default: "wrr", Set: setInner,
		Format: func(o Options) string { return o.Inner }},
	{Name: "dflb.coefficients", Field: "DFLB.Coefficients", Kind: OptionNumbers, Example: "0,1,0,0,0,0",
		Doc:     "dflb: R1..R6 for input, CPU, disk, memory, process, response, summing to 1 (thesis §4.2.4)",
		Default: formatNumbers(dflbWebCoefficients[:]),
		Set:     func(o *Options, v string) (err error) { o.DFLB.Coefficients, err = parseCoefficients(v); return err },
		Format:  func(o Options) string { return formatNumbers(o.DFLB.Coefficients[:]) }},
	{Name: "dflb.a", Field: "DFLB.A", Kind: OptionFloat, Example: "4",
		Doc:     "dflb: step scale A (thesis §4.2.4)",
		Default: formatFloat(DefaultDFLBParams().A), Set: setOptionFloat(func(o *Options) *float64 { return &o.DFLB.A }),
		Format: func(o Options) string { return formatFloat(o.DFLB.A) }},
	{Name: "dflb.scale", Field: "DFLB.Scale", Kind: OptionFloat, Example: "8",
		Doc:     "dflb: weight bound SCALE (a weight stays within [0, SCALE × its default weight])",
		Default: formatFloat(DefaultDFLBParams().Scale), Set: setOptionFloat(func(o *Options) *float64 { return &o.DFLB.Scale }),
		Format: func(o Options) string { return formatFloat(o.DFLB.Scale) }},
	{Name: "dflb.change_threshold", Field: "DFLB.ChangeThreshold", Kind: OptionFloat, Example: "0.5", Zero: "write every change",
		Doc:     "dflb: write a weight only if it changes by more than this",
		Default: formatFloat(DefaultDFLBParams().ChangeThreshold), Set: setOptionFloat(func(o *Options) *float64 { return &o.DFLB.ChangeThreshold }),
		Format: func(o Options) string { return formatFloat(o.DFLB.ChangeThreshold) }},
	{Name: "dflb.target", Field: "DFLB.Target", Kind: OptionFloat, Example: "0.9",
		Doc:     "dflb: target aggregate load",
		Default: formatFloat(DefaultDFLBParams().Target), Set: setOptionFloat(func(o *Options) *float64 { return &o.DFLB.Target }),
		Format: func(o Options) string { return formatFloat(o.DFLB.Target) }},
}

// OptionSpecs returns the spec of every Options field, in a fixed order.
func OptionSpecs() []OptionSpec { return slices.Clone(optionSpecs) }

// LookupOption returns the spec named name ([OptionSpec.Name]).
func LookupOption(name string) (OptionSpec, bool) {
	for _, s := range optionSpecs {
		if s.Name == name {
			return s, true
		}
	}
	return OptionSpec{}, false
}

// OptionNames returns every option's name, in OptionSpecs order.
func OptionNames() []string {
	names := make([]string, len(optionSpecs))
	for i, s := range optionSpecs {
		names[i] = s.Name
	}
	return names
}

// SetOption sets the option name of o from text. An unknown name is an
// error listing the known ones; a bad value is an error quoting it.
func SetOption(o *Options, name, text string) error {
	s, ok := LookupOption(name)
	if !ok {
		return fmt.Errorf("unknown option %q (known: %s)", name, strings.Join(OptionNames(), ", "))
	}
	if strings.TrimSpace(text) == "" {
		return errors.New("empty value")
	}
	return s.Set(o, text)
}

// errOptionRange is the error for a number too large for its type.
func errOptionRange(v string, max any) error {
	return fmt.Errorf("%q is out of range (max %v)", strings.TrimSpace(v), max)
}

func errOptionNegative(v string) error {
	return fmt.Errorf("%q: must be >= 0", strings.TrimSpace(v))
}

func parseOptionInt(v string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if errors.Is(err, strconv.ErrRange) {
		return 0, errOptionRange(v, math.MaxInt)
	}
	if err != nil {
		return 0, fmt.Errorf("%q is not an integer", v)
	}
	return n, nil
}

func parseOptionUint(v string) (uint64, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
	if errors.Is(err, strconv.ErrRange) {
		return 0, errOptionRange(v, uint64(math.MaxUint64))
	}
	if err != nil {
		return 0, fmt.Errorf("%q is not a non-negative integer", v)
	}
	return n, nil
}

func parseOptionFloat(v string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if errors.Is(err, strconv.ErrRange) && math.IsInf(f, 0) {
		return 0, errOptionRange(v, math.MaxFloat64)
	}
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a finite number", v)
	}
	return f, nil
}

// durationSyntax matches what time.ParseDuration accepts, whatever the
// magnitude: an optional sign and numbers with units, or a bare 0.
var durationSyntax = regexp.MustCompile(`^[-+]?(0|((\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h))+)$`)

func parseOptionDuration(v string) (time.Duration, error) {
	t := strings.TrimSpace(v)
	d, err := time.ParseDuration(t)
	if err != nil {
		if durationSyntax.MatchString(t) {
			// Well formed, so too large for time.Duration's nanoseconds.
			return 0, errOptionRange(v, time.Duration(math.MaxInt64))
		}
		return 0, fmt.Errorf("%q is not a duration (e.g. 5s, 100ms, 20us)", v)
	}
	return d, nil
}

func setOptionInt(f func(*Options) *int, most int, why string) func(*Options, string) error {
	return func(o *Options, v string) error {
		n, err := parseOptionInt(v)
		if err != nil {
			return err
		}
		if n < 0 {
			return errOptionNegative(v)
		}
		if most > 0 && n > most {
			return fmt.Errorf("%q: at most %d (%s)", strings.TrimSpace(v), most, why)
		}
		*f(o) = n
		return nil
	}
}

func setOptionFloat(f func(*Options) *float64) func(*Options, string) error {
	return func(o *Options, v string) error {
		x, err := parseOptionFloat(v)
		if err != nil {
			return err
		}
		if x < 0 {
			return errOptionNegative(v)
		}
		*f(o) = x
		return nil
	}
}

func setOptionDuration(f func(*Options) *time.Duration) func(*Options, string) error {
	return func(o *Options, v string) error {
		d, err := parseOptionDuration(v)
		if err != nil {
			return err
		}
		if d < 0 {
			return errOptionNegative(v)
		}
		*f(o) = d
		return nil
	}
}

func setOptionBool(f func(*Options) *bool) func(*Options, string) error {
	return func(o *Options, v string) error {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("%q is not true or false", v)
		}
		*f(o) = b
		return nil
	}
}

// setInner sets Options.Inner: a registered scheduler DFLB can run over.
func setInner(o *Options, v string) error {
	v = strings.ToLower(strings.TrimSpace(v))
	if _, ok := Lookup(v); !ok || strings.HasPrefix(v, "dflb") {
		return fmt.Errorf("%q is not a scheduler DFLB can run over (wrr, wlc)", v)
	}
	o.Inner = v
	return nil
}

func formatFloat(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

// formatDuration writes d as time.Duration.String does, without trailing
// zero units ("24h", not "24h0m0s"; "1m", not "1m0s").
func formatDuration(d time.Duration) string {
	s := d.String()
	if t, ok := strings.CutSuffix(s, "m0s"); ok {
		s = t + "m"
	}
	if t, ok := strings.CutSuffix(s, "h0m"); ok {
		s = t + "h"
	}
	return s
}

func formatNumbers(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = formatFloat(x)
	}
	return strings.Join(parts, ",")
}

// parseServerIDs parses a comma-separated list of server IDs ("" is none).
func parseServerIDs(v string) ([]ServerID, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	var ids []ServerID
	for s := range strings.SplitSeq(v, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			return nil, fmt.Errorf("%q: empty value", v)
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("node %q is not a number >= 0", s)
		}
		ids = append(ids, ServerID(n))
	}
	return ids, nil
}

func formatServerIDs(ids []ServerID) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.Itoa(int(id))
	}
	return strings.Join(parts, ",")
}

// parseClasses parses "none" or "CLASS=ID,ID;CLASS=ID".
func parseClasses(v string) (map[string][]ServerID, error) {
	v = strings.TrimSpace(v)
	if v == OptionNone {
		return nil, nil
	}
	out := map[string][]ServerID{}
	for item := range strings.SplitSeq(v, ";") {
		name, list, ok := strings.Cut(item, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return nil, fmt.Errorf("%q: want CLASS=NODE,NODE", item)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("class %q given twice", name)
		}
		ids, err := parseServerIDs(list)
		if err != nil {
			return nil, fmt.Errorf("class %s: %w", name, err)
		}
		out[name] = ids
	}
	return out, nil
}

// formatClasses writes classes sorted by name; an empty map is "none".
func formatClasses(m map[string][]ServerID) string {
	if len(m) == 0 {
		return OptionNone
	}
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + "=" + formatServerIDs(m[n])
	}
	return strings.Join(parts, ";")
}

// parseNear parses "none" or "PREFIX=ID,ID;PREFIX=ID" (in the order given).
func parseNear(v string) ([]NearServers, error) {
	v = strings.TrimSpace(v)
	if v == OptionNone {
		return nil, nil
	}
	var out []NearServers
	for item := range strings.SplitSeq(v, ";") {
		prefix, list, ok := strings.Cut(item, "=")
		if !ok {
			return nil, fmt.Errorf("%q: want PREFIX=NODE,NODE", item)
		}
		p, err := netip.ParsePrefix(strings.TrimSpace(prefix))
		if err != nil {
			return nil, fmt.Errorf("prefix %q is not an address prefix such as 10.0.0.0/8", strings.TrimSpace(prefix))
		}
		ids, err := parseServerIDs(list)
		if err != nil {
			return nil, fmt.Errorf("prefix %s: %w", p, err)
		}
		if len(ids) == 0 {
			return nil, fmt.Errorf("prefix %s: no server", p)
		}
		out = append(out, NearServers{Prefix: p, Servers: ids})
	}
	return out, nil
}

func formatNear(near []NearServers) string {
	if len(near) == 0 {
		return OptionNone
	}
	parts := make([]string, len(near))
	for i, n := range near {
		parts[i] = n.Prefix.String() + "=" + formatServerIDs(n.Servers)
	}
	return strings.Join(parts, ";")
}

// parseCoefficients parses DFLB's six coefficients "R1,...,R6": finite,
// >= 0, summing to 1 (thesis §4.2.4).
func parseCoefficients(v string) ([6]float64, error) {
	var r [6]float64
	parts := strings.Split(v, ",")
	if len(parts) != len(r) {
		return r, fmt.Errorf("%q: want 6 numbers (input, CPU, disk, memory, process, response), got %d", v, len(parts))
	}
	sum := 0.0
	for i, s := range parts {
		x, err := parseOptionFloat(s)
		if err != nil {
			return r, err
		}
		if x < 0 {
			return r, fmt.Errorf("%q: must be >= 0", s)
		}
		r[i] = x
		sum += x
	}
	if math.Abs(sum-1) > 1e-9 {
		return r, fmt.Errorf("%q: the coefficients must sum to 1 (they sum to %v)", v, sum)
	}
	return r, nil
}
