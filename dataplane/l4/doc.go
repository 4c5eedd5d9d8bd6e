// Package l4 is lvslab's layer-4 director: a user-space IPVS that forwards
// real traffic by the three LVS methods (VS/NAT, VS/TUN, VS/DR, thesis
// ch.3), scheduling the first packet of every connection with any
// registered algorithms.Scheduler through a dataplane.Service.
//
// A Director reads Ethernet frames from its ports (dataplane/link.Link),
// handles each one with a small pure function, and writes the frames to
// send back to the links:
//
//	d, _ := l4.New(l4.Config{Ports: []l4.Port{{Link: eth0, Addr: dirAddr}}, Neighbors: nb})
//	_ = d.AddService(l4.ServiceConfig{Key: key, Scheduler: wlc})
//	_ = d.AddServer(key, l4.RealServer{Server: dataplane.Server{ID: 1, Addr: rs1, Weight: 1}, Method: l4.DR})
//	err := d.Run(ctx) // until ctx ends or a link closes
//
// Tests (and any other driver) call Process with a batch of frames and a
// time instead of Run.
package l4
