package rules

import (
	"fmt"
	"time"

	"github.com/lvslab/lvslab/algorithms"
)

// Scheduler is content-based scheduling by rules: a request whose
// Request.Class is a rule's class goes to one of that rule's servers,
// picked by its own instance of a registered scheduler that sees only
// those servers. A request with an unknown or empty class follows the
// catch-all rule.
//
// Each class keeps a private pool mirroring its servers' state in the
// host's pool (weight, counters, load; a down or overloaded server is down
// in the mirror), refreshed on every call, so the inner scheduler sees
// exactly the servers it may pick and their current load. The host's pool
// is only read, as the Scheduler contract requires. A rule naming servers
// that are not in the host's pool ignores them until they are added.
//
// Like every scheduler, it is not safe for concurrent use.
type Scheduler struct {
	inner    string
	classes  map[string]*class
	catchAll *class
}

var _ algorithms.Scheduler = (*Scheduler)(nil)

type class struct {
	ids   []algorithms.ServerID
	pool  *algorithms.Pool
	sched algorithms.Scheduler
}

// NewScheduler returns a scheduler for set whose classes each run the
// registered scheduler alg with opts; id maps a server name of the rule
// file to its ID. Schedulers that adapt weights from load feedback (DFLB)
// are refused: the mirror pools take their weights from the host's.
func NewScheduler(set *Set, id func(string) (algorithms.ServerID, bool), alg string, opts algorithms.Options) (*Scheduler, error) {
	s := &Scheduler{inner: alg, classes: map[string]*class{}}
	for _, r := range set.Rules {
		if _, ok := s.classes[r.Class()]; ok {
			continue
		}
		inner, err := algorithms.New(alg, opts)
		if err != nil {
			return nil, err
		}
		if _, ok := inner.(algorithms.LoadFeedback); ok {
			return nil, fmt.Errorf("rules: scheduler %s adapts weights from load feedback, which content rules do not support", alg)
		}
		pool, err := algorithms.NewPool()
		if err != nil {
			return nil, err
		}
		c := &class{pool: pool, sched: inner}
		for _, name := range r.Servers {
			sid, ok := id(name)
			if !ok {
				return nil, fmt.Errorf("%s:%d: unknown server %q", set.File, r.Line, name)
			}
			c.ids = append(c.ids, sid)
		}
		s.classes[r.Class()] = c
	}
	s.catchAll = s.classes[set.Rules[len(set.Rules)-1].Class()]
	return s, nil
}

// Name returns "rules/" and the inner scheduler's name.
func (s *Scheduler) Name() string { return "rules/" + s.inner }

// Schedule picks a server of r's class.
func (s *Scheduler) Schedule(now time.Duration, r *algorithms.Request, p *algorithms.Pool) (algorithms.ServerID, error) {
	c := s.catchAll
	if r != nil {
		if k, ok := s.classes[r.Class]; ok {
			c = k
		}
	}
	if err := c.sync(p); err != nil {
		return 0, err
	}
	return c.sched.Schedule(now, r, c.pool)
}

// sync brings the class's mirror pool in line with the host's pool.
func (c *class) sync(p *algorithms.Pool) error {
	for _, id := range c.ids {
		src := p.Get(id)
		dst := c.pool.Get(id)
		if src == nil {
			if dst != nil {
				if err := c.pool.Remove(id); err != nil {
					return err
				}
			}
			continue
		}
		if dst == nil {
			srv := *src
			srv.Active, srv.Inactive, srv.Overloaded, srv.UpperThreshold, srv.LowerThreshold = 0, 0, false, 0, 0
			if err := c.pool.Add(srv); err != nil {
				return err
			}
			dst = c.pool.Get(id)
		}
		if err := c.pool.SetWeight(id, src.Weight); err != nil {
			return err
		}
		if err := c.pool.SetDown(id, src.Down || src.Overloaded); err != nil {
			return err
		}
		if err := c.pool.Adjust(id, src.Active-dst.Active, src.Inactive-dst.Inactive); err != nil {
			return err
		}
		if dst.Load != src.Load {
			_ = c.pool.SetLoad(id, src.Load)
		}
	}
	return nil
}
