package algorithms_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/algorithms/algotest"
)

// Weighted round-robin with the thesis's example weights (Reference:
// §4.1.2): A, B and C of weights 4, 3 and 2 share a cycle of nine requests.
func Example_weightedRoundRobin() {
	wrr, err := algorithms.New("wrr", algorithms.Options{})
	if err != nil {
		panic(err)
	}
	pool, err := algorithms.NewWeighted(4, 3, 2)
	if err != nil {
		panic(err)
	}
	for range 9 {
		id, err := wrr.Schedule(0, &algorithms.Request{}, pool)
		if err != nil {
			panic(err)
		}
		i, _ := pool.Index(id)
		fmt.Print(pool.At(i).Label(i))
	}
	fmt.Println()
	// Output: AABABCABC
}

// first is the scheduler of ExampleRegister: the first usable server in
// pool order. It is the smallest scheduler that keeps the contract: it
// never picks a down, overloaded or weight-0 server and answers
// ErrNoServer when there is none.
type first struct{}

func (first) Name() string { return "first" }

func (first) Schedule(_ time.Duration, _ *algorithms.Request, p *algorithms.Pool) (algorithms.ServerID, error) {
	for _, s := range p.Servers() {
		if s.Usable() {
			return s.ID, nil
		}
	}
	return 0, algorithms.ErrNoServer
}

// A scheduler registers itself by name in its file's init function.
func init() {
	algorithms.Register(algorithms.Info{
		Name:        "first",
		Description: "the first usable server in pool order (an example)",
		Source:      "algorithms/example_test.go",
		New:         func(algorithms.Options) (algorithms.Scheduler, error) { return first{}, nil },
	})
}

// Adding a scheduler takes one file: a type implementing Scheduler (here
// first, above), an init function calling Register, and a test running
// algotest.Run on it (TestFirstConformance). Once registered, it is built
// by name like any other, and the registry-wide conformance test covers it.
func ExampleRegister() {
	s, err := algorithms.New("first", algorithms.Options{})
	if err != nil {
		panic(err)
	}
	pool, err := algorithms.NewWeighted(1, 1, 1)
	if err != nil {
		panic(err)
	}
	show := func() {
		id, err := s.Schedule(0, &algorithms.Request{Key: "/index.html"}, pool)
		fmt.Println(id, err)
	}
	show()
	_ = pool.SetDown(0, true)
	show()
	_ = pool.SetWeight(1, 0)
	show()
	_ = pool.SetDown(2, true)
	show()
	// Output:
	// 0 <nil>
	// 1 <nil>
	// 2 <nil>
	// 0 algorithms: no available server
}

// TestFirstConformance is the test a new scheduler's file comes with.
func TestFirstConformance(t *testing.T) {
	algotest.Run(t, func() (algorithms.Scheduler, error) { return algorithms.New("first", algorithms.Options{}) })
}
