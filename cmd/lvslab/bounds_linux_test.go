package main

import "syscall"

// limitAddressSpace limits this process's address space to n bytes.
func limitAddressSpace(n uint64) error {
	return syscall.Setrlimit(syscall.RLIMIT_AS, &syscall.Rlimit{Cur: n, Max: n})
}
