package traces

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

var byteUnits = []struct {
	suffix string
	mult   float64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"t", 1 << 40},
	{"b", 1},
}

// ParseBytes parses a byte size: a non-negative number with an optional
// unit, case-insensitive: B; KiB, MiB, GiB, TiB (powers of 1024, also K, M,
// G, T); KB, MB, GB, TB (powers of 1000). Fractions are allowed when the
// result is a whole number of bytes ("1.5KiB" = 1536, "0.5B" is an error).
func ParseBytes(s string) (int64, error) {
	t := strings.TrimSpace(s)
	num, mult := t, 1.0
	low := strings.ToLower(t)
	for _, u := range byteUnits {
		if strings.HasSuffix(low, u.suffix) {
			num, mult = strings.TrimSpace(t[:len(t)-len(u.suffix)]), u.mult
			break
		}
	}
	if num == "" {
		return 0, fmt.Errorf("traces: byte size %q: no number", s)
	}
	for _, c := range num {
		if (c < '0' || c > '9') && c != '.' {
			return 0, fmt.Errorf("traces: byte size %q: want a number with an optional unit (B, KiB, MiB, GiB, KB, MB, GB)", s)
		}
	}
	if mult == 1 && !strings.Contains(num, ".") {
		v, err := strconv.ParseInt(num, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("traces: byte size %q: out of range", s)
		}
		return v, nil
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("traces: byte size %q: want a number with an optional unit", s)
	}
	v := f * mult
	if v >= math.MaxInt64 || math.IsInf(v, 0) {
		return 0, fmt.Errorf("traces: byte size %q: out of range", s)
	}
	if v != math.Trunc(v) {
		return 0, fmt.Errorf("traces: byte size %q: not a whole number of bytes", s)
	}
	return int64(v), nil
}

// FormatBytes formats n with the largest binary unit that divides it
// ("4MiB", "1536KiB", "1000B"), so that ParseBytes(FormatBytes(n)) == n.
func FormatBytes(n int64) string {
	units := []string{"TiB", "GiB", "MiB", "KiB"}
	for i, u := range units {
		m := int64(1) << (10 * (len(units) - i))
		if n != 0 && n%m == 0 {
			return strconv.FormatInt(n/m, 10) + u
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}

// HumanBytes formats n approximately with a binary unit ("1.5 MiB").
func HumanBytes(n int64) string {
	f := float64(n)
	for _, u := range []string{"B", "KiB", "MiB", "GiB", "TiB"} {
		if math.Abs(f) < 1024 || u == "TiB" {
			if u == "B" {
				return fmt.Sprintf("%d B", n)
			}
			return fmt.Sprintf("%.1f %s", f, u)
		}
		f /= 1024
	}
	return ""
}
