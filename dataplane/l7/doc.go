// Package l7 is lvslab's layer-7 content switch: KTCPVS (thesis §6.4) in
// user space, with the content rules of TCPHA and HTTP/1.1 persistent
// connections handled as thesis §6.5 describes.
//
// The switch accepts client connections on the virtual service's address,
// parses each request ([httpx.ParseRequest]), schedules it with the
// service's scheduler ([dataplane.Service.Pick]: the locality key is the
// target up to '?' or '#', the cost 2 for dynamic requests, the class the
// matched content rule's), and sends it over a keep-alive connection to
// the chosen back end, taken from a bounded pool of idle connections per
// back end or opened for it. The response is relayed to the client
// (Content-Length, chunked and close-delimited bodies; 1xx interim
// responses, HEAD, 204 and 304 without a body), and the next request on the
// same client connection is scheduled on its own, so the requests of one
// HTTP/1.1 connection can go to different back ends. Pipelined requests
// wait in the client's buffer and are answered one at a time, in order.
// Request bodies (Content-Length or chunked, with Expect: 100-continue)
// are relayed; heads are relayed byte for byte, with one exception: an
// HTTP/1.1 request's "Connection: close" field is hop-by-hop and is not
// forwarded, so that the back-end connection stays open for other
// clients; the switch closes the client connection after the response and
// says so in it (a "Connection: close" line added to its head when the
// back end's does not have one).
//
//	svc, _ := dataplane.NewService(dataplane.Config{Scheduler: lblc})
//	_ = svc.AddServer(dataplane.Server{ID: 1, Addr: netip.MustParseAddrPort("127.0.0.1:8081"), Weight: 1})
//	sw, _ := l7.New(svc, l7.Config{})
//	lns, _ := l7.Listen(ctx, "127.0.0.1:8080", runtime.GOMAXPROCS(0))
//	for _, ln := range lns { go sw.Serve(ln) }
//	...
//	sw.Shutdown(ctx) // stop accepting, finish requests in flight
//
// # Errors
//
// Every failure is counted by reason ([Event], [Switch.Stats]) and answered
// with a status when nothing of the response has been relayed yet: a
// malformed request 400, a request line over the limit 414, a head over
// the limit 431, a transfer coding other than chunked or CONNECT 501, HTTP
// versions other than 1.x 505, no complete request head within
// Config.ClientTimeout on a new connection 408 (an idle keep-alive
// connection is closed silently), no usable back end 503, a refused or
// timed-out connection or a back end that closes or resets before
// answering 502, a response that does not parse or a 101 Switching
// Protocols 502 (protocol upgrades are not relayed), no answer within
// Config.BackendTimeout 504. Error answers close the connection. A back end that fails after the response
// head was relayed cannot change the status any more: the client
// connection is closed, so the client sees a truncated response.
//
// Retries: a request is scheduled again at most once after a failure
// (HAProxy's redispatch). A failed connection attempt sent nothing, so any
// request is scheduled again (possibly on another back end). A back end
// that closes or resets before answering is retried only for an
// idempotent request (GET, HEAD, OPTIONS, TRACE, PUT, DELETE) whose body
// was still wholly buffered, so that nothing of it was lost: on a fresh
// connection to the same back end when the failed connection came from
// the idle pool (the back end had closed it, a race inherent in
// keep-alive, which does not use up the retry), else on a newly scheduled
// one. A request thus meets at most four connections: pooled, fresh,
// and the same again after the one rescheduling. Config.Observe hears of
// every failure that is not the keep-alive race, so that passive health
// checks (health.Group.Observe) can take the server out before the
// rescheduling.
//
// # Design
//
// Two engines run the same behaviour (Config.Engine, [Engine]; the test
// suite runs against both):
//
//   - EngineEpoll (the default on Linux): each call to Serve runs one event
//     loop on its own locked OS thread, with its own epoll instance, its
//     own listener (the SO_REUSEPORT group of [Listen] spreads connections
//     over the loops) and its own pools of back-end connections (MaxIdle is
//     per loop). Sockets are non-blocking and driven by raw system calls;
//     epoll is level-triggered and a socket is read only once epoll said it
//     is readable (or right after a deferred accept, TCP_DEFER_ACCEPT,
//     when the request is usually there: a client that sends one request
//     and closes never enters epoll). A socket that reports something its
//     connection does not wait for is taken out of the reports until it
//     does, so the steady state costs no epoll_ctl. When the connection
//     closes after a response, its last bytes leave with the FIN
//     (MSG_MORE, then close). Idle pooled back-end connections stay in
//     epoll, so one the back end closed is dropped before it is reused.
//     Timeouts are FIFO queues of deadlines per timeout length, checked
//     after each epoll_wait (which waits until the earliest one, at most
//     50 ms). epoll_wait does not release the thread's processor to the
//     runtime (that costs more than the wait saves), so a loop holds a
//     processor: the engine raises GOMAXPROCS to the number of loops plus
//     one, and falls back to a releasing wait if the program lowers it.
//   - EngineGoroutine: one goroutine per client connection on the
//     runtime's network poller.
//
// Both parse by hand, without allocation, pool their buffers and intern
// the locality keys: no allocation per request in steady state (the
// scheduler may keep the key). Accepted sockets get no TCP keep-alive
// options. On this project's 2-vCPU machines the goroutine engine reached
// 0.88x HAProxy's requests/s in earlier measurements; the epoll engine's
// figures against HAProxy and nginx are in BENCHMARKS.md
// (scripts/bench-l7.sh).
//
// splice(2) is not used: at 1-10 KB objects the response already sits in
// the connection's user-space buffer after one read, so a pipe round trip
// costs more system calls than the copy it saves (measured: no gain). It
// would pay for large bodies only.
package l7
