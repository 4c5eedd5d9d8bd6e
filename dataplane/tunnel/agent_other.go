//go:build !linux

package tunnel

import "errors"

// Agent decapsulates IP-in-IP packets; it exists only on Linux.
type Agent struct{}

var errUnsupported = errors.New("tunnel: the agent needs Linux")

// Start fails: the agent needs Linux.
func Start(Config) (*Agent, error) { return nil, errUnsupported }

func (*Agent) Run() error          { return errUnsupported }
func (*Agent) Close() error        { return nil }
func (*Agent) Dev() string         { return "" }
func (*Agent) Count(Reason) uint64 { return 0 }
func (*Agent) Counts() []Counter   { return nil }
