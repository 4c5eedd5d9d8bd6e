package models

import (
	"cmp"
	"fmt"
	"math"
	"time"
)

// Costs are the service-time constants of a back-end node: the CPU cost of
// a connection and of sending bytes, and the disk cost of reading a file.
// The zero value of every field selects the thesis's value (thesis §4.3 and
// §6.3.7, which take them from the LARD paper, ASPLOS 1998), so Costs{} is
// the reference model of docs/reference-model.md.
//
// All per-block charges round the block count up: a 1-byte object costs one
// transmit block and one disk block.
type Costs struct {
	// Connect is the CPU time of TCP connection establishment. Default 140 µs.
	Connect time.Duration `json:"connect_ns" yaml:"connect"`

	// Teardown is the CPU time of closing the connection. Default 140 µs.
	Teardown time.Duration `json:"teardown_ns" yaml:"teardown"`

	// Transmit is the CPU time to send one TransmitBlock of the response.
	// Default 40 µs.
	Transmit time.Duration `json:"transmit_ns" yaml:"transmit"`

	// TransmitBlock is the unit of Transmit, in bytes. Default 512.
	TransmitBlock int64 `json:"transmit_block" yaml:"transmit_block"`

	// DiskAccess is the per-read disk positioning time (seek plus
	// rotational latency). Default 28 ms.
	DiskAccess time.Duration `json:"disk_access_ns" yaml:"disk_access"`

	// DiskTransfer is the disk time to transfer one DiskBlock. Default 410 µs.
	DiskTransfer time.Duration `json:"disk_transfer_ns" yaml:"disk_transfer"`

	// DiskBlock is the unit of DiskTransfer, in bytes. Default 4096.
	DiskBlock int64 `json:"disk_block" yaml:"disk_block"`

	// DynamicFactor multiplies every CPU and disk time of a dynamic request
	// (a CGI run costs more than sending a file). Default 2, matching the
	// two connection units a dynamic request counts for (thesis §6.3.5).
	DynamicFactor float64 `json:"dynamic_factor" yaml:"dynamic_factor"`
}

// The thesis's constants (thesis §4.3, from the LARD paper).
const (
	DefaultConnect       = 140 * time.Microsecond
	DefaultTeardown      = 140 * time.Microsecond
	DefaultTransmit      = 40 * time.Microsecond
	DefaultTransmitBlock = 512
	DefaultDiskAccess    = 28 * time.Millisecond
	DefaultDiskTransfer  = 410 * time.Microsecond
	DefaultDiskBlock     = 4096
	DefaultDynamicFactor = 2
)

// DefaultCosts returns the thesis's constants.
func DefaultCosts() Costs { return Costs{}.WithDefaults() }

// WithDefaults returns c with every zero field replaced by the thesis's value.
func (c Costs) WithDefaults() Costs {
	c.Connect = cmp.Or(c.Connect, DefaultConnect)
	c.Teardown = cmp.Or(c.Teardown, DefaultTeardown)
	c.Transmit = cmp.Or(c.Transmit, DefaultTransmit)
	c.TransmitBlock = cmp.Or(c.TransmitBlock, DefaultTransmitBlock)
	c.DiskAccess = cmp.Or(c.DiskAccess, DefaultDiskAccess)
	c.DiskTransfer = cmp.Or(c.DiskTransfer, DefaultDiskTransfer)
	c.DiskBlock = cmp.Or(c.DiskBlock, DefaultDiskBlock)
	c.DynamicFactor = cmp.Or(c.DynamicFactor, DefaultDynamicFactor)
	return c
}

// Validate reports the first field that is negative (or not a number).
func (c Costs) Validate() error {
	durations := []struct {
		name string
		d    time.Duration
	}{
		{"connect", c.Connect}, {"teardown", c.Teardown}, {"transmit", c.Transmit},
		{"disk_access", c.DiskAccess}, {"disk_transfer", c.DiskTransfer},
	}
	for _, f := range durations {
		if f.d < 0 {
			return fmt.Errorf("models: costs.%s must be >= 0 (got %v)", f.name, f.d)
		}
	}
	if c.TransmitBlock < 0 {
		return fmt.Errorf("models: costs.transmit_block must be >= 0 (got %d)", c.TransmitBlock)
	}
	if c.DiskBlock < 0 {
		return fmt.Errorf("models: costs.disk_block must be >= 0 (got %d)", c.DiskBlock)
	}
	if c.DynamicFactor < 0 || math.IsNaN(c.DynamicFactor) || math.IsInf(c.DynamicFactor, 0) {
		return fmt.Errorf("models: costs.dynamic_factor must be a finite number >= 0 (got %v)", c.DynamicFactor)
	}
	return nil
}

// blocks returns ceil(size/block) for size > 0, and 0 for size <= 0.
// A zero block size (only possible before WithDefaults) counts one block.
func blocks(size, block int64) int64 {
	if size <= 0 {
		return 0
	}
	if block <= 0 {
		return 1
	}
	return (size + block - 1) / block
}

// scale multiplies d by the dynamic factor for a dynamic request.
func (c *Costs) scale(d time.Duration, dynamic bool) time.Duration {
	if !dynamic || c.DynamicFactor == 1 {
		return d
	}
	return time.Duration(math.Round(float64(d) * c.DynamicFactor))
}

// SetupTime is the CPU job of step 1 of docs/reference-model.md: connection
// setup, Connect (×DynamicFactor for a dynamic request).
func (c *Costs) SetupTime(dynamic bool) time.Duration {
	return c.scale(c.Connect, dynamic)
}

// DiskTime is the disk job of a cache miss: DiskAccess + DiskTransfer ×
// ceil(size/DiskBlock) (×DynamicFactor for a dynamic request).
func (c *Costs) DiskTime(size int64, dynamic bool) time.Duration {
	return c.scale(c.DiskAccess+c.DiskTransfer*time.Duration(blocks(size, c.DiskBlock)), dynamic)
}

// SendTime is the CPU job of step 3 of docs/reference-model.md: transmit,
// Transmit × ceil(size/TransmitBlock), then Teardown, as one job
// (×DynamicFactor for a dynamic request).
func (c *Costs) SendTime(size int64, dynamic bool) time.Duration {
	return c.scale(c.Transmit*time.Duration(blocks(size, c.TransmitBlock))+c.Teardown, dynamic)
}

// CPUTime is the total CPU time of one request, SetupTime + SendTime.
func (c *Costs) CPUTime(size int64, dynamic bool) time.Duration {
	return c.SetupTime(dynamic) + c.SendTime(size, dynamic)
}
