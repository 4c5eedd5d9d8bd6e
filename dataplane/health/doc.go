// Package health checks real servers and takes failed ones out of a
// virtual service and back, as keepalived's checkers and HAProxy's health
// checks do. It serves the layer-7 switch and the layer-4 director alike:
// both hand it their live host ([Target], satisfied by
// *dataplane.Service).
//
//	g := health.NewGroup(svc, health.Options{Name: "web", Logf: log.Printf})
//	defer g.Close()
//	_ = g.Add(1, netip.MustParseAddrPort("10.0.0.2:80"), 1, health.Config{
//		Type: "http", Path: "/health", Status: "200", Rise: 2, Fall: 3,
//		Interval: 2 * time.Second, OnFailure: "inhibit"})
//	_ = g.SetWeight(1, 3) // the administrator's weight goes through the group
//
// # Checks
//
// A tcp check passes when a connection is accepted within Timeout. An http
// check sends "GET Path HTTP/1.1" with Connection: close and passes when
// the status is in Status (default any 2xx) and, if Expect is set, the
// first 64 KiB of the body contain it; the whole exchange has Timeout.
//
// # State
//
// A server is up or down. Rise consecutive successes bring a down server
// up; Fall consecutive failures take an up server down; a result that
// agrees with the state resets the count. Checks start one Interval
// apart, FastInterval apart while a count is running. The first check runs
// as soon as the server is added, from Initial (up by default).
//
// # Actions
//
// OnFailure "remove" (default) marks a failed server down in the pool
// (no new work; work in progress ends normally) and up again on return.
// "inhibit" (keepalived's inhibit_on_failure) sets its weight to 0 and
// restores the administrator's weight on return; the administrator's
// weight changes made meanwhile through [Group.SetWeight] are kept for
// that moment.
//
// # Observing live traffic
//
// With Observe "layer4" (HAProxy's observe layer4), the host reports each
// new connection it opens to a server through [Group.Observe]: nil when it
// succeeded, else the error (the layer-7 switch counts a connection a
// success when a response head arrived on it, and an error when it was
// refused, timed out, or closed or reset before any response byte). ErrorLimit consecutive
// errors apply OnError to a server that is up: "fastinter" only brings the
// next check forward to FastInterval; "fail-check" (default) also counts
// as one failed check towards Fall; "sudden-death" leaves one failed check
// to go; "mark-down" takes the server down at once. Each case then needs
// Rise passed checks to come back, so checks still decide the return. A
// success costs an atomic load, so the host may report every connection.
//
// # Time
//
// The reported times come from Options.Now; checks are paced by package
// time's timers and bounded by context deadlines, so tests drive them with
// testing/synctest's fake clock and a fake Options.Dial.
package health
