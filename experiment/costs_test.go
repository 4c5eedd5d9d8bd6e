package experiment

import (
	"strings"
	"testing"
	"time"

	"github.com/lvslab/lvslab/models"
)

func TestParseCosts(t *testing.T) {
	tests := []struct {
		in   string
		want models.Costs
		err  string
	}{
		{in: "", want: models.Costs{}},
		{in: "connect=1ms", want: models.Costs{Connect: time.Millisecond}},
		{in: " disk_access = 10ms , disk_block=8KiB,dynamic_factor=3, transmit_block=1024",
			want: models.Costs{DiskAccess: 10 * time.Millisecond, DiskBlock: 8192, DynamicFactor: 3, TransmitBlock: 1024}},
		{in: "teardown=1us,transmit=2us,disk_transfer=3us", want: models.Costs{Teardown: time.Microsecond, Transmit: 2 * time.Microsecond, DiskTransfer: 3 * time.Microsecond}},
		{in: "seek=1ms", err: `unknown key "seek" (known: connect, teardown, transmit, transmit_block, disk_access, disk_transfer, disk_block, dynamic_factor)`},
		{in: "connect", err: `"connect": want KEY=VALUE`},
		{in: "connect=", err: `"connect=": want KEY=VALUE`},
		{in: "connect=1ms,,teardown=1ms", err: `"": want KEY=VALUE`},
		{in: "connect=abc", err: `connect: "abc" is not a duration`},
		{in: "connect=0", err: `connect: "0": must be > 0`},
		{in: "disk_access=-1ms", err: `disk_access: "-1ms": must be >= 0`},
		{in: "disk_block=4 apples", err: "disk_block: "},
		{in: "dynamic_factor=NaN", err: `dynamic_factor: "NaN" is not a finite number`},
		{in: "connect=1ms,connect=2ms", err: "connect: given twice"},
	}
	for _, tc := range tests {
		got, err := ParseCosts(tc.in)
		switch {
		case tc.err != "":
			if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
				t.Errorf("ParseCosts(%q): %v, want an error starting %q", tc.in, err, tc.err)
			}
		case err != nil:
			t.Errorf("ParseCosts(%q): %v", tc.in, err)
		case got != tc.want:
			t.Errorf("ParseCosts(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

// FuzzParseCosts: no input panics, and what is accepted is a valid set of
// costs (nothing negative; defaults fill the rest).
func FuzzParseCosts(f *testing.F) {
	f.Add("connect=140us,disk_access=28ms")
	f.Add("transmit_block=1KiB,dynamic_factor=2.5")
	f.Add("connect==1")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCosts(s)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Errorf("ParseCosts(%q) accepted %+v: %v", s, c, err)
		}
	})
}
