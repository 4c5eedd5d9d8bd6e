// Package director runs lvslab's live director ("lvslab director"): the
// services file (strict YAML: modes, listen addresses, schedulers and their
// options, content rules, timeouts, real servers, health checks and DFLB's
// load monitor), and the services it describes, each a layer-7 switch
// (dataplane/l7) over a dataplane.Service whose real servers a ctl.Host
// names, health-checks and counts, registered in the admin table of
// "lvslab ctl" (package ctl). Modes nat, tun and dr (layer 4) are not built
// yet.
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
// monitor.Config (only with a scheduler that takes load feedback).
//
// # Running
//
// [Run] starts every service (listeners, health checks, load monitors),
// serves the admin socket if Options.Ctl names one, and stops them all
// gracefully when its context ends: no new connections, requests in
// flight finish, for at most 10 s. Services added at run time by
// "lvslab ctl add-service" go through the same start path as the file's.
package director
