package tunnel

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// Serve runs an agent until ctx ends ("lvslab tunnel-agent"): Start in the
// calling thread's network namespace, the counters served as JSON over
// HTTP on stats (if not nil; see StatsHandler), Run; then Close, which
// removes the device and restores what Start changed. Serve closes stats.
// cfg.Logf, if not nil, gets a line for each step and the counters at the
// end.
func Serve(ctx context.Context, cfg Config, stats net.Listener) (err error) {
	logf := cfg.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	a, err := Start(cfg)
	if err != nil {
		if stats != nil {
			stats.Close()
		}
		return err
	}
	defer func() { err = errors.Join(err, a.Close()) }()
	if stats != nil {
		srv := &http.Server{Handler: StatsHandler(a, cfg.VIPs), ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(stats)
		defer srv.Close()
		logf("counters on http://%s/", stats.Addr())
	}
	vips := make([]string, len(cfg.VIPs))
	for i, v := range cfg.VIPs {
		vips[i] = v.String()
	}
	logf("decapsulating IP-in-IP for %s into %s", strings.Join(vips, ", "), a.Dev())
	done := make(chan error, 1)
	go func() { done <- a.Run() }()
	select {
	case <-ctx.Done():
		a.Close()
		err = <-done
	case err = <-done:
	}
	logf("stopped: %s", String(a.Counts()))
	return err
}

// StatsHandler serves the agent's counters as one JSON object:
// {"dev": NAME, "vips": [ADDRESS...], "counters": {NAME: VALUE...}}.
func StatsHandler(a *Agent, vips []netip.Addr) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		counters := map[string]uint64{}
		for _, c := range a.Counts() {
			counters[c.Name] = c.Value
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(struct {
			Dev      string            `json:"dev"`
			VIPs     []netip.Addr      `json:"vips"`
			Counters map[string]uint64 `json:"counters"`
		}{a.Dev(), vips, counters})
	})
}
