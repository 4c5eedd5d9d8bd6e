//go:build !linux

package l7

import (
	"net/netip"
	"testing"
)

func fullBacklog(t *testing.T) (netip.AddrPort, bool) { return netip.AddrPort{}, false }
