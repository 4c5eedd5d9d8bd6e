//go:build !linux

package afpacket

import (
	"errors"
	"net"

	"github.com/lvslab/lvslab/dataplane/link"
)

// Link is an AF_PACKET link; it exists only on Linux.
type Link struct{}

var _ link.Link = (*Link)(nil)

var errUnsupported = errors.New("afpacket: AF_PACKET needs Linux")

// Open fails: AF_PACKET needs Linux.
func Open(string, Config) (*Link, error) { return nil, errUnsupported }

func (*Link) Recv([]link.Frame) (int, error) { return 0, errUnsupported }
func (*Link) Send([]link.Frame) error        { return errUnsupported }
func (*Link) MTU() int                       { return 0 }
func (*Link) MAC() net.HardwareAddr          { return nil }
func (*Link) Close() error                   { return nil }
func (*Link) Name() string                   { return "" }
func (*Link) Index() int                     { return 0 }
func (*Link) FrameSize() int                 { return 0 }
func (*Link) Stats() Stats                   { return Stats{} }
