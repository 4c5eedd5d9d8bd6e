package traces

import (
	"strings"
	"testing"
)

func TestParseBytes(t *testing.T) {
	good := map[string]int64{
		"0": 0, "512": 512, "512B": 512, "1KiB": 1024, "4MiB": 4 << 20, "2GiB": 2 << 30, "1TiB": 1 << 40,
		"1KB": 1000, "32MB": 32e6, "1GB": 1e9, "1.5KiB": 1536, "32mib": 32 << 20, " 8 MiB ": 8 << 20,
		"64k": 64 << 10, "2M": 2 << 20, "1g": 1 << 30, "9223372036854775807": 1<<63 - 1,
	}
	for s, want := range good {
		got, err := ParseBytes(s)
		if err != nil || got != want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	bad := map[string]string{
		"": "no number", "MiB": "no number", "-1": "want a number", "1XB": "want a number", "0.5B": "not a whole number",
		"1e3": "want a number", "9223372036854775808": "out of range", "8EiB": "want a number", "99999999TiB": "out of range", "1..2K": "want a number",
	}
	for s, want := range bad {
		if _, err := ParseBytes(s); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseBytes(%q) error %v, want %q", s, err, want)
		}
	}
	for _, n := range []int64{0, 1, 1000, 1024, 1536, 4 << 20, 3 << 30, 5 << 40, 123456789} {
		s := FormatBytes(n)
		back, err := ParseBytes(s)
		if err != nil || back != n {
			t.Errorf("FormatBytes(%d) = %q, parses back as %d, %v", n, s, back, err)
		}
	}
	if FormatBytes(4<<20) != "4MiB" || HumanBytes(1536) != "1.5 KiB" || HumanBytes(10) != "10 B" {
		t.Errorf("formatting: %q %q %q", FormatBytes(4<<20), HumanBytes(1536), HumanBytes(10))
	}
}
