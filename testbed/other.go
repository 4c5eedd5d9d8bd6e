//go:build !linux

package testbed

import (
	"context"
	"errors"
	"time"
)

// errUnsupported: testbeds are made of Linux network namespaces.
var errUnsupported = errors.New("testbed: network namespaces need Linux")

// CheckHost: testbeds need Linux.
func CheckHost() error { return errUnsupported }

// Up needs Linux.
func Up(context.Context, Topology, string) (*Testbed, error) { return nil, errUnsupported }

// Open needs Linux.
func Open(string) (*Testbed, error) { return nil, errUnsupported }

// Down needs Linux.
func Down(string) (*Removed, error) { return nil, errUnsupported }

// DownPrefix needs Linux.
func DownPrefix(string) (*Removed, error) { return nil, errUnsupported }

// Prefixes needs Linux.
func Prefixes() ([]string, error) { return nil, errUnsupported }

// Status needs Linux.
func Status(string) (*Report, error) { return nil, errUnsupported }

// StatusPrefix needs Linux.
func StatusPrefix(string) (*Report, error) { return nil, errUnsupported }

// ReadSysctl needs Linux.
func ReadSysctl(string, string) (string, error) { return "", errUnsupported }

// ReadOffloads needs Linux.
func ReadOffloads(string, string) (Offloads, error) { return Offloads{}, errUnsupported }

// Start needs Linux.
func (tb *Testbed) Start(string, []string, string) (*Proc, error) { return nil, errUnsupported }

// Do needs Linux.
func (tb *Testbed) Do(string, func() error) error { return errUnsupported }

// Down needs Linux.
func (tb *Testbed) Down() (*Removed, error) { return nil, errUnsupported }

// Stop needs Linux.
func (p *Proc) Stop(time.Duration) error { return errUnsupported }
