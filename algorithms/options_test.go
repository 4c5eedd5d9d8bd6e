package algorithms_test

import (
	"net/netip"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lvslab/lvslab/algorithms"
)

// optionFields lists the leaf fields of Options by path ("DFLB.A"),
// descending into nested structs other than value types such as
// netip.Prefix.
func optionFields(typ reflect.Type, prefix string) []string {
	var out []string
	for f := range typ.Fields() {
		if !f.IsExported() {
			continue
		}
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[netip.Prefix]() {
			out = append(out, optionFields(f.Type, prefix+f.Name+".")...)
			continue
		}
		out = append(out, prefix+f.Name)
	}
	return out
}

// field returns the field of o at path.
func field(o *algorithms.Options, path string) reflect.Value {
	v := reflect.ValueOf(o).Elem()
	for name := range strings.SplitSeq(path, ".") {
		v = v.FieldByName(name)
	}
	return v
}

// TestOptionSpecsCoverOptions keeps the codec complete: every exported
// field of Options has exactly one spec, so an option added to Options
// without a spec (and so without a spelling in experiment files, flags,
// services files and scripts) fails here.
func TestOptionSpecsCoverOptions(t *testing.T) {
	specs := algorithms.OptionSpecs()
	byField := map[string][]string{}
	for _, s := range specs {
		byField[s.Field] = append(byField[s.Field], s.Name)
	}
	fields := optionFields(reflect.TypeFor[algorithms.Options](), "")
	for _, f := range fields {
		switch names := byField[f]; len(names) {
		case 0:
			t.Errorf("Options.%s has no option spec (add one to optionSpecs in algorithms/options.go)", f)
		case 1:
		default:
			t.Errorf("Options.%s has %d specs: %v", f, len(names), names)
		}
		delete(byField, f)
	}
	for f, names := range byField {
		t.Errorf("specs %v set Options.%s, which is not a field", names, f)
	}
}

var snake = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*(\.[a-z][a-z0-9]*(_[a-z0-9]+)*)*$`)

// TestOptionSpecs checks every spec: one snake_case spelling, a flag
// spelling with dashes, a documented default, and an example that sets
// exactly its field and formats back to itself.
func TestOptionSpecs(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range algorithms.OptionSpecs() {
		t.Run(s.Name, func(t *testing.T) {
			if !snake.MatchString(s.Name) || seen[s.Name] {
				t.Errorf("name %q: want a unique snake_case name", s.Name)
			}
			seen[s.Name] = true
			if strings.ContainsAny(s.Flag(), "_.") {
				t.Errorf("flag %q", s.Flag())
			}
			if got, ok := algorithms.LookupOption(s.Name); !ok || got.Field != s.Field {
				t.Errorf("LookupOption(%q) = %v, %v", s.Name, got.Field, ok)
			}
			if s.Doc == "" || s.Default == "" || s.Example == "" || s.Set == nil || s.Format == nil {
				t.Fatalf("incomplete spec %+v", s)
			}
			// The default parses, as a value of this option.
			var d algorithms.Options
			if err := s.Set(&d, s.Default); err != nil {
				t.Errorf("default %q: %v", s.Default, err)
			}
			// The example sets exactly this field, to a non-zero value.
			var o algorithms.Options
			if err := s.Set(&o, s.Example); err != nil {
				t.Fatalf("example %q: %v", s.Example, err)
			}
			for _, f := range optionFields(reflect.TypeFor[algorithms.Options](), "") {
				if zero := field(&o, f).IsZero(); zero != (f != s.Field) {
					t.Errorf("example %q: field %s zero = %v", s.Example, f, zero)
				}
			}
			// Format reads back to the same options, and is canonical.
			text := s.Format(o)
			var back algorithms.Options
			if err := algorithms.SetOption(&back, s.Name, text); err != nil {
				t.Fatalf("Format = %q: %v", text, err)
			}
			if !reflect.DeepEqual(back, o) {
				t.Errorf("Format = %q reads back as %+v, want %+v", text, back, o)
			}
			if again := s.Format(back); again != text {
				t.Errorf("Format is not canonical: %q, then %q", text, again)
			}
		})
	}
}

// TestOptionValues checks values of each kind, accepted and refused.
// Reference: §4.2.4 (DFLB's coefficients sum to 1), §6.3.6 (classes).
func TestOptionValues(t *testing.T) {
	tests := []struct {
		name, text string
		want       func(o algorithms.Options) any
		value      any
		err        string
	}{
		{"seed", "18446744073709551615", func(o algorithms.Options) any { return o.Seed }, uint64(1<<64 - 1), ""},
		{"seed", "18446744073709551616", nil, nil, "out of range"},
		{"seed", "-1", nil, nil, "not a non-negative integer"},
		{"low", " 7 ", func(o algorithms.Options) any { return o.Low }, 7, ""},
		{"low", "-1", nil, nil, `"-1": must be >= 0`},
		{"high", "x", nil, nil, `"x" is not an integer`},
		{"high", "99999999999999999999", nil, nil, "out of range"},
		{"set_expiry", "1m30s", func(o algorithms.Options) any { return o.SetExpiry }, 90 * time.Second, ""},
		{"set_expiry", "5", nil, nil, "not a duration"},
		{"set_expiry", "-1s", nil, nil, ">= 0"},
		{"table_expiry", "999999999h", nil, nil, "out of range (max 2562047h47m16.854775807s)"},
		{"threshold", "NaN", nil, nil, "not a finite number"},
		{"threshold", "1e400", nil, nil, "out of range"},
		{"epsilon", "-0.5", nil, nil, ">= 0"},
		{"replicas", "10000", func(o algorithms.Options) any { return o.Replicas }, 10000, ""},
		{"replicas", "10001", nil, nil, "at most 10000"},
		{"fallback", "TRUE", func(o algorithms.Options) any { return o.Fallback }, true, ""},
		{"port", "maybe", nil, nil, "not true or false"},
		{"inner", "WLC", func(o algorithms.Options) any { return o.Inner }, "wlc", ""},
		{"inner", "dflb", nil, nil, "not a scheduler DFLB can run over"},
		{"inner", "nosuch", nil, nil, "nosuch"},
		{"classes", "b=2,0;a=1", func(o algorithms.Options) any { return o.Classes },
			map[string][]algorithms.ServerID{"a": {1}, "b": {2, 0}}, ""},
		{"classes", "none", func(o algorithms.Options) any { return o.Classes }, map[string][]algorithms.ServerID(nil), ""},
		{"classes", "a=1;a=2", nil, nil, "given twice"},
		{"classes", "=1", nil, nil, "want CLASS=NODE,NODE"},
		{"classes", "a=0,,1", nil, nil, "empty value"},
		{"classes", "a=x", nil, nil, `node "x"`},
		{"near", "10.0.0.0/8=1,0;::/0=2", func(o algorithms.Options) any { return len(o.Near) }, 2, ""},
		{"near", "nope=1", nil, nil, "not an address prefix"},
		{"near", "10.0.0.0/8=", nil, nil, "no server"},
		{"dflb.coefficients", "0.1,0.3,0.1,0.1,0.1,0.3", func(o algorithms.Options) any { return o.DFLB.Coefficients },
			[6]float64{0.1, 0.3, 0.1, 0.1, 0.1, 0.3}, ""},
		{"dflb.coefficients", "1,0,0,0,0", nil, nil, "want 6 numbers"},
		{"dflb.coefficients", "0.5,0.6,0,0,0,0", nil, nil, "sum to 1"},
		{"dflb.coefficients", "-1,2,0,0,0,0", nil, nil, ">= 0"},
		{"dflb.a", "", nil, nil, "empty value"},
		{"nosuch", "1", nil, nil, `unknown option "nosuch" (known: seed, low, high`},
		{"expiry", "1s", nil, nil, "unknown option"}, // one spelling: set_expiry
	}
	for _, tc := range tests {
		var o algorithms.Options
		err := algorithms.SetOption(&o, tc.name, tc.text)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s=%q: error %v, want %q", tc.name, tc.text, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s=%q: %v", tc.name, tc.text, err)
			continue
		}
		if got := tc.want(o); !reflect.DeepEqual(got, tc.value) {
			t.Errorf("%s=%q: got %#v, want %#v", tc.name, tc.text, got, tc.value)
		}
	}
}

// FuzzSetOption checks that no text makes an option panic, and that any
// accepted value formats to text that reads back to the same options.
func FuzzSetOption(f *testing.F) {
	for _, s := range algorithms.OptionSpecs() {
		f.Add(s.Name, s.Example)
		f.Add(s.Name, s.Default)
	}
	f.Add("classes", "a=1;b=")
	f.Add("near", "::/0=1;10.0.0.0/8=2,3")
	f.Add("set_expiry", "1.5h")
	f.Fuzz(func(t *testing.T, name, text string) {
		var o algorithms.Options
		if err := algorithms.SetOption(&o, name, text); err != nil {
			return
		}
		s, _ := algorithms.LookupOption(name)
		var back algorithms.Options
		if err := s.Set(&back, s.Format(o)); err != nil {
			t.Fatalf("%s=%q formats as %q, which is refused: %v", name, text, s.Format(o), err)
		}
		if !reflect.DeepEqual(back, o) {
			t.Errorf("%s=%q: %+v formats as %q, read back as %+v", name, text, o, s.Format(o), back)
		}
	})
}

// An option's flag value sets the option through the codec and shows its
// default until it is set.
func TestOptionValue(t *testing.T) {
	for _, s := range algorithms.OptionSpecs() {
		var o algorithms.Options
		v := s.Value(&o)
		if v.String() != s.Default || v.Type() != s.Kind.String() {
			t.Errorf("%s: unset flag shows %q (type %s), want the default %q (%s)", s.Name, v.String(), v.Type(), s.Default, s.Kind)
		}
		if s.Example == "" {
			continue
		}
		if err := v.Set(s.Example); err != nil {
			t.Errorf("%s: Set(%q): %v", s.Name, s.Example, err)
			continue
		}
		var want algorithms.Options
		if err := s.Set(&want, s.Example); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(o, want) || v.String() != s.Format(want) {
			t.Errorf("%s: after Set(%q) the options are %+v, shown %q; want %+v, %q", s.Name, s.Example, o, v.String(), want, s.Format(want))
		}
	}
	var o algorithms.Options
	if err := algorithms.OptionSpecs()[0].Value(&o).Set("x"); err == nil {
		t.Error("a bad value is accepted")
	}
}
