// Package ctl is the director's admin API, after ipvsadm: virtual services
// and their real servers are added, edited and deleted at run time, and
// listed with ipvsadm's columns, counters and rates.
//
// # Pieces
//
//   - [Table] is the director's virtual server table: the services it
//     registered ([Service], one interface for the layer-7 switch's
//     services and the layer-4 director's), the add-service [Factory], and
//     one rate [Estimator] per service and real server, sampled every 2 s
//     ([Table.Run]). [Table.Handle] carries out a [Request].
//   - [Host] is what both directors' services share: the real servers of
//     one dataplane.Service named by address, their health checks
//     (package health) and their counters.
//   - [Server] serves a Table on a Unix socket created with mode 0600
//     ([Listen]); [Client] talks to it. The protocol is one JSON
//     [Request] per line, answered by one JSON [Response] per line.
//     [Args] builds a Request from ipvsadm's options (lvslab ctl's).
//   - [WriteList] and [WriteHealth] print what the client receives:
//     ipvsadm -L -n's listing (plain, --stats, --rate, --thresholds,
//     --exact) and the health checks' state.
//
// A director serves its table, and a client sends it requests:
//
//	table := ctl.NewTable(ctl.TableConfig{Add: director.addService})
//	_ = table.Register(webService) // a ctl.Service
//	go table.Run(ctx)              // rates every 2 s
//	srv, _ := ctl.Listen("/run/lvslab/director.sock", table, log.Printf)
//	go srv.Serve()
//	defer srv.Close()
//
//	c, _ := ctl.Dial("/run/lvslab/director.sock")
//	w := 2
//	_, err := c.Do(ctl.Request{Verb: ctl.VerbAddServer,
//		Service: &ctl.ServiceSpec{Key: ctl.Key{Proto: ctl.TCP, Addr: vip}},
//		Server:  &ctl.ServerSpec{Addr: rip, Weight: &w}})
//
// # Counters of a layer-7 service
//
// The layer-7 switch schedules requests, not connections, and does not see
// packets: its Conns are requests scheduled, InBytes the bytes relayed to
// the back ends, OutBytes the bytes received from them, and InPkts,
// OutPkts (and their rates) are 0 ([RequestCounters]). ActiveConn is the
// requests in service (in cost units: a dynamic request counts 2) and
// InActConn is 0. A service's totals include the servers deleted since it
// was added or zeroed, as IPVS's do.
package ctl
