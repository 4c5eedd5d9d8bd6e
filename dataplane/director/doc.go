// Package director runs lvslab's live director ("lvslab director"): the
// services file (strict YAML: modes, listen addresses, schedulers and their
// options, content rules, timeouts, real servers, health checks and DFLB's
// load monitor), and the services it describes, registered in the admin
// table of "lvslab ctl" (package ctl): in mode l7 a layer-7 switch
// (dataplane/l7) over a dataplane.Service whose real servers a ctl.Host
// names, health-checks and counts; in modes nat, tun and dr a virtual
// service of the layer-4 director (dataplane/l4/live: a user-space IPVS on
// the namespace's interfaces), whose real servers the same ctl.Host code
// keeps, with the mode as their default forwarding method.
//
//	svcs, err := director.ReadServicesFile("services.yaml")
//	err = director.Run(ctx, svcs, os.Stderr, director.Options{Ctl: ctl.DefaultSocket()})
//
// # The services file
//
// Every key is checked: an unknown key, a value of the wrong type or out of
// range is an error naming the file, the line and the key. Scheduler
// options are spelt as everywhere (algorithms.OptionSpecs: low: 30,
// set_expiry: 60s, dflb.coefficients: [0, 1, 0, 0, 0, 0]); health: blocks
// are health.Config (per service, refined per server), monitor: blocks
// monitor.Config (only with a scheduler that takes load feedback). A
// layer-4 service's listen is its VIP:PORT; it takes protocol (tcp, udp),
// persistence and netmask (ipvsadm -p, -M) and a mode per server, and
// refuses the layer-7 keys (rules, loops, max_idle, timeouts).
//
// # Running
//
// [Run] starts every service (listeners, health checks, load monitors),
// serves the admin socket if Options.Ctl names one, and stops them all
// gracefully when its context ends: no new connections, requests in
// flight finish, for at most 10 s. Services added at run time by
// "lvslab ctl add-service" go through the same start path as the file's.
// The layer-4 director opens its packet sockets with the first layer-4
// service, in the calling thread's network namespace (Run's, or the
// process's for add-service), and Run reports ready once their real
// servers' next hops are resolved (at most ResolveTimeout); when it stops,
// its connections are forgotten (not drained: packets stop flowing).
package director
