//go:build !linux

package main

import "errors"

// limitAddressSpace is not implemented here: TestBounds runs on Linux only.
func limitAddressSpace(uint64) error { return errors.New("no address-space limit on this system") }
