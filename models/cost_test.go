package models

import (
	"fmt"
	"testing"
	"time"
)

// TestCosts checks the service times of docs/reference-model.md "Serving one
// request" (thesis §4.3): setup 140 µs; disk 28 ms + 410 µs × ⌈size/4096⌉;
// send 40 µs × ⌈size/512⌉ + 140 µs; every block count rounded up.
func TestCosts(t *testing.T) {
	c := DefaultCosts()
	us := time.Microsecond
	for _, tc := range []struct {
		size       int64
		disk, send time.Duration
	}{
		{1, 28000*us + 410*us, 40*us + 140*us},
		{512, 28000*us + 410*us, 40*us + 140*us},
		{513, 28000*us + 410*us, 80*us + 140*us},
		{1000, 28000*us + 410*us, 80*us + 140*us},
		{4096, 28000*us + 410*us, 320*us + 140*us},
		{4097, 28000*us + 820*us, 360*us + 140*us},
		{100000, 28000*us + 25*410*us, 196*40*us + 140*us},
		{0, 28000 * us, 140 * us},
	} {
		t.Run(fmt.Sprint(tc.size), func(t *testing.T) {
			if got := c.DiskTime(tc.size, false); got != tc.disk {
				t.Errorf("DiskTime = %v, want %v", got, tc.disk)
			}
			if got := c.SendTime(tc.size, false); got != tc.send {
				t.Errorf("SendTime = %v, want %v", got, tc.send)
			}
			if got := c.SetupTime(false); got != 140*us {
				t.Errorf("SetupTime = %v, want 140µs", got)
			}
			if got := c.CPUTime(tc.size, false); got != tc.send+140*us {
				t.Errorf("CPUTime = %v, want %v", got, tc.send+140*us)
			}
			// A dynamic request costs DynamicFactor (2) times as much.
			if got := c.DiskTime(tc.size, true); got != 2*tc.disk {
				t.Errorf("dynamic DiskTime = %v, want %v", got, 2*tc.disk)
			}
			if got := c.SendTime(tc.size, true); got != 2*tc.send {
				t.Errorf("dynamic SendTime = %v, want %v", got, 2*tc.send)
			}
		})
	}
}

func TestCostsDefaultsAndValidate(t *testing.T) {
	if got := (Costs{}).WithDefaults(); got != DefaultCosts() {
		t.Fatalf("zero Costs with defaults = %+v", got)
	}
	custom := Costs{Connect: time.Millisecond, DynamicFactor: 1.5}.WithDefaults()
	if custom.Connect != time.Millisecond || custom.Teardown != DefaultTeardown || custom.DynamicFactor != 1.5 {
		t.Fatalf("explicit fields overwritten: %+v", custom)
	}
	if got := custom.SetupTime(true); got != 1500*time.Microsecond {
		t.Fatalf("dynamic setup with factor 1.5 = %v", got)
	}
	for _, bad := range []Costs{
		{Connect: -1}, {Teardown: -1}, {Transmit: -1}, {DiskAccess: -1}, {DiskTransfer: -1},
		{TransmitBlock: -1}, {DiskBlock: -1}, {DynamicFactor: -2},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", bad)
		}
	}
	if err := DefaultCosts().Validate(); err != nil {
		t.Fatal(err)
	}
}
