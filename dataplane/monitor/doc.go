// Package monitor is DFLB's live load monitor (thesis §4.2.2, §4.3): a
// ticker polls every real server's load endpoint, smooths and normalises
// the measurements as the simulator's monitor does, and passes them to the
// service's scheduler through dataplane.Service.Feedback.
//
//	m, _ := monitor.New(svc, monitor.Config{Interval: 5 * time.Second}, monitor.Options{Logf: log.Printf})
//	go m.Run(ctx)
//
// # The load endpoint
//
// Each back end answers GET Config.Path (default /lvslab/load; the port is
// the server's unless Config.Port is set) with status 200 and a JSON
// object, [Report]:
//
//	{"active": 12, "cpu_util": 0.61, "disk_util": 0.2, "cpu_queue": 3, "disk_queue": 1, "served": 10482}
//
// active is the work in progress (connections or requests), cpu_util and
// disk_util busy fractions (0 to 1), cpu_queue and disk_queue the jobs at
// the processor and the disk, served the requests served since start.
// Every field is optional and other fields are ignored. They become
// DFLB's metrics: PROCESS from active, LOAD from cpu_util (else
// cpu_queue), DISK from disk_util (else disk_queue), INPUT from the rate of
// served; MEMORY and RESPONSE are not measured. The emulated back end
// (testbed/backend, "lvslab backend") embeds Report in its load report and
// fills every field: active is its requests in service, cpu_util and
// disk_util its utilisation over its last interval.
//
// # Unresponsive back ends
//
// A back end that does not answer within Config.Timeout, answers another
// status, or sends something that is not a report is unresponsive: its
// Load has Responsive false, and DFLB gives it weight 0 until it answers
// again. The monitor logs when a back end stops and starts answering.
//
// # Time
//
// Polls are paced by package time's ticker and bounded by context
// deadlines; Options.Now and Options.Dial are injectable, so tests run the
// monitor under testing/synctest.
package monitor
