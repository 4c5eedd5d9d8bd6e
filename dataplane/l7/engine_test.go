package l7

import (
	"slices"
	"strings"
	"testing"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/dataplane"
)

func TestEngineSet(t *testing.T) {
	tests := []struct {
		in   string
		want Engine
		err  string
	}{
		{"goroutine", EngineGoroutine, ""},
		{"epoll", EngineEpoll, ""},
		{"Epoll", 0, `unknown engine "Epoll"`},
		{"default", 0, `unknown engine "default"`},
		{"", 0, `unknown engine ""`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			var e Engine
			err := e.Set(tc.in)
			if tc.want == EngineEpoll && !slices.Contains(Engines(), EngineEpoll) {
				tc.want, tc.err = 0, "not supported on this system"
			}
			switch {
			case tc.err == "" && (err != nil || e != tc.want):
				t.Errorf("Set(%q) = %v, %v; want %v", tc.in, e, err, tc.want)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Errorf("Set(%q) error %v, want one saying %q", tc.in, err, tc.err)
			case err == nil && e.String() != tc.in:
				t.Errorf("%v.String() = %q, want %q", e, e.String(), tc.in)
			}
		})
	}
	sched, _ := algorithms.New("rr", algorithms.Options{})
	svc, _ := dataplane.NewService(dataplane.Config{Scheduler: sched})
	if _, err := New(svc, Config{Engine: Engine(99)}); err == nil || !strings.Contains(err.Error(), "Engine(99)") {
		t.Errorf("New with an unknown engine: %v", err)
	}
	if sw, err := New(svc, Config{}); err != nil || sw.cfg.Engine != DefaultEngine {
		t.Errorf("the zero Config's engine is %v (%v), want %v", sw.cfg.Engine, err, DefaultEngine)
	}
}
