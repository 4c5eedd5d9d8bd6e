package algorithms_test

import (
	"strings"
	"testing"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/algorithms/algotest"
)

// TestDifferential checks the registered classic schedulers against the
// naive references of package algotest, request by request, on randomized
// pools and streams with Begin/End bookkeeping.
func TestDifferential(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts algorithms.Options
		ref  func() algorithms.Scheduler
		with []algotest.Option
	}{
		// Reference: §4.1.1; ip_vs_rr.c. Every kind of pool change.
		{name: "rr", ref: func() algorithms.Scheduler { return &algotest.RefRR{} }},
		// Reference: §4.1.2. The thesis's loop steps cw by 1 and IPVS's by
		// the gcd, which agree only when the gcd is 1; on a weight change
		// the reference restarts its cycle and IPVS does not
		// (ip_vs_wrr_dest_changed). So: fixed membership and weights, gcd 1.
		// OVERLOAD flags still come and go.
		{name: "wrr", ref: func() algorithms.Scheduler { return &algotest.RefWRR{} },
			with: []algotest.Option{algotest.Static(), algotest.CoprimeWeights()}},
		// With Options.RestartCycle the registered wrr restarts its cycle on
		// every change, as the reference does: then every kind of pool
		// change, still with gcd 1.
		{name: "wrr", opts: algorithms.Options{RestartCycle: true}, ref: func() algorithms.Scheduler { return &algotest.RefWRR{} },
			with: []algotest.Option{algotest.CoprimeWeights()}},
		// Reference: §4.1.3, §4.1.4; ip_vs_lc.c, ip_vs_wlc.c, ip_vs_sed.c, ip_vs_nq.c.
		{name: "lc", ref: func() algorithms.Scheduler { return algotest.RefLC{} }},
		{name: "wlc", ref: func() algorithms.Scheduler { return algotest.RefWLC{} }},
		{name: "sed", ref: func() algorithms.Scheduler { return algotest.RefSED{} }},
		{name: "nq", ref: func() algorithms.Scheduler { return algotest.RefNQ{} }},
		// Reference: §6.3.5. With the thesis's 30/60 only servers whose own
		// Low/High the random pools set ever reach a threshold; with 1/3
		// every server does.
		{name: "lblc", ref: func() algorithms.Scheduler { return &algotest.RefLBLC{} }},
		{name: "lblc", opts: algorithms.Options{Low: 1, High: 3},
			ref: func() algorithms.Scheduler { return &algotest.RefLBLC{Low: 1, High: 3} }},
	} {
		label := tc.name
		switch {
		case tc.opts.Low != 0:
			label += "/low1-high3"
		case tc.opts.RestartCycle:
			label += "/restart-cycle"
		}
		t.Run(label, func(t *testing.T) {
			if _, ok := algorithms.Lookup(tc.name); !ok {
				t.Fatalf("%s is not registered", tc.name)
			}
			algotest.Compare(t,
				func() (algorithms.Scheduler, error) { return algorithms.New(tc.name, tc.opts) },
				func() (algorithms.Scheduler, error) { return tc.ref(), nil },
				tc.with...)
		})
	}
}

// picks schedules n requests on a fresh pool with the given weights and
// returns the chosen servers' letters.
func picks(t *testing.T, s algorithms.Scheduler, n int, weights ...int) string {
	t.Helper()
	p, err := algorithms.NewWeighted(weights...)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for range n {
		id, err := s.Schedule(0, &algorithms.Request{}, p)
		if err != nil {
			t.Fatalf("%s: %v", s.Name(), err)
		}
		i, _ := p.Index(id)
		b.WriteString(algorithms.Letters(i))
	}
	return b.String()
}

// Reference: §4.1.2 ("三个服务器 A、B 和 C 分别有权值 4、3 和 2,则在一个调度
// 周期内 ... 调度序列为 AABABCABC").
func TestWRRThesisExample(t *testing.T) {
	if got := picks(t, &algotest.RefWRR{}, 18, 4, 3, 2); got != "AABABCABCAABABCABC" {
		t.Errorf("reference WRR 4,3,2: %s, want AABABCABC twice", got)
	}
	wrr, err := algorithms.New("wrr", algorithms.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := picks(t, wrr, 18, 4, 3, 2); got != "AABABCABCAABABCABC" {
		t.Errorf("registered wrr 4,3,2: %s, want AABABCABC twice", got)
	}
}

// When the weights have a common divisor the thesis's loop (cw steps by 1)
// and IPVS's (cw steps by the gcd from max-(gcd-1)) give each server the
// same share of a cycle but interleave differently. Reference: §4.1.2;
// ip_vs_wrr.c.
func TestWRRStepVersusGCD(t *testing.T) {
	wrr, err := algorithms.New("wrr", algorithms.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ref, ipvs := picks(t, &algotest.RefWRR{}, 6, 4, 2), picks(t, wrr, 6, 4, 2)
	if ref != "AAABAB" || ipvs != "AABAAB" {
		t.Errorf("weights 4,2: thesis loop %s (want AAABAB), registered wrr %s (want AABAAB, as ip_vs_wrr.c)", ref, ipvs)
	}
	for _, s := range []string{ref, ipvs} {
		if strings.Count(s, "A") != 4 || strings.Count(s, "B") != 2 {
			t.Errorf("%s: shares are not 4:2 per cycle", s)
		}
	}
}
