//go:build !linux

package xdp

import (
	"errors"

	"github.com/lvslab/lvslab/dataplane/l4"
)

// DefaultMaxFlows is the flows map's default size.
const DefaultMaxFlows = 1 << 16

// FastPath is the XDP fast path; it exists only on Linux.
type FastPath struct{}

var errUnsupported = errors.New("xdp: XDP needs Linux")

// Load fails: XDP needs Linux.
func Load(maxFlows int) (*FastPath, error) { return nil, errUnsupported }

// Attach fails.
func (f *FastPath) Attach(ifname string) error { return errUnsupported }

// Close does nothing.
func (f *FastPath) Close() error { return nil }

// Install fails.
func (f *FastPath) Install(l4.FastFlow) error { return errUnsupported }

// Lookup finds nothing.
func (f *FastPath) Lookup(l4.FastKey) (l4.FastStats, bool, error) { return l4.FastStats{}, false, nil }

// Remove finds nothing.
func (f *FastPath) Remove(l4.FastKey) (l4.FastStats, bool, error) { return l4.FastStats{}, false, nil }

// Walk finds nothing.
func (f *FastPath) Walk(func(l4.FastKey, l4.FastStats)) error { return nil }

// Len returns 0.
func (f *FastPath) Len() (int, error) { return 0, nil }

// WithPassProgram fails: XDP needs Linux.
func WithPassProgram(attach func(fd int) error) error { return errUnsupported }
