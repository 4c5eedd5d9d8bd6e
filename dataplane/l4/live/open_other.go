//go:build !linux

package live

import "errors"

// Open needs Linux (packet sockets, netlink).
func Open(Config) (*Director, error) {
	return nil, errors.New("live: the layer-4 director needs Linux")
}
